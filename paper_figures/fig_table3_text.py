"""MIAdam Table 3 (text classification, as printed): MIAdam1 − Adam in units of the standard error of the
difference (printed std/√3 per optimizer), per dataset and model, against the 2-SE line.
Data: table3_text/table.csv."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "table3_text", "table.csv")
    rows = common.read_csv(src, ["dataset", "model", "diff_pp", "se_pp", "z", "holds"])
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    labels = [f'{r["dataset"]} {r["model"]}' for r in rows]
    z = [float(r["z"]) for r in rows]
    colors = ["#2e7d32" if r["holds"] == "1" else "#c62828" for r in rows]
    shown = [max(v, 0.05) for v in z]  # log axis: a difference <= 0 is drawn at the floor, its label says so
    ax.bar(range(len(rows)), shown, color=colors)
    for i, r in enumerate(rows):
        ax.text(i, shown[i], f'{float(r["diff_pp"]):+.2f} pp', ha="center", va="bottom", fontsize=7)
    ax.axhline(2.0, color="#333333", ls="--", lw=1, label="2 SE")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=20, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(0.05, max(shown) * 2)
    ax.set_ylabel("(MIAdam1 − Adam) / SE")
    ax.set_title("Table 3: MIAdam1 vs Adam per cell (printed mean ± std, 3 runs)")
    ax.legend()
    out = os.path.join(results, "figures", "table3_text.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
