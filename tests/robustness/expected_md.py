"""Writes expected_failures.txt from a catalogue report (`pytest test_catalogue.py --catalogue-report R.json`):
every case that is not clean, with the branch / work of issue 15 that fixes it (OWNERS: the first rule that
matches its id; `open` when none does). Review the result before committing it:
    /usr/bin/python3 expected_md.py R.json > expected_failures.txt"""
import json
import re
import sys

HEADER = """\
# Expected failures of the bad-input catalogue (tests/robustness/test_catalogue.py): `owner | case id`.
# These cases still run and are still checked; test_catalogue.py marks them xfail(strict=True), so the ctest
# `robustness_catalogue` passes while they fail and FAILS as soon as one of them passes (XPASS strict): then
# delete its line. Owners: `inputs` = the issue-15 branch that checks output locations before any work, wrong
# JSON types, count bounds, sweep labels and sweep validation; `open` = not yet claimed by any branch.
# The lead empties this file once those branches are merged (every case must then pass).
"""

OWNERS = [
    ("inputs", r"--out (under /proc|below a regular file|is a regular file|is an existing folder)"),
    ("inputs", r"huge count|= 10\*\*18|1e18"),
    ("inputs", r"wrong type|of the wrong type|= 'x'|set_epoch\('x'\)"),
    ("inputs", r"^flatmin sweep: (optimizers\.0\.|base\.epochs|noise_rates)"),
    ("inputs", r"path traversal|with a slash"),
    ("inputs", r"^flatmin train: epochs (= 0|= -1|missing)"),
]


def owner(case_id):
    for who, pat in OWNERS:
        if re.search(pat, case_id):
            return who
    return "open"


def main(path):
    with open(path) as f:
        out = json.load(f)
    bad = sorted(k for k, o in out.items() if not o["ok"])
    sys.stdout.write(HEADER)
    for k in sorted(bad, key=lambda k: (owner(k), k)):
        print(f"{owner(k)} | {k}")


if __name__ == "__main__":
    main(sys.argv[1])
