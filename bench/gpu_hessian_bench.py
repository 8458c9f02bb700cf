#!/usr/bin/env python3
"""GPU Hessian benchmark (issue 13 item 4b): lambda_top, trace and ESD of the CIFAR ResNet18 (kuangliu
layout, eval mode as PyHessian) on one batch of 200 CIFAR-shaped images (Fig. 3's setting), on one
device: `flatmin hessian --device D` (the C++ executable: Spectra top-1 to a relative residual target,
Hutchinson trace, SLQ density) against PyHessian's algorithm (bench/pyhessian_reference.py, the
restatement of amirgholami/PyHessian, cuda=True) in the same run — HVPs and seconds per quantity and
their ratios, and for lambda_top the HVPs and seconds each needs to reach the relative residual target
(default 1e-6; PyHessian's power iteration is run until its iterate reaches it, capped by --max-hvps).

The images are seeded N(0,1) tensors with seeded labels unless --data D.pt ({"x": [N,3,32,32],
"y": [N]}) gives real ones: the GPU machine has no CIFAR-10 and this measures cost, not the spectrum.
The model is trained --train-steps SGD steps on the batch first (so the spectrum is not that of the
random init), then exported as TorchScript for `flatmin hessian`.

    python3 bench/gpu_hessian_bench.py --device cuda --flatmin build/bin/flatmin --out gpu_hessian.json
    python3 bench/gpu_hessian_bench.py --device cpu --tiny --flatmin build/bin/flatmin --out smoke.json

Exit 2 with one line on bad arguments; 1 when a side fails (its stderr is in the JSON's folder).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyhessian_reference as ph  # noqa: E402


class BasicBlock(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)
        self.shortcut = torch.nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                torch.nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(torch.nn.Module):
    """kuangliu/pytorch-cifar ResNet18 (11,173,962 parameters); widths / d with d > 1."""

    def __init__(self, d=1, classes=10):
        super().__init__()
        w = [64 // d, 128 // d, 256 // d, 512 // d]
        self.conv1 = torch.nn.Conv2d(3, w[0], 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(w[0])
        layers, cin = [], w[0]
        for i, c in enumerate(w):
            layers += [BasicBlock(cin, c, 1 if i == 0 else 2), BasicBlock(c, c, 1)]
            cin = c
        self.layers = torch.nn.Sequential(*layers)
        self.linear = torch.nn.Linear(w[3], classes)

    def forward(self, x):
        out = self.layers(torch.relu(self.bn1(self.conv1(x))))
        out = torch.nn.functional.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, fn):
    sync(device)
    t = time.perf_counter()
    r = fn()
    sync(device)
    return r, time.perf_counter() - t


def flatmin_run(args, work, name, extra):
    """One `flatmin hessian` run; its summary.json (seconds and hvp_count are the analysis's own)."""
    out = os.path.join(work, name)
    shutil.rmtree(out, ignore_errors=True)  # a rerun into the same --work
    cmd = [args.flatmin, "--threads", str(args.threads), "hessian", "--model", os.path.join(work, "model.pt"),
           "--data", os.path.join(work, "data.pt"), "--loss", "cross_entropy", "--dtype", args.dtype,
           "--device", args.device, "--seed", "1", "--max-seconds", repr(args.budget_seconds / 8), "--out", out, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"flatmin hessian ({name}) exited {r.returncode}: {r.stderr.strip()[-400:]}")
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    return s


def pyhessian_side(model, x, y, args, device):
    """PyHessian's algorithm on the device: defaults for lambda_top (maxIter 100, tol 1e-3), trace
    (maxIter 100, tol 1e-3) and density (iter 100, n_v 1), and power iteration to the residual target."""
    crit = torch.nn.CrossEntropyLoss()
    params = [p for p in model.parameters() if p.requires_grad]

    def fresh():
        for p in params:  # PyHessian's constructor accumulates into p.grad
            p.grad = None
        return ph.hessian(model, crit, data=(x, y), cuda=device.type == "cuda")

    out = {}
    torch.manual_seed(1)
    H = fresh()
    (ev, _), t = timed(device, lambda: H.eigenvalues(maxIter=args.pyhessian_iters))
    out["lambda_top_defaults"] = {"eigenvalue": float(ev[0]), "hvps": H.hvp_count, "seconds": t}
    # power iteration until the iterate's relative residual reaches the target (exact unit vectors)
    torch.manual_seed(1)
    H = fresh()
    v = [torch.randn(p.size(), dtype=p.dtype, device=p.device) for p in params]
    s = float(ph.group_product(v, v)) ** 0.5
    v = [a / s for a in v]
    hvps, lam, res = 0, 0.0, float("inf")
    sync(device)
    t0 = time.perf_counter()
    cap = min(args.power_max_seconds, args.budget_seconds / 4)
    while hvps < args.max_hvps and time.perf_counter() - t0 < cap:
        _, hv = H.hv(v)
        hvps += 1
        lam = float(ph.group_product(hv, v))
        r = [a - lam * b for a, b in zip(hv, v)]
        res = float(ph.group_product(r, r)) ** 0.5 / abs(lam)
        if res <= args.residual:
            break
        s = float(ph.group_product(hv, hv)) ** 0.5
        v = [a / s for a in hv]
    sync(device)
    out["lambda_top_to_residual"] = {"eigenvalue": lam, "hvps": hvps, "seconds": time.perf_counter() - t0,
                                     "residual": res, "target": args.residual, "reached": res <= args.residual}
    torch.manual_seed(1)
    H = fresh()
    c0 = H.hvp_count
    tr, t = timed(device, lambda: H.trace(maxIter=args.pyhessian_iters))
    out["trace"] = {"estimate": float(sum(tr) / len(tr)), "hvps": H.hvp_count - c0, "seconds": t}
    torch.manual_seed(1)
    H = fresh()
    c0 = H.hvp_count
    try:
        (eigs, _), t = timed(device, lambda: H.density(iter=args.slq_steps, n_v=1))
        out["density"] = {"steps": args.slq_steps, "runs": 1, "hvps": H.hvp_count - c0, "seconds": t,
                          "lambda_max_ritz": float(max(eigs[0]))}
    except (RuntimeError, TypeError) as e:  # its .numpy() needs numpy
        out["density"] = {"unavailable": f"{type(e).__name__}: {e}"}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--flatmin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin", "flatmin"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default=None, help="scratch folder (model, data, flatmin's run folders); default a temp dir")
    ap.add_argument("--data", default=None, help='torch.save\'d {"x": [N,3,32,32], "y": [N]} instead of seeded images')
    ap.add_argument("--n", type=int, default=200, help="images in the batch (Fig. 3: 200)")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                    help="float64: a 1e-6 relative residual is meaningful (float32 HVPs round at ~1e-7)")
    ap.add_argument("--residual", type=float, default=1e-6)
    ap.add_argument("--max-hvps", type=int, default=400, help="cap of the power iteration to the residual target")
    ap.add_argument("--power-max-seconds", type=float, default=60.0, help="time cap of that power iteration")
    ap.add_argument("--budget-seconds", type=float, default=150.0,
                    help="wall-time guard: each flatmin run gets --max-seconds budget/8 (status not_converged when it "
                         "hits it), the power iteration at most budget/4; PyHessian's defaults are <= 300 HVPs")
    ap.add_argument("--pyhessian-iters", type=int, default=100, help="PyHessian's maxIter (its default 100)")
    ap.add_argument("--slq-steps", type=int, default=100, help="Lanczos steps of the density, both sides")
    ap.add_argument("--trace-samples", type=int, default=100, help="flatmin's Hutchinson probes (max; min 10)")
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tiny", action="store_true", help="widths / 16, 4 images of 8x8, short runs (the CPU smoke test)")
    args = ap.parse_args()
    try:
        device = torch.device(args.device)
    except RuntimeError:
        print(f"gpu_hessian_bench: error: --device '{args.device}' is not cpu, cuda or cuda:N", file=sys.stderr)
        return 2
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"gpu_hessian_bench: error: --device {args.device} requested but CUDA is not available", file=sys.stderr)
        return 2
    if not os.path.isfile(args.flatmin):
        print(f"gpu_hessian_bench: error: no flatmin executable at {args.flatmin} (--flatmin)", file=sys.stderr)
        return 2
    if min(args.n, args.max_hvps, args.pyhessian_iters, args.slq_steps, args.threads) < 1 or args.trace_samples < 10 \
            or not 0 < args.residual < 1 or args.train_steps < 0 or args.power_max_seconds <= 0 \
            or args.budget_seconds <= 0:
        print("gpu_hessian_bench: error: --n, --max-hvps, --pyhessian-iters, --slq-steps, --threads must be >= 1, "
              "--trace-samples >= 10, --train-steps >= 0, 0 < --residual < 1, --power-max-seconds and --budget-seconds > 0", file=sys.stderr)
        return 2
    if args.tiny:
        args.n, args.slq_steps, args.pyhessian_iters = min(args.n, 4), min(args.slq_steps, 10), min(args.pyhessian_iters, 10)
        args.max_hvps, args.trace_samples, args.train_steps = min(args.max_hvps, 30), 10, min(args.train_steps, 3)
    torch.set_num_threads(args.threads)
    work = args.work or tempfile.mkdtemp(prefix="flatmin_gpu_hessian.")
    os.makedirs(work, exist_ok=True)

    # model (trained briefly on the batch) and data, exported for `flatmin hessian`
    torch.manual_seed(0)
    if args.data:
        d = torch.load(args.data)
        x, y = d["x"][:args.n].float(), d["y"][:args.n].long()
    else:
        g = torch.Generator().manual_seed(0)
        side = 8 if args.tiny else 32
        x, y = torch.randn(args.n, 3, side, side, generator=g), torch.randint(0, 10, (args.n,), generator=g)
    model = ResNet18(16 if args.tiny else 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xd, yd = x.to(device), y.to(device)
    model.train()
    for _ in range(args.train_steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xd), yd).backward()
        opt.step()
    model.eval()
    model.cpu()
    try:
        exported = torch.jit.script(model)
    except Exception:  # noqa: BLE001 - TorchScript scripting deprecated/unavailable: trace (same graph here)
        exported = torch.jit.trace(model, x[:2])
    torch.jit.save(exported, os.path.join(work, "model.pt"))
    torch.save({"x": x, "y": y}, os.path.join(work, "data.pt"))
    n_params = sum(p.numel() for p in model.parameters())

    # flatmin: lambda_top to the residual target (tighter Spectra tolerance until reached, as flatmin-bench-hessian)
    ours = {}
    hvps = secs = 0.0
    top = None
    for tol in [args.residual, args.residual / 10, args.residual / 100]:
        top = flatmin_run(args, work, f"top_{tol:g}", ["--top-k", "1", "--eig-tol", repr(tol), "--ncv", "12"])
        hvps, secs = hvps + top["hvp_count"], secs + top["seconds"]
        pair = top["top_eigenvalues"][0] if top["top_eigenvalues"] else None
        if pair and pair["residual"] is not None and pair["residual"] <= args.residual or top["status"] != "ok":
            break  # reached, or out of its time budget
    pair = top["top_eigenvalues"][0] if top["top_eigenvalues"] else {"value": None, "residual": None}
    ours["lambda_top_to_residual"] = {"eigenvalue": pair["value"], "residual": pair["residual"], "hvps": hvps,
                                      "status": top["status"],
                                      "seconds": secs, "target": args.residual,
                                      "reached": pair["residual"] is not None and pair["residual"] <= args.residual}
    tr = flatmin_run(args, work, "trace", ["--top-k", "0", "--trace", "--trace-min-samples", "10",
                                           "--trace-max-samples", str(args.trace_samples)])
    ours["trace"] = {"estimate": tr["trace"]["estimate"], "stderr": tr["trace"]["stderr"], "n": tr["trace"]["n"],
                     "hvps": tr["hvp_count"], "seconds": tr["seconds"], "status": tr["status"]}
    de = flatmin_run(args, work, "density", ["--top-k", "0", "--density", "--slq-steps", str(args.slq_steps),
                                             "--slq-runs", "1"])
    ours["density"] = {"steps": args.slq_steps, "runs": 1, "hvps": de["hvp_count"], "seconds": de["seconds"],
                       "slq_trace_estimate": (de.get("esd") or {}).get("slq_trace_estimate"), "status": de["status"]}

    # PyHessian's algorithm on the same device, same dtype
    pm = model.to(device)
    xs, ys = x.to(device), y.to(device)
    if args.dtype == "float64":
        pm, xs = pm.double(), xs.double()
    py = pyhessian_side(pm, xs, ys, args, device)

    def ratio(a, b):
        return a / b if a is not None and b else None

    lam_ours, lam_py = ours["lambda_top_to_residual"], py["lambda_top_to_residual"]
    ratios = {
        "lambda_top_hvps_flatmin_over_pyhessian_power": ratio(lam_ours["hvps"], lam_py["hvps"]),
        "lambda_top_seconds_flatmin_over_pyhessian_power": ratio(lam_ours["seconds"], lam_py["seconds"]),
        "lambda_top_seconds_flatmin_over_pyhessian_defaults": ratio(lam_ours["seconds"], py["lambda_top_defaults"]["seconds"]),
        "trace_seconds_per_hvp_flatmin_over_pyhessian": ratio(ours["trace"]["seconds"] / max(ours["trace"]["hvps"], 1),
                                                              py["trace"]["seconds"] / max(py["trace"]["hvps"], 1)),
        "density_seconds_flatmin_over_pyhessian": ratio(ours["density"]["seconds"], py["density"].get("seconds")),
        "lambda_top_rel_diff": abs(lam_ours["eigenvalue"] - lam_py["eigenvalue"]) / abs(lam_ours["eigenvalue"])
        if lam_ours["eigenvalue"] else None,
    }
    out = {"benchmark": "bench/gpu_hessian_bench.py", "device": str(device), "torch": torch.__version__,
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "dtype": args.dtype,
           "model": "CIFAR ResNet18 (kuangliu)" + (" widths/16, 8x8 images" if args.tiny else ""), "n_params": n_params,
           "n_samples": args.n, "data": args.data or "seeded N(0,1) images, seeded labels",
           "train_steps": args.train_steps, "budget_seconds": args.budget_seconds, "flatmin": ours, "pyhessian": py, "ratios": ratios}
    def e(x):
        return f"{x:.1e}" if isinstance(x, (int, float)) else "-"

    print(f"gpu_hessian_bench: ResNet18 {n_params} params, {args.n} images, {args.dtype} on {device}")
    print(f"  lambda_top to residual {args.residual:g}: flatmin {lam_ours['hvps']:.0f} HVPs {lam_ours['seconds']:.2f} s "
          f"(res {e(lam_ours['residual'])}); PyHessian power {lam_py['hvps']} HVPs {lam_py['seconds']:.2f} s "
          f"(res {e(lam_py['residual'])}); defaults {py['lambda_top_defaults']['hvps']} HVPs "
          f"{py['lambda_top_defaults']['seconds']:.2f} s")
    print(f"  trace: flatmin {ours['trace']['hvps']} HVPs {ours['trace']['seconds']:.2f} s; "
          f"PyHessian {py['trace']['hvps']} HVPs {py['trace']['seconds']:.2f} s")
    print(f"  density: flatmin {ours['density']['hvps']} HVPs {ours['density']['seconds']:.2f} s; "
          f"PyHessian {py['density'].get('hvps')} HVPs {py['density'].get('seconds')} s")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".tmp", "w") as f:
            json.dump(out, f, indent=1)
        os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"gpu_hessian_bench: failed: {e}", file=sys.stderr)
        sys.exit(1)
