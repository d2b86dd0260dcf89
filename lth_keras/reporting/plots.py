"""Standard plots of results records (matplotlib, no display needed).

A value that could not be measured (None: a diverged or skipped stage) is
left out of every plot, never drawn as zero.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def accuracy_vs_density(records, path, group_by, title="", y="test_accuracy"):
    """Test accuracy against density, one line per value of ``group_by``.

    Density runs from dense (left) to sparse (right) on a log axis, as in
    Frankle & Carbin 2019's figures.
    """
    _shrinking_x(records, path, group_by, "density", 100.0, "percent of weights remaining",
                 title, y)


def accuracy_vs_flops(records, path, group_by, title="", y="test_accuracy",
                      x="effective_multiply_adds"):
    """Test accuracy against the multiply-adds of one forward pass (log axis),
    one line per value of ``group_by``; records without ``x`` are skipped."""
    _shrinking_x(records, path, group_by, x, 1.0, "multiply-adds per example (nonzero weights)",
                 title, y)


def _shrinking_x(records, path, group_by, x, x_scale, x_label, title, y):
    """``y`` (%) against ``x`` on a log axis running from large (left) to small."""
    groups = {}
    for r in records:
        if r.get(x) is not None and r.get(y) is not None:
            groups.setdefault(str(r.get(group_by)), []).append(r)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, rs in groups.items():
        rs = sorted(rs, key=lambda r: -r[x])
        ax.plot([x_scale * r[x] for r in rs], [100 * r[y] for r in rs], marker="o", label=name)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel(x_label)
    ax.set_ylabel(y.replace("_", " ") + " (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if groups:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def instability_curves(records, path, title=""):
    """Error against the interpolation alpha (Frankle et al. 2020, Figure 1):
    one panel per network (round), one line per rewind iteration k; records
    of the same round and k (several seeds) are averaged; records without a
    measured path (a copy diverged) are left out."""
    records = [r for r in records if r.get("errors") is not None]
    rounds = sorted({r["round"] for r in records})
    if not rounds:
        return
    fig, axes = plt.subplots(1, len(rounds), figsize=(4 * len(rounds), 3.5), squeeze=False)
    for ax, round_index in zip(axes[0], rounds):
        mine = [r for r in records if r["round"] == round_index]
        for k in sorted({r["rewind_iteration"] for r in mine}):
            curves = [r["errors"] for r in mine if r["rewind_iteration"] == k]
            mean = [100 * sum(c) / len(curves) for c in zip(*curves)]
            ax.plot(mine[0]["alphas"], mean, label=f"k = {k}")
        ax.set_title(f"round {round_index}: {100 * mine[0]['density']:.1f}% of weights")
        ax.set_xlabel("interpolation alpha")
        ax.set_ylabel("error (%)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def accuracy_vs_sparsity(rows, path, group_by="method", panel_by="sanity", title="",
                         y="test_accuracy", reference=None):
    """Mean accuracy +- std over seeds against sparsity, a line per ``group_by``
    value and a panel per ``panel_by`` value.

    ``rows`` are summary rows with ``sparsity``, ``<y>_mean`` and ``<y>_std``.
    Sparsity runs on a log scale of the density, dense (left) to sparse (right).
    ``reference``, a summary row (the dense network), is a dashed line in every panel.
    """
    panels = sorted({str(r.get(panel_by)) for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False,
                             sharey=True)
    for ax, panel in zip(axes[0], panels):
        groups = {}
        for r in rows:
            if str(r.get(panel_by)) == panel:
                groups.setdefault(str(r.get(group_by)), []).append(r)
        for name, rs in groups.items():
            rs = sorted((r for r in rs if r.get(f"{y}_mean") is not None),
                        key=lambda r: r["sparsity"])
            ax.errorbar([100 * (1 - r["sparsity"]) for r in rs],
                        [100 * r[f"{y}_mean"] for r in rs],
                        yerr=[100 * (r[f"{y}_std"] or 0.0) for r in rs],
                        marker="o", capsize=3, label=name)
        if reference is not None and reference.get(f"{y}_mean") is not None:
            ax.axhline(100 * reference[f"{y}_mean"], color="black", linestyle="--",
                       label=str(reference.get(group_by)))
        ax.set_xscale("log")
        ticks = sorted({100 * (1 - r["sparsity"]) for r in rows})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.invert_xaxis()
        ax.set_xlabel("percent of weights remaining")
        ax.set_title(f"{panel_by}: {panel}")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel(y.replace("_", " ") + " (%)")
    if axes[0][-1].get_legend_handles_labels()[0]:  # nothing measured: no legend
        axes[0][-1].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# Percent kept at which an empty layer sits: the floor of the log axis.
EMPTY_FLOOR = 1e-3
EMPTY_LABEL = "empty layer (0% kept, drawn at the floor)"


def profile_points(densities, floor=EMPTY_FLOOR):
    """What a density profile draws: the percent kept of each layer (empty
    layers at ``floor``, log axes having no zero) and the indices of the
    empty layers, which are marked so they do not look kept."""
    values = [max(100 * d, floor) for d in densities.values()]
    empty = [i for i, d in enumerate(densities.values()) if d <= 0]
    return values, empty


def layer_density_profiles(profiles, path, title=""):
    """Per-layer density of each method, one panel per sparsity: layer collapse
    shows as a layer at (or near) zero; an empty layer is marked "empty".

    ``profiles`` maps ``(sparsity, method)`` to ``{layer path: density}`` in
    network order. Returns the ``(sparsity, method, layer path)`` marked empty.
    """
    sparsities = sorted({s for s, _ in profiles})
    fig, axes = plt.subplots(len(sparsities), 1, figsize=(8, 3.2 * len(sparsities)),
                             squeeze=False)
    marked = []
    for ax, sparsity in zip(axes[:, 0], sparsities):
        layers = None
        for (s, method), densities in profiles.items():
            if s != sparsity:
                continue
            layers = list(densities)
            values, empty = profile_points(densities)
            (line,) = ax.plot(range(len(values)), values, marker=".", label=method)
            if empty:
                ax.plot(empty, [values[i] for i in empty], linestyle="none", marker="X",
                        markersize=9, color=line.get_color(), markeredgecolor="black")
                for i in empty:
                    ax.annotate("empty", (i, values[i]), textcoords="offset points",
                                xytext=(0, 7), ha="center", fontsize="xx-small",
                                color=line.get_color())
                    marked.append((sparsity, method, layers[i]))
        if any(m[0] == sparsity for m in marked):
            # A neutral legend entry for the marker of every method's empty layers.
            ax.plot([], [], linestyle="none", marker="X", markersize=9, color="gray",
                    markeredgecolor="black", label=EMPTY_LABEL)
        ax.set_yscale("log")
        ax.set_ylabel("percent kept")
        ax.set_title(f"sparsity {sparsity:g}")
        ax.set_xticks(range(len(layers or [])))
        ax.set_xticklabels([p.split("/")[0] for p in layers or []], rotation=60, ha="right",
                           fontsize="x-small")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small", ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return marked
