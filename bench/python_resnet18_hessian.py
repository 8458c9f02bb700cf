#!/usr/bin/python3
"""flatmin.hessian.spectrum on a torchvision ResNet18 (random init, seed fixed, num_classes=10) at 32
Fashion-MNIST images padded to 32x32 and repeated to 3 channels, eval mode, no scripting: top-3
eigenvalues with true relative residuals, HVP count and wall time; beside PyHessian's algorithm
(flatmin.pyhessian default mode: power iteration with deflation, top_n=3, maxIter 100, tol 1e-3) on
the same model in the same process. docs/benchmarks.md has a measured run.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_resnet18_hessian.py --threads 2 --out r.json

--dtype float64 (default) casts the model and data: relative residuals <= 1e-6 are then meaningful
(float32 HVPs carry ~1e-7 relative rounding). --trace adds flatmin's Hutchinson trace (costly here).
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torchvision

import flatmin
from flatmin.pyhessian import hessian


def fashion_mnist(n):
    env = os.environ.get("FLATMIN_DATA_DIR")
    for d in ([os.path.join(env, "fashion-mnist"), env] if env else []) + ["/usr/share/datasets/fashion-mnist"]:
        if os.path.exists(os.path.join(d, "train-labels-idx1-ubyte.gz")):
            break
    else:
        raise SystemExit("Fashion-MNIST not found: install dataset-fashion-mnist or set FLATMIN_DATA_DIR")

    def idx(name):
        with gzip.open(os.path.join(d, name + ".gz"), "rb") as f:
            raw = f.read()
        dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)[:n]

    x = torch.tensor(idx("train-images-idx3-ubyte"), dtype=torch.float32).unsqueeze(1) / 255.0
    x = torch.nn.functional.pad((x - 0.2860) / 0.3530, (2, 2, 2, 2)).repeat(1, 3, 1, 1)  # [n, 3, 32, 32]
    return x, torch.tensor(idx("train-labels-idx1-ubyte"), dtype=torch.int64)


def resnet18(seed):
    torch.manual_seed(seed)
    try:
        return torchvision.models.resnet18(weights=None, num_classes=10)
    except TypeError:  # torchvision < 0.13
        return torchvision.models.resnet18(pretrained=False, num_classes=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--trace", action="store_true")
    ap.add_argument("--skip-pyhessian", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model = resnet18(args.seed).to(dtype).eval()
    x, y = fashion_mnist(args.n)
    x = x.to(dtype)
    crit = torch.nn.CrossEntropyLoss()
    n_params = sum(p.numel() for p in model.parameters())
    out = {"model": "torchvision resnet18 (random init, num_classes=10)", "n_params": n_params,
           "n_samples": args.n, "dtype": args.dtype, "threads": args.threads, "seed": args.seed,
           "torch": torch.__version__, "torchvision": torchvision.__version__}

    t = time.perf_counter()
    r = flatmin.hessian.spectrum(model, crit, data=(x, y), top_k=3, trace=args.trace, seed=args.seed,
                                 progress=True)
    out["flatmin_accurate"] = {"eigenvalues": r.eigenvalues, "residuals": r.residuals, "hvps": r.hvp_count,
                               "seconds": time.perf_counter() - t, "status": r.status,
                               "solver": r.to_json()["solver"], "trace": r.trace, "trace_stderr": r.trace_stderr}
    print(json.dumps(out["flatmin_accurate"], indent=1), flush=True)

    if not args.skip_pyhessian:
        torch.manual_seed(args.seed)
        h = hessian(model, crit, data=(x, y), cuda=False, progress=True)
        t = time.perf_counter()
        ev, _ = h.eigenvalues(top_n=3)
        out["pyhessian_compat"] = {"eigenvalues": ev, "residuals_last_iterate": h.result.residuals,
                                   "hvps": h.hvp_count, "seconds": time.perf_counter() - t,
                                   "iterations": h.result.to_json()["solver"]["iterations"], "status": h.result.status}
        out["pyhessian_relative_error"] = [abs(a - b) / abs(b) for a, b in zip(ev, r.eigenvalues)]
        print(json.dumps(out["pyhessian_compat"], indent=1), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
