"""DualAdam's step relative to Adam's at several t and |g| (switch_rate 8e-5): the warm-up
equivalence of spec optimizers.md §13.4. Points: ours; crosses: the spec's table."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "dualadam_warmup", "table.csv")
    rows = common.read_csv(src, ["t", "g", "ratio", "reference"])
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    gs = sorted({float(r["g"]) for r in rows})
    cmap = plt.get_cmap("viridis")
    for k, g in enumerate(gs):
        pts = sorted((float(r["t"]), float(r["ratio"]), float(r["reference"])) for r in rows if float(r["g"]) == g)
        c = cmap(k / max(1, len(gs) - 1))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=c, ms=3, label=f"|g|={g:g}")
        ax.plot([p[0] for p in pts], [p[2] for p in pts], "x", color=c, ms=6)
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("DualAdam step / Adam step")
    ax.set_title("DualAdam ≈ Adam with linear warm-up for |g| ≪ 1")
    ax.legend(ncol=2)
    out = os.path.join(results, "figures", "dualadam_warmup.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
