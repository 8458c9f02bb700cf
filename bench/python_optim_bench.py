#!/usr/bin/env python3
"""Step time of flatmin's optimizers called from Python (flatmin.optim) on the CIFAR ResNet18's
11.17 M float32 parameters, as ratios to anchors measured in the same run, interleaved round by round:
torch.optim.Adam (default, and foreach=True) and the restatements of the official MIAdam/DualAdam code
(tests/tools/official_optimizers.py). The Python overhead is flatmin.optim's step() against the bare
C++ step of the same optimizer (opt._impl.step()), alternated step by step on the same instance.

Goals (docs/benchmarks.md): flatmin.optim.MIAdam1 <= 0.3x torch.optim.Adam's step on CPU; Python
overhead <= 5 % of the C++ step.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_optim_bench.py [--threads 1] [--steps 20] [--rounds 3] [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

import flatmin

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import official_optimizers as official  # noqa: E402

# The restatements check float64 for the cross-checks; the official code itself runs in any dtype,
# and the timing here is in float32 as training is.
official._require_float64 = lambda *args: None


def resnet18_cifar_shapes():
    """kuangliu/pytorch-cifar ResNet18 parameters (as bench/optim_step_bench.cpp): 11,173,962 numbers."""
    shapes = [(64, 3, 3, 3), (64,), (64,)]
    cin = 64
    for layer, out in enumerate([64, 128, 256, 512]):
        for block in range(2):
            bin_ = cin if block == 0 else out
            shapes += [(out, bin_, 3, 3), (out,), (out,), (out, out, 3, 3), (out,), (out,)]
            if (block == 0 and layer > 0) or bin_ != out:
                shapes += [(out, bin_, 1, 1), (out,), (out,)]
        cin = out
    return shapes + [(10, 512), (10,)]


def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    ps = []
    for s in resnet18_cifar_shapes():
        p = (0.05 * torch.randn(s, generator=g)).requires_grad_(True)
        p.grad = 1e-3 * torch.randn(s, generator=g)
        ps.append(p)
    return ps


def candidates():
    """name -> (factory(params) -> object with .step(), kind)."""
    return {
        "torch.Adam": (lambda ps: torch.optim.Adam(ps, lr=1e-3), "anchor"),
        "torch.Adam(foreach)": (lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True), "anchor"),
        "official MIAdam1": (lambda ps: _Official(official.MIAdam1(ps, lr=1e-3)), "anchor"),
        "official MIAdam3": (lambda ps: _Official(official.MIAdam3(ps, lr=1e-3)), "anchor"),
        "official DualAdam": (lambda ps: official.DualAdam(ps, lr=1e-3), "anchor"),
        "flatmin MIAdam1": (lambda ps: flatmin.optim.MIAdam1(ps, lr=1e-3), "python"),
        "flatmin MIAdam3": (lambda ps: flatmin.optim.MIAdam3(ps, lr=1e-3), "python"),
        "flatmin DualAdam": (lambda ps: flatmin.optim.DualAdam(ps, lr=1e-3), "python"),
        "flatmin Adai": (lambda ps: flatmin.optim.Adai(ps, lr=0.1), "python"),
    }


class _Official:
    """The official MIAdam classes take epoch/kappa/sub_epoch as step() arguments: the MI phase."""

    def __init__(self, opt):
        self.opt = opt

    def step(self):
        self.opt.step(epoch=1, kappa=0.98, sub_epoch=20)


def python_overhead(opt, steps):
    """flatmin.optim's step() against the bare C++ step of the same instance, alternated step by step
    (same memory, same drift): (median wrapper time) / (median bare time) − 1."""
    py, bare = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.step()
        t1 = time.perf_counter()
        opt._impl.step()
        t2 = time.perf_counter()
        py.append(t1 - t0)
        bare.append(t2 - t1)
    return statistics.median(py) / statistics.median(bare) - 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per candidate per round (>= 20)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.steps < 20 or args.rounds < 1 or args.threads < 1:
        print("python_optim_bench: error: --steps must be >= 20, --rounds and --threads >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    cands = candidates()
    opts = {}
    for k, (make, _) in cands.items():
        opts[k] = make(make_params(0))
        opts[k].step()  # state creation outside the timing
    times = {k: [] for k in cands}
    total = args.rounds * len(cands)
    done = 0
    t_start = time.perf_counter()
    with torch.no_grad():
        for r in range(args.rounds):
            for k, o in opts.items():
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    o.step()
                times[k].append((time.perf_counter() - t0) / args.steps)
                done += 1
                el = time.perf_counter() - t_start
                print(f"\rpython_optim_bench: {done}/{total} ETA {el / done * (total - done):.0f} s   ", end="",
                      file=sys.stderr, flush=True)
    print(file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    adam = med["torch.Adam"]
    rows = []
    for k in cands:
        rows.append({"candidate": k, "median_step_s": med[k], "vs_torch_adam": med[k] / adam,
                     "vs_torch_adam_foreach": med[k] / med["torch.Adam(foreach)"]})
    with torch.no_grad():
        overhead = {n: python_overhead(opts[f"flatmin {n}"], args.steps * args.rounds)
                    for n in ["MIAdam1", "MIAdam3", "DualAdam", "Adai"]}
    vs_official = {n: med[f"flatmin {n}"] / med[f"official {n}"] for n in ["MIAdam1", "MIAdam3", "DualAdam"]}
    goals = {
        "MIAdam1 <= 0.3x torch.Adam": med["flatmin MIAdam1"] / adam <= 0.3,
        "Python overhead <= 5 %": max(overhead.values()) <= 0.05,
    }
    print(f"{'candidate':24s} {'step ms':>9s} {'/torch.Adam':>12s} {'/Adam(foreach)':>15s}")
    for r in rows:
        print(f"{r['candidate']:24s} {1e3 * r['median_step_s']:9.2f} {r['vs_torch_adam']:12.3f} {r['vs_torch_adam_foreach']:15.3f}")
    for n, v in vs_official.items():
        print(f"flatmin {n} / official restatement: {v:.3f}")
    for n, v in overhead.items():
        print(f"Python overhead {n}: {100 * v:+.2f} % of the C++ step")
    for g, ok in goals.items():
        print(f"goal {g}: {'met' if ok else 'MISSED'}")
    out = {"threads": args.threads, "steps": args.steps, "rounds": args.rounds,
           "parameters": sum(p.numel() for p in make_params(0)), "torch": torch.__version__,
           "rows": rows, "python_overhead": overhead, "vs_official": vs_official, "goals": goals}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
