"""Theorem 2 with the real optimizers (results/sim_regret/summary.json): average regret R(T)/T at the
checkpoints for Adam and MIAdam1 (kappa = 1 and kappa < 1), log-log."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "sim_regret", "summary.json")
    s = common.read_json(src)
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    colors = ["#333333", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for o, c in zip(s["optimizers"], colors):
        pts = sorted((p["t"], p["regret_over_t"]) for p in o["points"])
        ax.plot([p[0] for p in pts], [max(p[1], 1e-300) for p in pts], marker="o", ms=3, color=c, label=o["optimizer"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T")
    ax.set_ylabel("R(T)/T")
    ax.set_title("Theorem 2: average regret before the switch")
    ax.legend(fontsize=7)
    out = os.path.join(results, "figures", "sim_regret.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
