"""paper_figures/make_report.py on a synthetic results folder: all four verdict kinds (and a skipped target)
are rendered as badges with their reasons, every number on the page is report.json's, per-paper counts add up,
and an unknown verdict is refused. common.save writes a PDF beside every PNG."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_REPORT = os.path.join(ROOT, "paper_figures", "make_report.py")


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def synthetic(tmp_path, rows):
    d = tmp_path / "results"
    report = {"profile": "quick", "checks": 3, "holding": 2,
              "papers": {"001": {"title": "Paper one", "short": "P1"}, "000": {"title": "Paper one (page)", "same_as": "001"},
                         "003": {"title": "Paper three", "short": "P3"}},
              "skipped": [{"target": "heavy", "reason": "too heavy for this profile", "paper": "001"}], "rows": rows}
    write(str(d / "report.json"), report)
    for t in ("alpha", "heavy"):
        write(str(d / t / "manifest.json"), {"config": {"target": {"claim": f"claim of {t}", "source": f"source of {t}"}},
                                             "status": "ok", "wall_time_s": 1.5, "git_sha": "0123456789abcdef"})
    write(str(d / "alpha" / "summary.json"), {"checks": 3, "checks_holding": 2})
    write(str(d / "heavy" / "summary.json"), {"skipped": "too heavy for this profile"})
    return d


ROWS = [
    {"target": "alpha", "quantity": "q holds", "reference": 1.25, "ours": 1.2501, "verdict": "holds", "paper": "001", "note": ""},
    {"target": "alpha", "quantity": "q when", "reference": 2.5, "ours": 2.4999, "verdict": "holds_when", "paper": "001",
     "note": "holds only when kappa = 0.9"},
    {"target": "alpha", "quantity": "q differs", "reference": 7.0, "ours": 3.25, "verdict": "differs", "paper": "001", "note": "off"},
    {"target": "not_reproducible_here", "quantity": "q table", "reference": 94.2, "ours": None, "verdict": "not_reproducible",
     "paper": "003", "note": "GPU scale"},
]


def test_all_four_verdicts_rendered(tmp_path):
    d = synthetic(tmp_path, ROWS)
    r = subprocess.run([sys.executable, MAKE_REPORT, str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(d / "report.html")
    page = (d / "report.html").read_text(encoding="utf-8")
    badges = re.findall(r'<tr class="row" data-verdict="([a-z_]+)">', page)
    assert badges == ["holds", "holds_when", "differs", "not_reproducible"]
    for cls in ("v-holds", "v-when", "v-differs", "v-nr", "v-skip"):
        assert f'class="badge {cls}"' in page, cls
    for text in ("holds only when kappa = 0.9", "GPU scale", "too heavy for this profile", "claim of alpha", "source of alpha"):
        assert text in page
    for number in ("1.25", "2.5", "3.25", "94.2"):
        assert f">{number}<" in page
    assert 'id="target-alpha"' in page and 'id="target-heavy"' in page and 'id="target-not_reproducible_here"' in page
    assert "build/bin/flatmin reproduce --only alpha --profile quick" in page
    assert 'href="alpha/manifest.json"' in page
    # per-paper summary: 001 has 3 claims (1/1/1/0), 003 one not reproducible, 000 counted under 001
    row001 = re.search(r'<tr data-paper="001">(.*?)</tr>', page).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row001) == ["3", "1", "1", "1", "0"]
    row003 = re.search(r'<tr data-paper="003">(.*?)</tr>', page).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row003) == ["1", "0", "0", "0", "1"]
    assert "counted there" in re.search(r'<tr data-paper="000">(.*?)</tr>', page).group(1)
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_unknown_verdict_refused(tmp_path):
    d = synthetic(tmp_path, ROWS[:1] + [dict(ROWS[0], verdict="maybe")])
    r = subprocess.run([sys.executable, MAKE_REPORT, str(d)], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown verdict" in r.stderr
    assert not (d / "report.html").exists()


def test_save_writes_pdf_sibling(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "paper_figures"))
    import common
    import style
    import matplotlib.pyplot as plt
    style.apply()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    out = str(tmp_path / "f.png")
    common.save(fig, out)
    assert open(out, "rb").read(4) == b"\x89PNG"
    assert open(str(tmp_path / "f.pdf"), "rb").read(4) == b"%PDF"
