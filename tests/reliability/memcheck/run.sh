#!/usr/bin/env bash
# tests/reliability/memcheck/run.sh - issue 7, memory safety: a scenario of CLI commands (the
# demo flow, every command word, and error cases), each run under valgrind memcheck with
# --error-exitcode, so that any invalid access, use of uninitialised memory, or definite or
# indirect leak fails the test. Criterion does not fail a test on a leak report, so the leak
# check runs here, outside it.
#
#   run.sh FOLIO_CLI [WORK_DIR] [TEST_BIN_DIR]
#
# Quick mode (default): the CLI scenario, about 100 runs in two parallel lanes. FOLIO_LONG=1
# also runs the Criterion suites found in TEST_BIN_DIR (test_engine, test_tools, test_api)
# under valgrind with --trace-children=yes, so that every test's own process is checked
# (tens of minutes). Every run's valgrind log is kept in WORK_DIR/logs; a report is printed
# in full.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
  echo "usage: $0 FOLIO_CLI [WORK_DIR] [TEST_BIN_DIR]" >&2
  exit 2
fi
cli=$(readlink -f "$1")
work=${2:-$(mktemp -d /tmp/folio-memcheck.XXXXXX)}
test_bin_dir=${3:-}
mkdir -p "$work"
work=$(readlink -f "$work")
rm -rf "${work:?}/run" "${work:?}/logs"
mkdir -p "$work/run" "$work/logs"
cd "$work/run"

if ! command -v valgrind >/dev/null; then
  echo "FAIL: valgrind is not installed (scripts/setup.sh --tests installs it)" >&2
  exit 1
fi

export FOLIO_ACTOR=memcheck
unset FOLIO_DB
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --child-silent-after-fork=yes --trace-children=no
    --read-inline-info=no) # a Debug build inlines little; this saves a quarter of the time

results="$work/results" # one line per run: "ok ...", "report ..." or "mismatch ..."
: >"$results"
start=$SECONDS

# record RC WANT LOG ERR WHAT: a valgrind report (exit 99, or an ERROR SUMMARY above 0) is a
# failure, and so is an exit status other than WANT (an error case must fail the way it
# should, or it tests nothing).
record() {
  local rc=$1 want=$2 log=$3 err=$4 what=$5
  if [[ $rc -eq 99 ]] || grep -q "ERROR SUMMARY: [1-9]" "$log"; then
    echo "report folio $what" >>"$results"
    { echo "FAIL: valgrind report for: folio $what"; cat "$log"; } >&2
  elif [[ $rc -ne $want ]]; then
    echo "mismatch folio $what" >>"$results"
    { echo "FAIL: folio $what exited $rc, expected $want; stderr:"; head -c 2000 "$err"; } >&2
  else
    echo "ok folio $what" >>"$results"
  fi
}

# memcheck EXPECTED_EXIT ARGS...: the CLI under valgrind, stdin from /dev/null. Each lane
# ($lane) has its own output files and numbers its runs.
memcheck() {
  local want=$1 rc=0
  shift
  lane_runs=$((lane_runs + 1))
  local log
  log="$work/logs/$lane-$(printf %03d "$lane_runs").log"
  "${vg[@]}" --log-file="$log" "$cli" "$@" >"$work/logs/$lane.out" 2>"$work/logs/$lane.err" \
    </dev/null || rc=$?
  record "$rc" "$want" "$log" "$work/logs/$lane.err" "$*"
}

# plain EXPECTED_EXIT ARGS...: the CLI without valgrind, to build a ledger another lane reads
# (lane a runs the same commands under valgrind).
plain() {
  local want=$1 rc=0
  shift
  "$cli" "$@" >/dev/null 2>"$work/logs/plain.err" </dev/null || rc=$?
  if [[ $rc -ne $want ]]; then
    echo "mismatch (without valgrind) folio $*" >>"$results"
    { echo "FAIL: folio $* exited $rc, expected $want:"; cat "$work/logs/plain.err"; } >&2
  fi
}

# write_flow LEDGER RUNNER: the demo, then every kind of write, each command run by RUNNER
# (memcheck or plain).
write_flow() {
  local db=(--db "$1") run=$2
  $run 0 "${db[@]}" demo
  $run 0 "${db[@]}" demo # idempotent re-run
  $run 0 "${db[@]}" init --credit-control both --on-hold pending-orders
  $run 0 "${db[@]}" create "Globex Corporation" --type business --status active \
    --credit-limit 1000.00 --owner bob --external-id GX-1 --billing-street "1 Main St" \
    --billing-city Springfield --billing-country US --shipping-city Shelbyville
  $run 0 "${db[@]}" --json create "Initech" --type person --currency EUR
  $run 0 "${db[@]}" create "Umbrella" --ref UMB-1
  $run 0 "${db[@]}" --reason "new address" update CUST-000003 --name "Globex Corp" \
    --billing-city Capital
  $run 0 "${db[@]}" own CUST-000003 carol
  $run 0 "${db[@]}" contact add CUST-000003 --name "Ann Ledger" --email ann@globex.test \
    --phone "+1 555 0100" --role billing
  $run 0 "${db[@]}" contact add CUST-000003 --name "Bob Clerk"
  $run 0 "${db[@]}" contact remove CUST-000003 2
  $run 0 "${db[@]}" note CUST-000003 "prefers e-mail; ünïcödé note"
  $run 0 "${db[@]}" status CUST-000004 active
  $run 0 "${db[@]}" --idempotency-key inv-1 invoice CUST-000003 600.00 --doc G-INV-1 \
    --date 2024-01-10 --due 2024-02-09
  $run 0 "${db[@]}" --idempotency-key inv-1 invoice CUST-000003 600.00 --doc G-INV-1 \
    --date 2024-01-10 --due 2024-02-09 # an idempotent replay
  $run 0 "${db[@]}" invoice CUST-000003 700.00 --date 2024-03-01 # over the limit: a hold
  $run 0 "${db[@]}" pay CUST-000003 250.00 --doc G-PAY-1 --date 2024-03-05 \
    --apply G-INV-1:200.00
  $run 0 "${db[@]}" allocate CUST-000003 --from G-PAY-1 --to G-INV-1 --amount 25.00
  $run 0 "${db[@]}" pay CUST-000003 100.00 --auto
  $run 0 "${db[@]}" credit-note CUST-000003 40.00 --doc G-CN-1 --date 2024-03-06
  $run 0 "${db[@]}" allocate CUST-000003 --from G-CN-1 --auto
  $run 0 "${db[@]}" pay CUST-000003 80.00 --doc G-PAY-2
  $run 0 "${db[@]}" refund CUST-000003 30.00 --from G-PAY-2 --doc G-RF-1
  $run 0 "${db[@]}" credit-check --as-of 2024-06-30
  $run 0 "${db[@]}" create "Globex Duplicate Account"
  $run 0 "${db[@]}" invoice CUST-000006 10.00
  $run 0 "${db[@]}" merge --keep CUST-000003 --delete CUST-000006
  $run 0 "${db[@]}" create "Short lived"
  $run 0 "${db[@]}" delete CUST-000007
}

cat >"$work/run/customers.csv" <<'CSV'
name,ref,type,status,currency,credit_limit,owner,external_id,email,phone,billing_street,billing_city,billing_region,billing_postcode,billing_country
"Hooli, Inc.",,business,active,USD,5000.00,dana,HO-1,ap@hooli.test,,"1 ""Quoted"" Way
Suite 2",Palo Alto,CA,94301,US
Pied Piper,,business,prospect,USD,,,,,,,,,,
,,business,active,USD,,,,,,,,,,
Bad Amount,,business,active,USD,12.345,,,,,,,,,
CSV
cat >"$work/run/documents.csv" <<'CSV'
kind,customer,doc,date,due,amount
invoice,CUST-000003,IMP-INV-1,2024-04-01,2024-05-01,120.00
payment,CUST-000003,IMP-PAY-1,2024-04-02,,20.00
credit_note,CUST-000003,IMP-CN-1,2024-04-03,,5.00
invoice,CUST-999999,IMP-INV-2,2024-04-01,,10.00
invoice,CUST-000003,IMP-INV-3,2024-02-30,,10.00
CSV

# Lane a: the writes under valgrind, then import, rebuild, check, verify, export, restore.
lane_a() {
  lane=a lane_runs=0
  local db=(--db "$work/run/ledger.db")
  write_flow "$work/run/ledger.db" memcheck
  # the CSVs hold bad rows on purpose: the good ones go in, the command exits 1
  memcheck 1 "${db[@]}" import customers "$work/run/customers.csv" --dry-run
  memcheck 1 "${db[@]}" import customers "$work/run/customers.csv"
  memcheck 1 "${db[@]}" --json import customers "$work/run/customers.csv" --on-existing update
  memcheck 1 "${db[@]}" import documents "$work/run/documents.csv"
  memcheck 1 "${db[@]}" import documents "$work/run/documents.csv" # nothing twice
  memcheck 0 "${db[@]}" rebuild
  memcheck 0 "${db[@]}" check
  memcheck 0 "${db[@]}" verify
  memcheck 0 "${db[@]}" --json verify
  memcheck 0 "${db[@]}" export
  cp "$work/logs/a.out" "$work/run/export.jsonl"
  memcheck 0 "${db[@]}" export --from 10
  memcheck 0 --db "$work/run/restored.db" restore "$work/run/export.jsonl"
  memcheck 0 --db "$work/run/restored.db" verify
  memcheck 1 --db "$work/run/restored.db" restore "$work/run/export.jsonl" # not empty
}

# Lane b: the same writes without valgrind build ref.db; then every read, and the error
# cases, under valgrind.
lane_b() {
  lane=b lane_runs=0
  local db=(--db "$work/run/ref.db")
  write_flow "$work/run/ref.db" plain
  memcheck 0 "${db[@]}" balance CUST-000003
  memcheck 0 "${db[@]}" statement CUST-000003
  memcheck 0 "${db[@]}" statement CUST-000003 --as-of 2024-06-30 --from 2024-03-01
  memcheck 0 "${db[@]}" --json statement CUST-000003 --as-of 2024-06-30
  memcheck 0 "${db[@]}" statement CUST-000003 --format json --at-seq 25
  memcheck 0 "${db[@]}" statement CUST-000003 --format html --as-of 2024-06-30
  memcheck 0 "${db[@]}" holds
  memcheck 0 "${db[@]}" --json holds
  memcheck 0 "${db[@]}" admit CUST-000003 --doc sales-order
  memcheck 0 "${db[@]}" --json admit CUST-000001 --doc cash-sale
  memcheck 0 "${db[@]}" show CUST-000003
  memcheck 0 "${db[@]}" --json show CUST-000003
  memcheck 0 "${db[@]}" show CUST-000003 --at-seq 20
  memcheck 0 "${db[@]}" find "Globex Corp"
  memcheck 0 "${db[@]}" list
  memcheck 0 "${db[@]}" --json list --all --name "g*"
  memcheck 0 "${db[@]}" list --status active,hold
  memcheck 0 "${db[@]}" deleted
  memcheck 0 "${db[@]}" --json deleted --name "*Globex*"
  memcheck 0 "${db[@]}" history CUST-000003
  memcheck 0 "${db[@]}" --json history CUST-000006 # merged away: still has a history
  memcheck 0 "${db[@]}" log
  memcheck 0 "${db[@]}" --json log --from 5 --limit 10
  memcheck 0 "${db[@]}" log --follow --limit 3
  memcheck 0 "${db[@]}" stats
  memcheck 0 "${db[@]}" --json stats

  # error cases
  memcheck 2 "${db[@]}" # no command
  memcheck 2 "${db[@]}" frobnicate
  memcheck 2 "${db[@]}" invoice CUST-000003 12.345 # too many decimals
  memcheck 2 "${db[@]}" invoice CUST-000003 abc
  memcheck 2 "${db[@]}" statement CUST-000003 --as-of 2024-02-30
  memcheck 2 "${db[@]}" --expect-version notanumber note CUST-000003 x
  memcheck 3 "${db[@]}" show CUST-999999
  memcheck 3 "${db[@]}" show CUST-000006 # merged away
  memcheck 3 "${db[@]}" statement CUST-000007 # deleted
  memcheck 1 "${db[@]}" invoice CUST-000006 10.00 # a write to a merged-away customer
  memcheck 1 "${db[@]}" create "Globex Corp" # name taken (rule 2)
  memcheck 1 "${db[@]}" update CUST-000003 --currency EUR # rule 3
  memcheck 1 "${db[@]}" status CUST-000003 deleted # had documents (rule 5)
  memcheck 1 "${db[@]}" --expect-version 1 note CUST-000003 "stale"
  memcheck 1 "${db[@]}" --idempotency-key inv-1 invoice CUST-000003 999.00 --doc G-INV-9
  memcheck 1 "${db[@]}" refund CUST-000003 100000.00 --from G-PAY-2
  memcheck 1 "${db[@]}" merge --keep CUST-000003 --delete CUST-000003
  memcheck 1 "${db[@]}" invoice CUST-000003 1.00 --doc G-INV-1 # number taken
  memcheck 3 "${db[@]}" import customers "$work/run/no-such-file.csv"
  memcheck 3 --db "$work/run/missing.db" show CUST-000001
  memcheck 3 --db "$work/run/missing.db" verify
  head -c 100000 /dev/urandom >"$work/run/garbage.db"
  chmod 600 "$work/run/garbage.db"
  memcheck 5 --db "$work/run/garbage.db" verify
  # a copy with a byte changed inside every copy of a customer name (the event in the log,
  # and any projection or free page that holds it): verify must name the event
  cp "$work/run/ref.db" "$work/run/flipped.db"
  local offsets
  offsets=$(grep -abo "Short lived" "$work/run/flipped.db" | cut -d: -f1 || true)
  if [[ -z "$offsets" ]]; then
    echo "mismatch: no event bytes found to flip" >>"$results"
    echo "FAIL: could not find an event's bytes in the ledger copy to flip" >&2
  else
    for offset in $offsets; do
      printf 'X' | dd of="$work/run/flipped.db" bs=1 seek="$offset" conv=notrunc status=none
    done
    memcheck 4 --db "$work/run/flipped.db" verify
  fi
  head -c 8192 "$work/run/ref.db" >"$work/run/truncated.db" # a truncated copy
  chmod 600 "$work/run/truncated.db"
  memcheck 4 --db "$work/run/truncated.db" verify
  printf 'not json\n' >"$work/run/bad.jsonl"
  memcheck 2 --db "$work/run/restored2.db" restore "$work/run/bad.jsonl"
}

lane_a &
pid_a=$!
lane_b &
pid_b=$!
lane_rc=0
wait "$pid_a" || lane_rc=1
wait "$pid_b" || lane_rc=1

runs=$(grep -c "^ok\|^report\|^mismatch folio" "$results" || true)
reports=$(grep -c "^report" "$results" || true)
mismatches=$(grep -c "^mismatch" "$results" || true)
echo "memcheck: $runs CLI runs under valgrind (2 lanes) in $((SECONDS - start)) s:" \
     "$reports with a valgrind report, $mismatches with an unexpected exit status"
if [[ $lane_rc -ne 0 ]]; then
  echo "FAIL: a lane of the scenario stopped early" >&2
  mismatches=$((mismatches + 1))
fi

# ---- long mode: the Criterion suites, every test process under valgrind ----
suite_failures=0
if [[ "${FOLIO_LONG:-0}" == "1" ]]; then
  if [[ -z "$test_bin_dir" ]]; then
    echo "FAIL: FOLIO_LONG=1 needs TEST_BIN_DIR (the third argument)" >&2
    suite_failures=1
  fi
  for suite in engine tools api; do
    [[ -n "$test_bin_dir" ]] || break
    bin="$test_bin_dir/test_$suite"
    if [[ ! -x "$bin" ]]; then
      echo "FAIL: no $bin" >&2
      suite_failures=$((suite_failures + 1))
      continue
    fi
    t0=$SECONDS
    rc=0
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect --trace-children=yes \
      --log-file="$work/logs/suite-$suite.%p.log" "$bin" --jobs=1 -q \
      >"$work/logs/suite-$suite.out" 2>&1 || rc=$?
    procs=$(find "$work/logs" -name "suite-$suite.*.log" | wc -l)
    bad=$(grep -l "ERROR SUMMARY: [1-9]" "$work/logs/suite-$suite".*.log 2>/dev/null | wc -l || true)
    echo "memcheck: test_$suite under valgrind: exit $rc, $procs processes checked, $bad with" \
         "a report, $((SECONDS - t0)) s"
    if [[ $bad -gt 0 || $rc -ne 0 ]]; then
      suite_failures=$((suite_failures + 1))
      grep -l "ERROR SUMMARY: [1-9]" "$work/logs/suite-$suite".*.log | head -5 | xargs -r cat >&2
      tail -20 "$work/logs/suite-$suite.out" >&2
    fi
  done
fi

if [[ $reports -ne 0 || $mismatches -ne 0 || $suite_failures -ne 0 ]]; then
  echo "memcheck: FAILED (logs in $work/logs)" >&2
  exit 1
fi
echo "memcheck: zero reports"
