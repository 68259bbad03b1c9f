#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, run the default
# sweep on all local cores into results.h5, and write the analysis report.
# Extra arguments go to `tlsweep run` (a config file, -o FILE, --force, --resume, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
out=results.h5
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in -o | --output) out=${args[i + 1]:-results.h5} ;; --output=*) out=${args[i]#--output=} ;; esac
done
set +e
jobs/local.sh "$@"
rc=$?
set -e
if [ "$rc" -ne 0 ] && [ "$rc" -ne 75 ]; then exit "$rc"; fi
if [ -f "$out" ]; then
  report="${out%.h5}-report"
  python=/usr/bin/python3
  [ -x "$python" ] || python=python3
  "$python" -m analysis.report "$out" -o "$report" | tail -n 1
fi
exit "$rc"
