#!/usr/bin/env bash
# Installs the Debian 12 packages tlsweep needs (only the missing ones) and
# builds it into build/. Idempotent; safe to run again. Used by run.sh and
# test.sh. Usage: scripts/setup.sh [build|test] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-build}
shift || true

build_pkgs=(build-essential cmake pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev
            hdf5-tools libopenblas-dev libsvm-dev libyaml-dev zlib1g-dev libdeflate-dev
            help2man)  # the man page, made from the binary at build time
# the Python side: analysis/ and the tests' independent references
py_pkgs=(python3 python3-numpy python3-h5py python3-xarray python3-h5netcdf python3-pandas
         python3-matplotlib python3-seaborn python3-sklearn
         python3-plotly  # the report's interactive view (its plotly.js goes next to index.html)
         python3-yaml)  # analysis.concat reads the files' configurations
test_pkgs=(python3-pytest python3-torch slurm-wlm munge valgrind clang-format clang
           dpkg-dev file python3-setuptools python3-wheel python3-venv shellcheck  # tests/test_packaging.py (file: cpack
           # DEB's shlibdeps; wheel: pip's bdist_wheel without build isolation), test_jobs.py
           netcdf-bin python3-netcdf4  # tests/test_readers.py: netCDF-C's readers
           strace libclang-rt-14-dev  # tests/test_reliability.py (durability), the fuzzers
           iproute2  # tests/test_multinode.py: the nodes' network namespaces (ip netns)
           chromium python3-nbclient python3-nbformat python3-ipykernel)  # test_report_browser.py, test_notebook.py

pkgs=("${build_pkgs[@]}" "${py_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing missing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

builddir=${TLSWEEP_BUILD_DIR:-build}
cmake -S . -B "$builddir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null  # later -D options win
# TLSWEEP_BUILD_TARGETS: build only these targets (default: all)
read -r -a targets <<<"${TLSWEEP_BUILD_TARGETS:-all}"
cmake --build "$builddir" -j"$(nproc)" --target "${targets[@]}" >/dev/null
echo "setup: built $builddir/tlsweep" >&2
