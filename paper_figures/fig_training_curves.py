"""Test accuracy per epoch of every optimizer in the `train_adam_vs_miadam1` reproduce target (mean over
seeds, band = ± sample std), with the MI-phase switch marked: reads the sweep's per-run metrics.csv and
aggregate.json that flatmin wrote. Also usable on any sweep folder: fig_training_curves.py SWEEP_DIR OUT.png"""
import glob
import math
import os
import sys

import matplotlib.pyplot as plt

import common
import style


def curves(sweep_dir):
    agg_path = os.path.join(sweep_dir, "aggregate.json")
    agg = common.read_json(agg_path)
    by_label = {}
    sources = [agg_path]
    for run in sorted(glob.glob(os.path.join(sweep_dir, "runs", "*"))):
        cfg = common.read_json(os.path.join(run, "run_config.json"))
        if not os.path.exists(os.path.join(run, "result.json")):
            continue
        label = os.path.basename(run).split("_noise")[0]
        rows = common.read_csv(os.path.join(run, "metrics.csv"), ["epoch", "test_acc"])
        by_label.setdefault(label, {"runs": [], "switch": cfg["optimizer"]["options"].get("switch_epoch")})
        by_label[label]["runs"].append([float(r["test_acc"]) for r in rows])
        sources.append(os.path.join(run, "metrics.csv"))
    return agg, by_label, sources


def plot(sweep_dir, out, title):
    agg, by_label, sources = curves(sweep_dir)
    style.apply()
    fig, ax = plt.subplots(figsize=(style.WIDTH_IN, style.HEIGHT_IN))
    for label, d in by_label.items():
        n = min(len(r) for r in d["runs"])
        mean = [sum(r[e] for r in d["runs"]) / len(d["runs"]) for e in range(n)]
        sd = [math.sqrt(sum((r[e] - mean[e]) ** 2 for r in d["runs"]) / (len(d["runs"]) - 1)) if len(d["runs"]) > 1 else 0
              for e in range(n)]
        color = style.PALETTE.get(label.lower(), None)
        epochs = list(range(1, n + 1))
        ax.plot(epochs, [100 * m for m in mean], color=color, label=f"{label} (n={len(d['runs'])})", marker="o", ms=3)
        ax.fill_between(epochs, [100 * (m - s) for m, s in zip(mean, sd)], [100 * (m + s) for m, s in zip(mean, sd)],
                        color=color, alpha=0.2, lw=0)
        if d["switch"] and label.lower().startswith("miadam"):
            ax.axvline(d["switch"] - 0.5, color=color, ls=":", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    rows = {r["optimizer"]: r for r in agg["rows"]}
    txt = ", ".join(f"{k} best {100 * v['best_test_acc_mean']:.2f}±{100 * (v['best_test_acc_std'] or 0):.2f}"
                    for k, v in rows.items() if v["best_test_acc_mean"] is not None)
    ax.set_title(f"{title}\n{txt}", fontsize=8)
    ax.legend()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.save(fig, out)
    common.write_sidecar(out, sources)
    return out


def main(results):
    sweep = os.path.join(results, "train_adam_vs_miadam1", "sweep")
    return plot(sweep, os.path.join(results, "figures", "training_adam_vs_miadam1.png"),
                "Adam vs MIAdam1 (dotted: end of the MI phase)")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(plot(sys.argv[1], sys.argv[2], os.path.basename(os.path.normpath(sys.argv[1]))))
    else:
        print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
