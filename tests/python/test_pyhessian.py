"""flatmin.pyhessian, PyHessian's API: default mode equal to `flatmin hessian --compat pyhessian`
(eigenvalues, trace samples, SLQ nodes/weights, one RNG stream across calls) and to the Python
restatement of PyHessian (eigenvectors included); accurate=True exact on analytic oracles; data
loader mode; bad input."""
import csv
import json
import os
import sys
import warnings

import pytest
import torch

from flatmin.pyhessian import hessian

from conftest import run_cli

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "data", "pyhessian")
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import pyhessian_reference as ref  # noqa: E402  (PyHessian restated, bench/pyhessian_reference.py)


def fixture64():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = torch.jit.load(os.path.join(FIX, "mlp_bn.pt"))
    d = torch.load(os.path.join(FIX, "mlp_bn_data.pt"))
    model.to(torch.float64)
    return model, d["x"].double(), d["y"]


def tanh_mlp(seed=0):
    """A plain nn.Module with its exact Hessian (torch.autograd.functional.hessian), float64."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    params = list(model.parameters())
    shapes = [p.shape for p in params]

    def loss_of(flat):
        ws, i = [], 0
        for s in shapes:
            n = s.numel()
            ws.append(flat[i:i + n].view(s))
            i += n
        h = torch.tanh(x @ ws[0].T + ws[1])
        return torch.nn.functional.mse_loss(h @ ws[2].T + ws[3], y)

    flat = torch.cat([p.detach().reshape(-1) for p in params])
    return model, x, y, torch.autograd.functional.hessian(loss_of, flat)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def test_default_mode_equals_the_cli_compat_run(flatmin_bin, tmp_path):
    model, x, y = fixture64()
    torch.manual_seed(1)
    h = hessian(model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    evals, evecs = h.eigenvalues(top_n=2)
    trace = h.trace()
    nodes, weights = h.density()

    out = tmp_path / "run"
    run_cli(flatmin_bin, "flatmin", "--threads", 1, "hessian", "--model", os.path.join(FIX, "mlp_bn.pt"), "--data",
            os.path.join(FIX, "mlp_bn_data.pt"), "--loss", "cross_entropy", "--dtype", "float64", "--compat",
            "pyhessian", "--seed", 1, "--top-k", 2, "--trace", "--density", "--out", out)
    with open(out / "summary.json") as f:
        cli = json.load(f)
    with open(out / "slq_nodes.csv") as f:
        rows = list(csv.DictReader(f))

    assert len(evals) == 2 and len(evecs) == 2
    for ours, theirs in zip(evals, cli["top_eigenvalues"]):
        assert rel(ours, theirs["value"]) <= 1e-12
    assert len(trace) == len(cli["trace"]["samples"]) == cli["trace"]["n"]
    for ours, theirs in zip(trace, cli["trace"]["samples"]):
        assert abs(ours - theirs) <= 1e-12 * max(abs(t) for t in trace)
    assert len(nodes) == len(weights) == 1 and len(nodes[0]) == len(rows)
    scale = max(abs(v) for v in nodes[0])
    for k, r in enumerate(rows):
        assert abs(nodes[0][k] - float(r["node"])) <= 1e-12 * scale
        assert abs(weights[0][k] - float(r["weight"])) <= 1e-12
    assert h.hvp_count == cli["hvp_count"]
    assert not model.training  # PyHessian leaves the model in eval mode


def test_default_mode_equals_pyhessian_restated():
    """Against PyHessian's algorithm written in Python (bench/pyhessian_reference.py), same seed:
    eigenvalues, eigenvectors as PyHessian returns them, trace samples, density nodes and weights."""
    model, x, y, _ = tanh_mlp()
    crit = torch.nn.MSELoss()
    torch.manual_seed(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyHessian's backward(create_graph=True) warns about a reference cycle
        r = ref.hessian(model, crit, data=(x, y), cuda=False)
    r_evals, r_evecs = r.eigenvalues(top_n=2)
    r_trace = r.trace()
    r_nodes, r_weights = r.density(iter=10)
    for p in model.parameters():
        p.grad = None

    torch.manual_seed(7)
    h = hessian(model, crit, data=(x, y), cuda=False)
    evals, evecs = h.eigenvalues(top_n=2)
    trace = h.trace()
    nodes, weights = h.density(iter=10)

    assert len(evals) == len(r_evals) == 2
    for a, b in zip(evals, r_evals):
        assert rel(a, b) <= 1e-10
    params = list(model.parameters())
    for vs, rvs in zip(evecs, r_evecs):
        assert len(vs) == len(params)
        for v, rv, p in zip(vs, rvs, params):
            assert v.shape == p.shape and v.dtype == p.dtype
            assert torch.allclose(v, rv, rtol=0, atol=1e-9)
    assert len(trace) == len(r_trace)
    assert max(abs(a - b) for a, b in zip(trace, r_trace)) <= 1e-10 * max(abs(t) for t in r_trace)
    pairs = sorted(zip(r_nodes[0], r_weights[0]))
    for k, (node, w) in enumerate(pairs):
        assert abs(nodes[0][k] - node) <= 1e-9 * max(abs(n) for n in nodes[0])
        assert abs(weights[0][k] - w) <= 1e-9


def test_accurate_mode_is_exact():
    model, x, y, H = tanh_mlp()
    exact, vecs = torch.linalg.eigh(H)
    h = hessian(model, torch.nn.MSELoss(), data=(x, y), cuda=False, accurate=True)
    evals, evecs = h.eigenvalues(top_n=3)
    for ours, e in zip(evals, exact.flip(0)[:3].tolist()):
        assert abs(ours - e) <= 1e-10 * exact.abs().max().item()
    assert max(h.result.residuals) <= 1e-6 and h.result.converged
    for lam, vs in zip(evals, evecs):  # the eigenvectors against the exact Hessian
        v = torch.cat([t.reshape(-1) for t in vs])
        assert (H @ v - lam * v).norm().item() / abs(lam) <= 1e-6
    samples = h.trace(maxIter=500)
    assert abs(sum(samples) / len(samples) - H.trace().item()) <= 4 * h.result.trace_stderr
    nodes, weights = h.density(iter=H.shape[0], n_v=2)
    assert len(nodes) == 2  # full-length Lanczos with reorthogonalisation: the nodes are the spectrum
    for run in nodes:
        assert max(abs(a - b) for a, b in zip(run, exact.tolist())) <= 1e-8 * exact.abs().max().item()


def test_accurate_mode_on_the_fixture_oracle():
    """The committed fixture's exact top eigenvalues (compat_reference.json): PyHessian's defaults are
    off by ~0.1 %, accurate=True is exact."""
    with open(os.path.join(FIX, "compat_reference.json")) as f:
        exact = json.load(f)["exact"]["top"]
    model, x, y = fixture64()
    h = hessian(model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=False, accurate=True)
    evals, _ = h.eigenvalues(top_n=2)
    for ours, e in zip(evals, exact):
        assert rel(ours, e) <= 1e-9
    torch.manual_seed(1)
    compat, _ = hessian(model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=False).eigenvalues(top_n=1)
    assert 1e-5 < rel(compat[0], exact[0]) < 1e-2


def test_dataloader_mode_equals_data_mode():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).double()
    x, y = torch.randn(24, 5, dtype=torch.float64), torch.randint(0, 3, (24,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=10)  # ragged: 10, 10, 4
    crit = torch.nn.CrossEntropyLoss()
    from_loader = hessian(model, crit, dataloader=loader, cuda=False)  # iterating a DataLoader draws its base seed
    from_data = hessian(model, crit, data=(x, y), cuda=False)
    torch.manual_seed(3)
    a, _ = from_loader.eigenvalues(top_n=2)
    torch.manual_seed(3)
    b, _ = from_data.eigenvalues(top_n=2)
    assert from_loader.result.to_json()["data"]["n_batches"] == 3
    for u, v in zip(a, b):
        assert rel(u, v) <= 1e-10


def test_bad_input():
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
    ce = torch.nn.CrossEntropyLoss()
    with pytest.raises(TypeError, match="not supported"):
        hessian(model, torch.nn.NLLLoss(), data=(x, y))
    with pytest.raises(ValueError, match="exactly one"):
        hessian(model, ce)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        hessian(lambda t: t, ce, data=(x, y))
    with pytest.raises(TypeError, match="pair"):
        hessian(model, ce, data=x)
    with pytest.raises(ValueError, match="reduction='sum'"):
        hessian(model, torch.nn.CrossEntropyLoss(reduction="sum"), dataloader=[(x, y)])
    h = hessian(model, ce, data=(x, y), cuda=False)
    with pytest.raises(ValueError, match="top_n = 0 must be >= 1"):
        h.eigenvalues(top_n=0)
    with pytest.raises(TypeError, match="top_n must be an integer"):
        h.eigenvalues(top_n=1.5)
    with pytest.raises(ValueError, match="exceeds the number of parameters"):
        h.eigenvalues(top_n=9)
    with pytest.raises(ValueError, match="maxIter"):
        h.trace(maxIter=0)
    with pytest.raises(ValueError, match="tol"):
        h.trace(tol=-1.0)
    with pytest.raises(ValueError, match="n_v"):
        h.density(n_v=0)
    with pytest.raises(ValueError) as e:
        hessian(model, ce, data=(x, torch.tensor([0, 1, 2, 5])), cuda=False).trace()
    assert "labels out of range" in str(e.value) and "Exception raised from" not in str(e.value)
    assert "\n" not in str(e.value)
