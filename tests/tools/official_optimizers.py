"""Restatements of the official MIAdam1/2/3 and DualAdam update rules, for cross-checking flatmin.

These classes are RESTATEMENTS written from the spec (../shared/spec/optimizers.md §12.2 for MIAdam,
§13.2 for DualAdam), which describes the official code:
  * LongJin-lab/MIAdam@ffbb8d4  optimizers/MIAdam1.py, MIAdam2.py, MIAdam3.py
  * LongJin-lab/DualAdam@e40133b  DualAdam.py
They are NOT copies of the official files. They follow the official tensor-op sequence step by step
(same ops, same order, same Python-float scalar arithmetic), so in float64 they reproduce the official
results up to nothing at all, and flatmin up to op-order/FMA rounding.

Deliberate difference from the official MIAdam classes: the κ-buffers live in self.state[p] only.
The official classes also append them to an instance list that is never cleared and index it by
position (spec §12.4 item 1), which is harmless with one param group and wrong with several.

InvAdam is not a class in the official repository. `InvAdam` below is DualAdam with the blend weight
forced to r ≡ 1 and the r ≥ switch_rate cut-off disabled (spec §13.2, last bullet).

Only torch + stdlib. Written for torch 1.13 (Debian's python3-torch); parameters must be float64.
"""

import math

import torch
from torch.optim.optimizer import Optimizer

__all__ = ["MIAdam1", "MIAdam2", "MIAdam3", "DualAdam", "InvAdam"]


def _require_float64(param_groups, who):
    for group in param_groups:
        for p in group["params"]:
            if p.dtype != torch.float64:
                raise TypeError(f"{who}: this cross-check restatement expects float64 parameters, got {p.dtype}")


class _MIAdamK(Optimizer):
    """MIAdamK (K = ORDER κ-buffers), official semantics (spec §12.2).

    Constructor as the official classes: (params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, amsgrad=False). κ, the current epoch and the switch epoch are step() arguments:
    step(closure=None, epoch=0, kappa=0, sub_epoch=0); the MI branch runs while epoch < sub_epoch.
    """

    ORDER = 0  # set by the subclasses

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)
        _require_float64(self.param_groups, type(self).__name__)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)

    @torch.no_grad()
    def step(self, closure=None, epoch=0, kappa=0, sub_epoch=0):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        K = self.ORDER
        buf_keys = ["buf_exp_avg", "buf_exp_avg2", "buf_exp_avg3"][:K]
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, weight_decay, amsgrad = group["lr"], group["eps"], group["weight_decay"], group["amsgrad"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if grad.is_sparse:
                    raise RuntimeError("MIAdam does not support sparse gradients")
                state = self.state[param]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    for key in buf_keys:
                        state[key] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    if amsgrad:
                        state["max_exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["step"] += 1
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step

                if weight_decay != 0:
                    grad = grad.add(param, alpha=weight_decay)

                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if amsgrad:
                    max_exp_avg_sq = state["max_exp_avg_sq"]
                    torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = (max_exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                else:
                    denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)

                if epoch < sub_epoch:
                    step_size = (lr ** (K + 1)) / bias_correction1
                    prev = exp_avg
                    for key in buf_keys:  # b1 ← κ b1 + m; b2 ← κ b2 + b1; b3 ← κ b3 + b2
                        buf = state[key]
                        buf.mul_(kappa).add_(prev)
                        prev = buf
                    param.addcdiv_(prev, denom, value=-step_size)
                else:
                    step_size = lr / bias_correction1
                    param.addcdiv_(exp_avg, denom, value=-step_size)
        return loss


class MIAdam1(_MIAdamK):
    ORDER = 1


class MIAdam2(_MIAdamK):
    ORDER = 2


class MIAdam3(_MIAdamK):
    ORDER = 3


class DualAdam(Optimizer):
    """DualAdam, official semantics (spec §13.2).

    Constructor as the official class: (params, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
    switch_rate=0.01, weight_decay=0). One global step counter self._step, incremented once per
    step() call; r_t = max(0, 1 − t·s) computed in Python floats; blend while r_t ≥ s; decoupled
    weight decay applied before the update.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, switch_rate=0.01, weight_decay=0):
        defaults = dict(lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon, switch_rate=switch_rate,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)
        _require_float64(self.param_groups, type(self).__name__)
        self._step = 0

    def _blend(self, switch_rate):
        """(inverse_adam_rate, whether the InvAdam blend is used) at the current self._step."""
        inverse_adam_rate = max(0.0, 1.0 - self._step * switch_rate)
        return inverse_adam_rate, inverse_adam_rate >= switch_rate

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._step += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if len(state) == 0:
                    state["m"] = torch.zeros_like(p.data)
                    state["v"] = torch.zeros_like(p.data)
                m, v = state["m"], state["v"]
                beta1, beta2 = group["beta1"], group["beta2"]
                lr, epsilon = group["lr"], group["epsilon"]
                switch_rate, weight_decay = group["switch_rate"], group["weight_decay"]
                inverse_adam_rate, blend = self._blend(switch_rate)

                m.mul_(beta1).add_((1.0 - beta1) * grad)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

                m_hat = m.div(1.0 - beta1 ** self._step)
                v_hat = v.div(1.0 - beta2 ** self._step)
                ada_norm = v_hat.sqrt().add(epsilon)

                if blend:
                    inverse_update = m_hat * ada_norm
                adam_update = m_hat / ada_norm

                if weight_decay != 0:
                    # official: the deprecated p.data.add_(-weight_decay * lr, p.data) overload
                    p.data.add_(p.data, alpha=-weight_decay * lr)

                if blend:
                    p.data.add_(-lr * ((1.0 - inverse_adam_rate) * adam_update + inverse_adam_rate * inverse_update))
                else:
                    p.data.add_(-lr * adam_update)
        return loss


class InvAdam(DualAdam):
    """Pure InvAdam: DualAdam with inverse_adam_rate forced to 1 and the r ≥ s cut-off disabled.

    θ ← θ − lr·((1 − 1)·m̂/(√v̂+ε) + 1·m̂ ⊙ (√v̂+ε)), the same tensor ops as the DualAdam blend.
    switch_rate is accepted and ignored.
    """

    def _blend(self, switch_rate):
        return 1.0, True
