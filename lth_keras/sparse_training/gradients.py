"""RigL's dense gradient: dL/d(kernel * mask), pruned entries included.

Masked layers give exact zeros for pruned weights' gradients by design. The
kernel variables already hold 0 wherever the mask is 0 (the mask constraint
re-applies it after every step), so with every mask set to 1 the forward pass
is the same function and the gradient with respect to the kernel is the
dense one. Computed on one batch, at update steps only.
"""

import numpy as np
import tensorflow as tf

from lth_keras.pruning.targets import prunable_weights


def dense_gradients(model, inputs, labels, loss):
    """``{path: dense gradient array}`` of ``loss(labels, model(inputs))``."""
    targets = prunable_weights(model)
    masks = [t.mask.numpy() for t in targets]
    try:
        for t in targets:
            t.mask.assign(np.ones(t.mask.shape, bool))
        with tf.GradientTape() as tape:
            value = loss(labels, model(inputs, training=True))
        grads = tape.gradient(value, [t.kernel for t in targets])
    finally:
        for t, m in zip(targets, masks):
            t.mask.assign(m)
    return {t.path: np.zeros(t.kernel.shape) if g is None else g.numpy()
            for t, g in zip(targets, grads)}
