"""DualAdam ablation at CPU scale (seed 002): test accuracy per epoch of Adam, Adam with DualAdam's linear warm-up,
DualAdam and InvAdam (mean over seeds, band = ± sample std; dotted: end of the warm-up/blend), and every pair's
difference of mean best test accuracy with ± 2 SE bars (middle), and InvAdam's escape claim on the 1-D theory engine:
flat-minimum preference F = ln(tau_flat/tau_sharp) per optimizer, ± 2 SE, beside the exact quadrature (right). Data:
dualadam_ablation_cpu/sweep (per-run metrics.csv, aggregate.json), pairs.csv and summary.json ("escape")."""
import math
import os
import sys

import matplotlib.pyplot as plt

import common
import fig_training_curves
import style

COLORS = {"Adam": "#333333", "Adam+warm-up": "#1f77b4", "DualAdam": "#d62728", "InvAdam": "#9467bd"}


def main(results):
    base = os.path.join(results, "dualadam_ablation_cpu")
    sweep = os.path.join(base, "sweep")
    agg, by_label, sources = fig_training_curves.curves(sweep)
    pairs_src = os.path.join(base, "pairs.csv")
    pairs = common.read_csv(pairs_src, ["a", "b", "diff_pp", "se_pp", "differ"])
    style.apply()
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(3 * style.WIDTH_IN * 0.7, style.HEIGHT_IN))
    for label, d in by_label.items():
        n = min(len(r) for r in d["runs"])
        k = len(d["runs"])
        mean = [sum(r[e] for r in d["runs"]) / k for e in range(n)]
        sd = [math.sqrt(sum((r[e] - mean[e]) ** 2 for r in d["runs"]) / (k - 1)) if k > 1 else 0 for e in range(n)]
        epochs = list(range(1, n + 1))
        c = COLORS.get(label)
        ax.plot(epochs, [100 * m for m in mean], marker="o", ms=3, color=c, label=f"{label} (n={k})")
        ax.fill_between(epochs, [100 * (m - s) for m, s in zip(mean, sd)], [100 * (m + s) for m, s in zip(mean, sd)],
                        color=c, alpha=0.15, lw=0)
    ax.axvline(1.0, color="#777777", ls=":", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("test accuracy (dotted: end of warm-up / blend)")
    ax.legend(fontsize=7)
    labels = [f'{p["a"]} − {p["b"]}' for p in pairs]
    d = [float(p["diff_pp"]) for p in pairs]
    se = [float(p["se_pp"]) for p in pairs]
    colors = ["#c62828" if p["differ"] == "1" else "#777777" for p in pairs]
    y = list(range(len(pairs)))
    for di, yi, si, ci in zip(d, y, se, colors):
        bx.errorbar([di], [yi], xerr=[2 * si], fmt="none", ecolor=ci, capsize=3)
    bx.scatter(d, y, c=colors, s=14, zorder=3)
    bx.axvline(0, color="#333333", lw=0.8)
    bx.set_yticks(y)
    bx.set_yticklabels(labels, fontsize=7)
    bx.set_xlabel("difference of mean best test accuracy (pp), ± 2 SE")
    bx.set_title("which differ (red: |diff| > 2 SE)")
    escape = common.read_json(os.path.join(base, "summary.json")).get("escape", {})
    names = list(escape)
    cx.bar(range(len(names)), [escape[n]["F"] for n in names], yerr=[2 * escape[n]["se"] for n in names], capsize=3,
           color=[{"adam": COLORS["Adam"], "invadam": COLORS["InvAdam"]}.get(n, "#aaaaaa") for n in names])
    cx.scatter(range(len(names)), [escape[n]["F_exact"] for n in names], color="black", marker="x", zorder=3,
               label="exact quadrature")
    cx.set_xticks(range(len(names)))
    cx.set_xticklabels([f'{n}\nlr {escape[n]["lr"]:.3g}' for n in names], fontsize=7)
    cx.set_ylabel("F = ln(tau_flat / tau_sharp)")
    cx.set_title("InvAdam escape claim (theory engine)")
    cx.legend(fontsize=7)
    fig.tight_layout()
    out = os.path.join(results, "figures", "dualadam_ablation_cpu.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, sources + [pairs_src, os.path.join(base, "summary.json")])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
