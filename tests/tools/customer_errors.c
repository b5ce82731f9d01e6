/*
 * tests/tools/customer_errors.c - how the customer-master commands refuse: exit codes (1 a
 * rule or conflict, 2 usage or malformed input, 3 not found) and the one "folio: " line that
 * names the rule (SPEC sections 3 and 7). A refused write appends nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"

TestSuite(customer_errors, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void create(const char *name) {
    json_decref(cli_json_ok("--json", "create", name));
}

/* Run `args`, expect exit `code` with `needles` in the error, and no new event. */
static void refused(int code, const char *const *needles, const char *const *args) {
    uint64_t before = cli_event_count();
    cli_fails_with(code, needles, args);
    cr_assert_eq(cli_event_count(), before, "a refused command appended events");
}

/* ---- rule 1 and rule 2: names ---- */

Test(customer_errors, a_blank_name_is_refused_by_rule_1) {
    create("Seed");
    refused(1, SAYS("rule 1"), ARGS("create", ""));
    refused(1, SAYS("rule 1"), ARGS("create", "   "));
    refused(1, SAYS("rule 1"), ARGS("update", "CUST-000001", "--name", " "));
}

Test(customer_errors, a_name_over_200_bytes_is_refused_by_rule_1) {
    char name[202];
    memset(name, 'a', 201);
    name[201] = '\0';
    create("Seed");
    refused(1, SAYS("rule 1", "201"), ARGS("create", name));
    name[200] = '\0'; /* 200 bytes is allowed */
    json_t *w = cli_json_ok("--json", "create", name);
    json_t *s = cli_json_ok("--json", "show", cli_jstr(w, "ref"));
    cr_assert_str_eq(cli_jstr(s, "name"), name);
    json_decref(s);
    json_decref(w);
}

Test(customer_errors, a_duplicate_name_is_refused_by_rule_2_naming_the_holder) {
    create("Acme Ltd");
    refused(1, SAYS("rule 2", "Acme Ltd", "CUST-000001"), ARGS("create", "Acme Ltd"));
    /* names are trimmed before they are compared */
    refused(1, SAYS("rule 2"), ARGS("create", "  Acme Ltd  "));
    refused(1, SAYS("rule 2"), ARGS("--json", "create", "Acme Ltd"));
}

Test(customer_errors, renaming_onto_a_used_name_is_refused_by_rule_2) {
    create("Acme Ltd");
    create("Beta Ltd");
    refused(1, SAYS("rule 2", "Acme Ltd"), ARGS("update", "CUST-000002", "--name", "Acme Ltd"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000002");
    cr_assert_str_eq(cli_jstr(s, "name"), "Beta Ltd");
    json_decref(s);
}

Test(customer_errors, names_differing_in_case_spacing_or_punctuation_are_distinct) {
    create("Acme Ltd");
    create("acme ltd");
    create("Acme  Ltd");
    create("Acme Ltd.");
    json_t *l = cli_json_ok("--json", "list");
    cr_assert_eq(json_array_size(l), 4);
    json_decref(l);
}

/* ---- rule 3: currency ---- */

Test(customer_errors, update_currency_is_refused_naming_the_current_currency) {
    create("Acme Ltd");
    json_decref(cli_json_ok("--json", "create", "Euro Co", "--currency", "EUR"));
    refused(1, SAYS("is USD", "CUST-000001"), ARGS("update", "CUST-000001", "--currency", "EUR"));
    refused(1, SAYS("is EUR", "CUST-000002"), ARGS("update", "CUST-000002", "--currency", "USD"));
    /* always rejected, even when it names the currency the customer already has */
    refused(1, SAYS("is USD"), ARGS("update", "CUST-000001", "--currency", "USD"));
    /* and together with a good change, the good change does not happen either */
    refused(1, SAYS("is USD"),
            ARGS("update", "CUST-000001", "--name", "Renamed", "--currency", "GBP"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert_str_eq(cli_jstr(s, "currency"), "USD");
    cr_assert_str_eq(cli_jstr(s, "name"), "Acme Ltd");
    json_decref(s);
}

Test(customer_errors, an_unknown_currency_is_malformed_input) {
    create("Seed");
    refused(2, SAYS("XYZ"), ARGS("create", "X Co", "--currency", "XYZ"));
}

/* ---- rule 4: status changes ---- */

static const char *const STATUSES[] = {"prospect", "active", "hold", "inactive", "deleted"};

static int allowed(const char *from, const char *to) {
    static const char *const ok[][2] = {
        {"prospect", "active"}, {"prospect", "hold"},   {"prospect", "inactive"},
        {"prospect", "deleted"}, {"active", "hold"},    {"active", "inactive"},
        {"active", "deleted"},  {"hold", "active"},     {"hold", "inactive"},
        {"inactive", "active"}, {"inactive", "deleted"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(ok[i][0], from) == 0 && strcmp(ok[i][1], to) == 0) return 1;
    return 0;
}

Test(customer_errors, every_status_change_follows_rule_4) {
    int n = 0;
    for (int f = 0; f < 4; f++) {
        for (int t = 0; t < 5; t++) {
            if (f == t) continue;
            const char *from = STATUSES[f], *to = STATUSES[t];
            char name[64];
            snprintf(name, sizeof name, "%s to %s", from, to);
            json_t *w = cli_json_ok("--json", "create", name);
            char ref[64];
            snprintf(ref, sizeof ref, "%s", cli_jstr(w, "ref"));
            json_decref(w);
            if (f != 0) json_decref(cli_json_ok("--json", "status", ref, from));
            cli_result r = cli("--json", "status", ref, to);
            if (allowed(from, to)) {
                cr_assert_eq(r.status, 0, "%s -> %s refused: %s", from, to, r.err);
                json_t *s = json_loads(r.out, 0, NULL);
                cr_assert_not_null(s, "%s", r.out);
                cr_assert_null(json_object_get(s, "unchanged"), "%s -> %s", from, to);
                json_decref(s);
            } else {
                cli_assert_error_says(&r, 1, SAYS("rule 4", from, to));
            }
            cli_result_free(&r);
            n++;
        }
    }
    cr_assert_eq(n, 16);
}

Test(customer_errors, a_new_customer_starts_as_prospect_or_active_only) {
    create("Seed");
    json_t *w = cli_json_ok("--json", "create", "Live Co", "--status", "active");
    json_t *s = cli_json_ok("--json", "show", cli_jstr(w, "ref"));
    cr_assert_str_eq(cli_jstr(s, "status"), "active");
    json_decref(s);
    json_decref(w);
    uint64_t before = cli_event_count();
    cli_result r = cli("create", "Held Co", "--status", "hold");
    cr_assert_neq(r.status, 0);
    cli_assert_one_error_line(&r);
    cli_result_free(&r);
    cr_assert_eq(cli_event_count(), before);
}

/* SPEC section 3: each rule rejection exits 1. `create --status hold` names rule 4 in its
 * message ("a new customer starts as prospect or active, not 'hold' (rule 4)") but exits 2.
 * Either it is a rule rejection (exit 1) or malformed input (exit 2, no rule named). */
Test(customer_errors, create_with_a_later_status_is_a_rule_4_rejection_exit_1) {
    create("Seed");
    refused(1, SAYS("rule 4"), ARGS("create", "Held Co", "--status", "hold"));
    refused(1, SAYS("rule 4"), ARGS("create", "Gone Co", "--status", "inactive"));
}

Test(customer_errors, a_bad_status_word_is_a_usage_error) {
    create("Acme Ltd");
    refused(2, SAYS("bogus"), ARGS("status", "CUST-000001", "bogus"));
    refused(2, SAYS("Active"), ARGS("status", "CUST-000001", "Active"));
    refused(2, SAYS("bogus"), ARGS("create", "X", "--status", "bogus"));
    refused(2, SAYS("status"), ARGS("status", "CUST-000001"));
}

/* ---- rule 5 and rule 7: delete, and what a deleted customer still allows ---- */

Test(customer_errors, delete_of_a_customer_with_documents_points_to_merge) {
    cli_demo(); /* CUST-000001 "Acme Trading Ltd" with an invoice and a payment */
    json_t *before = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert_gt(cli_jint(before, "documents"), 0);
    refused(1, SAYS("merge", "rule 5", "CUST-000001"), ARGS("delete", "CUST-000001"));
    refused(1, SAYS("merge", "rule 5"), ARGS("status", "CUST-000001", "deleted"));
    json_t *after = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert(json_equal(after, before), "a refused delete changed the card");
    json_decref(after);
    json_decref(before);
}

Test(customer_errors, reads_of_a_deleted_customer_exit_3_saying_deleted) {
    create("Gone Ltd");
    create("Other Ltd");
    json_decref(cli_json_ok("--json", "delete", "CUST-000001"));
    cli_fails_with(3, SAYS("deleted", "CUST-000001"), ARGS("show", "CUST-000001"));
    cli_fails_with(3, SAYS("deleted"), ARGS("--json", "show", "CUST-000001"));
    cli_fails_with(3, SAYS("deleted", "CUST-000001"), ARGS("balance", "CUST-000001"));
    cli_fails_with(3, SAYS("deleted", "CUST-000001"), ARGS("statement", "CUST-000001"));
    json_t *l = cli_json_ok("--json", "list", "--all");
    cr_assert_eq(json_array_size(l), 1);
    cr_assert_str_eq(cli_jstr(json_array_get(l, 0), "ref"), "CUST-000002");
    json_decref(l);
    /* history still works */
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    cr_assert_gt(json_array_size(h), 0);
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    json_t *st = json_object_get(json_object_get(last, "changes"), "status");
    cr_assert_str_eq(json_string_value(json_array_get(st, 1)), "deleted");
    json_decref(h);
    cli_result r = cli("history", "CUST-000001");
    cr_assert_eq(r.status, 0, "text history of a deleted customer: %d %s", r.status, r.err);
    cr_assert_not_null(strstr(r.out, "deleted"));
    cli_result_free(&r);
}

Test(customer_errors, reads_of_a_merged_customer_say_merged_into_the_keeper) {
    create("Keep Ltd");
    create("Dup Ltd");
    json_decref(cli_json_ok("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
    cli_fails_with(3, SAYS("deleted", "merged into CUST-000001"), ARGS("show", "CUST-000002"));
    cli_fails_with(3, SAYS("merged into CUST-000001"), ARGS("--json", "balance", "CUST-000002"));
    cli_fails_with(3, SAYS("merged into CUST-000001"), ARGS("statement", "CUST-000002"));
    json_t *h = cli_json_ok("--json", "history", "CUST-000002");
    size_t i;
    json_t *it;
    int merged_into = 0;
    json_array_foreach(h, i, it) {
        if (strcmp(cli_jstr(it, "type"), "customer.merged_into") == 0) merged_into = 1;
    }
    cr_assert(merged_into, "history of the merged customer lacks customer.merged_into");
    json_decref(h);
}

/* SPEC rule 7: find is one of the reads that "exit 3 with a message that says it was
 * deleted (and 'merged into REF')": a name that only a deleted or merged-away customer had
 * is answered with that, not with "no customer is named ...". */
Test(customer_errors, find_of_a_deleted_customers_name_says_deleted) {
    create("Gone Ltd");
    create("Keep Ltd");
    create("Dup Ltd");
    json_decref(cli_json_ok("--json", "delete", "CUST-000001"));
    json_decref(cli_json_ok("--json", "merge", "--keep", "CUST-000002", "--delete", "CUST-000003"));
    cli_fails_with(3, SAYS("deleted"), ARGS("find", "Gone Ltd"));
    cli_fails_with(3, SAYS("deleted", "merged into CUST-000002"), ARGS("find", "Dup Ltd"));
}

Test(customer_errors, find_of_a_deleted_customers_name_exits_3) {
    create("Gone Ltd");
    json_decref(cli_json_ok("--json", "delete", "CUST-000001"));
    cli_fails_with(3, SAYS("Gone Ltd"), ARGS("find", "Gone Ltd"));
}

Test(customer_errors, writes_to_a_deleted_customer_exit_1) {
    create("Gone Ltd");
    create("Other Ltd");
    json_decref(cli_json_ok("--json", "contact", "add", "CUST-000001", "--name", "Jo"));
    json_decref(cli_json_ok("--json", "delete", "CUST-000001"));
    const char *const *writes[] = {
        ARGS("note", "CUST-000001", "hello"),
        ARGS("update", "CUST-000001", "--name", "Back"),
        ARGS("update", "CUST-000001", "--currency", "EUR"),
        ARGS("own", "CUST-000001", "bob"),
        ARGS("contact", "add", "CUST-000001", "--name", "Al"),
        ARGS("contact", "remove", "CUST-000001", "1"),
        ARGS("status", "CUST-000001", "active"),
        ARGS("status", "CUST-000001", "deleted"),
        ARGS("delete", "CUST-000001"),
        ARGS("merge", "--keep", "CUST-000002", "--delete", "CUST-000001"),
        ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000002"),
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        refused(1, SAYS("CUST-000001", "deleted"), writes[i]);
}

Test(customer_errors, writes_to_a_merged_customer_exit_1_naming_the_keeper) {
    create("Keep Ltd");
    create("Dup Ltd");
    json_decref(cli_json_ok("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
    refused(1, SAYS("merged into CUST-000001"), ARGS("note", "CUST-000002", "x"));
    refused(1, SAYS("merged into CUST-000001"), ARGS("status", "CUST-000002", "active"));
    refused(1, SAYS("merged into CUST-000001"),
            ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
}

/* ---- not found ---- */

Test(customer_errors, an_unknown_customer_is_not_found) {
    create("Acme Ltd");
    const char *const *cmds[] = {
        ARGS("show", "CUST-000099"),
        ARGS("history", "CUST-000099"),
        ARGS("note", "CUST-000099", "x"),
        ARGS("update", "CUST-000099", "--name", "Y"),
        ARGS("status", "CUST-000099", "active"),
        ARGS("delete", "CUST-000099"),
        ARGS("own", "CUST-000099", "bob"),
        ARGS("contact", "add", "CUST-000099", "--name", "Jo"),
        ARGS("contact", "remove", "CUST-000099", "1"),
        ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000099"),
        ARGS("merge", "--keep", "CUST-000099", "--delete", "CUST-000001"),
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        refused(3, SAYS("CUST-000099"), cmds[i]);
    /* refs are exact: not case-folded */
    refused(3, SAYS("cust-000001"), ARGS("show", "cust-000001"));
}

Test(customer_errors, an_unknown_contact_is_not_found) {
    create("Acme Ltd");
    refused(3, SAYS("7"), ARGS("contact", "remove", "CUST-000001", "7"));
    json_decref(cli_json_ok("--json", "contact", "add", "CUST-000001", "--name", "Jo"));
    json_decref(cli_json_ok("--json", "contact", "remove", "CUST-000001", "1"));
    refused(3, SAYS("1"), ARGS("contact", "remove", "CUST-000001", "1"));
}

Test(customer_errors, show_at_a_seq_before_the_customer_existed_is_not_found) {
    create("Acme Ltd"); /* seqs 1-3: the ledger's settings, created, currency_set */
    create("Beta");     /* seqs 4-5 */
    cli_fails_with(3, SAYS("CUST-000002", "seq 3"), ARGS("show", "CUST-000002", "--at-seq", "3"));
}

/* ---- malformed input ---- */

Test(customer_errors, a_bad_amount_is_malformed_input) {
    create("Acme Ltd");
    refused(2, SAYS("credit limit"), ARGS("create", "X", "--credit-limit", "12.345"));
    refused(2, SAYS("credit limit"), ARGS("update", "CUST-000001", "--credit-limit", "12.345"));
    refused(2, SAYS("credit limit"), ARGS("create", "X", "--credit-limit", "abc"));
    refused(2, SAYS("credit limit"), ARGS("create", "X", "--credit-limit", "1e3"));
    refused(2, SAYS("credit limit"), ARGS("create", "X", "--credit-limit", "12."));
    refused(2, SAYS("negative"), ARGS("create", "X", "--credit-limit", "-5"));
    refused(2, SAYS("credit limit"),
            ARGS("create", "X", "--credit-limit", "99999999999999999999999"));
    refused(2, SAYS("credit limit"),
            ARGS("create", "X", "--currency", "JPY", "--credit-limit", "1.5"));
}

/* The amount error names the amount once (before 8fd0e46 it came out garbled:
 * "credit limit: credit limit: ' has more than 2 decimal places for USD"). */
Test(customer_errors, a_bad_amount_error_names_the_amount_once) {
    create("Acme Ltd");
    cli_result r = cli("create", "X", "--credit-limit", "12.345");
    cli_assert_error_says(&r, 2, SAYS("'12.345'", "2 decimal places", "USD"));
    cr_assert_null(strstr(strstr(r.err, "credit limit") + 1, "credit limit"),
                   "said twice: %s", r.err);
    cli_result_free(&r);
    r = cli("update", "CUST-000001", "--credit-limit", "abc");
    cli_assert_error_says(&r, 2, SAYS("'abc'", "not a decimal number"));
    cli_result_free(&r);
}

/* An over-long optional field is named in the error (before 8fd0e46 the message was lost:
 * "folio: invalid argument"). */
Test(customer_errors, an_over_long_field_is_named_in_the_error) {
    char big[202];
    memset(big, 'a', 201);
    big[201] = '\0';
    create("Acme Ltd");
    refused(2, SAYS("external id", "200"), ARGS("create", "X", "--external-id", big));
    refused(2, SAYS("owner", "200"), ARGS("own", "CUST-000001", big));
    refused(2, SAYS("email", "200"),
            ARGS("contact", "add", "CUST-000001", "--name", "Jo", "--email", big));
}

/* An actor, reason or idempotency key with a control character could forge lines of the
 * history an auditor reads ("alice" LF "  seq 5 ..."): refused as malformed input (exit 2),
 * one line naming the option's field, nothing written; FOLIO_ACTOR likewise. */
Test(customer_errors, a_control_character_in_actor_reason_or_key_is_refused) {
    create("Acme Ltd");
    const char *forged = "alice\n  seq 5  v9  customer.status_changed  by bob";
    refused(2, SAYS("actor", "control character"), ARGS("--actor", forged, "note", "CUST-000001", "x"));
    refused(2, SAYS("reason", "control character"),
            ARGS("note", "CUST-000001", "x", "--reason", "ok\r\x1b" "[2K"));
    refused(2, SAYS("idempotency key", "control character"),
            ARGS("note", "CUST-000001", "x", "--idempotency-key", "k\t1"));
    refused(2, SAYS("actor", "control character"),
            ARGS("--actor", "a\xc2\x85" "b", "create", "Other"));
    uint64_t before = cli_event_count();
    cli_result r = cli_env(ENV("FOLIO_ACTOR=bob\x7f"), "note", "CUST-000001", "x");
    cli_assert_error_says(&r, 2, SAYS("actor", "control character"));
    cli_result_free(&r);
    cr_assert_eq(cli_event_count(), before);
    json_decref(cli_json_ok("--json", "--actor", "Ren\xc3\xa9" "e", "note", "CUST-000001", "x"));
}

Test(customer_errors, an_over_long_field_is_malformed_input) {
    char big[202];
    memset(big, 'a', 201);
    big[201] = '\0';
    create("Acme Ltd");
    refused(2, NULL, ARGS("create", "X", "--external-id", big));
    refused(2, NULL, ARGS("update", "CUST-000001", "--billing-city", big));
    refused(2, NULL, ARGS("own", "CUST-000001", big));
}

Test(customer_errors, bad_words_are_malformed_input) {
    create("Acme Ltd");
    refused(2, SAYS("alien"), ARGS("create", "X", "--type", "alien"));
    refused(2, SAYS("alien"), ARGS("update", "CUST-000001", "--type", "alien"));
    refused(2, SAYS("bad ref"), ARGS("create", "X", "--ref", "bad ref"));
    refused(2, SAYS("abc"), ARGS("contact", "remove", "CUST-000001", "abc"));
    refused(2, SAYS("bogus"), ARGS("init", "--credit-control", "bogus"));
    refused(2, SAYS("bogus"), ARGS("init", "--on-hold", "bogus"));
}

Test(customer_errors, unknown_options_are_usage_errors) {
    create("Acme Ltd");
    const char *const *cmds[] = {
        ARGS("create", "X", "--bogus", "1"),
        ARGS("update", "CUST-000001", "--bogus", "1"),
        ARGS("contact", "add", "CUST-000001", "--name", "Jo", "--bogus", "1"),
        ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000002", "--bogus"),
        ARGS("init", "--bogus"),
        ARGS("show", "CUST-000001", "--bogus"),
        ARGS("list", "--bogus"),
        ARGS("deleted", "--bogus"),
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        refused(2, SAYS("--bogus"), cmds[i]);
}

Test(customer_errors, missing_or_extra_arguments_are_usage_errors) {
    create("Acme Ltd");
    const char *const *cmds[] = {
        ARGS("create"),
        ARGS("create", "A", "B"),
        ARGS("update"),
        ARGS("status", "CUST-000001"),
        ARGS("status", "CUST-000001", "active", "extra"),
        ARGS("delete"),
        ARGS("own", "CUST-000001"),
        ARGS("note", "CUST-000001"),
        ARGS("contact"),
        ARGS("contact", "add", "CUST-000001"),
        ARGS("contact", "remove", "CUST-000001"),
        ARGS("merge", "--keep", "CUST-000001"),
        ARGS("show"),
        ARGS("show", "CUST-000001", "--at-seq", "0"),
        ARGS("show", "CUST-000001", "--at-seq", "x"),
        ARGS("find"),
        ARGS("history"),
        ARGS("history", "CUST-000001", "extra"),
        ARGS("create", "X", "--owner"),
        ARGS("merge", "--keep", "CUST-000001", "--delete", "X", "--expect-delete-version", "x"),
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) refused(2, NULL, cmds[i]);
}

Test(customer_errors, text_and_json_errors_are_the_same_line) {
    create("Acme Ltd");
    cli_result a = cli("create", "Acme Ltd");
    cli_result b = cli("--json", "create", "Acme Ltd");
    cli_assert_error(&a, 1);
    cli_assert_error(&b, 1);
    cr_assert_str_eq(a.err, b.err);
    cli_result_free(&a);
    cli_result_free(&b);
}
