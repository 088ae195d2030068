#!/usr/bin/env bash
# Coverage-guided fuzzing of isocheck's decoders and lint front end
# (libFuzzer via libfuzzer-sys, on the stable toolchain: coverage comes from
# LLVM's sanitizer-coverage pass, which stable rustc exposes as
# -Cpasses=sancov-module; no ASan, which needs nightly).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target SECONDS (default 60)
#   scripts/fuzz.sh --ci                    each target 10 s (a smoke run)
#   scripts/fuzz.sh --list                  the targets
#
# Builds into target/fuzz (its own RUSTFLAGS, so the normal build is not
# invalidated). Seeds: fuzz/seeds/TARGET, fuzz/regressions/TARGET and, for
# the lint targets, fixtures/lint (read only); what the fuzzer learns goes to
# target/fuzz/corpus/TARGET, crashes to target/fuzz/artifacts/TARGET. Prints
# one line per target (executions, coverage, features, corpus, crashes) and
# exits 1 if any target crashed. A crash found is fixed, then its input is
# copied to fuzz/regressions/TARGET/, where `cargo test` (tests/fuzz_corpus.rs)
# runs it for good.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(adapter_reply adapter_stream adapter_hello suite_toml lint_bytes lint_grammar)
secs=60
case "${1:-}" in
    --list) printf '%s\n' "${all[@]}"; exit 0 ;;
    --ci) secs=10; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    '') ;;
    *) secs=$1; shift ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

host=$(rustc -vV | sed -n 's/^host: //p')
out=target/fuzz
# Instrument our crates and their dependencies, not build scripts and proc
# macros (--target keeps RUSTFLAGS off host artifacts).
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
echo "fuzz.sh: building the targets (target/fuzz) ..." >&2
cargo build --quiet --locked --release --manifest-path fuzz/Cargo.toml \
    --target "$host" --target-dir "$out" "${targets[@]/#/--bin=}"

failed=0
printf '%-16s %10s %8s %8s %7s %8s %s\n' target execs exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
    bin=$out/$host/release/$t
    work=$out/corpus/$t
    art=$out/artifacts/$t
    mkdir -p "$work" "$art"
    seeds=(fuzz/seeds/"$t")
    [ -d fuzz/regressions/"$t" ] && seeds+=(fuzz/regressions/"$t")
    case $t in lint_*) seeds+=(fixtures/lint fixtures/lint/guide) ;; esac
    # Grammar-shaped inputs grow three bytes to a line: 4 KB is 1,300 lines.
    max_len=65536
    [ "$t" = lint_grammar ] && max_len=4096
    log=$out/$t.log
    set +e
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -max_len="$max_len" -artifact_prefix="$art/" \
        "$work" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    crashes=$(find "$art" -type f | wc -l)
    printf '%-16s %10s %8s %8s %7s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        echo "  $t failed (exit $rc); log: $log; inputs: $art" >&2
        grep -m3 -E 'panicked|ERROR|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
    fi
done
exit $failed
