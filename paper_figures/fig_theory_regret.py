"""Theorem 2 (MIAdam Eq. 17): R(T)/T against T for Adam and MIAdam1 before the switch (kappa = 1 and
kappa < 1), with the 95% band over repetitions when the problem is random.
Reads results/theory/regret/regret.csv written by `flatmin-theory validate` (or `regret`)."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results, folder=os.path.join("theory", "regret")):
    src = os.path.join(results, folder, "regret.csv")
    rows = common.read_csv(src, ["t", "optimizer", "kappa", "R_over_T", "lo95", "hi95"])
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    curves = {}
    for r in rows:
        label = "Adam" if r["optimizer"] == "adam" else f"MIAdam1 κ={float(r['kappa']):g}"
        curves.setdefault(label, []).append((int(r["t"]), float(r["R_over_T"]), float(r["lo95"]), float(r["hi95"])))
    colors = ["#333333", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for (label, pts), c in zip(curves.items(), colors):
        t = [p[0] for p in pts]
        ax.plot(t, [p[1] for p in pts], color=c, label=label)
        lo = [max(p[2], 1e-300) for p in pts]
        ax.fill_between(t, lo, [p[3] for p in pts], color=c, alpha=0.2, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T")
    ax.set_ylabel("R(T)/T")
    ax.set_title("Theorem 2: regret before the switch")
    ax.legend(fontsize=7)
    out = os.path.join(results, "figures", "theory_regret.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
