#!/usr/bin/env bash
# The reliability report's fuzz campaign: builds every target with libFuzzer's coverage
# instrumentation (no cargo-fuzz needed; release, debug assertions and overflow checks on), then
# runs each to 10 million executions or its time cap, one after another (2-core machines), and
# appends one line per target to $OUT/summary.txt.
#
#   bash fuzz/campaign.sh [TARGET…]          # default: all eight targets
#   OUT=/some/dir CAP=1800 bash fuzz/campaign.sh daemon_dispatch
#
# Inputs libFuzzer finds go to fuzz/corpus/TARGET, crashes to fuzz/artifacts/TARGET (both ignored
# by git); replay one with `cargo run --bin gen_seeds_daemon -- --replay TARGET FILE` (daemon and
# parser targets) or `cargo run --bin gen_seeds -- --replay TARGET FILE` (the protocol core's).
set -uo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-$PWD/campaign-out}
CAP=${CAP:-1800}
RUNS=${RUNS:-10000000}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export CARGO_INCREMENTAL=0
# --target keeps these flags off build scripts and proc macros (they cannot link libFuzzer's
# coverage hooks).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
ALL=(libvirtd_conf libvirt_uri xdr_compiler hypervisor_xml daemon_dispatch decode_frame server_handle_input client_handle_input)
TARGETS=("${@:-${ALL[@]}}")
mkdir -p "$OUT"
bins=()
for t in "${TARGETS[@]}"; do bins+=(--bin "$t"); done
cargo build --release --target "$TRIPLE" "${bins[@]}" || exit 1
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    start=$(date +%s)
    # -malloc_limit_mb: no single allocation may exceed 64 MiB (inputs are at most 8 KiB).
    "$CARGO_TARGET_DIR/$TRIPLE/release/$t" "corpus/$t" "seeds/$t" -runs="$RUNS" -max_total_time="$CAP" \
        -max_len=8192 -rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10 -artifact_prefix="artifacts/$t/" \
        -print_final_stats=1 > "$OUT/$t.log" 2>&1
    rc=$?
    echo "$t rc=$rc secs=$(( $(date +%s) - start )) $(grep -a 'stat::number_of_executed_units' "$OUT/$t.log")" \
        | tee -a "$OUT/summary.txt"
done
