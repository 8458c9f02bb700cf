"""Hessian eigenvalue spectral density (ESD) from `flatmin hessian` run folders.

Modes (reading only the run folders' esd.csv, slq_nodes.csv and summary.json):
  pyhessian  PyHessian's get_esd_plot exactly: semilogy(grid, density + 1e-7), x axis
             [min node - 1, max node + 1], 'Density (Log Scale)' / 'Eigenvalue' at fontsize 14
             (labelpad 10), ticks 12, tight_layout, PDF — one figure per run.
  overlay    several runs (e.g. optimizers' checkpoints, MIAdam Fig. 3 style) on one log axis,
             legend with lambda_top and trace from summary.json.
  linear     overlay on a linear y axis (outlier view).

  /usr/bin/python3 paper_figures/fig_esd.py RUN_DIR [RUN_DIR ...] [--labels A B ...] \
      [--mode pyhessian|overlay|linear] [--out FILE]
As a make_figures.py target it draws every run folder under results/hessian_esd/ (overlay + one
PyHessian-style PDF per run) into results/figures/.
"""
import argparse
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _read_csv(path, cols):
    if not os.path.exists(path):
        sys.exit(f"fig_esd: missing {path} (run `flatmin hessian --density --out DIR` first)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or any(c not in rows[0] for c in cols):
        sys.exit(f"fig_esd: {path} has no rows or lacks columns {cols}")
    return {c: [float(r[c]) for r in rows] for c in cols}


def load_run(d):
    esd = _read_csv(os.path.join(d, "esd.csv"), ["grid", "density"])
    nodes = _read_csv(os.path.join(d, "slq_nodes.csv"), ["node", "weight"])
    summ = {}
    if os.path.exists(os.path.join(d, "summary.json")):
        with open(os.path.join(d, "summary.json")) as f:
            summ = json.load(f)
    return esd, nodes, summ


def plot_pyhessian(run_dir, out):
    esd, nodes, _ = load_run(run_dir)
    plt.figure()
    plt.semilogy(esd["grid"], [d + 1.0e-7 for d in esd["density"]])
    plt.ylabel("Density (Log Scale)", fontsize=14, labelpad=10)
    plt.xlabel("Eigenvalue", fontsize=14, labelpad=10)
    plt.xticks(fontsize=12)
    plt.yticks(fontsize=12)
    plt.axis([min(nodes["node"]) - 1, max(nodes["node"]) + 1, None, None])
    plt.tight_layout()
    plt.savefig(out)
    plt.close()
    return out


def _label(d, summ, given):
    lab = given or os.path.basename(os.path.normpath(d))
    parts = []
    if summ.get("top_eigenvalues"):
        parts.append(f"λ_top={summ['top_eigenvalues'][0]['value']:.4g}")
    if summ.get("trace"):
        parts.append(f"tr={summ['trace']['estimate']:.4g}")
    return lab + (" (" + ", ".join(parts) + ")" if parts else "")


def plot_overlay(run_dirs, labels, out, log=True):
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    lo, hi = float("inf"), float("-inf")
    for i, d in enumerate(run_dirs):
        esd, nodes, summ = load_run(d)
        y = [v + 1.0e-7 for v in esd["density"]] if log else esd["density"]
        ax.plot(esd["grid"], y, lw=1.0, label=_label(d, summ, labels[i] if labels else None))
        lo, hi = min(lo, min(nodes["node"])), max(hi, max(nodes["node"]))
    if log:
        ax.set_yscale("log")
    ax.set_xlim(lo - 1, hi + 1)
    ax.set_xlabel("Eigenvalue")
    ax.set_ylabel("Density (Log Scale)" if log else "Density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if out.endswith(".png"):  # the report's figures: PNG + PDF sibling
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import common  # noqa: E402
        common.save(fig, out)
        return out
    fig.savefig(out)
    plt.close(fig)
    return out


def main(results):
    """make_figures.py entry: every run folder under results/hessian_esd/."""
    base = os.path.join(results, "hessian_esd")
    runs = sorted(os.path.join(base, d) for d in os.listdir(base) if os.path.isfile(os.path.join(base, d, "esd.csv")))
    if not runs:
        sys.exit(f"fig_esd: no run folders with esd.csv in {base}")
    os.makedirs(os.path.join(results, "figures"), exist_ok=True)
    for d in runs:
        plot_pyhessian(d, os.path.join(results, "figures", f"esd_{os.path.basename(d)}.pdf"))
    return plot_overlay(runs, None, os.path.join(results, "figures", "esd_overlay.png"))


def cli():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--labels", nargs="*")
    ap.add_argument("--mode", choices=["pyhessian", "overlay", "linear"], default="overlay")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.labels and len(a.labels) != len(a.runs):
        sys.exit("fig_esd: --labels needs one label per run")
    if a.mode == "pyhessian":
        if len(a.runs) != 1:
            sys.exit("fig_esd: --mode pyhessian draws one run")
        print(plot_pyhessian(a.runs[0], a.out or os.path.join(a.runs[0], "esd.pdf")))
    else:
        print(plot_overlay(a.runs, a.labels, a.out or "esd_overlay.pdf", log=a.mode == "overlay"))


if __name__ == "__main__":
    cli()
