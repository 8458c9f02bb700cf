"""flatmin.optim: every registry optimizer from Python against `flatmin optim-replay` (bit for bit),
torch.optim compatibility (isinstance, param_groups, schedulers, closures, state_dict) and bad input
(the CLI's messages as ValueError / TypeError, never a C++ backtrace)."""
import csv
import io
import math

import pytest
import torch

import flatmin
from flatmin import optim as fo

from conftest import run_cli, write_json

# Options that make each optimizer move within a few steps (and reach MIAdam's and SWATS' switches).
EXTRA = {
    "miadam": {"kappa": 0.9, "switch_epoch": 3, "order": 2},
    "miadam1": {"kappa": 0.9, "switch_epoch": 3}, "miadam2": {"kappa": 0.9, "switch_epoch": 3},
    "miadam3": {"kappa": 0.9, "switch_epoch": 3},
    "adam_cm": {"topC": 3, "critical_test": 0.3, "seed": 4}, "adam_cg": {"topC": 3},
    "sgd": {"momentum": 0.9}, "ndadam": {"vec_axes": [0]},
}
PARAMS = [[1.0, -2.0, 0.5], [0.3, 0.2], [0.7, -0.4, 1.1, 2.0]]
A = [[1.0, 2.0, 3.0], [0.5, 0.5], [4.0, 0.1, 1.0, 2.5]]
C = [[0.0, 0.0, 0.0], [1.0, 1.0], [0.5, 0.0, -0.5, 0.2]]


def spec_for(name, steps=12, steps_per_epoch=2):
    opts = {"lr": 0.01, **EXTRA.get(name, {})}
    return {"optimizer": name, "options": opts, "params": PARAMS,
            "groups": [{"params": [0, 2], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
            "steps": steps, "steps_per_epoch": steps_per_epoch, "quadratic": {"a": A, "c": C}}


def make_params():
    return [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in PARAMS]


def make_opt(spec, params):
    groups = [{"params": [params[i] for i in g["params"]], **g["options"]} for g in spec["groups"]]
    return fo.create(spec["optimizer"], groups, **spec["options"])


def run_steps(opt, params, t0, t1, steps_per_epoch):
    rows = []
    for t in range(t0, t1 + 1):
        opt.set_epoch(1 + (t - 1) // steps_per_epoch)
        for p, a, c in zip(params, A, C):
            p.grad = torch.tensor(a, dtype=torch.float64) * (p.detach() - torch.tensor(c, dtype=torch.float64))
        opt.step()
        rows.append([x for p in params for x in p.detach().tolist()])
    return rows


def replay_cli(flatmin_bin, tmp_path, spec):
    s = write_json(tmp_path / "spec.json", spec)
    run_cli(flatmin_bin, "flatmin", "optim-replay", "--spec", s, "--out", tmp_path / "t.csv")
    with open(tmp_path / "t.csv") as f:
        rows = list(csv.reader(f))
    return [[float(x) for x in r[1:]] for r in rows[2:]]  # header, step 0


@pytest.mark.parametrize("name", fo.names())
def test_every_optimizer_equals_the_cli_replay_bit_for_bit(name, flatmin_bin, tmp_path):
    spec = spec_for(name)
    params = make_params()
    opt = make_opt(spec, params)
    assert isinstance(opt, torch.optim.Optimizer)
    ours = run_steps(opt, params, 1, spec["steps"], spec["steps_per_epoch"])
    cli = replay_cli(flatmin_bin, tmp_path, spec)
    assert ours == cli  # exact: the same C++ step on the same float64 numbers
    assert ours[-1] != [x for p in PARAMS for x in p]  # it moved


@pytest.mark.parametrize("name", fo.names())
def test_state_dict_round_trip_through_torch_save_continues_bit_identically(name):
    spec = spec_for(name)
    full_p = make_params()
    full = make_opt(spec, full_p)
    uninterrupted = run_steps(full, full_p, 1, 10, 2)

    part_p = make_params()
    part = make_opt(spec, part_p)
    run_steps(part, part_p, 1, 5, 2)
    buf = io.BytesIO()
    torch.save({"params": [p.detach() for p in part_p], "opt": part.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf)
    resumed_p = [p.clone().requires_grad_(True) for p in saved["params"]]
    other = dict(spec, options={**spec["options"], "lr": 0.5})  # a fresh instance with other options
    resumed = make_opt(other, resumed_p)
    resumed.load_state_dict(saved["opt"])
    assert [g["lr"] for g in resumed.param_groups] == [g["lr"] for g in part.param_groups]
    assert resumed.epoch == part.epoch
    assert run_steps(resumed, resumed_p, 6, 10, 2) == uninterrupted[5:]


def test_state_dict_layout_is_torchs():
    params = make_params()
    opt = fo.MIAdam2(params, lr=0.01, kappa=0.9, switch_epoch=3)
    run_steps(opt, params, 1, 3, 2)
    sd = opt.state_dict()
    assert set(sd["state"]) == {0, 1, 2}
    assert sd["param_groups"][0]["params"] == [0, 1, 2]
    assert sd["param_groups"][0]["kappa"] == 0.9 and sd["param_groups"][0]["switch_epoch"] == 3
    s0 = sd["state"][0]
    assert s0["step"] == 3 and torch.is_tensor(s0["exp_avg"]) and s0["bufs/size"] == 2
    assert torch.is_tensor(s0["bufs/1"]) and s0["bufs/1"].shape == params[0].shape  # the κ-buffers


def test_multisteplr_reaches_the_next_cpp_step():
    def run(schedule, by_hand=False):
        torch.manual_seed(0)
        p = torch.randn(5, dtype=torch.float64, requires_grad=True)
        opt = fo.Adamax([p], lr=0.1)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, [3], 0.1) if schedule else None
        out = []
        for t in range(1, 7):
            p.grad = torch.cos(p.detach() * t)
            opt.step()
            if sched:
                sched.step()
            if by_hand and t == 3:
                opt.param_groups[0]["lr"] = 0.01
            out.append(p.detach().clone())
        return out

    with_sched, by_hand, without = run(True), run(False, by_hand=True), run(False)
    assert all(torch.equal(a, b) for a, b in zip(with_sched, by_hand))
    assert all(torch.equal(a, b) for a, b in zip(with_sched[:3], without[:3]))
    assert not torch.equal(with_sched[3], without[3])  # the 4th step used lr 0.01


def test_swats_switch_reaches_param_groups_and_survives_state_dict():
    def grad(p, t):  # constant until the switch (as tests/optim/swats_test.cpp), then θ-dependent
        i = torch.arange(p.numel(), dtype=torch.float64)
        return torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64) if t <= 25 else torch.sin(1.3 * t + i) + 0.5 * p.detach()

    p = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    opt = fo.SWATS([p], lr=0.01, betas=(0.9, 0.5), eps=1e-3)
    t = 0
    while opt.param_groups[0]["lr"] == 0.01 and t < 25:
        t += 1
        p.grad = grad(p, t)
        opt.step()
    assert opt.param_groups[0]["lr"] != 0.01  # group['lr'] = the corrected estimate, as the official code
    sd = opt.state_dict()
    assert sd["flatmin"]["groups"][0]["phase"] == 1  # sgd
    q = p.detach().clone().requires_grad_(True)
    resumed = fo.SWATS([q], lr=0.01, betas=(0.9, 0.5), eps=1e-3)
    resumed.load_state_dict(sd)
    for k in range(t + 1, t + 6):
        p.grad, q.grad = grad(p, k), grad(q, k)
        opt.step()
        resumed.step()
        assert torch.equal(p, q)


def test_closure_none_grads_and_sparse_grads():
    p, q = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = fo.DualAdam([p, q], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 3.0
    assert not torch.equal(p.detach(), torch.ones(3))
    assert torch.equal(q.detach(), torch.ones(2))  # no grad: skipped, no state
    assert 1 not in opt.state_dict()["state"]
    p.grad = torch.ones(3).to_sparse()
    with pytest.raises(RuntimeError, match="does not support sparse gradients") as e:
        opt.step()
    assert "Exception raised from" not in str(e.value)


def test_classes_take_schema_keywords_with_docs():
    import inspect
    sig = inspect.signature(fo.MIAdam)
    assert list(sig.parameters)[:3] == ["params", "lr", "betas"]
    assert sig.parameters["kappa"].default == 0.98 and sig.parameters["order"].default == 1
    assert "kappa" in fo.MIAdam.__doc__ and "Theorem 2" in fo.MIAdam.__doc__
    p = torch.ones(2, requires_grad=True)
    assert fo.MIAdam3([p]).param_groups[0]["order"] == 3
    assert fo.MIAdam([p], 0.5).param_groups[0]["lr"] == 0.5  # lr positional, as torch
    for cls in ["MIAdam", "MIAdam1", "MIAdam2", "MIAdam3", "DualAdam", "InvAdam", "AdamCM", "AdamCG", "Adai",
                "AdaiW", "AdaiV2", "Adamax", "NAdam", "AdaBound", "SWATS", "NDAdam", "AdaBelief"]:
        assert issubclass(getattr(fo, cls), torch.optim.Optimizer)
    assert set(fo.names()) >= {"miadam", "dualadam", "adam_cm", "adai"}


def cli_error(flatmin_bin, tmp_path, name, options):
    spec = {"optimizer": name, "options": options, "params": [[1.0]], "steps": 1, "grads": [[[1.0]]]}
    r = run_cli(flatmin_bin, "flatmin", "optim-replay", "--spec", write_json(tmp_path / "s.json", spec),
                "--out", tmp_path / "t.csv", check=False)
    assert r.returncode == 2
    return r.stderr.strip().removeprefix("flatmin: error: ")


@pytest.mark.parametrize("name,options,exc,needle", [
    ("miadam", {"lr": 1e-3, "kapa": 0.9}, ValueError, "did you mean 'kappa'"),
    ("miadam", {"lr": "fast"}, TypeError, "must be a number"),
    ("miadam", {"kappa": 1.5}, ValueError, "kappa = 1.5 violates"),
    ("adai", {"lr": 0.1, "betas": [0.1, 1.5]}, ValueError, "betas[1]"),
    ("miadam2", {"order": 3}, ValueError, "order"),
    ("adai", {}, ValueError, "'lr' is required"),
    ("miadm", {}, ValueError, "did you mean 'miadam'"),
])
def test_bad_options_raise_the_clis_message(name, options, exc, needle, flatmin_bin, tmp_path):
    p = torch.ones(1, dtype=torch.float64, requires_grad=True)
    with pytest.raises(exc) as e:
        fo.create(name, [p], **options)
    msg = str(e.value)
    assert needle in msg
    assert "Exception raised from" not in msg and "\n" not in msg
    assert msg == cli_error(flatmin_bin, tmp_path, name, options)


def test_bad_params_and_groups():
    with pytest.raises(ValueError, match="empty parameter list"):
        fo.Adamax([])
    with pytest.raises(TypeError):
        fo.Adamax(torch.ones(2, requires_grad=True))
    p = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="did you mean 'weight_decay'"):
        fo.Adamax([{"params": [p], "wieght_decay": 0.1}])
    opt = fo.Adamax([p])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    opt.param_groups[0]["lr"] = -1.0
    p.grad = torch.ones(2)
    with pytest.raises(ValueError, match="lr = -1 violates"):
        opt.step()
    assert math.isfinite(p.detach().sum().item())


@pytest.mark.parametrize("name", fo.names())
def test_add_param_group_equals_the_group_given_at_construction(name):
    spec = spec_for(name)
    given_p, added_p = make_params(), make_params()
    given = make_opt(spec, given_p)
    g0, g1 = spec["groups"]
    added = fo.create(name, [added_p[i] for i in g0["params"]], **spec["options"])
    added.add_param_group({"params": [added_p[i] for i in g1["params"]], **g1["options"]})
    assert added.param_groups[1] == {**given.param_groups[1], "params": added.param_groups[1]["params"]}
    assert run_steps(added, added_p, 1, 12, 2) == run_steps(given, given_p, 1, 12, 2)


@pytest.mark.parametrize("name", ["miadam1", "adam_cm", "dualadam", "sgd"])
def test_group_added_mid_training_survives_state_dict(name):
    spec = spec_for(name)
    params = make_params()
    g0, g1 = spec["groups"]
    opt = fo.create(name, [params[i] for i in g0["params"]], **spec["options"])
    run_steps(opt, params, 1, 4, 2)  # params[1] has a gradient but no group yet: unchanged
    assert params[1].detach().tolist() == PARAMS[1]
    opt.add_param_group({"params": [params[i] for i in g1["params"]], **g1["options"]})
    run_steps(opt, params, 5, 8, 2)
    saved = opt.state_dict()
    copy = [torch.tensor(p.detach().tolist(), dtype=torch.float64, requires_grad=True) for p in params]
    resumed = fo.create(name, [{"params": [copy[i] for i in g["params"]]} for g in spec["groups"]], **spec["options"])
    resumed.load_state_dict(saved)
    assert run_steps(resumed, copy, 9, 12, 2) == run_steps(opt, params, 9, 12, 2)


def test_add_param_group_refuses_bad_groups_and_changes_nothing():
    p, q = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = fo.MIAdam1([p], lr=0.01)
    with pytest.raises(ValueError, match="lr = -1 violates"):
        opt.add_param_group({"params": [q], "lr": -1.0})
    with pytest.raises(ValueError, match="did you mean 'weight_decay'"):
        opt.add_param_group({"params": [q], "wieght_decay": 0.1})
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="non-leaf"):
        opt.add_param_group({"params": [q * 2]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {q}})
    assert len(opt.param_groups) == 1 and len(opt.state_dict()["flatmin"]["groups"]) == 1
    opt.add_param_group({"params": [q], "kappa": 0.5})
    assert opt.param_groups[1]["kappa"] == 0.5 and opt.param_groups[1]["lr"] == 0.01


def test_version_and_package():
    assert flatmin.__version__
    assert "optim" in flatmin.__all__
