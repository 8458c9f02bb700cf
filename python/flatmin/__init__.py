"""flatmin for PyTorch users: the flat-minima optimizers (MIAdam, DualAdam/InvAdam, Adam+CM/CG, Adai, …)
as torch.optim optimizers, run by flatmin's C++ core.

    import flatmin
    opt = flatmin.optim.MIAdam1(model.parameters(), lr=1e-3)

Modules: ``flatmin.optim`` (optimizers), ``flatmin.hessian`` (spectra of nn.Modules), ``flatmin.pyhessian``
(PyHessian's API: change one import), ``flatmin.theory`` (escape times, κ-gain, regret).
"""
import torch  # noqa: F401  (loads LibTorch and torch's Python types before the extension)

from . import _C  # noqa: F401
from . import optim  # noqa: F401
from . import hessian  # noqa: F401
from . import pyhessian  # noqa: F401
from . import theory  # noqa: F401

__all__ = ["optim", "hessian", "pyhessian", "theory"]
__version__ = "0.1.0"
