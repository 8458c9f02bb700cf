"""MIAdam Table 2 (ImageNet-1k top-1, as printed): each value's distance from the nearest 100·k/256 (in hundredths
of a percent) — on the grid a printed value is 100·k/256 rounded (|d| ≤ 0.5) or truncated (0 ≤ d < 1); a
two-decimal value chosen at random would be spread over ±19.5. Data: table2_imagenet/table.csv."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "table2_imagenet", "table.csv")
    rows = common.read_csv(src, ["optimizer", "column", "printed", "k", "k_over_D_percent", "is_rounded", "is_truncated"])
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    labels, d, colors = [], [], []
    for r in rows:
        labels.append(f'{r["optimizer"]} {r["column"]}')
        d.append(100 * (float(r["printed"]) - float(r["k_over_D_percent"])))
        colors.append("#2e7d32" if r["is_rounded"] == "1" else "#b26a00" if r["is_truncated"] == "1" else "#c62828")
    y = range(len(rows))
    ax.barh(list(y), d, color=colors)
    ax.axvspan(-0.5, 0.5, color="#2e7d32", alpha=0.12, label="rounded k/256")
    ax.axvspan(-19.53, 19.53, color="#999999", alpha=0.06, label="spacing of k/256 (±½ step)")
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlim(-20, 20)
    ax.set_xlabel("printed − 100·k/256 (hundredths of a %)")
    ax.set_title("Table 2: every printed top-1 is a percentage of 256 images")
    ax.legend(loc="lower right")
    out = os.path.join(results, "figures", "table2_imagenet.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
