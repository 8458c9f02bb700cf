"""MIAdam Fig. 2(a)-(d): the Yang 2020 landscape f = x^2 + y^2 + 5 sin(x + y^2) (contour, critical points) and
the trajectories of Adam and MIAdam1/2/3 at lr 0.05, 0.1, 0.15 from the start point, as flatmin ran them
(results/sim_fig2_yang: landscape.csv, paths.csv, critical_points.csv)."""
import os
import sys

import matplotlib.pyplot as plt
import numpy as np

import common
import style

ORDER = ["adam", "miadam1", "miadam2", "miadam3"]


def load_landscape(folder):
    src = os.path.join(folder, "landscape.csv")
    rows = common.read_csv(src, ["x", "y", "f"])
    x = np.array([float(r["x"]) for r in rows])
    y = np.array([float(r["y"]) for r in rows])
    f = np.array([float(r["f"]) for r in rows])
    n = int(round(np.sqrt(len(rows))))
    if n * n != len(rows):
        sys.exit(f"paper_figures: {src} is not a square grid")
    return x.reshape(n, n), y.reshape(n, n), f.reshape(n, n), src


def contour(ax, folder, title):
    X, Y, F, src = load_landscape(folder)
    ax.contourf(X, Y, F, levels=40, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, F, levels=20, colors="k", linewidths=0.3, alpha=0.5)
    crit_src = os.path.join(folder, "critical_points.csv")
    flat_max = common.read_json(os.path.join(folder, "summary.json"))["flat_max"]
    for r in common.read_csv(crit_src, ["x", "y", "sum_abs_eig", "type"]):
        if r["type"] != "min":
            continue
        s = float(r["sum_abs_eig"])
        ax.plot(float(r["x"]), float(r["y"]), marker="o" if s <= flat_max else "x", color="w", ms=4, mew=1)
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.set_xlim(X.min(), X.max())
    ax.set_ylim(Y.min(), Y.max())
    return [src, crit_src]


def paths(folder):
    src = os.path.join(folder, "paths.csv")
    rows = common.read_csv(src, ["optimizer", "lr", "path", "step", "x", "y"])
    out = {}
    for r in rows:
        if r["path"] != "0":
            continue
        out.setdefault((r["optimizer"], float(r["lr"])), []).append((float(r["x"]), float(r["y"])))
    return out, src


def draw_path(ax, pts, name):
    a = np.array(pts)
    color = style.PALETTE.get(name, None)
    ax.plot(a[:, 0], a[:, 1], lw=0.8, color=color, label=name, alpha=0.9)
    ax.plot(a[0, 0], a[0, 1], "k^", ms=4)
    ax.plot(a[-1, 0], a[-1, 1], "o", color=color, ms=3)


def main(results):
    folder = os.path.join(results, "sim_fig2_yang")
    style.apply()
    p, psrc = paths(folder)
    lrs = sorted({lr for (_, lr) in p})
    fig, axes = plt.subplots(1, 1 + len(lrs), figsize=(3.0 * (1 + len(lrs)), 3.2))
    sources = contour(axes[0], folder, "(a) Yang landscape (o flat, x sharp minima)")
    for ax, lr, letter in zip(axes[1:], lrs, "bcdefgh"):
        contour(ax, folder, f"({letter}) lr = {lr:g}")
        for name in ORDER + sorted({n for (n, _) in p} - set(ORDER)):
            if (name, lr) in p:
                draw_path(ax, p[(name, lr)], name)
    axes[1].legend(loc="lower left")
    out = os.path.join(results, "figures", "fig2_yang.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, sources + [psrc])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
