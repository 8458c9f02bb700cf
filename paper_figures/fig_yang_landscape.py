"""The Yang 2020 landscape's critical points in [-6, 6]^2 as flatmin located them (results/sim_yang_landscape/
summary.json: x, y, f, Hessian eigenvalues, type): minima sized by flatness (sum |eig|), saddles and maxima marked."""
import os
import sys

import matplotlib.pyplot as plt

import common
import style

MARK = {"min": ("o", "#1f77b4"), "saddle": ("x", "#d62728"), "max": ("^", "#333333")}


def main(results):
    src = os.path.join(results, "sim_yang_landscape", "summary.json")
    pts = common.read_json(src).get("critical_points") or []
    if not pts:
        sys.exit(f"paper_figures: {src} has no critical_points")
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN + 0.6))
    for kind, (marker, color) in MARK.items():
        sel = [p for p in pts if p["type"] == kind]
        if sel:
            ax.scatter([p["x"] for p in sel], [p["y"] for p in sel], marker=marker, color=color, s=18, label=kind)
    others = [p for p in pts if p["type"] not in MARK]
    if others:
        ax.scatter([p["x"] for p in others], [p["y"] for p in others], marker=".", color="#999999", label="other")
    mins = sorted((p for p in pts if p["type"] == "min"), key=lambda p: abs(p["eig"][0]) + abs(p["eig"][1]))
    for p in mins[:3]:  # the flattest minima, labelled with sum |eig| and f
        ax.annotate(f"Σ|eig| {abs(p['eig'][0]) + abs(p['eig'][1]):.4g}\nf {p['f']:.4g}", (p["x"], p["y"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=7)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Yang 2020 landscape: critical points (flattest minima labelled)")
    ax.legend(fontsize=7, loc="upper right")
    out = os.path.join(results, "figures", "sim_yang_landscape.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, [src])
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
