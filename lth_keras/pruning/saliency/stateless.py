"""A model's forward pass as a function of the values of its variables.

Scores at initialization differentiate the loss (or SynFlow's synaptic flow)
with respect to the prunable kernels. Running the model through
``stateless_call`` lets a score use other values for the variables (SynFlow's
|theta|) and training-mode BatchNorm (SNIP, GraSP) without writing anything
into the model: moving statistics, signs and kernels are untouched.
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

# Compiled functions per model, so that SynFlow's 100 scoring rounds and the
# cells of an experiment trace once.
_COMPILED = weakref.WeakKeyDictionary()


def _cross_entropy(labels, logits):
    losses = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return tf.reduce_mean(losses)


class StatelessModel:
    """Gradients of a model's outputs with respect to some of its kernels.

    Args:
      model: a Keras model with masked layers.
      targets: the :class:`~lth_keras.pruning.targets.PrunableWeight` s whose
        kernels are differentiated.
    """

    def __init__(self, model, targets):
        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = list(model.non_trainable_variables)
        position = {id(v): i for i, v in enumerate(self.trainable)}
        frozen = [t.path for t in targets if id(t.kernel) not in position]
        if frozen:
            raise ValueError(
                f"targets: kernels {frozen} are not trainable; scores at initialization "
                "need their gradients (set layer.trainable = True)."
            )
        self.index = tuple(position[id(t.kernel)] for t in targets)
        self._functions = _COMPILED.setdefault(model, {})

    def variables(self):
        """The trainable and non-trainable backend variables, passed by reference."""
        return [v.value for v in self.trainable], [v.value for v in self.non_trainable]

    def _function(self, kind, build):
        key = (kind, self.index)
        if key not in self._functions:
            # The compiled function must not keep the model alive (it is a weak key).
            self._functions[key] = build(weakref.ref(self.model), self.index)
        return self._functions[key]

    # Batches ------------------------------------------------------------------

    def loss_gradient(self, inputs, labels, temperature=1.0, training=True, batch_size=None):
        """dL/dw of the mean cross-entropy of ``logits / temperature``, per kernel."""

        def build(model, index):
            @tf.function(reduce_retracing=True)
            def gradient(trainable, non_trainable, x, y, temperature, training):
                trainable, non_trainable = _read(trainable), _read(non_trainable)
                with tf.GradientTape() as tape:
                    tape.watch(trainable)
                    logits = _logits(model(), trainable, non_trainable, x, training) / temperature
                    loss = _cross_entropy(y, logits)
                return tape.gradient(loss, [trainable[i] for i in index])

            return gradient

        fn = self._function("loss_gradient", build)
        trainable, non_trainable = self.variables()
        return _batch_mean(
            lambda x, y: fn(trainable, non_trainable, x, y, tf.constant(temperature, tf.float32),
                            training),
            inputs, labels, batch_size)

    def hessian_vector_product(self, inputs, labels, vectors, temperature=1.0, training=True,
                               batch_size=None):
        """H v, H the Hessian of the loss of :meth:`loss_gradient` over the kernels."""

        def build(model, index):
            @tf.function(reduce_retracing=True)
            def product(trainable, non_trainable, x, y, vectors, temperature, training):
                trainable, non_trainable = _read(trainable), _read(non_trainable)
                kernels = lambda: [trainable[i] for i in index]  # noqa: E731
                with tf.GradientTape() as outer:
                    outer.watch(trainable)
                    with tf.GradientTape() as inner:
                        inner.watch(trainable)
                        logits = _logits(model(), trainable, non_trainable, x, training) / temperature
                        loss = _cross_entropy(y, logits)
                    gradient = inner.gradient(loss, kernels())
                    # Differentiating <grad L, v> gives H v (v held constant).
                    inner_product = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(gradient, vectors)])
                return outer.gradient(inner_product, kernels())

            return product

        fn = self._function("hessian_vector_product", build)
        trainable, non_trainable = self.variables()
        vectors = [tf.convert_to_tensor(v, tf.float32) for v in vectors]
        return _batch_mean(
            lambda x, y: fn(trainable, non_trainable, x, y, vectors,
                            tf.constant(temperature, tf.float32), training),
            inputs, labels, batch_size)

    # Data-free ----------------------------------------------------------------

    def output_sum_gradient(self, inputs, absolute=True):
        """dR/dw with R = sum of the outputs on ``inputs``, inference mode.

        With ``absolute``, every variable (BatchNorm's included) is replaced by
        its absolute value in this pass only (Tanaka et al. 2020). Returns the
        gradients and the kernel values they were taken at.
        """

        def build(model, index):
            @tf.function(reduce_retracing=True)
            def gradient(trainable, non_trainable, x, absolute):
                trainable = _read(trainable, absolute)
                non_trainable = _read(non_trainable, absolute)
                with tf.GradientTape() as tape:
                    tape.watch(trainable)
                    flow = tf.reduce_sum(_logits(model(), trainable, non_trainable, x, False))
                kernels = [trainable[i] for i in index]
                return tape.gradient(flow, kernels), kernels, flow

            return gradient

        fn = self._function("output_sum_gradient", build)
        trainable, non_trainable = self.variables()
        gradients, kernels, flow = fn(trainable, non_trainable,
                                      tf.convert_to_tensor(inputs, tf.float32), absolute)
        return [g.numpy() for g in gradients], [k.numpy() for k in kernels], float(flow)


def _read(variables, absolute=False):
    values = [tf.convert_to_tensor(v) for v in variables]
    # Boolean masks are read as they are; only numbers are linearised.
    return [tf.abs(v) if absolute and v.dtype.is_floating else v for v in values]


def _logits(model, trainable, non_trainable, inputs, training):
    outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=training)
    return outputs


def _batch_mean(fn, inputs, labels, batch_size):
    """The example-weighted mean of ``fn`` over batches of (inputs, labels)."""
    inputs, labels = np.asarray(inputs, np.float32), np.asarray(labels)
    n = len(labels)
    if n == 0:
        raise ValueError("inputs: no examples to score on.")
    step = n if not batch_size else int(batch_size)
    total = None
    for start in range(0, n, step):
        x, y = inputs[start : start + step], labels[start : start + step]
        parts = [p.numpy() * (len(y) / n) for p in fn(tf.constant(x), tf.constant(y))]
        total = parts if total is None else [a + b for a, b in zip(total, parts)]
    return total
