#!/usr/bin/env bash
# The transferability sweep (docs/findings/transferability.md): configs/transferability.yaml once per
# data.shift_kind, each with six shifts that mean something for that kind, into
# DIR/transferability-KIND.h5; the five as one cube with a data_shift_kind axis (analysis.concat,
# written by xarray) in DIR/transferability.h5; then the tables (docs/transferability/tables.py);
# then the rotated digits (configs/transferability-digits.yaml) into DIR/transferability-digits.h5
# and their tables (DIR/tables-digits.md).
# Usage: docs/transferability/run.sh DIR [tlsweep run options, e.g. --resume]
# Environment: as jobs/local.sh (TLSWEEP_RANKS, TLSWEEP_BIN).
set -euo pipefail
dir=${1:?usage: docs/transferability/run.sh DIR [tlsweep run options]}
shift
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
declare -A shifts=(
  [rotation]="[0, 36, 72, 108, 144, 180]"      # degrees; 144-180 swap the classes
  [translation]="[0, 1, 2, 4, 8, 16]"          # source class spreads (0.5) along (1, -1)/sqrt(2)
  [scale]="[0.25, 0.5, 1, 2, 4, 8]"            # factor of the target classes' std (0.6)
  [label]="[0.05, 0.15, 0.3, 0.5, 0.7, 0.9]"   # share of class 0 in the target sets
  [conditional]="[0, 0.1, 0.25, 0.5, 0.75, 1]" # share of target labels swapped
)
for kind in rotation translation scale label conditional; do
  start=$(date +%s)
  "$here/jobs/local.sh" "$here/configs/transferability.yaml" -o "$dir/transferability-$kind.h5" \
    --set "data.shift_kind=$kind" --set "grid.shift=${shifts[$kind]}" "$@"
  echo "transferability-$kind.h5: $(( $(date +%s) - start )) s" >&2
done
files=()
for kind in rotation translation scale label conditional; do files+=("$dir/transferability-$kind.h5"); done
PYTHONPATH="$here" /usr/bin/python3 -c 'import sys, analysis; analysis.concat(sys.argv[2:]).to_netcdf(sys.argv[1], engine="h5netcdf", invalid_netcdf=True)' \
  "$dir/transferability.h5" "${files[@]}"
/usr/bin/python3 "$here/docs/transferability/tables.py" "${files[@]}"
/usr/bin/python3 "$here/docs/transferability/figure.py" "$dir/transferability.h5" "$dir/transferability_what_foresees.png"
# the rotated digits (configs/transferability-digits.yaml), its tables on their own
[ -f "$here/data/digits_source.h5" ] || (cd "$here" && /usr/bin/python3 -m analysis.datasets digits)
"$here/jobs/local.sh" "$here/configs/transferability-digits.yaml" -o "$dir/transferability-digits.h5" "$@"
/usr/bin/python3 "$here/docs/transferability/tables.py" --one-kind "$dir/transferability-digits.h5" >"$dir/tables-digits.md"
echo "the digits' tables: $dir/tables-digits.md" >&2
