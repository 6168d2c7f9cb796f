#!/usr/bin/env bash
# Submit a sharded valuation to Slurm: the job array (one task per shard),
# then the merge, which starts only when every task succeeded (afterok) and is
# cancelled when one fails (--kill-on-invalid-dep=yes). docs/cluster.md.
#
# usage: configs/cluster/slurm/submit.sh [SBATCH_OPTION... --] N TAPE RUN_DIR [RUN_ID]
#   e.g. configs/cluster/slurm/submit.sh --cpus-per-task=32 --mem=64G -p batch -- \
#            16 /shared/tapes/2026-11-30/loans.parquet /shared/runs/2026-11-30
#   SBATCH_OPTIONs go to the shards' sbatch and override the script's #SBATCH
#   lines (--cpus-per-task is also msr's --threads). --array=7,9 resubmits
#   only those shards, and a merge: the rerun of a failed shard.
# Environment: MSR_COMMAND (value or risk), MSR, MSR_CONFIG, MSR_FLAGS,
# MSR_MERGE_SBATCH_OPTS, and sbatch's own SBATCH_PARTITION, SBATCH_ACCOUNT, ...
# (both jobs); see the comments below and docs/cluster.md.
#
# Everything that can be checked here is, before anything is submitted: the
# binary, tape and config exist (made absolute paths, so the jobs do not
# depend on the directory this was typed in), the run directory is writable.
set -euo pipefail

usage() {
    sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
fail() {
    echo "submit.sh: $*; nothing submitted" >&2
    exit 2
}

# Leading sbatch options, up to a `--`.
opts=()
for arg in "$@"; do
    if [[ $arg == -- ]]; then
        while [[ $1 != -- ]]; do
            opts+=("$1")
            shift
        done
        shift
        break
    fi
done
[[ $# -ge 1 && $1 == -* ]] && fail "sbatch options ($1 ...) end with a lone --, before N"
[[ $# -ge 3 && $# -le 4 ]] || usage
[[ $1 =~ ^[1-9][0-9]*$ ]] || fail "N must be a positive number of shards, not '$1'"
N=$1 TAPE=$2 RUN_DIR=$3 RUN_ID=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

# MSR_COMMAND: value (default) or risk (msr risk --shard; give it its own RUN_DIR).
COMMAND=${MSR_COMMAND:-value}
case $COMMAND in
    value | risk) ;;
    *) fail "MSR_COMMAND must be value or risk, not '$COMMAND'" ;;
esac
command -v sbatch >/dev/null || fail "sbatch is not on PATH"

# MSR: the msr binary (default: msr on this host's PATH). The jobs get its
# absolute path, so it must be on a file system every node sees at that path.
MSR=${MSR:-msr}
if [[ $MSR != */* ]]; then
    found=$(command -v "$MSR") || fail "no '$MSR' on PATH: set MSR to the msr binary"
    MSR=$found
fi
[[ -f $MSR && -x $MSR ]] || fail "MSR=$MSR is not an executable file"
MSR=$(realpath -s "$MSR")

[[ -f $TAPE && -r $TAPE ]] || fail "the tape $TAPE is not a readable file"
TAPE=$(realpath -s "$TAPE")

# MSR_CONFIG: the configuration (default: this checkout's configs/default.toml).
CONFIG=${MSR_CONFIG:-$here/../../default.toml}
[[ -f $CONFIG && -r $CONFIG ]] || fail "the config $CONFIG is not a readable file (MSR_CONFIG)"
CONFIG=$(realpath -s "$CONFIG")

mkdir -p "$RUN_DIR/parts" "$RUN_DIR/logs" 2>/dev/null ||
    fail "cannot create $RUN_DIR/parts and $RUN_DIR/logs"
probe=$(mktemp "$RUN_DIR/parts/.submit-probe.XXXXXX" 2>/dev/null) ||
    fail "the run directory $RUN_DIR is not writable"
rm -f "$probe"
RUN_DIR=$(realpath -s "$RUN_DIR")
# The merge takes every directory in parts/: one left from a run with more
# shards would make it refuse after the whole array ran. Refuse it now.
for part in "$RUN_DIR"/parts/*; do
    [[ -e $part ]] || continue
    name=$(basename "$part")
    if ! [[ $name =~ ^(0|[1-9][0-9]*)$ ]] || ((name >= N)); then
        fail "$part is not a shard of 0..$((N - 1)): remove it, or use another RUN_DIR"
    fi
done

# RUN_ID: shared by every shard and checked by the merge (default: the run
# directory's name). A rerun must give the same one.
RUN_ID=${RUN_ID:-$(basename "$RUN_DIR")}

# MSR_FLAGS: extra msr flags for every shard, e.g. "--num-paths 1024" (paths
# in it should be absolute). MSR_MERGE_SBATCH_OPTS: sbatch options for the
# merge job, e.g. "--mem=16G" (the leading options are the shards' only).
export MSR MSR_COMMAND=$COMMAND MSR_CONFIG=$CONFIG MSR_SHARDS=$N MSR_TAPE=$TAPE \
    MSR_RUN_DIR=$RUN_DIR MSR_RUN_ID=$RUN_ID
read -r -a merge_opts <<<"${MSR_MERGE_SBATCH_OPTS:-}"

# The jobs run in the run directory (on the shared file system), with their
# logs in RUN_DIR/logs; later options win, so the caller's override these.
# --array on the command line overrides the script's #SBATCH --array.
array=$(sbatch --parsable --export=ALL --chdir="$RUN_DIR" --job-name="msr-$COMMAND" \
    --array="0-$((N - 1))" --output="$RUN_DIR/logs/$COMMAND-%A_%a.log" \
    ${opts[@]+"${opts[@]}"} "$here/value-array.sbatch")
array=${array%%;*} # --parsable prints "jobid[;cluster]"
if ! merge=$(sbatch --parsable --export=ALL --chdir="$RUN_DIR" \
    --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$RUN_DIR/logs/merge-%j.log" \
    ${merge_opts[@]+"${merge_opts[@]}"} "$here/merge.sbatch"); then
    echo "submit.sh: the array job $array is queued but its merge could not be submitted" >&2
    exit 1
fi
merge=${merge%%;*}
echo "run $RUN_ID: msr $COMMAND, array job $array ($N shards), merge job $merge;" \
    "logs in $RUN_DIR/logs, outputs in $RUN_DIR/out"
