#!/usr/bin/env bash
# Submit a sharded valuation to Slurm: the job array (one task per shard),
# then the merge, which waits for every task to succeed (afterok).
# docs/cluster.md.
#
# usage: configs/cluster/slurm/submit.sh N TAPE RUN_DIR [RUN_ID]
#   e.g. configs/cluster/slurm/submit.sh 16 /shared/tapes/2026-11-30/loans.parquet \
#            /shared/runs/2026-11-30 2026-11-30
# Other settings (MSR, MSR_CONFIG, MSR_FLAGS) pass through the environment.
set -euo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
N=$1 TAPE=$2 RUN_DIR=$3
RUN_ID=${4:-$(basename "$RUN_DIR")}
mkdir -p "$RUN_DIR/parts" "$RUN_DIR/logs"
export MSR_SHARDS=$N MSR_TAPE=$TAPE MSR_RUN_DIR=$RUN_DIR MSR_RUN_ID=$RUN_ID

# --array on the command line overrides the script's #SBATCH --array.
array=$(sbatch --parsable --export=ALL --array="0-$((N - 1))" \
    --output="$RUN_DIR/logs/value-%A_%a.log" "$here/value-array.sbatch")
array=${array%%;*}   # --parsable prints "jobid[;cluster]"
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$RUN_DIR/logs/merge-%j.log" "$here/merge.sbatch")
echo "run $RUN_ID: array job $array ($N shards), merge job ${merge%%;*}; outputs in $RUN_DIR/out"
