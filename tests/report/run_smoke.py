"""ctest report_smoke (fixture of the report tests): the main job's pipeline at the smoke profile into a fresh
folder under the build tree — `flatmin reproduce --profile smoke`, paper_figures/make_figures.py,
paper_figures/make_report.py — and the wall time of each step (written to <out>/smoke_timing.json).

  python3 tests/report/run_smoke.py --flatmin build/bin/flatmin --out build/report_smoke"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flatmin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    steps = [("reproduce", [a.flatmin, "reproduce", "--profile", "smoke", "--out", a.out]),
             ("make_figures", [a.python, os.path.join(ROOT, "paper_figures", "make_figures.py"), a.out]),
             ("make_report", [a.python, os.path.join(ROOT, "paper_figures", "make_report.py"), a.out])]
    timing = {}
    for name, cmd in steps:
        t0 = time.time()
        r = subprocess.run(cmd, cwd=ROOT)
        timing[name] = round(time.time() - t0, 2)
        print(f"report_smoke: {name}: {timing[name]} s (exit {r.returncode})", flush=True)
        if r.returncode != 0:
            return 1
    timing["total"] = round(sum(timing.values()), 2)
    with open(os.path.join(a.out, "smoke_timing.json"), "w") as f:
        json.dump(timing, f, indent=2)
    print(f"report_smoke: total {timing['total']} s; report {os.path.join(a.out, 'report.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
