#!/usr/bin/python3
"""PyHessian's algorithm restated from ../shared/spec/hessian.md §2 (amirgholami/PyHessian@de8cf239,
pyhessian/hessian.py, pyhessian/utils.py, density_plot.py). PyHessian's code is not copied here;
this is a step-by-step restatement used (a) to generate the committed compat fixture
(tests/tools/make_pyhessian_fixtures.py) and (b) as the Python side of bench/hessian_bench.

Only deliberate difference: start vectors `torch.randn(p.size())` are cast to the parameter dtype
(`.to(p.dtype)`), so a float64 model runs in float64 throughout; for float32 models this is a no-op.

Run with Debian's /usr/bin/python3 (torch 1.13).  Bench mode:
  pyhessian_reference.py bench --model M.pt --data D.pt --threads 2 --residual 1e-6 --out R.json
"""
import argparse
import json
import sys
import time

try:  # density() and the fixtures need numpy; the HVP/eigenvalue/trace parts run without it
    import numpy as np
except ImportError:  # pragma: no cover - e.g. a pip torch environment without numpy
    np = None
import torch


# ----------------------------------------------------------------------------- utils.py
def group_product(xs, ys):
    return sum([torch.sum(x * y) for (x, y) in zip(xs, ys)])


def group_add(params, update, alpha=1):
    for i, p in enumerate(params):
        params[i].data.add_(update[i] * alpha)
    return params


def normalization(v):
    s = group_product(v, v)
    s = s ** 0.5
    s = s.cpu().item()
    v = [vi / (s + 1e-6) for vi in v]
    return v


def get_params_grad(model):
    params, grads = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        params.append(param)
        grads.append(0. if param.grad is None else param.grad + 0.)
    return params, grads


def hessian_vector_product(gradsH, params, v):
    return torch.autograd.grad(gradsH, params, grad_outputs=v, only_inputs=True, retain_graph=True)


def orthnormal(w, v_list):
    for v in v_list:
        w = group_add(w, v, alpha=-group_product(w, v))
    return normalization(w)


# --------------------------------------------------------------------------- hessian.py
class hessian:
    def __init__(self, model, criterion, data=None, dataloader=None, cuda=False):
        assert (data is not None and dataloader is None) or (data is None and dataloader is not None)
        self.model = model.eval()
        self.criterion = criterion
        self.hvp_count = 0
        if data is not None:
            self.data = data
            self.full_dataset = False
        else:
            self.data = dataloader
            self.full_dataset = True
        self.device = 'cuda' if cuda else 'cpu'
        if not self.full_dataset:
            self.inputs, self.targets = self.data
            outputs = self.model(self.inputs)
            loss = self.criterion(outputs, self.targets)
            loss.backward(create_graph=True)
        params, gradsH = get_params_grad(self.model)
        self.params = params
        self.gradsH = gradsH

    def hv(self, v):
        self.hvp_count += 1
        if self.full_dataset:
            return self.dataloader_hv_product(v)
        Hv = hessian_vector_product(self.gradsH, self.params, v)
        return group_product(Hv, v).cpu().item(), Hv

    def dataloader_hv_product(self, v):
        device = self.device
        num_data = 0
        THv = [torch.zeros(p.size(), dtype=p.dtype).to(device) for p in self.params]
        for inputs, targets in self.data:
            self.model.zero_grad()
            tmp_num_data = inputs.size(0)
            outputs = self.model(inputs.to(device))
            loss = self.criterion(outputs, targets.to(device))
            loss.backward(create_graph=True)
            params, gradsH = get_params_grad(self.model)
            self.model.zero_grad()
            Hv = torch.autograd.grad(gradsH, params, grad_outputs=v, only_inputs=True, retain_graph=False)
            THv = [THv1 + Hv1 * float(tmp_num_data) + 0. for THv1, Hv1 in zip(THv, Hv)]
            num_data += float(tmp_num_data)
        THv = [THv1 / float(num_data) for THv1 in THv]
        eigenvalue = group_product(THv, v).cpu().item()
        return eigenvalue, THv

    def eigenvalues(self, maxIter=100, tol=1e-3, top_n=1):
        assert top_n >= 1
        device = self.device
        eigenvalues, eigenvectors = [], []
        computed_dim = 0
        self.iterations = []
        while computed_dim < top_n:
            eigenvalue = None
            v = [torch.randn(p.size()).to(device).to(p.dtype) for p in self.params]
            v = normalization(v)
            it = 0
            for i in range(maxIter):
                v = orthnormal(v, eigenvectors)
                self.model.zero_grad()
                tmp_eigenvalue, Hv = self.hv(v)
                it += 1
                v = normalization(Hv)
                if eigenvalue is None:
                    eigenvalue = tmp_eigenvalue
                else:
                    if abs(eigenvalue - tmp_eigenvalue) / (abs(eigenvalue) + 1e-6) < tol:
                        break
                    else:
                        eigenvalue = tmp_eigenvalue
            eigenvalues.append(eigenvalue)
            eigenvectors.append(v)
            self.iterations.append(it)
            computed_dim += 1
        return eigenvalues, eigenvectors

    def trace(self, maxIter=100, tol=1e-3):
        device = self.device
        trace_vhv = []
        trace = 0.
        for i in range(maxIter):
            self.model.zero_grad()
            v = [torch.randint_like(p, high=2, device=device) for p in self.params]
            for v_i in v:
                v_i[v_i == 0] = -1
            _, Hv = self.hv(v)
            trace_vhv.append(group_product(Hv, v).cpu().item())
            if abs(np.mean(trace_vhv) - trace) / (abs(trace) + 1e-6) < tol:
                return trace_vhv
            else:
                trace = np.mean(trace_vhv)
        return trace_vhv

    def density(self, iter=100, n_v=1):
        device = self.device
        eigen_list_full, weight_list_full = [], []
        for k in range(n_v):
            v = [torch.randint_like(p, high=2, device=device) for p in self.params]
            for v_i in v:
                v_i[v_i == 0] = -1
            v = normalization(v)
            v_list = [v]
            alpha_list, beta_list = [], []
            for i in range(iter):
                self.model.zero_grad()
                if i == 0:
                    _, w_prime = self.hv(v)
                    w_prime = list(w_prime)
                    alpha = group_product(w_prime, v)
                    alpha_list.append(alpha.cpu().item())
                    w = group_add(w_prime, v, alpha=-alpha)
                else:
                    beta = torch.sqrt(group_product(w, w))
                    beta_list.append(beta.cpu().item())
                    if beta_list[-1] != 0.:
                        v = orthnormal(w, v_list)
                        v_list.append(v)
                    else:
                        w = [torch.randn(p.size()).to(device).to(p.dtype) for p in self.params]
                        v = orthnormal(w, v_list)
                        v_list.append(v)
                    _, w_prime = self.hv(v)
                    w_prime = list(w_prime)
                    alpha = group_product(w_prime, v)
                    alpha_list.append(alpha.cpu().item())
                    w_tmp = group_add(w_prime, v, alpha=-alpha)
                    w = group_add(w_tmp, v_list[-2], alpha=-beta)
            T = torch.zeros(iter, iter, dtype=self.params[0].dtype).to(device)
            for i in range(len(alpha_list)):
                T[i, i] = alpha_list[i]
                if i < len(alpha_list) - 1:
                    T[i + 1, i] = beta_list[i]
                    T[i, i + 1] = beta_list[i]
            a_, b_ = torch.linalg.eig(T)
            eigen_list = a_.real
            weight_list = (b_[0, :] ** 2).real
            eigen_list_full.append(list(eigen_list.cpu().numpy()))
            weight_list_full.append(list(weight_list.cpu().numpy()))
        return eigen_list_full, weight_list_full


# ---------------------------------------------------------------------- density_plot.py
def gaussian(x, x0, sigma_squared):
    return np.exp(-(x0 - x) ** 2 / (2.0 * sigma_squared)) / np.sqrt(2 * np.pi * sigma_squared)


def density_generate(eigenvalues, weights, num_bins=10000, sigma_squared=1e-5, overhead=0.01):
    eigenvalues = np.array(eigenvalues)
    weights = np.array(weights)
    lambda_max = np.mean(np.max(eigenvalues, axis=1), axis=0) + overhead
    lambda_min = np.mean(np.min(eigenvalues, axis=1), axis=0) - overhead
    grids = np.linspace(lambda_min, lambda_max, num=num_bins)
    sigma = sigma_squared * max(1, (lambda_max - lambda_min))
    num_runs = eigenvalues.shape[0]
    density_output = np.zeros((num_runs, num_bins))
    for i in range(num_runs):
        for j in range(num_bins):
            density_output[i, j] = np.sum(gaussian(eigenvalues[i, :], grids[j], sigma) * weights[i, :])
    density = np.mean(density_output, axis=0)
    normalization_ = np.sum(density) * (grids[1] - grids[0])
    return density / normalization_, grids


# ------------------------------------------------------------------------------ bench
class SmallCNN(torch.nn.Module):
    """conv5(1→8)-ReLU-pool2-conv5(8→16)-ReLU-pool2-fc(256→80)-ReLU-fc(80→10): 24 794 parameters."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 5)
        self.conv2 = torch.nn.Conv2d(8, 16, 5)
        self.fc1 = torch.nn.Linear(256, 80)
        self.fc2 = torch.nn.Linear(80, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def read_idx_gz(path):
    import gzip
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def make(args):
    """The benchmark checkpoint: SmallCNN trained briefly (SGD, 300 steps) on the first n
    Fashion-MNIST training images, saved as TorchScript + {"x","y"}."""
    import os
    torch.manual_seed(args.seed)
    imgs = read_idx_gz(os.path.join(args.fmnist, "train-images-idx3-ubyte.gz"))[:args.n]
    labels = read_idx_gz(os.path.join(args.fmnist, "train-labels-idx1-ubyte.gz"))[:args.n]
    x = torch.tensor(imgs, dtype=torch.float32).unsqueeze(1) / 255.0
    x = (x - 0.2860) / 0.3530
    y = torch.tensor(labels, dtype=torch.int64)
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(args.train_steps):
        idx = torch.randint(0, args.n, (64,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    os.makedirs(args.out, exist_ok=True)
    torch.jit.save(torch.jit.script(model), os.path.join(args.out, "cnn.pt"))
    torch.save({"x": x, "y": y}, os.path.join(args.out, "fmnist.pt"))
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"n_params": n, "n_samples": args.n,
                      "final_loss": float(torch.nn.functional.cross_entropy(model(x), y))}))

def load(model_path, data_path, dtype=None):
    model = torch.jit.load(model_path)
    data = torch.load(data_path)
    x, y = data["x"], data["y"]
    if dtype == "float64":
        model = model.double()
        x = x.double()
    return model, x, y


def bench(args):
    torch.set_num_threads(args.threads)
    model, x, y = load(args.model, args.data)
    model.eval()
    crit = torch.nn.CrossEntropyLoss()
    params = [p for p in model.parameters() if p.requires_grad]
    n = sum(p.numel() for p in params)

    def grad_once():
        loss = crit(model(x), y)
        torch.autograd.grad(loss, params)

    def fresh_hessian(**kw):
        # PyHessian's constructor calls loss.backward(create_graph=True), which ACCUMULATES into
        # p.grad: building a second object without clearing .grad silently doubles the Hessian.
        for p in params:
            p.grad = None
        return hessian(model, crit, **kw)

    torch.manual_seed(args.seed)
    H = fresh_hessian(data=(x, y))
    v = normalization([torch.randn(p.size()) for p in params])
    Hd = hessian(model, crit, dataloader=[(x, y)])  # dataloader mode: forward+backward+double backward per HVP

    def once(fn):
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    # Interleaved rounds, minimum per quantity (robust against load from other processes).
    t_grad = t_hvp = t_hvp_dl = float("inf")
    for r in range(args.reps + 1):  # round 0 is a warm-up
        a, b, c = once(grad_once), once(lambda: H.hv(v)), once(lambda: Hd.hv(v))
        if r:
            t_grad, t_hvp, t_hvp_dl = min(t_grad, a), min(t_hvp, b), min(t_hvp_dl, c)

    def residual_of(lam, vv):
        _, hv = H.hv(vv)
        r = [a - lam * b for a, b in zip(hv, vv)]
        return float(group_product(r, r).item() ** 0.5) / abs(lam)

    # PyHessian defaults: eigenvalues() = maxIter 100, tol 1e-3, top_n 1.
    torch.manual_seed(args.seed)
    H = fresh_hessian(data=(x, y))
    t = time.perf_counter()
    ev, evec = H.eigenvalues()
    t_def = time.perf_counter() - t
    hvps_def = H.hvp_count
    res_def = residual_of(ev[0], evec[0])

    # Power iteration run until its iterate reaches the target residual (exact unit vectors:
    # PyHessian's ‖v‖+1e-6 floors the residual near 2e-6). Residual of the current iterate is free.
    torch.manual_seed(args.seed)
    H = fresh_hessian(data=(x, y))
    vv = [torch.randn(p.size()) for p in params]
    s = float(group_product(vv, vv)) ** 0.5
    vv = [a / s for a in vv]
    hvps, lam, res = 0, 0.0, float("inf")
    t = time.perf_counter()
    while hvps < args.max_hvps:
        _, hv = H.hv(vv)
        hvps += 1
        lam = float(group_product(hv, vv))
        r = [a - lam * b for a, b in zip(hv, vv)]
        res = float(group_product(r, r)) ** 0.5 / abs(lam)
        if res <= args.residual:
            break
        s = float(group_product(hv, hv)) ** 0.5
        vv = [a / s for a in hv]
    t_pow = time.perf_counter() - t
    out = {
        "n_params": n, "n_samples": int(x.shape[0]), "threads": args.threads,
        "grad_seconds": t_grad, "hvp_seconds": t_hvp, "hvp_over_grad": t_hvp / t_grad,
        "hvp_dataloader_seconds": t_hvp_dl, "hvp_dataloader_over_grad": t_hvp_dl / t_grad,
        "defaults": {"eigenvalue": ev[0], "hvps": hvps_def, "seconds": t_def, "residual": res_def},
        "power_to_residual": {"eigenvalue": lam, "hvps": hvps, "seconds": t_pow, "residual": res,
                               "target": args.residual, "reached": res <= args.residual},
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--model", required=True)
    b.add_argument("--data", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--reps", type=int, default=10)
    b.add_argument("--residual", type=float, default=1e-6)
    b.add_argument("--max-hvps", type=int, default=3000)
    mk = sub.add_parser("make")
    mk.add_argument("--fmnist", default="/usr/share/datasets/fashion-mnist")
    mk.add_argument("--out", required=True)
    mk.add_argument("--n", type=int, default=512)
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--train-steps", type=int, default=300)
    args = ap.parse_args()
    if args.cmd == "bench":
        bench(args)
    else:
        make(args)


if __name__ == "__main__":
    sys.exit(main())
