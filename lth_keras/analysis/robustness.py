"""Accuracy under L-infinity attacks: FGSM and PGD, the model in inference mode.

Budgets are on [0, 1] pixels (:mod:`lth_keras.analysis.pixels`); adversarial
pixels are clipped to [0, 1] after every step. An attack is a small object
overriding one method, ``perturb``; :data:`ATTACKS` names them for the
command lines.
"""

import keras
import numpy as np
import tensorflow as tf

from lth_keras.analysis.pixels import PixelSpace
from lth_keras.registry import Registry

ATTACKS = Registry("attack")
register = ATTACKS.register


class Attack:
    """An L-infinity attack of radius ``epsilon`` on [0, 1] pixels.

    Args:
      epsilon: the L-infinity budget, in [0, 1] pixel units.
      pixels: the :class:`PixelSpace` of the model's inputs (default: the
        model sees [0, 1] pixels, as for mnist5k).
    """

    def __init__(self, epsilon, pixels=None):
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon: expected a pixel budget in [0, 1], got {epsilon}.")
        self.epsilon = float(epsilon)
        self.pixels = pixels or PixelSpace()
        self._compiled = {}

    def perturb(self, model, pixels, labels, seed):
        """Adversarial pixels for ``pixels`` ([0, 1]) of true ``labels``.

        ``seed`` is a shape-[2] int tensor for any random start.
        """
        raise NotImplementedError

    def __call__(self, model, inputs, labels, seed=(0, 0)):
        """Adversarial model inputs for the model inputs ``inputs``."""
        pixels = self.pixels.to_pixels(tf.convert_to_tensor(inputs, tf.float32))
        seed = tf.convert_to_tensor(seed, tf.int64)
        return self.pixels.to_inputs(self.perturb(model, pixels, labels, seed))

    def correct_count(self, model):
        """The compiled ``(inputs, labels, seed) -> number classified correctly
        after the attack``, traced once per model."""
        if id(model) not in self._compiled:
            @tf.function(reduce_retracing=True)
            def correct(x, y, seed):
                logits = model(self(model, x, y, seed), training=False)
                predicted = tf.argmax(logits, -1, output_type=tf.int32)
                return tf.reduce_sum(tf.cast(predicted == y, tf.int32))

            # Holding the model keeps its id from being reused by another.
            self._compiled[id(model)] = (model, correct)
        return self._compiled[id(model)][1]

    def loss_gradient(self, model, pixels, labels):
        """d(cross-entropy summed over the batch)/d(pixels), inference mode."""
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            logits = model(self.pixels.to_inputs(pixels), training=False)
            # Summed, not averaged: the sign is the same, and no underflow.
            loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True))
        return tape.gradient(loss, pixels)


@register("fgsm")
class FGSM(Attack):
    """Fast gradient sign method (Goodfellow et al. 2015):
    x + epsilon * sign(grad_x loss), clipped to [0, 1]."""

    def perturb(self, model, pixels, labels, seed):
        step = self.epsilon * tf.sign(self.loss_gradient(model, pixels, labels))
        return tf.clip_by_value(pixels + step, 0.0, 1.0)


@register("pgd")
class PGD(Attack):
    """Projected gradient descent, L-infinity (Madry et al. 2018).

    From a uniform random start in the epsilon-ball (``random_start``, as
    Madry et al.), ``steps`` signed-gradient steps of ``step_size``, each
    projected back onto the ball and onto [0, 1].
    """

    def __init__(self, epsilon, step_size, steps, random_start=True, pixels=None):
        super().__init__(epsilon, pixels)
        if not step_size > 0:
            raise ValueError(f"step_size: expected > 0, got {step_size}.")
        if not (isinstance(steps, (int, np.integer)) and steps >= 1):
            raise ValueError(f"steps: expected an integer >= 1, got {steps!r}.")
        self.step_size = float(step_size)
        self.steps = int(steps)
        self.random_start = bool(random_start)

    def perturb(self, model, pixels, labels, seed):
        low = tf.maximum(pixels - self.epsilon, 0.0)
        high = tf.minimum(pixels + self.epsilon, 1.0)
        adversarial = pixels
        if self.random_start:
            noise = tf.random.stateless_uniform(tf.shape(pixels), seed, -self.epsilon,
                                                self.epsilon)
            adversarial = tf.clip_by_value(pixels + noise, low, high)
        for _ in tf.range(self.steps):
            gradient = self.loss_gradient(model, adversarial, labels)
            adversarial = tf.clip_by_value(
                adversarial + self.step_size * tf.sign(gradient), low, high)
        return adversarial


def make_attack(name, pixels=None, **options):
    """An attack by its name in :data:`ATTACKS`, e.g. ``make_attack("fgsm", epsilon=0.1)``."""
    if name not in ATTACKS:
        raise ValueError(f"attack: unknown {name!r}; expected one of {sorted(ATTACKS)}.")
    return ATTACKS[name](pixels=pixels, **options)


def adversarial_examples(model, attack, inputs, labels, batch_size=500, seed=0):
    """The attacked inputs, batch by batch in one compiled function."""
    step = tf.function(lambda x, y, s: attack(model, x, y, s), reduce_retracing=True)
    out = [step(inputs[i:i + batch_size], labels[i:i + batch_size],
                tf.constant([seed, i], tf.int64)).numpy()
           for i in range(0, len(labels), batch_size)]
    return np.concatenate(out) if out else np.zeros_like(inputs)


def accuracy_under_attack(model, attack, inputs, labels, batch_size=500, seed=0):
    """Fraction of ``(inputs, labels)`` still classified correctly after ``attack``.

    ``inputs`` are model inputs (normalised as the model was trained); each
    batch is attacked and classified in one compiled ``tf.function``, traced
    once per model and attack (new weights in the same model reuse it).
    """
    if len(labels) == 0:
        raise ValueError("labels: expected at least one example.")
    correct = attack.correct_count(model)
    labels = np.asarray(labels, np.int32)
    hits = sum(int(correct(inputs[i:i + batch_size], labels[i:i + batch_size],
                           tf.constant([seed, i], tf.int64)))
               for i in range(0, len(labels), batch_size))
    return hits / len(labels)
