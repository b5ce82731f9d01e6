/*
 * tests/tools/demo.c - `folio demo`: creates the default ledger (mode 0600) in the working
 * directory, and a re-run appends nothing.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"

TestSuite(demo, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

static unsigned mode_of(const char *path) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s does not exist", path);
    cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", path);
    return (unsigned)(st.st_mode & 07777);
}

Test(demo, creates_folio_db_in_the_working_directory_with_mode_0600) {
    cr_assert_eq(cli_dir_entries(), 0);
    cli_result r = cli("demo"); /* the CLI runs with umask 022 */
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cr_assert_eq(r.err_len, 0, "demo wrote to stderr: '%s'", r.err);
    cli_result_free(&r);
    cr_assert_eq(mode_of(cli_path("folio.db")), 0600, "folio.db mode %o",
                 mode_of(cli_path("folio.db")));
    cr_assert_eq(mode_of(cli_path("folio.db-lock")), 0600, "folio.db-lock mode %o",
                 mode_of(cli_path("folio.db-lock")));
    cr_assert_eq(cli_dir_entries(), 2, "demo created more than folio.db and folio.db-lock");
    uint64_t events, streams;
    char head[33];
    cli_verify_json(&events, &streams, head);
    cr_assert_gt(events, 0, "demo wrote no events");
}

Test(demo, second_run_appends_nothing) {
    cli_demo();
    uint64_t events1, streams1, events2, streams2;
    char head1[33], head2[33];
    cli_verify_json(&events1, &streams1, head1);
    cli_result log1 = cli("--json", "log");
    cr_assert_eq(log1.status, 0);

    cli_result r = cli("demo");
    cr_assert_eq(r.status, 0, "second demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);

    cli_verify_json(&events2, &streams2, head2);
    cr_assert_eq(events2, events1, "events %llu -> %llu", (unsigned long long)events1,
                 (unsigned long long)events2);
    cr_assert_eq(streams2, streams1);
    cr_assert_str_eq(head2, head1, "head hash changed");
    cli_result log2 = cli("--json", "log");
    cr_assert_eq(log2.status, 0);
    cr_assert_str_eq(log2.out, log1.out, "the log changed on the second demo");
    cli_result_free(&log1);
    cli_result_free(&log2);
}

Test(demo, json_reports_appended_events_then_zero_on_rerun) {
    cli_result r = cli("--json", "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    json_t *j = cli_json(r.out);
    json_t *a = json_object_get(j, "appended");
    cr_assert(json_is_integer(a), "no integer 'appended': %s", r.out);
    uint64_t events, streams;
    char head[33];
    cli_verify_json(&events, &streams, head);
    cr_assert_eq((uint64_t)json_integer_value(a), events, "appended %lld, ledger has %llu",
                 (long long)json_integer_value(a), (unsigned long long)events);
    json_decref(j);
    cli_result_free(&r);

    r = cli("demo", "--json");
    cr_assert_eq(r.status, 0, "second demo exited %d: %s", r.status, r.err);
    j = cli_json(r.out);
    a = json_object_get(j, "appended");
    cr_assert(json_is_integer(a) && json_integer_value(a) == 0, "rerun: %s", r.out);
    json_decref(j);
    cli_result_free(&r);
}
