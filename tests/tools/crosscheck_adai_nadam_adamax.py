#!/usr/bin/python3
"""Cross-check flatmin's adai/adaiw/adaiv2, nadam/nadam_keras and adamax against the reference code.

References (all float64; run with Debian's /usr/bin/python3, torch 1.13):
  * Adai, AdaiW, AdaiV2: `AdaiRestated` below, a RESTATEMENT (not a copy) of the official step of
    zeke-xie/adaptive-inertia-adai@e6c1b9d adai_optim/adai.py and adaiv2.py as described in
    ../shared/spec/optimizers.md §10: the same tensor ops in the same order, two loops over all groups,
    v̄ accumulated over every parameter of every group. Unlike the official code it does not write
    the L2 term into p.grad (it uses a temporary; the numbers are the same).
  * nadam: torch.optim.NAdam of the installed torch 1.13 with foreach=True (its multi-tensor path
    has the correct Π_{t+1} = Π_t·μ_{t+1}, i.e. torch ≥ 2.0 semantics) and, for
    `torch113_mu_product_bug: true`, foreach=False (1.13's single-tensor path, μ_t used twice).
    torch keeps Π in a 0-dim tensor of the DEFAULT dtype, so this script sets the default dtype to
    float64 (with float32, torch's Π carries float32 rounding and differs from flatmin's double Π by
    ~1e-9 relative).
  * nadam_keras: `NadamKerasRestated` below, a restatement of the MIAdam repository's Keras-style
    Nadam as given in the spec §5.2 (m' = m/(1−Π_tμ_{t+1}), g' = g/(1−Π_t),
    m̄ = (1−μ_t)g' + μ_{t+1}m', θ −= lr·m̄/(√(v/(1−β2^t))+ε)).
  * adamax: torch.optim.Adamax of the installed torch 1.13 (single-tensor path).
Cases, comparison and tolerance are those of crosscheck_official.py (rtol 1e-12 with a floor).

Usage: crosscheck_adai_nadam_adamax.py [FLATMIN_BIN] [--case SUBSTRING]
Prints one line per case, then `N passed, M failed`; exit 0 iff all passed (2 on a setup error).
"""

import argparse
import os
import sys
import tempfile

import torch
from torch.optim.optimizer import Optimizer

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crosscheck_official as base  # noqa: E402  (make_problem, torch_groups, run_flatmin, run_reference, compare)


class AdaiRestated(Optimizer):
    """Official Adai (v2=False) / AdaiV2 (v2=True) step, restated (spec §10)."""

    def __init__(self, params, lr, betas=(0.1, 0.99), eps=1e-3, weight_decay=0.0, decoupled=False,
                 dampening=1.0, v2=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled=decoupled, dampening=dampening))
        self.v2 = v2

    @torch.no_grad()
    def step(self):
        count, vhat_sum, grads = 0, 0.0, {}
        for group in self.param_groups:  # pass 1
            for p in group["params"]:
                if p.grad is None:
                    continue
                count += p.numel()
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                    st["beta1_prod"] = torch.ones_like(p)
                st["step"] += 1
                beta2 = group["betas"][1]
                grad = p.grad
                if group["weight_decay"] != 0 and not group["decoupled"]:
                    grad = grad.add(p, alpha=group["weight_decay"])
                elif group["weight_decay"] != 0 and group["decoupled"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                grads[p] = grad
                st["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                vhat_sum += st["exp_avg_sq"].sum() / (1 - beta2 ** st["step"])
        mean = vhat_sum / count
        for group in self.param_groups:  # pass 2
            for p in group["params"]:
                if p.grad is None:
                    continue
                st, grad = self.state[p], grads[p]
                beta0, beta2 = group["betas"]
                vhat = st["exp_avg_sq"] / (1 - beta2 ** st["step"])
                if self.v2:
                    d = group["dampening"]
                    beta1 = (1.0 - (vhat / mean).pow(1.0 / (3 - 2 * d)).mul(beta0)).clamp(0.0, 1 - group["eps"])
                    beta3 = (1.0 - beta1).pow(d)
                else:
                    beta1 = (1.0 - (vhat / mean).mul(beta0)).clamp(0.0, 1 - group["eps"])
                    beta3 = 1 - beta1
                st["beta1_prod"].mul_(beta1)
                st["exp_avg"].mul_(beta1).addcmul_(beta3, grad)
                m_hat = st["exp_avg"] / (1 - st["beta1_prod"])
                if self.v2:
                    m_hat = m_hat * beta0 ** (1.0 - group["dampening"])
                p.add_(m_hat, alpha=-group["lr"])


class NadamKerasRestated(Optimizer):
    """The MIAdam repository's Keras-style Nadam, restated from the spec §5.2."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, schedule_decay=4e-3):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, schedule_decay=schedule_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"], st["m_schedule"] = 0, 1.0
                    st["exp_avg"], st["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
                st["step"] += 1
                t, psi, grad = st["step"], group["schedule_decay"], p.grad
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                prod = st["m_schedule"] * mu
                prod_next = prod * mu_next
                st["m_schedule"] = prod
                st["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                st["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                m_bar = (grad / (1.0 - prod)).mul(1.0 - mu).add(st["exp_avg"] / (1.0 - prod_next), alpha=mu_next)
                denom = (st["exp_avg_sq"] / (1 - beta2 ** t)).sqrt().add_(group["eps"])
                p.addcdiv_(m_bar, denom, value=-group["lr"])


def case(name, flatmin_name, options, make, seed, steps=40, groups=None):
    spec = {"optimizer": flatmin_name, "options": options, "steps": steps}
    spec["params"], spec["grads"] = base.make_problem(seed, base.SIZES, steps)
    if groups is not None:
        spec["groups"] = groups

    def make_ref(tensors):
        return make(base.torch_groups(tensors, groups, dict(options), {})), lambda o, t: o.step()

    return name, spec, make_ref


def adai_kwargs(o, decoupled, v2):
    return dict(lr=o["lr"], betas=tuple(o.get("betas", (0.1, 0.99))), eps=o.get("eps", 1e-3),
                weight_decay=o.get("weight_decay", 0.0), decoupled=decoupled, dampening=o.get("dampening", 1.0), v2=v2)


def cases():
    out = []
    adai = [("adai_plain", "adai", {"lr": 0.1}, False, False),
            ("adai_l2", "adai", {"lr": 0.1, "weight_decay": 5e-2}, False, False),
            ("adaiw", "adaiw", {"lr": 0.1, "weight_decay": 5e-2}, True, False),
            ("adaiv2_d0.5", "adaiv2", {"lr": 0.1, "weight_decay": 5e-2, "dampening": 0.5}, True, True),
            ("adaiv2_d0_l2", "adaiv2", {"lr": 0.1, "dampening": 0.0, "decoupled": False, "weight_decay": 1e-2}, False, True),
            ("adaiv2_d1_betas_eps", "adaiv2", {"lr": 0.05, "betas": [0.3, 0.95], "eps": 1e-2}, True, True)]
    for i, (name, fname, o, dec, v2) in enumerate(adai):
        ref_o = {k: v for k, v in o.items() if k != "decoupled"}
        out.append(case(name, fname, o, lambda g, ro=ref_o, d=dec, v=v2: AdaiRestated(g, **adai_kwargs(ro, d, v)), 70 + i))
    # two groups: v̄ over both; the per-group options are renamed by torch_groups (betas → tuple)
    out.append(case("adai_two_groups_global_mean", "adai", {"lr": 0.1, "weight_decay": 1e-2},
                    lambda g: AdaiRestated(g, **adai_kwargs({"lr": 0.1, "weight_decay": 1e-2}, False, False)), 80,
                    groups=[{"params": [1], "options": {"lr": 0.3, "betas": [0.2, 0.9]}}, {"params": [0], "options": {}}]))
    for wd in (0.0, 1e-2):
        out.append(case(f"nadam_wd{wd}", "nadam", {"lr": 0.05, "weight_decay": wd},
                        lambda g, w=wd: torch.optim.NAdam(g, lr=0.05, weight_decay=w, foreach=True), 81))
        out.append(case(f"nadam_torch113_bug_wd{wd}", "nadam",
                        {"lr": 0.05, "weight_decay": wd, "torch113_mu_product_bug": True},
                        lambda g, w=wd: torch.optim.NAdam(g, lr=0.05, weight_decay=w, foreach=False), 82))
    out.append(case("nadam_momentum_decay_groups", "nadam", {"lr": 0.05, "momentum_decay": 0.05},
                    lambda g: torch.optim.NAdam(g, lr=0.05, momentum_decay=0.05, foreach=True), 83,
                    groups=[{"params": [1], "options": {"lr": 0.01, "betas": [0.8, 0.99]}}, {"params": [0], "options": {}}]))
    out.append(case("nadam_keras", "nadam_keras", {"lr": 0.05, "schedule_decay": 4e-3},
                    lambda g: NadamKerasRestated(g, lr=0.05, schedule_decay=4e-3), 84))
    out.append(case("nadam_keras_vs_torch_nadam", "nadam_keras", {"lr": 0.05, "schedule_decay": 0.02},
                    lambda g: torch.optim.NAdam(g, lr=0.05, momentum_decay=0.02, foreach=True), 85))
    for wd in (0.0, 1e-2):
        out.append(case(f"adamax_wd{wd}", "adamax", {"lr": 0.05, "weight_decay": wd},
                        lambda g, w=wd: torch.optim.Adamax(g, lr=0.05, weight_decay=w, foreach=False), 86))
    out.append(case("adamax_two_groups", "adamax", {"lr": 0.05}, lambda g: torch.optim.Adamax(g, lr=0.05, foreach=False),
                    87, groups=[{"params": [1], "options": {"lr": 0.01, "eps": 1e-3}},
                                {"params": [0], "options": {"betas": [0.8, 0.99]}}]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("flatmin", nargs="?", default=os.environ.get("FLATMIN_BIN", base.DEFAULT_BIN))
    ap.add_argument("--case", metavar="SUBSTRING", help="run only the cases whose name contains SUBSTRING")
    args = ap.parse_args()
    if not (os.path.isfile(args.flatmin) and os.access(args.flatmin, os.X_OK)):
        print(f"error: flatmin binary not found or not executable: {args.flatmin}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # torch's NAdam keeps Π in a default-dtype tensor
    selected = [c for c in cases() if not args.case or args.case in c[0]]
    if not selected:
        print(f"error: no case matches '{args.case}'", file=sys.stderr)
        return 2
    passed = failed = 0
    width = max(len(c[0]) for c in selected)
    with tempfile.TemporaryDirectory(prefix="flatmin_crosscheck_") as tmp:
        for name, spec, make_ref in selected:
            try:
                header, got = base.run_flatmin(args.flatmin, spec, tmp, name)
                ref = base.run_reference(spec, make_ref)
                max_abs, max_rel, where, pointwise, first_bad = base.compare(header, got, ref)
            except Exception as e:  # one broken case must not hide the others
                failed += 1
                print(f"FAIL {name:<{width}}  error: {e}")
                continue
            line = (f"{name:<{width}}  steps={spec['steps']:<3d} max_abs={max_abs:.3e} "
                    f"max_rel={max_rel:.3e} (step {where[0]}, {where[1]}) pointwise_rel={pointwise:.3e}")
            if first_bad is None:
                passed += 1
                print(f"PASS {line}")
            else:
                failed += 1
                t, col, a, b, r = first_bad
                print(f"FAIL {line}; first rel > {base.REL_TOL:g} at step {t}, {col}: flatmin {a!r} vs reference {b!r}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
