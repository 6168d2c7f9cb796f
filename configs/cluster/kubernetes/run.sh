#!/usr/bin/env bash
# Submit a sharded valuation to Kubernetes: the Indexed Job, a wait for it to
# complete, then the merge Job. docs/cluster.md.
#
# usage: RUN_ID=2026-11-30 SHARDS=16 IMAGE=registry.example.invalid/msr:0.1.0 \
#        TAPE=/data/tapes/2026-11-30/loans.parquet configs/cluster/kubernetes/run.sh
# Optional: COMMAND (value or risk), CONFIG, RUN_DIR, CPUS, MEMORY,
# MEMORY_LIMIT, MERGE_MEMORY, PARALLELISM, PVC, NAMESPACE, TIMEOUT_SECONDS
# (the defaults are below).
#
# What can be checked from here is, before anything is applied: the values'
# form (paths absolute, inside the pods), the claim exists, no Job of this
# run exists yet, and the API server accepts both Jobs (a server-side dry
# run). Files on the volume are checked by the pods: a shard that exits 2 or
# 3 (usage, bad input) fails the whole Job at once (podFailurePolicy).
set -euo pipefail
here=$(dirname "$0")
fail() {
    echo "run.sh: $*; nothing applied" >&2
    exit 2
}
: "${RUN_ID:?set RUN_ID (lower-case letters, digits, '-': it names the Jobs)}"
: "${SHARDS:?set SHARDS (N)}"
: "${IMAGE:?set IMAGE (an image with msr on its PATH)}"
: "${TAPE:?set TAPE (the tape on the shared volume)}"
export RUN_ID SHARDS IMAGE TAPE
# value (default) or risk: msr risk --shard, merged into risk.json / risk.csv.
export COMMAND=${COMMAND:-value}
case $COMMAND in value | risk) ;; *) fail "COMMAND must be value or risk" ;; esac
export PARALLELISM=${PARALLELISM:-$SHARDS}
export CONFIG=${CONFIG:-/data/configs/default.toml}
export RUN_DIR=${RUN_DIR:-/data/runs/$RUN_ID}
export CPUS=${CPUS:-8}
export MEMORY=${MEMORY:-4Gi} MEMORY_LIMIT=${MEMORY_LIMIT:-8Gi} MERGE_MEMORY=${MERGE_MEMORY:-2Gi}
export PVC=${PVC:-msr-data}
export NAMESPACE=${NAMESPACE:-default}
TIMEOUT_SECONDS=${TIMEOUT_SECONDS:-21600}
export DEADLINE=$TIMEOUT_SECONDS
# shellcheck disable=SC2016 # envsubst's list of the placeholders
vars='${COMMAND} ${RUN_ID} ${SHARDS} ${PARALLELISM} ${IMAGE} ${TAPE} ${CONFIG} ${RUN_DIR} ${CPUS}
      ${MEMORY} ${MEMORY_LIMIT} ${MERGE_MEMORY} ${DEADLINE} ${PVC}'

[[ $RUN_ID =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ && ${#RUN_ID} -le 40 ]] ||
    fail "RUN_ID must be lower-case letters, digits and '-', at most 40 characters (it names the Jobs)"
for n in SHARDS PARALLELISM CPUS TIMEOUT_SECONDS; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || fail "$n must be a positive whole number, not '${!n}'"
done
for n in TAPE CONFIG RUN_DIR; do
    # The pods see the volume at /data: a relative path would be taken from
    # the image's working directory, in every pod.
    [[ ${!n} == /* ]] || fail "$n must be an absolute path in the pods (the volume is at /data), not '${!n}'"
done
command -v kubectl >/dev/null || fail "kubectl is not on PATH"
command -v envsubst >/dev/null || fail "envsubst (gettext) is not on PATH"
kubectl -n "$NAMESPACE" get "pvc/$PVC" >/dev/null || fail "no PersistentVolumeClaim $PVC in namespace $NAMESPACE"
for job in "msr-$COMMAND-$RUN_ID" "msr-merge-$RUN_ID"; do
    if kubectl -n "$NAMESPACE" get "job/$job" >/dev/null 2>&1; then
        fail "job/$job exists (a rerun: kubectl -n $NAMESPACE delete job/msr-$COMMAND-$RUN_ID job/msr-merge-$RUN_ID)"
    fi
done
for manifest in value-indexed-job.yaml merge-job.yaml; do
    envsubst "$vars" <"$here/$manifest" | kubectl -n "$NAMESPACE" apply --dry-run=server -f - >/dev/null ||
        fail "the API server refuses $manifest (above)"
done

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
if ! wait_job "msr-$COMMAND-$RUN_ID" "$TIMEOUT_SECONDS"; then
    echo "no merge. Shard logs: kubectl -n $NAMESPACE logs -l job-name=msr-$COMMAND-$RUN_ID --prefix" >&2
    exit 1
fi
envsubst "$vars" <"$here/merge-job.yaml" | kubectl -n "$NAMESPACE" apply -f -
status=0
wait_job "msr-merge-$RUN_ID" 3600 || status=1
kubectl -n "$NAMESPACE" logs "job/msr-merge-$RUN_ID" || true
exit "$status"
