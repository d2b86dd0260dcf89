"""The trainer records a diverging training as an outcome, and stops it at once."""

import dataclasses
import json
import math

import keras
import numpy as np
import pytest

from lth_keras.callbacks import Divergence, finite_weights
from lth_keras.data import load
from lth_keras.models import build
from lth_keras.runs.config import RunConfig
from lth_keras.training import Trainer


@pytest.fixture(scope="module")
def data():
    return load("synthetic")


def trainer(data, **flags):
    config = dataclasses.replace(RunConfig(), dataset="synthetic", iterations=64, eval_every=32,
                                 steps_per_execution=8, jit_compile=False, **flags)
    model = build("lenet300_100", data.input_shape, data.num_classes, seed=0)
    return Trainer(model, data, config)


def strict_json(record):
    return json.loads(json.dumps(record, allow_nan=False))


def test_a_normal_training_is_ok(data):
    record = trainer(data).fit()
    assert record["status"] == "ok" and record["diverged_at_iteration"] is None
    assert record["iterations"] == 64
    assert 0.0 <= record["test_accuracy"] <= 1.0 and math.isfinite(record["test_loss"])
    strict_json(record)


def test_a_huge_learning_rate_stops_at_the_first_non_finite_loss(data):
    t = trainer(data, optimizer="sgd", learning_rate=1e30)
    record = t.fit()
    assert record["status"] == "diverged"
    # Seen at the end of a compiled call (8 steps), before the first evaluation.
    assert record["diverged_at_iteration"] in (8, 16, 24, 32)
    assert record["iterations"] == record["diverged_at_iteration"]  # stopped at once
    assert record["test_accuracy"] is None and record["test_loss"] is None
    assert record["early_stop_iteration"] is None and record["validation_loss_min"] is None
    strict_json(record)
    assert not finite_weights(t.model)
    assert t.evaluate() == (None, None)  # NaN logits tell nothing


def test_non_finite_weights_are_seen_at_the_next_evaluation(data):
    t = trainer(data)

    class Poison(keras.callbacks.Callback):  # NaN in one weight at iteration 40
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 40:
                kernel = self.model.get_layer("fc2").kernel
                value = kernel.numpy()
                value[0, 0] = np.nan
                kernel.assign(value)

    record = t.fit(callbacks=[Poison()])
    assert record["status"] == "diverged"
    # The loss after iteration 40 or the weights at the evaluation at 64, whichever first.
    assert 40 < record["diverged_at_iteration"] <= 64
    # The early-stopping point was measured at iteration 32, before the divergence: kept.
    assert record["early_stop_iteration"] == 32
    assert 0.0 <= record["test_accuracy_at_early_stop"] <= 1.0
    assert record["test_accuracy"] is None


def test_weights_are_checked_at_an_evaluation_even_with_a_finite_loss(data):
    t = trainer(data)
    t.fit()  # compiled, with an optimizer
    monitor = Divergence()
    monitor.set_model(t.model)
    monitor.on_train_batch_end(0, {"loss": 1.0})
    monitor.on_epoch_end(0)
    assert not monitor.diverged
    t.model.get_layer("fc1").bias.assign(np.full(300, np.inf, np.float32))
    monitor.on_train_batch_end(1, {"loss": 1.0})
    assert not monitor.diverged  # weights only at evaluations
    monitor.on_epoch_end(1)
    assert monitor.diverged and monitor.cause == "weights" and t.model.stop_training
