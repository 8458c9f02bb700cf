"""Escape-time slope studies (theory.md 8): log tau against B/eta, sqrt(B)/eta, 1/k, 1/sqrt(k), log k.
Dots with 95% bars: Monte Carlo; solid: exact 1-D quadrature; dashed: the asymptotic formula (A)-(D).
Reads results/theory/slopes/{slopes.csv, sweep_<name>.csv} written by `flatmin-theory validate`."""
import math
import os
import sys

import matplotlib.pyplot as plt

import common
import style

AXIS_LABEL = {"B_over_eta": "B/η", "sqrtB_over_eta": "√B/η", "inv_k": "1/k", "inv_sqrt_k": "1/√k", "log_k": "log k"}


def main(results, folder=os.path.join("theory", "slopes")):
    src_dir = os.path.join(results, folder)
    slopes_csv = os.path.join(src_dir, "slopes.csv")
    studies = common.read_csv(slopes_csv, ["name", "dynamics", "axis", "fitted_slope", "fitted_stderr", "predicted_full_slope"])
    style.apply()
    n = len(studies)
    fig, axes = plt.subplots(1, n, figsize=(style.WIDTH_IN * n / 2.2, style.HEIGHT_IN), squeeze=False)
    sources = [slopes_csv]
    for ax, st in zip(axes[0], studies):
        src = os.path.join(src_dir, f"sweep_{st['name']}.csv")
        sources.append(src)
        rows = common.read_csv(src, ["x", "mc_mean", "mc_stderr", "exact", "predicted"])
        x = [float(r["x"]) for r in rows]
        mc = [math.log(float(r["mc_mean"])) for r in rows]
        err = [1.96 * float(r["mc_stderr"]) / float(r["mc_mean"]) for r in rows]
        ax.errorbar(x, mc, yerr=err, fmt="o", ms=3, color="#1f77b4", label="Monte Carlo")
        exact = [float(r["exact"]) for r in rows]
        if all(math.isfinite(e) for e in exact):
            ax.plot(x, [math.log(e) for e in exact], "-", color="#333333", lw=1, label="exact quadrature")
        ax.plot(x, [math.log(float(r["predicted"])) for r in rows], "--", color="#d62728", lw=1, label="formula")
        ax.set_xlabel(AXIS_LABEL.get(st["axis"], st["axis"]))
        ax.set_ylabel("log τ")
        ax.set_title(f"{st['dynamics']}: fit {float(st['fitted_slope']):.3g}±{float(st['fitted_stderr']):.2g}, "
                     f"pred {float(st['predicted_full_slope']):.3g}", fontsize=8)
    axes[0][0].legend(fontsize=7)
    out = os.path.join(results, "figures", "theory_slopes.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, sources)
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
