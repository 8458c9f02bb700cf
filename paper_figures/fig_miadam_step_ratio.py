"""MIAdam's MI-phase step relative to Adam's (constant gradient, official recipe lr=1e-3,
kappa=0.98, switch at epoch 20 of 391 steps): ours per step, with the closed form (lr/(1-kappa))^n
that flatmin wrote into summary.json."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def main(results):
    src = os.path.join(results, "miadam_step_ratio", "table.csv")
    rows = common.read_csv(src, ["order", "step", "ratio"])
    summary = common.read_json(os.path.join(results, "miadam_step_ratio", "summary.json"))
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    for n in (1, 2, 3):
        pts = [(int(float(r["step"])), float(r["ratio"])) for r in rows if int(float(r["order"])) == n]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=style.PALETTE[f"miadam{n}"], label=f"MIAdam{n}")
        ax.axhline(summary[f"order_{n}"]["closed_form_steady_ratio"], color=style.PALETTE[f"miadam{n}"], ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("MIAdam step / Adam step")
    ax.set_title("MI phase moves (lr/(1-κ))^n × Adam; dotted: closed form")
    ax.legend()
    out = os.path.join(results, "figures", "miadam_step_ratio.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
