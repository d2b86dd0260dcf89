"""The one name-table helper behind every flag choice."""

import pytest

from lth_keras.registry import Registry


def test_register_get_and_refusals():
    table = Registry("widget")

    @table.register("round")
    class Round:
        pass

    table.register("square", lambda fn: fn())(lambda: "instance")
    assert table.get("round") is Round and Round.name == "round"
    assert table["square"] == "instance"
    with pytest.raises(ValueError, match="widget: 'round' is already registered"):
        table.add("round", object())
    with pytest.raises(ValueError, match=r"--shape: unknown 'oval'; expected one of \['round', 'square'\]"):
        table.get("oval", "shape")
