"""Files of a run folder, shared by runs_locks.py and kill_loop.py: content hashes and AtomicFile temporaries."""
import hashlib
import os
import re


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def temps(folder):
    """Every AtomicFile temporary (<target>.tmp.<pid>.<n>) below `folder`."""
    out = []
    for root, _, files in os.walk(folder):
        out += [os.path.join(root, f) for f in files if re.search(r"\.tmp\.\d+\.\d+$", f)]
    return out
