"""Summary of the catalogue (cases per entry point, pass count) at the end of the run; with
`--catalogue-report FILE` also every case's outcome as JSON (exit code / exception, first stderr line,
what was wrong)."""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import catalogue as cat  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--catalogue-report", default=None, help="write every case's outcome to this JSON file")


def pytest_terminal_summary(terminalreporter, config):
    out = cat.OUTCOMES
    if not out:
        return
    per = collections.OrderedDict()
    for o in sorted(out.values(), key=lambda o: o["entry"]):
        n = per.setdefault(o["entry"], [0, 0])
        n[0] += 1
        n[1] += o["ok"]
    tr = terminalreporter
    tr.section("bad-input catalogue")
    w = max(len(k) for k in per)
    for k, (n, ok) in per.items():
        tr.write_line(f"{k:<{w}}  {n:4d} cases  {ok:4d} clean  {n - ok:4d} not clean")
    total, clean = sum(n for n, _ in per.values()), sum(ok for _, ok in per.values())
    tr.write_line(f"{'total':<{w}}  {total:4d} cases  {clean:4d} clean  {total - clean:4d} not clean")
    path = config.getoption("--catalogue-report")
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
