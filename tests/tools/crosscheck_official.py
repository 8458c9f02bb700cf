#!/usr/bin/python3
"""Cross-check flatmin's MIAdam1/2/3, DualAdam and InvAdam against the official Python semantics.

For every case: build an optim-replay spec (explicit seeded gradients or a quadratic), run
`flatmin optim-replay --spec S.json --out T.csv`, run the restated official optimizer
(tests/tools/official_optimizers.py) on the same float64 parameters and gradients, and compare every
parameter after every step.

MIAdam's step() gets epoch = 1 + (t−1)//steps_per_epoch, kappa = kappa and sub_epoch = switch_epoch,
as the replay contract (optim/replay.cpp) sets the epoch before step t.

Tolerance (float64; the two sides run the same ops; differences come only from op order and FMA:
torch's CPU add_(x, alpha=…) and addcmul_ are fused, flatmin's optim/ is built with -ffp-contract=off):
a value pair (a, b) fails when |a − b| > 1e-12 · max(|a|, |b|, 1e-2 · S), where S is the largest
|value| of that coordinate over the run (i.e. rtol 1e-12 with atol 1e-14·S). The floor only matters
for a coordinate passing close to zero: there θ_t = θ_{t−1} − u_t cancels, and a difference of a few
ulp(S) carried from earlier steps would otherwise look like a large relative one.
Reported per case: max |a − b|, the max of that relative measure (with the step and column), and
the plain pointwise max |a − b| / max(|a|, |b|) for information.

Usage: crosscheck_official.py [FLATMIN_BIN] [--keep DIR] [--case SUBSTRING]
FLATMIN_BIN defaults to $FLATMIN_BIN, then /work/main/build/bin/flatmin.
Prints one line per case, then `N passed, M failed`; exit 0 iff all passed (2 on a setup error).
Needs numpy + torch (run with Debian's /usr/bin/python3, torch 1.13).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import official_optimizers as official  # noqa: E402

REL_TOL = 1e-12
FLOOR_FRACTION = 1e-2
DEFAULT_BIN = "/work/main/build/bin/flatmin"

MIADAM_CLASSES = {"miadam1": official.MIAdam1, "miadam2": official.MIAdam2, "miadam3": official.MIAdam3}


# ---------------------------------------------------------------------------------------------
# Inputs

def make_problem(seed, sizes, steps):
    """Seeded initial parameters and gradients (a list per step of a list per parameter).

    Gradient of coordinate j: scale_j · (drift_j + N(0, 1)), scale_j log-uniform in [1e-3, 3], drift_j
    uniform in [−1, 1]. Coordinate 0 of parameter 0 has scale 1e-9 (ε-dominated); coordinate 1 of
    parameter 0 is exactly zero at every third step. Initial values are ±[0.5, 2] with the sign of
    −drift_j, i.e. on the side the coordinate drifts to, so that few coordinates pass near zero.
    """
    rng = np.random.default_rng(seed)
    scales = [np.exp(rng.uniform(np.log(1e-3), np.log(3.0), size=n)) for n in sizes]
    drift = [rng.uniform(-1.0, 1.0, size=n) for n in sizes]
    scales[0][0] = 1e-9
    params = [[float(x) for x in -np.sign(d) * rng.uniform(0.5, 2.0, size=len(d))] for d in drift]
    grads = []
    for t in range(steps):
        step = []
        for i, n in enumerate(sizes):
            g = scales[i] * (drift[i] + rng.standard_normal(n))
            if i == 0 and n > 1 and t % 3 == 2:
                g[1] = 0.0
            step.append([float(x) for x in g])
        grads.append(step)
    return params, grads


SIZES = [6, 3]


# ---------------------------------------------------------------------------------------------
# Cases. Each case: name, spec (the optim-replay JSON) and make_ref(params) -> (optimizer, step_fn)
# where step_fn(opt, t) runs step t (1-based) of the official restatement.

def miadam_case(name, order, lr, kappa, switch_epoch, steps, steps_per_epoch, wd=0.0, amsgrad=False,
                betas=(0.9, 0.999), eps=1e-8, seed=1, groups=None, quadratic=None, params=None):
    opt_name = f"miadam{order}"
    options = {"lr": lr, "betas": list(betas), "eps": eps, "weight_decay": wd, "amsgrad": amsgrad,
               "kappa": kappa, "switch_epoch": switch_epoch}
    spec = {"optimizer": opt_name, "options": options, "params": params, "steps": steps,
            "steps_per_epoch": steps_per_epoch}
    if quadratic is not None:
        spec["quadratic"] = quadratic
    else:
        spec["params"], spec["grads"] = make_problem(seed, SIZES, steps)
    if groups is not None:
        spec["groups"] = groups

    def make_ref(tensors):
        cls = MIADAM_CLASSES[opt_name]
        base = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=wd, amsgrad=amsgrad)
        opt = cls(torch_groups(tensors, groups, base, {}), **base)

        def step_fn(o, t):
            epoch = 1 + (t - 1) // steps_per_epoch
            o.step(epoch=epoch, kappa=kappa, sub_epoch=switch_epoch)
        return opt, step_fn

    return name, spec, make_ref


def dualadam_case(name, lr, switch_rate, steps, wd=0.0, betas=(0.9, 0.999), eps=1e-8, seed=2,
                  flatmin_name="dualadam", ref_cls=None, groups=None):
    options = {"lr": lr, "betas": list(betas), "eps": eps, "weight_decay": wd}
    if flatmin_name == "dualadam":
        options["switch_rate"] = switch_rate
    spec = {"optimizer": flatmin_name, "options": options, "steps": steps}
    spec["params"], spec["grads"] = make_problem(seed, SIZES, steps)
    if groups is not None:
        spec["groups"] = groups
    cls = ref_cls or (official.InvAdam if flatmin_name == "invadam" else official.DualAdam)

    def make_ref(tensors):
        base = dict(lr=lr, beta1=betas[0], beta2=betas[1], epsilon=eps, switch_rate=switch_rate, weight_decay=wd)
        opt = cls(torch_groups(tensors, groups, base, {"betas": None, "eps": "epsilon"}), **base)
        return opt, lambda o, t: o.step()

    return name, spec, make_ref


def torch_groups(tensors, groups, base, rename):
    """The spec's groups as torch param-group dicts (per-group options renamed to the class's names)."""
    if groups is None:
        return [{"params": tensors}]
    out = []
    for g in groups:
        d = {"params": [tensors[i] for i in g["params"]]}
        for k, v in g.get("options", {}).items():
            if k == "betas" and "beta1" in base:
                d["beta1"], d["beta2"] = v
            elif k == "betas":
                d["betas"] = tuple(v)
            else:
                d[rename.get(k) or k] = v
        out.append(d)
    return out


def cases():
    out = []
    # MIAdam1/2/3 × {plain, wd, amsgrad, wd+amsgrad}; MI phase = epochs 1..3 = steps 1..15 of 40.
    for order in (1, 2, 3):
        for wd, ams in ((0.0, False), (1e-2, False), (0.0, True), (1e-2, True)):
            tag = "plain" if (wd == 0 and not ams) else "+".join(x for x, on in (("wd", wd != 0), ("amsgrad", ams)) if on)
            out.append(miadam_case(f"miadam{order}_{tag}", order, lr=0.3, kappa=0.9, switch_epoch=4,
                                   steps=40, steps_per_epoch=5, wd=wd, amsgrad=ams, seed=10 * order + (2 if ams else 0) + (1 if wd else 0)))
    # MIAdam edge cases: κ = 1, no MI phase at all, MI phase for the whole run, recipe-like settings.
    out.append(miadam_case("miadam2_kappa1", 2, lr=0.2, kappa=1.0, switch_epoch=3, steps=30, steps_per_epoch=4, seed=41))
    out.append(miadam_case("miadam1_switch0_adam", 1, lr=0.1, kappa=0.9, switch_epoch=0, steps=20, steps_per_epoch=5, seed=42))
    out.append(miadam_case("miadam3_all_mi", 3, lr=0.5, kappa=0.8, switch_epoch=99, steps=30, steps_per_epoch=3, seed=43))
    out.append(miadam_case("miadam1_recipe", 1, lr=1e-3, kappa=0.98, switch_epoch=20, steps=60, steps_per_epoch=2,
                           wd=5e-5, seed=44))
    # The contract's example: two groups (different lr), quadratic gradients g = a ⊙ (θ − c).
    out.append(miadam_case("miadam2_issue_quadratic_groups", 2, lr=0.01, kappa=0.9, switch_epoch=3, steps=40,
                           steps_per_epoch=5, params=[[1.0, -2.0, 0.5], [0.3, 0.2]],
                           groups=[{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
                           quadratic={"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}))
    out.append(miadam_case("miadam3_two_groups", 3, lr=0.3, kappa=0.9, switch_epoch=3, steps=30, steps_per_epoch=5,
                           seed=45, groups=[{"params": [1], "options": {"lr": 0.4, "weight_decay": 0.05}},
                                            {"params": [0], "options": {"amsgrad": False}}]))
    # DualAdam: s = 0.2 (blend ends after step 3: 1 − 4·0.2 = 0.19999999999999996 < 0.2 in double), s = 0.05
    # (ends after step 18, not 19: 1 − 19·0.05 = 0.04999999999999993), weight decay, two groups.
    out.append(dualadam_case("dualadam_s0.2_cutoff_step3", lr=0.05, switch_rate=0.2, steps=12, seed=51))
    out.append(dualadam_case("dualadam_s0.05", lr=0.05, switch_rate=0.05, steps=40, seed=52))
    out.append(dualadam_case("dualadam_s0.05_wd", lr=0.05, switch_rate=0.05, steps=40, wd=0.1, seed=53))
    out.append(dualadam_case("dualadam_s0.02_two_groups", lr=0.05, switch_rate=0.02, steps=60, seed=54,
                             groups=[{"params": [1], "options": {"lr": 0.02, "weight_decay": 0.01}},
                                     {"params": [0], "options": {"betas": [0.8, 0.99]}}]))
    # InvAdam (flatmin 'invadam', r ≡ 1) vs the official DualAdam with r forced to 1 and no cut-off.
    out.append(dualadam_case("invadam_vs_dualadam_r1", lr=0.05, switch_rate=0.01, steps=30, seed=61,
                             flatmin_name="invadam"))
    out.append(dualadam_case("invadam_vs_dualadam_r1_wd", lr=0.05, switch_rate=0.01, steps=30, wd=0.1, seed=62,
                             flatmin_name="invadam"))
    # DualAdam with s = 0: r_t = 1 ≥ 0 at every step, i.e. InvAdam through the official schedule itself.
    out.append(dualadam_case("dualadam_s0_is_invadam", lr=0.05, switch_rate=0.0, steps=30, seed=63,
                             ref_cls=official.InvAdam))
    return out


# ---------------------------------------------------------------------------------------------
# Running

def run_flatmin(binary, spec, workdir, name):
    spec_path = os.path.join(workdir, f"{name}.json")
    out_path = os.path.join(workdir, f"{name}.csv")
    with open(spec_path, "w") as f:
        json.dump(spec, f)  # repr() floats: exact round trip
    proc = subprocess.run([binary, "optim-replay", "--spec", spec_path, "--out", out_path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"flatmin exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}")
    with open(out_path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    data = np.array([[float(x) for x in r] for r in body], dtype=np.float64)
    return header, data


def run_reference(spec, make_ref):
    tensors = [torch.tensor(p, dtype=torch.float64) for p in spec["params"]]
    opt, step_fn = make_ref(tensors)
    steps = spec["steps"]
    quad = spec.get("quadratic")
    if quad is not None:
        qa = [torch.tensor(a, dtype=torch.float64) for a in quad["a"]]
        qc = [torch.tensor(c, dtype=torch.float64) for c in quad["c"]]
    rows = [np.concatenate([[0.0]] + [p.detach().numpy().copy() for p in tensors])]
    for t in range(1, steps + 1):
        for i, p in enumerate(tensors):
            if quad is not None:
                p.grad = qa[i] * (p.detach() - qc[i])  # g = a ⊙ (θ − c), as the replay
            else:
                p.grad = torch.tensor(spec["grads"][t - 1][i], dtype=torch.float64)
        step_fn(opt, t)
        rows.append(np.concatenate([[float(t)]] + [p.detach().numpy().copy() for p in tensors]))
    return np.array(rows, dtype=np.float64)


def compare(header, got, ref):
    """(max_abs, max_rel, where, pointwise_rel, first_bad) over all parameter columns of all rows."""
    if got.shape != ref.shape:
        raise RuntimeError(f"flatmin wrote {got.shape[0]} rows × {got.shape[1]} columns, expected {ref.shape}")
    if not np.array_equal(got[:, 0], ref[:, 0]):
        raise RuntimeError("flatmin's step column is not 0..steps")
    a, b = got[:, 1:], ref[:, 1:]
    diff = np.abs(a - b)
    scale = np.max(np.abs(b), axis=0, keepdims=True)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), FLOOR_FRACTION * scale)
    rel = np.divide(diff, denom, out=np.zeros_like(diff), where=denom > 0)
    rel[~np.isfinite(a) | ~np.isfinite(b)] = np.inf
    rel[np.isnan(a) & np.isnan(b)] = 0.0
    big = np.maximum(np.abs(a), np.abs(b))
    pointwise = np.divide(diff, big, out=np.zeros_like(diff), where=big > 0)
    k = np.unravel_index(np.argmax(rel), rel.shape)
    where = (int(got[k[0], 0]), header[1 + k[1]])
    bad = np.argwhere(rel > REL_TOL)
    first_bad = None
    if len(bad):
        r, c = bad[0]  # argwhere is row-major: the earliest step first
        first_bad = (int(got[r, 0]), header[1 + c], a[r, c], b[r, c], rel[r, c])
    return float(np.nanmax(diff)), float(rel.max()), where, float(np.nanmax(pointwise)), first_bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("flatmin", nargs="?", default=os.environ.get("FLATMIN_BIN", DEFAULT_BIN))
    ap.add_argument("--keep", metavar="DIR", help="write specs and CSVs to DIR and keep them")
    ap.add_argument("--case", metavar="SUBSTRING", help="run only the cases whose name contains SUBSTRING")
    args = ap.parse_args()
    if not (os.path.isfile(args.flatmin) and os.access(args.flatmin, os.X_OK)):
        print(f"error: flatmin binary not found or not executable: {args.flatmin}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)

    selected = [c for c in cases() if not args.case or args.case in c[0]]
    if not selected:
        print(f"error: no case matches '{args.case}'", file=sys.stderr)
        return 2
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="flatmin_crosscheck_") as tmp:
        workdir = args.keep or tmp
        os.makedirs(workdir, exist_ok=True)
        width = max(len(c[0]) for c in selected)
        for name, spec, make_ref in selected:
            try:
                header, got = run_flatmin(args.flatmin, spec, workdir, name)
                ref = run_reference(spec, make_ref)
                max_abs, max_rel, where, pointwise, first_bad = compare(header, got, ref)
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
                print(f"FAIL {line}; first rel > {REL_TOL:g} at step {t}, {col}: "
                      f"flatmin {a!r} vs official {b!r} (rel {r:.3e})")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
