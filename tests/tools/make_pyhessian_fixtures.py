#!/usr/bin/python3
"""Generates tests/data/pyhessian/* (committed). Run from the repo root with Debian's torch 1.13:
    /usr/bin/python3 tests/tools/make_pyhessian_fixtures.py
Files:
  mlp_bn.pt            TorchScript tanh MLP 5→12→BN(eval)→tanh→3 (135 parameters), float32
  mlp_bn_data.pt       {"x": float32 [32,5], "y": int64 [32] in 0..2}
  mlp_bn_hessian.pt    {"H": float64 [135,135]}: explicit Hessian of mean cross-entropy in eval mode,
                       from torch.autograd.functional.hessian over a functional_call of the eager
                       module in float64 (an independent path from flatmin's TorchScript HVPs)
  bad_labels_data.pt / bad_shape_data.pt   invalid inputs for the CLI error tests
  compat_reference.json  "exact": eigvalsh/trace of H; PyHessian's algorithm (bench/pyhessian_reference.py) on that model and data,
                       seed 1, single-batch mode: eigenvalues(top_n=2), trace(), density(), and
                       density_generate() sampled every 500 grid points — in float64 and float32.
"""
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import pyhessian_reference as ph  # noqa: E402

OUT = os.path.join(ROOT, "tests", "data", "pyhessian")


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(5, 12)
        self.bn = torch.nn.BatchNorm1d(12)
        self.fc2 = torch.nn.Linear(12, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.bn(self.fc1(x))))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(32, 5)
    y = torch.randint(0, 3, (32,))
    with torch.no_grad():  # non-trivial BN affine parameters and running statistics
        model.bn.weight.uniform_(0.5, 1.5)
        model.bn.bias.uniform_(-0.3, 0.3)
        model.fc2.weight.mul_(3.0)
    model.train()
    for _ in range(5):
        model(torch.randn(64, 5) * 1.5 + 0.2)
    model.eval()
    torch.jit.save(torch.jit.script(model), os.path.join(OUT, "mlp_bn.pt"))
    torch.save({"x": x, "y": y}, os.path.join(OUT, "mlp_bn_data.pt"))

    # Explicit float64 Hessian via functional_call (eval mode).
    m64 = MLP()
    m64.load_state_dict(model.state_dict())
    m64 = m64.double().eval()
    names = [n for n, _ in m64.named_parameters()]
    shapes = [p.shape for _, p in m64.named_parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for _, p in m64.named_parameters()])
    x64 = x.double()

    def f(flat):
        d, off = {}, 0
        for n, s in zip(names, shapes):
            k = int(torch.tensor(s).prod().item()) if len(s) else 1
            d[n] = flat[off:off + k].view(s)
            off += k
        out = torch.nn.utils.stateless.functional_call(m64, d, (x64,))
        return torch.nn.functional.cross_entropy(out, y)

    H = torch.autograd.functional.hessian(f, flat0)
    # two keys: LibTorch 1.13's unpickler lacks SETITEM, which Python uses for one-key dicts
    torch.save({"H": H.contiguous(), "n": torch.tensor(H.shape[0])}, os.path.join(OUT, "mlp_bn_hessian.pt"))

    torch.save({"x": x, "y": y + 3}, os.path.join(OUT, "bad_labels_data.pt"))
    torch.save({"x": torch.randn(32, 7), "y": y}, os.path.join(OUT, "bad_shape_data.pt"))
    evals = torch.linalg.eigvalsh(H)
    ref = {"seed": 1, "n_params": int(flat0.numel()), "n_samples": 32, "loss": "cross_entropy",
           "exact": {"top": [float(evals[-1]), float(evals[-2])], "min": float(evals[0]), "trace": float(H.trace())}}
    for dtype in ("float64", "float32"):
        mdl, xx, yy = ph.load(os.path.join(OUT, "mlp_bn.pt"), os.path.join(OUT, "mlp_bn_data.pt"), dtype)
        crit = torch.nn.CrossEntropyLoss()
        torch.manual_seed(1)
        H_ = ph.hessian(mdl, crit, data=(xx, yy))
        ev, _ = H_.eigenvalues(top_n=2)
        iters = list(H_.iterations)
        tr = H_.trace()
        nodes, weights = H_.density()
        pairs = sorted(zip(nodes[0], weights[0]))
        dens, grid = ph.density_generate(nodes, weights)
        ref[dtype] = {
            "eigenvalues": [float(e) for e in ev], "iterations": iters,
            "trace_samples": [float(t) for t in tr],
            "nodes": [float(a) for a, _ in pairs], "weights": [float(b) for _, b in pairs],
            "density_every_500": [float(d) for d in dens[::500]],
            "grid_min": float(grid[0]), "grid_max": float(grid[-1]),
            "hvp_count": H_.hvp_count,
        }
        print(dtype, ev, iters, len(tr), H_.hvp_count)
    with open(os.path.join(OUT, "compat_reference.json"), "w") as fh:
        json.dump(ref, fh, indent=1)
    print("exact top eigenvalues", torch.linalg.eigvalsh(H)[-2:].tolist(), "trace", float(H.trace()))


if __name__ == "__main__":
    main()
