"""MIAdam Fig. 1 made concrete: a real Adam trajectory coordinate as a signal and its 1-, 2-, 3-fold κ-integrals
(left, each scaled by its steady gain (1−κ)^n), their Welch power spectra (middle), and the measured gain
sqrt(P_n/P_0) (points) against the closed form |1 − κe^{−iω}|^{−n} (lines; right).
Data: fig1_filtering/signal.csv, spectra.csv, summary.json."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style

COLORS = ["#333333", "#1f77b4", "#ff7f0e", "#2ca02c"]


def main(results):
    base = os.path.join(results, "fig1_filtering")
    sig_src, spec_src = os.path.join(base, "signal.csv"), os.path.join(base, "spectra.csv")
    sig = common.read_csv(sig_src, ["step", "x"])
    spec = common.read_csv(spec_src, ["bin", "omega", "power_x"])
    summary = common.read_json(os.path.join(base, "summary.json"))
    kappa, omin = summary["kappa"], summary["omega_min"]
    orders = len([c for c in spec[0] if c.startswith("gain_")])
    style.apply()
    fig, axes = plt.subplots(1, 3, figsize=(3 * style.WIDTH_IN * 0.62, style.HEIGHT_IN))
    ax = axes[0]
    step = [float(r["step"]) for r in sig]
    ax.plot(step, [float(r["x"]) for r in sig], color=COLORS[0], lw=0.6, label="Adam coordinate x_t")
    for n in range(1, orders + 1):
        scale = (1 - kappa) ** n
        ax.plot(step, [scale * float(r[f"integral_{n}"]) for r in sig], color=COLORS[n], lw=0.8,
                label=f"{n}-fold κ-integral × (1−κ)^{n}")
    ax.set_xlabel("step")
    ax.set_ylabel("weight value")
    ax.set_title("trajectory as a signal")
    ax.legend(fontsize=6)
    om = [float(r["omega"]) for r in spec]
    keep = [i for i, w in enumerate(om) if w >= omin]
    ax = axes[1]
    ax.loglog([om[i] for i in keep], [float(spec[i]["power_x"]) for i in keep], color=COLORS[0], lw=0.8, label="x")
    for n in range(1, orders + 1):
        ax.loglog([om[i] for i in keep], [float(spec[i][f"power_{n}"]) for i in keep], color=COLORS[n], lw=0.8,
                  label=f"{n}-fold")
    ax.set_xlabel("ω (rad/step)")
    ax.set_ylabel("power (Welch)")
    ax.set_title("power spectra")
    ax.legend(fontsize=7)
    ax = axes[2]
    errs = summary["max_relative_error"]
    for n in range(1, orders + 1):
        ax.loglog([om[i] for i in keep], [float(spec[i][f"gain_{n}"]) for i in keep], "o", ms=1.8, color=COLORS[n],
                  label=f"{n}-fold measured (max rel. err {errs[n - 1]:.3f})")
        ax.loglog([om[i] for i in keep], [float(spec[i][f"closed_form_{n}"]) for i in keep], "-", lw=0.8, color=COLORS[n])
    ax.set_xlabel("ω (rad/step)")
    ax.set_ylabel("gain |H(ω)|^n")
    ax.set_title(f"gain vs |1−κe^(−iω)|^(−n), κ = {kappa:g}")
    ax.legend(fontsize=6)
    fig.tight_layout()
    out = os.path.join(results, "figures", "fig1_filtering.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [sig_src, spec_src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
