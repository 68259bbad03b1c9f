#!/usr/bin/env bash
# The selection sweep (docs/findings/selection.md): configs/selection.yaml once per data.shift_kind, each with the
# shifts that mean something for that kind, into DIR/selection-KIND.h5; then the tables.
# Usage: docs/selection/run.sh DIR [tlsweep run options, e.g. --resume]
set -euo pipefail
dir=${1:?usage: docs/selection/run.sh DIR [tlsweep run options]}
shift
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
declare -A shifts=(
  [rotation]="[0, 45, 90, 135, 180]"          # degrees
  [translation]="[0, 2, 4, 8, 16]"            # source class spreads (0.5) along (1, -1)/sqrt(2)
  [scale]="[0.5, 1, 2, 4, 8]"                 # factor of the target classes' std (0.6)
  [label]="[0.1, 0.3, 0.5, 0.7, 0.9]"         # share of class 0 in the target sets
  [conditional]="[0, 0.1, 0.25, 0.5, 0.75]"   # share of target labels swapped
)
for kind in rotation translation scale label conditional; do
  "$here/jobs/local.sh" "$here/configs/selection.yaml" -o "$dir/selection-$kind.h5" \
    --set "data.shift_kind=$kind" --set "grid.shift=${shifts[$kind]}" "$@"
done
/usr/bin/python3 "$here/docs/selection/tables.py" "$dir"/selection-*.h5
