#!/usr/bin/env bash
# Submits a sweep as a Slurm job array of PARTS parts (jobs/sweep-array.sbatch)
# and a job that merges the parts into OUT once all of them have completed.
#
#   jobs/submit-array.sh PARTS[%MAX_RUNNING] DIR OUT [sbatch options...] [-- tlsweep run arguments...]
#   jobs/submit-array.sh 16%4 big-parts big.h5 --ntasks=32 --time=01:00:00 \
#     -- configs/cluster-large.yaml --set 'grid.seed=[0, 1]'
#
# Part K runs `tlsweep run ARGS --part K/PARTS -o DIR/part-K.h5`; at most
# MAX_RUNNING parts run at once. The sbatch options apply to every part; the
# merge job runs one task with the script's other settings (site placeholders,
# time limit). Account, partition and QoS for both: the placeholder lines in
# jobs/sweep-array.sbatch, or sbatch's own SBATCH_ACCOUNT, SBATCH_PARTITION,
# SBATCH_QOS variables.
#
# Running it again with the same arguments continues an interrupted or partly
# failed sweep: complete parts end at once, the others resume, and a new merge
# job follows (the old one was cancelled when its dependency failed).
# Prints the two job ids. TLSWEEP_ARRAY_SCRIPT overrides the job script.
set -euo pipefail
if [ "${BASH_VERSINFO[0]}" -lt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -lt 4 ]; }; then
  echo "submit-array: bash $BASH_VERSION: needs bash 4.4 or later" >&2
  exit 2
fi
usage() {
  sed -n '4,5p' "$0" | sed 's/^# *//' >&2
  exit 2
}
[ $# -ge 3 ] || usage
spec=$1 dir=$2 out=$3
shift 3
parts=${spec%%%*}
counts=("$parts")
throttle=
if [ "$spec" != "$parts" ]; then
  throttle=${spec#*%}
  counts+=("$throttle")
fi
for n in "${counts[@]}"; do
  case $n in '' | *[!0-9]* | 0*)
    echo "submit-array: '$spec': allowed: PARTS or PARTS%MAX_RUNNING, whole numbers >= 1" >&2
    exit 2
    ;;
  esac
done
sbatch_opts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  sbatch_opts+=("$1")
  shift
done
[ $# -gt 0 ] && shift # the --
script=${TLSWEEP_ARRAY_SCRIPT:-$(cd "$(dirname "$0")" && pwd)/sweep-array.sbatch}
mkdir -p "$dir"

array=$(sbatch --parsable --array="1-$parts${throttle:+%$throttle}" "${sbatch_opts[@]}" \
  "$script" --parts "$parts" --dir "$dir" -- "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --nodes=1 --ntasks=1 --job-name=tlsweep-merge --output=tlsweep-merge-%j.out \
  "$script" --parts "$parts" --dir "$dir" --merge "$out")
merge=${merge%%;*}
echo "submit-array: array job $array (parts 1-$parts${throttle:+, at most $throttle at once} into $dir/), merge job $merge -> $out" >&2
echo "$array $merge"
