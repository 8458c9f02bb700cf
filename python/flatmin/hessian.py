"""Hessian spectra of a plain ``nn.Module`` (no scripting), PyHessian-style but with flatmin's exact
solvers: Spectra top-k with true residuals, Hutchinson trace with a standard error, SLQ density.

    res = flatmin.hessian.spectrum(model, torch.nn.CrossEntropyLoss(), data=(x, y), top_k=3)
    res.eigenvalues, res.residuals, res.trace, res.trace_stderr, res.status

HVPs are torch.autograd double backwards on your module (eval mode by default, as PyHessian); the
Krylov, trace and SLQ logic is the C++ core of ``flatmin hessian``, and ``res.to_json()`` is its
summary.json. Supported criteria: CrossEntropyLoss, MSELoss, BCEWithLogitsLoss (mean or sum).
"""
import copy
import json
import numbers
import warnings

import torch

from . import _C

__all__ = ["spectrum", "SpectrumResult"]

_LOSSES = {torch.nn.CrossEntropyLoss: "cross_entropy", torch.nn.MSELoss: "mse",
           torch.nn.BCEWithLogitsLoss: "bce_with_logits"}


class SpectrumResult:
    """The result of spectrum(): the fields of summary.json as attributes, the document as to_json();
    with ``density=True`` also the SLQ nodes/weights per run and the smoothed density (esd_grid, esd_density)."""

    def __init__(self, summary, extras=None):
        self._s = summary
        extras = extras or {}
        top = summary.get("top_eigenvalues") or []
        self.eigenvalues = [e["value"] for e in top]  # largest algebraic first
        self.residuals = [e["residual"] for e in top]
        tr = summary.get("trace") or {}
        self.trace = tr.get("estimate")
        self.trace_stderr = tr.get("stderr")
        self.trace_method = tr.get("method")
        self.density = summary.get("esd") or {}  # the ESD's summary (kernel, sigma2, grid range, SLQ runs)
        self.slq_nodes = extras.get("slq_nodes") or []      # per run: Gauss nodes, ascending
        self.slq_weights = extras.get("slq_weights") or []  # per run: their weights (sum 1)
        self.esd_grid = extras.get("esd_grid") or []
        self.esd_density = extras.get("esd_density") or []
        self.hvp_count = summary.get("hvp_count")
        self.status = summary.get("status", "ok")
        self.n_params = summary.get("n_params")

    @property
    def converged(self):
        return self.status == "ok"

    def to_json(self):
        return copy.deepcopy(self._s)

    def __repr__(self):
        return (f"SpectrumResult(eigenvalues={self.eigenvalues}, trace={self.trace}, status={self.status!r}, "
                f"hvp_count={self.hvp_count})")


def _loss_of(criterion):
    for cls, name in _LOSSES.items():
        if isinstance(criterion, cls):
            reduction = getattr(criterion, "reduction", "mean")
            if reduction not in ("mean", "sum"):
                raise ValueError(f"criterion reduction '{reduction}' is not supported (mean or sum)")
            if getattr(criterion, "weight", None) is not None or getattr(criterion, "pos_weight", None) is not None:
                raise ValueError("criterion with class weights is not supported")
            return name, reduction
    raise TypeError(f"criterion {type(criterion).__name__} is not supported: use torch.nn.CrossEntropyLoss, "
                    "MSELoss or BCEWithLogitsLoss")


def _int(name, v, hi=2**31 - 1):
    """An integer keyword argument: TypeError for another type (a bool, a string, a float), ValueError
    outside [-hi, hi] (the C++ side's range), naming the argument."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {type(v).__name__} {v!r}")
    if not -hi <= int(v) <= hi:
        raise ValueError(f"{name} = {v} is out of range (|{name}| <= {hi})")
    return int(v)


def spectrum(model, criterion, data=None, dataloader=None, top_k=3, trace=True, density=False, dtype=None,
             device=None, param_filter=None, weight_decay=0.0, seed=0, batch_size=None, compat="accurate",
             progress=True, slq_steps=100, slq_runs=None, trace_max_samples=500, max_hvps=100000,
             max_seconds=7200.0):
    """Top-k eigenvalues, trace and (optionally) spectral density of the loss Hessian of ``model``.

    data=(x, y) or dataloader=… (its batches are concatenated; HVPs then run per loader batch);
    dtype: None (the model's) or torch.float32 / torch.float64 (the model is cast for the run and
    restored exactly afterwards);
    param_filter: a regex on parameter names (the diagonal block H_SS); compat="pyhessian" uses
    PyHessian's algorithms and RNG stream; slq_steps / slq_runs: Lanczos steps per SLQ run and runs
    (None: 10, or 1 with compat="pyhessian"); trace_max_samples: the Hutchinson probe cap (accurate mode);
    max_hvps / max_seconds: the budget of the CLI's --max-hvps / --max-seconds (0 = no limit; the stage
    that exhausts it stops with what it has). A quantity that did not converge gives status
    "not_converged" and a warning.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    if (data is None) == (dataloader is None):
        raise ValueError("pass exactly one of data=(x, y) and dataloader=...")
    loss, reduction = _loss_of(criterion)
    if data is not None:
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise TypeError("data must be a pair (x, y) of tensors")
        x, y = data
        bs = 0 if batch_size is None else _int("batch_size", batch_size)
    else:
        xs, ys = [], []
        for batch in dataloader:
            xs.append(batch[0])
            ys.append(batch[1])
        if not xs:
            raise ValueError("dataloader yielded no batches")
        x, y = torch.cat(xs), torch.cat(ys)
        bs = int(batch_size or getattr(dataloader, "batch_size", None) or xs[0].shape[0])
    if not (torch.is_tensor(x) and torch.is_tensor(y)):
        raise TypeError("data must hold tensors")
    dname = ""
    if dtype is not None:
        dname = {torch.float32: "float32", torch.float64: "float64"}.get(dtype)
        if dname is None:
            raise ValueError(f"dtype {dtype} is not torch.float32 or torch.float64")
    was_training = model.training
    # A cast must not change the caller's model: it runs in place (deepcopy breaks ScriptModules in
    # torch 1.13) and the exact values and dtypes are restored afterwards.
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()} if dname else None
    floats = [p.dtype for p in model.parameters() if p.is_floating_point()]
    if dname and floats:
        model.to(dtype)
    try:
        opts = {"compat": str(compat), "seed": _int("seed", seed, 2**63 - 1), "top_k": _int("top_k", top_k),
                "trace": bool(trace), "density": bool(density), "slq_steps": _int("slq_steps", slq_steps),
                "slq_runs": _int("slq_runs", slq_runs or 0), "trace_max_samples": _int("trace_max_samples", trace_max_samples),
                "trace_min_samples": min(10, _int("trace_max_samples", trace_max_samples)),
                "max_hvps": _int("max_hvps", max_hvps, 2**63 - 1), "max_seconds": float(max_seconds)}
        out = _C.hessian_analyze(model, x, y, loss, reduction, dname, str(device or "cpu"), param_filter or "",
                                 float(weight_decay), bs, json.dumps(opts), True, bool(progress))
    finally:
        model.train(was_training)
        if saved is not None and floats:
            model.to(floats[0])
            model.load_state_dict(saved)
    res = SpectrumResult(json.loads(out["summary"]), out)
    if not res.converged:
        warnings.warn(f"flatmin.hessian.spectrum: {res.status}: {res.to_json().get('message', '')}",
                      RuntimeWarning, stacklevel=2)
    return res
