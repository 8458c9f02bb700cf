"""flatmin's optimizers as ``torch.optim.Optimizer`` subclasses.

Every registry optimizer (MIAdam, DualAdam/InvAdam, Adam+CM/CG, Adai, the baselines …) runs flatmin's
C++ step on the parameters in place: the fused single-pass CPU kernels for contiguous float32/float64
CPU tensors, the device-generic tensor path otherwise (CUDA). The keyword arguments, their defaults,
allowed ranges and docs come from the C++ option schema (``schema(name)``); nothing is restated here.

    opt = flatmin.optim.MIAdam1(model.parameters(), lr=1e-3, kappa=0.98, switch_epoch=20)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [60, 120], 0.1)
    for epoch in range(1, 151):
        opt.set_epoch(epoch)          # MIAdam's switch is epoch-based (official code)
        ...  loss.backward(); opt.step()
        sched.step()

``param_groups`` hold the live options (a scheduler's change reaches the next C++ step);
``state_dict()`` / ``load_state_dict()`` use torch's layout and restore bit-identically.
Bad options raise ValueError (unknown name: the nearest valid one; out of range: the allowed range)
or TypeError (wrong type), with the CLI's messages.
"""
import inspect
import json
import numbers

import torch

from . import _C

__all__ = ["Optimizer", "create", "names", "schema"]


def names():
    """Every optimizer name the registry accepts (sorted)."""
    return list(_C.optimizer_names())


def schema(name):
    """The options of optimizer ``name`` as a list of dicts: name, type, default, constraint, source, doc."""
    return [dict(f) for f in _C.optimizer_schema(name)]


def _json_default(v):
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.item()
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    raise TypeError(f"option value {v!r} of type {type(v).__name__} is not a number, bool, string or list")


def _dumps(options):
    return json.dumps(options, default=_json_default, allow_nan=True)


def _from_json(options):
    """JSON option values as Python values (pairs such as betas as tuples, as torch.optim)."""
    return {k: tuple(v) if isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v) and k == "betas" else v
            for k, v in options.items()}


def _split_group(group, i):
    """A torch-style group dict as (tensors, options), checked as torch.optim checks it."""
    if not isinstance(group, dict) or "params" not in group:
        raise TypeError(f"parameter group {i} must be a dict with a 'params' entry")
    options = dict(group)
    ps = options.pop("params")
    if isinstance(ps, set):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                        "of tensors in sets will change between runs. Please use a list instead.")
    ps = [ps] if isinstance(ps, torch.Tensor) else list(ps)
    for p in ps:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"parameter group {i}: optimizer can only optimize Tensors, got {torch.typename(p)}")
        if not p.is_leaf:
            raise ValueError(f"parameter group {i}: can't optimize a non-leaf Tensor")
    return ps, options


class Optimizer(torch.optim.Optimizer):
    """A flatmin registry optimizer (``name``) over ``params`` (tensors or torch-style group dicts)."""

    _registry_name = None

    def __init__(self, params, name=None, **options):
        name = name or self._registry_name
        if name is None:
            raise TypeError("flatmin.optim.Optimizer needs an optimizer name (or use a subclass such as MIAdam)")
        if isinstance(params, torch.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + torch.typename(params))
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        groups = [_split_group(g, i) for i, g in enumerate(params)]
        # The C++ registry parses and validates everything (nearest-name errors, ranges, presets).
        impl = _C.Optimizer(name, _dumps(options), [(ps, _dumps(o)) for ps, o in groups])
        self._impl = impl
        self._registry_name = name
        self._fields = [f["name"] for f in _C.optimizer_schema(name)]
        defaults = _from_json(json.loads(impl.defaults()))
        self._constructing = True
        super().__init__([{"params": ps, **_from_json(json.loads(impl.group_options(i)))}
                          for i, (ps, _) in enumerate(groups)], defaults)
        self._constructing = False
        self._pushed = [self._options_of(g) for g in self.param_groups]

    # ---- torch.optim.Optimizer -----------------------------------------------------------------

    def add_param_group(self, param_group):
        """Appends a group (torch.optim's contract: options it leaves out take the defaults); the C++
        optimizer parses and validates it first, so a bad group changes nothing."""
        if getattr(self, "_constructing", False):
            return super().add_param_group(param_group)
        ps, options = _split_group(param_group, len(self.param_groups))
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in ps):
            raise ValueError("some parameters appear in more than one parameter group")
        self._impl.add_param_group(ps, _dumps(options))
        i = len(self.param_groups)
        super().add_param_group({**options, "params": ps})
        self.param_groups[i].update(_from_json(json.loads(self._impl.group_options(i))))
        self._pushed.append(self._options_of(self.param_groups[i]))

    def _options_of(self, group):
        return {k: group[k] for k in self._fields if k in group}

    def _push_options(self):
        for i, g in enumerate(self.param_groups):
            o = self._options_of(g)
            if o != self._pushed[i]:
                self._impl.set_group_options(i, _dumps(o))
                self._pushed[i] = o

    def _pull_options(self):
        for i, g in enumerate(self.param_groups):
            o = _from_json(json.loads(self._impl.group_options(i)))
            if o != self._pushed[i]:  # the optimizer changed its own options (SWATS' switch)
                g.update(o)
                self._pushed[i] = self._options_of(g)

    @torch.no_grad()
    def step(self, closure=None):
        """One optimizer step (flatmin's C++ step); ``closure`` re-evaluates the loss as in torch."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._push_options()
        self._impl.step()
        self._pull_options()  # an optimizer may change its own options (SWATS' switch sets phase and lr)
        return loss

    def set_epoch(self, epoch):
        """The current 1-based epoch (MIAdam's epoch-based switch; ignored by the others, but saved)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise TypeError(f"epoch must be an integer, not {type(epoch).__name__} {epoch!r}")
        self._impl.set_epoch(int(epoch))

    @property
    def epoch(self):
        return self._impl.epoch()

    def state_dict(self):
        """torch's layout: {'state': {index: {name: value}}, 'param_groups': [{options…, 'params': [index…]}]}."""
        self._push_options()
        state, groups, index = {}, [], 0
        for i, g in enumerate(self.param_groups):
            ids = []
            for j, p in enumerate(g["params"]):
                s = self._impl.param_state(i, j)
                if s is not None:
                    state[index] = s
                    self.state[p] = s
                ids.append(index)
                index += 1
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups,
                "flatmin": {"optimizer": self._registry_name, "extra": self._impl.extra_state(),
                            "groups": [self._impl.group_archive(i) for i in range(len(self.param_groups))]}}

    def load_state_dict(self, state_dict):
        """Restores options, per-parameter state and the optimizer-level state (epoch, counters,
        generators) exactly: no dtype casts."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, g) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(g["params"]):
                raise ValueError(f"loaded state dict: group {i} has {len(saved['params'])} parameters, "
                                 f"the optimizer's has {len(g['params'])}")
        meta = state_dict.get("flatmin", {})
        if meta.get("optimizer", self._registry_name) != self._registry_name:
            raise ValueError(f"loaded state dict is of optimizer '{meta['optimizer']}', this is "
                             f"'{self._registry_name}'")
        archives = meta.get("groups", [None] * len(groups))
        for i, (saved, g) in enumerate(zip(groups, self.param_groups)):
            self._impl.set_group_archive(i, archives[i])  # every field, internal ones (SWATS' phase) too
            options = {k: v for k, v in saved.items() if k in self._fields}
            self._impl.set_group_options(i, _dumps(options))
            g.update(_from_json(json.loads(self._impl.group_options(i))))
            self._pushed[i] = self._options_of(g)
            for k, v in saved.items():  # scheduler keys (initial_lr, …) travel too, as in torch
                if k != "params" and k not in self._fields:
                    g[k] = v
        saved_state = state_dict["state"]
        for i, (saved, g) in enumerate(zip(groups, self.param_groups)):
            for j, (key, p) in enumerate(zip(saved["params"], g["params"])):
                s = saved_state.get(key)
                self._impl.set_param_state(i, j, s)
                if s is not None:
                    self.state[p] = s
                else:
                    self.state.pop(p, None)
        if "extra" in meta:  # epoch, counters, generators
            self._impl.set_extra_state(meta["extra"])

    def __repr__(self):
        return f"flatmin.optim.{type(self).__name__}({self._registry_name}, {len(self.param_groups)} group(s))"


def _docstring(name, title):
    lines = [f"{title}: flatmin's '{name}' optimizer (C++ step, fused CPU kernels; tensor path on GPU).", "",
             "Options (from the C++ schema; `flatmin list-optimizers --options " + name + "`):"]
    for f in schema(name):
        default = "required" if f["default"] is None and "null" not in f["type"] else repr(f["default"])
        rng = f"; {f['constraint']}" if f["constraint"] else ""
        lines.append(f"    {f['name']} ({f['type']}, default {default}{rng}): {f['doc']} [{f['source']}]")
    return "\n".join(lines)


def _make_class(class_name, name):
    fields = schema(name)
    sig = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(f["name"], inspect.Parameter.POSITIONAL_OR_KEYWORD,
                             default=_from_json({f["name"]: f["default"]})[f["name"]]) for f in fields])
    positional = [f["name"] for f in fields]

    def __init__(self, params, *args, **options):
        if len(args) > len(positional):
            raise TypeError(f"{class_name}() takes at most {len(positional) + 1} positional arguments")
        for k, v in zip(positional, args):
            if k in options:
                raise TypeError(f"{class_name}() got multiple values for argument '{k}'")
            options[k] = v
        Optimizer.__init__(self, params, name, **options)

    __init__.__signature__ = sig
    return type(class_name, (Optimizer,), {"__init__": __init__, "_registry_name": name,
                                           "__doc__": _docstring(name, class_name), "__module__": __name__})


# Class names for registry names (a registry name without an entry here is reachable through create()).
_CLASS_NAMES = {
    "miadam": "MIAdam", "miadam1": "MIAdam1", "miadam2": "MIAdam2", "miadam3": "MIAdam3",
    "dualadam": "DualAdam", "invadam": "InvAdam", "adam_cm": "AdamCM", "adam_cg": "AdamCG",
    "adai": "Adai", "adaiw": "AdaiW", "adaiv2": "AdaiV2", "nadam": "NAdam", "nadam_keras": "NAdamKeras",
    "adamax": "Adamax", "adabound": "AdaBound", "amsbound": "AMSBound", "adaboundw": "AdaBoundW",
    "swats": "SWATS", "ndadam": "NDAdam", "adabelief": "AdaBelief", "sgd": "SGD", "adam": "Adam", "adamw": "AdamW",
}
_CLASSES = {}
for _name in names():
    _cls = _make_class(_CLASS_NAMES.get(_name, _name), _name)
    _CLASSES[_name] = _cls
    if _name in _CLASS_NAMES:
        globals()[_CLASS_NAMES[_name]] = _cls
        __all__.append(_CLASS_NAMES[_name])


def create(name, params, **options):
    """The registry optimizer ``name`` over ``params`` (kozistr/pytorch_optimizer's load_optimizer, flatmin's names)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (one of flatmin.optim.names()), not {type(name).__name__} {name!r}")
    if name not in _CLASSES:
        _C.optimizer_schema(name)  # raises ValueError naming the nearest valid name
    return _CLASSES[name](params, **options)
