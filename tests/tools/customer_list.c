/*
 * tests/tools/customer_list.c - list (inactive hidden unless asked, deleted never; --status,
 * --name wildcards) and find (exact match after trimming) (SPEC section 7), and the read
 * commands on a ledger that does not exist.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"

TestSuite(customer_list, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void ok(const char *const *args) {
    json_decref(cli_json_ok_args(args));
}

/* 1 Prospect Co (prospect), 2 Active Co (active), 3 Held Co (hold), 4 Idle Co (inactive),
 * 5 Gone Co (deleted), 6 Merged Co (merged into 2). */
static void one_of_each(void) {
    ok(ARGS("--json", "create", "Prospect Co"));
    ok(ARGS("--json", "create", "Active Co", "--status", "active"));
    ok(ARGS("--json", "create", "Held Co"));
    ok(ARGS("--json", "status", "CUST-000003", "hold"));
    ok(ARGS("--json", "create", "Idle Co"));
    ok(ARGS("--json", "status", "CUST-000004", "inactive"));
    ok(ARGS("--json", "create", "Gone Co"));
    ok(ARGS("--json", "delete", "CUST-000005"));
    ok(ARGS("--json", "create", "Merged Co"));
    ok(ARGS("--json", "merge", "--keep", "CUST-000002", "--delete", "CUST-000006"));
}

static int by_text(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* The refs `list ARGS...` prints, sorted, joined by spaces. */
static void list_refs(char *out, size_t cap, const char *const *args) {
    json_t *l = cli_json_ok_args(args);
    cr_assert(json_is_array(l));
    char refs[16][32];
    size_t n = json_array_size(l);
    cr_assert_leq(n, 16);
    for (size_t i = 0; i < n; i++)
        snprintf(refs[i], sizeof refs[i], "%s", cli_jstr(json_array_get(l, i), "ref"));
    qsort(refs, n, sizeof refs[0], by_text);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, refs[i] + strlen("CUST-00000"), cap - strlen(out) - 1);
        if (i + 1 < n) strncat(out, " ", cap - strlen(out) - 1);
    }
    json_decref(l);
}

static void list_is(const char *want, const char *const *args) {
    char got[256];
    list_refs(got, sizeof got, args);
    cr_assert_str_eq(got, want, "list %s%s%s: got customers [%s], expected [%s]",
                     args[2] ? args[2] : "", args[2] && args[3] ? " " : "",
                     args[2] && args[3] ? args[3] : "", got, want);
}

Test(customer_list, list_hides_inactive_and_never_shows_deleted) {
    one_of_each();
    list_is("1 2 3", ARGS("--json", "list"));
    list_is("1 2 3 4", ARGS("--json", "list", "--all"));
    list_is("4", ARGS("--json", "list", "--status", "inactive"));
    list_is("1", ARGS("--json", "list", "--status", "prospect"));
    list_is("2", ARGS("--json", "list", "--status", "active"));
    list_is("3", ARGS("--json", "list", "--status", "hold"));
    list_is("2 3", ARGS("--json", "list", "--status", "active,hold"));
    list_is("1 4", ARGS("--json", "list", "--status", "inactive,prospect"));
    list_is("1 2 3 4", ARGS("--json", "list", "--status", "prospect,active,hold,inactive"));
    list_is("", ARGS("--json", "list", "--name", "Gone Co", "--all"));
    list_is("", ARGS("--json", "list", "--name", "Merged*", "--all"));
}

Test(customer_list, list_status_takes_only_live_status_words) {
    one_of_each();
    cli_fails_with(2, SAYS("bogus"), ARGS("list", "--status", "bogus"));
    cli_fails_with(2, SAYS("bogus"), ARGS("list", "--status", "active,bogus"));
    cli_fails_with(2, SAYS("Active"), ARGS("list", "--status", "Active"));
    cli_fails_with(2, SAYS("deleted"), ARGS("list", "--status", "deleted"));
    cli_fails_with(2, SAYS("--status"), ARGS("list", "--status", ""));
    cli_fails_with(2, SAYS("--status"), ARGS("list", "--status"));
    cli_fails_with(2, SAYS("extra"), ARGS("list", "extra"));
}

/* --all is every status and --status names some: together they said two things, and --all
 * silently won ('list --all --status hold' listed every customer). Refused, exit 2. */
Test(customer_list, list_refuses_all_with_status) {
    one_of_each();
    cli_fails_with(2, SAYS("--all", "--status"), ARGS("list", "--all", "--status", "hold"));
    cli_fails_with(2, SAYS("--all", "--status"), ARGS("list", "--status=active", "--all"));
    cli_fails_with(2, SAYS("--all", "--status"),
                   ARGS("--json", "list", "--name", "*Co", "--status", "inactive", "--all"));
    list_is("1 2 3 4", ARGS("--json", "list", "--all", "--name", "*Co"));
}

Test(customer_list, list_name_patterns_are_wildcards_and_case_insensitive) {
    one_of_each();
    ok(ARGS("--json", "create", "Acme Trading Ltd"));
    ok(ARGS("--json", "create", "Acme Traders"));
    list_is("7 8", ARGS("--json", "list", "--name", "acme*"));
    list_is("7", ARGS("--json", "list", "--name", "ACME TRADING LTD"));
    list_is("7 8", ARGS("--json", "list", "--name", "*TRAD*"));
    list_is("8", ARGS("--json", "list", "--name", "acme trade?s"));
    list_is("", ARGS("--json", "list", "--name", "acme"));
    list_is("1 2 3", ARGS("--json", "list", "--name", "* Co"));
    /* --name and the status filters combine */
    list_is("1 2 3 4", ARGS("--json", "list", "--name", "* Co", "--all"));
    list_is("4", ARGS("--json", "list", "--name", "*co", "--status", "inactive"));
    list_is("", ARGS("--json", "list", "--name", "idle*"));
}

Test(customer_list, text_list_prints_one_line_per_customer) {
    one_of_each();
    cli_result r = cli("list");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(cli_has_line_word(r.out, "CUST-000001"), "%s", r.out);
    cr_assert(cli_has_line_word(r.out, "CUST-000003"), "%s", r.out);
    cr_assert(!cli_has_line_word(r.out, "CUST-000004"), "inactive listed: %s", r.out);
    cr_assert(!cli_has_line_word(r.out, "CUST-000005"), "deleted listed: %s", r.out);
    cr_assert_eq(cli_count_lines(r.out), 4, "a header and three customers: %s", r.out);
    cli_result_free(&r);
}

Test(customer_list, find_is_exact_after_trimming) {
    cli_demo(); /* CUST-000001 "Acme Trading Ltd" */
    json_t *a = cli_json_ok("--json", "find", "Acme Trading Ltd");
    cr_assert_str_eq(cli_jstr(a, "ref"), "CUST-000001");
    json_t *b = cli_json_ok("--json", "find", "  Acme Trading Ltd \t");
    cr_assert(json_equal(a, b), "find of the trimmed name differs");
    json_decref(a);
    json_decref(b);
    const char *misses[] = {"acme trading ltd", "ACME TRADING LTD", "Acme Trading",
                            "Acme  Trading Ltd", "Acme Trading Ltd.", "Acme*", "Acme Trading Lt?"};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++)
        cli_fails_with(3, SAYS(misses[i]), ARGS("find", misses[i]));
}

Test(customer_list, find_text_prints_the_card) {
    ok(ARGS("--json", "create", "Acme Ltd", "--owner", "carol"));
    cli_result r = cli("find", "Acme Ltd");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "CUST-000001  Acme Ltd\n", 22) == 0, "%s", r.out);
    cr_assert(cli_has_line_word(r.out, "owner"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "carol"), "%s", r.out);
    cli_result_free(&r);
}

Test(customer_list, find_takes_exactly_one_name) {
    ok(ARGS("--json", "create", "Acme Ltd"));
    cli_fails_with(2, NULL, ARGS("find"));
    cli_fails_with(2, SAYS("quote"), ARGS("find", "Acme", "Ltd"));
}

/* ---- read commands on a ledger that does not exist ---- */

Test(customer_list, reads_on_a_missing_ledger_exit_3_and_create_nothing) {
    const char *db = cli_path("absent.db");
    const char *const *reads[] = {
        ARGS("--db", db, "show", "CUST-000001"),
        ARGS("--db", db, "find", "Acme"),
        ARGS("--db", db, "list"),
        ARGS("--db", db, "--json", "list", "--all"),
        ARGS("--db", db, "history", "CUST-000001"),
        ARGS("--db", db, "deleted"),
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        cli_fails_with(3, SAYS(db), reads[i]);
        cr_assert_eq(cli_dir_entries(), 0, "read %zu created files", i);
    }
}
