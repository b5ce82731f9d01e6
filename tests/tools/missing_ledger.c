/*
 * tests/tools/missing_ledger.c - read commands on a ledger that does not exist: exit 3, one
 * "folio: " line naming the path, and nothing created (SPEC sections 1 and 7).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli_run.h"

TestSuite(missing_ledger, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

/* Run `folio --db <dir>/absent.db <cmd...>` and check the not-found contract. */
static void check_missing(const char *const *cmd) {
    const char *db = cli_path("absent.db");
    const char *args[16] = {"--db", db};
    size_t n = 2;
    for (; *cmd; cmd++) {
        cr_assert_lt(n + 1, sizeof args / sizeof args[0]);
        args[n++] = *cmd;
    }
    args[n] = NULL;
    cli_result r = cli_run_env(NULL, NULL, args);
    cli_assert_error(&r, 3);
    cr_assert_not_null(strstr(r.err, db), "error does not name %s: '%s'", db, r.err);
    cr_assert_eq(cli_dir_entries(), 0, "a read command created files in %s", cli_dir);
    cli_result_free(&r);
}

Test(missing_ledger, verify_exits_3_naming_the_path_and_creates_nothing) {
    check_missing(ARGS("verify"));
}

Test(missing_ledger, json_verify_exits_3_with_nothing_on_stdout) {
    check_missing(ARGS("--json", "verify"));
}

Test(missing_ledger, log_exits_3_naming_the_path_and_creates_nothing) {
    check_missing(ARGS("log"));
}

Test(missing_ledger, log_with_from_and_limit_exits_3_and_creates_nothing) {
    check_missing(ARGS("log", "--from", "2", "--limit", "1", "--json"));
}

Test(missing_ledger, stats_exits_3_naming_the_path_and_creates_nothing) {
    check_missing(ARGS("stats"));
}

Test(missing_ledger, default_path_is_named_when_no_db_is_given) {
    const char *cmds[] = {"verify", "log", "stats"};
    for (size_t i = 0; i < 3; i++) {
        cli_result r = cli(cmds[i]);
        cli_assert_error(&r, 3);
        cr_assert_not_null(strstr(r.err, "folio.db"), "%s: error does not name ./folio.db: '%s'",
                           cmds[i], r.err);
        cr_assert_eq(cli_dir_entries(), 0, "%s created files in the working directory", cmds[i]);
        cli_result_free(&r);
    }
}

Test(missing_ledger, ledger_in_a_missing_directory_exits_3_and_creates_nothing) {
    const char *db = cli_path("no/such/dir/x.db");
    cli_result r = cli("verify", "--db", db);
    cli_assert_error(&r, 3);
    cr_assert_not_null(strstr(r.err, db), "error does not name %s: '%s'", db, r.err);
    cr_assert_eq(cli_dir_entries(), 0);
    cli_result_free(&r);
}
