"""Adai paper (seed 004) claims on the 1-D theory engine: (left) escape iterations from a flat and a sharp minimum per
optimizer (the slope of each line is its flat-minimum preference F); (middle) iterations to leave a saddle against
the saddle's sharpness k (log-log); (right) why the theory suite's (E) row differs: measured tau_Adai/tau_SGD over
the (E)/(B) prediction against the inertia number eta*H_a/beta0 (lr scan at fixed B/lr), with the white-noise control.
Data: adai_claims/table.csv and summary.json."""
import math
import os
import sys

import matplotlib.pyplot as plt

import common
import style

COLORS = {"sgd": "#333333", "momentum": "#1f77b4", "momentum_heavy_ball": "#17becf", "adam": "#d62728", "adai": "#2ca02c"}


def main(results):
    base = os.path.join(results, "adai_claims")
    src = os.path.join(base, "table.csv")
    rows = common.read_csv(src, ["case", "dynamics", "k", "lr", "steps", "steps_se"])
    summary = common.read_json(os.path.join(base, "summary.json"))
    style.apply()
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(3 * style.WIDTH_IN * 0.7, style.HEIGHT_IN))
    for name, c in COLORS.items():
        pts = sorted(((float(r["k"]), float(r["steps"]), float(r["steps_se"])) for r in rows
                      if r["case"] in (f"minimum_flat_{name}", f"minimum_sharp_{name}")))
        if pts:
            lr = next(float(r["lr"]) for r in rows if r["case"] == f"minimum_flat_{name}")
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[2 * p[2] for p in pts], color=c, marker="o", ms=3,
                        capsize=2, label=f"{name} (lr {lr:.3g})")
        pts = sorted(((float(r["k"]), float(r["steps"]), float(r["steps_se"])) for r in rows
                      if r["case"].startswith(f"saddle_{name}_k")))
        if pts:
            bx.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[2 * p[2] for p in pts], color=c, marker="o", ms=3,
                        capsize=2, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("sharpness k of the well")
    ax.set_ylabel("mean escape iterations (± 2 SE)")
    ax.set_title("minimum escape: flat vs sharp")
    ax.legend(fontsize=6)
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("saddle sharpness k (|H_b| = 4k)")
    bx.set_ylabel("iterations to leave the saddle")
    bx.set_title("saddle escape")
    bx.legend(fontsize=6)
    scan = summary.get("e_inertia_scan", [])
    if scan:
        x = [s["inertia_number"] for s in scan]
        y = [math.exp(s["log_meas_over_pred"]) for s in scan]
        e = [2 * s["log_se"] * v for s, v in zip(scan, y)]
        cx.errorbar(x, y, yerr=e, color=COLORS["adai"], marker="o", ms=3, capsize=2, label="SGD-shaped noise (lr scan)")
    cx.axhline(1.0, color="#777777", ls=":", lw=0.8)
    cx.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    cx.xaxis.set_major_formatter(ScalarFormatter())
    cx.xaxis.set_minor_formatter(NullFormatter())
    cx.set_yscale("log")
    cx.set_xlabel("inertia number eta*H_a/beta0")
    cx.set_ylabel("measured / (E) of tau_Adai/tau_SGD")
    cx.set_title("(E): where the assumption fails")
    cx.legend(fontsize=6)
    fig.tight_layout()
    out = os.path.join(results, "figures", "adai_claims.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src, os.path.join(base, "summary.json")])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
