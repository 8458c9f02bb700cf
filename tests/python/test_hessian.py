"""flatmin.hessian.spectrum on plain nn.Modules: equal to `flatmin hessian` on the committed fixture
(accurate and PyHessian-compat modes), exact on an analytic oracle, data loader mode, bad input."""
import json
import os
import warnings

import pytest
import torch

import flatmin

from conftest import run_cli

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "pyhessian")


def fixture():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = torch.jit.load(os.path.join(FIX, "mlp_bn.pt"))
    d = torch.load(os.path.join(FIX, "mlp_bn_data.pt"))
    return model, d["x"], d["y"]


def cli_summary(flatmin_bin, tmp_path, *args):
    out = tmp_path / "run"
    run_cli(flatmin_bin, "flatmin", "--threads", 1, "hessian", "--model", os.path.join(FIX, "mlp_bn.pt"), "--data",
            os.path.join(FIX, "mlp_bn_data.pt"), "--loss", "cross_entropy", "--out", out, *args)
    with open(out / "summary.json") as f:
        return json.load(f)


@pytest.mark.parametrize("compat,tol", [("accurate", 1e-10), ("pyhessian", 1e-12)])
def test_spectrum_equals_the_cli(compat, tol, flatmin_bin, tmp_path):
    model, x, y = fixture()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss(), data=(x, y), top_k=2, trace=True,
                                       dtype=torch.float64, compat=compat, progress=False)
    cli = cli_summary(flatmin_bin, tmp_path, "--top-k", 2, "--trace", "--dtype", "float64",
                      *([] if compat == "accurate" else ["--compat", compat]))
    assert len(res.eigenvalues) == 2
    for ours, theirs in zip(res.eigenvalues, [e["value"] for e in cli["top_eigenvalues"]]):
        assert abs(ours - theirs) <= tol * abs(theirs)
    assert abs(res.trace - cli["trace"]["estimate"]) <= tol * abs(cli["trace"]["estimate"])
    ours = res.to_json()
    for key in ("n_params", "n_samples", "hvp_count", "status"):
        assert ours[key] == cli[key]
    assert ours["model"]["parameters"] == cli["model"]["parameters"]


def test_plain_module_matches_the_exact_hessian():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    params = list(model.parameters())
    shapes = [p.shape for p in params]

    def loss_of(flat):
        out, i = x, 0
        ws = []
        for s in shapes:
            n = int(torch.tensor(s).prod())
            ws.append(flat[i:i + n].view(s))
            i += n
        h = torch.tanh(out @ ws[0].T + ws[1])
        return torch.nn.functional.mse_loss(h @ ws[2].T + ws[3], y)

    flat = torch.cat([p.detach().reshape(-1) for p in params])
    H = torch.autograd.functional.hessian(loss_of, flat)
    exact = torch.linalg.eigvalsh(H).flip(0)
    res = flatmin.hessian.spectrum(model, torch.nn.MSELoss(), data=(x, y), top_k=3, trace=False, progress=False)
    for ours, e in zip(res.eigenvalues, exact[:3].tolist()):
        assert abs(ours - e) <= 1e-10 * abs(exact[0].item())
    assert max(res.residuals) <= 1e-6
    assert model.training  # the caller's mode is restored


def test_dataloader_mode_equals_data_mode():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).double()
    x, y = torch.randn(24, 5, dtype=torch.float64), torch.randint(0, 3, (24,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    a = flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss(), dataloader=loader, top_k=2, trace=False,
                                 progress=False)
    b = flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss(), data=(x, y), top_k=2, trace=False,
                                 batch_size=8, progress=False)
    assert a.eigenvalues == b.eigenvalues
    assert a.to_json()["data"]["n_batches"] == 3


def test_bad_input():
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
    with pytest.raises(TypeError, match="not supported"):
        flatmin.hessian.spectrum(model, torch.nn.NLLLoss(), data=(x, y))
    with pytest.raises(ValueError, match="exactly one"):
        flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss())
    with pytest.raises(ValueError) as e:
        flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss(), data=(x, y), top_k=-1, progress=False)
    assert "top" in str(e.value) and "Exception raised from" not in str(e.value)

    class DictOut(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x):
            return {"logits": self.lin(x)}

    with pytest.raises(TypeError, match="must return a Tensor"):
        flatmin.hessian.spectrum(DictOut(), torch.nn.CrossEntropyLoss(), data=(x, y), progress=False)
    m64 = torch.nn.Linear(3, 2)
    flatmin.hessian.spectrum(m64, torch.nn.CrossEntropyLoss(), data=(x.double(), y), dtype=torch.float64,
                             top_k=1, trace=False, progress=False)
    assert m64.weight.dtype == torch.float32  # restored after the run


def test_hvp_budget_of_the_binding_equals_the_cli(flatmin_bin, tmp_path):
    """spectrum(max_hvps=N) is the CLI's --max-hvps: the same stop, status, HVP count and budget record."""
    model, x, y = fixture()
    with pytest.warns(RuntimeWarning):
        s = flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss(), data=(x, y), top_k=2, trace=True,
                                     dtype=torch.float64, progress=False, max_hvps=40).to_json()
    cli = cli_summary(flatmin_bin, tmp_path, "--top-k", 2, "--trace", "--dtype", "float64", "--max-hvps", 40)
    assert s["status"] == cli["status"] == "not_converged"
    assert s["hvp_count"] == cli["hvp_count"] <= 40
    assert s["budget"] == cli["budget"] == {"max_hvps": 40, "max_seconds": 7200.0, "exhausted": True}
    assert "budget exhausted" in s["message"] and s["message"] == cli["message"]
