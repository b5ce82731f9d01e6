#!/usr/bin/env bash
# tests/reliability/iofault/disk_full.sh - a ledger on a small tmpfs, filled until a write
# fails (issue 7, "Disk full").
#
# Usage: disk_full.sh FOLIO_CLI        (FOLIO_LONG=1 for the long mode)
#
# Needs root (to mount a tmpfs); without it, or when the mount is refused, it prints why and
# exits 77, which CMake's SKIP_RETURN_CODE reports as skipped.
#
# Round 1 (a filler file takes most of a 1 MiB tmpfs): commands with idempotency keys
# (customer create, then invoice, alternately) run one process each until one fails. Checks:
#   - the failing command exits 5 with one line that says the disk is full or unwritable;
#   - while the disk is still full, another write fails the same way, and reads work;
#   - nothing is lost: every acknowledged command is in the log exactly once, the failed one
#     is not (or, if its commit completed, once); `verify` passes in place, `check` passes on
#     a copy (its replay needs scratch space, which a full disk does not have);
#   - after the filler is deleted the failed command, retried with its key, succeeds, more
#     writes succeed, and `verify` and `check` pass in place.
# Then `check` in place on the full disk (its scratch ledger has no room: exit 5, nothing left
# behind) and round 3, every command on a full disk whose lock file is missing (LMDB maps its
# lock file: a lock file without blocks on a full disk was a SIGBUS before folio reserved them).
# Long mode adds round 2, no filler: the ledger grows until the tmpfs is full, then the tmpfs
# is remounted bigger (-o remount,size=) and the writes continue.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 FOLIO_CLI" >&2
    exit 2
fi
FOLIO=$1
LONG=${FOLIO_LONG:-0}
SKIP=77
[[ -x $FOLIO ]] || { echo "FAIL: $FOLIO is not executable" >&2; exit 1; }

if [[ $(id -u) != 0 ]]; then
    echo "SKIP: disk_full needs root to mount a tmpfs (running as uid $(id -u))"
    exit $SKIP
fi
MNT=$(mktemp -d /tmp/iofault-diskfull.XXXXXX)
SCRATCH=$(mktemp -d /tmp/iofault-diskfull-copy.XXXXXX)
if ! mount_err=$(mount -t tmpfs -o size=1m,mode=0700 tmpfs "$MNT" 2>&1); then
    rmdir "$MNT"
    rm -rf "$SCRATCH"
    echo "SKIP: cannot mount a tmpfs here: $mount_err"
    exit $SKIP
fi
cleanup() {
    umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    rmdir "$MNT" 2>/dev/null || true
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # so that the EXIT trap unmounts on a timeout too
export FOLIO_ACTOR=iofault
unset FOLIO_DB

FAILURES=0
START=$SECONDS
fail() {
    echo "FAIL: $*" >&2
    FAILURES=$((FAILURES + 1))
}
fo() {
    local db=$1
    shift
    "$FOLIO" --db "$db" "$@"
}

# Each fill step is one command: even i creates customer "Fill i", odd i invoices FILL-i to
# CUST-000001. Its idempotency key is fill-i. Prints the command's arguments.
step_args() {
    local i=$1
    if ((i % 2 == 0)); then
        echo "create|Fill $i|--idempotency-key|fill-$i"
    else
        echo "invoice|CUST-000001|$((i % 900 + 1)).25|--doc|FILL-$i|--date|2026-01-10|--idempotency-key|fill-$i"
    fi
}
run_step() { # run_step DB I -> exit code of the command; stderr in $LAST_ERR
    local db=$1 i=$2 rc=0 args
    IFS='|' read -r -a args <<<"$(step_args "$i")"
    fo "$db" "${args[@]}" >/dev/null 2>"$SCRATCH/err" || rc=$?
    LAST_ERR=$(cat "$SCRATCH/err")
    return $rc
}
# How often step I's effect is in the exported log $1 (customer name or invoice doc).
occurrences() {
    local export=$1 i=$2
    if ((i % 2 == 0)); then
        grep -c "\"type\":\"customer.created\".*\"name\":\"Fill $i\"" "$export" || true
    else
        grep -c "\"type\":\"invoice.issued\".*\"doc\":\"FILL-$i\"" "$export" || true
    fi
}

check_failure_message() { # check_failure_message WHAT RC
    local what=$1 rc=$2
    if [[ $rc != 5 ]]; then
        fail "$what: exit $rc, expected 5: $LAST_ERR"
    fi
    if [[ $(printf '%s\n' "$LAST_ERR" | wc -l) != 1 ]] || [[ $LAST_ERR != "folio: "* ]]; then
        fail "$what: expected one line 'folio: ...' on stderr, got: $LAST_ERR"
    elif ! grep -qiE 'disk full|unwritable|no space' <<<"$LAST_ERR"; then
        fail "$what: the message does not say the disk is full or unwritable: $LAST_ERR"
    fi
}

# Every acknowledged step (the list in $2) exactly once in ledger $1; the failed step $3
# at most once (its commit may have completed). Prints what it found.
check_nothing_lost() {
    local db=$1 acked=$2 failed=$3 what=$4
    local export=$SCRATCH/export
    if ! fo "$db" export >"$export" 2>"$SCRATCH/export.err"; then
        fail "$what: export fails: $(cat "$SCRATCH/export.err")"
        return
    fi
    local i n missing=0 dup=0
    for i in $acked; do
        n=$(occurrences "$export" "$i")
        if [[ $n == 0 ]]; then
            missing=$((missing + 1))
            [[ $missing -le 3 ]] && fail "$what: acknowledged step $i ($(step_args "$i")) is missing"
        elif [[ $n != 1 ]]; then
            dup=$((dup + 1))
            [[ $dup -le 3 ]] && fail "$what: acknowledged step $i is in the log $n times"
        fi
    done
    if [[ -n $failed ]]; then
        n=$(occurrences "$export" "$failed")
        if [[ $n -gt 1 ]]; then
            fail "$what: the failed step $failed is in the log $n times"
        fi
        FAILED_VISIBLE=$n
    fi
    local total
    total=$(wc -l <"$export")
    echo "  $what: $(wc -w <<<"$acked") acknowledged commands all present once ($missing missing, $dup repeated), $total events"
}

verify_in_place() { # verify_in_place DB WHAT
    if ! fo "$1" verify >"$SCRATCH/v.out" 2>&1; then
        fail "$2: verify fails: $(cat "$SCRATCH/v.out")"
    fi
}
check_on_copy() { # check_on_copy DB WHAT: check needs scratch space beside the ledger
    rm -f "$SCRATCH/copy.db" "$SCRATCH/copy.db-lock"
    cp "$1" "$SCRATCH/copy.db"
    if ! fo "$SCRATCH/copy.db" check >"$SCRATCH/c.out" 2>&1; then
        fail "$2: check (on a copy) fails: $(cat "$SCRATCH/c.out")"
    fi
}

# fill DB FIRST_I MAX_STEPS: run steps until one fails; sets ACKED (list), FAILED_I, FAILED_RC.
fill() {
    local db=$1 i=$2 max=$3 rc
    ACKED=""
    FAILED_I=""
    FAILED_RC=0
    for ((; i < $2 + max; i++)); do
        rc=0
        run_step "$db" "$i" || rc=$?
        if [[ $rc == 0 ]]; then
            ACKED="$ACKED $i"
        else
            FAILED_I=$i
            FAILED_RC=$rc
            FAILED_ERR=$LAST_ERR
            return
        fi
    done
}

# ---- Round 1: a filler file, then free it -------------------------------------------------
DB=$MNT/ledger.db
fo "$DB" init --credit-control none >/dev/null
fo "$DB" create "Fill Base" --idempotency-key fill-base >/dev/null # CUST-000001
# Take all the free space, then give back 96 KiB for the ledger to grow into.
dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null || true
avail=$(df --output=avail -B1 "$MNT" | tail -1 | tr -d ' ')
[[ $avail -lt 8192 ]] || fail "the filler did not fill the tmpfs ($avail bytes still free)"
filler_bytes=$(stat -c %s "$MNT/filler")
truncate -s $((filler_bytes - 96 * 1024)) "$MNT/filler"
ledger_bytes=$(stat -c %s "$DB")
echo "round 1: 1 MiB tmpfs, ledger $ledger_bytes bytes, filler $((filler_bytes - 96 * 1024)) bytes, 96 KiB free"

fill "$DB" 0 4000
if [[ -z $FAILED_I ]]; then
    fail "round 1: 4000 commands and the disk never filled"
    exit 1
fi
LAST_ERR=$FAILED_ERR
echo "  after $(wc -w <<<"$ACKED") acknowledged commands, step $FAILED_I failed: exit $FAILED_RC: $FAILED_ERR"
check_failure_message "round 1 step $FAILED_I" "$FAILED_RC"
ACKED1=$ACKED
FAILED1=$FAILED_I

# While still full: another write fails the same way, reads still work.
rc=0
run_step "$DB" $((FAILED1 + 2)) || rc=$?
if [[ $rc == 0 ]]; then
    echo "  note: a smaller write still fitted while the disk was full"
    ACKED1="$ACKED1 $((FAILED1 + 2))"
else
    check_failure_message "round 1, a second write on the full disk" "$rc"
fi
if ! fo "$DB" show CUST-000001 >/dev/null 2>"$SCRATCH/err"; then
    # A read-write open may itself need to write; it must fail cleanly if so.
    LAST_ERR=$(cat "$SCRATCH/err")
    check_failure_message "round 1, show on the full disk" 5
    echo "  note: show on the full disk: $LAST_ERR"
fi
verify_in_place "$DB" "round 1, full disk"
FAILED_VISIBLE=0
check_nothing_lost "$DB" "$ACKED1" "$FAILED1" "round 1, full disk"
echo "  the failed command is visible $FAILED_VISIBLE time(s) (0 expected: it was not acknowledged)"
check_on_copy "$DB" "round 1, full disk"
# check's scratch ledger gets a new lock file, which LMDB maps and touches.
rc=0
fo "$DB" check >"$SCRATCH/c.out" 2>&1 || rc=$?
if [[ $rc != 0 ]]; then
    LAST_ERR=$(cat "$SCRATCH/c.out")
    check_failure_message "round 1, check in place on the full disk" "$rc"
    echo "  check in place on the full disk: exit $rc: $LAST_ERR"
fi
leftover=$(find "$MNT" -maxdepth 1 -name '.folio-check-*' | wc -l)
[[ $leftover == 0 ]] || fail "round 1: check left $leftover scratch directories on the full disk"
find "$MNT" -maxdepth 1 -name '.folio-check-*' -exec rm -rf {} +

# Free the space: the failed command, retried with its key, and more writes succeed.
rm -f "$MNT/filler"
run_step "$DB" "$FAILED1" || fail "round 1: the retry of step $FAILED1 after freeing space failed: $LAST_ERR"
ACKED1="$ACKED1 $FAILED1"
fill "$DB" $((FAILED1 + 3)) 40
if [[ -n $FAILED_I ]]; then
    fail "round 1: after freeing space step $FAILED_I still fails: $FAILED_ERR"
fi
ACKED1="$ACKED1 $ACKED"
check_nothing_lost "$DB" "$ACKED1" "" "round 1, space freed"
verify_in_place "$DB" "round 1, space freed"
fo "$DB" check >"$SCRATCH/c.out" 2>&1 || fail "round 1, space freed: check fails: $(cat "$SCRATCH/c.out")"

# ---- Round 2: the ledger itself fills the tmpfs, then the tmpfs grows ----------------------
if [[ $LONG == 1 ]]; then
    size_kib=$((($(stat -c %s "$DB") + 1023) / 1024 + 256))
    mount -o remount,size=${size_kib}k "$MNT"
    echo "round 2: tmpfs remounted at ${size_kib} KiB, no filler"
    fill "$DB" 10000 20000
    if [[ -z $FAILED_I ]]; then
        fail "round 2: the disk never filled"
    else
        LAST_ERR=$FAILED_ERR
        echo "  after $(wc -w <<<"$ACKED") acknowledged commands, step $FAILED_I failed: exit $FAILED_RC: $FAILED_ERR"
        check_failure_message "round 2 step $FAILED_I" "$FAILED_RC"
        ACKED2="$ACKED1 $ACKED"
        verify_in_place "$DB" "round 2, full disk"
        check_nothing_lost "$DB" "$ACKED2" "$FAILED_I" "round 2, full disk"
        check_on_copy "$DB" "round 2, full disk"
        mount -o remount,size=$((size_kib * 2))k "$MNT"
        run_step "$DB" "$FAILED_I" || fail "round 2: the retry after the remount failed: $LAST_ERR"
        ACKED2="$ACKED2 $FAILED_I"
        failed2=$FAILED_I
        fill "$DB" $((failed2 + 1)) 40
        [[ -z $FAILED_I ]] || fail "round 2: after the remount step $FAILED_I fails: $FAILED_ERR"
        ACKED2="$ACKED2 $ACKED"
        check_nothing_lost "$DB" "$ACKED2" "" "round 2, tmpfs grown"
        verify_in_place "$DB" "round 2, tmpfs grown"
        fo "$DB" check >"$SCRATCH/c.out" 2>&1 || fail "round 2: check fails: $(cat "$SCRATCH/c.out")"
    fi
fi

# ---- Round 3: the lock file is missing on a full disk ------------------------------------
rm -f "$DB-lock"
dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null || true
echo "round 3: lock file removed, disk full again"
for cmd in verify "show CUST-000001" "create Lockless"; do
    rc=0
    # shellcheck disable=SC2086
    fo "$DB" $cmd >/dev/null 2>"$SCRATCH/err" || rc=$?
    LAST_ERR=$(cat "$SCRATCH/err")
    if [[ $rc -ge 128 ]]; then
        fail "round 3: '$cmd' on a full disk without a lock file died of signal $((rc - 128))"
    elif [[ $rc != 0 ]]; then
        check_failure_message "round 3: '$cmd' on a full disk without a lock file" "$rc"
    fi
done
rm -f "$MNT/filler"
verify_in_place "$DB" "round 3, space freed"

echo "disk_full ($([[ $LONG == 1 ]] && echo long || echo quick) mode), $((SECONDS - START)) s"
if [[ $FAILURES -gt 0 ]]; then
    echo "FAILED: $FAILURES check(s) failed" >&2
    exit 1
fi
echo "ok: a full disk fails writes with exit 5, loses nothing, and writes continue once space is free"
