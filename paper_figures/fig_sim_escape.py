"""Escape from the double well's sharp well (results/sim_escape/summary.json): (a) SGD's mean escape time
tau = iterations * lr at lr and lr/2 (±3 stderr) with the exact quadrature and the Richardson extrapolation;
(b) mean escape iterations of Adam and MIAdam1 at several kappa (±3 stderr) with the Adam-like SDE's value."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "sim_escape", "summary.json")
    s = common.read_json(src)
    style.apply()
    fig, axes = plt.subplots(1, 2, figsize=(2 * style.WIDTH_IN * 0.8, style.HEIGHT_IN))
    sgd = s["sgd"]
    runs = sgd["runs"]
    ax = axes[0]
    ax.errorbar([r["lr"] for r in runs], [r["tau"] for r in runs], yerr=[3 * r["stderr"] for r in runs], fmt="o",
                color=style.PALETTE["adam"], capsize=3, label="SGD Monte Carlo (±3 se)")
    ax.axhline(sgd["oracle_tau"], color="#1f77b4", ls="--", lw=1, label="exact quadrature")
    ax.errorbar([0], [sgd["richardson_tau"]], yerr=[3 * sgd["richardson_stderr"]], fmt="s", color="#2ca02c", capsize=3,
                label="Richardson (lr → 0)")
    ax.set_xlabel("lr")
    ax.set_ylabel("mean escape time τ = iterations · lr")
    ax.set_title("(a) SGD vs the exact first-passage time")
    ax.legend(fontsize=7)
    ax = axes[1]
    opts = s["adaptive"]["optimizers"]
    labels = [o["optimizer"] for o in opts]
    colors = [style.PALETTE.get(o.get("name", o["optimizer"]), "#1f77b4") for o in opts]
    ax.bar(range(len(opts)), [o["mean_steps"] for o in opts], yerr=[3 * o["stderr_steps"] for o in opts], color=colors,
           capsize=3)
    for i, o in enumerate(opts):
        if o.get("oracle_steps") is not None:
            ax.plot([i - 0.4, i + 0.4], [o["oracle_steps"]] * 2, color="k", ls=":", lw=1)
    ax.set_xticks(range(len(opts)))
    ax.set_xticklabels(labels, rotation=20, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("mean escape iterations (±3 se)")
    ax.set_title("(b) Adam vs MIAdam1 (dotted: Adam-like SDE)")
    out = os.path.join(results, "figures", "sim_escape.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
