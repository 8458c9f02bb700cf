"""The train-comparison reproduce targets (table1_cpu, table4_label_noise_cpu, adam_cm_train_cpu, adai_train_cpu):
reads <results>/<target>/summary.json (the table flatmin wrote: per optimizer and noise level the best test
accuracy of each seed, mean ± std, wall time, and the paper's numbers where it printed some).
One noise level: per optimizer our mean ± std (dots = seeds) and, beside it, the paper's mean ± std with its
wall time. Several levels (Table 4): accuracy against the noise rate, ours and the paper's.
  fig_train_compare.py RESULTS TARGET"""
import os
import sys

import matplotlib.pyplot as plt

import common
import style

TARGETS = ["table1_cpu", "table4_label_noise_cpu", "adam_cm_train_cpu", "adai_train_cpu"]


def colour(label, i):
    key = label.lower().replace("+", "_").replace("-", "")
    return style.PALETTE.get(key, plt.get_cmap("tab20")(i % 20))


def bars(summary, target):
    rows = summary["table"]
    paper = [r for r in rows if r.get("paper_mean") is not None]
    ncols = 2 if paper else 1
    fig, axes = plt.subplots(1, ncols, figsize=(style.WIDTH_IN * (1.45 if paper else 1.0), 0.32 * len(rows) + 1.4),
                             squeeze=False)
    ax = axes[0][0]
    labels = [r["optimizer"] for r in rows][::-1]
    for y, r in enumerate(rows[::-1]):
        c = colour(r["optimizer"], y)
        ax.barh(y, r["mean_pp"], xerr=r["std_pp"] or 0, color=c, alpha=0.55, capsize=3)
        ax.plot(r["acc_pp"], [y] * len(r["acc_pp"]), "o", ms=3, color="k")
        t = r.get("time_s")
        ax.annotate(f"{r['mean_pp']:.2f}" + (f" ±{r['std_pp']:.2f}" if r["std_pp"] is not None else "")
                    + (f"  {t:.0f} s" if t is not None else ""), (max(r["acc_pp"] + [r["mean_pp"] + (r["std_pp"] or 0)]), y), xytext=(4, -3),
                    textcoords="offset points", fontsize=7)
    lo = min(min(r["acc_pp"]) for r in rows)
    hi = max(max(r["acc_pp"]) for r in rows)
    ax.set_xlim(lo - 0.25 * (hi - lo + 1), hi + 0.6 * (hi - lo + 1))
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("best test accuracy (%), mean ± std, dots = seeds")
    ax.set_title("ours", fontsize=8)
    if paper:
        ax2 = axes[0][1]
        for y, r in enumerate(rows[::-1]):
            if r.get("paper_mean") is None:
                continue
            ax2.barh(y, r["paper_mean"], xerr=r.get("paper_std") or 0, color=colour(r["optimizer"], y), alpha=0.55, capsize=3)
            ax2.annotate(f"{r['paper_mean']:.2f}" + (f" ±{r['paper_std']:.2f}" if r.get("paper_std") is not None else "")
                         + (f"  {r['paper_time']}" if r.get("paper_time") else ""), (r["paper_mean"] + (r.get("paper_std") or 0), y), xytext=(4, -3),
                         textcoords="offset points", fontsize=7)
        pv = [r["paper_mean"] for r in paper]
        ax2.set_xlim(min(pv) - 0.5, max(pv) + 1.2)
        ax2.set_yticks(range(len(labels)))
        ax2.set_yticklabels([])
        ax2.set_xlabel("top-1 (%), paper")
        ax2.set_title(summary["paper_table"].get("column", "paper"), fontsize=8)
    fig.suptitle(f"{target}: {summary.get('setting', '')}", fontsize=8)
    fig.tight_layout()
    return fig


def noise_lines(summary, target):
    rows = summary["table"]
    levels = summary["noise_rates"]
    paper = any(r.get("paper_mean") is not None for r in rows)
    fig, axes = plt.subplots(1, 2 if paper else 1, figsize=(style.WIDTH_IN * (1.6 if paper else 1.0), style.HEIGHT_IN),
                             squeeze=False, sharey=False)
    for i, label in enumerate(summary["labels"]):
        mine = sorted([r for r in rows if r["optimizer"] == label], key=lambda r: r["noise"])
        lw = 2.2 if label in ("Adam", "MIAdam1") else 1.0
        axes[0][0].errorbar([100 * r["noise"] for r in mine], [r["mean_pp"] for r in mine],
                            yerr=[r["std_pp"] or 0 for r in mine], marker="o", ms=3, lw=lw, color=colour(label, i), label=label,
                            capsize=2)
        if paper:
            pts = [(100 * r["noise"], r["paper_mean"]) for r in mine if r.get("paper_mean") is not None]
            if pts:
                axes[0][1].plot(*zip(*pts), marker="o", ms=3, lw=lw, color=colour(label, i), label=label)
    axes[0][0].set_xlabel("symmetric label noise p (%)")
    axes[0][0].set_ylabel("best test accuracy (%) (clean test labels)")
    axes[0][0].set_title("ours", fontsize=8)
    axes[0][0].set_xticks([100 * p for p in levels])
    axes[0][0].legend(fontsize=6, ncol=2)
    if paper:
        axes[0][1].set_xlabel("symmetric label noise p (%)")
        axes[0][1].set_title("paper: " + summary["paper_table"].get("column", ""), fontsize=8)
        axes[0][1].set_xticks([100 * p for p in levels])
    fig.suptitle(f"{target}: {summary.get('setting', '')}", fontsize=8)
    fig.tight_layout()
    return fig


def main(results, target):
    src = os.path.join(results, target, "summary.json")
    summary = common.read_json(src)
    style.apply()
    fig = noise_lines(summary, target) if len(summary["noise_rates"]) > 1 else bars(summary, target)
    out = os.path.join(results, "figures", f"{target}.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in TARGETS:
        sys.exit(f"usage: fig_train_compare.py RESULTS TARGET (TARGET one of {', '.join(TARGETS)})")
    print(main(sys.argv[1], sys.argv[2]))
