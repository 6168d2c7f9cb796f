#!/usr/bin/env bash
# Submit a sharded valuation to Kubernetes: the Indexed Job, a wait for it to
# complete, then the merge Job. docs/cluster.md.
#
# usage: RUN_ID=2026-11-30 SHARDS=16 IMAGE=registry.example.invalid/msr:0.1.0 \
#        TAPE=/data/tapes/2026-11-30/loans.parquet configs/cluster/kubernetes/run.sh
set -euo pipefail
here=$(dirname "$0")
: "${RUN_ID:?set RUN_ID (lower-case letters, digits, '-': it names the Jobs)}"
: "${SHARDS:?set SHARDS (N)}"
: "${IMAGE:?set IMAGE (an image with msr on its PATH)}"
: "${TAPE:?set TAPE (the tape on the shared volume)}"
export RUN_ID SHARDS IMAGE TAPE
# value (default) or risk: msr risk --shard, merged into risk.json / risk.csv.
export COMMAND=${COMMAND:-value}
case $COMMAND in value | risk) ;; *) echo "COMMAND must be value or risk" >&2; exit 2 ;; esac
export PARALLELISM=${PARALLELISM:-$SHARDS}
export CONFIG=${CONFIG:-/data/configs/default.toml}
export RUN_DIR=${RUN_DIR:-/data/runs/$RUN_ID}
export CPUS=${CPUS:-8}
export PVC=${PVC:-msr-data}
export NAMESPACE=${NAMESPACE:-default}
TIMEOUT_SECONDS=${TIMEOUT_SECONDS:-21600}
vars='${COMMAND} ${RUN_ID} ${SHARDS} ${PARALLELISM} ${IMAGE} ${TAPE} ${CONFIG} ${RUN_DIR} ${CPUS} ${PVC}'

# Wait until a Job is Complete (exit 0) or Failed (exit 1); `kubectl wait
# --for=condition=complete` alone would sit out its timeout on a failure.
wait_job() {
    local job=$1 deadline=$((SECONDS + $2)) conditions
    while (( SECONDS < deadline )); do
        conditions=$(kubectl -n "$NAMESPACE" get "job/$job" \
            -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
        case " $conditions " in
            *" Complete "*) return 0 ;;
            *" Failed "*)
                echo "$job failed; see: kubectl -n $NAMESPACE describe job/$job" >&2
                return 1 ;;
        esac
        sleep 20
    done
    echo "$job did not finish in time" >&2
    return 1
}

envsubst "$vars" <"$here/value-indexed-job.yaml" | kubectl -n "$NAMESPACE" apply -f -
wait_job "msr-$COMMAND-$RUN_ID" "$TIMEOUT_SECONDS"
envsubst "$vars" <"$here/merge-job.yaml" | kubectl -n "$NAMESPACE" apply -f -
status=0
wait_job "msr-merge-$RUN_ID" 3600 || status=1
kubectl -n "$NAMESPACE" logs "job/msr-merge-$RUN_ID" || true
exit "$status"
