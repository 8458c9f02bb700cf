"""flatmin.theory against `flatmin-theory` on the same configs: escape-time (summary.json), the exact
quadrature, miadam-gain (its CSV) and regret (regret.csv), plus bad input and divergence."""
import csv
import json

import numpy as np
import pytest

from flatmin import theory

from conftest import run_cli, write_json

ESCAPE = {"landscape": {"type": "double_well", "dL": 1, "k": 1.5}, "noise": "sgd_shaped", "dynamics": "sgd",
          "lr": 0.1, "batch": 1, "beta1": 0, "dt": 0.002, "paths": 64, "seed": 3, "t_max": 1000, "threads": 1}
REGRET = {"problem": "noisy_quadratic", "target": 1.0, "sigma": 0.5, "a_width": 0.5, "T": 2000, "alpha": 0.1,
          "h": 0.5, "beta1": 0.9, "lambda": 1.0, "beta2": 0.999, "eps": 1e-8, "reps": 4, "seed": 1,
          "optimizers": [{"name": "adam"}, {"name": "miadam1", "kappa": 0.98}]}
TIMING = {"wall_time_s", "particle_steps_per_s"}


def strip(d):
    return {k: v for k, v in d.items() if k not in TIMING}


def test_escape_time_equals_the_cli_summary(flatmin_bin, tmp_path):
    ours = theory.escape_time(ESCAPE)
    run_cli(flatmin_bin, "flatmin-theory", "escape-time", "--config", write_json(tmp_path / "c.json", ESCAPE),
            "--out", tmp_path / "out")
    with open(tmp_path / "out" / "summary.json") as f:
        cli = json.load(f)
    surv = ours.pop("survival")
    cli_surv = cli.pop("survival")
    assert np.array_equal(surv["t"], cli_surv["t"]) and np.array_equal(surv["S"], cli_surv["S"])
    assert strip(ours) == strip(cli)
    assert abs(ours["exact"] - 8.36) < 0.005  # docs/theory.md §8(a)


def test_exact_escape_is_the_quadrature_of_the_summary():
    problem = {k: v for k, v in ESCAPE.items() if k not in {"paths", "seed", "threads"}}
    e = theory.exact_escape(problem)
    assert e["time"] == theory.escape_time(ESCAPE)["exact"]


def test_miadam_gain_equals_the_cli_csv(flatmin_bin, tmp_path):
    g = theory.miadam_gain(kappa=0.9, order=2, lr=0.01, steps=50)
    run_cli(flatmin_bin, "flatmin-theory", "miadam-gain", "--kappa", 0.9, "--order", 2, "--lr", 0.01, "--steps", 50,
            "--out", tmp_path / "g.csv")
    with open(tmp_path / "g.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(float(r["step"])) for r in rows] == g["step"].tolist()
    assert [float(r["buffer_gain"]) for r in rows] == g["buffer_gain"].tolist()
    assert [float(r["step_ratio"]) for r in rows] == g["step_ratio"].tolist()
    assert g["steady_step_ratio"] == pytest.approx((0.01 / 0.1) ** 2, rel=1e-12)


def test_regret_equals_the_cli_csv(flatmin_bin, tmp_path):
    ours = theory.regret(REGRET)
    run_cli(flatmin_bin, "flatmin-theory", "regret", "--config", write_json(tmp_path / "r.json", REGRET),
            "--out", tmp_path / "out")
    with open(tmp_path / "out" / "regret.csv") as f:
        rows = list(csv.DictReader(f))
    flat = [(int(t), c["optimizer"], float(m), float(lo), float(hi))
            for c in ours["curves"] for t, m, lo, hi in zip(c["t"], c["R_over_T"], c["lo95"], c["hi95"])]
    assert flat == [(int(r["t"]), r["optimizer"], float(r["R_over_T"]), float(r["lo95"]), float(r["hi95"])) for r in rows]


def test_bad_input_and_divergence():
    with pytest.raises(ValueError, match="did you mean 'paths'"):
        theory.escape_time({**ESCAPE, "pahts": 3})
    with pytest.raises(TypeError, match="'paths' must be an integer"):
        theory.escape_time({**ESCAPE, "paths": "many"})
    with pytest.raises(ValueError, match="kappa"):
        theory.miadam_gain(kappa=1.5)
    with pytest.raises(FloatingPointError, match="diverged"):
        theory.regret({**REGRET, "alpha": 1e300, "T": 100})
