"""Bad inputs to the Python package (docs/python.md): flatmin.optim (create, the classes, groups,
state_dict), flatmin.hessian.spectrum, flatmin.pyhessian.hessian and flatmin.theory. Each case is a
function that must raise ValueError or TypeError (never RuntimeError / a C++ backtrace) whose one-line
message names the argument / option / key at fault (`expect`, as in catalogue.py)."""
from catalogue import key_re


class PyCase:
    def __init__(self, entry, name, fn, expect, exc=("ValueError", "TypeError"), timeout=20.0):
        self.entry, self.name, self.fn, self.expect, self.exc, self.timeout = entry, name, fn, list(expect), exc, timeout

    @property
    def id(self):
        return f"{self.entry}: {self.name}"


def arg(name):
    """A keyword argument named in its Python form or as the CLI flag it mirrors (top_k / --top-k)."""
    return (key_re(name), "--" + name.replace("_", "-"))


def _p():
    import torch
    return torch.ones(3, dtype=torch.float64, requires_grad=True)


def _create(name, *args, **kw):
    def f():
        from flatmin import optim as fo
        fo.create(name, [_p()], *args, **kw)
    return f


def _cls(cls, **kw):
    def f():
        from flatmin import optim as fo
        getattr(fo, cls)([_p()], **kw)
    return f


def _after(mutation):
    """An optimizer that is fine at construction, then `mutation(opt, p)` (an API call that must refuse)."""
    def f():
        from flatmin import optim as fo
        p = _p()
        opt = fo.MIAdam1([p], lr=0.01)
        p.grad = p.detach().clone()
        mutation(opt, p)
    return f


def _step_after(key, value):
    def m(opt, p):
        opt.param_groups[0][key] = value
        opt.step()
    return _after(m)


def optim_cases():
    e = "python flatmin.optim.create"
    nan, inf = float("nan"), float("inf")
    c = [
        PyCase(e, "unknown name miadm", _create("miadm"), ["did you mean 'miadam'"]),
        PyCase(e, "name of the wrong type", lambda: __import__("flatmin").optim.create(3, [_p()]), [("name", "str")],
               exc=("TypeError",)),
        PyCase(e, "option typo kapa", _create("miadam", lr=1e-3, kapa=0.9), ["did you mean 'kappa'"]),
        PyCase(e, "lr of the wrong type", _create("miadam", lr="fast"), [key_re("lr")], exc=("TypeError",)),
        PyCase(e, "lr = -1", _create("miadam", lr=-1.0), [key_re("lr")]),
        PyCase(e, "lr = nan", _create("miadam", lr=nan), [key_re("lr")]),
        PyCase(e, "lr = inf", _create("miadam", lr=inf), [key_re("lr")]),
        PyCase(e, "kappa = 1.5", _create("miadam", kappa=1.5), [key_re("kappa")]),
        PyCase(e, "kappa = 0", _create("miadam", kappa=0.0), [key_re("kappa")]),
        PyCase(e, "kappa = nan", _create("miadam", kappa=nan), [key_re("kappa")]),
        PyCase(e, "kappa of the wrong type (list)", _create("miadam", kappa=[0.9]), [key_re("kappa")], exc=("TypeError",)),
        PyCase(e, "betas = (0.9, 1.5)", _create("adam", betas=(0.9, 1.5)), ["betas"]),
        PyCase(e, "betas with one value", _create("miadam", betas=(0.9,)), ["betas"]),
        PyCase(e, "betas of the wrong type", _create("miadam", betas="0.9"), ["betas"], exc=("TypeError",)),
        PyCase(e, "eps = -1", _create("miadam", eps=-1.0), [key_re("eps")]),
        PyCase(e, "weight_decay = -1", _create("adamw", weight_decay=-1.0), [key_re("weight_decay")]),
        PyCase(e, "order = 0", _create("miadam", order=0), [key_re("order")]),
        PyCase(e, "order = 10**18 (huge count)", _create("miadam", order=10**18), [key_re("order")]),
        PyCase(e, "adai without lr", _create("adai"), ["'lr' is required"]),
        PyCase(e, "sgd momentum = -0.5", _create("sgd", lr=0.1, momentum=-0.5), [key_re("momentum")]),
        PyCase(e, "adabound final_lr = -1", _create("adabound", final_lr=-1.0), [key_re("final_lr")]),
        PyCase(e, "empty parameter list", lambda: __import__("flatmin").optim.create("adam", []), ["empty parameter list"]),
        PyCase(e, "params as one tensor", lambda: __import__("flatmin").optim.create("adam", _p()), ["params"],
               exc=("TypeError",)),
        PyCase(e, "group option typo", lambda: __import__("flatmin").optim.create("adamax", [{"params": [_p()], "wieght_decay": 0.1}]),
               ["did you mean 'weight_decay'"]),
        PyCase(e, "group lr = -1", lambda: __import__("flatmin").optim.create("adamax", [{"params": [_p()], "lr": -1.0}]),
               [key_re("lr")]),
        PyCase(e, "non-leaf parameter", lambda: __import__("flatmin").optim.create("adam", [_p() * 2]), ["non-leaf"]),
        PyCase(e, "a parameter in two groups", _two_groups, ["more than one parameter group"]),
        PyCase(e, "schema of an unknown name", lambda: __import__("flatmin").optim.schema("adamz"), ["did you mean 'adam'"]),
    ]
    e = "python flatmin.optim classes"
    c += [
        PyCase(e, "MIAdam1 kappa = 2", _cls("MIAdam1", kappa=2.0), [key_re("kappa")]),
        PyCase(e, "MIAdam order = -1", _cls("MIAdam", order=-1), [key_re("order")]),
        PyCase(e, "AdamW lr = -1", _cls("AdamW", lr=-1.0), [key_re("lr")]),
        PyCase(e, "Adai without lr", _cls("Adai"), ["'lr' is required"]),
        PyCase(e, "DualAdam lr = nan", _cls("DualAdam", lr=float("nan")), [key_re("lr")]),
        PyCase(e, "SWATS betas = (1.0, 0.999)", _cls("SWATS", betas=(1.0, 0.999)), ["betas"]),
        PyCase(e, "AdaBelief eps = -1", _cls("AdaBelief", eps=-1.0), [key_re("eps")]),
        PyCase(e, "NAdam lr of the wrong type", _cls("NAdam", lr="x"), [key_re("lr")], exc=("TypeError",)),
        PyCase(e, "AdamCM unknown option", _cls("AdamCM", topc=3), ["did you mean 'topC'"]),
        PyCase(e, "Adamax empty parameter list", lambda: __import__("flatmin").optim.Adamax([]), ["empty parameter list"]),
        PyCase(e, "add_param_group lr = -1", _after(lambda o, p: o.add_param_group({"params": [_p()], "lr": -1.0})),
               [key_re("lr")]),
        PyCase(e, "add_param_group typo", _after(lambda o, p: o.add_param_group({"params": [_p()], "kapa": 0.5})),
               ["did you mean 'kappa'"]),
        PyCase(e, "add_param_group a parameter already in a group",
               _after(lambda o, p: o.add_param_group({"params": [p]})), ["more than one parameter group"]),
        PyCase(e, "add_param_group params as a set", _after(lambda o, p: o.add_param_group({"params": {_p()}})),
               ["ordered collections"], exc=("TypeError",)),
        PyCase(e, "load_state_dict with no groups",
               _after(lambda o, p: o.load_state_dict({"state": {}, "param_groups": []})), ["parameter groups"]),
        PyCase(e, "step after param_groups lr = -1", _step_after("lr", -1.0), [key_re("lr")]),
        PyCase(e, "step after param_groups kappa = 'x'", _step_after("kappa", "x"), [key_re("kappa")], exc=("TypeError",)),
        PyCase(e, "step after param_groups kappa = nan", _step_after("kappa", float("nan")), [key_re("kappa")]),
        PyCase(e, "set_epoch('x')", _after(lambda o, p: o.set_epoch("x")), ["epoch"]),
    ]
    return c


def _two_groups():
    from flatmin import optim as fo
    p = _p()
    fo.create("adam", [{"params": [p]}, {"params": [p]}])


# ---- flatmin.hessian.spectrum and flatmin.pyhessian --------------------------------------------------

def _data():
    import torch
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2), torch.randn(4, 3), torch.randint(0, 2, (4,))


def _spectrum(**kw):
    def f():
        import torch
        import flatmin
        model, x, y = _data()
        args = {"data": (x, y), "top_k": 1, "trace": False, "progress": False}
        args.update(kw)
        crit = args.pop("criterion", torch.nn.CrossEntropyLoss())
        model = args.pop("model", model)
        flatmin.hessian.spectrum(model, crit, **{k: v for k, v in args.items() if v is not _NONE})
    return f


_NONE = object()


def _dict_model():
    import torch

    class DictOut(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x):
            return {"logits": self.lin(x)}
    return DictOut()


def hessian_cases():
    import_torch = __import__
    e = "python flatmin.hessian.spectrum"

    def T():
        return import_torch("torch")

    return [
        PyCase(e, "NLLLoss criterion", lambda: _spectrum(criterion=T().nn.NLLLoss())(), ["not supported"], exc=("TypeError",)),
        PyCase(e, "no data", _spectrum(data=_NONE), ["exactly one"]),
        PyCase(e, "data and dataloader", lambda: _spectrum(dataloader=[(T().randn(4, 3), T().randint(0, 2, (4,)))])(),
               ["exactly one"]),
        PyCase(e, "data not a pair", lambda: _spectrum(data=T().randn(4, 3))(), ["data"], exc=("TypeError",)),
        PyCase(e, "x and y of different lengths", lambda: _spectrum(data=(T().randn(4, 3), T().randint(0, 2, (3,))))(),
               [("x", "y", "size", "batch")]),
        PyCase(e, "labels out of range", lambda: _spectrum(data=(T().randn(4, 3), T().tensor([0, 1, 2, 5])))(),
               ["labels out of range"]),
        PyCase(e, "top_k = -1", _spectrum(top_k=-1), [arg("top_k")]),
        PyCase(e, "top_k of the wrong type", _spectrum(top_k="2"), [arg("top_k")], exc=("TypeError",)),
        PyCase(e, "top_k = 1000 (more than parameters)", _spectrum(top_k=1000), [arg("top_k")]),
        PyCase(e, "top_k = 10**18 (huge count)", _spectrum(top_k=10**18), [arg("top_k"),
               ("1000000000000000000", "1e+18", "too large", "out of range")]),
        PyCase(e, "dtype float16", lambda: _spectrum(dtype=T().float16)(), ["dtype"]),
        PyCase(e, "device tpu", _spectrum(device="tpu"), ["tpu"]),
        PyCase(e, "param_filter invalid regex", _spectrum(param_filter="(unclosed"), [("param_filter", "(unclosed")]),
        PyCase(e, "param_filter matches nothing", _spectrum(param_filter="nothing_matches"), ["nothing_matches"]),
        PyCase(e, "weight_decay = nan", _spectrum(weight_decay=float("nan")), [arg("weight_decay")]),
        PyCase(e, "batch_size = -1", _spectrum(batch_size=-1), [arg("batch_size")]),
        PyCase(e, "trace_max_samples = 0", _spectrum(trace=True, trace_max_samples=0), [arg("trace_max_samples")]),
        PyCase(e, "max_hvps = -1", _spectrum(max_hvps=-1), [arg("max_hvps")]),
        PyCase(e, "max_seconds = -1", _spectrum(max_seconds=-1.0), [arg("max_seconds")]),
        PyCase(e, "compat bogus", _spectrum(compat="bogus"), ["compat"]),
        PyCase(e, "slq_steps = 0", _spectrum(density=True, slq_steps=0), [arg("slq_steps")]),
        PyCase(e, "unknown keyword tp_k", _spectrum(tp_k=1), ["tp_k"], exc=("TypeError",)),
        PyCase(e, "model not a Module", _spectrum(model=lambda t: t), ["Module"], exc=("TypeError",)),
        PyCase(e, "forward returns a dict", lambda: _spectrum(model=_dict_model())(), ["must return a Tensor"],
               exc=("TypeError",)),
    ]


def _ph(make=None, call=None, criterion=None, **kw):
    def f():
        import torch
        from flatmin.pyhessian import hessian
        model, x, y = _data()
        args = {"data": (x, y), "cuda": False}
        args.update(kw)
        args = {k: v for k, v in args.items() if v is not _NONE}
        h = hessian(model if make is None else make(), criterion or torch.nn.CrossEntropyLoss(), **args)
        if call:
            call(h)
    return f


def pyhessian_cases():
    e = "python flatmin.pyhessian.hessian"
    torch = __import__("torch")
    return [
        PyCase(e, "NLLLoss criterion", _ph(criterion=torch.nn.NLLLoss()), ["not supported"], exc=("TypeError",)),
        PyCase(e, "no data", _ph(data=_NONE), ["exactly one"]),
        PyCase(e, "model is a lambda", _ph(make=lambda: (lambda t: t)), ["torch.nn.Module"], exc=("TypeError",)),
        PyCase(e, "data not a pair", _ph(data=torch.randn(4, 3)), ["pair"], exc=("TypeError",)),
        PyCase(e, "reduction='sum' with a dataloader",
               _ph(data=_NONE, criterion=torch.nn.CrossEntropyLoss(reduction="sum"),
                   dataloader=[(torch.randn(4, 3), torch.randint(0, 2, (4,)))]), ["reduction='sum'"]),
        PyCase(e, "eigenvalues top_n = 0", _ph(call=lambda h: h.eigenvalues(top_n=0)), ["top_n"]),
        PyCase(e, "eigenvalues top_n = 1.5", _ph(call=lambda h: h.eigenvalues(top_n=1.5)), ["top_n"], exc=("TypeError",)),
        PyCase(e, "eigenvalues top_n = 9 (> parameters)", _ph(call=lambda h: h.eigenvalues(top_n=9)), ["top_n"]),
        PyCase(e, "eigenvalues maxIter = -1", _ph(call=lambda h: h.eigenvalues(maxIter=-1)), ["maxIter"]),
        PyCase(e, "eigenvalues tol = nan", _ph(call=lambda h: h.eigenvalues(tol=float("nan"))), ["tol"]),
        PyCase(e, "trace maxIter = 0", _ph(call=lambda h: h.trace(maxIter=0)), ["maxIter"]),
        PyCase(e, "trace maxIter = 10**18 (huge count)", _ph(call=lambda h: h.trace(maxIter=10**18, tol=0.0)), ["maxIter"]),
        PyCase(e, "trace tol = -1", _ph(call=lambda h: h.trace(tol=-1.0)), ["tol"]),
        PyCase(e, "density n_v = 0", _ph(call=lambda h: h.density(n_v=0)), ["n_v"]),
        PyCase(e, "density iter = 0", _ph(call=lambda h: h.density(iter=0)), ["iter"]),
        PyCase(e, "density iter of the wrong type", _ph(call=lambda h: h.density(iter="x")), ["iter"], exc=("TypeError",)),
        PyCase(e, "labels out of range", _ph(data=(torch.randn(4, 3), torch.tensor([0, 1, 2, 5])), call=lambda h: h.trace()),
               ["labels out of range"]),
    ]


# ---- flatmin.theory ---------------------------------------------------------------------------------

ESCAPE = {"landscape": {"type": "double_well", "dL": 1, "k": 1.5}, "noise": "sgd_shaped", "dynamics": "sgd", "lr": 0.1,
          "batch": 1, "beta1": 0, "dt": 0.002, "paths": 32, "seed": 3, "t_max": 1000, "threads": 1}
REGRET = {"problem": "noisy_quadratic", "T": 500, "alpha": 0.1, "h": 0.5, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "reps": 2,
          "seed": 1, "optimizers": [{"name": "adam"}, {"name": "miadam1", "kappa": 0.98}]}


def _th(fn, *args, **kw):
    def f():
        from flatmin import theory
        getattr(theory, fn)(*args, **kw)
    return f


def theory_cases():
    e = "python flatmin.theory"
    esc = lambda **kw: {**ESCAPE, **kw}  # noqa: E731
    reg = lambda **kw: {**REGRET, **kw}  # noqa: E731
    problem = {k: v for k, v in ESCAPE.items() if k not in {"paths", "seed", "threads"}}
    return [
        PyCase(e, "escape_time typo pahts", _th("escape_time", esc(pahts=3)), ["did you mean 'paths'"]),
        PyCase(e, "escape_time paths wrong type", _th("escape_time", esc(paths="many")), ["'paths'"], exc=("TypeError",)),
        PyCase(e, "escape_time paths = 10**18 (huge count)", _th("escape_time", esc(paths=10**18)), [key_re("paths")]),
        PyCase(e, "escape_time lr = -1", _th("escape_time", esc(lr=-1.0)), [key_re("lr")]),
        PyCase(e, "escape_time dt = 0.5", _th("escape_time", esc(dt=0.5)), [key_re("dt")]),
        PyCase(e, "escape_time unknown landscape", _th("escape_time", esc(landscape={"type": "bowl"})), ["bowl"]),
        PyCase(e, "escape_time config is a list", _th("escape_time", [1, 2]), [("config", "object")], exc=("TypeError", "ValueError")),
        PyCase(e, "escape_time config is a string", _th("escape_time", "lr=0.1"), [("config", "object")], exc=("TypeError", "ValueError")),
        PyCase(e, "escape_time config with NaN", _th("escape_time", esc(lr=float("nan"))), [key_re("lr")]),
        PyCase(e, "exact_escape dL = -1", _th("exact_escape", {**problem, "landscape": {"type": "double_well", "dL": -1}}),
               [key_re("dL")]),
        PyCase(e, "exact_escape typo", _th("exact_escape", {**problem, "bacth": 2}), ["did you mean 'batch'"]),
        PyCase(e, "miadam_gain kappa = 1.5", _th("miadam_gain", kappa=1.5), [key_re("kappa")]),
        PyCase(e, "miadam_gain kappa = nan", _th("miadam_gain", kappa=float("nan")), [key_re("kappa")]),
        PyCase(e, "miadam_gain kappa = 'x'", _th("miadam_gain", kappa="x"), [key_re("kappa")], exc=("TypeError", "ValueError")),
        PyCase(e, "miadam_gain order = 0", _th("miadam_gain", order=0), [key_re("order")]),
        PyCase(e, "miadam_gain steps = 0", _th("miadam_gain", steps=0), [key_re("steps")]),
        PyCase(e, "miadam_gain steps = 10**18 (huge count)", _th("miadam_gain", steps=10**18), [key_re("steps")]),
        PyCase(e, "miadam_gain lr = -1", _th("miadam_gain", lr=-1.0), [key_re("lr")]),
        PyCase(e, "regret T = 0", _th("regret", reg(T=0)), [key_re("T")]),
        PyCase(e, "regret T = 10**18 (huge count)", _th("regret", reg(T=10**18)), [key_re("T")]),
        PyCase(e, "regret beta1 = 1.5", _th("regret", reg(beta1=1.5)), [key_re("beta1")]),
        PyCase(e, "regret unknown problem", _th("regret", reg(problem="cubic")), ["cubic"]),
        PyCase(e, "regret typo betaa1", _th("regret", reg(betaa1=0.9)), ["did you mean 'beta1'"]),
        PyCase(e, "regret optimizers empty", _th("regret", reg(optimizers=[])), ["optimizers"]),
        PyCase(e, "regret kappa = 0", _th("regret", reg(optimizers=[{"name": "miadam1", "kappa": 0.0}])), [key_re("kappa")]),
    ]


def all_py_cases():
    cases = optim_cases() + hessian_cases() + pyhessian_cases() + theory_cases()
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids: {sorted(dup)}"
    return cases
