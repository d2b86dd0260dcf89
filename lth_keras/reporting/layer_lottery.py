"""The layer lottery's summary over seeds and its two figures (Jordao et al.
2023): test accuracy and measured training speed-up against p, the number of
blocks removed, as mean +- std over seeds."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lth_keras.runs.results import summarize as summarize_over_seeds  # noqa: E402

KEYS = ("criterion", "ticket", "p")
SUMMARIZED = ("test_accuracy", "accuracy_gap_pp", "params", "multiply_adds", "flops_reduction",
              "wall_time_s", "cpu_time_s", "steady_step_time_s", "speedup", "cpu_speedup",
              "wall_speedup", "energy_kwh", "emissions_kg_co2", "energy_reduction")
# Figure name -> (summarized field, axis label, scale).
FIGURES = {
    "accuracy_vs_p": ("test_accuracy", "test accuracy (%)", 100.0),
    "speedup_vs_p": ("speedup", "training speed-up (x)\n= dense / ticket median step time", 1.0),
}


def summarize(records):
    """Mean and standard deviation over seeds of each (criterion, ticket, p), and wins."""
    rows = summarize_over_seeds(records, KEYS, SUMMARIZED)
    for row in rows:
        if row["ticket"] != "dense":
            cell = tuple(row[k] for k in KEYS)
            row["wins"] = sum(bool(r.get("win")) for r in records
                              if tuple(r[k] for k in KEYS) == cell)
    return sorted(rows, key=lambda r: (r["p"], r["criterion"] or "", r["ticket"]))


def plot_layer_lottery(summary, path_of, title):
    """Every figure of :data:`FIGURES`, written to ``path_of(name)``."""
    dense = [r for r in summary if r["ticket"] == "dense"]
    lines = sorted({(r["criterion"], r["ticket"]) for r in summary if r["ticket"] != "dense"})
    for name, (key, label, scale) in FIGURES.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for criterion, ticket in lines:
            rows = sorted((r for r in summary if (r["criterion"], r["ticket"]) == (criterion, ticket)
                           and r.get(f"{key}_mean") is not None), key=lambda r: r["p"])
            ax.errorbar([r["p"] for r in rows], [scale * r[f"{key}_mean"] for r in rows],
                        yerr=[scale * (r[f"{key}_std"] or 0.0) for r in rows],
                        marker="o" if ticket == "layers" else "s", capsize=3,
                        linestyle="-" if ticket == "layers" else "--",
                        label=f"{criterion}: {ticket} ticket")
        if key == "test_accuracy" and dense and dense[0]["test_accuracy_mean"] is not None:
            mean = 100 * dense[0]["test_accuracy_mean"]
            std = 100 * (dense[0]["test_accuracy_std"] or 0.0)
            ax.axhline(mean, color="k", linestyle="--", label="dense")
            ax.axhspan(mean - std, mean + std, color="k", alpha=0.1)
        if key == "speedup":
            rows = {r["p"]: r for r in summary
                    if r["ticket"] == "layers" and r["flops_reduction_mean"] is not None}
            ps = sorted(rows)
            ax.plot(ps, [1 / (1 - rows[p]["flops_reduction_mean"]) for p in ps], "k:",
                    label="dense / ticket multiply-adds")
            ax.axhline(1.0, color="k", linewidth=0.5)
        ax.set_xticks(sorted({r["p"] for r in summary if r["ticket"] != "dense"}))
        ax.set_xlabel("p (blocks removed)")
        ax.set_ylabel(label)
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # nothing measured: no legend
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path_of(name), dpi=120)
        plt.close(fig)
