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
