"""The official label-noise script's realised corruption (results/label_noise_rate/summary.json): the nominal
rate p, the expected realised rate (selected/n)(1 - 1/C) with its ±4 stderr band (the verdict's bound), and ours."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "label_noise_rate", "summary.json")
    s = common.read_json(src)
    rep = s["report"]
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN * 0.8, style.HEIGHT_IN))
    vals = [rep["rate"], s["expected"], rep["realised_rate"]]
    ax.bar([0, 1, 2], vals, color=["#999999", "#1f77b4", "#2ca02c"])
    ax.errorbar([1], [s["expected"]], yerr=[4 * s["standard_error"]], fmt="none", color="k", capsize=5)
    for i, v in enumerate(vals):
        ax.annotate(f"{v:.4f}", (i, v), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    ax.set_xticks([0, 1, 2])
    ax.set_xticklabels(["nominal p", "expected (±4 se)", "realised (ours)"])
    ax.set_ylabel("fraction of labels changed")
    ax.set_title(f"label noise, mode '{rep['mode']}': {rep['changed']} labels changed")
    out = os.path.join(results, "figures", "label_noise_rate.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
