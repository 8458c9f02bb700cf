#!/usr/bin/env bash
# scripts/gpu-deps.sh — the carried dependencies for a CUDA machine that has no Debian dev packages and no
# network (docs/gpu.md). Run HERE (Debian bookworm, network): `apt-get download`s the header-only
# dependencies' .debs, `dpkg -x`-extracts them into .gpu-deps/ (ignored by git), keeps only the include
# trees and CMake package files the build needs, and prints the size. The device tool's `carry` then names
# `.gpu-deps`; `cmake -DFLATMIN_DEPS_PREFIX=$PWD/.gpu-deps/usr` points the build at it (gpu-check.sh does).
#
#   Eigen 3 (libeigen3-dev), Spectra (libspectra-dev), CLI11 (libcli11-dev), nlohmann-json (nlohmann-json3-dev):
#       whole include trees + CMake package files (header-only, relocatable).
#   Boost (libboost<ver>-dev, the version installed here): only the top-level boost/ components that the
#       project's translation units include (computed with `g++ -M` over the sources, then widened to whole
#       components so that another compiler's different #if branches still find their headers), the
#       boost/*.hpp files they include, and the CMake package files.
#   GoogleTest (googletest): its SOURCES (/usr/src/googletest) — built there by the project
#       (FLATMIN_GTEST_SOURCE_DIR), since Debian's static libraries may not link with another image's
#       compiler/libstdc++.
#   zlib (zlib1g-dev): zlib.h and zconf.h only; the library is the machine's libz.so.1.
#   pybind11 is NOT carried: the CUDA machine's pip has it (`python3 -m pybind11 --cmakedir`).
#
# Usage: scripts/gpu-deps.sh [--out DIR] [--keep-debs]     (default DIR: .gpu-deps in the repository root)
set -euo pipefail

die() { echo "gpu-deps: error: $*" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/.gpu-deps"
keep_debs=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 ]] || die "--out needs a directory"; out=$(realpath -m "$2"); shift 2 ;;
    --keep-debs) keep_debs=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (valid: --out DIR, --keep-debs)" ;;
  esac
done
command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs apt-get and dpkg (run it on the Debian machine)"
command -v g++ >/dev/null || die "needs g++ (to compute the Boost header closure)"

# The Boost version installed here (the one the normal build uses), e.g. 1.74 from libboost1.74-dev.
boost_ver=$(dpkg-query -W -f='${Version}\n' libboost-dev 2>/dev/null | sed -E 's/^([0-9]+\.[0-9]+).*/\1/' || true)
[[ -n "$boost_ver" ]] || boost_ver=1.74
pkgs=(libeigen3-dev libspectra-dev libcli11-dev nlohmann-json3-dev googletest zlib1g-dev "libboost${boost_ver}-dev")

# Ignore the folder in git (both the local exclude and the tracked .gitignore carry the rule).
exclude="$repo/.git/info/exclude"
if gitdir=$(git -C "$repo" rev-parse --git-common-dir 2>/dev/null); then
  [[ "$gitdir" = /* ]] || gitdir="$repo/$gitdir"
  exclude="$gitdir/info/exclude"
  mkdir -p "$(dirname "$exclude")"
  grep -qxF '/.gpu-deps/' "$exclude" 2>/dev/null || echo '/.gpu-deps/' >>"$exclude"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "gpu-deps: downloading ${pkgs[*]}" >&2
(cd "$work" && apt-get download "${pkgs[@]}" >/dev/null 2>"$work/apt.log") ||
  { cat "$work/apt.log" >&2; die "apt-get download failed"; }
mkdir -p "$work/x"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/x"; done

rm -rf "$out.new"
mkdir -p "$out.new/usr/include" "$out.new/usr/share" "$out.new/usr/src" "$out.new/usr/lib"
X="$work/x/usr"
cp -a "$X/include/eigen3" "$X/include/Spectra" "$X/include/CLI" "$X/include/nlohmann" "$X/include/zlib.h" \
      "$X/include/zconf.h" "$out.new/usr/include/"
mkdir -p "$out.new/usr/share/cmake" "$out.new/usr/share/spectra"
cp -a "$X/share/eigen3" "$out.new/usr/share/"                 # cmake/Eigen3Config.cmake
cp -a "$X/share/spectra/cmake" "$out.new/usr/share/spectra/"  # spectra-config.cmake
cp -a "$X/share/cmake/CLI11" "$X/share/cmake/nlohmann_json" "$out.new/usr/share/cmake/"
cp -a "$X/src/googletest" "$out.new/usr/src/"
rm -rf "$out.new"/usr/src/googletest/{docs,googletest/test,googlemock/test,googletest/samples,ci}  # not built
rm -rf "$out.new/usr/share/eigen3/doc" 2>/dev/null || true
mkdir -p "$out.new/usr/lib/x86_64-linux-gnu/cmake"
for d in "$X"/lib/x86_64-linux-gnu/cmake/Boost-* "$X"/lib/x86_64-linux-gnu/cmake/boost_headers-* \
         "$X"/lib/x86_64-linux-gnu/cmake/BoostDetectToolset-*; do
  cp -a "$d" "$out.new/usr/lib/x86_64-linux-gnu/cmake/"
done

# Boost (the whole tree is ~57 MiB, too much to carry): the exact header closure of the project's
# LibTorch-free translation units and of every file that names a Boost header, computed with g++ -M (and
# clang++ -M where installed, so that another compiler's #if branches are in it too) in C++17 and C++20,
# on the extracted tree only; every top-level component of at most 1.5 MB in that closure is then taken
# whole (config, predef, odeint, random, …), the large ones (fusion, math, mpl, …) file by file.
echo "gpu-deps: computing the Boost header closure" >&2
mapfile -t srcs < <(cd "$repo" && { git ls-files '*.cpp' | xargs grep -L -E '#include <(torch|ATen|c10|pybind11)/' ;
                                   git ls-files '*.cpp' '*.h' | xargs grep -l '#include <boost/'; } | sort -u |
                                   grep -v '^tests/fuzz/')
deps="$work/boost.deps"
: >"$deps"
passes=("g++ c++17" "g++ c++20")
command -v clang++ >/dev/null && passes+=("clang++ c++17")
for pass in "${passes[@]}"; do
  read -r cxx std <<<"$pass"
  {
    for s in "${srcs[@]}"; do
      "$cxx" -std=$std -M -MT x -I"$repo" -isystem "$X/include" -isystem "$X/include/eigen3" -x c++ "$repo/$s" \
        2>/dev/null | tr ' \\' '\n\n' | grep -F "$X/include/boost/" >>"$deps" || true
    done
  }
done
[[ -s "$deps" ]] || die "the Boost closure is empty (did g++ -M fail?)"
sort -u "$deps" | sed -E "s#^$X/include/boost/##" >"$work/boost.files"
awk -F/ 'NF == 1 { next } $1 == "numeric" || $1 == "detail" { print $1 "/" $2; next } { print $1 }' \
  "$work/boost.files" | sort -u >"$work/boost.all"
: >"$work/boost.components"
while read -r c; do
  if [[ $(du -sb "$X/include/boost/$c" | cut -f1) -le 1500000 ]]; then echo "$c" >>"$work/boost.components"; fi
done <"$work/boost.all"
mkdir -p "$out.new/usr/include/boost"
(cd "$X/include/boost" && { cat "$work/boost.files"; while read -r c; do find "$c" -type f; done <"$work/boost.components"; } |
   sort -u | tar -cf - -T -) | tar -xf - -C "$out.new/usr/include/boost"
{ echo "# whole components"; cat "$work/boost.components"; echo "# file by file"; comm -23 "$work/boost.all" "$work/boost.components"; } >"$out.new/boost-components.txt"

{ echo "# written by scripts/gpu-deps.sh on $(date -u +%FT%TZ)"
  for deb in "$work"/*.deb; do dpkg-deb --showformat='${Package} ${Version}\n' -W "$deb"; done
} >"$out.new/VERSIONS"
if [[ $keep_debs -eq 1 ]]; then mkdir -p "$out.new/debs"; cp "$work"/*.deb "$out.new/debs/"; fi
rm -rf "$out"
mv "$out.new" "$out"
echo "gpu-deps: Boost: $(find "$out/usr/include/boost" -type f | wc -l) headers; $(find "$out" -type f | wc -l) files in all" >&2
du -sh "$out"/usr/include/* "$out/usr/src/googletest" | sed 's/^/gpu-deps: /' >&2
du -sb "$out" | awk '{printf "%.1f MiB\n", $1/1048576}'  # what `carry` will send (limit: 64 MiB with the tree)
