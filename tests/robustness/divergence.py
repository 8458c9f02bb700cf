#!/usr/bin/env python3
"""Issue 15 item 3, end to end: divergence and non-finite values are run outcomes on every entry point that
iterates: exit 1, one line `<prog>: diverged: …`, manifest status "diverged", and no result rows with inf/nan.
Usage: divergence.py --bin build/bin
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checklist import FAILURES, check


def tiny(opt, options, epochs=2):
    return {"name": "div", "data": {"dataset": "synthetic", "synthetic": {"n": 192, "classes": 4, "size": 8, "noise": 50.0, "seed": 3}},
            "model": {"name": "small_cnn", "options": {}}, "optimizer": {"name": opt, "options": options},
            "epochs": epochs, "batch_size": 32, "seed": 11}


def no_nonfinite_rows(folder):
    """No CSV under folder holds an inf or nan cell."""
    for root, _, files in os.walk(folder):
        for f in files:
            if f.endswith(".csv"):
                with open(os.path.join(root, f)) as fh:
                    for line in fh:
                        cells = [c.strip().lower() for c in line.split(",")]
                        if any(c in ("inf", "-inf", "+inf", "nan", "-nan") for c in cells):
                            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    fm = [os.path.join(a.bin, "flatmin"), "--threads", "1"]
    th = [os.path.join(a.bin, "flatmin-theory"), "--threads", "1"]
    work = tempfile.mkdtemp(prefix="flatmin_divergence.")
    # (name, command builder, config or None, output folder or file, manifest path, needle in the message)
    cases = [
        ("train sgd lr 1e6", fm + ["train", "--no-progress"], tiny("sgd", {"lr": 1e6}), "dir", "manifest.json", "train: epoch 1"),
        ("train sgd lr 1e30", fm + ["train", "--no-progress"], tiny("sgd", {"lr": 1e30}), "dir", "manifest.json", "train: epoch 1"),
        ("train adam lr 1e6", fm + ["train", "--no-progress"], tiny("adam", {"lr": 1e6}, epochs=3), "dir", "manifest.json", "train: epoch "),
        ("simulate escape sgd lr 1e100", fm + ["simulate", "escape"],
         {"paths": 16, "max_steps": 10, "seed": 1, "optimizers": [{"name": "sgd", "options": {"lr": 1e100}}]}, "dir", "manifest.json", "path "),
        ("simulate regret alpha0 1e300", fm + ["simulate", "regret"],
         {"T": 100, "alpha0": 1e300, "power": 0.0, "optimizers": [{"name": "sgd", "options": {"lr": 1.0}}]}, "dir", "manifest.json", "simulate regret sgd: step "),
        ("simulate trajectories lr 1e100", fm + ["simulate", "trajectories"],
         {"landscape": {"name": "yang"}, "starts": [[5, 5]], "lrs": [1e100], "steps": 50, "tail": 10, "record_every": 5,
          "optimizers": [{"name": "sgd", "options": {"lr": 1e100}}]}, "dir", "manifest.json", "simulate trajectories sgd lr 1e+100: path 0"),
        ("escape-time (theory)", th + ["escape-time"],
         {"landscape": {"type": "double_well", "dL": 1, "k": 1}, "noise": "white", "T": 0.1, "dynamics": "sgd", "lr": 0.1,
          "dt": 0.01, "start": -1e120, "paths": 16, "seed": 1, "t_max": 10}, "dir", "manifest.json", "path "),
        ("flow (theory)", th + ["flow"], {"start": [1e120], "t_end": 1, "t_out": 0.1}, "dir", "manifest.json", "flow: iterate non-finite"),
        ("regret (theory)", th + ["regret"], {"alpha": 1e300, "T": 100}, "dir", "manifest.json", "regret: adam R(t)/t = inf"),
        ("optim-replay sgd lr 1e300", fm + ["optim-replay"],
         {"optimizer": "sgd", "options": {"lr": 1e300}, "params": [[1.0, 2.0]], "steps": 5, "quadratic": {"a": [[1e300, 1e300]], "c": [[0, 0]]}},
         "csv", "t.manifest.json", "step 1: parameter 0 is non-finite"),
        ("miadam-gain overflow", th + ["miadam-gain", "--kappa", "0.9", "--order", "40", "--lr", "1e10", "--steps", "5"], None, "csv",
         "t.manifest.json", "miadam-gain: step 1"),
    ]
    try:
        for i, (name, cmd, cfg, kind, manifest, needle) in enumerate(cases):
            d = os.path.join(work, f"case{i}")
            os.makedirs(d)
            args = list(cmd)
            if cfg is not None:
                with open(os.path.join(d, "c.json"), "w") as f:
                    json.dump(cfg, f)
                args += ["--spec" if "optim-replay" in cmd else "--config", os.path.join(d, "c.json")]
            out = os.path.join(d, "out") if kind == "dir" else os.path.join(d, "t.csv")
            args += ["--out", out]
            p = subprocess.run(args, capture_output=True, text=True)
            err = p.stderr
            mpath = os.path.join(out, manifest) if kind == "dir" else os.path.join(d, manifest)
            status = None
            if os.path.exists(mpath):
                with open(mpath) as f:
                    status = json.load(f).get("status")
            prog = os.path.basename(cmd[0])
            ok = (p.returncode == 1 and err.count("\n") == 1 and err.startswith(prog + ": diverged: ") and needle in err
                  and status == "diverged" and (kind == "dir" or not os.path.exists(out))
                  and no_nonfinite_rows(d))
            check(ok, f"{name}: exit {p.returncode}, manifest {status}: {err.strip()[:220]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failure(s) of {len(cases)} cases")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
