"""The 2,500-start study (MIAdam §Simulations; results in the unavailable appendix): histograms of
sum |eigenvalues of the Hessian| at the end points per optimizer, one panel per study run, from
results/sim_start_study/<run>/histogram.csv (means and fractions from its summary.json)."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    folder = os.path.join(results, "sim_start_study")
    runs = sorted(d for d in os.listdir(folder) if os.path.isfile(os.path.join(folder, d, "histogram.csv")))
    if not runs:
        sys.exit(f"paper_figures: no study runs in {folder}")
    summary = common.read_json(os.path.join(folder, "summary.json"))
    style.apply()
    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs), 3.2), squeeze=False)
    sources = []
    for ax, run in zip(axes[0], runs):
        src = os.path.join(folder, run, "histogram.csv")
        sources.append(src)
        rows = common.read_csv(src, ["optimizer", "bin_lo", "bin_hi", "count"])
        stats = {o["optimizer"]: o for o in summary[run]["optimizers"]}
        for name in dict.fromkeys(r["optimizer"] for r in rows):
            rs = [r for r in rows if r["optimizer"] == name]
            lo = [float(r["bin_lo"]) for r in rs]
            hi = [float(r["bin_hi"]) for r in rs]
            c = [float(r["count"]) for r in rs]
            s = stats.get(name, {})
            label = f"{name}: {s.get('mean_sum_abs_eig', float('nan')):.3g} ± {s.get('stderr_sum_abs_eig', float('nan')):.2g}"
            ax.stairs(c, lo + [hi[-1]], color=style.PALETTE.get(name), label=label)
        ax.set_xscale("log")
        ax.set_xlabel("sum |eig ∇²f| at the end point")
        ax.set_ylabel("start points")
        ax.set_title(run)
        ax.legend()
    out = os.path.join(results, "figures", "fig2_start_study.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, sources)
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
