"""Every reproduce target has a config entry with a smoke profile (or a stated smoke skip), a figure script in
make_figures.FIGURES, and, after the smoke run (REPORT_SMOKE_DIR, written by ctest report_smoke), an output
folder with summary.json and manifest.json, its figures (PNG + PDF) and its section in report.html."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "paper_figures"))
CONFIG = os.path.join(ROOT, "experiments", "configs", "reproduce.json")

with open(CONFIG) as f:
    TARGETS = json.load(f)["targets"]


def smoke_dir():
    d = os.environ.get("REPORT_SMOKE_DIR")
    if not d or not os.path.isfile(os.path.join(d, "report.json")):
        pytest.fail("REPORT_SMOKE_DIR is not a finished smoke run (ctest runs report_smoke first)")
    return d


def figure_keys(target):
    import make_figures
    return [k for k in make_figures.FIGURES if k == target or k.startswith(target + "/")]


def test_config_targets_are_the_cli_targets():
    """reproduce.json lists exactly the targets the C++ side runs (an unknown or missing one is caught)."""
    flatmin = os.path.join(os.environ.get("FLATMIN_BIN", os.path.join(ROOT, "build", "bin")), "flatmin")
    r = subprocess.run([flatmin, "reproduce", "--only", "no_such_target", "--out", os.devnull],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    report = json.load(open(os.path.join(smoke_dir(), "report.json")))
    ran = {r["target"].split("/", 1)[0] for r in report["rows"]} | {s["target"] for s in report["skipped"]}
    ran.discard("not_reproducible_here")
    assert ran == set(TARGETS)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_has_smoke_profile(target):
    profiles = TARGETS[target].get("profiles", {})
    assert "smoke" in profiles, f"{target}: no 'smoke' entry in profiles (add overrides, {{}} or a 'skip' reason)"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_has_figure_script(target):
    keys = figure_keys(target)
    assert keys, f"{target}: no figure script in make_figures.FIGURES"
    import make_figures
    for k in keys:
        assert os.path.isfile(make_figures.FIGURES[k].__file__)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_output_after_smoke(target):
    d = smoke_dir()
    folder = os.path.join(d, target)
    assert os.path.isdir(folder), f"{target}: no output folder {folder}"
    for f in ("summary.json", "manifest.json"):
        assert os.path.isfile(os.path.join(folder, f)), f"{target}: no {f}"
    summary = json.load(open(os.path.join(folder, "summary.json")))
    if "skipped" in summary:  # allowed only with the stated reason of the config's smoke profile
        assert TARGETS[target]["profiles"]["smoke"].get("skip") == summary["skipped"]
        return
    index = json.load(open(os.path.join(d, "figures", "index.json")))
    drawn = [f for k in figure_keys(target) if k in index for f in index[k]["files"]]
    assert drawn, f"{target}: make_figures drew no figure"
    for png in drawn:
        assert os.path.getsize(os.path.join(d, png)) > 0
        assert os.path.getsize(os.path.join(d, os.path.splitext(png)[0] + ".pdf")) > 0, f"{png}: no PDF sibling"
    page = open(os.path.join(d, "report.html"), encoding="utf-8").read()
    assert f'id="target-{target}"' in page
    for png in drawn:
        assert f'src="{png}"' in page


def test_smoke_skips_are_stated():
    """The targets the smoke profile skips (none today), each with its reason: printed for the test log."""
    skipped = {t: c["profiles"]["smoke"]["skip"] for t, c in TARGETS.items()
               if "skip" in c.get("profiles", {}).get("smoke", {})}
    print("smoke profile skips:", skipped or "none")
    report = json.load(open(os.path.join(smoke_dir(), "report.json")))
    assert {s["target"]: s["reason"] for s in report["skipped"]} == skipped


def test_second_smoke_run_reuses_force_redoes():
    """Time and reuse (issue 14 item 9): run_smoke.py ran the smoke command twice; the second run reused every target
    (same inputs: config, referenced config files, profile, device, code version) with the same rows, and
    `--force --only A B` redid A and B (new manifests, not reused, the same deterministic rows)."""
    reuse = json.load(open(os.path.join(smoke_dir(), "smoke_reuse.json")))
    assert reuse["first_reused"] == []  # a fresh folder: nothing to reuse
    skipped = {t for t, c in TARGETS.items() if "skip" in c.get("profiles", {}).get("smoke", {})}
    assert sorted(reuse["second_reused"]) == sorted(set(TARGETS) - skipped)
    assert reuse["rows_equal"]
    assert reuse["forced_reused"] == []
    assert sorted(reuse["forced_manifests_changed"]) == sorted(reuse["forced"])
    assert reuse["forced_rows_equal"]
    print(f"second smoke run: {reuse['second_seconds']} s (everything reused)")


# ---- targets whose rows are computed from a transcribed paper table -------------------------------------

PAPERS = os.environ.get("FLATMIN_PAPERS_DIR", os.path.join(os.path.dirname(ROOT), "shared", "papers"))


def smoke_rows(target):
    report = json.load(open(os.path.join(smoke_dir(), "report.json")))
    return [r for r in report["rows"] if r["target"] == target]


def test_table2_grid_counts_recomputed():
    """The C++ counts of Table 2 values on the 100·k/256 grid, recomputed here with exact fractions."""
    from fractions import Fraction
    cfg = TARGETS["table2_imagenet"]
    d = cfg["denominator"]
    rounded = truncated = 0
    for vals in cfg["printed"]["rows"].values():
        for v in vals:
            h = round(v * 100)
            k = round(Fraction(h, 100) * d / 100)
            x = Fraction(100 * k, d) * 100  # hundredths
            r, t = (x + Fraction(1, 2)).__floor__() == h, x.__floor__() == h
            rounded += r
            truncated += t and not r
    rows = smoke_rows("table2_imagenet")
    got = {r["quantity"].split(" (")[0].split(" that")[0]: r for r in rows}
    grid = [r for r in rows if r["quantity"].startswith("printed top-1 values")][0]
    corr = [r for r in rows if r["quantity"].startswith("of them the correctly rounded")][0]
    assert grid["ours"] == rounded + truncated and corr["ours"] == rounded, got
    assert [r["verdict"] for r in rows].count("not_reproducible") == len(cfg["would_run"])
    for r in rows:
        assert r["verdict"] in ("holds", "holds_when", "differs", "not_reproducible")


def test_table3_cells_recomputed():
    cfg = TARGETS["table3_text"]
    n = 0
    for table in cfg["printed"]["datasets"].values():
        for (ma, sa), (mb, sb) in zip(table[cfg["baseline"]], table[cfg["method"]]):
            n += (mb - ma) / ((sa * sa + sb * sb) / cfg["runs"]) ** 0.5 >= cfg["z_min"]
    total = [r for r in smoke_rows("table3_text") if r["quantity"].startswith("cells where")][0]
    assert total["ours"] == n


@pytest.mark.parametrize("target,caption", [("table2_imagenet", "Table 2:"), ("table3_text", "Table 3:")])
def test_table_transcription_matches_paper(target, caption):
    """The printed numbers in reproduce.json are the paper's (where the paper text is available)."""
    import glob
    import re
    files = glob.glob(os.path.join(PAPERS, "001_*.txt"))
    if not files:
        pytest.skip(f"paper text not found under {PAPERS}")
    text = open(files[0], encoding="utf-8").read()
    end = text.index(caption)
    block = text[text.rfind("Optimizer", 0, end):end]
    paper = [float(x) for x in re.findall(r"\d+\.\d+", block)]
    cfg = TARGETS[target]["printed"]
    if target == "table2_imagenet":
        ours = [v for vals in cfg["rows"].values() for v in vals]
    else:
        ours = [x for ds in cfg["datasets"].values() for opt in ds.values() for cell in opt for x in cell]
    assert sorted(paper) == sorted(ours)


# ---- the train-comparison targets (experiments/commands/reproduce_compare.cpp) ----------------------------------

COMPARE = ["table1_cpu", "table4_label_noise_cpu", "adam_cm_train_cpu", "adai_train_cpu"]


def _paper_rows(caption, start):
    import glob
    files = glob.glob(os.path.join(PAPERS, "001_*.txt"))
    if not files:
        pytest.skip(f"paper text not found under {PAPERS}")
    text = open(files[0], encoding="utf-8").read()
    end = text.index(caption)
    block = text[text.rfind(start, 0, end):end]
    rows = {}
    for line in block.splitlines():
        cells = [c for c in line.split("\t") if c.strip()]
        if len(cells) < 2 or not cells[0][0].isalpha() or not cells[1].strip()[:1].isdigit():
            continue  # headers (Optimizer, CIFAR-10(%), DenseNet121 ...) and the noise-rate row
        name = cells[0].strip().replace("NAAdam", "NAdam").replace("MIAAdam", "MIAdam")
        rows.setdefault(name, cells[1:])  # the first block (ResNet18 columns) for Table 1
    return rows


def test_table1_transcription_matches_paper():
    """table1_cpu's paper column (ResNet18 CIFAR-10: mean, std, time) is the paper's Table 1 text."""
    import re
    paper = _paper_rows("Table 1:", "Optimizer\tResNet18")
    cfg = TARGETS["table1_cpu"]["paper_table"]["rows"]
    assert set(cfg) == set(paper)
    for name, cells in paper.items():
        mean, std = (float(x) for x in re.findall(r"\d+\.\d+", cells[0])[:2])
        assert cfg[name][0][:2] == [mean, std], name
        assert cfg[name][0][2] == cells[1].replace(" ", ""), name


def test_table4_transcription_matches_paper():
    paper = _paper_rows("Table 4:", "Optimizer\tNoise rate")
    cfg = TARGETS["table4_label_noise_cpu"]["paper_table"]["rows"]
    assert set(cfg) == set(paper)
    for name, cells in paper.items():
        assert [c[0] for c in cfg[name]] == [float(c.strip().rstrip("*")) for c in cells], name


def _welch(a, b):
    import statistics
    return (statistics.stdev(a) ** 2 / len(a) + statistics.stdev(b) ** 2 / len(b)) ** 0.5


@pytest.mark.parametrize("target", COMPARE)
def test_compare_rows_recomputed(target):
    """Every 'beats' row of the smoke run, recomputed from the per-seed accuracies in summary.json: the
    difference, its SE (Welch at one level, paired over levels and seeds at several) and the 2-SE verdict; the
    power calculation's n from statistics.NormalDist."""
    import math
    import statistics
    summary = json.load(open(os.path.join(smoke_dir(), target, "summary.json")))
    rows = {r["quantity"]: r for r in smoke_rows(target)}
    acc = {(r["optimizer"], r["noise"]): r["acc_pp"] for r in summary["table"]}
    for c in summary["claims"]:
        if c["kind"] != "beats":
            continue
        a = [acc[(c["method"], p)] for p in c["noise"]]
        b = [acc[(c["baseline"], p)] for p in c["noise"]]
        if len(c["noise"]) == 1:
            diff = statistics.mean(a[0]) - statistics.mean(b[0])
            se = _welch(a[0], b[0]) if min(len(a[0]), len(b[0])) >= 2 else None
        else:
            d = [x - y for xa, ya in zip(a, b) for x, y in zip(xa, ya)]
            diff = statistics.mean(d)
            se = statistics.stdev(d) / len(d) ** 0.5 if len(d) >= 2 else None
        row = rows[c["quantity"]]
        assert math.isclose(row["ours"], diff, abs_tol=1e-9), (c, row)
        if se is None:
            assert c["se_pp"] is None and row["verdict"] == "differs"
            continue
        assert math.isclose(c["se_pp"], se, rel_tol=1e-9, abs_tol=1e-12)
        ref = row["reference"]
        sign = -1 if ref is not None and ref < 0 else 1
        holds = abs(diff) > 2 * se and (diff > 0) == (sign > 0)
        assert row["verdict"] == ("holds" if holds else "differs"), (row, se)
        if not holds and abs(diff) <= 2 * se:
            assert row["note"].startswith("inconclusive at smoke scale")
    plan = summary.get("power")
    if plan:
        nd = statistics.NormalDist()
        z = nd.inv_cdf(1 - plan["alpha"] / 2) + nd.inv_cdf(plan["power"])
        need = max(2, math.ceil(2 * (z * plan["sigma_pp"] / plan["effect_pp"]) ** 2 - 1e-9))
        assert plan["seeds_required"] == need
        assert plan["seeds_used"] == (min(need, plan["max_seeds"]) if plan["max_seeds"] else need)
        assert all(len(r["acc_pp"]) == plan["seeds_used"] for r in summary["table"])


def test_compare_power_full_profile():
    """The full profile of table1_cpu runs the seeds its power calculation asks for (no cap), and the quick
    profile states its cap: with the configured sigma the quick n cannot detect the paper's +0.31 pp."""
    import math
    import statistics
    cfg = TARGETS["table1_cpu"]
    p = dict(cfg["power"])
    nd = statistics.NormalDist()
    z = nd.inv_cdf(1 - p["alpha"] / 2) + nd.inv_cdf(p["power"])
    quick_need = math.ceil(2 * (z * p["sigma_pp"] / p["effect_pp"]) ** 2)
    assert quick_need > p["max_seeds"]  # so the quick verdict must say it is under-powered
    p.update(cfg["profiles"]["full"]["power"])
    assert p["max_seeds"] == 0 and math.ceil(2 * (z * p["sigma_pp"] / p["effect_pp"]) ** 2) == 4
