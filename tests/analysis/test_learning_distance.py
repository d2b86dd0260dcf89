"""Learning distance ||theta_T - theta_0||_2, per layer and global."""
import math

import numpy as np
import pytest

from lth_keras.analysis.distance import learning_distance, parameters
from lth_keras.models import build
from lth_keras.pruning.masks import get_masks, set_masks


def test_per_layer_and_global_distances_by_hand():
    a = {"fc1/kernel": np.zeros((2, 2)), "fc1/bias": np.zeros(2), "out/kernel": np.zeros(3)}
    b = {"fc1/kernel": np.array([[3.0, 0], [0, 0]]), "fc1/bias": np.array([0.0, 4.0]),
         "out/kernel": np.array([1.0, 2.0, 2.0])}
    d = learning_distance(a, b)
    assert d["layers"] == {"fc1": pytest.approx(5.0), "out": pytest.approx(3.0)}
    assert d["global"] == pytest.approx(math.sqrt(34.0))
    assert learning_distance(b, b)["global"] == 0.0


def test_from_a_model_and_a_saved_weights_file_masks_and_state_excluded(tmp_path):
    model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    path = str(tmp_path / "initial.weights.h5")
    model.save_weights(path)
    theta_0 = parameters(model)
    assert not any(k.endswith("_mask") for k in theta_0)
    fc2 = model.get_layer("fc2")
    fc2.bias.assign(fc2.bias.numpy() + 2.0)  # 100 biases moved by 2: distance 20
    masks = get_masks(model)
    masks["fc1/kernel"][:] = 1.0  # a mask change is no parameter change
    set_masks(model, masks)
    d = learning_distance(path, model, model=model)
    assert d["layers"]["fc2"] == pytest.approx(20.0, rel=1e-5)
    assert d["layers"]["fc1"] == 0.0 and d["global"] == pytest.approx(20.0, rel=1e-5)
    # Reading the file left the model's own weights in place.
    np.testing.assert_allclose(fc2.bias.numpy(), theta_0["fc2/bias"] + 2.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="theta_t"):
        learning_distance({"a/kernel": np.zeros(2)}, {"b/kernel": np.zeros(2)})
    with pytest.raises(ValueError, match="model"):
        learning_distance("initial.weights.h5", {"a/kernel": np.zeros(2)})
