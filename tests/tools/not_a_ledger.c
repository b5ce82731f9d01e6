/*
 * tests/tools/not_a_ledger.c - a file that is not a folio ledger at --db: exit 5 (FOLIO_EFORMAT)
 * with one line saying so, and the file is left exactly as it was.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"

TestSuite(not_a_ledger, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

/* 64 KiB of seeded pseudo-random bytes (xorshift64; reproducible). */
static const char *write_random_file(void) {
    static unsigned char bytes[64 * 1024];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof bytes; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes[i] = (unsigned char)(x >> 24);
    }
    const char *path = cli_path("random.bin");
    cli_write_file(path, bytes, sizeof bytes);
    return path;
}

/* Run `cmd --db path`, expect exit 5 and "not a folio ledger", and the file unchanged. */
static void check_refused(const char *path, const char *cmd) {
    size_t len0, len1;
    char *before = cli_read_file(path, &len0);
    cr_assert_not_null(before);
    cli_result r = cli(cmd, "--db", path);
    cli_assert_error(&r, 5);
    cr_assert_not_null(strstr(r.err, "not a folio ledger"), "%s: '%s'", cmd, r.err);
    char *after = cli_read_file(path, &len1);
    cr_assert_not_null(after);
    cr_assert(len1 == len0 && memcmp(before, after, len0) == 0, "%s changed %s", cmd, path);
    free(before);
    free(after);
    cli_result_free(&r);
}

Test(not_a_ledger, random_bytes_make_verify_exit_5) {
    check_refused(write_random_file(), "verify");
}

Test(not_a_ledger, random_bytes_make_log_and_stats_exit_5) {
    const char *path = write_random_file();
    check_refused(path, "log");
    check_refused(path, "stats");
}

Test(not_a_ledger, random_bytes_are_not_written_by_demo) {
    check_refused(write_random_file(), "demo");
}

Test(not_a_ledger, empty_file_makes_verify_exit_5) {
    const char *path = cli_path("empty.db");
    cli_write_file(path, "", 0);
    check_refused(path, "verify");
}

Test(not_a_ledger, empty_file_is_not_initialised_by_demo) {
    const char *path = cli_path("empty.db");
    cli_write_file(path, "", 0);
    check_refused(path, "demo");
}

Test(not_a_ledger, directory_at_db_exits_5) {
    cli_result r = cli("--db", cli_dir, "verify");
    cli_assert_error(&r, 5);
    cli_result_free(&r);
}
