#!/usr/bin/env python3
"""Issue 15, "must show": the 35 not-clean cases of the 2026-12-04 trial (and its 3 message cases), re-run
against a build, each with its new outcome, as a Markdown table on stdout.

Each case is the catalogue's case of the same input (catalogue.py; ids quoted in the table) or, where the
catalogue has no exact twin, one built here with the catalogue's helpers. The same house rule as the
catalogue is checked: exit code 2, exactly one stderr line with the `flatmin: error:` prefix, no LibTorch
frames, the key/flag/file named, nothing written (the case folder is compared before and after).

Usage:  FLATMIN_BIN=build/bin PYTHONPATH=build/python /usr/bin/python3 tests/robustness/issue15_table.py
Exit code: 0 if every case is clean, 1 otherwise.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import catalogue as cat  # noqa: E402
import test_catalogue as tc  # noqa: E402

# (group, the 2026-12-04 trial's input in words, catalogue case id | Case)
S = ["sweep", "--config", "sweep.json", "--out", "sw", "--workers", "0", "--no-progress"]
T = ["train", "--config", "cfg.json", "--out", "run", "--no-progress"]


def extra(entry, name, args, files, expect):
    return cat.Case(entry, name, "flatmin", cat.T1 + args, files, expect)


ROWS = [
    ("output path", "train --out in /proc", "flatmin train: --out under /proc"),
    ("output path", "train --out below a file", "flatmin train: --out below a regular file"),
    ("output path", "hessian --out in /proc (was noticed after the computation)", "flatmin hessian: --out under /proc"),
    ("output path", "hessian --out is a file", "flatmin hessian: --out is a regular file"),
    ("output path", "reproduce --out in /proc", "flatmin reproduce: --out under /proc"),
    ("output path", "reproduce --out below a file", "flatmin reproduce: --out below a regular file"),
    ("output path", "sweep --out in /proc", "flatmin sweep: --out under /proc"),
    ("output path", "sweep --out is a file", "flatmin sweep: --out is a regular file"),
    ("output path", "escape-time --out in /proc", "flatmin-theory escape-time: --out under /proc"),
    ("output path", "escape-time --out below a file", "flatmin-theory escape-time: --out below a regular file"),
    ("output path", "miadam-gain --out in /proc", "flatmin-theory miadam-gain: --out under /proc"),
    ("output path", "miadam-gain --out an existing folder", "flatmin-theory miadam-gain: --out is an existing folder"),
    ("output path", "optim-replay --out in /proc", "flatmin optim-replay: --out under /proc"),
    ("output path", "optim-replay --out an existing folder", "flatmin optim-replay: --out is an existing folder"),
    ("JSON type", "train data.std: 0.0", "flatmin train: data.std = 0.0 (a number, not a list)"),
    ("JSON type", "train data.mean: 0.5",
     extra("flatmin train", "data.mean = 0.5 (a number, not a list)", T,
           {"cfg.json": cat.mutate(cat.TRAIN, ("data", "mean"), 0.5)}, [cat.key_re("mean")])),
    ("JSON type", "sweep base.data.std: 0.0",
     extra("flatmin sweep", "base.data.std = 0.0 (a number, not a list)", S,
           {"sweep.json": cat.mutate(cat.SWEEP, ("base", "data", "std"), 0.0)}, [cat.key_re("std")])),
    ("count", "optim-replay steps: 1e18", "flatmin optim-replay: steps = 1e18 (huge count)"),
    ("count", "miadam-gain --steps 1e18", "flatmin-theory miadam-gain: --steps 1e18"),
    ("count", "simulate steps: 1e18", "flatmin simulate trajectories: steps = 1e18 (huge count)"),
    ("count", "train epochs: 1e18", "flatmin train: epochs = 1e18 (huge count)"),
    ("accepted", "hessian --checkpoint, model.json width 8, weights width 4",
     "flatmin hessian: --checkpoint weights width 4, model.json width1 8"),
    ("accepted", "model option typo widht1 (train)", "flatmin train: typo model.options.widht1"),
    ("accepted", "model option typo widht1 (hessian --checkpoint model.json)",
     "flatmin hessian: --checkpoint model.json option typo widht1"),
    ("accepted", "data.std <= 0", "flatmin train: data.std = [0.0] (not > 0)"),
    ("accepted", "train_subset larger than the data", "flatmin train: data.train_subset = 1000 > 64 images"),
    ("accepted", "--sync-bn with world size 1", "flatmin train: --sync-bn with world size 1"),
    ("accepted", "--dist-backend nccl on a CPU build", "flatmin train: --dist-backend nccl on a CPU build"),
    ("accepted", "hessian --dataset with --model/--data", "flatmin hessian: --dataset with --model/--data"),
    ("accepted", "hessian --compat pyhessian --trace-method exact", "flatmin hessian: --compat pyhessian --trace-method exact"),
    ("too late", "sweep option lr -1 (made run folders, a failed run, a NaN aggregate)",
     "flatmin sweep: optimizers.0.options.lr = -1 (out of range)"),
    ("too late", "sweep option lr \"nan\"", "flatmin sweep: optimizers.0.options.lr = \"nan\""),
    ("too late", "sweep unknown option kapa", "flatmin sweep: optimizers.0.options unknown option kapa"),
    ("too late", "sweep noise_rates [1.5]", "flatmin sweep: noise_rates = [1.5]"),
    ("traversal", "sweep label \"../../evil\"", "flatmin sweep: optimizers.0.label path traversal ../../evil"),
    ("traversal", "sweep label \"a/b\"", "flatmin sweep: optimizers.0.label with a slash a/b"),
    ("message", "hessian --data dict without x (was 'Unknown opcode for unpickling')", "flatmin hessian: --data dict without 'x'"),
    ("message", "corrupt checkpoint (was LibTorch text cut mid-word)", "flatmin hessian: --checkpoint corrupt .pt"),
    ("message", "--model <folder> (was 'does not exist')", "flatmin hessian: --model is a folder"),
]


def main():
    bindir = os.path.abspath(tc.bin_dir())
    by_id = {c.id: c for c in cat.all_cases(tc.SRC, tc.FX)}
    cases = []
    for group, words, ref in ROWS:
        c = ref if isinstance(ref, cat.Case) else by_id[ref]
        cases.append((group, words, c, isinstance(ref, cat.Case)))
    root = tempfile.mkdtemp(prefix="issue15-")
    if tc.needs_trained_run([c for _, _, c, _ in cases]):
        tc.RUN["dir"] = tc.trained_run(root, bindir)
    results = tc.run_all([c for _, _, c, _ in cases], os.path.join(root, "cases"), bindir, tc.jobs())
    print("| # | group | input (2026-12-04 trial) | case | exit | stderr lines | clean | new first line |")
    print("|---|---|---|---|---|---|---|---|")
    bad = 0
    for n, (group, words, c, built) in enumerate(cases, 1):
        r = results[c.id]
        probs, first = tc.cli_problems(c, r)
        bad += bool(probs)
        cid = ("(here) " if built else "") + c.id
        msg = first.replace("|", "\\|")
        print(f"| {n} | {group} | {words} | `{cid}` | {'timeout' if r['timed_out'] else r['rc']} | "
              f"{len(r['stderr'].splitlines())} | {'yes' if not probs else 'NO: ' + '; '.join(probs)} | {msg} |")
    print(f"\n{len(cases) - bad} of {len(cases)} clean", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
