#!/usr/bin/env bash
# tests/reliability/iofault/run_faults.sh - I/O fault injection over representative commands
# (issue 7, "I/O faults").
#
# Usage: run_faults.sh FOLIO_CLI IOFAULT_SHIM_SO      (FOLIO_LONG=1 for the long mode;
#        IOFAULT_ONLY=REGEX runs only the scenarios whose name matches)
#
# For each scenario (a command on a copy of a small prepared ledger) the command runs under
# the LD_PRELOAD shim (iofault_shim.c) with IOFAULT_NTH = 1, 2, 3, ... on the same ledger until
# an attempt completes without the fault firing. After every failed attempt:
#   - the CLI exited 5 with exactly one line "folio: ..." on stderr that names the storage
#     failure, and printed nothing on stdout (no half-acknowledgement);
#   - a fresh process without the shim sees exactly the ledger as it was before the command:
#     `folio export` (every field of every event, chain hashes included) and `folio --json
#     verify` (event count, head hash) are byte-identical to the baseline; `verify` and `check`
#     pass;
#   - a copy of that ledger accepts the command (without the shim), appending the same events
#     as a reference run on the untouched ledger.
# When an attempt completes, its events (compared without recorded_at and chain, which depend
# on the clock) must equal the reference run's: appended exactly once.
#
# Quick mode: five commands (customer create, invoice, payment with allocations, merge, import
# of a small CSV), each in four fault modes: one counter over every write and sync call, EIO;
# a sticky fault (every call after the N-th fails too, a dead disk); IOFAULT_AFTER=1 (the
# call reaches the file, then reports EIO: the commit may be complete although the caller is
# told it failed, so the ledger may then hold the whole command, and the retry with its
# idempotency key must append nothing more); IOFAULT_SHORT=1 (a faulted write writes half its
# bytes and returns the short count without an error, as a filling disk does).
# Long mode adds: ENOSPC instead of EIO, a write-only and a sync-only counter (the same five
# commands), eight more write commands, `rebuild`, `check` (its scratch ledger), a 2,500-row import (three batches,
# three commits: whole batches may stay, the retry imports the rest exactly once; once on
# one ledger, once with every attempt on a fresh copy so that every call is faulted), and
# `create` and `restore` on a ledger that does not exist yet (both fail today: a 0-byte file
# or a stale PATH.restoring is left behind that blocks the retry; /tmp/findings/iofault.md).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 FOLIO_CLI IOFAULT_SHIM_SO" >&2
    exit 2
fi
FOLIO=$1
SHIM=$2
LONG=${FOLIO_LONG:-0}
MAX_N=400 # no command here makes this many write/sync calls; reaching it is a failure

for f in "$FOLIO" "$SHIM"; do
    [[ -e $f ]] || { echo "FAIL: $f does not exist" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/iofault-shim.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 143' INT TERM
export FOLIO_ACTOR=iofault
unset FOLIO_DB

FAILURES=0
SUMMARY=()
START=$SECONDS

fail() {
    echo "FAIL: $*" >&2
    FAILURES=$((FAILURES + 1))
}

# folio without the shim, on ledger $1.
fo() {
    local db=$1
    shift
    "$FOLIO" --db "$db" "$@"
}

# export without the clock-dependent fields, from seq $2 on.
normalized_export() {
    fo "$1" export --from "$2" |
        sed -E 's/"recorded_at":"[^"]*",?//; s/"recorded_at_us":[0-9]+,?//; s/"chain":"[0-9a-f]*",?//'
}

event_count() {
    local out
    out=$(fo "$1" --json verify) || return 1
    out=${out#*\"events\":}
    echo "${out%%,*}"
}

# The prepared ledger every scenario starts from: three customers with documents.
build_base() {
    local db=$WORK/base.db
    local d=2026-01-15
    fo "$db" init --credit-control both >/dev/null
    fo "$db" create "Acme Trading" --credit-limit 10000 --status active >/dev/null
    fo "$db" create "Acme Duplicate" --status active >/dev/null
    fo "$db" create "Beta Stores" --currency EUR >/dev/null
    fo "$db" contact add CUST-000001 --name "Ann Buyer" --email ann@example.com >/dev/null
    fo "$db" contact add CUST-000002 --name "Bob Payer" >/dev/null
    fo "$db" invoice CUST-000001 1200.00 --doc INV-1 --date $d --due 2026-02-14 >/dev/null
    fo "$db" invoice CUST-000001 300.00 --doc INV-2 --date $d --due 2026-02-14 >/dev/null
    fo "$db" invoice CUST-000002 75.50 --doc INV-3 --date $d --due 2026-02-14 >/dev/null
    fo "$db" pay CUST-000002 20.00 --doc PAY-1 --date $d >/dev/null
    fo "$db" credit-note CUST-000001 50.00 --doc CN-1 --date $d >/dev/null
    fo "$db" invoice CUST-000003 10.00 --doc INV-4 --date $d >/dev/null
    {
        echo "name,ref,type,currency,credit_limit,email,billing_city"
        echo "Imported One,IMP-1,business,USD,500,one@example.com,Leeds"
        echo "\"Imported, Two\",IMP-2,person,EUR,,two@example.com,Paris"
        echo "Imported Three,IMP-3,business,USD,1000,,York"
        echo "Imported Four,IMP-4,person,USD,,four@example.com,"
        echo "Imported Five,IMP-5,business,USD,250,,Bath"
    } >"$WORK/small.csv"
    {
        echo "kind,customer,doc,date,due,amount"
        echo "invoice,CUST-000001,IMP-INV-1,$d,2026-03-01,99.00"
        echo "payment,CUST-000001,IMP-PAY-1,$d,,40.00"
        echo "credit_note,CUST-000002,IMP-CN-1,$d,,5.00"
    } >"$WORK/docs.csv"
    if [[ $LONG == 1 ]]; then
        {
            echo "name,ref,currency,credit_limit"
            for i in $(seq 1 2500); do echo "Bulk Customer $i,BULK-$i,USD,$i"; done
        } >"$WORK/bulk.csv"
    fi
    fo "$db" verify >/dev/null
    rm -f "$db-lock"
}

# run_scenario NAME MODE-ENV COMMAND ARGS...
#   MODE-ENV: space-separated VAR=VALUE pairs for the shim; the counter variable is
#   IOFAULT_NTH unless MODE-ENV names IOFAULT_WRITE_NTH or IOFAULT_SYNC_NTH as "COUNTER=..."
#   (the value after = is ignored, N is filled in). "new" in NAME: start without a ledger.
#   Environment: PREFIX_UNIT=K allows a failed attempt to leave whole multiples of K of the
#   command's events (an import's committed batches); FRESH_EACH=1 starts every attempt
#   from the prepared ledger instead of the previous attempt's.
run_scenario() {
    local name=$1 mode=$2
    shift 2
    # IOFAULT_ONLY=REGEX runs only the scenarios whose name matches (for debugging).
    if [[ -n ${IOFAULT_ONLY:-} ]] && ! [[ $name =~ $IOFAULT_ONLY ]]; then
        return
    fi
    local dir=$WORK/$name
    mkdir -p "$dir"
    local db=$dir/ledger.db ref=$dir/ref.db
    local counter=IOFAULT_NTH after=0 extra=() kv
    for kv in $mode; do
        case $kv in
        COUNTER=*) counter=${kv#COUNTER=} ;;
        IOFAULT_AFTER=1) after=1; extra+=("$kv") ;;
        *) extra+=("$kv") ;;
        esac
    done
    local fresh=0 prefix_unit=${PREFIX_UNIT:-0}
    [[ $name == new* ]] && fresh=1

    # Baseline and reference run.
    local base_count=0
    if [[ $fresh == 0 ]]; then
        cp "$WORK/base.db" "$db"
        cp "$WORK/base.db" "$ref"
        fo "$db" export >"$dir/base.export"
        fo "$db" --json verify >"$dir/base.verify"
        base_count=$(event_count "$db")
        rm -f "$db-lock" # the first attempt also meets the lock file's set-up
    fi
    if ! fo "$ref" "$@" >"$dir/ref.out" 2>"$dir/ref.err"; then
        fail "$name: the reference run of '$*' failed: $(cat "$dir/ref.err")"
        return
    fi
    normalized_export "$ref" $((base_count + 1)) >"$dir/ref.events"
    local ref_delta
    ref_delta=$(wc -l <"$dir/ref.events")

    local n covered=0 done_n=0 fns="" msgs="" rc
    local fresh_each=${FRESH_EACH:-0} base_count0=$base_count
    if [[ $fresh_each == 1 ]]; then
        cp "$dir/base.export" "$dir/base0.export"
        cp "$dir/base.verify" "$dir/base0.verify"
        cp "$dir/ref.events" "$dir/ref0.events"
    fi
    for ((n = 1; n <= MAX_N; n++)); do
        rm -f "$dir/log"
        if [[ $fresh_each == 1 ]]; then
            # Every attempt on a fresh copy: the N-th call of the whole command is faulted,
            # not the N-th call of what is left after earlier attempts committed some of it.
            cp "$WORK/base.db" "$db"
            rm -f "$db-lock"
            cp "$dir/base0.export" "$dir/base.export"
            cp "$dir/base0.verify" "$dir/base.verify"
            cp "$dir/ref0.events" "$dir/ref.events"
            base_count=$base_count0
        fi
        rc=0
        env LD_PRELOAD="$SHIM" IOFAULT_LOG="$dir/log" "$counter=$n" "${extra[@]}" \
            "$FOLIO" --db "$db" "$@" >"$dir/out" 2>"$dir/err" || rc=$?
        if ! grep -q '^total ' "$dir/log" 2>/dev/null; then
            fail "$name N=$n: the shim did not report (was it preloaded?), exit $rc: $(cat "$dir/err")"
            return
        fi
        if ! grep -q '^fault ' "$dir/log"; then
            if [[ $rc != 0 ]]; then
                fail "$name N=$n: no fault was injected but the command exited $rc: $(cat "$dir/err")"
                return
            fi
            done_n=$n
            break
        fi
        local fault
        fault=$(grep -m1 '^fault ' "$dir/log")
        local fn=${fault#*fn=}
        fn=${fn%% *}
        fns="$fns $fn"
        covered=$((covered + 1))
        local what="$name N=$n ($fn)"

        # The failed command: exit 5, one line on stderr, nothing on stdout.
        if [[ $rc == 0 ]]; then
            fail "$what: the command succeeded although call $n failed ($fault); stdout: $(cat "$dir/out")"
            return
        fi
        if [[ $rc != 5 ]]; then
            fail "$what: exit $rc, expected 5 (storage error): $(cat "$dir/err")"
        fi
        local lines
        lines=$(wc -l <"$dir/err")
        if [[ $lines != 1 ]] || ! grep -q '^folio: ' "$dir/err"; then
            fail "$what: expected one line 'folio: ...' on stderr, got $lines lines: $(cat "$dir/err")"
        elif ! grep -qiE 'disk full|unwritable|input/output|no space' "$dir/err"; then
            fail "$what: the message does not say the disk is full or unwritable: $(cat "$dir/err")"
        fi
        if [[ -s $dir/out ]]; then
            fail "$what: a failed command printed on stdout: $(cat "$dir/out")"
        fi
        # No scratch left behind by the failed process (check's scratch ledger).
        local scratch
        scratch=$(find "$dir" -maxdepth 1 -name '.folio-check-*' | head -3)
        if [[ -n $scratch ]]; then
            fail "$what: the failed command left scratch space behind: $scratch"
            rm -rf "$dir"/.folio-check-*
        fi
        local msg
        msg=$(head -1 "$dir/err")
        case "$msgs" in *"[$msg]"*) ;; *) msgs="$msgs [$msg]" ;; esac

        # A fresh process sees exactly the ledger before the command.
        if [[ $fresh == 1 ]]; then
            rc=0
            fo "$db" verify >"$dir/v.out" 2>&1 || rc=$?
            if [[ $rc == 3 ]]; then
                :
            elif [[ $rc == 0 ]] && [[ $(event_count "$db") == 0 ]]; then
                : # an initialised ledger without events: nothing was acknowledged
            else
                fail "$what: after a failed create on a new ledger, verify exits $rc: $(cat "$dir/v.out")"
            fi
        else
            local post_state=before
            if ! fo "$db" export >"$dir/post.export" 2>"$dir/post.err"; then
                fail "$what: export after the failure: $(cat "$dir/post.err")"
                return
            fi
            if ! cmp -s "$dir/post.export" "$dir/base.export"; then
                post_state=changed
                # Allowed: whole commits of the command (IOFAULT_AFTER: the call reached the
                # file, so the commit may be complete; an import commits batch by batch).
                local k unit
                k=$(($(wc -l <"$dir/post.export") - base_count))
                unit=$prefix_unit
                [[ $after == 1 ]] && unit=$(wc -l <"$dir/ref.events")
                if [[ $unit -gt 0 ]] && [[ $k -gt 0 ]] && [[ $((k % unit)) == 0 || $k == $(wc -l <"$dir/ref.events") ]] &&
                    head -n "$base_count" "$dir/post.export" | cmp -s - "$dir/base.export" &&
                    [[ $(normalized_export "$db" $((base_count + 1))) == "$(head -n "$k" "$dir/ref.events")" ]]; then
                    post_state=prefix
                fi
            fi
            if [[ $post_state == changed ]]; then
                fail "$what: the ledger changed although the command failed:" \
                    "$(diff "$dir/base.export" "$dir/post.export" | head -5)"
                return
            fi
            if ! fo "$db" --json verify >"$dir/post.verify" 2>&1; then
                fail "$what: verify fails after the fault: $(cat "$dir/post.verify")"
                return
            fi
            if [[ $post_state == before ]] && ! cmp -s "$dir/post.verify" "$dir/base.verify"; then
                fail "$what: verify differs: $(cat "$dir/post.verify") vs $(cat "$dir/base.verify")"
            fi
            if [[ $post_state == prefix ]]; then
                # Whole commits of the failed command are visible: they are the new baseline
                # and the rest of the reference events is what the retry must append.
                SUMMARY+=("  note: $what: $k of the command's events were committed before the failure")
                cp "$dir/post.export" "$dir/base.export"
                cp "$dir/post.verify" "$dir/base.verify"
                tail -n +$((k + 1)) "$dir/ref.events" >"$dir/ref.rest"
                mv "$dir/ref.rest" "$dir/ref.events"
                base_count=$((base_count + k))
            fi
        fi
        if [[ -e $db ]] && ! fo "$db" check >"$dir/check.out" 2>&1; then
            if [[ $fresh == 0 ]] || [[ $(event_count "$db" 2>/dev/null) == 0 ]]; then
                fail "$what: check fails after the fault: $(cat "$dir/check.out")"
                return
            fi
        fi

        # A copy of the ledger accepts the command without the shim.
        # (every file of the ledger: PATH, PATH-lock and whatever else a command leaves)
        rm -f "$dir"/acc.db*
        local f
        for f in "$db"*; do
            if [[ -e $f ]]; then cp "$f" "$dir/acc.db${f#"$db"}"; fi
        done
        local acc_from=$((base_count + 1))
        if ! fo "$dir/acc.db" "$@" >"$dir/acc.out" 2>"$dir/acc.err"; then
            fail "$what: the ledger does not accept the command afterwards: $(cat "$dir/acc.err")"
            return
        fi
        if [[ $(normalized_export "$dir/acc.db" "$acc_from") != "$(cat "$dir/ref.events")" ]]; then
            fail "$what: the command after the fault appended other events than the reference run"
        fi
    done

    if [[ $done_n == 0 ]]; then
        fail "$name: still failing after $MAX_N attempts"
        return
    fi
    # The attempt that completed: its events exactly once, and the ledger is sound.
    local final_events
    final_events=$(normalized_export "$db" $((base_count + 1)))
    if [[ $final_events != "$(cat "$dir/ref.events")" ]]; then
        fail "$name: after the completed attempt the appended events differ from the reference run"
        diff <(echo "$final_events") "$dir/ref.events" | head -5 >&2 || true
    fi
    fo "$db" verify >/dev/null 2>"$dir/final.err" || fail "$name: final verify: $(cat "$dir/final.err")"
    fo "$db" check >/dev/null 2>"$dir/final.err" || fail "$name: final check: $(cat "$dir/final.err")"
    # The shim must have reached the calls LMDB commits with: at least one data write, the
    # sync and the meta page write (else it is not intercepting, and nothing was tested).
    local want_min=3 want_sync=1
    [[ $counter == IOFAULT_SYNC_NTH ]] && want_min=1
    [[ $counter == IOFAULT_WRITE_NTH ]] && want_sync=0
    if [[ $covered -lt $want_min ]]; then
        fail "$name: only $covered fault points were reached (at least $want_min expected): is the shim intercepting?"
    fi
    if [[ $want_sync == 1 ]] && [[ " $fns " != *" fdatasync "* && " $fns " != *" fsync "* ]]; then
        fail "$name: no sync call was faulted (faulted:$fns): is the shim intercepting fdatasync/fsync?"
    fi
    local totals
    totals=$(grep '^total ' "$dir/log")
    SUMMARY+=("$(printf '%-28s %-40s %3d fault points covered; completing run: %s; events appended: %s; faulted calls in order:%s' \
        "$name" "${mode:-IOFAULT_NTH}" "$covered" "${totals#total }" "$ref_delta" "$fns")")
    SUMMARY+=("  messages:$msgs")
}

build_base

# Self-test of the comparison this harness relies on: one acknowledged event changes both the
# export and the verify output, so a failed command that left an event behind is caught.
cp "$WORK/base.db" "$WORK/selftest.db"
fo "$WORK/base.db" export >"$WORK/selftest.before"
fo "$WORK/base.db" --json verify >"$WORK/selftest.vbefore"
fo "$WORK/selftest.db" note CUST-000001 "self-test" >/dev/null
fo "$WORK/selftest.db" export | cmp -s - "$WORK/selftest.before" &&
    fail "self-test: export does not show an appended event"
fo "$WORK/selftest.db" --json verify | cmp -s - "$WORK/selftest.vbefore" &&
    fail "self-test: verify --json does not show an appended event"
fo "$WORK/base.db" export >"$WORK/base.jsonl"
rm -f "$WORK/base.db-lock"

# Quick mode: one counter over every write and sync call, EIO.
MODES=("" "IOFAULT_STICKY=1" "IOFAULT_AFTER=1" "IOFAULT_SHORT=1")
if [[ $LONG == 1 ]]; then
    MODES+=("IOFAULT_ERRNO=ENOSPC" "COUNTER=IOFAULT_WRITE_NTH" "COUNTER=IOFAULT_SYNC_NTH")
fi
for mode in "${MODES[@]}"; do
    tag=${mode//[^A-Za-z0-9]/_}
    run_scenario "create$tag" "$mode" create "Gamma Supplies" --credit-limit 2500 --owner alice \
        --billing-city Hull --idempotency-key iof-create
    run_scenario "invoice$tag" "$mode" invoice CUST-000001 250.00 --doc INV-IOF --date 2026-01-20 \
        --due 2026-02-19 --idempotency-key iof-invoice
    run_scenario "pay$tag" "$mode" pay CUST-000001 1300.00 --doc PAY-IOF --date 2026-01-21 \
        --apply INV-1 --apply INV-2:100.00 --idempotency-key iof-pay
    run_scenario "merge$tag" "$mode" merge --keep CUST-000001 --delete CUST-000002 \
        --idempotency-key iof-merge
    run_scenario "import$tag" "$mode" import customers "$WORK/small.csv"
done
if [[ $LONG == 1 ]]; then
    run_scenario update "" update CUST-000001 --name "Acme Trading Ltd" --credit-limit 20000
    run_scenario status "" status CUST-000003 active
    run_scenario contact "" contact add CUST-000003 --name "Cy Contact" --role buyer
    run_scenario note "" note CUST-000001 "called about INV-1"
    run_scenario credit_note "" credit-note CUST-000001 25.00 --doc CN-IOF --date 2026-01-22
    run_scenario allocate "" allocate CUST-000002 --from PAY-1 --to INV-3
    run_scenario refund "" refund CUST-000002 5.00 --from PAY-1 --doc RF-IOF --date 2026-01-23
    run_scenario credit_check "" credit-check --as-of 2026-03-01
    run_scenario import_documents "" import documents "$WORK/docs.csv"
    # 1,000 rows per batch and commit, two events (created, currency_set) per row.
    PREFIX_UNIT=2000 run_scenario import_bulk "" import customers "$WORK/bulk.csv"
    PREFIX_UNIT=2000 FRESH_EACH=1 run_scenario import_bulk_fresh "" import customers "$WORK/bulk.csv"
    run_scenario rebuild "" rebuild
    run_scenario check "" check
fi
# A ledger that does not exist yet: a failed creation must leave nothing that stops the retry
# (once a 0-byte file was left at fault 2, and a failed restore left PATH.restoring behind).
run_scenario new_ledger_create "" create "First Customer" --idempotency-key iof-first
run_scenario new_ledger_restore "" restore "$WORK/base.jsonl"

echo "iofault_shim ($([[ $LONG == 1 ]] && echo long || echo quick) mode), $((SECONDS - START)) s:"
printf '%s\n' "${SUMMARY[@]}"
if [[ $FAILURES -gt 0 ]]; then
    echo "FAILED: $FAILURES check(s) failed" >&2
    exit 1
fi
echo "ok: every injected fault exited 5 and left exactly the acknowledged ledger"
