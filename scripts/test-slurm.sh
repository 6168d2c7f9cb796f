#!/usr/bin/env bash
# The Slurm templates (configs/cluster/slurm/) as an operator runs them, on a
# real one-node Slurm brought up here from Debian's packages: munged,
# slurmctld and slurmd on a generated slurm.conf, all state in a temporary
# directory, all stopped on exit. It submits sharded `msr value` and
# `msr risk` runs through submit.sh and checks:
#   * the merged outputs are bit-identical to unsharded runs of the same inputs;
#   * submitted from another directory, with relative paths, it works;
#   * sbatch options pass through (cores, memory, time; the merge's own;
#     SBATCH_PARTITION for both), and logs land under RUN_DIR/logs;
#   * a shard with --cpus-per-task=2 may run on 2 CPUs (srun is given the
#     count), and the merge still runs with SRUN_CPUS_PER_TASK exported;
#   * a killed shard cancels the merge, and the rerun commands of
#     docs/cluster.md (by hand, and through submit.sh) give identical outputs;
#   * submit.sh refuses a missing binary, tape or config, an unwritable run
#     directory and stale partials, before submitting anything.
#
# usage: scripts/test-slurm.sh   (as root: the daemons run as root)
# Environment:
#   MSR            the msr binary (default: $CARGO_TARGET_DIR or target, then
#                  debug/msr if built, else release/msr)
#   MSR_SLURM_KEEP keep the temporary directory (daemon logs, runs) when set
#   MSR_SLURM_LOANS, MSR_SLURM_PATHS  the book's loans and paths (2000, 16)
# Needs slurmctld, slurmd, munged, sbatch and jq (Debian: slurm-wlm munge jq);
# without them it prints why and skips (exit 0). The last line is
# `slurm: N passed, N failed`; any failure exits 1.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)

missing=()
for tool in munged slurmctld slurmd sbatch squeue scontrol scancel jq; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "slurm: skipped: ${missing[*]} not installed (apt-get install slurm-wlm munge jq)"
    echo "slurm: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
if ((EUID != 0)); then
    echo "slurm: needs root (the test's slurmd runs jobs as root)" >&2
    exit 1
fi

target=${CARGO_TARGET_DIR:-target}
if [[ -z ${MSR:-} ]]; then
    MSR=$target/debug/msr
    [[ -x $MSR ]] || MSR=$target/release/msr
fi
[[ -x $MSR ]] || { echo "slurm: no msr binary at $MSR (cargo build, or set MSR)" >&2; exit 1; }
MSR_BIN=$(realpath "$MSR")
unset MSR # submit.sh finds the wrapper below on PATH

T=$(mktemp -d /tmp/msr-slurm.XXXXXX)
T=$(realpath "$T")
chmod 755 "$T" # munged wants its socket's directories searchable by all

# ---------------------------------------------------------------------------
# Reporting

passed=0 failed=0
ok() {
    passed=$((passed + 1))
    echo "ok - $*"
}
not_ok() {
    failed=$((failed + 1))
    echo "FAIL - $*"
}
indent() { while IFS= read -r line; do echo "    $line"; done; }
# check DESCRIPTION COMMAND...: one check, its output shown only on failure.
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$what"
    else
        not_ok "$what"
        indent <<<"$out"
    fi
}

# ---------------------------------------------------------------------------
# The cluster: munged, slurmctld, slurmd, on ports nothing listens on.

daemons_started=0
cleanup() {
    local status=$? pids=() pidfile pid i
    if ((daemons_started)); then
        for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid"; do
            [[ -s $pidfile ]] && pids+=("$(<"$pidfile")")
        done
        # Jobs first (their steps end with them), then the daemons.
        scancel --quiet --user=root 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
            sleep 0.2
        done
        scontrol shutdown >/dev/null 2>&1 || true
        for pid in ${pids[@]+"${pids[@]}"}; do
            stop_pid "$pid"
        done
        if [[ -s $T/munge/munged.pid ]]; then
            pid=$(<"$T/munge/munged.pid")
            kill "$pid" 2>/dev/null || true
            stop_pid "$pid"
        fi
    fi
    if ((status != 0 || failed > 0)) || [[ -n ${MSR_SLURM_KEEP:-} ]]; then
        echo "slurm: state, logs and runs kept in $T"
    else
        rm -rf "$T"
    fi
}
# Stop process $1: it has 5 s to exit (after a shutdown), then TERM, then KILL.
stop_pid() {
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        ((i == 50)) && kill "$1" 2>/dev/null
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=16817
while ! port_free "$ctld_port" || ! port_free "$((ctld_port + 1))"; do
    ctld_port=$((ctld_port + 2))
    ((ctld_port < 16900)) || { echo "slurm: no free port pair in 16817..16900" >&2; exit 1; }
done

mkdir -p "$T/munge" "$T/ctld" "$T/spool" "$T/log" "$T/runs" "$T/whole" "$T/bin"
chmod 755 "$T/munge"
head -c 1024 /dev/urandom >"$T/munge/munge.key"
chmod 400 "$T/munge/munge.key"
munged --key-file="$T/munge/munge.key" --socket="$T/munge/socket" \
    --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/seed" \
    --log-file="$T/log/munged.log"
daemons_started=1

host=$(hostname -s)
CLUSTER=msrtest
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
export SLURM_CONF=$T/slurm.conf
# TaskPluginParam=Cores binds a step's tasks to cores, as on sites that set it
# and on multi-socket nodes (this VM's one socket would otherwise bind a
# one-task step to the whole socket and hide what srun's CPU count does).
# The default partition is not the one the runs use: SBATCH_PARTITION picks
# it, for both jobs.
cat >"$SLURM_CONF" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/ctld
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
TaskPluginParam=Cores
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=other Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=msr Nodes=ALL MaxTime=INFINITE State=UP
EOF
slurmctld
slurmd
idle=0
for ((i = 0; i < 60; i++)); do
    if [[ $(sinfo -h -p msr -o %t 2>/dev/null) == idle ]]; then
        idle=1
        break
    fi
    sleep 0.5
done
if ((!idle)); then
    echo "slurm: the node did not come up idle within 30 s:" >&2
    sinfo >&2 || true
    tail -n 20 "$T/log/slurmctld.log" "$T/log/slurmd.log" >&2 || true
    exit 1
fi
echo "slurm: $(sinfo -V), node $host with $cpus CPUs up; state in $T"

# ---------------------------------------------------------------------------
# Helpers

# The state of a job (or of each task of an array), one per line.
states() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# Wait (at most $2 s) until job $1 and every task of it has finished.
wait_done() {
    local deadline=$((SECONDS + $2)) s
    while ((SECONDS < deadline)); do
        s=$(states "$1")
        if [[ -n $s ]] && ! grep -qE '^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED)' <<<"$s"; then
            return 0
        fi
        sleep 0.5
    done
    echo "job $1 not finished after $2 s: $(states "$1" | tr '\n' ' ')" >&2
    return 1
}
# `FIELD=value` of a job, from scontrol.
field() { scontrol -o show job "$1" | head -n 1 | grep -o " $2=[^ ]*" | cut -d= -f2-; }
# Number of CPUs in a Cpus_allowed_list such as 0-1,3.
count_cpus() {
    local n=0 part
    IFS=, read -r -a parts <<<"$1"
    for part in "${parts[@]}"; do
        if [[ $part == *-* ]]; then
            n=$((n + ${part#*-} - ${part%-*} + 1))
        else
            n=$((n + 1))
        fi
    done
    echo "$n"
}
# Jobs the controller knows of (finished ones too: MinJobAge is an hour).
job_count() { squeue -h -t all -o %i | wc -l; }

# Value outputs of a merge equal the unsharded run's, bit for bit: the files
# byte for byte, summary.json and manifest.json but for what differs by design
# (docs/cluster.md: timings, throughput, threads; the manifest's provenance).
same_value() {
    local a=$1 b=$2 f
    for f in loan_values.parquet cashflows.parquet marks.csv rejects.csv; do
        cmp "$a/$f" "$b/$f" || return 1
    done
    diff <(jq -S 'del(.timings, .loan_path_months_per_second, .threads)' "$a/summary.json") \
        <(jq -S 'del(.timings, .loan_path_months_per_second, .threads)' "$b/summary.json") || return 1
    local keys='{run_id, seed, num_paths, oas, inputs, rate_paths, resolved_config}'
    diff <(jq -S "$keys" "$a/manifest.json") <(jq -S "$keys" "$b/manifest.json") || return 1
    diff <(ls "$a") <(ls "$b")
}
# Risk outputs: risk.csv and rejects.csv byte for byte, risk.json but for its
# provenance and timings.
same_risk() {
    local a=$1 b=$2 f
    for f in risk.csv rejects.csv; do
        cmp "$a/$f" "$b/$f" || return 1
    done
    diff <(jq -S 'del(.run, .timings)' "$a/risk.json") <(jq -S 'del(.run, .timings)' "$b/risk.json") || return 1
    diff <(ls "$a") <(ls "$b")
}

# The shards run this wrapper as `msr` (found on PATH by submit.sh): it logs
# the CPUs the process may run on, and with MSR_TEST_KILL_SHARD=K the shard K
# is killed (SIGKILL, as by the OOM killer) before it writes anything.
cat >"$T/bin/msr" <<EOF
#!/bin/sh
echo "affinity \${SLURM_ARRAY_TASK_ID:-merge}: \$(grep Cpus_allowed_list /proc/self/status)" >&2
if [ -n "\${MSR_TEST_KILL_SHARD:-}" ] && [ "\${SLURM_ARRAY_TASK_ID:-}" = "\$MSR_TEST_KILL_SHARD" ]; then
    kill -KILL \$\$
fi
exec "$MSR_BIN" "\$@"
EOF
chmod 755 "$T/bin/msr"
export PATH=$T/bin:$PATH

SUBMIT=$REPO/configs/cluster/slurm/submit.sh
CONFIG=$(realpath -s "$REPO/configs/default.toml")
SHARDS=4
LOANS=${MSR_SLURM_LOANS:-2000}
PATHS=${MSR_SLURM_PATHS:-16}
export MSR_FLAGS="--num-paths $PATHS"
export SBATCH_PARTITION=msr
unset MSR_COMMAND MSR_CONFIG MSR_MERGE_SBATCH_OPTS SRUN_CPUS_PER_TASK MSR_TEST_KILL_SHARD
# A shard's sbatch options: two cores (msr --threads 2), memory and time.
shard_opts=(--cpus-per-task=2 --mem=1G --time=00:10:00)

# ---------------------------------------------------------------------------
# The book and the unsharded runs

mkdir -p "$T/elsewhere" # where the operator types submit.sh, with the tape
TAPE=$T/elsewhere/loans.parquet
# In SHARDS row groups: each shard reads its own.
"$MSR_BIN" generate --loans "$LOANS" --seed 7 --row-group-size $((LOANS >= SHARDS ? LOANS / SHARDS : 1)) --out "$TAPE" >/dev/null
for cmd in value risk; do
    "$MSR_BIN" "$cmd" --loans "$TAPE" --config "$CONFIG" --out "$T/whole/$cmd" \
        --run-id "slurm-$cmd" --num-paths "$PATHS" --threads 2 --quiet
done
echo "slurm: a book of $LOANS loans, $PATHS paths, $SHARDS shards; unsharded runs in $T/whole"

# ---------------------------------------------------------------------------
# The testbed shows the Slurm behaviours the scripts work around: srun
# without --cpus-per-task runs a 2-core shard on one core, and a plain srun
# with SRUN_CPUS_PER_TASK=2 exported fails in a 1-core job (the merge's).

cat >"$T/control.sbatch" <<'END'
#!/bin/bash
echo "plain $(srun grep Cpus_allowed_list /proc/self/status | cut -f2)"
echo "given $(srun --cpus-per-task="$SLURM_CPUS_PER_TASK" grep Cpus_allowed_list /proc/self/status | cut -f2)"
END
cat >"$T/control-merge.sbatch" <<'END'
#!/bin/bash
if srun true; then echo "plain srun ran"; else echo "plain srun failed"; fi
END
control=$(sbatch --parsable --cpus-per-task=2 --output="$T/control.log" "$T/control.sbatch")
control_merge=$(SRUN_CPUS_PER_TASK=2 sbatch --parsable --export=ALL --cpus-per-task=1 \
    --output="$T/control-merge.log" "$T/control-merge.sbatch")
wait_done "$control" 60 || true
wait_done "$control_merge" 60 || true
plain=$(sed -n 's/^plain //p' "$T/control.log" 2>/dev/null || true)
given=$(sed -n 's/^given //p' "$T/control.log" 2>/dev/null || true)
echo "slurm: in a job with --cpus-per-task=2, srun alone is bound to CPUs '$plain'," \
    "srun --cpus-per-task=2 to '$given'"
check "control: srun without --cpus-per-task is bound to 1 CPU of a 2-core job ('$plain')" \
    test "$(count_cpus "${plain:-x}")" = 1
check "control: with SRUN_CPUS_PER_TASK=2 exported, a plain srun fails in a 1-core job" \
    grep -qx "plain srun failed" "$T/control-merge.log"

# ---------------------------------------------------------------------------
# Submitting

# submit DIR ARGS...: submit.sh ARGS typed in DIR; sets $array and $merge.
submit() {
    local dir=$1 out
    shift
    array='' merge=''
    out=$(cd "$dir" && "$SUBMIT" "$@") || return 1
    echo "  $out"
    array=$(sed -n 's/.*array job \([0-9]*\).*/\1/p' <<<"$out")
    merge=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' <<<"$out")
    [[ -n $array && -n $merge ]]
}
# The number of CPUs each shard of array $2 could run on, from the wrapper's
# lines in the logs under run directory $1, one line per shard.
shard_cpus() {
    local line
    cat "$1"/logs/*-"$2"_*.log 2>/dev/null |
        sed -n 's/^affinity [0-9]*: Cpus_allowed_list:\s*//p' |
        while read -r line; do count_cpus "$line"; done
}
# All tasks of array $1 have state $2.
all_tasks() {
    local s
    s=$(states "$1")
    [[ -n $s ]] && ! grep -qvx "$2" <<<"$s"
}
# wait_run DESCRIPTION: wait for $array and $merge, check both completed.
wait_run() {
    wait_done "$array" 300 || true
    wait_done "$merge" 300 || true
    check "$1: every array task COMPLETED" all_tasks "$array" COMPLETED
    check "$1: the merge job COMPLETED" test "$(states "$merge")" = COMPLETED
}
# The resources of job $1: CPUs, memory, time limit, partition.
resources() {
    echo "$(field "$1" NumCPUs) $(field "$1" MinMemoryNode) $(field "$1" TimeLimit) $(field "$1" Partition)"
}
# Only the logs of array $2's shards and of merge $3 in run directory $1.
logs_in_run_dir() {
    local n
    n=$(find "$1/logs" -name "*-$2_*.log" | wc -l)
    [[ $n == "$SHARDS" && -f $1/logs/merge-$3.log ]] || {
        echo "logs in $1/logs: $(ls "$1/logs")"
        return 1
    }
}

# ---------------------------------------------------------------------------
# msr value, typed in another directory: relative tape and run directory,
# msr found on PATH, the default config. Sbatch options for the shards, for
# the merge (MSR_MERGE_SBATCH_OPTS) and for both (SBATCH_PARTITION).

run=$T/runs/value
if MSR_MERGE_SBATCH_OPTS="--mem=512M --time=00:05:00" \
    submit "$T/elsewhere" "${shard_opts[@]}" -- "$SHARDS" loans.parquet ../runs/value slurm-value; then
    ok "value: submit.sh typed in another directory, relative paths: array $array, merge $merge"
    wait_run value
    check "value: merged outputs bit-identical to the unsharded run ($SHARDS shards)" \
        same_value "$T/whole/value" "$run/out"
    check "value: the shards got --cpus-per-task=2 --mem=1G --time=00:10:00, partition msr" \
        test "$(resources "$array")" = "2 1G 00:10:00 msr"
    check "value: the merge got --mem=512M --time=00:05:00, 1 CPU, partition msr" \
        test "$(resources "$merge")" = "1 512M 00:05:00 msr"
    check "value: msr ran with --threads 2 in each shard (merged summary.json: threads $((2 * SHARDS)))" \
        test "$(jq .threads "$run/out/summary.json")" = $((2 * SHARDS))
    cpus_seen=$(shard_cpus "$run" "$array" | xargs)
    echo "  CPUs each shard could run on: $cpus_seen"
    check "value: each of the $SHARDS shards could run on 2 CPUs (srun got --cpus-per-task)" \
        test "$cpus_seen" = "$(yes 2 | head -n "$SHARDS" | xargs)"
    check "value: logs of the $SHARDS shards and the merge in RUN_DIR/logs" \
        logs_in_run_dir "$run" "$array" "$merge"
    check "value: nothing written where submit.sh was typed" \
        test "$(ls -A "$T/elsewhere")" = loans.parquet
else
    not_ok "value: submit.sh typed in another directory, relative paths"
fi

# ---------------------------------------------------------------------------
# msr risk, with SRUN_CPUS_PER_TASK=2 exported (the usual Slurm 22.05
# workaround, in a login profile): the merge, a 1-core job, must still run.

run=$T/runs/risk
if MSR_COMMAND=risk SRUN_CPUS_PER_TASK=2 \
    submit "$REPO" "${shard_opts[@]}" -- "$SHARDS" "$TAPE" "$run" slurm-risk; then
    ok "risk: submitted with MSR_COMMAND=risk, SRUN_CPUS_PER_TASK=2: array $array, merge $merge"
    wait_run risk
    check "risk: merged risk.json, risk.csv, rejects.csv bit-identical to the unsharded run ($SHARDS shards)" \
        same_risk "$T/whole/risk" "$run/out"
    check "risk: logs of the $SHARDS shards and the merge in RUN_DIR/logs" \
        logs_in_run_dir "$run" "$array" "$merge"
else
    not_ok "risk: submitted with MSR_COMMAND=risk"
fi

# ---------------------------------------------------------------------------
# A killed shard: the merge is cancelled, not left pending; the rerun of
# docs/cluster.md, by hand for value and through submit.sh for risk, gives
# the same outputs.

killed=2
for cmd in value risk; do
    run=$T/runs/$cmd-rerun
    id=slurm-$cmd
    if ! MSR_COMMAND=$cmd MSR_TEST_KILL_SHARD=$killed \
        submit "$T/elsewhere" "${shard_opts[@]}" -- "$SHARDS" "$TAPE" "$run" "$id"; then
        not_ok "$cmd rerun: submitted with shard $killed to be killed"
        continue
    fi
    wait_done "$array" 300 || true
    wait_done "$merge" 120 || true
    task_states=$(scontrol -o show job "$array" | grep -o 'ArrayTaskId=[0-9]* .*JobState=[A-Z]*' |
        sed 's/ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z]*\)/\1:\2/' | sort | xargs)
    want=$(for ((k = 0; k < SHARDS; k++)); do
        if ((k == killed)); then echo "$k:FAILED"; else echo "$k:COMPLETED"; fi
    done | xargs)
    check "$cmd rerun: shard $killed killed, the others completed ($task_states)" \
        test "$task_states" = "$want"
    check "$cmd rerun: the merge was cancelled, not left pending ($(states "$merge") $(field "$merge" Reason))" \
        test "$(states "$merge") $(field "$merge" Reason)" = "CANCELLED DependencyNeverSatisfied"
    check "$cmd rerun: no merged outputs, no partial from shard $killed" \
        test ! -e "$run/out" -a ! -e "$run/parts/$killed/manifest.json"
    if [[ $cmd == value ]]; then
        # docs/cluster.md, "Rerunning a failed shard", by hand (typed in $T).
        jid=$(cd "$T" && sbatch --parsable --array="$killed" --cpus-per-task=2 \
            --export="ALL,MSR=$T/bin/msr,MSR_CONFIG=$CONFIG,MSR_SHARDS=$SHARDS,MSR_TAPE=$TAPE,MSR_RUN_DIR=$run,MSR_RUN_ID=$id,MSR_FLAGS=$MSR_FLAGS" \
            --output="$run/logs/value-%A_%a.log" "$REPO/configs/cluster/slurm/value-array.sbatch")
        mid=$(cd "$T" && sbatch --parsable --dependency="afterok:${jid%%;*}" --kill-on-invalid-dep=yes \
            --export="ALL,MSR=$T/bin/msr,MSR_RUN_DIR=$run" \
            --output="$run/logs/merge-%j.log" "$REPO/configs/cluster/slurm/merge.sbatch")
        array=${jid%%;*} merge=${mid%%;*}
        echo "  rerun by hand: array $array, merge $merge"
    else
        # docs/cluster.md: the submit.sh command again, with --array=K.
        MSR_COMMAND=risk submit "$T/elsewhere" "${shard_opts[@]}" --array="$killed" -- \
            "$SHARDS" "$TAPE" "$run" "$id" || not_ok "risk rerun: submit.sh --array=$killed"
    fi
    wait_run "$cmd rerun"
    check "$cmd rerun: only shard $killed ran again" \
        test "$(scontrol -o show job "$array" | grep -o 'ArrayTaskId=[0-9]*' | xargs)" = "ArrayTaskId=$killed"
    check "$cmd rerun: merged outputs bit-identical to the unsharded run" \
        "same_$cmd" "$T/whole/$cmd" "$run/out"
done

# ---------------------------------------------------------------------------
# submit.sh refuses what would fail in every task, and submits nothing.

# refuses DESCRIPTION WANT COMMAND...: exits 2, prints WANT, and the
# controller knows of no more jobs than before.
refuses() {
    local what=$1 want=$2 before out status=0
    shift 2
    before=$(job_count)
    out=$("$@" 2>&1) || status=$?
    if [[ $status == 2 && $out == *"$want"* && $out == *"nothing submitted"* && $(job_count) == "$before" ]]; then
        ok "refused: $what"
    else
        not_ok "refused: $what (exit $status; want '$want')"
        indent <<<"$out"
    fi
}
mkdir -p "$T/runs/refused" "$T/runs/stale/parts/$SHARDS" "$T/runs/unwritable/parts" "$T/runs/unwritable/logs"
printf '#!/bin/sh\n' >"$T/not-executable"
refuses "no msr on PATH" "no 'msr-missing' on PATH" \
    env MSR=msr-missing "$SUBMIT" "$SHARDS" "$TAPE" "$T/runs/refused"
refuses "a binary that is not executable" "is not an executable file" \
    env MSR="$T/not-executable" "$SUBMIT" "$SHARDS" "$TAPE" "$T/runs/refused"
refuses "a missing tape" "the tape $T/missing.parquet is not a readable file" \
    "$SUBMIT" "$SHARDS" "$T/missing.parquet" "$T/runs/refused"
refuses "a missing config" "the config $T/missing.toml is not a readable file" \
    env MSR_CONFIG="$T/missing.toml" "$SUBMIT" "$SHARDS" "$TAPE" "$T/runs/refused"
refuses "a run directory that cannot be created" "cannot create" \
    "$SUBMIT" "$SHARDS" "$TAPE" "$T/not-executable/run"
chmod 755 "$T/runs" "$T/runs/unwritable" "$T/runs/unwritable/parts" "$T/runs/unwritable/logs"
# As root every directory is writable, so this one runs submit.sh as nobody,
# who must be able to reach the checkout (not so under a mode-700 /root).
if runuser -u nobody -- test -x "$SUBMIT"; then
    refuses "a run directory the user cannot write" "is not writable" \
        runuser -u nobody -- env PATH="$PATH" SLURM_CONF="$SLURM_CONF" "$SUBMIT" "$SHARDS" "$TAPE" "$T/runs/unwritable"
else
    echo "  note: user nobody cannot reach $SUBMIT; the unwritable-run-dir refusal is not checked here"
fi
refuses "a partial left from a run with more shards" "parts/$SHARDS is not a shard of 0..$((SHARDS - 1))" \
    "$SUBMIT" "$SHARDS" "$TAPE" "$T/runs/stale"
refuses "MSR_COMMAND other than value or risk" "MSR_COMMAND must be value or risk" \
    env MSR_COMMAND=oas "$SUBMIT" "$SHARDS" "$TAPE" "$T/runs/refused"
refuses "sbatch options without the -- that ends them" "end with a lone --" \
    "$SUBMIT" --mem=1G "$SHARDS" "$TAPE" "$T/runs/refused"
refuses "N that is not a positive number" "N must be a positive number of shards" \
    "$SUBMIT" 0 "$TAPE" "$T/runs/refused"

echo "slurm: $passed passed, $failed failed"
((failed == 0))
