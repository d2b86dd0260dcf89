"""Standard plots of results records (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def accuracy_vs_density(records, path, group_by, title="", y="test_accuracy"):
    """Test accuracy against density, one line per value of ``group_by``.

    Density runs from dense (left) to sparse (right) on a log axis, as in
    Frankle & Carbin 2019's figures.
    """
    groups = {}
    for r in records:
        groups.setdefault(str(r.get(group_by)), []).append(r)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, rs in groups.items():
        rs = sorted(rs, key=lambda r: -r["density"])
        ax.plot([100 * r["density"] for r in rs], [100 * r[y] for r in rs], marker="o", label=name)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("percent of weights remaining")
    ax.set_ylabel(y.replace("_", " ") + " (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
