"""Turns `pytest test_catalogue.py --catalogue-report R.json` into a Markdown list of the cases that are
not clean, grouped by cause (first matching rule), with each case's exit code (or exception) and the
first line of its stderr:  /usr/bin/python3 failures_md.py R.json "build description" > KNOWN_FAILURES.md"""
import collections
import json
import re
import sys

# (group title, predicate on (case id, outcome)); the first that matches.
RULES = [
    ("Unusable output location (under /proc, below a regular file, a file/folder of the wrong kind): "
     "exit 1 `fatal: filesystem error`, or noticed only after the work",
     lambda k, o: re.search(r"--out (under /proc|below a regular file|is a regular file|is an existing folder)", k)),
    ("Unbounded counts: a huge count (1e18) starts running (killed after the case's 20 s timeout) or is "
     "silently wrapped",
     lambda k, o: "huge count" in k or o["rc"] == "timeout"),
    ("Wrong JSON type without the key / a C++ exception text instead of the key",
     lambda k, o: "json.exception" in o["line"] or "type_error" in o["line"]),
    ("Silently accepted: bad input that runs (exit 0) or is ignored",
     lambda k, o: o["rc"] in (0, "none")),
    ("Checked too late or half-written: exit 2 but files were written",
     lambda k, o: o["rc"] == 2 and any(p.startswith("wrote") for p in o["problems"])),
    ("Bad input reported as a run-time failure (exit 1, `fatal:`) or a crash",
     lambda k, o: o["rc"] not in (2,) and not isinstance(o["rc"], str)),
    ("Python: wrong exception type (not ValueError / TypeError) or a message of several lines",
     lambda k, o: k.startswith("python") and any(("not " in p and "Error" in p) or "several lines" in p
                                                 for p in o["problems"])),
    ("Message does not name the key / flag / file at fault (or names it in another form)",
     lambda k, o: any(p.startswith("message does not name") for p in o["problems"])),
    ("Other", lambda k, o: True),
]


def owners():
    """case id -> owner from expected_failures.txt (the branch of issue 15 that fixes it)."""
    import os
    p = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected_failures.txt")
    out = {}
    if os.path.exists(p):
        for line in open(p):
            line = line.strip()
            if line and not line.startswith("#") and " | " in line:
                who, cid = line.split(" | ", 1)
                out[cid.strip()] = who.strip()
    return out


def main(path, build):
    with open(path) as f:
        out = json.load(f)
    own = owners()
    bad = {k: o for k, o in out.items() if not o["ok"]}
    groups = collections.OrderedDict((t, []) for t, _ in RULES)
    for k in sorted(bad):
        o = bad[k]
        for title, pred in RULES:
            if pred(k, o):
                groups[title].append((k, o))
                break
    n, clean = len(out), len(out) - len(bad)
    by = collections.Counter(own.get(k, "?") for k in bad)
    print("# Bad-input catalogue: cases that are not clean\n")
    print(f"Build: {build}. `tests/robustness/test_catalogue.py`: {n} cases, {clean} clean, {len(bad)} not clean"
          f" ({', '.join(f'{v} fixed by {k}' for k, v in sorted(by.items()))}).")
    print("The lead deletes this file once the fixes of issue 15 are merged and the catalogue passes.")
    print("Column `fixed by`: the owner in `expected_failures.txt` (`inputs` = the issue-15 branch for output")
    print("locations, JSON types, count bounds, sweep labels/validation; `open` = not claimed by any branch).\n")
    per = collections.Counter(o["entry"] for o in out.values())
    per_bad = collections.Counter(o["entry"] for o in bad.values())
    print("| entry point | cases | not clean |\n|---|---|---|")
    for e in sorted(per):
        print(f"| {e} | {per[e]} | {per_bad[e]} |")
    print()
    for title, items in groups.items():
        if not items:
            continue
        print(f"## {title} ({len(items)})\n")
        print("| case | fixed by | exit / exception | stderr (first line) | what is wrong |\n|---|---|---|---|---|")
        for k, o in items:
            line = o["line"].replace("|", "\\|")[:220]
            probs = "; ".join(o["problems"]).replace("|", "\\|")[:260]
            print(f"| {k.replace('|', '/')} | {own.get(k, '?')} | {o['rc']} | `{line}` | {probs} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "main")
