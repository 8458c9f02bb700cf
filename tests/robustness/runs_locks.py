#!/usr/bin/env python3
"""Issue 15 item 2, end to end: run-folder locks (two processes), a sweep's children die with it, stale
temporaries of killed writers are removed on start/resume, and write failures (EFBIG via `ulimit -f`, ENOSPC via
an LD_PRELOAD shim) are one line naming the file, exit 1, manifest "failed", the previous checkpoint intact and
no temporary left. Usage: runs_locks.py --flatmin build/bin/flatmin --shim build/tests/robustness/fault_inject.so
"""
import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from run_files import sha, temps

from checklist import FAILURES, check


def recipe(n=192, epochs=3, name="tiny"):
    return {"name": name,
            "data": {"dataset": "synthetic", "synthetic": {"n": n, "classes": 4, "size": 8, "noise": 50.0, "seed": 3}},
            "model": {"name": "small_cnn", "options": {}},
            "optimizer": {"name": "adam", "options": {"lr": 3e-3}},
            "epochs": epochs, "batch_size": 32, "seed": 11}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def wait_for(path, timeout=60.0):
    t0 = time.time()
    while not os.path.exists(path) and time.time() - t0 < timeout:
        time.sleep(0.01)
    return os.path.exists(path)


def alive(pid):
    """True while pid is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def run(cmd, env=None, shell=False):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, shell=shell)
    return p.returncode, p.stderr


def one_line(err):
    return err.count("\n") == 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flatmin", required=True)
    ap.add_argument("--shim", required=True)
    a = ap.parse_args()
    fm = [a.flatmin, "--threads", "1"]
    work = tempfile.mkdtemp(prefix="flatmin_runs_locks.")
    try:
        # ---- a. two processes on one run folder ---------------------------------------------------------------
        long_cfg = os.path.join(work, "long.json")
        write_json(long_cfg, recipe(n=4000, epochs=50, name="long"))
        run_dir = os.path.join(work, "run")
        first = subprocess.Popen(fm + ["train", "--config", long_cfg, "--out", run_dir, "--no-progress"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check(wait_for(os.path.join(run_dir, "manifest.json")), "train: the first process started")
        code, err = run(fm + ["train", "--config", long_cfg, "--out", run_dir, "--no-progress", "--resume"])
        check(code == 2 and one_line(err) and err.startswith("flatmin: error: ")
              and f"is in use by PID {first.pid}" in err and run_dir in err,
              f"train: a second process on the same --out: exit 2, one line naming PID {first.pid} (got {code}: {err.strip()})")
        first.kill()
        first.wait()

        # a sweep folder held by another process (this one)
        sweep_cfg = os.path.join(work, "sweep.json")
        write_json(sweep_cfg, {"name": "s", "base": recipe(epochs=1),
                               "optimizers": [{"label": "adam", "name": "adam", "options": {"lr": 3e-3}}], "seeds": [1]})
        sweep_dir = os.path.join(work, "sweep")
        os.makedirs(sweep_dir)
        with open(os.path.join(sweep_dir, ".flatmin.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock.write(f"{os.getpid()}\n")
            lock.flush()
            code, err = run(fm + ["sweep", "--config", sweep_cfg, "--out", sweep_dir, "--no-progress"])
            check(code == 2 and one_line(err) and f"sweep: folder '{sweep_dir}' is in use by PID {os.getpid()}" in err,
                  f"sweep: a folder locked by another process: exit 2 naming its PID (got {code}: {err.strip()})")
            check(not os.path.exists(os.path.join(sweep_dir, "runs")), "sweep: nothing written into the locked folder")

        # ---- b. kill -9 a sweep's parent: its child trainer is gone within a second ---------------------------
        write_json(sweep_cfg, {"name": "s", "base": recipe(n=4000, epochs=50, name="long"),
                               "optimizers": [{"label": "adam", "name": "adam", "options": {"lr": 3e-3}}], "seeds": [1]})
        sw2 = os.path.join(work, "sweep2")
        parent = subprocess.Popen(fm + ["sweep", "--config", sweep_cfg, "--out", sw2, "--workers", "1", "--no-progress"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        child_run = os.path.join(sw2, "runs", "adam_noise0_seed1")
        check(wait_for(os.path.join(child_run, "manifest.json")), "sweep: the child trainer started")
        with open(os.path.join(child_run, ".flatmin.lock")) as f:
            child = int(f.read().strip())
        check(child != parent.pid and alive(child), f"sweep: child trainer PID {child} runs")
        parent.kill()
        parent.wait()
        t0 = time.time()
        while alive(child) and time.time() - t0 < 1.0:
            time.sleep(0.005)
        gone = time.time() - t0
        check(not alive(child), f"sweep: kill -9 of the parent: the child is gone after {gone * 1000:.0f} ms (limit 1000)")
        with open(os.path.join(child_run, ".flatmin.lock")) as f:  # and its run folder is free again
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                free = True
            except OSError:
                free = False
        check(free, "sweep: the killed child's run folder is not locked any more (a rerun does not double it)")

        # ---- c. stale temporaries are removed on start and on resume -----------------------------------------
        cfg = os.path.join(work, "tiny.json")
        write_json(cfg, recipe())
        stale = os.path.join(work, "stale")
        os.makedirs(stale)
        planted = [os.path.join(stale, "checkpoint.pt.tmp.999999999.0"), os.path.join(stale, "notes.txt")]
        for p in planted:
            open(p, "w").write("x" * 1000)
        code, err = run(fm + ["train", "--config", cfg, "--out", stale, "--no-progress", "--stop-after", "1"])
        check(code == 0 and not os.path.exists(planted[0]) and os.path.exists(planted[1]),
              "start: a dead writer's temporary is removed, other files are kept")
        for p in ["metrics.csv.tmp.999999999.3", f"model.pt.tmp.{os.getpid()}.7"]:  # also one whose PID is alive
            open(os.path.join(stale, p), "w").write("x")
        code, err = run(fm + ["train", "--config", cfg, "--out", stale, "--no-progress", "--resume"])
        check(code == 0 and temps(stale) == [], f"resume: every temporary in the locked folder is removed (left: {temps(stale)})")

        # ---- d. write failures --------------------------------------------------------------------------------
        straight = os.path.join(work, "straight")
        run(fm + ["train", "--config", cfg, "--out", straight, "--no-progress"])
        for kind, how in [("EFBIG", "ulimit -f"), ("ENOSPC", "LD_PRELOAD shim"), ("EFBIG-shim", "LD_PRELOAD shim")]:
            d = os.path.join(work, "fail_" + kind)
            code, err = run(fm + ["train", "--config", cfg, "--out", d, "--no-progress", "--stop-after", "1"])
            before = sha(os.path.join(d, "checkpoint.pt"))
            cmd = fm + ["train", "--config", cfg, "--out", d, "--no-progress", "--resume"]
            env = dict(os.environ)
            if kind == "EFBIG":
                size_kib = os.path.getsize(os.path.join(d, "checkpoint.pt")) // 1024 // 2  # the checkpoint no longer fits
                code, err = run(["bash", "-c", f"ulimit -f {size_kib}; exec \"$@\"", "bash"] + cmd)
                want, file_re = "file too large", r"cannot write '[^']*/fail_EFBIG/[^']+'"
            else:
                env["LD_PRELOAD"] = a.shim
                env["FLATMIN_FAULT_PATH"] = "checkpoint.pt.tmp."
                env["FLATMIN_FAULT_ERRNO"] = "EFBIG" if kind == "EFBIG-shim" else "ENOSPC"
                code, err = run(cmd, env=env)
                want = "file too large" if kind == "EFBIG-shim" else "no space left on device"
                file_re = r"cannot write '[^']*/checkpoint\.pt'"
            with open(os.path.join(d, "manifest.json")) as f:
                m = json.load(f)
            check(code == 1 and one_line(err) and want in err and re.search(file_re, err) is not None,
                  f"{kind} ({how}): exit 1, one line naming the file and '{want}' (got {code}: {err.strip()})")
            check(m["status"] == "failed" and want in m["message"], f"{kind}: manifest status 'failed' with the message")
            check(sha(os.path.join(d, "checkpoint.pt")) == before, f"{kind}: the previous checkpoint is intact")
            check(temps(d) == [], f"{kind}: no temporary left ({temps(d)})")
            code, err = run(fm + ["train", "--config", cfg, "--out", d, "--no-progress", "--resume"])
            same = code == 0 and all(sha(os.path.join(d, f)) == sha(os.path.join(straight, f)) for f in ["model_final.pt", "model_best.pt"])
            check(same, f"{kind}: resumed without the fault, the final model equals the uninterrupted run's")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
