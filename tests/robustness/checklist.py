"""The ok/FAIL lines of the robustness scripts (kill_loop.py, runs_locks.py, divergence.py): check() prints one
line per check and remembers the failed ones in FAILURES (the script's exit code is 1 when it is not empty)."""
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
