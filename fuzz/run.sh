#!/usr/bin/env bash
# Runs hamlet's fuzz targets, each for a bounded time, on the stable toolchain.
#
#   fuzz/run.sh                 every target for 60 s
#   fuzz/run.sh 600             every target for ten minutes
#   fuzz/run.sh 30 pii input    only these targets, 30 s each
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). `--sanitizer none` keeps to flags
# that stable rustc accepts; hamlet has no `unsafe` code for AddressSanitizer to
# watch. A crash stops the run, leaves its input in fuzz/artifacts/<target>/ and
# exits non-zero; replay it with `cargo fuzz run <target> <file> --sanitizer none`.
set -euo pipefail

cd "$(dirname "$0")"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    echo "usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
shift || true
if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

for target in "${targets[@]}"; do
    echo "==> fuzzing $target for $seconds s"
    mkdir -p "corpus/$target"
    # -timeout: an input that takes over 10 s is reported as a hang, which is a
    # bug for targets that must answer at once. -rss_limit_mb: the same for memory.
    cargo fuzz run "$target" --sanitizer none -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "==> no crash in ${#targets[@]} target(s), $seconds s each"
