"""Catalogue of bad inputs over every entry point (issue 15, item 4): the `flatmin` and `flatmin-theory`
commands (catalogue.py) and the Python package (py_cases.py).

For every CLI case: exit code 2, exactly one line on stderr, starting with `flatmin: error:` /
`flatmin-theory: error:`, no C++ backtrace, the message names the key / flag / file at fault, the
command stops before any work (a case still running after its timeout, 20 s, has started working) and
nothing is written: the case's folder (its working directory, where every output path points) holds
afterwards exactly the files it held before (new folders only if empty; no `*.tmp.*`).
For every Python case: ValueError or TypeError (never RuntimeError), one line, naming the argument, no
C++ frames on stderr and no file written into the working directory.

The valid base of every group of mutations is run first (`test_valid_base`) and must succeed, so a case
fails because of its mutation. Binaries: $FLATMIN_BIN (ctest sets the build's bin/), else build/bin;
the package: PYTHONPATH (FLATMIN_ROBUSTNESS_NO_PYTHON=1: a build without it; FLATMIN_ROBUSTNESS_NO_TORCH=1:
a build without LibTorch, flatmin-theory only). Cases run 2 at a time (FLATMIN_ROBUSTNESS_JOBS); summary at
the end (`--catalogue-report FILE`: every outcome as JSON).
"""
import concurrent.futures
import fnmatch
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import catalogue as cat  # noqa: E402

SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
FX = os.path.join(SRC, "tests", "data", "pyhessian")
NO_TORCH = os.environ.get("FLATMIN_ROBUSTNESS_NO_TORCH") == "1"  # a build without LibTorch: flatmin-theory only
CASES = [c for c in cat.all_cases(SRC, FX) if not NO_TORCH or c.exe == "flatmin-theory"]
CONTROLS = [c for c in cat.all_controls(SRC, FX) if not NO_TORCH or c.exe == "flatmin-theory"]
NO_PYTHON = NO_TORCH or os.environ.get("FLATMIN_ROBUSTNESS_NO_PYTHON") == "1"
if NO_PYTHON:
    PY_CASES = []
else:
    import py_cases  # noqa: E402
    PY_CASES = py_cases.all_py_cases()


def read_expected_failures(path=os.path.join(HERE, "expected_failures.txt")):
    """expected_failures.txt: `owner | case id` per line (# comments). Those cases are marked
    xfail(strict=True): still run and checked, reported as xfail; one that passes fails the run (XPASS
    strict) so that its line is deleted. Empty file = every case must pass."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            owner, sep, cid = line.partition(" | ")
            assert sep, f"{path}:{n}: not 'owner | case id': {line!r}"
            out[cid.strip()] = owner.strip()
    return out


EXPECTED_FAILURES = read_expected_failures()


def params(cases):
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=f"expected failure ({EXPECTED_FAILURES[c.id]})")]
                         if c.id in EXPECTED_FAILURES else []) for c in cases]


FORBIDDEN = ("frame #", "Exception raised from", "terminate called", "RuntimeError", "c10::Error", "Traceback")
PREFIX = {"flatmin": "flatmin: error: ", "flatmin-theory": "flatmin-theory: error: "}


def bin_dir():
    d = os.environ.get("FLATMIN_BIN") or os.path.join(SRC, "build", "bin")
    for exe in ("flatmin-theory",) + (() if NO_TORCH else ("flatmin",)):
        if not os.path.exists(os.path.join(d, exe)):
            pytest.fail(f"no {exe} executable in {d} (set FLATMIN_BIN to the build's bin/)")
    return d


# ---- preparing a case folder, snapshots ------------------------------------------------------------

def write_files(d, files):
    for rel, content in files.items():
        p = os.path.join(d, rel)
        if content is cat.DIR:
            os.makedirs(p, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(content, tuple) and content[0] == "trunc":
            with open(content[1], "rb") as f:
                data = f.read()[: content[2]]
            with open(p, "wb") as f:
                f.write(data)
        elif isinstance(content, tuple) and content[0] in ("run_copy", "run_trunc", "run_json"):
            # a file of the tiny training run that trained_run() made (hessian --checkpoint cases)
            src = os.path.join(RUN["dir"], content[1])
            if content[0] == "run_json":
                with open(src) as f:
                    obj = json.load(f)
                with open(p, "w") as f:
                    f.write(cat.dumps(content[2](obj)))
            else:
                with open(src, "rb") as f:
                    data = f.read()
                with open(p, "wb") as f:
                    f.write(data if content[0] == "run_copy" else data[: content[2]])
        elif isinstance(content, tuple) and content[0] == "torch_save_nox":
            import torch
            obj = torch.load(content[1])
            obj = {("inputs" if k == "x" else k): v for k, v in obj.items()}
            torch.save(obj, p)
        elif isinstance(content, tuple) and content[0] == "torch_save_drop":
            import torch
            obj = {k: v for k, v in torch.load(content[1]).items() if k != content[2]}
            torch.save(obj, p)
        elif isinstance(content, bytes):
            with open(p, "wb") as f:
                f.write(content)
        elif isinstance(content, str):
            with open(p, "w") as f:
                f.write(content)
        else:
            with open(p, "w") as f:
                f.write(cat.dumps(content))


def snapshot(d):
    files, dirs = {}, set()
    for root, ds, fs in os.walk(d):
        for x in ds:
            dirs.add(os.path.relpath(os.path.join(root, x), d))
        for x in fs:
            p = os.path.join(root, x)
            st = os.lstat(p)
            files[os.path.relpath(p, d)] = (st.st_size, st.st_mtime_ns)
    return files, dirs


def written(before, after):
    """What a run left behind: new or changed files (and temp files)."""
    bf, _ = before
    af, _ = after
    out = [f"new file {k}" for k in sorted(af) if k not in bf]
    out += [f"changed {k}" for k in sorted(af) if k in bf and af[k] != bf[k]]
    out += [f"removed {k}" for k in sorted(bf) if k not in af]
    return out


def run_cmd(argv, cwd, timeout):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for k in ("FLATMIN_RANK", "FLATMIN_WORLD_SIZE", "FLATMIN_DIST_INIT", "RANK", "WORLD_SIZE", "LOCAL_RANK",
              "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return {"rc": p.returncode, "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace"),
            "timed_out": timed_out, "seconds": time.monotonic() - t0}


def run_case(case, root, index, bindir):
    d = os.path.join(root, f"{index:03d}")
    os.makedirs(d)
    write_files(d, case.files)
    before = snapshot(d)
    r = run_cmd([os.path.join(bindir, case.exe)] + case.args, d, case.timeout)
    r["written"] = written(before, snapshot(d))
    r["dir"] = d
    return r


def selected(session, name):
    return [item.callspec.params[name] for item in session.items
            if hasattr(item, "callspec") and name in item.callspec.params]


def run_all(items, root, bindir, jobs):
    """Runs the CLI cases (or controls) `items` `jobs` at a time; {id: result}."""
    os.makedirs(root, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {c.id: ex.submit(run_case, c, root, i, bindir) for i, c in enumerate(items)}
        return {k: f.result() for k, f in futs.items()}


def jobs():
    return max(1, int(os.environ.get("FLATMIN_ROBUSTNESS_JOBS", "2")))


RUN = {"dir": None}  # the tiny training run whose files the hessian --checkpoint cases copy


def trained_run(root, bindir):
    """Trains catalogue.TRAIN once (a second): model_final.pt, model.json, checkpoint.pt for the cases."""
    d = os.path.join(root, "trained")
    os.makedirs(d)
    write_files(d, {"cfg.json": cat.TRAIN})
    r = run_cmd([os.path.join(bindir, "flatmin")] + cat.T1 + ["train", "--config", "cfg.json", "--out", "run", "--no-progress"],
                d, 120.0)
    assert r["rc"] == 0, f"the training run the --checkpoint cases need failed: {r['stderr'][-1500:]}"
    return os.path.join(d, "run")


def needs_trained_run(cases):
    """True when a case copies files of the tiny training run (the hessian --checkpoint cases)."""
    return any(isinstance(v, tuple) and v[0].startswith("run_") for c in cases for v in c.files.values())


@pytest.fixture(scope="session")
def cli_results(request, tmp_path_factory):
    items = selected(request.session, "case")
    bindir = bin_dir()
    if needs_trained_run(items):
        RUN["dir"] = trained_run(str(tmp_path_factory.mktemp("run")), bindir)
    return run_all(items, str(tmp_path_factory.mktemp("cases")), bindir, jobs())


@pytest.fixture(scope="session")
def control_results(request, tmp_path_factory):
    items = selected(request.session, "control")
    return run_all(items, str(tmp_path_factory.mktemp("controls")), bin_dir(), jobs())


# ---- checks ---------------------------------------------------------------------------------------

def matches(line, req):
    """req: a substring, "re:REGEX" or a tuple of alternatives."""
    if isinstance(req, tuple):
        return any(matches(line, r) for r in req)
    if req.startswith("re:"):
        return re.search(req[3:], line) is not None
    return req in line


def describe(req):
    if isinstance(req, tuple):
        return " or ".join(describe(r) for r in req)
    return f"/{req[3:]}/" if req.startswith("re:") else repr(req)


def message_problems(line, expect):
    probs = [f"message does not name {describe(req)}" for req in expect if not matches(line, req)]
    probs += [f"message contains {f!r}" for f in FORBIDDEN if f in line]
    return probs


def record(case_id, entry, problems, rc, line):
    cat.OUTCOMES[case_id] = {"entry": entry, "ok": not problems, "problems": problems, "rc": rc, "line": line}


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: c.id)
def test_valid_base(control, control_results):
    """The valid input each group of cases mutates runs (exit 0): the cases fail because of their mutation."""
    r = control_results[control.id]
    assert not r["timed_out"] and r["rc"] == 0, f"valid base failed: exit {r['rc']}, stderr: {r['stderr'][-2000:]}"


def test_expected_failures_name_cases():
    """Every line of expected_failures.txt names a case of the catalogue (no stale entries)."""
    ids = {c.id for c in CASES} | {c.id for c in PY_CASES}
    stale = sorted(k for k in EXPECTED_FAILURES if k not in ids)
    if NO_PYTHON or NO_TORCH:
        stale = [k for k in stale if not k.startswith("python") and not k.startswith("flatmin ")]
    assert not stale, f"expected_failures.txt names cases that do not exist: {stale[:10]}"


def cli_problems(case, r):
    """What is wrong with a CLI case's result r (run_case) under the house rule for bad input: exit 2, exactly
    one stderr line with the prefix, the key/flag/file named, no library frames, nothing written. Returns
    (problems, first stderr line); no problems = clean. Also used by issue15_table.py."""
    err = r["stderr"]
    lines = err.splitlines()
    first = lines[0] if lines else ""
    probs = []
    if r["timed_out"]:
        probs.append(f"still running after {case.timeout:.0f} s (bad input must be refused before any work)")
    elif r["rc"] != 2:
        probs.append(f"exit code {r['rc']}, not 2")
    if len(lines) != 1 or not err.endswith("\n") or "\r" in err:
        probs.append(f"{len(lines)} lines on stderr, not exactly one")
    if not first.startswith(PREFIX[case.exe]):
        probs.append(f"stderr does not start with {PREFIX[case.exe]!r}")
    probs += message_problems(err, case.expect)
    tmp = [w for w in r["written"] if fnmatch.fnmatch(os.path.basename(w.split(" ", 2)[-1]), "*.tmp.*")]
    if r["written"]:
        probs.append("wrote " + ", ".join(r["written"][:6]) + (" (temp files)" if tmp else ""))
    return probs, first


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case, cli_results):
    r = cli_results[case.id]
    err = r["stderr"]
    probs, first = cli_problems(case, r)
    record(case.id, case.entry, probs, "timeout" if r["timed_out"] else r["rc"], first)
    assert not probs, "; ".join(probs) + f"\n  argv: {case.exe} {' '.join(case.args)}\n  stderr: {err[:1500]}"


# ---- Python cases: each in a forked child (a timeout, and a crash cannot take the run down) ------------

def run_py(case, cwd):
    import torch  # noqa: F401  (imported before the fork, once)
    import flatmin  # noqa: F401
    rfd, wfd = os.pipe()
    errfile = os.path.join(cwd, "..", os.path.basename(cwd) + ".stderr")
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(rfd)
            fd = os.open(errfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            os.chdir(cwd)
            torch.set_num_threads(1)
            try:
                case.fn()
                res = {"type": None, "msg": ""}
            except BaseException as e:  # noqa: BLE001  (the type is the result)
                res = {"type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__], "msg": str(e)}
            os.write(wfd, json.dumps(res).encode())
        finally:
            os._exit(0)
    os.close(wfd)
    chunks, deadline, timed_out = [], time.monotonic() + case.timeout, False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([rfd], [], [], left)
        if ready:
            b = os.read(rfd, 1 << 16)
            if not b:
                break
            chunks.append(b)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    with open(errfile, errors="replace") as f:
        stderr = f.read()
    if timed_out:
        return {"timed_out": True, "stderr": stderr}
    raw = b"".join(chunks)
    if not raw:
        return {"timed_out": False, "crashed": status, "stderr": stderr}
    return {"timed_out": False, **json.loads(raw), "stderr": stderr}


@pytest.mark.skipif(NO_PYTHON, reason="built without the Python package (FLATMIN_ROBUSTNESS_NO_PYTHON=1)")
@pytest.mark.parametrize("pycase", params(PY_CASES))
def test_python_bad_input(pycase, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    r = run_py(pycase, str(cwd))
    probs = []
    if r["timed_out"]:
        probs.append(f"still running after {pycase.timeout:.0f} s")
    elif "crashed" in r:
        probs.append(f"the process died (status {r['crashed']})")
    elif r["type"] is None:
        probs.append("no exception")
    elif not set(pycase.exc) & set(r["mro"]):
        probs.append(f"{r['type']}, not {' or '.join(pycase.exc)}")
    msg = r.get("msg", "")
    if r.get("type") and "\n" in msg.strip():
        probs.append("message of several lines")
    if r.get("type"):
        probs += message_problems(msg, pycase.expect)
    if any(f in r["stderr"] for f in ("frame #", "terminate called", "Exception raised from")):
        probs.append("C++ backtrace on stderr")
    left = os.listdir(cwd)
    if left:
        probs.append("wrote " + ", ".join(sorted(left)[:6]))
    line = f"{r.get('type')}: {msg.splitlines()[0] if msg else ''}" if r.get("type") else ("timeout" if r["timed_out"] else "")
    record(pycase.id, pycase.entry, probs, r.get("type") or ("timeout" if r["timed_out"] else "none"), line)
    assert not probs, "; ".join(probs) + f"\n  got: {line}\n  stderr: {r['stderr'][:800]}"
