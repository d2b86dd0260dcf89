"""The density profiles: an empty layer is marked, not drawn as if kept."""

import matplotlib.pyplot as plt

from lth_keras.reporting import plots


def test_profile_points_put_empty_layers_at_the_floor_and_name_them():
    values, empty = plots.profile_points({"fc1/kernel": 0.5, "fc2/kernel": 0.0, "out/kernel": 1e-9})
    assert values == [50.0, plots.EMPTY_FLOOR, plots.EMPTY_FLOOR]
    assert empty == [1]  # nearly empty is drawn at the floor too, but only 0 is "empty"


def test_an_empty_layer_is_marked_in_the_figure_and_the_legend(tmp_path, monkeypatch):
    figures = []
    close = plt.close
    monkeypatch.setattr(plots.plt, "close", lambda fig: (figures.append(fig), close(fig)))
    profiles = {(0.98, "snip"): {"fc1/kernel": 0.02, "fc2/kernel": 0.0, "output/kernel": 0.3},
                (0.98, "random"): {"fc1/kernel": 0.02, "fc2/kernel": 0.02, "output/kernel": 0.02},
                (0.9, "snip"): {"fc1/kernel": 0.1, "fc2/kernel": 0.1, "output/kernel": 0.1}}
    path = tmp_path / "density_profiles.png"
    marked = plots.layer_density_profiles(profiles, str(path))
    assert marked == [(0.98, "snip", "fc2/kernel")]
    assert path.stat().st_size > 0
    panel_09, panel_098 = figures[0].axes
    for ax, expected in ((panel_09, []), (panel_098, [(1, plots.EMPTY_FLOOR)])):
        assert [a.xy for a in ax.texts if a.get_text() == "empty"] == expected
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert (plots.EMPTY_LABEL in legend) == bool(expected)


def test_no_empty_layer_no_marking(tmp_path):
    profiles = {(0.9, "snip"): {"fc1/kernel": 0.1, "output/kernel": 0.2}}
    assert plots.layer_density_profiles(profiles, str(tmp_path / "p.png")) == []
