"""The one training routine that every experiment shares.

A :class:`Trainer` owns a compiled model and trains it from iteration
``start`` to ``end`` with ``model.fit``, evaluating every ``eval_every``
iterations on the validation split. It tracks the early-stopping iteration
(minimum validation loss, Frankle & Carbin 2019) and the test accuracy there
and at the end. Optimizer state is reset at every call, as IMP retrains each
round from scratch; the compiled step is reused, so rounds do not recompile.

A training whose loss or weights stop being finite is stopped at the next evaluation and
returned as an outcome, ``status: "diverged"`` (see :meth:`Trainer.fit`),
never raised: a study records it and goes on.
"""

import math
import time

import keras
import tensorflow as tf

from lth_keras.callbacks.divergence import Divergence, finite_weights
from lth_keras.callbacks.early_stop import EarlyStopIteration
from lth_keras.training.optimizers import LearningRate, make_optimizer


# A training's status: finished normally, or stopped at a non-finite loss or weight.
OK, DIVERGED = "ok", "diverged"


def _loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _finite(value):
    """``value`` as a float, or None if it is not finite (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


class Trainer:
    """Trains one model on one dataset with one set of hyper-parameters.

    Args:
      model: a (masked) Keras model whose variables live in ``strategy``.
      data: a :class:`lth_keras.data.Dataset`.
      config: any object with the training fields of
        :class:`lth_keras.runs.config.TrainingConfig`.
      strategy: the ``tf.distribute`` strategy the model was built in.
    """

    def __init__(self, model, data, config, strategy=None):
        self.model = model
        self.data = data
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self._compiled_for = None
        self._distributed = self.strategy is not tf.distribute.get_strategy() or (
            self.strategy.num_replicas_in_sync > 1)
        self._multi_worker = isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)
        self._validation = data.validation(config.batch_size)
        self._test = data.test(config.batch_size)

    def schedule(self, constant=None):
        """The run's learning-rate schedule, or a constant one (fine-tuning)."""
        c = self.config
        if constant is not None:
            return LearningRate(constant)
        return LearningRate(c.learning_rate, c.schedule, total=c.iterations,
                            milestones=c.milestones, gamma=c.gamma, warmup=c.warmup_iterations)

    def _compile(self, schedule, steps_per_execution):
        key = (repr(schedule.get_config()), steps_per_execution)
        if self._compiled_for == key:
            return
        c = self.config
        jit_compile = c.jit_compile
        if self._distributed:
            # Keras 3.15's fit fails with a PerReplica conversion error under
            # Mirrored strategies when steps_per_execution > 1 or XLA is on.
            jit_compile, steps_per_execution = False, 1
        with self.strategy.scope():
            self.model.compile(
                optimizer=make_optimizer(c.optimizer, schedule, c.momentum, c.weight_decay),
                loss=_loss(),
                metrics=["accuracy"],
                jit_compile=jit_compile,
                steps_per_execution=steps_per_execution,
            )
            self.model.optimizer.build(self.model.trainable_variables)
        if self._multi_worker:
            self._make_multi_worker_steps()
        self._compiled_for = key

    def _reset_optimizer(self, start):
        for var in self.model.optimizer.variables:
            var.assign(tf.zeros(var.shape, var.dtype))
        self.model.optimizer.iterations.assign(start)

    def fit(self, *, start=0, end=None, data_seed=0, constant_learning_rate=None,
            callbacks=(), log_dir=None, optimizer_state=None):
        """Trains from iteration ``start`` to ``end`` and returns a record.

        Args:
          start: the iteration training resumes from: the learning-rate
            schedule and the data order are replayed from there.
          end: the last iteration (default: ``config.iterations``).
          data_seed: seed of the training data order.
          constant_learning_rate: train at this rate instead of the schedule.
          callbacks: extra Keras callbacks (rewind points, pruning, summaries).
          log_dir: TensorBoard directory for this training, if any.
          optimizer_state: optimizer variable values to start from (a rewind
            point's), instead of zeros.

        Returns:
          A dict with ``status``, ``diverged_at_iteration``,
          ``early_stop_iteration``, ``test_accuracy_at_early_stop``,
          ``test_accuracy``, ``test_loss``, ``validation_loss_min``,
          ``iterations`` and ``wall_time_s``.

          ``status`` is ``"ok"``, or ``"diverged"`` when the training loss or
          a weight stopped being finite: training stops at the evaluation
          (every ``eval_every`` iterations) that first sees it, and
          ``diverged_at_iteration`` (= ``iterations``) is that evaluation's
          iteration: the period's mean training loss or a weight was not
          finite. A diverged model's test loss and accuracy cannot be measured
          (its logits are not finite): they are None. The early-stopping
          iteration and the test accuracy there were measured before the
          divergence and are kept (None if no validation loss was ever
          finite), as is ``validation_loss_min``.
        """
        c = self.config
        end = c.iterations if end is None else end
        steps = end - start
        if steps <= 0:
            raise ValueError(f"start: iteration {start} is not before the end of training ({end}).")
        eval_every = min(c.eval_every, steps)
        full, remainder = divmod(steps, eval_every)
        # Callbacks see every multiple of steps_per_execution; make the start,
        # each evaluation and the rewind iteration such multiples.
        spe = math.gcd(c.steps_per_execution, eval_every, remainder, start,
                       *[getattr(cb, "iteration", 0) for cb in callbacks])
        self._compile(self.schedule(constant_learning_rate), spe)
        self._reset_optimizer(start)
        if optimizer_state is not None:
            for var, value in zip(self.model.optimizer.variables, optimizer_state):
                var.assign(value)
            self.model.optimizer.iterations.assign(start)

        divergence = Divergence()
        tracker = EarlyStopIteration(self._test, evaluate=self._evaluate,
                                     measurable=lambda: not divergence.diverged)
        all_callbacks = [divergence, tracker, *callbacks]
        if log_dir is not None:
            all_callbacks.append(keras.callbacks.TensorBoard(log_dir, profile_batch=0))
        train = self.data.train(c.batch_size, seed=data_seed).skip(start)
        periods = [eval_every] * full + ([remainder] if remainder else [])
        began = time.perf_counter()
        if self._multi_worker:
            self._fit_multi_worker(train, periods, all_callbacks)
        else:
            self.model.fit(train, steps_per_epoch=eval_every, epochs=full, verbose=0,
                           shuffle=False, validation_data=self._validation,
                           callbacks=all_callbacks)
            if remainder and not divergence.diverged:
                self.model.fit(train.skip(full * eval_every), steps_per_epoch=remainder,
                               initial_epoch=full, epochs=full + 1, verbose=0, shuffle=False,
                               validation_data=self._validation, callbacks=all_callbacks)
        wall = time.perf_counter() - began
        test_loss = test_accuracy = None
        if not divergence.diverged:
            test_loss, test_accuracy = self._evaluate(self._test)
        return {
            "status": DIVERGED if divergence.diverged else OK,
            "diverged_at_iteration": divergence.iteration,
            "early_stop_iteration": tracker.best_iteration,
            "test_accuracy_at_early_stop": tracker.test_accuracy,
            "test_accuracy": None if test_accuracy is None else float(test_accuracy),
            "test_loss": None if test_loss is None else _finite(test_loss),
            "validation_loss_min": None if tracker.best_iteration is None else tracker.best_loss,
            "iterations": int(self.model.optimizer.iterations.numpy()),
            "wall_time_s": wall,
        }

    def evaluate(self, split="test"):
        """``(loss, accuracy)`` of the model on a split; a loss that is not
        finite is None, and both are None for a model whose weights are not
        finite (a diverged one: its logits tell nothing)."""
        if not finite_weights(self.model):
            return None, None
        loss, accuracy = self._evaluate(self._test if split == "test" else self._validation)
        return _finite(loss), accuracy

    def _evaluate(self, dataset):
        if not self._multi_worker:
            loss, accuracy = self.model.evaluate(dataset, verbose=0)
            return float(loss), float(accuracy)
        # Every worker holds the same weights: evaluate locally, no collectives.
        total = loss = correct = 0.0
        for x, y in dataset:
            batch_loss, batch_correct = self._local_eval_step(x, y)
            loss += float(batch_loss)
            correct += float(batch_correct)
            total += int(y.shape[0])
        return loss / total, correct / total

    # MultiWorkerMirroredStrategy --------------------------------------------
    # Keras 3.15's fit does not run under it (keras-team/keras#20585), so the
    # same steps, callbacks and evaluations run in a loop of our own.

    def _make_multi_worker_steps(self):
        model, strategy = self.model, self.strategy
        per_example = keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                 reduction=None)
        global_batch = self.config.batch_size * strategy.num_replicas_in_sync

        def replica_step(x, y):
            with tf.GradientTape() as tape:
                losses = per_example(y, model(x, training=True))
                loss = tf.nn.compute_average_loss(losses, global_batch_size=global_batch)
            grads = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        @tf.function
        def train_step(iterator):
            x, y = next(iterator)
            return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

        @tf.function
        def local_eval_step(x, y):
            logits = model(x, training=False)
            loss = tf.reduce_sum(per_example(y, logits))
            hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=y.dtype), y), tf.float32)
            return loss, tf.reduce_sum(hits)

        self._train_step, self._local_eval_step = train_step, local_eval_step

    def _fit_multi_worker(self, train, periods, callbacks):
        callbacks = keras.callbacks.CallbackList(callbacks, model=self.model)
        iterator = iter(self.strategy.experimental_distribute_dataset(train))
        self.model.stop_training = False
        callbacks.on_train_begin()
        for epoch, steps in enumerate(periods):
            callbacks.on_epoch_begin(epoch)
            for step in range(steps):
                loss = self._train_step(iterator)
                callbacks.on_train_batch_end(step, {"loss": float(loss)})
            val_loss, val_accuracy = self._evaluate(self._validation)
            callbacks.on_epoch_end(epoch, {"loss": float(loss), "val_loss": val_loss,
                                           "val_accuracy": val_accuracy})
            if self.model.stop_training:  # the loss is reduced over workers: all stop here
                break
        callbacks.on_train_end()

