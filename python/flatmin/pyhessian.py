"""PyHessian's API on flatmin's C++ core: a PyHessian script changes one import.

    from pyhessian import hessian           # before
    from flatmin.pyhessian import hessian   # after

    torch.manual_seed(0)
    h = hessian(model, criterion, data=(x, y), cuda=False)
    top_eigenvalues, top_eigenvectors = h.eigenvalues(top_n=3)
    trace = np.mean(h.trace())
    eigen_list_full, weight_list_full = h.density()

By default the numbers are PyHessian's: its power iteration with deflation, its running-mean
Rademacher trace rule and its Lanczos for the density, drawing from torch's global generator in
PyHessian's order (each call continues the stream where the previous one stopped), so that after
the same ``torch.manual_seed`` they equal ``flatmin hessian --compat pyhessian``. ``accurate=True``
switches to flatmin's solvers: Spectra top-k (largest algebraic, relative Ritz tolerance 1e-6, true
residuals reported; float32 HVPs floor them near 1e-6), Hutchinson
with a confidence-interval stopping rule, SLQ with full reorthogonalisation; ``h.result`` then holds
the residuals and convergence status (it is filled in both modes).

Differences from PyHessian (docs/python.md): the criterion must be CrossEntropyLoss, MSELoss or
BCEWithLogitsLoss; the computation runs on the device of the model's parameters (``cuda`` never
moves anything); the data loader is read once, at construction (PyHessian iterates it per HVP, and
each DataLoader iteration draws from torch's generator: the streams agree in data= mode); density
nodes come sorted ascending; ``gradsH`` does not exist (no first-order graph is kept between calls).
"""
import json
import numbers
import warnings

import torch

from . import _C
from .hessian import SpectrumResult, _loss_of

__all__ = ["hessian"]


def _int_arg(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name} = {value} must be >= {lo}")
    return int(value)


def _tol_arg(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"tol must be a number, got {type(value).__name__}")
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"tol = {value} must be finite and >= 0")
    return float(value)


class hessian:  # noqa: N801  (PyHessian's class name)
    """PyHessian's ``hessian(model, criterion, data=None, dataloader=None, cuda=True)``.

    data=(inputs, targets) or dataloader=an iterable of (inputs, targets) batches (read once here;
    the Hessian is the average over batches weighted by batch size, as PyHessian's). The model is
    put in eval mode and left there, as PyHessian does. ``cuda``: PyHessian moves the data to the GPU
    and expects the model there already; here everything runs where the model's parameters are, so
    ``cuda=True`` on a CPU-only machine simply runs on the CPU (a warning is given only if CUDA is
    available but the model is on the CPU). Keywords beyond PyHessian's: ``accurate`` (flatmin's
    solvers), ``seed`` (their counter-based probes; PyHessian mode draws from torch's generator),
    ``progress`` (stderr progress lines).
    """

    def __init__(self, model, criterion, data=None, dataloader=None, cuda=True, accurate=False, seed=0,
                 progress=False):
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if (data is None) == (dataloader is None):
            raise ValueError("pass exactly one of data=(inputs, targets) and dataloader=...")
        self._loss, self._reduction = _loss_of(criterion)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.model = model.eval()
        self.criterion = criterion
        self.accurate = bool(accurate)
        self.seed = _int_arg("seed", seed, 0)
        self.progress = bool(progress)
        self.device = str(self.params[0].device)
        if cuda and self.params[0].device.type == "cpu" and torch.cuda.is_available():
            warnings.warn("flatmin.pyhessian: cuda=True but the model is on the CPU: running on the CPU "
                          "(flatmin never moves the model; call model.cuda() first)", RuntimeWarning, stacklevel=2)
        self.full_dataset = data is None
        if data is not None:
            if not (isinstance(data, (tuple, list)) and len(data) == 2):
                raise TypeError("data must be a pair (inputs, targets) of tensors")
            self.data = data
            self.inputs, self.targets = data
            self._batch_size = 0
        else:
            if self._reduction == "sum":
                raise ValueError("dataloader mode with reduction='sum' is not supported (PyHessian weights each "
                                 "batch's Hessian by its size): use reduction='mean' or data=(inputs, targets)")
            self.data = dataloader
            xs, ys = [], []
            for batch in dataloader:
                if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
                    raise TypeError("dataloader batches must be (inputs, targets) pairs")
                xs.append(batch[0])
                ys.append(batch[1])
            if not xs:
                raise ValueError("dataloader yielded no batches")
            if not all(torch.is_tensor(t) for t in xs + ys):
                raise TypeError("dataloader batches must hold tensors")
            self.inputs, self.targets = torch.cat(xs), torch.cat(ys)
            self._batch_size = int(xs[0].shape[0])
        if not (torch.is_tensor(self.inputs) and torch.is_tensor(self.targets)):
            raise TypeError("data must hold tensors (inputs, targets)")
        self.n_params = sum(p.numel() for p in self.params)
        self.result = None   # SpectrumResult of the last call: residuals, status, hvp_count, summary.json
        self.hvp_count = 0   # HVPs over all calls

    # ------------------------------------------------------------------------------------------ core
    def _run(self, options):
        options["compat"] = "accurate" if self.accurate else "pyhessian"
        options["seed"] = self.seed
        out = _C.hessian_analyze(self.model, self.inputs, self.targets, self._loss, self._reduction, "",
                                 self.device, "", 0.0, self._batch_size, json.dumps(options), False,
                                 self.progress)
        self.result = SpectrumResult(json.loads(out["summary"]), out)
        self.hvp_count += int(self.result.hvp_count or 0)
        if self.accurate and not self.result.converged:
            warnings.warn(f"flatmin.pyhessian: {self.result.status}: {self.result.to_json().get('message', '')}",
                          RuntimeWarning, stacklevel=3)
        return out

    def _unflatten(self, flat):
        vs, i = [], 0
        for p in self.params:
            n = p.numel()
            vs.append(flat[i:i + n].view(p.shape).to(device=p.device, dtype=p.dtype))
            i += n
        return vs

    # ------------------------------------------------------------------------------- PyHessian's API
    def eigenvalues(self, maxIter=100, tol=1e-3, top_n=1):  # noqa: N803  (PyHessian's names)
        """(eigenvalues, eigenvectors): top_n eigenvalues and the eigenvectors as lists of tensors shaped
        like the parameters. PyHessian mode: power iteration with deflation (largest magnitude first,
        maxIter/tol its stopping rule). accurate=True: Spectra, largest algebraic first, maxIter/tol
        unused (relative Ritz tolerance 1e-6); residuals in ``self.result.residuals``."""
        max_iter = _int_arg("maxIter", maxIter, 1)
        tol = _tol_arg(tol)
        top_n = _int_arg("top_n", top_n, 1)
        if top_n > self.n_params:
            raise ValueError(f"top_n = {top_n} exceeds the number of parameters ({self.n_params})")
        out = self._run({"top_k": top_n, "power_max_iter": max_iter, "power_tol": tol})
        return list(self.result.eigenvalues), [self._unflatten(v) for v in out["eigenvectors"]]

    def trace(self, maxIter=100, tol=1e-3):  # noqa: N803
        """The list of Hutchinson samples vᵀHv (their mean estimates tr H). PyHessian mode: Rademacher
        probes until the running mean changes by < tol (relative) or maxIter samples. accurate=True:
        flatmin's Hutchinson, stopping when the 95% CI half-width is ≤ 1% of the mean (tol unused) or
        at maxIter samples; ``self.result.trace_stderr`` is its standard error."""
        max_iter = _int_arg("maxIter", maxIter, 2 if self.accurate else 1)
        tol = _tol_arg(tol)
        opts = {"trace": True, "trace_max_iter": max_iter, "trace_tol": tol}
        if self.accurate:
            opts.update(trace_max_samples=max_iter, trace_min_samples=min(10, max_iter))
        self._run(opts)
        return list(self.result.to_json()["trace"]["samples"])

    def density(self, iter=100, n_v=1):  # noqa: A002  (PyHessian's name)
        """(eigen_list_full, weight_list_full): per run, the Gauss-quadrature nodes (ascending) and weights
        of `iter` Lanczos steps from a Rademacher start (PyHessian's Lanczos; accurate=True: full
        reorthogonalisation, steps capped at the number of parameters). Smooth them with PyHessian's
        density_plot or read ``self.result.density``."""
        steps = _int_arg("iter", iter, 1)
        runs = _int_arg("n_v", n_v, 1)
        out = self._run({"density": True, "slq_steps": steps, "slq_runs": runs})
        return [list(q) for q in out["slq_nodes"]], [list(w) for w in out["slq_weights"]]
