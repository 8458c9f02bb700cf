#!/usr/bin/env bash
# scripts/gpu-check.sh — one prepared check of flatmin's CUDA path on a lent GPU machine (docs/gpu.md):
#   env        versions (torch, CUDA, driver, compiler, CMake), nvidia-smi -q
#   configure  CMake against the pip torch's LibTorch (-G Ninja, carried .gpu-deps, CUDA arch 90)
#   build      only the targets the check needs, all cores
#   carry      no header of a carried package came from the system (/usr/include) — proves .gpu-deps complete
#   test       ctest -L cuda --output-on-failure (the tests labelled `cuda`)
#   bench      flatmin-bench-gpu --device cuda (optimizer step vs copy roofline and torch's Adam),
#              bench/gpu_torch_bench.py --device cuda (torch's fused/foreach Adam, flatmin's Python optimizers),
#              bench/gpu_hessian_bench.py --device cuda (ResNet18 Hessian vs PyHessian's algorithm, budget capped);
#              each skipped when absent (docs/gpu-benchmarks.md)
#   merge      one gpu-check.json: versions, device, per-phase wall times and status, test counts, bench JSONs
# Each phase has a timeout, and the whole run a deadline (GPU: 540 s, GPU_CHECK_DEADLINE): a phase gets at most
# the time left before the deadline less 15 s for the merge, and is skipped when under 10 s are left, so that
# gpu-check.json is always written inside the device call's limit. Progress lines go to stderr.
#
# Usage: scripts/gpu-check.sh [--cpu-dry-run] [--jobs N] [--python on|off|auto] [OUTDIR]
#   OUTDIR   where the results go (default: $OUT when set, else <build dir>/gpu-check)
#   --cpu-dry-run  the same steps on a CPU machine against the installed (Debian) LibTorch and the carried
#                  .gpu-deps, in build-gpu-dry/ (the cuda tests skip: no GPU), with long timeouts
#   --jobs N       build parallelism (default: all cores)
#   --python MODE  the Python package (flatmin._C): auto (GPU: on when pybind11 and Python headers are found;
#                  dry run: off), on, off
# Environment: GPU_CHECK_TIMEOUT_<PHASE> (seconds; ENV, CONFIGURE, BUILD, CARRY, TEST, BENCH_CPP, BENCH_PY,
#   BENCH_HESSIAN) override the
#   phase timeouts; GPU_CHECK_TARGETS (space-separated) replaces the automatic target list; GPU_CHECK_BUILD_DIR
#   the build directory; GPU_CHECK_GIT_SHA the commit to record where the tree has no .git (the device's copy).
# Results (at most 8 files, as the device tool returns): gpu-check.json, gpu-check.log (progress, configure,
#   build, bench logs), ctest.log, ctest-junit.xml, bench-gpu.json, bench-torch.json, bench-hessian.json,
#   nvidia-smi.txt.
# Exit: 0 every phase ok and every cuda test passed; 1 a phase failed or timed out, or a test failed;
#   2 bad arguments or missing .gpu-deps (nothing run).
set -uo pipefail

die() { echo "gpu-check: error: $*" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || die "cannot enter $repo"

mode=gpu jobs="" python_mode=auto outdir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu-dry-run) mode=cpu-dry-run; shift ;;
    --jobs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die "--jobs needs a positive integer"; jobs=$2; shift 2 ;;
    --python) [[ $# -ge 2 && "$2" =~ ^(on|off|auto)$ ]] || die "--python needs on, off or auto"; python_mode=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (valid: --cpu-dry-run, --jobs N, --python on|off|auto, OUTDIR)" ;;
    *) [[ -z "$outdir" ]] || die "more than one OUTDIR ('$outdir', '$1')"; outdir=$1; shift ;;
  esac
done
deps="$repo/.gpu-deps/usr"
[[ -d "$deps/include/boost" && -d "$deps/include/eigen3" && -f "$deps/src/googletest/CMakeLists.txt" ]] ||
  die "no carried dependencies in .gpu-deps/ (run scripts/gpu-deps.sh on the Debian machine and carry .gpu-deps)"
[[ -n "$jobs" ]] || jobs=$(nproc)
if [[ $mode == gpu ]]; then
  build=${GPU_CHECK_BUILD_DIR:-$repo/build-gpu}
  py=$(command -v python3) || die "no python3 on PATH"
  # caps; the deadline bounds their sum (estimates: docs/gpu-benchmarks.md, "Commands for gpu-check.sh")
  t_env=30 t_configure=60 t_build=300 t_carry=20 t_test=150 t_bench_cpp=60 t_bench_py=60 t_bench_hessian=150
  deadline=${GPU_CHECK_DEADLINE:-540} bench_device=cuda hessian_budget=${GPU_CHECK_HESSIAN_BUDGET:-90} tiny=()
else
  build=${GPU_CHECK_BUILD_DIR:-$repo/build-gpu-dry}
  py=/usr/bin/python3
  t_env=120 t_configure=300 t_build=5400 t_carry=300 t_test=600 t_bench_cpp=300 t_bench_py=300 t_bench_hessian=600
  deadline=${GPU_CHECK_DEADLINE:-9000} bench_device=cpu hessian_budget=${GPU_CHECK_HESSIAN_BUDGET:-30} tiny=(--tiny)
fi
t_env=${GPU_CHECK_TIMEOUT_ENV:-$t_env}
t_carry=${GPU_CHECK_TIMEOUT_CARRY:-$t_carry}
t_configure=${GPU_CHECK_TIMEOUT_CONFIGURE:-$t_configure}
t_build=${GPU_CHECK_TIMEOUT_BUILD:-$t_build}
t_test=${GPU_CHECK_TIMEOUT_TEST:-$t_test}
t_bench_cpp=${GPU_CHECK_TIMEOUT_BENCH_CPP:-$t_bench_cpp}
t_bench_py=${GPU_CHECK_TIMEOUT_BENCH_PY:-$t_bench_py}
t_bench_hessian=${GPU_CHECK_TIMEOUT_BENCH_HESSIAN:-$t_bench_hessian}
[[ "$deadline" =~ ^[1-9][0-9]*$ ]] || die "GPU_CHECK_DEADLINE must be a positive number of seconds"
if [[ -z "$outdir" ]]; then outdir=${OUT:-$build/gpu-check}; fi
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
log="$outdir/gpu-check.log"
phases="$outdir/.phases.tsv"   # name, seconds, status, rc, note (merged into gpu-check.json, then removed)
: >"$log"; : >"$phases"
t0=$(date +%s.%N)

say() { echo "gpu-check: $*" | tee -a "$log" >&2; }
# phase NAME TIMEOUT LOGFILE CMD...: runs CMD under `timeout`, appends its output to LOGFILE, records the phase.
phase() {
  local name=$1 limit=$2 plog=$3; shift 3
  local left; left=$(awk -v a="$t0" -v b="$(date +%s.%N)" -v d="$deadline" 'BEGIN { printf "%d", d - (b - a) - 15 }')
  if [[ $left -lt 10 ]]; then skip "$name" "no time left before the ${deadline} s deadline"; PHASE_NOTE=""; return 124; fi
  [[ $left -lt $limit ]] && { PHASE_NOTE="${PHASE_NOTE:+$PHASE_NOTE; }timeout cut from $limit s to $left s by the deadline"; limit=$left; }
  say "[$name] start (timeout ${limit} s): $*"
  local s e rc status
  s=$(date +%s.%N)
  if declare -F "$1" >/dev/null; then  # a shell function: run it in a child bash that knows it
    export -f "$1"; export py versions build deps
    timeout --kill-after=10 "$limit" bash -c '"$@"' _ "$@" >>"$plog" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" >>"$plog" 2>&1
  fi
  rc=$?
  e=$(date +%s.%N)
  status=ok
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then status=timeout; elif [[ $rc -ne 0 ]]; then status=failed; fi
  local secs; secs=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" "$status" "$rc" "${PHASE_NOTE:-}" >>"$phases"
  say "[$name] $status (rc $rc) in $secs s"
  PHASE_NOTE=""
  return $rc
}
skip() { printf '%s\t0\tskipped\t0\t%s\n' "$1" "$2" >>"$phases"; say "[$1] skipped: $2"; }

# ---- env: versions and the device ---------------------------------------------------------------------------
say "mode $mode, build dir $build, results in $outdir, $jobs jobs, python $py"
versions="$outdir/.versions.json"
env_probe() {
  "$py" - "$versions" <<'EOF'
import json, platform, shutil, subprocess, sys
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # a missing tool is a fact to record, not an error
        return ""
v = {"python": sys.version.split()[0], "platform": platform.platform(), "cores": __import__("os").cpu_count()}
try:
    import torch
    v["torch"] = torch.__version__
    v["torch_cuda"] = torch.version.cuda
    v["torch_cxx11_abi"] = bool(torch._C._GLIBCXX_USE_CXX11_ABI)
    v["torch_cmake_prefix"] = torch.utils.cmake_prefix_path
    v["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        v["gpu"] = {"name": p.name, "memory_bytes": p.total_memory, "multiprocessors": p.multi_processor_count,
                    "capability": f"{p.major}.{p.minor}", "count": torch.cuda.device_count()}
        v["cudnn"] = torch.backends.cudnn.version()
except Exception as e:
    v["torch_error"] = repr(e)
v["cxx"] = run("c++", "--version").splitlines()[0] if shutil.which("c++") else ""
v["nvcc"] = run("nvcc", "--version").splitlines()[-1] if shutil.which("nvcc") else ""
v["cmake"] = run("cmake", "--version").splitlines()[0] if shutil.which("cmake") else ""
v["ninja"] = run("ninja", "--version")
if shutil.which("nvidia-smi"):
    q = run("nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit,"
            "temperature.gpu,persistence_mode", "--format=csv,noheader")
    v["nvidia_smi"] = q
    v["driver"] = q.split(",")[1].strip() if q.count(",") >= 1 else ""
json.dump(v, open(sys.argv[1], "w"), indent=1)
print(json.dumps(v, indent=1))
EOF
}
phase env "$t_env" "$log" env_probe
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -q >"$outdir/nvidia-smi.txt" 2>&1 || true
else
  echo "no nvidia-smi on this machine ($mode)" >"$outdir/nvidia-smi.txt"
fi

# ---- configure -----------------------------------------------------------------------------------------------
cfg=(-S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLATMIN_BUILD_TESTS=ON -DFLATMIN_BUILD_BENCH=ON
     -DFLATMIN_DEPS_PREFIX="$deps" -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
if [[ $mode == gpu ]]; then
  torch_prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  abi=$("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null)
  torch_ver=$("$py" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)
  [[ -n "$torch_prefix" && -n "$abi" ]] || die "python3 cannot import torch ($py)"
  # torch >= 2.12 headers need C++20 (its TorchConfig says so from some 2.x on); 2.11 and older: C++17.
  std=17
  if [[ $(printf '%s\n' "$torch_ver" 2.12 | sort -V | head -1) == 2.12 ]]; then std=20; fi
  cfg+=(-DCMAKE_PREFIX_PATH="$torch_prefix" -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$abi"
        -DCMAKE_CXX_STANDARD=$std -DCMAKE_CUDA_ARCHITECTURES=90 -DPython3_EXECUTABLE="$py")
  export TORCH_CUDA_ARCH_LIST=9.0
  command -v nvcc >/dev/null && cfg+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
  [[ -d /usr/local/cuda ]] && cfg+=(-DCUDAToolkit_ROOT=/usr/local/cuda)
  # ninja/cmake may come from pip (the venv's bin): make sure CMake finds ninja
  if ! command -v ninja >/dev/null; then
    nj=$("$py" -c 'import ninja, os; print(os.path.join(ninja.BIN_DIR, "ninja"))' 2>/dev/null)
    [[ -x "$nj" ]] && { cfg+=(-DCMAKE_MAKE_PROGRAM="$nj"); export PATH="$(dirname "$nj"):$PATH"; }
  fi
  # NCCL: the pip wheel nvidia-nccl-* holds nccl.h (libtorch_cuda links libnccl itself).
  nccl_h=$("$py" -c 'import nvidia, os; print(*[os.path.join(r, "nccl.h") for p in nvidia.__path__ for r, _, f in os.walk(p) if "nccl.h" in f][:1])' 2>/dev/null)
  [[ -n "$nccl_h" ]] && cfg+=(-DFLATMIN_NCCL_INCLUDE="$(dirname "$nccl_h")")
  # zlib: carried zlib.h; the library is the system's libz.so.1 when no development link exists.
  if ! ldconfig -p 2>/dev/null | grep -q 'libz\.so '; then
    libz=$(ldconfig -p 2>/dev/null | awk '/libz\.so\.1 .*x86-64/ { print $NF; exit }')
    [[ -n "$libz" ]] && cfg+=(-DZLIB_LIBRARY="$libz")
  fi
  if [[ $python_mode != off ]] && pyb=$("$py" -m pybind11 --cmakedir 2>/dev/null); then cfg+=(-Dpybind11_DIR="$pyb"); fi
else
  command -v ccache >/dev/null && cfg+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cfg+=(-DPython3_EXECUTABLE="$py")
  [[ $python_mode == auto ]] && python_mode=off  # 4 more LibTorch TUs on 2 cores; --python on builds them
fi
case $python_mode in on) cfg+=(-DFLATMIN_PYTHON=ON) ;; off) cfg+=(-DFLATMIN_PYTHON=OFF) ;; *) cfg+=(-DFLATMIN_PYTHON=AUTO) ;; esac
phase configure "$t_configure" "$log" cmake "${cfg[@]}"
configured=$?

# ---- build: only the targets the check needs -----------------------------------------------------------------
targets=()
if [[ $configured -eq 0 ]]; then
  mapfile -t all < <(ninja -C "$build" -t targets all 2>/dev/null | sed -n 's/^\([A-Za-z0-9_.+-]*\): phony$/\1/p' | sort -u)
  has() { printf '%s\n' "${all[@]}" | grep -qx "$1"; }
  if [[ -n "${GPU_CHECK_TARGETS:-}" ]]; then
    read -r -a targets <<<"$GPU_CHECK_TARGETS"
  elif has flatmin_cuda_check; then
    targets=(flatmin_cuda_check)  # an aggregate target the cuda tests' CMake may define
  else
    # the CLI (the cuda tests run `flatmin hessian/train --device cuda`), every target named *cuda* (the
    # tests labelled cuda: tests/cuda), the GPU bench, and the Python package when it is configured.
    targets=(flatmin)
    for t in "${all[@]}"; do [[ $t == *cuda* && $t != cmake_* ]] && targets+=("$t"); done
    has flatmin-bench-gpu && targets+=(flatmin-bench-gpu)
    # no cuda test target yet (a tree without tests/cuda): one small GoogleTest suite still proves that
    # googletest builds from the carried sources
    [[ ${#targets[@]} -eq 1 ]] && has flatmin_common_tests && targets+=(flatmin_common_tests)
    has flatmin_python && targets+=(flatmin_python)
  fi
  PHASE_NOTE="targets: ${targets[*]}"
  phase build "$t_build" "$log" cmake --build "$build" -j "$jobs" --target "${targets[@]}"
  built=$?
else
  skip build "configure failed"; built=1
fi

# ---- carry: no carried package's header may come from the system --------------------------------------------
carry_check() {
  local bad
  bad=$(ninja -C "$build" -t deps 2>/dev/null |
        grep -E '^\s+/usr/include/(boost|eigen3|Spectra|CLI|nlohmann|gtest|gmock|zlib\.h|zconf\.h)' | sort -u)
  local n; n=$(printf '%s' "$bad" | grep -c . || true)
  # ninja stores paths as the compiler printed them: ../.gpu-deps/… (relative to the build dir) or absolute
  local used; used=$(ninja -C "$build" -t deps 2>/dev/null | grep -c -E '(^|/)\.gpu-deps/usr/(include|src)/' || true)
  echo "carry: $used dependency lines into .gpu-deps, $n headers of carried packages from /usr/include"
  [[ $n -eq 0 ]] || { echo "$bad" | head -20; return 1; }
  [[ $used -gt 0 ]]
}
if [[ $built -eq 0 ]]; then phase carry "$t_carry" "$log" carry_check; else skip carry "build failed"; fi

# ---- test: ctest -L cuda --------------------------------------------------------------------------------------
if [[ $built -eq 0 ]]; then
  phase test "$t_test" "$outdir/ctest.log" env OMP_NUM_THREADS=4 PYTHONPATH="$build/python" FLATMIN_BIN="$build/bin" \
    ctest --test-dir "$build" -L cuda --output-on-failure --timeout "$t_test" --output-junit "$outdir/ctest-junit.xml"
else
  skip test "build failed"; echo "not run: the build failed (gpu-check.log)" >"$outdir/ctest.log"
fi

# ---- bench ----------------------------------------------------------------------------------------------------
if [[ -x "$build/bin/flatmin-bench-gpu" ]]; then
  phase bench_cpp "$t_bench_cpp" "$log" "$build/bin/flatmin-bench-gpu" --device "$bench_device" "${tiny[@]}" \
    --out "$outdir/bench-gpu.json"
else
  skip bench_cpp "no flatmin-bench-gpu target/executable in this tree"
fi
if [[ -f "$repo/bench/gpu_torch_bench.py" ]]; then
  phase bench_py "$t_bench_py" "$log" env PYTHONPATH="$build/python" FLATMIN_BIN="$build/bin" PYTHONUNBUFFERED=1 \
    "$py" "$repo/bench/gpu_torch_bench.py" --device "$bench_device" "${tiny[@]}" --out "$outdir/bench-torch.json"
else
  skip bench_py "no bench/gpu_torch_bench.py in this tree"
fi
if [[ -f "$repo/bench/gpu_hessian_bench.py" && -x "$build/bin/flatmin" ]]; then
  rm -rf "$build/hessian-work"  # model, data and flatmin's run folders (kept out of the results folder)
  phase bench_hessian "$t_bench_hessian" "$log" env PYTHONUNBUFFERED=1 "$py" -W ignore "$repo/bench/gpu_hessian_bench.py" \
    --device "$bench_device" "${tiny[@]}" --flatmin "$build/bin/flatmin" --work "$build/hessian-work" \
    --budget-seconds "$hessian_budget" --out "$outdir/bench-hessian.json"
else
  skip bench_hessian "no bench/gpu_hessian_bench.py or no flatmin executable"
fi

# ---- merge ----------------------------------------------------------------------------------------------------
t1=$(date +%s.%N)
total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
"$py" - "$outdir" "$mode" "$total" "$repo" "$build" <<'EOF'
import datetime, json, os, re, subprocess, sys
import xml.etree.ElementTree as ET
out, mode, total, repo, build = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
def load(name):
    p = os.path.join(out, name)
    try:
        return json.load(open(p))
    except FileNotFoundError:
        return None
    except Exception as e:
        return {"unreadable": repr(e)}
def git(*a):
    try:
        return subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""
phases = []
for line in open(os.path.join(out, ".phases.tsv")):
    name, secs, status, rc, note = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    ph = {"name": name, "seconds": float(secs), "status": status, "rc": int(rc)}
    if note:
        ph["note"] = note
    phases.append(ph)
tests = {"total": 0, "passed": 0, "failed": 0, "skipped": 0, "failed_names": [], "skipped_names": []}
junit = os.path.join(out, "ctest-junit.xml")
if os.path.exists(junit):
    for tc in ET.parse(junit).getroot().iter("testcase"):
        tests["total"] += 1
        st = tc.get("status", "")
        if tc.find("failure") is not None or st == "fail":
            tests["failed"] += 1; tests["failed_names"].append(tc.get("name"))
        elif tc.find("skipped") is not None or st in ("notrun", "disabled"):
            tests["skipped"] += 1; tests["skipped_names"].append(tc.get("name"))
        else:
            tests["passed"] += 1
try:  # GTEST_SKIP inside a passing ctest test (no GPU): counted from the log
    tests["gtest_skipped_cases"] = len(re.findall(r"^\[  SKIPPED \]", open(os.path.join(out, "ctest.log")).read(), re.M))
except FileNotFoundError:
    pass
build_log = {}
try:  # ninja's log: start/end ms of every edge it ran in this build dir (its last run of each)
    lines = [l.split("\t") for l in open(os.path.join(build, ".ninja_log")) if not l.startswith("#")]
    ms = [int(l[1]) - int(l[0]) for l in lines if len(l) >= 4]
    build_log = {"edges": len(ms), "cpu_seconds": round(sum(ms) / 1000, 1),
                 "longest_seconds": round(max(ms) / 1000, 1) if ms else 0}
except (FileNotFoundError, ValueError):
    pass
res = {
    "schema": "flatmin-gpu-check/1",
    "mode": mode,
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "command": "scripts/gpu-check.sh" + (" --cpu-dry-run" if mode != "gpu" else ""),
    # the device machine's copy of the tree may have no .git: the caller passes GPU_CHECK_GIT_SHA then
    "git": {"sha": os.environ.get("GPU_CHECK_GIT_SHA") or git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if git("rev-parse", "HEAD") else None},
    "versions": load(".versions.json"),
    "carried": open(os.path.join(repo, ".gpu-deps", "VERSIONS")).read().splitlines()[1:]
               if os.path.exists(os.path.join(repo, ".gpu-deps", "VERSIONS")) else None,
    "phases": phases,
    "total_seconds": total,
    "build_edges": build_log,
    "tests": tests,
    "bench": {"flatmin-bench-gpu": load("bench-gpu.json"), "gpu_torch_bench": load("bench-torch.json"),
              "gpu_hessian_bench": load("bench-hessian.json")},
}
ok = all(p["status"] in ("ok", "skipped") for p in phases) and tests["failed"] == 0
if mode == "gpu":
    ok = ok and tests["total"] > 0 and all(p["status"] == "ok" for p in phases)
res["status"] = "ok" if ok else "failed"
tmp = os.path.join(out, "gpu-check.json.tmp")
json.dump(res, open(tmp, "w"), indent=1)
os.replace(tmp, os.path.join(out, "gpu-check.json"))
print(f"gpu-check: {res['status']}: tests {tests['passed']}/{tests['total']} passed, {tests['failed']} failed, "
      f"{tests['skipped']} skipped; " + ", ".join(f"{p['name']} {p['seconds']:.0f} s {p['status']}" for p in phases)
      + f"; total {total:.0f} s", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
rc=$?
rm -f "$outdir/.phases.tsv" "$outdir/.versions.json"
say "results: $outdir/gpu-check.json (exit $rc)"
exit $rc
