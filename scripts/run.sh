#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, run the default
# sweep on all local cores into results.h5, and write the analysis report.
# Extra arguments go to `tlsweep run` (a config file, -o FILE, --force, --resume, ...).
#
# Exit status: the sweep's (0 complete, 3 every configuration failed, 75
# interrupted and resumable, ...), whatever happens in the report, which is
# written for complete, partial and all-failed files alike; 1 when the sweep
# completed but the report could not be written.
# Environment: TLSWEEP_NO_SETUP=1 skips the package check and the build
# (the tests use it); TLSWEEP_PYTHON, the report's interpreter (default
# /usr/bin/python3); TLSWEEP_BIN and TLSWEEP_RANKS as in jobs/local.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TLSWEEP_NO_SETUP:-}" ] || scripts/setup.sh build
out=results.h5
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in -o | --output) out=${args[i + 1]:-results.h5} ;; --output=*) out=${args[i]#--output=} ;; esac
done
set +e
TLSWEEP_RESUME_WITH=${TLSWEEP_RESUME_WITH:-scripts/run.sh} jobs/local.sh "$@"
rc=$?
set -e
case $rc in 0 | 3 | 75) ;; *) exit "$rc" ;; esac  # no results file worth a report
if [ -f "$out" ]; then
  report="${out%.h5}-report"
  python=${TLSWEEP_PYTHON:-/usr/bin/python3}
  [ -x "$python" ] || python=python3
  what=complete
  [ "$rc" -eq 75 ] && what="interrupted (partial)"
  [ "$rc" -eq 3 ] && what="every configuration failed"
  echo "run.sh: sweep $what; writing the analysis report of $out to $report/ (about 10-30 s) ..." >&2
  set +e
  "$python" -m analysis.report "$out" -o "$report" >/dev/null
  prc=$?
  set -e
  if [ "$prc" -eq 0 ]; then
    echo "run.sh: report: $report/index.html" >&2
  else
    echo "run.sh: the report exited with status $prc (see above); $out itself is fine" >&2
    [ "$rc" -eq 0 ] && exit 1
  fi
  if [ "$rc" -eq 75 ]; then
    again=()
    for a in "$@"; do [ "$a" = --force ] || [ "$a" = --resume ] || again+=("$a"); done
    again_q=
    for a in "${again[@]}" --resume; do
      if [[ $a =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then again_q+=" $a"; else again_q+=" '${a//\'/\'\\\'\'}'"; fi
    done
    echo "run.sh: the sweep was interrupted: continue it with scripts/run.sh$again_q" >&2
  fi
fi
exit "$rc"
