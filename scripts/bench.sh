#!/usr/bin/env bash
# End-to-end throughput of `msr value` on generated books (docs/PERFORMANCE.md).
#
# usage: scripts/bench.sh [--million] [--ten-million] [--paths N] [--threads N] [--no-build]
#                         [--risk [--risk-loans N] [--risk-paths N]]
#   --million    also time the 1,000,000-loan book (about 10x the 100k run)
#   --ten-million  also value a 10,000,000-loan book on --ten-million-paths
#                paths (default 8): the bounded-memory check (peak RSS)
#   --paths N    rate paths (default 256)
#   --no-cashflows  time `msr value --no-cashflows` (marks only, same values)
#   --threads N  worker threads (default: all cores)
#   --no-build   use the existing release binary
#   --risk       also time `msr value`, `msr risk` (the default, bumped
#                grid) and `msr risk --derivatives tangent` on a --risk-loans book
#                (default 20000) with --risk-paths paths (default 64), print
#                the risk/value ratios and the two methods' durations side
#                by side
#
# Builds the release CLI, generates the books once under data/bench/ (fixed
# seeds; gitignored), times `msr value` on each and prints a table: wall time,
# loan-path-months per second (Σ remaining_term × paths over the wall time,
# over the engine time, and per CPU second, which is what to compare on a
# shared machine), tape load rows/s, peak RSS, threads.
#
# Environment:
#   MSR          the msr binary (default: $CARGO_TARGET_DIR or target, /release/msr)
#   MSR_SIMD     portable|avx2|avx512: lower the kernel's instruction set
#   BENCH_OUT    scratch output directory (default: out/bench)
#
# Peak RSS comes from GNU time (`/usr/bin/time -v`; on Debian/Ubuntu
# `apt-get install time`), else from python3's getrusage of the child.
set -euo pipefail
cd "$(dirname "$0")/.."

million=0
no_cashflows=0
ten_million=0
ten_million_paths=8
paths=256
threads=""
build=1
risk=0
risk_loans=20000
risk_paths=64
while [ $# -gt 0 ]; do
    case "$1" in
        --million) million=1 ;;
        --no-cashflows) no_cashflows=1 ;;
        --ten-million) ten_million=1 ;;
        --ten-million-paths) ten_million_paths="$2"; shift ;;
        --paths) paths="$2"; shift ;;
        --threads) threads="$2"; shift ;;
        --no-build) build=0 ;;
        --risk) risk=1 ;;
        --risk-loans) risk_loans="$2"; shift ;;
        --risk-paths) risk_paths="$2"; shift ;;
        -h|--help) sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

target_dir="${CARGO_TARGET_DIR:-target}"
msr="${MSR:-$target_dir/release/msr}"
if [ "$build" = 1 ] && [ -z "${MSR:-}" ]; then
    echo "building release msr (cargo build --release -p msr-cli) ..." >&2
    cargo build --release -p msr-cli --quiet
fi
# The clock this process gets, before and after the runs (a shared VM's
# clock moves; docs/PERFORMANCE.md): benches/src/bin/clock.rs.
clock_bin="$target_dir/release/clock"
if [ "$build" = 1 ]; then
    cargo build --release -p msr-benches --bin clock --quiet
fi
clock() { if [ -x "$clock_bin" ]; then "$clock_bin"; else echo "dependent-chain clock: not built (cargo build --release -p msr-benches --bin clock)"; fi; }
clock_before=$(clock)
[ -x "$msr" ] || { echo "no msr binary at $msr (drop --no-build or set MSR)" >&2; exit 1; }

mkdir -p data/bench
# loans:file:seed:paths
books=("100000:data/bench/loans_100k.parquet:20261121:$paths")
[ "$million" = 1 ] && books+=("1000000:data/bench/loans_1m.parquet:20261122:$paths")
[ "$ten_million" = 1 ] && books+=("10000000:data/bench/loans_10m.parquet:20261123:$ten_million_paths")
for entry in "${books[@]}"; do
    IFS=: read -r n file seed _ <<<"$entry"
    if [ ! -f "$file" ]; then
        echo "generating $n loans -> $file (seed $seed) ..." >&2
        "$msr" generate --loans "$n" --seed "$seed" --out "$file"
    fi
done

out_root="${BENCH_OUT:-out/bench}"
mkdir -p "$out_root"

# Run "$@"; write the child's peak RSS in KiB and its CPU seconds (user +
# system) to $out_root/rss.txt.
peak_rss() {
    if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then
        /usr/bin/time -v -o "$out_root/time.log" "$@"
        awk -F': *' '/Maximum resident set size/ {rss = $2}
            /User time \(seconds\)/ {cpu += $2}
            /System time \(seconds\)/ {cpu += $2}
            END {print rss, cpu}' "$out_root/time.log" >"$out_root/rss.txt"
    else
        python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%d %f\n" % (r.ru_maxrss, r.ru_utime + r.ru_stime))
sys.exit(rc)' "$out_root/rss.txt" "$@"
    fi
}

rows=()
for entry in "${books[@]}"; do
    IFS=: read -r n file seed book_paths <<<"$entry"
    out="$out_root/$(basename "$file" .parquet)"
    rm -rf "$out"
    args=(value --loans "$file" --num-paths "$book_paths" --out "$out" --quiet)
    [ -n "$threads" ] && args+=(--threads "$threads")
    [ "$no_cashflows" = 1 ] && args+=(--no-cashflows)
    echo "timing: $msr ${args[*]}" >&2
    start=$(date +%s.%N)
    peak_rss "$msr" "${args[@]}"
    end=$(date +%s.%N)
    read -r rss_kib cpu_s <"$out_root/rss.txt"
    rows+=("$(python3 - "$out/summary.json" "$start" "$end" "$rss_kib" "$n" "$cpu_s" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
cpu = max(float(sys.argv[6]), 1e-9)
t = s["timings"]
lpm = s["loan_path_months"]
rows_read = s.get("loans_read", int(sys.argv[5]))
read = max(t["read_seconds"], 1e-9)
print("\t".join([
    f"{int(sys.argv[5]):,}", str(s["paths"]), str(s["threads"]),
    f"{wall:.1f}", f"{t['engine_seconds']:.1f}", f"{cpu:.1f}", f"{lpm:.3e}",
    f"{lpm / wall:.3e}", f"{lpm / max(t['engine_seconds'], 1e-9):.3e}", f"{lpm / cpu:.3e}",
    f"{rows_read / read:.3e}", f"{int(sys.argv[4]) / 1024:.0f}",
]))
EOF
)")
done

echo
echo "msr value: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), MSR_SIMD=${MSR_SIMD:-auto}"
echo "before the runs: $clock_before; after: $(clock)"
{
    printf 'loans\tpaths\tthreads\twall_s\tengine_s\tcpu_s\tloan_path_months\tLPM/s_wall\tLPM/s_engine\tLPM/cpu_s\ttape_rows/s\tpeak_RSS_MiB\n'
    printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'

# The nightly grid against one valuation: `msr risk` (every scenario of the
# default grid) over `msr value` on the same book and paths.
if [ "$risk" = 1 ]; then
    file="data/bench/loans_risk_${risk_loans}.parquet"
    [ -f "$file" ] || "$msr" generate --loans "$risk_loans" --seed 20261124 --out "$file" >&2
    targs=()
    [ -n "$threads" ] && targs+=(--threads "$threads")
    timed() {
        local start end
        start=$(date +%s.%N)
        "$msr" "$@" --loans "$file" --num-paths "$risk_paths" --quiet "${targs[@]}" >/dev/null
        end=$(date +%s.%N)
        python3 -c "print(f'{$end - $start:.2f}')"
    }
    rm -rf "$out_root/risk_value" "$out_root/risk_risk"
    echo "timing: msr value and msr risk on $risk_loans loans x $risk_paths paths" >&2
    value_s=$(timed value --out "$out_root/risk_value")
    risk_s=$(timed risk --derivatives bump --out "$out_root/risk_risk")
    scenarios=$(python3 -c "import json; print(json.load(open('$out_root/risk_risk/risk.json'))['scenarios'])")
    echo
    echo "msr risk: $risk_loans loans x $risk_paths paths, $scenarios scenarios, MSR_SIMD=${MSR_SIMD:-auto}, clock: $(clock)"
    python3 -c "print(f'value {$value_s:.2f} s, risk (--derivatives bump, the default) {$risk_s:.2f} s: risk/value = {$risk_s / $value_s:.1f}x')"
    rm -rf "$out_root/risk_tangent"
    tangent_s=$(timed risk --derivatives tangent --out "$out_root/risk_tangent")
    python3 - "$out_root/risk_risk/risk.json" "$out_root/risk_tangent/risk.json" "$value_s" "$tangent_s" <<'PY'
import json, sys
bump, tan = (json.load(open(f)) for f in sys.argv[1:3])
value_s, tangent_s = float(sys.argv[3]), float(sys.argv[4])
print(f"risk --derivatives tangent {tangent_s:.2f} s, {tan['scenarios']} scenarios: "
      f"risk/value = {tangent_s / value_s:.1f}x")
rows = [("duration", bump["effective_duration"], tan["effective_duration"],
         tan["effective_duration_std_error"])]
rows += [(f"KRD {b['tenor_years']:g}y", b["duration"], t["duration"], t["std_error"])
         for b, t in zip(bump["key_rate_durations"], tan["key_rate_durations"])]
print(f"{'':<10} {'bump':>9} {'tangent':>9} {'SE':>7} {'diff':>8}  within max(1 %, 2 SE)")
for name, b, t, se in rows:
    ok = abs(t - b) <= max(0.01 * abs(b), 2 * se)
    print(f"{name:<10} {b:9.4f} {t:9.4f} {se:7.4f} {t - b:8.4f}  {'yes' if ok else 'NO'}")
PY
fi
