#!/usr/bin/env bash
# docs/img/shift_kinds.png: each data.shift_kind at three of its shifts, from points tlsweep
# draws (no training: the figure shows data only). Usage: docs/selection/shift_kinds.sh [DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
bin=${TLSWEEP_BIN:-$here/build/tlsweep}
declare -A shifts=([rotation]="[0, 90, 180]" [translation]="[0, 4, 16]" [scale]="[0.5, 2, 8]"
                   [label]="[0.1, 0.5, 0.9]" [conditional]="[0, 0.25, 0.5]")
files=()
for kind in rotation translation scale label conditional; do
  "$bin" run -o "$dir/kind-$kind.h5" --force --set "data.shift_kind=$kind" --set "grid.shift=${shifts[$kind]}" \
    --set 'grid.lambda=[0]' --set 'grid.n_target=[10]' --set 'grid.seed=[0]' --set data.n_source=400 \
    --set data.n_test=300 --set train.epochs=0 --set train.finetune_epochs=0 --set baselines.target_epochs=0 \
    --set output.embeddings=true
  files+=("$dir/kind-$kind.h5")
done
cd "$here" && /usr/bin/python3 -m analysis.shifts "${files[@]}" -o docs/img/shift_kinds.png
