"""MIAdam Fig. 2(e)-(h) stand-in: flatmin's multi-well landscape (the paper's is unknown; docs/simulations.md)
and the trajectories of MIAdam1/2/3, each beside Adam, from results/sim_fig2_multiwell."""
import os
import sys

import matplotlib.pyplot as plt

import common
import fig2_yang
import style


def main(results):
    folder = os.path.join(results, "sim_fig2_multiwell")
    style.apply()
    p, psrc = fig2_yang.paths(folder)
    lr = sorted({lr for (_, lr) in p})[0]
    mis = sorted(n for (n, l) in p if l == lr and n != "adam")
    fig, axes = plt.subplots(1, 1 + len(mis), figsize=(3.0 * (1 + len(mis)), 3.2))
    sources = fig2_yang.contour(axes[0], folder, "(e) multi-well landscape")
    for ax, name, letter in zip(axes[1:], mis, "fghijk"):
        fig2_yang.contour(ax, folder, f"({letter}) {name} vs adam, lr = {lr:g}")
        if ("adam", lr) in p:
            fig2_yang.draw_path(ax, p[("adam", lr)], "adam")
        fig2_yang.draw_path(ax, p[(name, lr)], name)
        ax.legend(loc="lower left")
    out = os.path.join(results, "figures", "fig2_multiwell.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, sources + [psrc])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
