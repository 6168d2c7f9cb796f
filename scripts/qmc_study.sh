#!/usr/bin/env bash
# Quasi-random vs antithetic pseudo-random paths on the sample book (docs/qmc.md).
#
# usage: scripts/qmc_study.sh [--no-build] [qmc_study arguments...]
#   --no-build   use the existing release binary
#   anything else goes to the study binary; the defaults are
#     --seeds 16 --sizes 32,64,128,256,512 --reference 16384
#     --schemes pseudo-antithetic,sobol,sobol-antithetic,sobol-pca,sobol-pca-antithetic
#     --out docs/data   (add --resume to continue an interrupted study)
#
# Builds benches/src/bin/qmc_study.rs in release, then values
# data/sample_loans.parquet in process: once on the 16,384-path antithetic
# pseudo-random reference, then for every scheme, size and seed. Rows are
# appended to docs/data/qmc_runs.csv as they finish (--resume continues an
# interrupted study); docs/data/qmc_summary.csv and the printed Markdown table
# hold RMSE and max |error| against the reference ($ and bp of UPB), the spread
# of the estimates across seeds and the mean reported standard error.
#
# Cost: about 2.5e11 loan-path-months with the defaults (the reference is
# ~4.3e10): about 35 minutes on the 2-core machine at 1.2e8 loan-path-months
# per second; the wall time is printed at the end.
#
# Environment:
#   QMC_STUDY   the binary (default: $CARGO_TARGET_DIR or target, /release/qmc_study)
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
args=()
for a in "$@"; do
    case "$a" in
        --no-build) build=0 ;;
        -h|--help) sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$a") ;;
    esac
done

bin="${QMC_STUDY:-${CARGO_TARGET_DIR:-target}/release/qmc_study}"
if [ "$build" = 1 ]; then
    cargo build --release -p msr-benches --bin qmc_study
fi
if [ ! -x "$bin" ]; then
    echo "no binary at $bin (build it, or set QMC_STUDY)" >&2
    exit 2
fi

start=$(date +%s)
"$bin" "${args[@]}"
end=$(date +%s)
echo "wall time: $((end - start)) s" >&2
