#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build with -Werror, and
# run the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
export TLSWEEP_BUILD_DIR=${TLSWEEP_BUILD_DIR:-build}
scripts/setup.sh test -DTLSWEEP_WERROR=ON -DBUILD_TESTING=ON
# the same code with AddressSanitizer and UBSan, for tests/test_memory.py
TLSWEEP_BUILD_DIR=build-sanitize scripts/setup.sh test -DTLSWEEP_WERROR=ON -DTLSWEEP_SANITIZE=ON \
  -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
# the same code built by clang, for tests/test_compilers.py (same bits as GCC's)
CC=clang TLSWEEP_BUILD_DIR=build-clang scripts/setup.sh test -DTLSWEEP_WERROR=ON -DBUILD_TESTING=ON
# the libFuzzer harnesses (clang, coverage + ASan + UBSan), for tests/test_fuzz.py
CC=clang TLSWEEP_BUILD_DIR=build-fuzz TLSWEEP_BUILD_TARGETS="fuzz_config fuzz_journal fuzz_store" \
  scripts/setup.sh test -DTLSWEEP_FUZZ=ON -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cd "$TLSWEEP_BUILD_DIR"
exec ctest --output-on-failure --timeout 900 "$@"
