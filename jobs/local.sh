#!/usr/bin/env bash
# Workstation launcher: the sweep on every local core with mpirun.
# Usage: jobs/local.sh [tlsweep run arguments...]   (default output results.h5)
# Environment: TLSWEEP_BIN (default build/tlsweep), TLSWEEP_RANKS (default nproc).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${TLSWEEP_BIN:-$here/build/tlsweep}
ranks=${TLSWEEP_RANKS:-$(nproc)}
flags=()
if [ "$(id -u)" -eq 0 ]; then
  # Open MPI refuses to run as root without these
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
[ "$ranks" -gt "$(nproc)" ] && flags+=(--oversubscribe)
exec mpirun -q -n "$ranks" "${flags[@]}" "$bin" run "$@"
