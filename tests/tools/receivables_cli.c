/*
 * tests/tools/receivables_cli.c - the receivables commands of `folio` (SPEC section 7):
 * invoice, credit-note, pay (--apply repeated, --auto), allocate, refund, balance, statement
 * (json, text, html), holds, admit, credit-check; their JSON shapes, and exit codes (1 rule,
 * 2 malformed amount/date/option, 3 unknown or deleted customer). A refused command appends
 * nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "tmpdb.h" /* tmpdb_assert_json_eq */

TestSuite(receivables_cli, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

/* Run; assert exit 0 and a quiet stderr; return stdout (caller frees). */
static char *run_ok_args(const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cr_assert_eq(r.status, 0, "'folio %s ...' exited %d: %s", args[0], r.status, r.err);
    cr_assert_eq(r.err_len, 0, "'folio %s ...' wrote to stderr: %s", args[0], r.err);
    char *out = r.out;
    r.out = NULL;
    cli_result_free(&r);
    return out;
}
#define RUN(...) free(run_ok_args(ARGS(__VA_ARGS__)))
#define RUN_JSON(...) cli_json_ok(__VA_ARGS__)

/* A command that must fail with exit `code` and one "folio: " line holding `needle` (NULL:
 * any), and append nothing to the default ledger (when there is one). */
static void run_fails_args(int code, const char *needle, const char *const *args) {
    int exists = cli_exists(cli_path("folio.db"));
    uint64_t before = exists ? cli_event_count() : 0;
    const char *needles[] = {needle, NULL};
    cli_fails_with(code, needles, args);
    if (exists) cr_assert_eq(cli_event_count(), before, "'folio %s ...' appended events", args[0]);
}
#define FAILS(code, needle, ...) run_fails_args((code), (needle), ARGS(__VA_ARGS__))

/* A JSON value equals the expected JSON text (object key order aside). */
static void assert_json_is(const json_t *actual, const char *expected) {
    char *text = json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY);
    tmpdb_assert_json_eq(text, expected);
    free(text);
}

/* `holds --json` keyed by ref ({"CUST-1":{"ref",...},...}): SPEC does not fix the order. */
static void assert_holds_are(const char *expected) {
    json_t *got = cli_json_ok("--json", "holds");
    static const char *const keys[] = {"ref", "name", "reasons", NULL};
    json_t *by_ref = json_object(), *item;
    size_t i;
    cr_assert(json_is_array(got));
    json_array_foreach(got, i, item) {
        cli_assert_keys(item, keys, NULL, "holds item");
        json_object_set(by_ref, cli_jstr(item, "ref"), item);
    }
    cr_assert_eq(json_object_size(by_ref), json_array_size(got), "a customer listed twice");
    assert_json_is(by_ref, expected);
    json_decref(by_ref);
    json_decref(got);
}

/* The seq of the first event of `type` in `log --json`. */
static long long seq_of_first(const char *type) {
    char *out = run_ok_args(ARGS("--json", "log"));
    json_t *lines = cli_json_lines(out), *e;
    size_t i;
    long long seq = -1;
    free(out);
    json_array_foreach(lines, i, e) {
        if (seq < 0 && strcmp(cli_jstr(e, "type"), type) == 0)
            seq = (long long)json_integer_value(json_object_get(e, "seq"));
    }
    json_decref(lines);
    cr_assert_gt(seq, 0, "no %s in the log", type);
    return seq;
}

/* The statement JSON without at_seq and name (extra keys SPEC allows), for comparison. */
static json_t *statement_json(const char *const *args) {
    json_t *j = cli_json_ok_args(args);
    static const char *const required[] = {"ref",        "currency", "as_of", "lines",
                                           "total_open", "aging",    NULL};
    static const char *const optional[] = {"from", "opening_balance", "name", "at_seq", NULL};
    static const char *const line_required[] = {"date", "doc", "kind", "amount", "open", NULL};
    static const char *const line_optional[] = {"due", "days_overdue", NULL};
    static const char *const buckets[] = {"current", "1-30", "31-60", "61-90", "90+", NULL};
    cli_assert_keys(j, required, optional, "statement");
    cr_assert_eq(json_object_get(j, "from") != NULL, json_object_get(j, "opening_balance") != NULL,
                 "from and opening_balance come together");
    json_t *lines = json_object_get(j, "lines"), *l;
    size_t i;
    cr_assert(json_is_array(lines));
    json_array_foreach(lines, i, l) {
        cli_assert_keys(l, line_required, line_optional, "statement line");
        int invoice = strcmp(cli_jstr(l, "kind"), "invoice") == 0;
        cr_assert_eq(json_object_get(l, "due") != NULL, invoice, "due only on invoices");
        cr_assert_eq(json_is_integer(json_object_get(l, "days_overdue")), invoice,
                     "days_overdue (an integer) only on invoices");
    }
    cli_assert_keys(json_object_get(j, "aging"), buckets, NULL, "aging");
    json_object_del(j, "at_seq");
    json_object_del(j, "name");
    return j;
}
#define STATEMENT(...) statement_json(ARGS(__VA_ARGS__))

/* A ledger with one USD customer CUST-000001 "Acme & <Sons>" and its documents:
 *   INV-000001 100.00 2026-01-05 due 2026-02-04; INV-000002 250.00 2026-01-20 due 2026-02-19;
 *   CN-000001 30.00 2026-01-25; PAY-000001 120.00 2026-02-10 applied 100.00 + 20.00;
 *   PAY-000002 200.00 2026-03-05; RF-000001 50.00 out of PAY-000002 2026-03-10. */
static void acme(void) {
    RUN("init", "--credit-control", "limit", "--on-hold", "pending-orders");
    RUN("create", "Acme & <Sons>", "--status", "active");
    RUN("invoice", "CUST-000001", "100.00", "--date", "2026-01-05", "--due", "2026-02-04");
    RUN("invoice", "CUST-000001", "250", "--date", "2026-01-20", "--due", "2026-02-19");
    RUN("credit-note", "CUST-000001", "30.00", "--date", "2026-01-25");
    RUN("pay", "CUST-000001", "120.00", "--date", "2026-02-10", "--apply", "INV-000001", "--apply",
        "INV-000002:20.00");
    RUN("pay", "CUST-000001", "200.00", "--date", "2026-03-05");
    RUN("refund", "CUST-000001", "50.00", "--from", "PAY-000002", "--date", "2026-03-10");
}

Test(receivables_cli, writes_answer_with_the_document_number_and_repeats_replay) {
    RUN("create", "Acme");
    json_t *j = RUN_JSON("--json", "invoice", "CUST-000001", "12.50", "--date", "2026-01-05",
                         "--idempotency-key", "k-1");
    static const char *const keys[] = {"id", "ref", "seq", "version", "doc", NULL};
    static const char *const opt[] = {"replayed", NULL};
    cli_assert_keys(j, keys, opt, "invoice result");
    assert_json_is(j, "{\"id\":1,\"ref\":\"CUST-000001\",\"seq\":4,\"version\":3,"
                      "\"doc\":\"INV-000001\"}");
    json_decref(j);
    j = RUN_JSON("invoice", "CUST-000001", "12.50", "--json", "--date", "2026-01-05",
                 "--idempotency-key", "k-1");
    assert_json_is(j, "{\"id\":1,\"ref\":\"CUST-000001\",\"seq\":4,\"version\":3,"
                      "\"doc\":\"INV-000001\",\"replayed\":true}");
    json_decref(j);
    FAILS(1, NULL, "invoice", "CUST-000001", "12.51", "--date", "2026-01-05", "--idempotency-key",
          "k-1");
    FAILS(1, "conflict", "invoice", "CUST-000001", "1", "--expect-version", "2");
    j = RUN_JSON("--json", "pay", "CUST-000001", "2.50", "--doc", "CHQ/7", "--expect-version", "3",
                 "--auto");
    cr_assert_str_eq(cli_jstr(j, "doc"), "CHQ/7");
    json_decref(j);
    j = RUN_JSON("--json", "credit-note", "CUST-000001", "1.00");
    cr_assert_str_eq(cli_jstr(j, "doc"), "CN-000001");
    json_decref(j);
    j = RUN_JSON("--json", "refund", "CUST-000001", "1.00", "--from", "CN-000001");
    cr_assert_str_eq(cli_jstr(j, "doc"), "RF-000001");
    json_decref(j);
    j = RUN_JSON("--json", "balance", "CUST-000001");
    assert_json_is(j, "{\"ref\":\"CUST-000001\",\"currency\":\"USD\",\"balance\":\"10.00\"}");
    json_decref(j);
}

Test(receivables_cli, rule_rejections_exit_1_and_append_nothing) {
    RUN("create", "Acme");
    RUN("create", "Sleeper");
    RUN("create", "Gone");
    RUN("invoice", "CUST-000001", "100.00", "--date", "2026-01-05", "--doc", "A-1");
    RUN("pay", "CUST-000001", "40.00", "--date", "2026-01-06", "--doc", "P-1");
    RUN("status", "CUST-000002", "inactive");
    RUN("status", "CUST-000003", "deleted");
    FAILS(1, "rule 8", "invoice", "CUST-000002", "10.00");
    FAILS(1, "rule 9", "allocate", "CUST-000001", "--from", "P-1", "--to", "A-1", "--amount",
          "40.01");
    FAILS(1, "rule 9", "pay", "CUST-000001", "200.00", "--apply", "A-1:100.01");
    FAILS(1, "rule 9", "refund", "CUST-000001", "40.01", "--from", "P-1");
    FAILS(1, "rule 10", "invoice", "CUST-000001", "1.00", "--doc", "A-1");
    FAILS(1, "rule 10", "pay", "CUST-000002", "1.00", "--doc", "P-1");
    FAILS(1, NULL, "invoice", "CUST-000003", "1.00");
    FAILS(1, NULL, "pay", "CUST-000003", "1.00");
    FAILS(1, NULL, "credit-check");
    FAILS(1, "rule 5", "delete", "CUST-000001");
    /* ... and what rule 8 allows the inactive customer */
    RUN("credit-note", "CUST-000002", "5.00");
    RUN("pay", "CUST-000002", "5.00");
}

Test(receivables_cli, malformed_amounts_dates_and_options_exit_2) {
    RUN("create", "Acme");
    RUN("create", "Yen", "--currency", "JPY");
    RUN("invoice", "CUST-000001", "100.00", "--date", "2026-01-05");
    RUN("pay", "CUST-000001", "40.00", "--date", "2026-01-06");
    FAILS(2, NULL, "invoice", "CUST-000001", "12.345");
    FAILS(2, NULL, "invoice", "CUST-000002", "1.5");
    FAILS(2, NULL, "invoice", "CUST-000001", "abc");
    FAILS(2, NULL, "invoice", "CUST-000001", "0");
    FAILS(2, NULL, "invoice", "CUST-000001", "-5");
    FAILS(2, NULL, "credit-note", "CUST-000001", "0.001");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--date", "2026-02-30");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--date", "2026-13-01");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--date", "today");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--date", "2026-03-01", "--due",
          "2026-02-28");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--doc", "A B");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--bogus");
    FAILS(2, NULL, "invoice", "CUST-000001");
    FAILS(2, NULL, "invoice", "CUST-000001", "1.00", "--date");
    FAILS(2, NULL, "credit-note", "CUST-000001", "1.00", "--due", "2026-03-01");
    FAILS(2, NULL, "pay", "CUST-000001", "10.00", "--apply", "INV-000001:1.001");
    FAILS(2, "--apply", "pay", "CUST-000001", "10.00", "--apply", ":5.00");
    FAILS(2, "--apply", "pay", "CUST-000001", "10.00", "--apply", "");
    FAILS(2, "'5:5'", "pay", "CUST-000001", "10.00", "--apply", "INV-000001:5:5");
    /* a malformed amount is malformed whatever the ledger holds: no invoice NOPE either */
    FAILS(2, "allocation", "pay", "CUST-000001", "10.00", "--apply", "NOPE:abc");
    FAILS(2, "allocation", "pay", "CUST-000001", "10.00", "--apply", "INV-000001:1", "--apply",
          "NOPE:-2");
    FAILS(2, NULL, "allocate", "CUST-000001", "--from", "PAY-000001");
    FAILS(2, NULL, "allocate", "CUST-000001", "--from", "PAY-000001", "--to", "INV-000001",
          "--auto");
    FAILS(2, NULL, "allocate", "CUST-000001", "--from", "PAY-000001", "--to", "INV-000001",
          "--amount", "x");
    FAILS(2, NULL, "refund", "CUST-000001", "1.00");
    FAILS(2, NULL, "refund", "CUST-000001", "1.00", "--from", "PAY-000001", "--date",
          "2026-02-29");
    FAILS(2, NULL, "statement", "CUST-000001", "--as-of", "2026-02-30");
    FAILS(2, NULL, "statement", "CUST-000001", "--from", "2026-03-02", "--as-of", "2026-03-01");
    FAILS(2, NULL, "statement", "CUST-000001", "--format", "pdf");
    FAILS(2, NULL, "statement", "CUST-000001", "--at-seq", "0");
    FAILS(2, NULL, "statement", "CUST-000001", "--at-seq", "seven");
    FAILS(2, NULL, "admit", "CUST-000001", "--doc", "quote");
    FAILS(2, NULL, "admit", "CUST-000001");
    FAILS(2, NULL, "balance");
    FAILS(2, NULL, "credit-check", "--as-of", "2026-02-30");
}

Test(receivables_cli, unknown_and_deleted_customers_exit_3_on_reads) {
    RUN("create", "Keep");
    RUN("create", "Merged");
    RUN("create", "Gone");
    RUN("invoice", "CUST-000002", "10.00", "--date", "2026-01-05");
    RUN("merge", "--keep", "CUST-000001", "--delete", "CUST-000002");
    RUN("delete", "CUST-000003");
    FAILS(3, NULL, "invoice", "CUST-000404", "1.00");
    FAILS(3, NULL, "pay", "CUST-000404", "1.00", "--auto");
    FAILS(3, NULL, "balance", "CUST-000404");
    FAILS(3, NULL, "statement", "CUST-000404");
    FAILS(3, NULL, "admit", "CUST-000404", "--doc", "cash-sale");
    FAILS(3, "merged into CUST-000001", "balance", "CUST-000002");
    FAILS(3, "merged into CUST-000001", "statement", "CUST-000002");
    FAILS(3, "deleted", "balance", "CUST-000003");
    FAILS(3, "deleted", "statement", "CUST-000003", "--json");
    /* Writes to them are rule rejections (rule 7). */
    FAILS(1, "merged into", "invoice", "CUST-000002", "1.00");
    FAILS(1, "deleted", "credit-note", "CUST-000003", "1.00");
    /* A document the customer does not have. */
    FAILS(3, NULL, "allocate", "CUST-000001", "--from", "PAY-404", "--auto");
    /* A read on a missing ledger names it. */
    FAILS(3, "nowhere.db", "--db", "nowhere.db", "statement", "CUST-000001");
    cr_assert(!cli_exists(cli_path("nowhere.db")));
}

Test(receivables_cli, pay_applies_repeated_invoices_then_auto_allocates_the_rest) {
    RUN("create", "Acme");
    RUN("invoice", "CUST-000001", "100.00", "--date", "2026-01-01");
    RUN("invoice", "CUST-000001", "100.00", "--date", "2026-01-02");
    RUN("invoice", "CUST-000001", "100.00", "--date", "2026-01-03");
    FAILS(3, NULL, "pay", "CUST-000001", "10.00", "--apply", "INV-000404");
    RUN("pay", "CUST-000001", "250.00", "--date", "2026-01-04", "--apply", "INV-000003:80.00",
        "--apply", "INV-000002", "--auto");
    json_t *j = STATEMENT("statement", "CUST-000001", "--as-of", "2026-01-04", "--json");
    assert_json_is(j, "{\"ref\":\"CUST-000001\",\"currency\":\"USD\",\"as_of\":\"2026-01-04\","
                      "\"lines\":["
                      "{\"date\":\"2026-01-01\",\"doc\":\"INV-000001\",\"kind\":\"invoice\","
                      "\"amount\":\"100.00\",\"open\":\"30.00\",\"due\":\"2026-01-01\","
                      "\"days_overdue\":3},"
                      "{\"date\":\"2026-01-03\",\"doc\":\"INV-000003\",\"kind\":\"invoice\","
                      "\"amount\":\"100.00\",\"open\":\"20.00\",\"due\":\"2026-01-03\","
                      "\"days_overdue\":1}],"
                      "\"total_open\":\"50.00\",\"aging\":{\"current\":\"0.00\",\"1-30\":"
                      "\"50.00\",\"31-60\":\"0.00\",\"61-90\":\"0.00\",\"90+\":\"0.00\"}}");
    json_decref(j);
    /* allocate --auto and --to with an amount */
    RUN("pay", "CUST-000001", "45.00", "--date", "2026-01-05", "--doc", "P-2");
    RUN("allocate", "CUST-000001", "--from", "P-2", "--to", "INV-000003", "--amount", "5.00",
        "--date", "2026-01-05");
    RUN("allocate", "CUST-000001", "--from", "P-2", "--auto", "--date", "2026-01-05");
    j = RUN_JSON("--json", "balance", "CUST-000001");
    cr_assert_str_eq(cli_jstr(j, "balance"), "5.00");
    json_decref(j);
    j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-01-05");
    json_t *lines = json_object_get(j, "lines");
    cr_assert_eq(json_array_size(lines), 1);
    cr_assert_str_eq(cli_jstr(json_array_get(lines, 0), "doc"), "INV-000003");
    cr_assert_str_eq(cli_jstr(json_array_get(lines, 0), "open"), "5.00");
    json_decref(j);
}

Test(receivables_cli, statement_json_states_open_items_as_of_from_and_at_seq) {
    acme();
    json_t *j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-03-12");
    assert_json_is(j, "{\"ref\":\"CUST-000001\",\"currency\":\"USD\",\"as_of\":\"2026-03-12\","
                      "\"lines\":["
                      "{\"date\":\"2026-01-20\",\"doc\":\"INV-000002\",\"kind\":\"invoice\","
                      "\"amount\":\"250.00\",\"open\":\"230.00\",\"due\":\"2026-02-19\","
                      "\"days_overdue\":21},"
                      "{\"date\":\"2026-01-25\",\"doc\":\"CN-000001\",\"kind\":\"credit_note\","
                      "\"amount\":\"-30.00\",\"open\":\"-30.00\"},"
                      "{\"date\":\"2026-03-05\",\"doc\":\"PAY-000002\",\"kind\":\"payment\","
                      "\"amount\":\"-200.00\",\"open\":\"-150.00\"}],"
                      "\"total_open\":\"50.00\",\"aging\":{\"current\":\"-180.00\",\"1-30\":"
                      "\"230.00\",\"31-60\":\"0.00\",\"61-90\":\"0.00\",\"90+\":\"0.00\"}}");
    json_decref(j);
    /* Before the refund's date: the payment open in full. Before the first payment: all. */
    j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-03-09");
    cr_assert_str_eq(cli_jstr(j, "total_open"), "0.00");
    json_decref(j);
    j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-02-09");
    cr_assert_str_eq(cli_jstr(j, "total_open"), "320.00");
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 3);
    json_decref(j);
    /* --from: opening balance of what is still open of older documents. */
    j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-03-12", "--from",
                  "2026-02-01");
    cr_assert_str_eq(cli_jstr(j, "from"), "2026-02-01");
    cr_assert_str_eq(cli_jstr(j, "opening_balance"), "200.00");
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 1);
    cr_assert_str_eq(cli_jstr(j, "total_open"), "50.00");
    json_decref(j);
    /* --at-seq: as known before the first payment was recorded. */
    char at[32];
    snprintf(at, sizeof at, "%lld", seq_of_first("payment.received") - 1);
    j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-03-12", "--at-seq", at);
    cr_assert_str_eq(cli_jstr(j, "total_open"), "320.00");
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 3);
    json_decref(j);
    /* The text form carries the same lines and totals. */
    char *text = run_ok_args(ARGS("statement", "CUST-000001", "--as-of", "2026-03-12"));
    cr_assert(strstr(text, "INV-000002") && strstr(text, "CN-000001") &&
                  strstr(text, "PAY-000002"),
              "%s", text);
    cr_assert(strstr(text, "230.00") && strstr(text, "-150.00") && strstr(text, "50.00"), "%s",
              text);
    cr_assert_null(strstr(text, "INV-000001"), "settled invoices are not listed: %s", text);
    cr_assert_null(strstr(text, "as known at"), "only asked --at-seq says so: %s", text);
    free(text);
}

/* A statement as known at a past seq says so in its text and HTML forms (the JSON has
 * at_seq): a page of the past that read like the present would mislead an auditor. */
Test(receivables_cli, a_statement_at_a_seq_says_so_in_text_and_html) {
    acme();
    char at[32], want[64];
    snprintf(at, sizeof at, "%lld", seq_of_first("payment.received") - 1);
    snprintf(want, sizeof want, "as known at seq %s", at);
    char *text = run_ok_args(ARGS("statement", "CUST-000001", "--as-of", "2026-03-12", "--at-seq", at));
    const char *nl = strchr(text, '\n');
    cr_assert(nl && strstr(text, want) && strstr(text, want) < nl, "not in the heading: %s", text);
    cr_assert_not_null(strstr(text, "320.00"), "%s", text);
    free(text);
    char *html = run_ok_args(ARGS("statement", "CUST-000001", "--as-of", "2026-03-12", "--at-seq",
                                  at, "--format", "html"));
    cr_assert_not_null(strstr(html, want), "%s", html);
    free(html);
}

Test(receivables_cli, statement_html_is_one_self_contained_page) {
    acme();
    char *html =
        run_ok_args(ARGS("statement", "CUST-000001", "--as-of", "2026-03-12", "--format", "html"));
    cr_assert_eq(strncmp(html, "<!DOCTYPE html>", 15), 0, "%.80s", html);
    size_t n = strlen(html);
    cr_assert(n > 20 && strcmp(html + n - 8, "</html>\n") == 0, "ends: %s", html + n - 20);
    const char *p = strstr(html, "<html");
    cr_assert_not_null(p);
    cr_assert_null(strstr(p + 1, "<html"), "one page only");
    cr_assert_null(strstr(html, "http://"), "external reference in: %s", html);
    cr_assert_null(strstr(html, "https://"), "external reference in: %s", html);
    cr_assert_null(strstr(html, "<script"), "script in: %s", html);
    cr_assert_null(strstr(html, "<link"), "link in: %s", html);
    cr_assert_null(strstr(html, "src="), "external resource in: %s", html);
    cr_assert_null(strstr(html, "<Sons>"), "the name is escaped: %s", html);
    cr_assert_not_null(strstr(html, "Acme &amp; &lt;Sons&gt;"), "%s", html);
    const char *want[] = {"CUST-000001", "2026-03-12", "INV-000002", "CN-000001", "PAY-000002",
                          "230.00",      "-30.00",     "-150.00",    "50.00",     "-180.00"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(html, want[i]), "the page lacks %s", want[i]);
    cr_assert_null(strstr(html, "2026-02-01"), "no from date without --from");
    free(html);
    /* --from shows the from date and the brought-forward balance. */
    html = run_ok_args(ARGS("statement", "CUST-000001", "--as-of", "2026-03-12", "--from",
                            "2026-02-01", "--format", "html"));
    cr_assert_not_null(strstr(html, "2026-02-01"), "from date missing: %s", html);
    cr_assert_not_null(strstr(html, ">200.00<"), "opening balance missing: %s", html);
    cr_assert_null(strstr(html, "INV-000002"), "INV-000002 is brought forward: %s", html);
    free(html);
}

Test(receivables_cli, holds_lists_customers_on_hold_with_their_reasons) {
    RUN("init", "--credit-control", "both");
    RUN("create", "Held by status");
    RUN("create", "Over the limit", "--credit-limit", "100.00");
    RUN("create", "Fine", "--credit-limit", "100.00");
    assert_holds_are("{}");
    RUN("status", "CUST-000001", "hold");
    RUN("invoice", "CUST-000002", "100.01", "--date", "2026-01-01", "--due", "2026-01-31");
    RUN("invoice", "CUST-000003", "100.00", "--date", "2026-01-01", "--due", "2026-03-31");
    assert_holds_are("{\"CUST-000001\":{\"ref\":\"CUST-000001\",\"name\":\"Held by status\","
                     "\"reasons\":[\"status\"]},\"CUST-000002\":{\"ref\":\"CUST-000002\","
                     "\"name\":\"Over the limit\",\"reasons\":[\"credit_limit\"]}}");
    json_t *j = RUN_JSON("--json", "credit-check", "--as-of", "2026-02-15");
    assert_json_is(j, "{\"placed\":1,\"released\":0,\"on_hold\":1}");
    json_decref(j);
    assert_holds_are("{\"CUST-000001\":{\"ref\":\"CUST-000001\",\"name\":\"Held by status\","
                     "\"reasons\":[\"status\"]},\"CUST-000002\":{\"ref\":\"CUST-000002\","
                     "\"name\":\"Over the limit\",\"reasons\":[\"credit_limit\",\"past_due\"]}}");
    RUN("pay", "CUST-000002", "100.01", "--auto", "--date", "2026-02-16");
    j = RUN_JSON("--json", "credit-check", "--as-of", "2026-04-01");
    assert_json_is(j, "{\"placed\":1,\"released\":1,\"on_hold\":1}");
    json_decref(j);
    assert_holds_are("{\"CUST-000001\":{\"ref\":\"CUST-000001\",\"name\":\"Held by status\","
                     "\"reasons\":[\"status\"]},\"CUST-000003\":{\"ref\":\"CUST-000003\","
                     "\"name\":\"Fine\",\"reasons\":[\"past_due\"]}}");
    /* The text form names them too. */
    char *text = run_ok_args(ARGS("holds"));
    cr_assert(strstr(text, "CUST-000001") && strstr(text, "CUST-000003"), "%s", text);
    cr_assert_null(strstr(text, "CUST-000002"), "%s", text);
    free(text);
}

/* init --credit-control with a setting that no longer checks a rule releases the holds of
 * that rule in the same transaction (actor credit-control): history shows the releases,
 * verify and check pass, rebuild reproduces the holds. A limit switched on again holds the
 * customer still above it. */
Test(receivables_cli, init_that_turns_credit_control_off_releases_its_holds) {
    RUN("init", "--credit-control", "both");
    RUN("create", "Over the limit", "--credit-limit", "100.00");
    RUN("create", "Fine");
    RUN("invoice", "CUST-000001", "150.00", "--date", "2026-01-01", "--due", "2026-01-31");
    RUN("invoice", "CUST-000002", "10.00", "--date", "2026-01-01", "--due", "2026-01-31");
    json_decref(RUN_JSON("--json", "credit-check", "--as-of", "2026-02-15"));
    assert_holds_are("{\"CUST-000001\":{\"ref\":\"CUST-000001\",\"name\":\"Over the limit\","
                     "\"reasons\":[\"credit_limit\",\"past_due\"]},\"CUST-000002\":{\"ref\":"
                     "\"CUST-000002\",\"name\":\"Fine\",\"reasons\":[\"past_due\"]}}");
    uint64_t before = cli_event_count();
    json_t *j = RUN_JSON("--json", "init", "--credit-control", "limit");
    /* the result names the settings' event (seq and version of the same event); the two
     * releases follow it */
    cr_assert_eq(cli_jint(j, "seq"), (long long)before + 1, "the ledger.configured");
    cr_assert_eq(cli_jint(j, "id"), 0);
    cr_assert_eq(cli_event_count(), before + 3, "settings and two releases");
    json_decref(j);
    assert_holds_are("{\"CUST-000001\":{\"ref\":\"CUST-000001\",\"name\":\"Over the limit\","
                     "\"reasons\":[\"credit_limit\"]}}");
    RUN("init", "--credit-control", "none");
    assert_holds_are("{}");
    cr_assert_eq(cli_event_count(), before + 5);

    char *h = run_ok_args(ARGS("history", "CUST-000001"));
    const char *off_past = strstr(h, "credit_hold.released  by credit-control  (credit control "
                                     "no longer checks past-due invoices)");
    const char *off_limit = strstr(h, "credit_hold.released  by credit-control  (credit control "
                                      "no longer checks the credit limit)");
    cr_assert(off_past && off_limit && off_past < off_limit, "%s", h);
    cr_assert(strstr(off_limit, "evidence: {\"balance\":\"150.00\",\"limit\":\"100.00\"}"), "%s", h);
    free(h);
    h = run_ok_args(ARGS("--json", "history", "CUST-000002"));
    cr_assert(strstr(h, "no longer checks past-due invoices"), "%s", h);
    free(h);
    RUN("verify");
    RUN("check");
    RUN("rebuild");
    RUN("check");
    assert_holds_are("{}");

    /* the limit checked again: the customer above it is held again, at once */
    RUN("init", "--credit-control", "limit");
    assert_holds_are("{\"CUST-000001\":{\"ref\":\"CUST-000001\",\"name\":\"Over the limit\","
                     "\"reasons\":[\"credit_limit\"]}}");
    RUN("verify");
    RUN("check");
}

Test(receivables_cli, admit_answers_by_the_on_hold_policy) {
    static const struct {
        const char *policy, *sales_order, *cash_sale;
    } table[] = {
        {"allow-nothing", "deny", "deny"},
        {"pending-orders", "pending", "deny"},
        {"cash-sales", "deny", "allow"},
        {"pending-orders-and-cash-sales", "pending", "allow"},
    };
    RUN("create", "Held");
    RUN("create", "Free");
    RUN("create", "Sleeper");
    RUN("status", "CUST-000001", "hold");
    RUN("status", "CUST-000003", "inactive");
    static const char *const keys[] = {"ref", "doc", "verdict", "reasons", NULL};
    for (size_t p = 0; p < 4; p++) {
        RUN("init", "--on-hold", table[p].policy);
        json_t *j = RUN_JSON("--json", "admit", "CUST-000001", "--doc", "sales-order");
        cli_assert_keys(j, keys, NULL, "admit");
        cr_assert_str_eq(cli_jstr(j, "ref"), "CUST-000001");
        cr_assert_str_eq(cli_jstr(j, "doc"), "sales-order");
        cr_assert_str_eq(cli_jstr(j, "verdict"), table[p].sales_order, "%s", table[p].policy);
        json_t *reasons = json_object_get(j, "reasons");
        cr_assert(json_is_array(reasons) && json_array_size(reasons) >= 1);
        cr_assert_str_eq(json_string_value(json_array_get(reasons, 0)), "status");
        json_decref(j);
        j = RUN_JSON("admit", "CUST-000001", "--doc", "cash-sale", "--json");
        cr_assert_str_eq(cli_jstr(j, "doc"), "cash-sale");
        cr_assert_str_eq(cli_jstr(j, "verdict"), table[p].cash_sale, "%s", table[p].policy);
        json_decref(j);
        j = RUN_JSON("--json", "admit", "CUST-000002", "--doc", "sales-order");
        assert_json_is(j, "{\"ref\":\"CUST-000002\",\"doc\":\"sales-order\",\"verdict\":\"allow\","
                          "\"reasons\":[]}");
        json_decref(j);
        j = RUN_JSON("--json", "admit", "CUST-000003", "--doc", "cash-sale");
        cr_assert_str_eq(cli_jstr(j, "verdict"), "deny");
        json_decref(j);
    }
}

Test(receivables_cli, jpy_and_bhd_customers_use_their_exponents) {
    RUN("create", "Yen", "--currency", "JPY");
    RUN("create", "Dinar", "--currency", "BHD");
    RUN("invoice", "CUST-000001", "1500", "--date", "2026-01-01");
    RUN("pay", "CUST-000001", "2000", "--date", "2026-01-02", "--auto");
    RUN("invoice", "CUST-000002", "1.234", "--date", "2026-01-01");
    RUN("credit-note", "CUST-000002", "0.005", "--date", "2026-01-01");
    json_t *j = RUN_JSON("--json", "balance", "CUST-000001");
    assert_json_is(j, "{\"ref\":\"CUST-000001\",\"currency\":\"JPY\",\"balance\":\"-500\"}");
    json_decref(j);
    j = RUN_JSON("--json", "balance", "CUST-000002");
    assert_json_is(j, "{\"ref\":\"CUST-000002\",\"currency\":\"BHD\",\"balance\":\"1.229\"}");
    json_decref(j);
    j = STATEMENT("--json", "statement", "CUST-000001", "--as-of", "2026-01-02");
    assert_json_is(j, "{\"ref\":\"CUST-000001\",\"currency\":\"JPY\",\"as_of\":\"2026-01-02\","
                      "\"lines\":[{\"date\":\"2026-01-02\",\"doc\":\"PAY-000001\",\"kind\":"
                      "\"payment\",\"amount\":\"-2000\",\"open\":\"-500\"}],\"total_open\":"
                      "\"-500\",\"aging\":{\"current\":\"-500\",\"1-30\":\"0\",\"31-60\":\"0\","
                      "\"61-90\":\"0\",\"90+\":\"0\"}}");
    json_decref(j);
    FAILS(2, NULL, "refund", "CUST-000001", "0.5", "--from", "PAY-000001");
    FAILS(2, NULL, "credit-note", "CUST-000002", "0.0001");
}

/* A limit of the engine is a rejection like a rule's (exit 1, one line naming it, nothing
 * written; docs/API.md maps FOLIO_ELIMIT to 1): one payment --auto allocates to at most
 * FOLIO_ALLOCATIONS_MAX (200) invoices. At the limit it is accepted. */
Test(receivables_cli, an_engine_limit_exceeded_exits_1_and_appends_nothing) {
    RUN("create", "Acme");
    FILE *f = fopen(cli_path("docs.csv"), "w");
    cr_assert_not_null(f);
    fprintf(f, "kind,customer,doc,date,due,amount\n");
    for (unsigned i = 1; i <= 201; i++)
        fprintf(f, "invoice,CUST-000001,L-%u,2026-01-01,2026-01-31,1.00\n", i);
    cr_assert_eq(fclose(f), 0);
    RUN("import", "documents", cli_path("docs.csv"));
    FAILS(1, "200 allocations", "pay", "CUST-000001", "201.00", "--auto", "--date", "2026-02-01");
    RUN("pay", "CUST-000001", "200.00", "--auto", "--date", "2026-02-01");
    json_t *b = RUN_JSON("--json", "balance", "CUST-000001");
    cr_assert_str_eq(cli_jstr(b, "balance"), "1.00");
    json_decref(b);
}
