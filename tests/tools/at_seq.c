/*
 * tests/tools/at_seq.c - show and statement --at-seq N: a seq inside a command (a creation,
 * a merge) is answered at the command's end, and the report says so ("as known at seq M
 * (seq N lies inside the command of seqs A-M)"); a seq past the head is refused (exit 2,
 * naming the head); a ledger written before command marks answers per event.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <folio.h>

#include "cli_run.h"

TestSuite(at_seq, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void ok(const char *const *args) { json_decref(cli_json_ok_args(args)); }

/* stdout of a command that must succeed with nothing on stderr. */
static char *out_of(const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_eq(r.err_len, 0, "%s", r.err);
    char *out = strdup(r.out);
    cli_result_free(&r);
    return out;
}

/* seqs 1-3: the ledger's settings and Acme's creation (one command); 4-5 Beta's creation;
 * 6 an invoice of Beta; 7-9 the merge of Beta into Acme; 10-11 Later's creation. */
static void ledger(void) {
    ok(ARGS("--json", "create", "Acme"));
    ok(ARGS("--json", "create", "Beta"));
    ok(ARGS("--json", "invoice", "CUST-000002", "250", "--date", "2026-01-06"));
    ok(ARGS("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
    ok(ARGS("--json", "create", "Later"));
    cr_assert_eq(cli_event_count(), 11);
}

Test(at_seq, show_inside_a_creation_is_the_card_at_its_end_and_says_so) {
    ledger();
    char *text = out_of(ARGS("show", "CUST-000002", "--at-seq", "4"));
    cr_assert(strstr(text, "as known at seq 5 (seq 4 lies inside the command of seqs 4\u20135)\n"),
              "%s", text);
    cr_assert(strstr(text, "currency      USD\n"), "the currency of the creation's end: %s", text);
    free(text);
    json_t *j = cli_json_ok("--json", "show", "CUST-000002", "--at-seq", "4");
    cr_assert_eq(cli_jint(j, "at_seq"), 5);
    cr_assert_str_eq(cli_jstr(j, "currency"), "USD");
    cr_assert_eq(cli_jint(j, "version"), 2);
    json_decref(j);
    /* a command's last seq is answered as asked: the label and no more */
    text = out_of(ARGS("show", "CUST-000002", "--at-seq", "5"));
    cr_assert(strstr(text, "  as known at seq 5\n"), "%s", text);
    free(text);
    /* without --at-seq: no label, no "at_seq" (the SPEC's show shape) */
    text = out_of(ARGS("show", "CUST-000001"));
    cr_assert_null(strstr(text, "as known at"), "%s", text);
    free(text);
}

Test(at_seq, show_and_statement_inside_a_merge_are_at_its_end) {
    ledger();
    for (int at = 7; at <= 9; at++) {
        char seq[8], label[96];
        snprintf(seq, sizeof seq, "%d", at);
        json_t *keep = cli_json_ok("--json", "show", "CUST-000001", "--at-seq", seq);
        cr_assert_str_eq(cli_jstr(keep, "balance"), "250.00", "the money moved, at seq %d", at);
        cr_assert_eq(cli_jint(keep, "at_seq"), 9);
        json_decref(keep);
        cli_fails_with(3, SAYS("merged into CUST-000001"),
                       ARGS("show", "CUST-000002", "--at-seq", seq));
        if (at < 9)
            snprintf(label, sizeof label,
                     "as known at seq 9 (seq %d lies inside the command of seqs 7\u20139)", at);
        else
            snprintf(label, sizeof label, "as known at seq 9\n");
        char *text = out_of(ARGS("statement", "CUST-000001", "--as-of", "2026-02-01",
                                 "--at-seq", seq));
        cr_assert(strstr(text, label), "seq %d: %s", at, text);
        cr_assert(strstr(text, "INV-000001"), "the moved invoice is on KEEP's statement: %s", text);
        free(text);
        text = out_of(ARGS("show", "CUST-000001", "--at-seq", seq));
        cr_assert(strstr(text, label), "seq %d: %s", at, text);
        free(text);
        json_t *st = cli_json_ok("--json", "statement", "CUST-000001", "--as-of", "2026-02-01",
                                 "--at-seq", seq);
        cr_assert_eq(cli_jint(st, "at_seq"), 9);
        cr_assert_str_eq(cli_jstr(st, "total_open"), "250.00");
        json_decref(st);
    }
    char *html = out_of(ARGS("statement", "CUST-000001", "--at-seq", "8", "--format", "html"));
    cr_assert(strstr(html, "as known at seq 9 (seq 8 lies inside the command of seqs 7&ndash;9)"),
              "%s", html);
    free(html);
    /* before the merge: KEEP without the invoice */
    json_t *before = cli_json_ok("--json", "statement", "CUST-000001", "--at-seq", "6");
    cr_assert_str_eq(cli_jstr(before, "total_open"), "0.00");
    cr_assert_eq(cli_jint(before, "at_seq"), 6);
    json_decref(before);
}

Test(at_seq, a_seq_past_the_head_is_refused_naming_the_head) {
    ledger();
    cli_fails_with(2, SAYS("seq 12", "last seq 11"), ARGS("show", "CUST-000001", "--at-seq", "12"));
    cli_fails_with(2, SAYS("seq 5000", "last seq 11"),
                   ARGS("statement", "CUST-000001", "--at-seq", "5000"));
    cli_fails_with(2, SAYS("last seq 11"),
                   ARGS("--json", "statement", "CUST-000001", "--at-seq", "12"));
    /* the head itself is a seq the ledger has */
    char *text = out_of(ARGS("show", "CUST-000003", "--at-seq", "11"));
    cr_assert(strstr(text, "  as known at seq 11\n"), "%s", text);
    free(text);
}

/* A ledger written before command marks (each event its own command): made here by
 * restoring this ledger's events without their marks, as an older folio wrote them. */
Test(at_seq, a_ledger_without_marks_answers_per_event) {
    ledger();
    folio_db *db = NULL, *old = NULL;
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    cr_assert_eq(folio_db_open(&db, cli_path("folio.db"), &ro), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_db_open(&old, cli_path("old.db"), NULL), FOLIO_OK, "%s", folio_errmsg());
    folio_iter *it = NULL;
    const folio_event *e;
    cr_assert_eq(folio_log_open(&it, db, 0, 0), FOLIO_OK);
    while (folio_iter_next(&e, it) == FOLIO_OK) {
        uint8_t hash[16];
        int keyed = folio_iter_request_hash(hash, it);
        folio_restore_item item = {*e, keyed ? hash : NULL, NULL, 0};
        cr_assert_eq(folio_restore_append(old, &item, 1), FOLIO_OK, "%s", folio_errmsg());
    }
    folio_iter_free(it);
    folio_db_close(old);
    folio_db_close(db);
    ok(ARGS("--db", "old.db", "--json", "verify"));
    /* as known at customer.created: no currency yet, and no command to name */
    char *text = out_of(ARGS("--db", "old.db", "show", "CUST-000002", "--at-seq", "4"));
    cr_assert(strstr(text, "  as known at seq 4\n"), "%s", text);
    cr_assert(strstr(text, "currency      -"), "%s", text);
    free(text);
    json_t *keep = cli_json_ok("--db", "old.db", "--json", "show", "CUST-000001", "--at-seq", "7");
    cr_assert_eq(cli_jint(keep, "at_seq"), 7);
    cr_assert_str_eq(cli_jstr(keep, "balance"), "0.00", "mid-merge, as an older folio answered");
    json_decref(keep);
}
