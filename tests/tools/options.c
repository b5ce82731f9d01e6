/*
 * tests/tools/options.c - global options before or after the command word, --db=PATH,
 * FOLIO_DB, usage errors (exit 2, one "folio: " line), help and --version.
 */
#include <criterion/criterion.h>
#include <folio.h>
#include <string.h>

#include "cli_run.h"

TestSuite(options, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

/* A demo ledger at <dir>/other.db (not the default path). Returns its path. */
static const char *other_ledger(void) {
    const char *db = cli_path("other.db");
    cli_result r = cli("--db", db, "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    cr_assert(cli_exists(db), "--db %s was not created", db);
    cr_assert(!cli_exists(cli_path("folio.db")), "demo with --db wrote ./folio.db");
    return db;
}

/* stdout of a successful run */
static char *ok_out(cli_result r) {
    cr_assert_eq(r.status, 0, "exited %d: %s", r.status, r.err);
    free(r.err);
    return r.out;
}

Test(options, global_options_work_before_and_after_the_command_word) {
    const char *db = other_ledger();
    char db_eq[4200];
    snprintf(db_eq, sizeof db_eq, "--db=%s", db);
    char *a = ok_out(cli("--db", db, "--json", "verify"));
    char *b = ok_out(cli("verify", "--json", "--db", db));
    char *c = ok_out(cli("--json", "verify", db_eq));
    char *d = ok_out(cli(db_eq, "verify", "--json"));
    json_t *ja = cli_json(a);
    cr_assert(json_is_true(json_object_get(ja, "ok")), "%s", a);
    json_decref(ja);
    cr_assert_str_eq(b, a);
    cr_assert_str_eq(c, a);
    cr_assert_str_eq(d, a);
    free(a);
    free(b);
    free(c);
    free(d);
}

Test(options, global_options_mix_with_command_options) {
    const char *db = other_ledger();
    char *a = ok_out(cli("--json", "--db", db, "log", "--from", "3", "--limit", "2"));
    char *b = ok_out(cli("log", "--from", "3", "--db", db, "--limit", "2", "--json"));
    json_t *lines = cli_json_lines(a);
    cr_assert_eq(json_array_size(lines), 2);
    json_decref(lines);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

Test(options, db_option_chooses_the_ledger) {
    const char *db = other_ledger();
    cli_result r = cli("--json", "stats", "--db", db);
    cr_assert_eq(r.status, 0, "stats exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    r = cli("stats"); /* ./folio.db does not exist */
    cli_assert_error(&r, 3);
    cli_result_free(&r);
}

Test(options, folio_db_env_chooses_the_ledger) {
    const char *db = cli_path("env.db");
    char env[4200];
    snprintf(env, sizeof env, "FOLIO_DB=%s", db);
    cli_result r = cli_env(ENV(env), "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    cr_assert(cli_exists(db), "FOLIO_DB ledger %s was not created", db);
    cr_assert(!cli_exists(cli_path("folio.db")), "demo ignored FOLIO_DB");

    r = cli_env(ENV(env), "verify");
    cr_assert_eq(r.status, 0, "verify with FOLIO_DB exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    r = cli("verify");
    cli_assert_error(&r, 3);
    cli_result_free(&r);
}

Test(options, db_option_wins_over_folio_db_env) {
    const char *env_db = cli_path("env.db"), *flag_db = cli_path("flag.db");
    char env[4200];
    snprintf(env, sizeof env, "FOLIO_DB=%s", env_db);
    cli_result r = cli_env(ENV(env), "demo", "--db", flag_db);
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    cr_assert(cli_exists(flag_db), "--db ledger was not created");
    cr_assert(!cli_exists(env_db), "FOLIO_DB was used although --db was given");
}

Test(options, relative_db_path_is_taken_from_the_working_directory) {
    cli_result r = cli("--db", "rel.db", "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    cr_assert(cli_exists(cli_path("rel.db")));
    cr_assert(cli_exists(cli_path("rel.db-lock")));
}

/* ---- usage errors: exit 2, one "folio: " line, nothing on stdout, no ledger created ---- */

static cli_result usage_error(const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cli_assert_error(&r, 2);
    cr_assert_eq(cli_dir_entries(), 0, "a usage error created files");
    return r;
}

static void usage_error_mentions(const char *const *args, const char *word) {
    cli_result r = usage_error(args);
    cr_assert_not_null(strstr(r.err, word), "error does not mention '%s': '%s'", word, r.err);
    cli_result_free(&r);
}

Test(options, unknown_command_is_a_usage_error) {
    usage_error_mentions(ARGS("frobnicate"), "frobnicate");
}

Test(options, unknown_command_after_global_options_is_a_usage_error) {
    usage_error_mentions(ARGS("--json", "--db", "x.db", "frobnicate"), "frobnicate");
}

Test(options, no_command_exits_2_without_touching_the_ledger) {
    cli_result r = cli_noargs();
    cr_assert_eq(r.status, 2, "exit %d", r.status);
    cr_assert_eq(r.out_len, 0, "stdout: '%s'", r.out);
    cr_assert_gt(r.err_len, 0, "nothing on stderr");
    cr_assert_eq(cli_dir_entries(), 0);
    cli_result_free(&r);
    r = cli("--json", "--db", "x.db");
    cr_assert_eq(r.status, 2, "exit %d", r.status);
    cr_assert_eq(cli_dir_entries(), 0);
    cli_result_free(&r);
}

/* With no command word the error is the one line "folio: <message>" of SPEC section 7. */
Test(options, no_command_prints_one_folio_error_line) {
    cli_result r = usage_error(ARGS(NULL));
    cli_result_free(&r);
    r = usage_error(ARGS("--json"));
    cli_result_free(&r);
}

Test(options, limit_zero_is_a_usage_error) {
    usage_error_mentions(ARGS("log", "--limit", "0"), "--limit");
}

Test(options, an_unknown_global_option_is_named_as_an_option) {
    usage_error_mentions(ARGS("--bogus", "verify"), "unknown option '--bogus'");
}

Test(options, db_value_that_is_an_option_is_a_usage_error) {
    usage_error_mentions(ARGS("--db", "--json", "verify"), "--db needs a path");
}

Test(options, unknown_log_option_is_a_usage_error) {
    usage_error_mentions(ARGS("log", "--bogus"), "--bogus");
}

Test(options, extra_log_argument_is_a_usage_error) {
    usage_error_mentions(ARGS("log", "5"), "5");
}

Test(options, non_numeric_limit_is_a_usage_error) {
    usage_error_mentions(ARGS("log", "--limit", "abc"), "abc");
    usage_error_mentions(ARGS("log", "--limit=abc"), "abc");
}

Test(options, negative_or_junk_numbers_are_usage_errors) {
    usage_error_mentions(ARGS("log", "--limit", "-1"), "-1");
    usage_error_mentions(ARGS("log", "--from", "-1"), "-1");
    usage_error_mentions(ARGS("log", "--from", "3x"), "3x");
    usage_error_mentions(ARGS("log", "--limit", ""), "--limit");
    usage_error_mentions(ARGS("log", "--from", "99999999999999999999999"),
                         "99999999999999999999999");
}

Test(options, from_0_is_a_usage_error) {
    usage_error_mentions(ARGS("log", "--from", "0"), "--from");
    usage_error_mentions(ARGS("log", "--from=0"), "--from");
}

Test(options, log_option_without_value_is_a_usage_error) {
    usage_error_mentions(ARGS("log", "--from"), "--from");
    usage_error_mentions(ARGS("log", "--limit"), "--limit");
}

Test(options, db_without_value_is_a_usage_error) {
    usage_error_mentions(ARGS("verify", "--db"), "--db");
    usage_error_mentions(ARGS("--db"), "--db");
    usage_error_mentions(ARGS("--db=", "verify"), "--db");
}

Test(options, other_global_options_without_value_are_usage_errors) {
    usage_error_mentions(ARGS("verify", "--actor"), "--actor");
    usage_error_mentions(ARGS("verify", "--reason"), "--reason");
    usage_error_mentions(ARGS("verify", "--expect-version"), "--expect-version");
    usage_error_mentions(ARGS("verify", "--idempotency-key"), "--idempotency-key");
}

Test(options, non_numeric_expect_version_is_a_usage_error) {
    usage_error_mentions(ARGS("--expect-version", "x", "verify"), "--expect-version");
    usage_error_mentions(ARGS("verify", "--expect-version=x"), "--expect-version");
    usage_error_mentions(ARGS("verify", "--expect-version", "-1"), "--expect-version");
}

Test(options, extra_arguments_to_verify_are_a_usage_error) {
    usage_error_mentions(ARGS("verify", "extra"), "extra");
}

Test(options, extra_arguments_to_stats_are_a_usage_error) {
    usage_error_mentions(ARGS("stats", "extra"), "extra");
}

Test(options, extra_arguments_to_demo_are_a_usage_error_and_write_nothing) {
    usage_error_mentions(ARGS("demo", "extra"), "extra");
}

Test(options, usage_errors_win_over_a_missing_ledger) {
    /* Parsing comes first: a bad option is exit 2 even though ./folio.db is missing (3). */
    usage_error_mentions(ARGS("log", "--limit", "abc"), "abc");
    usage_error_mentions(ARGS("verify", "extra"), "extra");
}

Test(options, usage_errors_leave_an_existing_ledger_alone) {
    cli_demo();
    uint64_t events, streams, events2, streams2;
    char head[33], head2[33];
    cli_verify_json(&events, &streams, head);
    cli_result r = cli("demo", "extra");
    cli_assert_error(&r, 2);
    cli_result_free(&r);
    r = cli("log", "--from", "0");
    cli_assert_error(&r, 2);
    cli_result_free(&r);
    cli_verify_json(&events2, &streams2, head2);
    cr_assert_eq(events2, events);
    cr_assert_str_eq(head2, head);
}

/* ---- help and version ---- */

static void check_help(const char *word) {
    cli_result r = cli(word);
    cr_assert_eq(r.status, 0, "%s exited %d: %s", word, r.status, r.err);
    cr_assert_eq(r.err_len, 0, "%s wrote to stderr: '%s'", word, r.err);
    const char *cmds[] = {"verify", "log", "stats", "demo"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert(cli_has_line_word(r.out, cmds[i]), "%s does not list '%s':\n%s", word, cmds[i],
                  r.out);
    cr_assert_not_null(strstr(r.out, "--db"), "%s does not mention --db", word);
    cr_assert_eq(cli_dir_entries(), 0, "%s created files", word);
    cli_result_free(&r);
}

Test(options, help_exits_0_and_lists_the_commands) {
    check_help("help");
}

Test(options, dash_dash_help_and_dash_h_are_help) {
    check_help("--help");
    check_help("-h");
}

Test(options, version_prints_folio_and_the_library_version) {
    cli_result r = cli("--version");
    cr_assert_eq(r.status, 0, "--version exited %d: %s", r.status, r.err);
    cr_assert_str_eq(r.out, "folio " FOLIO_VERSION_STRING "\n");
    cr_assert_eq(r.err_len, 0);
    cr_assert_eq(cli_dir_entries(), 0);
    cli_result_free(&r);
}

/* An empty FOLIO_DB chooses no ledger: the default ./folio.db is used, as when it is unset. */
Test(options, an_empty_folio_db_env_means_the_default_ledger) {
    cli_result r = cli_env(ENV("FOLIO_DB="), "demo");
    cr_assert_eq(r.status, 0, "demo with an empty FOLIO_DB exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    cr_assert(cli_exists(cli_path("folio.db")), "an empty FOLIO_DB did not mean ./folio.db");
    r = cli_env(ENV("FOLIO_DB="), "verify");
    cr_assert_eq(r.status, 0, "verify with an empty FOLIO_DB exited %d: %s", r.status, r.err);
    cli_result_free(&r);
}
