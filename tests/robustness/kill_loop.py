#!/usr/bin/env python3
"""Issue 15 item 7: the kill loop. A small training run (`flatmin train`, synthetic data, --threads 1) is killed
with SIGKILL at 20 random (seeded) moments and resumed with --resume after each; a sweep (--workers 1: child
trainers) is killed the same way at 10 moments and rerun. The final models, metrics and results must be bit-identical
to an uninterrupted run's, no `*.tmp.*` file may be left, and after every kill of a sweep's parent no trainer may
still hold a run folder (they die with it) within a second.
Usage: kill_loop.py --flatmin build/bin/flatmin [--seed 15] [--train-kills 20] [--sweep-kills 10]
"""
import argparse
import csv
import fcntl
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_files import sha, temps

from checklist import FAILURES, check


def recipe(name="kl"):
    return {"name": name,
            "data": {"dataset": "synthetic", "synthetic": {"n": 600, "classes": 4, "size": 8, "noise": 50.0, "seed": 3},
                     "augment": {"crop_padding": 1, "hflip": True}, "label_noise": {"rate": 0.2}},
            "model": {"name": "small_cnn", "options": {}},
            "optimizer": {"name": "miadam1", "options": {"lr": 2e-2, "kappa": 0.9, "switch_epoch": 3}},
            "epochs": 5, "batch_size": 32, "seed": 11,
            "schedule": {"type": "multistep", "milestones": [3], "gamma": 0.5, "warmup_epochs": 0.5}}


def metrics(run_dir):
    """metrics.csv without the wall-clock column."""
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        return [{k: v for k, v in row.items() if k != "time_s"} for row in csv.DictReader(f)]


def result(run_dir):
    with open(os.path.join(run_dir, "result.json")) as f:
        r = json.load(f)
    return {k: v for k, v in r.items() if k not in ("train_time_s", "images_per_s")}


def same_run(a, b):
    """Bit-identical final/best weights, TorchScript model, metrics (but time) and result (but times)."""
    files = ["model_final.pt", "model_best.pt", "model.pt"]
    return all(sha(os.path.join(a, f)) == sha(os.path.join(b, f)) for f in files) and metrics(a) == metrics(b) \
        and result(a) == result(b)


def run_locked(run_dir):
    """True while some process holds run_dir's lock."""
    path = os.path.join(run_dir, ".flatmin.lock")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except OSError:
            return True


def timed(cmd):
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.time() - t0, p.returncode, p.stderr


def kill_at(cmd, delay):
    """Starts cmd, SIGKILLs it after `delay` s; True when it was killed (False: it had ended by then)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p.wait(timeout=delay)
        return False, p.returncode
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return True, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flatmin", required=True)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--train-kills", type=int, default=20)
    ap.add_argument("--sweep-kills", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    fm = [a.flatmin, "--threads", "1"]
    work = tempfile.mkdtemp(prefix="flatmin_kill_loop.")
    t_start = time.time()
    try:
        cfg = os.path.join(work, "recipe.json")
        with open(cfg, "w") as f:
            json.dump(recipe(), f)
        # ---- training run --------------------------------------------------------------------------------------
        ref = os.path.join(work, "train_ref")
        t_ref, code, err = timed(fm + ["train", "--config", cfg, "--out", ref, "--no-progress"])
        check(code == 0, f"train: uninterrupted run ({t_ref:.2f} s)")
        kills, chains, left_by_kills = 0, 0, 0
        while kills < a.train_kills:
            chains += 1
            out = os.path.join(work, f"train_chain{chains}")
            cmd = fm + ["train", "--config", cfg, "--out", out, "--no-progress", "--resume"]
            finished = False
            while kills < a.train_kills:
                killed, code = kill_at(cmd, rng.uniform(0.02, 1.0) * t_ref)
                if not killed:
                    check(code == 0, f"train chain {chains}: a run that ended before its kill finished cleanly")
                    finished = True
                    break
                kills += 1
                left_by_kills += len(temps(out))
            if not finished:
                _, code, err = timed(cmd)
                check(code == 0, f"train chain {chains}: the last resume finished ({err.strip()[-200:]})")
            check(same_run(ref, out), f"train chain {chains}: bit-identical to the uninterrupted run")
            check(temps(out) == [], f"train chain {chains}: no temporary left")
        check(kills == a.train_kills, f"train: {kills} kills in {chains} chain(s); {left_by_kills} temporaries left by kills, all removed")
        # ---- sweep ---------------------------------------------------------------------------------------------
        sweep = os.path.join(work, "sweep.json")
        with open(sweep, "w") as f:
            json.dump({"name": "kl", "base": dict(recipe(), epochs=3),
                       "optimizers": [{"label": "adam", "name": "adam", "options": {"lr": 3e-3}},
                                      {"label": "mi1", "name": "miadam1", "options": {"lr": 2e-2, "kappa": 0.9, "switch_epoch": 2}}],
                       "seeds": [1], "noise_rates": [0.0]}, f)
        sref = os.path.join(work, "sweep_ref")
        t_sw, code, err = timed(fm + ["sweep", "--config", sweep, "--out", sref, "--workers", "1", "--no-progress"])
        check(code == 0, f"sweep: uninterrupted sweep ({t_sw:.2f} s)")
        kills, chains, max_child_s = 0, 0, 0.0
        while kills < a.sweep_kills:
            chains += 1
            out = os.path.join(work, f"sweep_chain{chains}")
            cmd = fm + ["sweep", "--config", sweep, "--out", out, "--workers", "1", "--no-progress"]
            finished = False
            while kills < a.sweep_kills:
                killed, code = kill_at(cmd, rng.uniform(0.02, 1.0) * t_sw)
                if not killed:
                    check(code == 0, f"sweep chain {chains}: a sweep that ended before its kill finished cleanly")
                    finished = True
                    break
                kills += 1
                t0 = time.time()  # its child trainer dies with it: no run folder stays locked
                while any(run_locked(d) for d in glob.glob(os.path.join(out, "runs", "*"))) and time.time() - t0 < 1.0:
                    time.sleep(0.005)
                waited = time.time() - t0
                max_child_s = max(max_child_s, waited)
                check(not any(run_locked(d) for d in glob.glob(os.path.join(out, "runs", "*"))),
                      f"sweep kill {kills}: no child trainer left after {waited * 1000:.0f} ms")
            if not finished:
                _, code, err = timed(cmd)
                check(code == 0, f"sweep chain {chains}: the rerun finished ({err.strip()[-200:]})")
            runs = sorted(os.path.basename(d) for d in glob.glob(os.path.join(sref, "runs", "*")))
            check(len(runs) == 2 and all(same_run(os.path.join(sref, "runs", r), os.path.join(out, "runs", r)) for r in runs),
                  f"sweep chain {chains}: every run bit-identical to the uninterrupted sweep's")
            with open(os.path.join(sref, "aggregate.json")) as f1, open(os.path.join(out, "aggregate.json")) as f2:
                strip = lambda agg: [{k: v for k, v in r.items() if k != "train_time_s_mean"} for r in agg["rows"]]
                check(strip(json.load(f1)) == strip(json.load(f2)), f"sweep chain {chains}: same aggregate")
            check(temps(out) == [], f"sweep chain {chains}: no temporary left")
        check(kills == a.sweep_kills, f"sweep: {kills} kills of the parent in {chains} chain(s); children gone after at most {max_child_s * 1000:.0f} ms")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failure(s); {time.time() - t_start:.1f} s")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
