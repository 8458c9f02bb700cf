"""Adam+CM's toy claims (arXiv 2307.09638): end points from a grid of starts on Ackley and Goldstein–Price for
Adam, Adam+CG and Adam+CM, with one example path each (top), and the mean Σ|eig ∇²f| at the end points on the
multi-well landscape vs the buffer size C, Adam+CM vs Adam+CG, ± 1 SE (bottom right).
Data: adam_cm_toy/endpoints.csv, paths.csv, buffer_sweep.csv."""
import math
import os
import sys

import matplotlib.pyplot as plt
import numpy as np

import common
import style

COLORS = {"Adam": "#333333", "Adam+CG": "#9467bd", "Adam+CM": "#d62728"}


def ackley(x, y):
    return (-20 * np.exp(-0.2 * np.sqrt(0.5 * (x * x + y * y))) - np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
            + math.e + 20)


def goldstein_price(x, y):
    return ((1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y))
            * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y)))


# contour backgrounds only (the data come from the CSVs); box per landscape as in reproduce.json
BACKGROUND = {"ackley": (ackley, (-4, 4), False), "goldstein_price": (goldstein_price, (-2, 2), True)}


def main(results):
    base = os.path.join(results, "adam_cm_toy")
    ends_src, paths_src, sweep_src = (os.path.join(base, f) for f in ("endpoints.csv", "paths.csv", "buffer_sweep.csv"))
    ends = common.read_csv(ends_src, ["study", "landscape", "optimizer", "x", "y", "f"])
    paths = common.read_csv(paths_src, ["landscape", "optimizer", "step", "x", "y"])
    sweep = common.read_csv(sweep_src, ["optimizer", "C", "mean_sum_abs_eig", "se_sum_abs_eig"])
    style.apply()
    fig, axes = plt.subplots(1, 3, figsize=(3 * style.WIDTH_IN * 0.62, style.HEIGHT_IN))
    for ax, (name, (fn, box, logf)) in zip(axes[:2], BACKGROUND.items()):
        g = np.linspace(box[0], box[1], 200)
        X, Y = np.meshgrid(g, g)
        Z = fn(X, Y)
        ax.contourf(X, Y, np.log10(Z) if logf else Z, levels=30, cmap="Greys", alpha=0.5)
        for opt, c in COLORS.items():
            pts = [(float(r["x"]), float(r["y"])) for r in ends
                   if r["study"] == "exploration" and r["landscape"] == name and r["optimizer"] == opt and r["f"] not in ("nan", "")]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", ms=2.5, color=c, alpha=0.7, label=f"{opt} end points")
            path = [(float(r["x"]), float(r["y"])) for r in paths if r["landscape"] == name and r["optimizer"] == opt]
            if path:
                ax.plot([p[0] for p in path], [p[1] for p in path], "-", lw=0.7, color=c)
        ax.set_xlim(box)
        ax.set_ylim(box)
        ax.set_title(f"{name}{' (log10 f)' if logf else ''}")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    axes[0].legend(fontsize=6, loc="lower left")
    ax = axes[2]
    for opt in sorted({r["optimizer"] for r in sweep}):
        rs = sorted((float(r["C"]), float(r["mean_sum_abs_eig"]), float(r["se_sum_abs_eig"])) for r in sweep if r["optimizer"] == opt)
        ax.errorbar([r[0] for r in rs], [r[1] for r in rs], yerr=[r[2] for r in rs], marker="o", ms=3, capsize=2,
                    color=COLORS.get(opt, None), label=opt)
    ax.set_xscale("log")
    ax.set_xlabel("buffer size C")
    ax.set_ylabel("mean Σ|eig| at end points")
    ax.set_title("multiwell: flatness vs buffer size")
    ax.legend()
    fig.tight_layout()
    out = os.path.join(results, "figures", "adam_cm_toy.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [ends_src, paths_src, sweep_src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
