"""MIAdam Fig. 3 at CPU scale, from the `fig3_hessian` reproduce target (results/fig3_hessian/):
(a) lambda_top per optimizer (error bar = |lambda|*relative residual, the eigen-solver's own bound),
(b) trace per optimizer (Hutch++ or Hutchinson, as fig3.json says) (error bar = +-3 stderr, the verdict's threshold per side),
(c) the SLQ ESDs overlaid (fig_esd.plot_overlay on results/fig3_hessian/hessian/<optimizer>/).
Writes figures/fig3_hessian_bars.png and fig3_hessian_esd.png, each with its PDF.
Reads only fig3.json and the per-optimizer hessian folders that flatmin wrote.
  /usr/bin/python3 paper_figures/fig3_hessian.py [RESULTS_DIR]"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import fig_esd  # noqa: E402


def main(results):
    base = os.path.join(results, "fig3_hessian")
    path = os.path.join(base, "fig3.json")
    if not os.path.exists(path):
        sys.exit(f"fig3_hessian: missing {path} (run `flatmin reproduce --only fig3_hessian` first)")
    with open(path) as f:
        rows = json.load(f)["optimizers"]
    labels = [r["optimizer"] for r in rows]
    lam = [r["lambda_top"] for r in rows]
    lam_err = [abs(r["lambda_top"]) * r["lambda_residual"] for r in rows]
    tr = [r["trace"] for r in rows]
    tr_err = [3 * r["trace_stderr"] for r in rows]
    out_dir = os.path.join(results, "figures")
    os.makedirs(out_dir, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.2))
    colors = ["C%d" % i for i in range(len(rows))]
    axes[0].bar(labels, lam, yerr=lam_err, color=colors, capsize=4)
    axes[0].set_title("top Hessian eigenvalue λ_top")
    axes[1].bar(labels, tr, yerr=tr_err, color=colors, capsize=4)
    method = rows[0].get("trace_method", "hutchinson") if rows else "hutchinson"
    axes[1].set_title("Hessian trace, %s (±3 stderr)" % method)
    for ax in axes:
        ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    bars = os.path.join(out_dir, "fig3_hessian_bars.png")
    common.save(fig, bars)  # PNG + PDF
    common.write_sidecar(bars, [path])
    runs = [os.path.join(base, r["hessian_dir"]) for r in rows]
    esd = fig_esd.plot_overlay(runs, labels, os.path.join(out_dir, "fig3_hessian_esd.png"))
    common.write_sidecar(esd, [path] + [os.path.join(d, "esd.csv") for d in runs])
    return [bars, esd]


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
