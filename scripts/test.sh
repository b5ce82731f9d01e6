#!/usr/bin/env bash
# scripts/test.sh - install what is missing, then build and run the whole test suite twice:
# once as is (-Werror), once under AddressSanitizer + UndefinedBehaviorSanitizer; and the unit
# suites once more in an optimised build (-Werror), where assertions are compiled out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --tests
jobs=$(nproc)
passed=0 failed=0
run_suite() { # name, build dir, build type, ctest -R pattern ('' for all), extra cmake args...
  local name=$1 dir=$2 type=$3 only=$4
  shift 4
  echo "== $name build ($dir)"
  # FOLIO_BUILD_TESTS explicitly: build-werror was configured with it OFF before, and the
  # cache keeps that (ctest then finds no test and the suite counts as failed)
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DFOLIO_WERROR=ON -DFOLIO_BUILD_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  local log="$PWD/$dir/ctest.log"
  if (cd "$dir" && ctest --output-on-failure --timeout 600 ${only:+-R "$only"} 2>&1 | tee "$log"); then :; fi
  local p f
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log" || true)
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Exception|Timeout|Not Run)' "$log" || true)
  if ((p == 0 && f == 0)); then f=1; echo "$name: no test ran" >&2; fi
  passed=$((passed + p)) failed=$((failed + f))
}
# Optimised builds see warnings Debug builds do not, and run without assertions and with
# other timings (the benchmark's build): compile one with -Werror and run the unit suites.
run_suite release build-werror Release '^(engine|api|tools|alloc)$'
run_suite plain build-test Debug ''
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  run_suite sanitizers build-asan Debug '' -DFOLIO_SANITIZE=ON
echo "total: $passed passed, $failed failed"
((failed == 0))
