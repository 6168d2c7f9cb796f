#!/usr/bin/env bash
# Run a sharded valuation on one machine the way the cluster job array does:
# N `msr value --shard K/N` processes in parallel, then `msr merge`, then the
# portfolio summary. The merged outputs are bit-identical to an unsharded
# `msr value` of the same tape, config, seed and paths (docs/cluster.md).
# With MSR_COMMAND=risk the shards run `msr risk --shard K/N` instead and the
# merge writes risk.json and risk.csv.
#
# usage: scripts/cluster-local.sh N [TAPE] [-- extra `msr value` flags]
#   e.g. scripts/cluster-local.sh 4 data/sample_loans.parquet -- --num-paths 64
#
# Environment:
#   MSR_COMMAND value (default) or risk
#   MSR         the msr binary (default: target/release/msr, built if missing)
#   MSR_CONFIG  configuration (default: configs/default.toml)
#   MSR_WORK    work directory (default: out/cluster-local); partials go to
#               $MSR_WORK/parts/K, logs to $MSR_WORK/logs/K.log, the merged
#               outputs to $MSR_WORK/out
#   MSR_RUN_ID  run id shared by every shard (default: local-<UTC time>)
#   MSR_THREADS worker threads per shard (default: cores / N, at least 1)
set -euo pipefail

usage() { sed -n '9,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[1-9][0-9]*$ ]] || usage
N=$1
shift
TAPE=data/sample_loans.parquet
if [[ $# -ge 1 && $1 != -- ]]; then
    TAPE=$1
    shift
fi
if [[ $# -ge 1 && $1 == -- ]]; then
    shift
fi
EXTRA=("$@")

cd "$(dirname "$0")/.."
MSR=${MSR:-target/release/msr}
if [[ ! -x $MSR ]]; then
    echo "building $MSR ..." >&2
    cargo build --release --quiet --bin msr
fi
COMMAND=${MSR_COMMAND:-value}
case $COMMAND in
    value | risk) ;;
    *) echo "MSR_COMMAND must be value or risk, not '$COMMAND'" >&2; exit 2 ;;
esac
CONFIG=${MSR_CONFIG:-configs/default.toml}
WORK=${MSR_WORK:-out/cluster-local}
RUN_ID=${MSR_RUN_ID:-local-$(date -u +%Y%m%dT%H%M%SZ)}
CORES=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
THREADS=${MSR_THREADS:-$(( CORES / N > 0 ? CORES / N : 1 ))}

rm -rf "$WORK/parts" "$WORK/logs"
mkdir -p "$WORK/parts" "$WORK/logs"
echo "run $RUN_ID: msr $COMMAND, $N shards of $TAPE, $THREADS thread(s) each; partials in $WORK/parts" >&2

start=$(date +%s.%N)
pids=()
for (( k = 0; k < N; k++ )); do
    # The job array's task: the array index is the shard (0-based).
    "$MSR" "$COMMAND" --shard "$k/$N" --loans "$TAPE" --config "$CONFIG" \
        --out "$WORK/parts/$k" --run-id "$RUN_ID" --threads "$THREADS" \
        ${EXTRA[@]+"${EXTRA[@]}"} >"$WORK/logs/$k.log" 2>&1 &
    pids+=("$!")
done
failed=0
for (( k = 0; k < N; k++ )); do
    if ! wait "${pids[$k]}"; then
        echo "shard $k/$N failed; see $WORK/logs/$k.log:" >&2
        tail -n 3 "$WORK/logs/$k.log" >&2
        failed=1
    fi
done
if (( failed )); then
    exit 1
fi
shards_done=$(date +%s.%N)

# The dependent merge job. Exit 5 (outputs written, data needs attention) passes through.
status=0
"$MSR" merge "$WORK"/parts/* --out "$WORK/out" || status=$?
end=$(date +%s.%N)
awk -v a="$start" -v b="$shards_done" -v c="$end" \
    'BEGIN { printf "shards %.2f s, merge %.2f s, total %.2f s\n", b - a, c - b, c - a }' >&2
exit "$status"
