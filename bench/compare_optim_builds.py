#!/usr/bin/env python3
"""Interleaved comparison of two flatmin-bench-optim binaries (e.g. before and after a refactor).

Runs OLD and NEW alternately for --rounds rounds, swapping which runs first every round (running second
is a few percent slower whichever binary it is), both over the same --variants. For every variant the
ratio is new/old of `ratio_to_roofline` (each run's own roofline, measured in that run), median over the
rounds, with the per-round range. Prints a table and writes it as JSON (--out).

  /usr/bin/python3 bench/compare_optim_builds.py --old /work/wt/old/build/bin/flatmin-bench-optim \
      --new build/bin/flatmin-bench-optim --rounds 8 --out build/bench_compare.json
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile


def run(binary, variants, extra):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [binary, "--out", f.name] + (["--variants", variants] if variants else []) + extra
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        j = json.load(open(f.name))
    return {v["name"]: v for v in j["variants"]}, j["goals"], j.get("disturbed_anchors", [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--variants", default="", help="comma-separated; default: every variant both binaries know")
    ap.add_argument("--out", default="")
    ap.add_argument("extra", nargs="*", help="further flatmin-bench-optim flags (after --)")
    a = ap.parse_args()
    if a.rounds < 1:
        sys.exit("compare_optim_builds: --rounds must be >= 1")
    runs = {"old": [], "new": []}
    for r in range(a.rounds):
        order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
        for which in order:
            runs[which].append(run(getattr(a, which), a.variants, a.extra))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    names = [n for n in runs["old"][0][0] if n in runs["new"][0][0]]
    rows = []
    for n in names:
        old = [v[n]["ratio_to_roofline"] for v, _, _ in runs["old"]]
        new = [v[n]["ratio_to_roofline"] for v, _, _ in runs["new"]]
        per_round = [x / y for x, y in zip(new, old)]
        rows.append({"variant": n, "old_x_roofline": statistics.median(old), "new_x_roofline": statistics.median(new),
                     "new_over_old": statistics.median(per_round), "range": [min(per_round), max(per_round)]})
    print("goals old", [(g["met"], g["count"]) for _, g, _ in runs["old"]])
    print("goals new", [(g["met"], g["count"]) for _, g, _ in runs["new"]])
    print("disturbed runs old/new:", sum(bool(d) for _, _, d in runs["old"]), sum(bool(d) for _, _, d in runs["new"]))
    print(f"{'variant':22s} {'old x roof':>10s} {'new x roof':>10s} {'new/old':>8s}  per-round new/old range")
    for row in rows:
        print(f"{row['variant']:22s} {row['old_x_roofline']:10.3f} {row['new_x_roofline']:10.3f} "
              f"{row['new_over_old']:8.3f}  [{row['range'][0]:.3f}, {row['range'][1]:.3f}]")
    worst = max(rows, key=lambda r: r["new_over_old"])
    print(f"worst new/old {worst['new_over_old']:.3f} ({worst['variant']})")
    if a.out:
        json.dump({"rounds": a.rounds, "old": a.old, "new": a.new, "rows": rows,
                   "goals_old": [g for _, g, _ in runs["old"]], "goals_new": [g for _, g, _ in runs["new"]]},
                  open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
