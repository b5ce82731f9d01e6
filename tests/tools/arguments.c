/*
 * tests/tools/arguments.c - how commands read their arguments (SPEC section 7): every
 * error is one "folio: " line whatever the arguments hold, an argument that starts with
 * "--" and is no option of the command is a usage error (exit 2, "unknown option"), and a
 * value that really starts with "--" goes after the end-of-options marker "--".
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli_run.h"

TestSuite(arguments, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Run `args`: exit `code`, one "folio: " line on stderr that shows the newline of the
 * argument as the two characters \n, nothing on stdout. */
static void one_escaped_line(int code, const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cli_assert_error(&r, code);
    cr_assert(strstr(r.err, "\\n") != NULL, "the newline is not shown as \\n: '%s'", r.err);
    cli_result_free(&r);
}

Test(arguments, usage_errors_quoting_a_newline_stay_on_one_line) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    one_escaped_line(2, ARGS("list", "a\nb"));
    one_escaped_line(2, ARGS("bad\ncmd"));
    one_escaped_line(2, ARGS("--bad\nopt"));
    one_escaped_line(2, ARGS("statement", "CUST-000001", "--format", "a\nb"));
    one_escaped_line(2, ARGS("list", "--status", "x\ny"));
    one_escaped_line(2, ARGS("holds", "a\nb"));
    one_escaped_line(2, ARGS("verify", "--expect-version", "1\n2"));
    one_escaped_line(2, ARGS("show", "CUST-000001", "--at-seq", "1\n2"));
    one_escaped_line(2, ARGS("contact", "remove", "CUST-000001", "1\n2"));
}

Test(arguments, a_missing_file_named_with_a_newline_is_one_line) {
    one_escaped_line(3, ARGS("import", "customers", "no\nsuch.csv"));
    one_escaped_line(3, ARGS("restore", "no\nsuch.jsonl"));
    cr_assert(!cli_exists(cli_path("folio.db")), "a missing file created the ledger");
}

Test(arguments, restore_naming_a_ledger_path_with_a_newline_is_one_line) {
    json_decref(cli_json_ok("--json", "--db", "a\nb.db", "create", "Acme"));
    cli_write_file(cli_path("empty.jsonl"), "", 0);
    one_escaped_line(1, ARGS("--db", "a\nb.db", "restore", "empty.jsonl"));
}

/* ---- unknown options and the end-of-options marker ---- */

/* Run `args`: exit 2, one line saying "unknown option" and naming `opt`, no new event. */
static void unknown_option(const char *opt, const char *const *args) {
    uint64_t before = cli_exists(cli_path("folio.db")) ? cli_event_count() : 0;
    cli_fails_with(2, SAYS("unknown option", opt), args);
    if (before) cr_assert_eq(cli_event_count(), before, "a refused command appended events");
}

Test(arguments, an_unknown_option_is_never_taken_as_a_value) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    unknown_option("--urgent", ARGS("note", "CUST-000001", "--urgent"));
    unknown_option("--urgent", ARGS("note", "--urgent", "CUST-000001"));
    unknown_option("--force", ARGS("own", "CUST-000001", "--force"));
    unknown_option("--force", ARGS("status", "CUST-000001", "--force"));
    unknown_option("--now", ARGS("status", "CUST-000001", "active", "--now"));
    unknown_option("--force", ARGS("delete", "--force"));
    unknown_option("--force", ARGS("delete", "CUST-000001", "--force"));
    unknown_option("--force", ARGS("contact", "remove", "CUST-000001", "1", "--force"));
    unknown_option("--exact", ARGS("find", "--exact"));
    unknown_option("--exact", ARGS("find", "Acme", "--exact"));
    unknown_option("--cents", ARGS("balance", "CUST-000001", "--cents"));
    unknown_option("--json-lines", ARGS("history", "--json-lines"));
    unknown_option("--bogus", ARGS("show", "CUST-000001", "--bogus"));
    unknown_option("--bogus", ARGS("list", "--bogus"));
    unknown_option("--bogus", ARGS("deleted", "--bogus"));
    unknown_option("--bogus", ARGS("holds", "--bogus"));
    unknown_option("--bogus", ARGS("verify", "--bogus"));
    unknown_option("--bogus", ARGS("log", "--bogus"));
    unknown_option("--bogus", ARGS("export", "--bogus"));
    unknown_option("--bogus", ARGS("merge", "--bogus"));
    unknown_option("--bogus", ARGS("init", "--bogus"));
    unknown_option("--bogus", ARGS("credit-check", "--bogus"));
    unknown_option("--bogus", ARGS("invoice", "CUST-000001", "10", "--bogus"));
    unknown_option("--bogus", ARGS("update", "CUST-000001", "--bogus"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert(json_is_null(json_object_get(s, "owner")) ||
                  strcmp(cli_jstr(s, "owner"), "--force") != 0,
              "own took --force as the owner");
    json_decref(s);
}

Test(arguments, restore_does_not_read_a_file_named_like_an_option) {
    cli_write_file(cli_path("--bogus"), "", 0); /* an empty export: would restore 0 events */
    unknown_option("--bogus", ARGS("restore", "--bogus"));
    cr_assert(!cli_exists(cli_path("folio.db")), "restore --bogus created the ledger");
    cli_result r = cli("restore", "--", "--bogus"); /* what the user meant, if anything */
    cr_assert_eq(r.status, 0, "restore -- --bogus exited %d: %s", r.status, r.err);
    cli_result_free(&r);
}

Test(arguments, a_value_starting_with_dashes_goes_after_the_end_of_options) {
    json_decref(cli_json_ok("--json", "create", "--", "--Acme--"));
    json_t *f = cli_json_ok("--json", "find", "--", "--Acme--");
    cr_assert_str_eq(cli_jstr(f, "ref"), "CUST-000001");
    json_decref(f);
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "--", "--urgent"));
    json_decref(cli_json_ok("--json", "own", "--", "CUST-000001", "--force"));
    /* global options after "--" are operands too */
    cli_result r = cli("note", "CUST-000001", "--", "--json");
    cr_assert_eq(r.status, 0, "note -- --json exited %d: %s", r.status, r.err);
    cr_assert(r.out[0] != '{', "--json after -- was taken as the global option: %s", r.out);
    cli_result_free(&r);
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert_str_eq(cli_jstr(s, "owner"), "--force");
    cr_assert_str_eq(cli_jstr(s, "name"), "--Acme--");
    json_decref(s);
    json_t *h = cli_json_ok("--json", "history", "--", "CUST-000001");
    int urgent = 0, json_note = 0;
    for (size_t i = 0; i < json_array_size(h); i++) {
        json_t *text = json_object_get(json_object_get(json_array_get(h, i), "data"), "text");
        if (!json_is_string(text)) continue;
        urgent += strcmp(json_string_value(text), "--urgent") == 0;
        json_note += strcmp(json_string_value(text), "--json") == 0;
    }
    cr_assert_eq(urgent, 1, "the note --urgent was not written once");
    cr_assert_eq(json_note, 1, "the note --json was not written once");
    json_decref(h);
    /* an option after "--" is an operand, and too many operands are a usage error */
    cli_fails_with(2, SAYS("unexpected argument", "--all"), ARGS("list", "--", "--all"));
    cli_fails_with(2, SAYS("usage"), ARGS("note", "CUST-000001", "--", "a", "b"));
}

/* ---- safety options a command cannot honour are refused, never dropped ---- */

Test(arguments, credit_check_refuses_an_idempotency_key_and_an_expected_version) {
    cli_fails_with(2, SAYS("--idempotency-key", "several transactions"),
                   ARGS("credit-check", "--idempotency-key", "k1"));
    cr_assert(!cli_exists(cli_path("folio.db")), "a refused credit-check created the ledger");
    json_decref(cli_json_ok("--json", "init", "--credit-control", "past-due"));
    json_decref(cli_json_ok("--json", "create", "Late"));
    json_decref(cli_json_ok("--json", "invoice", "CUST-000001", "10", "--date", "2020-01-01",
                            "--due", "2020-01-31"));
    uint64_t before = cli_event_count();
    cli_fails_with(2, SAYS("--idempotency-key", "several transactions"),
                   ARGS("--idempotency-key", "k1", "credit-check", "--as-of", "2020-03-01"));
    cli_fails_with(2, SAYS("--expect-version", "many customers"),
                   ARGS("credit-check", "--as-of", "2020-03-01", "--expect-version", "3"));
    cr_assert_eq(cli_event_count(), before, "a refused credit-check wrote");
    json_t *j = cli_json_ok("--json", "credit-check", "--as-of", "2020-03-01");
    cr_assert_eq(cli_jint(j, "placed"), 1);
    json_decref(j);
}

Test(arguments, import_refuses_an_idempotency_key_and_an_expected_version) {
    const char *csv = "name\nAcme\n";
    cli_write_file(cli_path("c.csv"), csv, strlen(csv));
    cli_fails_with(2, SAYS("--idempotency-key", "re-run imports nothing twice"),
                   ARGS("--idempotency-key", "k1", "import", "customers", "c.csv"));
    cli_fails_with(2, SAYS("--expect-version", "many customers"),
                   ARGS("import", "customers", "c.csv", "--expect-version", "1"));
    cli_fails_with(2, SAYS("--idempotency-key"),
                   ARGS("import", "customers", "c.csv", "--dry-run", "--idempotency-key", "k"));
    cr_assert(!cli_exists(cli_path("folio.db")), "a refused import created the ledger");
}

/* An option given twice is a usage error, not the last one winning: 'merge --keep A
 * --delete B --delete C' merged C and left B, exit 0. --apply alone is a list. */
static void given_twice(const char *opt, const char *const *args) {
    uint64_t before = cli_event_count();
    cli_fails_with(2, SAYS(opt, "more than once"), args);
    cr_assert_eq(cli_event_count(), before, "a refused command appended events");
}

Test(arguments, an_option_given_twice_is_refused_and_only_apply_repeats) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    json_decref(cli_json_ok("--json", "create", "Beta"));
    json_decref(cli_json_ok("--json", "create", "Gamma"));
    given_twice("--delete", ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000002",
                                 "--delete", "CUST-000003"));
    given_twice("--doc", ARGS("invoice", "CUST-000001", "10", "--doc", "X", "--doc=Y"));
    given_twice("--billing-city", ARGS("update", "CUST-000001", "--billing-city", "Leeds",
                                       "--billing-street", "1 Main", "--billing-city", "York"));
    given_twice("--db", ARGS("--db", "folio.db", "show", "CUST-000001", "--db", "other.db"));
    given_twice("--reason", ARGS("--reason", "a", "note", "CUST-000001", "hi", "--reason", "b"));
    given_twice("--name", ARGS("list", "--name", "A*", "--name", "B*"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000002");
    cr_assert_str_eq(cli_jstr(s, "status"), "prospect", "B was not merged away");
    json_decref(s);
    /* --apply is a list: two invoices paid by one payment */
    json_decref(cli_json_ok("--json", "invoice", "CUST-000001", "10", "--doc", "I1"));
    json_decref(cli_json_ok("--json", "invoice", "CUST-000001", "5", "--doc", "I2"));
    json_decref(cli_json_ok("--json", "pay", "CUST-000001", "15", "--apply", "I1", "--apply",
                            "I2"));
    json_t *b = cli_json_ok("--json", "balance", "CUST-000001");
    cr_assert_str_eq(cli_jstr(b, "balance"), "0.00");
    json_decref(b);
    /* export reads --from twice on purpose (export checks, log runs): one --from is fine */
    cli_result r = cli("export", "--from", "2");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
}

/* restore and rebuild cannot honour a key or an expected version either: refused, not
 * dropped (exit 2, nothing written, no ledger created). */
Test(arguments, restore_and_rebuild_refuse_an_idempotency_key_and_an_expected_version) {
    cli_fails_with(2, SAYS("restore takes no --idempotency-key"),
                   ARGS("--db", "new.db", "--idempotency-key", "k", "restore", "e.jsonl"));
    cli_fails_with(2, SAYS("restore takes no"),
                   ARGS("--db", "new.db", "--expect-version", "4", "restore", "e.jsonl"));
    cr_assert(!cli_exists(cli_path("new.db")), "a refused restore created the ledger");
    json_decref(cli_json_ok("--json", "create", "Acme"));
    uint64_t before = cli_event_count();
    cli_fails_with(2, SAYS("rebuild takes no"), ARGS("--idempotency-key", "k", "rebuild"));
    cli_fails_with(2, SAYS("rebuild takes no"), ARGS("rebuild", "--expect-version", "2"));
    cr_assert_eq(cli_event_count(), before);
}

/* A flag given twice is refused like an option with a value given twice (it was taken as
 * the flag): exit 2, one line naming it, nothing written, no ledger created. */
Test(arguments, a_flag_given_twice_is_refused) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    json_decref(cli_json_ok("--json", "invoice", "CUST-000001", "10", "--doc", "I1"));
    json_decref(cli_json_ok("--json", "pay", "CUST-000001", "4", "--doc", "P1"));
    given_twice("--all", ARGS("list", "--all", "--all"));
    given_twice("--json", ARGS("--json", "list", "--json"));
    given_twice("--json", ARGS("--json", "--json", "create", "Beta"));
    given_twice("--auto", ARGS("pay", "CUST-000001", "5", "--auto", "--auto"));
    given_twice("--auto", ARGS("allocate", "CUST-000001", "--from", "P1", "--auto", "--auto"));
    given_twice("--follow", ARGS("log", "--follow", "--follow"));
    cli_write_file(cli_path("c.csv"), "name\nGamma\n", strlen("name\nGamma\n"));
    given_twice("--dry-run", ARGS("import", "customers", "c.csv", "--dry-run", "--dry-run"));
    cli_fails_with(2, SAYS("--dry-run", "more than once"),
                   ARGS("--db", "new.db", "import", "customers", "c.csv", "--dry-run",
                        "--dry-run"));
    cr_assert(!cli_exists(cli_path("new.db")), "a refused import created the ledger");
    /* once each is fine; after "--" a flag's name is an operand */
    json_decref(cli_json_ok("--json", "list", "--all"));
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "--", "--json"));
}

/* 'folio COMMAND --help' (or -h), as its only argument, prints that command's usage on stdout
 * and exits 0, writing nothing; it said "unknown option '--help'", exit 2. Anywhere else
 * they keep their meaning: -h a value, --help an unknown option (exit 2, nothing written). */
static void helps(const char *command, const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cr_assert_eq(r.status, 0, "%s --help: exit %d, stderr '%s'", command, r.status, r.err);
    cr_assert_eq(r.err_len, 0, "%s --help wrote to stderr: '%s'", command, r.err);
    cr_assert_not_null(strstr(r.out, "usage: folio"), "no usage: '%s'", r.out);
    char line[64];
    snprintf(line, sizeof line, "\n  %s ", command);
    cr_assert_not_null(strstr(r.out, line), "no line for %s: '%s'", command, r.out);
    cr_assert_eq(cli_count_lines(r.out), 4, "not just %s's usage: '%s'", command, r.out);
    cli_result_free(&r);
}

Test(arguments, command_help_prints_its_usage) {
    helps("list", ARGS("list", "--help"));
    helps("create", ARGS("create", "-h"));
    helps("import", ARGS("import", "--help"));
    helps("note", ARGS("--json", "note", "--help"));
    helps("credit-check", ARGS("credit-check", "--help"));
    cr_assert(!cli_exists(cli_path("folio.db")), "help created a ledger");
    json_t *l = NULL;
    cli_result r = cli("list", "--help");
    cr_assert_not_null(strstr(r.out, "[--status S[,S]] [--name PATTERN] [--all]"), "%s", r.out);
    cli_result_free(&r);
    /* after "--", --help is an operand: a note that says --help */
    json_decref(cli_json_ok("--json", "create", "Acme"));
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "--", "--help"));
    l = cli_json_ok("--json", "history", "CUST-000001");
    json_t *last = json_array_get(l, json_array_size(l) - 1);
    cr_assert_str_eq(cli_jstr(json_object_get(last, "data"), "text"), "--help");
    json_decref(l);
    /* among other arguments -h and --help keep their meaning (a value; an option's value or
     * an unknown option): never a help that exits 0 having written nothing */
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "-h"));
    l = cli_json_ok("--json", "history", "CUST-000001");
    last = json_array_get(l, json_array_size(l) - 1);
    cr_assert_str_eq(cli_jstr(json_object_get(last, "data"), "text"), "-h");
    json_decref(l);
    uint64_t events = cli_event_count();
    r = cli("update", "CUST-000001", "--name", "--help");
    cr_assert_eq(r.status, 0, "exit %d, stderr '%s'", r.status, r.err);
    cr_assert_null(strstr(r.out, "usage:"), "%s", r.out);
    cli_result_free(&r);
    cr_assert_eq(cli_event_count(), events + 1, "--name --help wrote nothing");
    cli_fails_with(2, SAYS("--help"), ARGS("note", "CUST-000001", "x", "--help"));
    cr_assert_eq(cli_event_count(), events + 1, "a refused --help wrote");
    /* folio --help is the whole usage, as before */
    r = cli("--help");
    cr_assert_eq(r.status, 0);
    cr_assert_gt(cli_count_lines(r.out), 30, "%s", r.out);
    cli_result_free(&r);
}

/* The engine's messages (printed by cli_fail) quote what was given too, and stay one line:
 * a ref that is not found, a document number and a ref that are malformed. */
Test(arguments, engine_errors_quoting_a_newline_stay_on_one_line) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    one_escaped_line(3, ARGS("show", "NO\nSUCH"));
    one_escaped_line(2, ARGS("invoice", "CUST-000001", "1.00", "--doc", "A\nB"));
    one_escaped_line(2, ARGS("create", "Beta", "--ref", "R\nF"));
}

/* An empty customer ref or document number is malformed input (exit 2), not "no customer "
 * (exit 3), on every command that takes one; nothing is written. */
Test(arguments, an_empty_ref_or_document_number_is_malformed_input) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    json_decref(cli_json_ok("--json", "invoice", "CUST-000001", "10.00", "--doc", "I1"));
    json_decref(cli_json_ok("--json", "pay", "CUST-000001", "5.00", "--doc", "P1"));
    uint64_t before = cli_event_count();
    const char *const *cases[] = {
        ARGS("show", ""),
        ARGS("balance", ""),
        ARGS("statement", ""),
        ARGS("history", ""),
        ARGS("admit", "", "--doc", "sales-order"),
        ARGS("note", "", "x"),
        ARGS("allocate", "CUST-000001", "--from", "", "--to", "I1"),
        ARGS("allocate", "CUST-000001", "--from", "P1", "--to", ""),
        ARGS("refund", "CUST-000001", "1.00", "--from", ""),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_result r = cli_run_env(NULL, NULL, cases[i]);
        cli_assert_error(&r, 2);
        cli_result_free(&r);
    }
    cr_assert_eq(cli_event_count(), before);
}
