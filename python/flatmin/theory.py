"""flatmin's theory core from Python: the exact 1-D escape-time quadrature, the escape-time Monte Carlo,
MIAdam's κ-gain and the Theorem 2 regret run — the computations of ``flatmin-theory`` with the same
config dicts (docs/theory.md) and the same results (its summary.json / CSV columns), as dicts with
NumPy arrays. Bad configs raise ValueError / TypeError with the CLI's messages; a diverged run raises
FloatingPointError.

    r = flatmin.theory.escape_time({"landscape": "double_well", "dynamics": "sgd", "lr": 0.1, "noise": 0.5,
                                    "paths": 2000, "seed": 1})
    r["mean_escape_time"], r["stderr"], r["exact"]
"""
import json
import numbers

import numpy as np

from . import _C
from .hessian import _int

__all__ = ["escape_time", "exact_escape", "miadam_gain", "regret"]


def _arrays(d, keys):
    return {k: (np.asarray(v) if k in keys else v) for k, v in d.items()}


def escape_time(config, progress=False):
    """Escape-time Monte Carlo (``flatmin-theory escape-time``): its summary.json as a dict; the
    survival curve as NumPy arrays under ``survival`` (``t``, ``S``)."""
    out = json.loads(_C.escape_time(json.dumps(config), bool(progress)))
    if isinstance(out.get("survival"), dict):
        out["survival"] = _arrays(out["survival"], {"t", "S"})
    return out


def exact_escape(config):
    """The exact escape time of a 1-D problem (the quadrature; the problem keys of an escape-time
    config): {time, exponent, discretisation_bias, laplace}."""
    return json.loads(_C.exact_escape(json.dumps(config)))


def _real(name, v):
    """A real keyword argument: TypeError naming it for a non-number (a string, a bool)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a number, not {type(v).__name__} {v!r}")
    return float(v)


def miadam_gain(kappa=0.98, order=1, lr=1e-3, steps=1000):
    """``flatmin-theory miadam-gain``: step, buffer_gain, step_ratio (NumPy arrays) and the steady
    step ratio (lr/(1−κ))^n (NaN for κ = 1)."""
    # the CLI's bounds (common/limits.h: kOrder, kRecordedSteps): one row per step is held in memory
    order, steps = _int("order", order, 64), _int("steps", steps, 10_000_000)
    if order < 1 or steps < 1:
        raise ValueError(f"{'order' if order < 1 else 'steps'} must be >= 1")
    out = json.loads(_C.miadam_gain(_real("kappa", kappa), order, _real("lr", lr), steps))
    steady = out["steady_step_ratio"]
    out = _arrays(out, {"step", "buffer_gain", "step_ratio"})
    out["steady_step_ratio"] = float("nan") if steady is None else steady
    return out


def regret(config):
    """``flatmin-theory regret``: {config, curves: [{optimizer, kappa, t, R_over_T, lo95, hi95}]}."""
    out = json.loads(_C.regret(json.dumps(config)))
    out["curves"] = [_arrays(c, {"t", "R_over_T", "lo95", "hi95"}) for c in out["curves"]]
    return out
