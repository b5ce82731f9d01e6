/*
 * tests/reliability/corruption/refused_at_open.c - files that are not a whole, current folio
 * ledger are refused at open by the CLI, read and write commands alike, with one clear
 * "folio: " line on stderr, exit 4 or 5, nothing on stdout, and the file left unchanged:
 * a ledger truncated below LMDB's last page (exit 4, "truncated"), cut inside or before its
 * meta pages (exit 5, "not a folio ledger"), its meta pages zeroed, garbage that starts with
 * LMDB's magic, and a ledger whose format record says a newer format (exit 5, "newer").
 * (Random bytes and an empty file: tests/tools/not_a_ledger.c.)
 *
 * Usage: refused_at_open FOLIO_CLI SCRATCH_DIR
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *const COMMANDS[][3] = {
    {"verify", NULL, NULL}, {"log", NULL, NULL}, {"show", "CUST-000001", NULL},
    {"check", NULL, NULL},  {"demo", NULL, NULL}, {"note", "CUST-000001", "hello"}};

static int checks;

static void expect_refused(const char *cli, const char *path, const char *what, int code,
                           const char *needle) {
    size_t len0, len1;
    char *before = read_file(path, &len0);
    if (!before) fail("%s: cannot read %s", what, path);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        run_result r = run_cli(cli, (const char *const[]){"--db", path, COMMANDS[i][0],
                                                          COMMANDS[i][1], COMMANDS[i][2], NULL},
                               60);
        const char *nl = strchr(r.err, '\n');
        if (r.signal || r.timeout)
            fail("%s: folio %s was killed by signal %d%s", what, COMMANDS[i][0], r.signal,
                 r.timeout ? " (hung)" : "");
        if (r.status != code)
            fail("%s: folio %s exited %d, expected %d; stderr: %s", what, COMMANDS[i][0],
                 r.status, code, r.err);
        if (r.out_len) fail("%s: folio %s printed on stdout: %s", what, COMMANDS[i][0], r.out);
        if (strncmp(r.err, "folio: ", 7) != 0 || !nl || nl[1])
            fail("%s: folio %s: stderr is not one 'folio: ' line: '%s'", what, COMMANDS[i][0], r.err);
        if (!strstr(r.err, needle))
            fail("%s: folio %s: stderr does not say '%s': %s", what, COMMANDS[i][0], needle, r.err);
        if (i == 0) printf("%-34s exit %d  %s", what, r.status, r.err);
        run_free(&r);
        checks++;
    }
    char *after = read_file(path, &len1);
    if (!after || len1 != len0 || memcmp(before, after, len0) != 0)
        fail("%s: the commands changed the file", what);
    free(before);
    free(after);
}

static void truncate_copy(const char *from, const char *to, off_t size) {
    remove_ledger(to);
    copy_file(from, to);
    if (truncate(to, size)) fail("truncate %s: %s", to, strerror(errno));
}

int main(int argc, char **argv) {
    if (argc != 3) fail("usage: refused_at_open FOLIO_CLI SCRATCH_DIR");
    const char *cli = argv[1], *dir = argv[2];
    char good[4200], bad[4200];
    mkdir(dir, 0700);
    snprintf(good, sizeof good, "%s/demo.db", dir);
    snprintf(bad, sizeof bad, "%s/bad.db", dir);
    remove_ledger(good);
    run_result r = RUN(cli, 60, "--db", good, "demo");
    if (r.status) fail("demo exited %d: %s", r.status, r.err);
    run_free(&r);
    log_map m;
    log_map_read(&m, good);
    off_t used = (off_t)((m.last_pgno + 1) * PAGE_BYTES);
    log_map_free(&m);
    printf("demo ledger: %lld bytes used\n", (long long)used);

    truncate_copy(good, bad, used - 1);
    expect_refused(cli, bad, "truncated by 1 byte", 4, "truncated");
    truncate_copy(good, bad, used / 2);
    expect_refused(cli, bad, "truncated to half", 4, "truncated");
    truncate_copy(good, bad, 3 * PAGE_BYTES);
    expect_refused(cli, bad, "truncated to 3 pages", 4, "truncated");
    truncate_copy(good, bad, PAGE_BYTES);
    expect_refused(cli, bad, "truncated to 1 page", 5, "not a folio ledger");
    truncate_copy(good, bad, 100);
    expect_refused(cli, bad, "truncated to 100 bytes", 5, "not a folio ledger");
    truncate_copy(good, bad, 10);
    expect_refused(cli, bad, "truncated to 10 bytes", 5, "not a folio ledger");

    /* both meta pages zeroed */
    size_t len;
    char *bytes = read_file(good, &len);
    if (!bytes) fail("cannot read %s", good);
    memset(bytes, 0, 2 * PAGE_BYTES);
    remove_ledger(bad);
    write_file(bad, bytes, len);
    expect_refused(cli, bad, "meta pages zeroed", 5, "not a folio ledger");
    /* LMDB's magic and version kept, everything after them garbage */
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        bytes[i] = (char)(x >> 32);
    }
    char *orig = read_file(good, NULL);
    memcpy(bytes + 16, orig + 16, 8); /* mm_magic, mm_version of meta page 0 */
    memcpy(bytes + PAGE_BYTES + 16, orig + PAGE_BYTES + 16, 8);
    free(orig);
    remove_ledger(bad);
    write_file(bad, bytes, len);
    expect_refused(cli, bad, "garbage behind LMDB's magic", 5, "not a folio ledger");
    free(bytes);

    /* a newer format: the meta database's format record raised from 2 (what a new ledger
     * is) to 4 (this folio reads 2 and 3) */
    remove_ledger(bad);
    copy_file(good, bad);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {6, "format"}, v;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) ||
        mdb_env_open(env, bad, MDB_NOSUBDIR, 0600) || mdb_txn_begin(env, NULL, 0, &txn) ||
        mdb_dbi_open(txn, "meta", 0, &meta) || mdb_get(txn, meta, &k, &v))
        fail("cannot read the format record of %s", bad);
    if (v.mv_size != 9 || memcmp(v.mv_data, "folio\x02\0\0\0", 9) != 0)
        fail("the format record is not 'folio' + u32 2");
    MDB_val newer = {9, "folio\x04\0\0\0"};
    if (mdb_put(txn, meta, &k, &newer, 0) || mdb_txn_commit(txn)) fail("cannot raise the format");
    mdb_env_close(env);
    expect_refused(cli, bad, "a newer format (4)", 5, "newer");

    /* the layout of an earlier pre-release build: the log head in "meta", not in LMDB's
     * main database (read as it is, the ledger would look empty) */
    remove_ledger(bad);
    copy_file(good, bad);
    MDB_val old_head = {4, "head"}, head_val = {32, (char[32]){0}};
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) ||
        mdb_env_open(env, bad, MDB_NOSUBDIR, 0600) || mdb_txn_begin(env, NULL, 0, &txn) ||
        mdb_dbi_open(txn, "meta", 0, &meta) || mdb_put(txn, meta, &old_head, &head_val, 0) ||
        mdb_txn_commit(txn))
        fail("cannot write a head record into the meta database of %s", bad);
    mdb_env_close(env);
    expect_refused(cli, bad, "the log head in 'meta' (earlier pre-release layout)", 5,
                   "earlier pre-release");

    remove_ledger(bad);
    printf("PASS: %d refusals checked\n", checks);
    return 0;
}
