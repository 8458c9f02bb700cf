"""ctest report_smoke (fixture of the report tests): the main job's pipeline at the smoke profile into a fresh
folder under the build tree — `flatmin reproduce --profile smoke`, paper_figures/make_figures.py,
paper_figures/make_report.py — and the wall time of each step (written to <out>/smoke_timing.json). Then the reuse
check (written to <out>/smoke_reuse.json, asserted by test_targets.py): the same reproduce command again, whose
report.json must list every target that ran as reused (inputs unchanged), and `--force --only <two targets>`
on a copy of the folder, which must redo them.

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
    first = json.load(open(os.path.join(a.out, "report.json")))
    # Reuse: a second run of the same smoke command reuses every target (nothing changed) ...
    t0 = time.time()
    r = subprocess.run(steps[0][1], cwd=ROOT, capture_output=True, text=True)
    timing["reproduce_again"] = round(time.time() - t0, 2)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        return 1
    second = json.load(open(os.path.join(a.out, "report.json")))
    # ... and --force redoes what it selects (on a copy: --only writes a report of those targets alone).
    forced_dir = a.out + "_force"
    if os.path.exists(forced_dir):
        shutil.rmtree(forced_dir)
    shutil.copytree(a.out, forced_dir)
    only = ["dualadam_warmup", "table3_text"]
    before = {t: json.load(open(os.path.join(forced_dir, t, "manifest.json"))) for t in only}
    r = subprocess.run([a.flatmin, "reproduce", "--profile", "smoke", "--out", forced_dir, "--force", "--only"] + only,
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        return 1
    with open(os.path.join(forced_dir, "report.json")) as f:  # rows may name their folder: read them as a.out's
        forced = json.loads(f.read().replace(json.dumps(forced_dir)[1:-1], json.dumps(a.out)[1:-1]))
    after = {t: json.load(open(os.path.join(forced_dir, t, "manifest.json"))) for t in only}
    ran = sorted({row["target"].split("/", 1)[0] for row in first["rows"]} - {"not_reproducible_here"})
    with open(os.path.join(a.out, "smoke_reuse.json"), "w") as f:
        json.dump({"ran": ran, "first_reused": first.get("reused"), "second_reused": second.get("reused"),
                   "rows_equal": first["rows"] == second["rows"], "second_seconds": timing["reproduce_again"],
                   "forced": only, "forced_reused": forced.get("reused"),
                   "forced_manifests_changed": [t for t in only if before[t] != after[t]],
                   "forced_rows_equal": [row for row in first["rows"] if row["target"] in only]
                   == [row for row in forced["rows"] if row["target"] in only]},
                  f, indent=2)
    shutil.rmtree(forced_dir)
    with open(os.path.join(a.out, "smoke_timing.json"), "w") as f:
        json.dump(timing, f, indent=2)
    print(f"report_smoke: total {timing['total']} s; report {os.path.join(a.out, 'report.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
