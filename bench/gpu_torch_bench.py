#!/usr/bin/env python3
"""GPU optimizer-step benchmark in Python (issue 13 item 4a): one step on the CIFAR ResNet18's 11.17 M
float32 parameters on a device for torch.optim.Adam(fused=True), Adam(foreach=True), Adam (for-loop),
a device-to-device copy moving the same bytes (the bandwidth roofline), and — when the flatmin package
imports — flatmin.optim's MIAdam1/2/3, DualAdam, Adai and Adam+CM on the same tensors, all interleaved
round by round in one process, with ratios to each anchor. Timing: CUDA events around each step
(torch.cuda.synchronize before), time.perf_counter on the CPU. Goals (reported, never asserted):
flatmin MIAdam1 and DualAdam <= 1.5x the roofline and <= 1.0x fused Adam.

    python3 bench/gpu_torch_bench.py --device cuda --out gpu_torch.json
    python3 bench/gpu_torch_bench.py --device cpu --tiny --reps 2 --out smoke.json   # CPU smoke test

Exit 2 (one line) on bad arguments or a CUDA device that is not there; flatmin is optional
(its rows say why they are missing)."""
import argparse
import json
import os
import statistics
import sys
import time

import torch

# float32 arrays moved per parameter element by each step (read + write counted apiece): Adam reads
# theta, g, m, v and writes theta, m, v (7); MIAdam's MI phase adds k kappa buffers (+2k); Adai's global
# mean of v is a second pass (+3); Adam+CM reads its topC=5 critical copies (+5). As flatmin-bench-gpu.
WORDS = {"torch_adam_fused": 7, "torch_adam_foreach": 7, "torch_adam_forloop": 7,
         "flatmin_miadam1": 9, "flatmin_miadam2": 11, "flatmin_miadam3": 13, "flatmin_dualadam": 7,
         "flatmin_adai": 10, "flatmin_adam_cm": 12}
NEVER = 1 << 40  # MIAdam's switch epoch: stay in the MI phase


def resnet18_shapes(tiny):
    """kuangliu/pytorch-cifar ResNet18 parameters (11,173,962 numbers), or widths / 8 with tiny."""
    d = 8 if tiny else 1
    shapes = [(64 // d, 3, 3, 3), (64 // d,), (64 // d,)]
    cin = 64 // d
    for out in [64 // d, 128 // d, 256 // d, 512 // d]:
        for block in range(2):
            bin_ = cin if block == 0 else out
            shapes += [(out, bin_, 3, 3), (out,), (out,), (out, out, 3, 3), (out,), (out,)]
            if block == 0 and bin_ != out:
                shapes += [(out, bin_, 1, 1), (out,), (out,)]
        cin = out
    return shapes + [(10, 512 // d), (10,)]


def make_params(shapes, device, grads):
    g = torch.Generator().manual_seed(2)
    ps = []
    for s, gr in zip(shapes, grads):
        p = torch.randn(s, generator=g).to(device).requires_grad_(True)
        p.grad = gr
        ps.append(p)
    return ps


def flatmin_candidates():
    """name -> factory(params), or (None, why) when the package does not import."""
    try:
        import flatmin.optim as fo
    except Exception as e:  # noqa: BLE001 - any import failure is reported, not fatal
        return None, f"import flatmin.optim failed: {type(e).__name__}: {e}"
    return {
        "flatmin_miadam1": lambda ps: fo.create("miadam1", ps, lr=1e-3, switch_epoch=NEVER),
        "flatmin_miadam2": lambda ps: fo.create("miadam2", ps, lr=1e-3, switch_epoch=NEVER),
        "flatmin_miadam3": lambda ps: fo.create("miadam3", ps, lr=1e-3, switch_epoch=NEVER),
        "flatmin_dualadam": lambda ps: fo.create("dualadam", ps, lr=1e-3, switch_rate=1e-6),
        "flatmin_adai": lambda ps: fo.create("adai", ps, lr=0.1),
        "flatmin_adam_cm": lambda ps: fo.create("adam_cm", ps, lr=1e-3, topC=5),
    }, ""


class Copy:
    """dst.copy_(src) over words/2 floats per parameter element: words·4·n bytes moved."""

    def __init__(self, n, words, device):
        self.src = torch.randn(words * n // 2, device=device)
        self.dst = torch.empty_like(self.src)

    def step(self):
        self.dst.copy_(self.src)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default=None)
    ap.add_argument("--reps", type=int, default=20, help="timed steps per candidate (interleaved rounds)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="widths / 8 (the CPU smoke test)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    args = ap.parse_args()
    try:
        device = torch.device(args.device)
    except RuntimeError:
        print(f"gpu_torch_bench: error: --device '{args.device}' is not cpu, cuda or cuda:N", file=sys.stderr)
        return 2
    if args.reps < 1 or args.warmup < 0 or args.threads < 0:
        print("gpu_torch_bench: error: --reps must be >= 1, --warmup and --threads >= 0", file=sys.stderr)
        return 2
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        print(f"gpu_torch_bench: error: --device {args.device} requested but CUDA is not available", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)

    shapes = resnet18_shapes(args.tiny)
    g = torch.Generator().manual_seed(1)
    grads = [(1e-2 * torch.randn(s, generator=g)).to(device) for s in shapes]
    n = sum(gr.numel() for gr in grads)

    cands, unavailable = {}, {}
    for w in sorted(set(WORDS.values())):
        cands[f"copy_{w}w"] = Copy(n, w, device)
    adam_kinds = {"torch_adam_fused": {"fused": True}, "torch_adam_foreach": {"foreach": True},
                  "torch_adam_forloop": {"foreach": False}}
    for name, kw in adam_kinds.items():
        try:
            cands[name] = torch.optim.Adam(make_params(shapes, device, grads), lr=1e-3, **kw)
        except (RuntimeError, TypeError, ValueError) as e:  # fused=True: torch < 2.0, or CPU before 2.4
            unavailable[name] = f"{type(e).__name__}: {e}"
    fm, why = flatmin_candidates()
    if fm is None:
        for name in WORDS:
            if name.startswith("flatmin_"):
                unavailable[name] = why
    else:
        for name, make in fm.items():
            try:
                o = make(make_params(shapes, device, grads))
                o.set_epoch(1)
                cands[name] = o
            except Exception as e:  # noqa: BLE001 - reported per row
                unavailable[name] = f"{type(e).__name__}: {e}"

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    with torch.no_grad():
        for name, c in list(cands.items()):
            try:
                for _ in range(args.warmup):
                    c.step()
                sync()
            except Exception as e:  # noqa: BLE001 - a candidate that cannot step is reported
                unavailable[name] = f"{type(e).__name__}: {e}"
                del cands[name]
        times = {k: [] for k in cands}
        for _ in range(args.reps):
            for name, c in cands.items():
                sync()
                if cuda:
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    c.step()
                    end.record()
                    end.synchronize()
                    times[name].append(start.elapsed_time(end) / 1e3)
                else:
                    t0 = time.perf_counter()
                    c.step()
                    times[name].append(time.perf_counter() - t0)

    med = {k: statistics.median(v) for k, v in times.items()}

    def ratio(t, anchor):
        return t / med[anchor] if anchor in med and med[anchor] > 0 else None

    rows = []
    print(f"{'candidate':22s} {'words':>5s} {'median ms':>10s} {'x roofline':>10s} {'x fused':>8s} {'x foreach':>9s}")
    for name in list(cands) + list(unavailable):
        if name in unavailable:
            rows.append({"name": name, "unavailable": unavailable[name]})
            print(f"{name:22s} unavailable: {unavailable[name][:100]}")
            continue
        t = med[name]
        words = WORDS.get(name, int(name[5:-1]) if name.startswith("copy_") else 7)
        row = {"name": name, "words_per_param": words, "bytes": 4.0 * words * n, "median_s": t,
               "min_s": min(times[name]), "samples_s": times[name], "gbytes_per_s": 4.0 * words * n / t / 1e9,
               "roofline": f"copy_{words}w", "ratio_to_roofline": ratio(t, f"copy_{words}w"),
               "ratio_to_torch_adam_fused": ratio(t, "torch_adam_fused"),
               "ratio_to_torch_adam_foreach": ratio(t, "torch_adam_foreach"),
               "ratio_to_torch_adam_forloop": ratio(t, "torch_adam_forloop")}
        rows.append(row)
        f = lambda x: f"{x:.3f}" if x is not None else "-"  # noqa: E731
        print(f"{name:22s} {words:5d} {1e3 * t:10.4f} {f(row['ratio_to_roofline']):>10s} "
              f"{f(row['ratio_to_torch_adam_fused']):>8s} {f(row['ratio_to_torch_adam_foreach']):>9s}")
    goals = {}
    for name in ["flatmin_miadam1", "flatmin_dualadam"]:
        row = next((r for r in rows if r["name"] == name), {})
        roof, fused = row.get("ratio_to_roofline"), row.get("ratio_to_torch_adam_fused")
        goals[name] = {"ratio_to_roofline": roof, "goal_roofline": 1.5, "ratio_to_torch_adam_fused": fused,
                       "goal_fused": 1.0,
                       "met": (roof <= 1.5 and fused <= 1.0) if roof is not None and fused is not None else None}
    out = {"benchmark": "bench/gpu_torch_bench.py", "device": str(device), "torch": torch.__version__,
           "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(device) if cuda else None,
           "tiny": args.tiny, "n_params": n, "n_tensors": len(shapes), "dtype": "float32", "reps": args.reps,
           "warmup": args.warmup, "threads": torch.get_num_threads(),
           "timing": "CUDA events per step, median of reps" if cuda else "perf_counter per step, median of reps",
           "rows": rows, "goals": goals}
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1)
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
