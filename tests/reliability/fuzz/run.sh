#!/usr/bin/env bash
# tests/reliability/fuzz/run.sh - build the libFuzzer targets with clang (ASan + UBSan +
# libFuzzer) into BUILD_DIR, run every saved crash input as a regression check, then fuzz each
# target from its committed corpus for a bounded time (issue 7, hostile bytes).
#
#   bash tests/reliability/fuzz/run.sh BUILD_DIR [TARGET...]
#
# Quick mode (default): 8 s per target (about 90 s in all with the build). Long mode,
# FOLIO_LONG=1: 60 s per target.
# FUZZ_SECONDS overrides both. Limits: -rss_limit_mb=2048, -malloc_limit_mb=256 (a single
# allocation of a gigabyte is a failure), -timeout=10 s per input. Any crash, sanitizer report,
# leak, out-of-memory or timeout fails the run; libFuzzer saves the input under
# crashes/<target>/ (commit it: it becomes a regression input). New corpus entries found by
# the run go to BUILD_DIR/corpus/<target>, never into the repo; to grow the committed corpus,
# merge them with -merge=1 (see README.md beside this script).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../../.." && pwd)"
if [[ $# -lt 1 ]]; then
    echo "usage: $0 BUILD_DIR [TARGET...]" >&2
    exit 2
fi
build="$(mkdir -p "$1" && cd "$1" && pwd)"
shift
all_targets=(codec append money import restore cli)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

if [[ -n "${FUZZ_SECONDS:-}" ]]; then
    seconds="$FUZZ_SECONDS"
elif [[ "${FOLIO_LONG:-0}" == "1" ]]; then
    seconds=60
else
    seconds=8
fi

CC="${FUZZ_CC:-}"
if [[ -z "$CC" ]]; then
    for c in clang clang-14; do
        if command -v "$c" >/dev/null; then CC="$c"; break; fi
    done
fi
if [[ -z "$CC" ]]; then
    echo "fuzz: FAIL: clang not found (scripts/setup.sh --tests installs clang and libclang-rt-dev)" >&2
    exit 1
fi

# ---- build: the engine, projections and CLI sources, instrumented, in one archive ----
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
deps_cflags=$(pkg-config --cflags lmdb msgpack libxxhash jansson libutf8proc)
deps_libs=$(pkg-config --libs lmdb msgpack libxxhash jansson libutf8proc)
# -iquote, not -I, for engine/: its limits.h must not hide the system <limits.h>
cflags=(-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-function "${san[@]}"
        -I"$src/include" -iquote "$src/engine" -iquote "$src/tools" $deps_cflags)
obj="$build/obj"
mkdir -p "$obj" "$build/bin"
headers=("$src"/include/*.h "$src"/engine/*.h "$src"/projections/*.h "$src"/tools/*.h
         "$here"/*.h)
newest_header=$(ls -t "${headers[@]}" | head -1)

compile() { # SRC OUT [extra flags...]: rebuild when out of date
    local in="$1" out="$2"
    shift 2
    if [[ -f "$out" && "$out" -nt "$in" && "$out" -nt "$newest_header" && "$out" -nt "$here/run.sh" ]]; then
        return 0
    fi
    "$CC" "${cflags[@]}" -fsanitize=fuzzer-no-link "$@" -c "$in" -o "$out"
}

jobs=()
lib_objs=()
for f in "$src"/engine/*.c "$src"/projections/*.c "$src"/tools/main.c "$src"/tools/cli_*.c \
         "$src"/tools/cmd_*.c; do
    name="$(basename "$(dirname "$f")")_$(basename "${f%.c}").o"
    lib_objs+=("$obj/$name")
    extra=()
    [[ "$f" == */tools/main.c ]] && extra=(-Dmain=folio_cli_main)
    jobs+=("$f|$obj/$name|${extra[*]:-}")
done
for t in "${all_targets[@]}"; do
    jobs+=("$here/fuzz_$t.c|$obj/fuzz_$t.o|")
done

start_build=$(date +%s)
failed_build=0
running=0
for j in "${jobs[@]}"; do
    IFS='|' read -r in out extra <<<"$j"
    # shellcheck disable=SC2086
    compile "$in" "$out" $extra &
    running=$((running + 1))
    if [[ $running -ge 2 ]]; then
        wait -n || failed_build=1
        running=$((running - 1))
    fi
done
while [[ $running -gt 0 ]]; do
    wait -n || failed_build=1
    running=$((running - 1))
done
if [[ $failed_build -ne 0 ]]; then
    echo "fuzz: FAIL: the fuzz targets do not compile" >&2
    exit 1
fi
rm -f "$build/libfolio_fuzz.a"
ar rcs "$build/libfolio_fuzz.a" "${lib_objs[@]}"
csv_lib=-lcsv
for t in "${all_targets[@]}"; do
    # shellcheck disable=SC2086
    "$CC" "${san[@]}" -fsanitize=fuzzer "$obj/fuzz_$t.o" "$build/libfolio_fuzz.a" \
        $csv_lib $deps_libs -lpthread -lm -Wl,--wrap=exit -o "$build/bin/fuzz_$t"
done
echo "fuzz: built ${#all_targets[@]} targets in $(( $(date +%s) - start_build )) s with $CC"

# ---- run ----
max_len_of() {
    case "$1" in
        codec|append) echo 8192 ;;
        money) echo 64 ;;
        cli) echo 1024 ;;
        *) echo 16384 ;;
    esac
}

scratch="$(mktemp -d "${TMPDIR:-/tmp}/folio-fuzz-run.XXXXXX")"
[[ -d /dev/shm && -w /dev/shm ]] && scratch_base=/dev/shm || scratch_base="$scratch"
export FOLIO_FUZZ_SCRATCH
FOLIO_FUZZ_SCRATCH="$(mktemp -d "$scratch_base/folio-fuzz.XXXXXX")"
cleanup() { rm -rf "$scratch" "$FOLIO_FUZZ_SCRATCH"; }
trap cleanup EXIT

failures=0
summary=()
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
    bin="$build/bin/fuzz_$t"
    if [[ ! -x "$bin" ]]; then
        echo "fuzz: FAIL: unknown target '$t' (targets: ${all_targets[*]})" >&2
        failures=$((failures + 1))
        continue
    fi
    corpus="$here/corpus/$t"
    crashes="$here/crashes/$t"
    work="$build/corpus/$t"
    mkdir -p "$work" "$crashes" "$corpus"
    dict=()
    [[ -f "$here/dict/$t.dict" ]] && dict=(-dict="$here/dict/$t.dict")
    log="$build/fuzz_$t.log"
    common=(-rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 -max_len="$(max_len_of "$t")"
            -print_final_stats=1 "${dict[@]}")

    # 1. every saved crash input must now pass
    mapfile -t saved < <(find "$crashes" -type f ! -name '.*' ! -name '*.md' | sort)
    if [[ ${#saved[@]} -gt 0 ]]; then
        if ! "$bin" "${common[@]}" "${saved[@]}" >"$log.regress" 2>&1; then
            echo "fuzz: FAIL: $t: a saved crash input fails again (see $log.regress):" >&2
            tail -40 "$log.regress" >&2
            failures=$((failures + 1))
            summary+=("$t: saved crash inputs FAIL")
            continue
        fi
    fi

    # 2. the committed corpus, then fuzzing for $seconds s
    rc=0
    "$bin" "${common[@]}" -max_total_time="$seconds" -artifact_prefix="$crashes/" \
        "$work" "$corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //' || true)
    if [[ $rc -ne 0 ]]; then
        echo "fuzz: FAIL: $t exited $rc after ${execs:-?} inputs; the input is saved in $crashes/ (log $log):" >&2
        grep -v '^#[0-9]' "$log" | tail -60 >&2
        failures=$((failures + 1))
        summary+=("$t: FAIL (exit $rc) after ${execs:-?} executions")
    else
        summary+=("$t: ok, ${execs:-?} executions in ${seconds} s, coverage ${cov:-?} edges, corpus $(find "$corpus" -type f | wc -l) committed + $(find "$work" -type f | wc -l) new")
    fi
done

echo "fuzz: results (${seconds} s per target):"
for s in "${summary[@]}"; do echo "  $s"; done
passed=$(( ${#targets[@]} - failures ))
echo "fuzz: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
