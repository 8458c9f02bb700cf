"""Shared fixtures of the Python tests: the package under test (build/python on PYTHONPATH, set by
ctest) and the CLI executables (FLATMIN_BIN, set by ctest) whose outputs the bindings must equal."""
import json
import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def flatmin_bin():
    d = os.environ.get("FLATMIN_BIN")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "build", "bin")
    exe = os.path.join(d, "flatmin")
    if not os.path.exists(exe):
        pytest.skip(f"no flatmin executable at {exe} (set FLATMIN_BIN)")
    return d


def run_cli(bin_dir, exe, *args, check=True):
    """Runs build/bin/<exe> args...; returns the CompletedProcess (text mode)."""
    r = subprocess.run([os.path.join(bin_dir, exe), *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{exe} {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
    return r


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path
