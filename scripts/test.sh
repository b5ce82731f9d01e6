#!/usr/bin/env bash
# scripts/test.sh - install what is missing, then build and run the whole test suite twice:
# once as is (-Werror), once under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --tests
jobs=$(nproc)
passed=0 failed=0
run_suite() { # name, build dir, extra cmake args...
  local name=$1 dir=$2
  shift 2
  echo "== $name build ($dir)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DFOLIO_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  local log="$PWD/$dir/ctest.log"
  if (cd "$dir" && ctest --output-on-failure --timeout 600 2>&1 | tee "$log"); then :; fi
  local p f
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log" || true)
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Exception|Timeout|Not Run)' "$log" || true)
  if ((p == 0 && f == 0)); then f=1; echo "$name: no test ran" >&2; fi
  passed=$((passed + p)) failed=$((failed + f))
}
# Optimised builds see warnings Debug builds do not: compile one with -Werror too.
echo "== release build with -Werror (build-werror)"
cmake -S . -B build-werror -DCMAKE_BUILD_TYPE=Release -DFOLIO_WERROR=ON -DFOLIO_BUILD_TESTS=OFF >/dev/null
cmake --build build-werror -j"$jobs" >/dev/null
run_suite plain build-test
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  run_suite sanitizers build-asan -DFOLIO_SANITIZE=ON
echo "total: $passed passed, $failed failed"
((failed == 0))
