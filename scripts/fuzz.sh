#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 60), one after the other; stops at the
# first crash (libFuzzer leaves the input in fuzz/artifacts/<target>/ and prints how to reproduce it).
#
#   scripts/fuzz.sh                     every target, FUZZ_SECONDS each (8 targets: about 8 minutes plus the build)
#   scripts/fuzz.sh jwt page_tokens     only these
#   FUZZ_SECONDS=10 scripts/fuzz.sh     a quick pass
#   scripts/fuzz.sh --list              the target names
#
# Corpora grow in fuzz/corpus/<target>/ (not committed), seeded from the small checked-in fuzz/seeds/<target>/.
#
# The machine has the stable toolchain only. cargo-fuzz passes nightly flags (-Z...), so the build runs with
# RUSTC_BOOTSTRAP=1, which lets stable rustc accept them. The sanitizer is `none`: all the code fuzzed here is safe
# Rust (the workspace denies unsafe_code), so AddressSanitizer would find nothing a panic or a failed assertion does
# not, and instrumenting without it runs several times more executions a second. FUZZ_SANITIZER=address tries ASan
# anyway. cargo-fuzz builds release with debug assertions (and so overflow checks) on; FUZZ_BUILD_FLAGS passes more
# `cargo fuzz build` flags.
# cargo-fuzz is installed with `cargo install cargo-fuzz --locked` when missing (a one-off ~2 minute build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

seconds=${FUZZ_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-none}
read -ra build_flags <<<"${FUZZ_BUILD_FLAGS:-}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

all=$(cargo fuzz list)
if [[ ${1:-} == --list ]]; then
    echo "$all"
    exit 0
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || mapfile -t targets <<<"$all"

cargo fuzz build --sanitizer "$sanitizer" "${build_flags[@]}"
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "== $target: ${seconds}s"
    log=$(mktemp)
    # -max_total_time bounds the run; -print_final_stats reports the executions.
    if ! cargo fuzz run --sanitizer "$sanitizer" "${build_flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tee "$log" |
        grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|thread|SUMMARY|artifact_prefix|Test unit written)' ; then
        :
    fi
    if grep -qE 'Test unit written|panicked|deadly signal' "$log"; then
        tail -40 "$log"
        echo "FAIL: $target crashed; the input is in fuzz/artifacts/$target/"
        exit 1
    fi
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    summary+=("$target: $runs executions in ${seconds}s, no crash")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
