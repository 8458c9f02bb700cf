"""Issue 13 item 3 (ctest `cuda_python`, label `cuda`): the Python package's optimizers step on CUDA
tensors and equal the same optimizer on CPU tensors (the fused CPU kernels) over 50 steps, float32
<= 1e-6 and float64 <= 1e-12 relative (max |a - b| / (|b| + 1)); the state stays on the device and a
state_dict round trip continues bit-identically there. Skipped when torch.cuda.is_available() is False;
FLATMIN_TEST_DEVICE=cpu runs the same comparisons with the "device" on the CPU."""
import os

import pytest
import torch

fo = pytest.importorskip("flatmin.optim", reason="the flatmin Python package is not built/importable")

DEVICE = os.environ.get("FLATMIN_TEST_DEVICE", "cuda")
if torch.device(DEVICE).type == "cuda" and not torch.cuda.is_available():
    pytest.skip("no CUDA device (FLATMIN_TEST_DEVICE=cpu runs these comparisons on the CPU)", allow_module_level=True)

STEPS = 50
TOL = {torch.float32: 1e-6, torch.float64: 1e-12}
# Options that make each optimizer move and reach MIAdam's and SWATS' switches (tests/python/test_optim.py).
EXTRA = {
    "miadam": {"kappa": 0.9, "switch_epoch": 3, "order": 2},
    "miadam1": {"kappa": 0.9, "switch_epoch": 3}, "miadam2": {"kappa": 0.9, "switch_epoch": 3},
    "miadam3": {"kappa": 0.9, "switch_epoch": 3},
    "adam_cm": {"topC": 3, "critical_test": 0.3, "seed": 4}, "adam_cg": {"topC": 3},
    "sgd": {"momentum": 0.9}, "ndadam": {"vec_axes": [0]},
}


def options(name):
    lr = 0.1 if name.startswith("adai") else 0.01
    return {"lr": lr, **EXTRA.get(name, {})}


def start(dtype):
    g = torch.Generator().manual_seed(3)
    return [torch.randn(4099, generator=g, dtype=dtype), torch.randn(17, 3, generator=g, dtype=dtype)]


def grad_of(theta_cpu, i, t):
    return torch.sin(theta_cpu * (1.0 + 0.1 * i) + 0.3 * t) + 0.05 * theta_cpu


def step(opt, params, t, epoch_len=4):
    opt.set_epoch(1 + (t - 1) // epoch_len)
    for i, p in enumerate(params):
        p.grad = grad_of(p.detach().cpu(), i, t).to(p.device)
    opt.step()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", fo.names())
def test_steps_on_device_equal_cpu(name, dtype):
    cpu = [p.clone().requires_grad_(True) for p in start(dtype)]
    dev = [p.clone().to(DEVICE).requires_grad_(True) for p in start(dtype)]
    a, b = fo.create(name, cpu, **options(name)), fo.create(name, dev, **options(name))
    for t in range(1, STEPS + 1):
        step(a, cpu, t)
        step(b, dev, t)
    for i, (x, y) in enumerate(zip(dev, cpu)):
        assert x.device == torch.device(DEVICE) or x.device.type == torch.device(DEVICE).type
        d = ((x.detach().cpu() - y.detach()).abs() / (y.detach().abs() + 1)).max().item()
        assert d <= TOL[dtype], f"{name} {dtype} parameter {i}: {d}"
        assert not torch.equal(y.detach(), start(dtype)[i]), f"{name} did not move"
    # state on the device; a state_dict round trip continues bit-identically there
    for st in b.state_dict()["state"].values():
        for v in st.values():
            if torch.is_tensor(v) and v.numel() > 1:
                assert v.device.type == torch.device(DEVICE).type, name
    again = [p.detach().clone().requires_grad_(True) for p in dev]
    c = fo.create(name, again, **options(name))
    c.load_state_dict(b.state_dict())
    step(b, dev, STEPS + 1)
    step(c, again, STEPS + 1)
    for x, y in zip(dev, again):
        assert torch.equal(x.detach(), y.detach()), name
