#!/usr/bin/env bash
# Time to accuracy: for each path design, run `msr value` (and with --risk,
# `msr risk` with the given --derivatives) on a book and print the wall time
# and the standard error the run reports, in dollars and in bp of UPB, with
# the host's instruction set and clock probe (docs/PERFORMANCE.md, "Time to
# 0.1 bp").
#
#   scripts/accuracy.sh [--loans FILE] [--risk] [--derivatives bump(default)|tangent]
#                       [--threads N] [--no-build] DESIGN...
#
# DESIGN is SCHEME:SCRAMBLES:PATHS, e.g. `pseudo:1:256` (antithetic
# pseudo-random paths, the default configuration) or `sobol-pca:8:512`
# (randomized QMC: 8 independent scrambles of 64 Sobol points, no antithetic
# pairs; docs/qmc.md). Everything else is configs/default.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

loans=data/bench/loans_1m.parquet
risk=0
derivatives=bump
threads=""
build=1
designs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --loans) loans="$2"; shift ;;
        --risk) risk=1 ;;
        --derivatives) derivatives="$2"; shift ;;
        --threads) threads="$2"; shift ;;
        --no-build) build=0 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *:*:*) designs+=("$1") ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#designs[@]} -gt 0 ] || { echo "no design given (see --help)" >&2; exit 2; }
[ -f "$loans" ] || { echo "no tape $loans (scripts/bench.sh --million writes the 1M book)" >&2; exit 2; }
[ "$build" = 1 ] && cargo build --release -q -p msr-cli --bin msr && cargo build --release -q -p msr-benches --bin clock
msr=target/release/msr
out_root=$(mktemp -d /tmp/msr-accuracy.XXXXXX)
trap 'rm -rf "$out_root"' EXIT
targs=()
[ -n "$threads" ] && targs+=(--threads "$threads")

echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
    "MSR_SIMD=${MSR_SIMD:-auto}; $(target/release/clock)"
printf '%-8s %-18s %6s %9s %14s %9s %11s\n' command design paths wall_s std_error_\$ SE_bp value_bp
for design in "${designs[@]}"; do
    IFS=: read -r scheme scrambles paths <<<"$design"
    antithetic=true
    [ "$scheme" = pseudo ] || antithetic=false
    config="$out_root/config_${scheme}_${scrambles}_${paths}.toml"
    sed -e "s/^num_paths = .*/num_paths = $paths/" \
        -e "s/^antithetic = .*/antithetic = $antithetic/" \
        -e "s/^path_scheme = .*/path_scheme = \"$scheme\"/" \
        -e "s/^scrambles = .*/scrambles = $scrambles/" configs/default.toml >"$config"
    cmds=(value)
    [ "$risk" = 1 ] && cmds+=(risk)
    for cmd in "${cmds[@]}"; do
        out="$out_root/${cmd}_${scheme}_${scrambles}_${paths}"
        extra=()
        [ "$cmd" = value ] && extra+=(--no-cashflows)
        [ "$cmd" = risk ] && extra+=(--derivatives "$derivatives")
        start=$(date +%s.%N)
        "$msr" "$cmd" --loans "$loans" --config "$config" --quiet --out "$out" \
            "${extra[@]}" "${targs[@]}" >/dev/null
        end=$(date +%s.%N)
        doc="$out/summary.json"
        [ "$cmd" = risk ] && doc="$out/risk.json"
        python3 - "$doc" "$cmd" "$design" "$paths" "$start" "$end" <<'PY'
import json, sys
doc, cmd, design, paths, start, end = sys.argv[1:]
d = json.load(open(doc))
se, upb, value = d["std_error"], d["upb"], d["value"]
print(f"{cmd:<8} {design:<18} {paths:>6} {float(end) - float(start):9.1f} "
      f"{se:14,.0f} {1e4 * se / upb:9.4f} {1e4 * value / upb:11.4f}")
PY
    done
done
