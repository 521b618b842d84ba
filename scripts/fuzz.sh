#!/usr/bin/env bash
# The fuzz targets (fuzz/), built once and run for a bounded time each, two at a time.
#
#   scripts/fuzz.sh [SECONDS]        # default 45 s per target
#
# The build is what `cargo fuzz build -s none` does on stable — libFuzzer's coverage
# instrumentation (sancov, 8-bit counters, PC table, compare tracing), `--cfg fuzzing`, for
# the host triple so build scripts and proc macros are not instrumented — without its
# `codegen-units=1` and debug info, which only make the build slower, and with debug
# assertions on. So CI needs neither `cargo install cargo-fuzz` nor a second build per target;
# `cargo fuzz run TARGET -s none` still works for a longer local session.
#
# Seeds: the shared FHIR corpus when ../shared is beside the clone (said when it is not),
# the repository's own examples and fixtures. A crash leaves its input in
# fuzz/artifacts/TARGET/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-45}}
targets=(fhir_import native_case fhir_ndjson registry_read)
host=$(rustc -vV | sed -n 's/^host: //p')

flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
flags+=" -Cllvm-args=-sanitizer-coverage-stack-depth --cfg fuzzing -Clink-dead-code -Cdebug-assertions"
# The fuzz workspace is its own (fuzz/Cargo.toml), so none of the main build's wrappers apply.
(cd fuzz && env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_FUZZ=1 RUSTFLAGS="$flags" \
  cargo build --release --locked --target "$host" --bins)
bin=fuzz/target/$host/release

rm -rf fuzz/corpus
for t in "${targets[@]}"; do mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"; done
if [ -d ../shared/data/fhir/mcode-extraction-framework-fixtures ]; then
  cp ../shared/data/fhir/mcode-extraction-framework-fixtures/*.json fuzz/corpus/fhir_import/
else
  echo "fuzz: ../shared/data is not beside the clone; seeding from the repository's own files only"
fi
cp examples/fhir/*.json tests/data/fhir/realistic/*.json fuzz/corpus/fhir_import/
# Short ndjson seeds: the first lines of each file of the repository's Bulk Data export.
for f in tests/data/fhir-bulk/synthea-3/*.ndjson; do head -n 3 "$f" >"fuzz/corpus/fhir_ndjson/$(basename "$f")"; done
cp examples/cases/*.toml fuzz/corpus/native_case/
cp crates/registry/tests/data/*.json crates/registry/tests/data/*.xml fuzz/corpus/registry_read/
if [ -d ../shared/data/ctgov/xml/aact ]; then
  cp ../shared/data/ctgov/xml/aact/NCT0000*.xml fuzz/corpus/registry_read/
fi
chmod -R u+w fuzz/corpus

run() {
  local t=$1 log
  log=$(mktemp)
  if "$bin/$t" "fuzz/corpus/$t" -max_total_time="$seconds" -max_len=65536 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then
    echo "fuzz: $t: $(grep -E '^(Done|#[0-9]+ *DONE)' "$log" | tail -n 1)"
    rm -f "$log"
  else
    echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t/:" >&2
    tail -n 40 "$log" >&2
    rm -f "$log"
    return 1
  fi
}

# Two at a time: this machine has two cores and each fuzzer uses one.
jobs=$(nproc 2>/dev/null || echo 2)
fail=0
pids=()
for t in "${targets[@]}"; do
  run "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
