/*
 * tests/tools/export_restore.c - export then restore gives the same ledger (same head hash,
 * same projections) for a ledger holding every event type; a hostile file is refused with
 * its line number and leaves the target as it was.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[2048], full[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "cd %s && F=%s && %s", dir, FOLIO_CLI_PATH, cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s missing", name);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int exists(const char *name) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* A ledger with every one of the 18 event types. */
static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/folio-exp-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(sh("$F init --credit-control both >/dev/null"
                    " && $F create 'Acme' --credit-limit 100 --status active >/dev/null"
                    " && $F create 'Dup' >/dev/null"
                    " && $F update CUST-000001 --billing-city Leeds >/dev/null"
                    " && $F own CUST-000001 bob >/dev/null"
                    " && $F contact add CUST-000002 --name Tom >/dev/null"
                    " && $F contact add CUST-000001 --name Ann >/dev/null"
                    " && $F contact remove CUST-000001 1 >/dev/null"
                    " && $F note CUST-000001 'hello' >/dev/null"
                    " && $F invoice CUST-000001 150 --date 2026-01-01 --due 2026-01-31 >/dev/null"
                    " && $F credit-note CUST-000001 10 --date 2026-01-05 >/dev/null"
                    " && $F pay CUST-000001 60 --date 2026-01-10 --auto >/dev/null"
                    " && $F refund CUST-000001 5 --from CN-000001 --date 2026-01-11 >/dev/null"
                    " && $F --idempotency-key k1 pay CUST-000001 40 --date 2026-01-12 --auto >/dev/null"
                    " && $F merge --keep CUST-000001 --delete CUST-000002 >/dev/null"
                    " && $F credit-check --as-of 2026-03-01 >/dev/null"
                    " && $F status CUST-000001 hold >/dev/null"),
                 0);
    cr_assert_eq(sh("$F --json log | grep -o '\"version\":[0-9]*,\"type\":\"[a-z_.]*\"'"
                    " | sed 's/.*\"type\"//' | sort -u | wc -l > types.txt"),
                 0);
    char *types = slurp("types.txt");
    cr_assert_eq(atoi(types), 18, "the ledger should hold all 18 event types, has %s", types);
    free(types);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

TestSuite(export_restore, .init = setup, .fini = teardown, .timeout = 60);

Test(export_restore, a_restored_ledger_has_the_same_head_hash_and_projections) {
    cr_assert_eq(sh("$F export > all.jsonl && $F --db copy.db restore all.jsonl > /dev/null"), 0);
    cr_assert_eq(sh("$F --json verify > a.json && $F --db copy.db --json verify > b.json"), 0);
    char *a = slurp("a.json"), *b = slurp("b.json");
    cr_assert_str_eq(a, b, "verify of the original and of the restored ledger differ");
    cr_assert_eq(sh("$F --db copy.db check > /dev/null"), 0, "projections differ from a replay");
    cr_assert_eq(sh("$F statement CUST-000001 --as-of 2026-06-30 --json > s1.json && "
                    "$F --db copy.db statement CUST-000001 --as-of 2026-06-30 --json > s2.json && "
                    "cmp -s s1.json s2.json"),
                 0);
    cr_assert_eq(sh("$F export > e1.jsonl && $F --db copy.db export > e2.jsonl && cmp -s e1.jsonl e2.jsonl"),
                 0, "exporting the copy gives the same file");
    /* the idempotency key survives: a repeat of the keyed payment replays on the copy */
    cr_assert_eq(sh("$F --db copy.db --json verify > v1.json && "
                    "$F --db copy.db --idempotency-key k1 pay CUST-000001 40 --date 2026-01-12 --auto > /dev/null && "
                    "$F --db copy.db --json verify > v2.json && cmp -s v1.json v2.json"),
                 0, "the idempotency index was not restored");
    free(a);
    free(b);
}

Test(export_restore, restore_refuses_a_ledger_that_has_events) {
    cr_assert_eq(sh("$F export > all.jsonl"), 0);
    cr_assert_eq(sh("$F restore all.jsonl 2> err.txt"), 1);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, "empty") != NULL, "%s", err);
    free(err);
}

Test(export_restore, a_malformed_line_is_named_and_nothing_is_created) {
    cr_assert_eq(sh("$F export | head -5 > part.jsonl && echo '{\"seq\":6,' >> part.jsonl"), 0);
    cr_assert_eq(sh("$F --db copy.db restore part.jsonl 2> err.txt"), 2);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, "line 6") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("copy.db") && !exists("copy.db.restoring"), "a failed restore left files");
}

Test(export_restore, an_altered_payload_fails_its_chain_hash) {
    /* Change one hex digit of the payload of line 3 and the data to match (a forger who
     * did not recompute the chain). */
    cr_assert_eq(sh("$F export > all.jsonl && "
                    "sed '3s/\"currency\":\"USD\"/\"currency\":\"EUR\"/; "
                    "3s/a3555344/a3455552/' all.jsonl > bad.jsonl"),
                 0);
    cr_assert_eq(sh("$F --db copy.db restore bad.jsonl 2> err.txt"), 4);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, "seq 3") != NULL && strstr(err, "chain") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("copy.db"), "a failed restore left the target behind");
}

/* A line missing from an export is damage to the file (exit 4, as a broken chain is), not a
 * conflict with the ledger (exit 1); the seq is named and nothing is left behind. */
Test(export_restore, a_missing_line_is_an_integrity_failure) {
    cr_assert_eq(sh("$F export | sed '5d' > gap.jsonl"), 0);
    cr_assert_eq(sh("$F --db copy.db restore gap.jsonl 2> err.txt"), 4);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, "seq 6") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("copy.db") && !exists("copy.db.restoring"), "a failed restore left files");
    /* the same inside a command: line 3 is the last event of the first creation (its
     * currency), so the next line's command mark does not follow either */
    cr_assert_eq(sh("$F export | sed '3d' > gap3.jsonl"), 0);
    cr_assert_eq(sh("$F --db copy.db restore gap3.jsonl 2> err.txt"), 4);
    err = slurp("err.txt");
    cr_assert(strstr(err, "seq 4") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("copy.db") && !exists("copy.db.restoring"), "a failed restore left files");
}

Test(export_restore, export_from_a_seq_starts_there) {
    cr_assert_eq(sh("$F export --from 10 | head -1 | grep -q '^{\"seq\":10,'"), 0);
    cr_assert_eq(sh("$F export --limit 3 2>/dev/null"), 2, "export takes --from only");
}

/* A line past the 1 MiB cap is refused without being read whole (a hostile file of one
 * endless line must not take the memory first): the message names it, nothing is created. */
Test(export_restore, an_endless_line_is_refused_at_the_cap) {
    cr_assert_eq(sh("head -c 3000000 /dev/zero | tr '\\\\0' a > long.jsonl"), 0);
    cr_assert_eq(sh("$F --db copy.db restore long.jsonl 2> err.txt"), 2);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, "line 1: longer than 1048576 bytes") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("copy.db") && !exists("copy.db.restoring"), "a failed restore left files");
}

/* A key used on a write that changed nothing is taken (rule 11, idempotency record format
 * 2): the export carries it as a line of its own after the events ("answer_seq"), and on
 * the restored ledger a repeat is answered unchanged again instead of being applied to a
 * state that moved since. Before, such keys were not exported and were free again. */
Test(export_restore, a_key_taken_by_a_write_that_changed_nothing_stays_taken_after_a_restore) {
    cr_assert_eq(sh("$F --idempotency-key k2 status CUST-000001 hold > /dev/null && "
                    "$F status CUST-000001 active > /dev/null"),
                 0);
    cr_assert_eq(sh("$F export > all.jsonl && tail -1 all.jsonl | "
                    "grep -c '^{\"answer_seq\":[0-9]*,\"idempotency_key\":\"k2\",\"request_hash\":\"[0-9a-f]\\{32\\}\"}$' "
                    "> n.txt; grep -c answer_seq all.jsonl >> n.txt"),
                 0, "the answer is not exported");
    char *n = slurp("n.txt");
    cr_assert_str_eq(n, "1\n1\n", "one answer line, the last: %s", n);
    free(n);
    cr_assert_eq(sh("$F --db copy.db restore all.jsonl > /dev/null && $F --db copy.db verify > /dev/null"),
                 0);
    cr_assert_eq(sh("$F --db copy.db --json verify > v1.json && "
                    "$F --db copy.db --idempotency-key k2 status CUST-000001 hold > out.txt && "
                    "$F --db copy.db --json verify > v2.json && cmp -s v1.json v2.json && "
                    "grep -q 'nothing to change' out.txt && "
                    "$F --db copy.db show CUST-000001 | grep -q 'status *active'"),
                 0, "the repeat was applied on the restored ledger");
    /* the same key for another request is refused, as on the original */
    cr_assert_eq(sh("$F --db copy.db --idempotency-key k2 status CUST-000001 inactive 2> /dev/null"),
                 1);
    cr_assert_eq(sh("$F export > e1.jsonl && $F --db copy.db export > e2.jsonl && cmp -s e1.jsonl e2.jsonl"),
                 0, "exporting the copy gives the same file");
    /* an export from a seq after the answer's event leaves it out; log never shows it */
    cr_assert_eq(sh("$F export --from 200 | grep -c answer_seq"), 1, "nothing exported, no answer");
    cr_assert_eq(sh("$F --json log | grep -c answer_seq"), 1, "log shows events only");
}

/* An export written before answers were exported (no answer lines) still restores. */
Test(export_restore, an_export_without_answers_still_restores) {
    cr_assert_eq(sh("$F --idempotency-key k2 status CUST-000001 hold > /dev/null"), 0);
    cr_assert_eq(sh("$F export | grep -v answer_seq > old.jsonl && "
                    "$F --db copy.db restore old.jsonl > /dev/null && "
                    "$F --json verify > a.json && $F --db copy.db --json verify > b.json && "
                    "cmp -s a.json b.json"),
                 0);
}

/* The answer lines of a hostile file: a malformed one, or one naming an event the file does
 * not hold, is named by line (exit 2); a key used twice (by two answers, or by an answer
 * and events) is a changed export (exit 4); nothing is created. */
static void refused(const char *file, int code, const char *needle) {
    cr_assert_eq(sh("$F --db copy.db restore %s 2> err.txt", file), code, "%s", file);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, needle) != NULL, "%s: %s", file, err);
    free(err);
    cr_assert(!exists("copy.db") && !exists("copy.db.restoring"), "a failed restore left files");
}

Test(export_restore, altered_answers_are_refused) {
    cr_assert_eq(sh("$F --idempotency-key k2 status CUST-000001 hold > /dev/null && "
                    "$F export > all.jsonl && tail -1 all.jsonl | grep -q answer_seq"),
                 0);
    cr_assert_eq(sh("sed '$s/\"request_hash\":\"[0-9a-f]*\"/\"request_hash\":1/' all.jsonl > bad1.jsonl"
                    " && ! cmp -s all.jsonl bad1.jsonl"),
                 0);
    refused("bad1.jsonl", 2, "answer line");
    cr_assert_eq(sh("sed '$s/}$/,\"x\":1}/' all.jsonl > bad2.jsonl"), 0);
    refused("bad2.jsonl", 2, "answer line");
    cr_assert_eq(sh("sed '$s/\"answer_seq\":[0-9]*/\"answer_seq\":999/' all.jsonl > bad3.jsonl"), 0);
    refused("bad3.jsonl", 2, "past the last seq");
    /* k1 is the key of the keyed payment's events */
    cr_assert_eq(sh("sed '$s/\"idempotency_key\":\"k2\"/\"idempotency_key\":\"k1\"/' all.jsonl > bad4.jsonl"
                    " && ! cmp -s all.jsonl bad4.jsonl"),
                 0);
    refused("bad4.jsonl", 4, "'k1' was used twice");
    cr_assert_eq(sh("tail -1 all.jsonl >> all.jsonl.2 && cat all.jsonl all.jsonl.2 > bad5.jsonl"), 0);
    refused("bad5.jsonl", 4, "'k2' was used twice");
    /* an answer taking k1 before the events that carry it */
    cr_assert_eq(sh("head -1 all.jsonl > bad6.jsonl && "
                    "echo '{\"answer_seq\":1,\"idempotency_key\":\"k1\",\"request_hash\":\"00000000000000000000000000000000\"}' >> bad6.jsonl && "
                    "tail -n +2 all.jsonl >> bad6.jsonl"),
                 0);
    refused("bad6.jsonl", 4, "'k1' was used twice");
}

/* Where each command ends (envelope key 13) is carried by the export's "command_follows"
 * and written back identically: the restored ledger answers "as known at" alike, and an
 * export stripped of the marks no longer restores (they are under the chain hash). */
Test(export_restore, command_marks_survive_an_export_and_a_restore) {
    cr_assert_eq(sh("$F export > all.jsonl && grep -c '\"command_follows\":' all.jsonl > n.txt"),
                 0);
    char *n = slurp("n.txt");
    cr_assert_geq(atoi(n), 5, "the creations, the merge and the payments mark events: %s", n);
    free(n);
    cr_assert_eq(sh("$F --db copy.db restore all.jsonl > /dev/null"), 0);
    cr_assert_eq(sh("$F --db copy.db export > again.jsonl && cmp -s all.jsonl again.jsonl"), 0);
    cr_assert_eq(sh("for s in $(grep '\"command_follows\"' all.jsonl | "
                    "sed 's/^{\"seq\":\\([0-9]*\\),.*/\\1/'); do "
                    "$F statement CUST-000001 --as-of 2026-06-30 --at-seq $s > a.txt 2>&1; "
                    "$F --db copy.db statement CUST-000001 --as-of 2026-06-30 --at-seq $s "
                    "> b.txt 2>&1; grep -q 'lies inside the command' a.txt || "
                    "grep -q 'folio:' a.txt || exit 3; cmp -s a.txt b.txt || exit 1; done"),
                 0);
    cr_assert_eq(sh("sed 's/,\"command_follows\":[0-9]*//' all.jsonl > bare.jsonl && "
                    "$F --db bare.db restore bare.jsonl 2> err.txt"),
                 4, "an export without its marks restores other bytes");
    cr_assert_eq(sh("sed '0,/\"command_follows\":[0-9]*/s//\"command_follows\":\"x\"/' all.jsonl"
                    " > bad.jsonl && $F --db bad.db restore bad.jsonl 2> err.txt"),
                 2);
    char *err = slurp("err.txt");
    cr_assert(strstr(err, "command_follows") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("bad.db") && !exists("bare.db"), "a failed restore left files");
    /* a mark taken off an event inside a command (the one after a mark of 2) is damage to
     * the file, exit 4, as a changed mark on a command's first event is */
    cr_assert_eq(sh("sed '/\"command_follows\":2[,}]/{n;s/,\"command_follows\":1//}' all.jsonl"
                    " > mid.jsonl && ! cmp -s all.jsonl mid.jsonl && "
                    "$F --db mid.db restore mid.jsonl 2> err.txt"),
                 4);
    err = slurp("err.txt");
    cr_assert(strstr(err, "command mark 0, expected 1") != NULL, "%s", err);
    free(err);
    cr_assert(!exists("mid.db"), "a failed restore left files");
}
