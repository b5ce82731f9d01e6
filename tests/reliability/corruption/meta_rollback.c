/*
 * tests/reliability/corruption/meta_rollback.c - one bit flipped in the transaction id of
 * LMDB's newest meta page makes LMDB open the previous commit: the last acknowledged write is
 * gone, and `verify` and `check` still pass (a silent wrong answer).
 *
 * LMDB writes meta page (txnid % 2) on every commit, so in a healthy file the two meta pages
 * hold consecutive txnids. Clearing the newest's highest set bit makes it the older one.
 * Expected, and done since: folio refuses the file at open (exit 4) because the meta pages'
 * txnids are not consecutive (engine/store.c, check_meta_pair).
 *
 * Usage: meta_rollback FOLIO_CLI SCRATCH_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

#define TXNID_OFFSET 144u /* page header 16 + MDB_meta: magic, version, address, mapsize,
                             2 x MDB_db (48), last_pg; then txnid (x86-64) */

int main(int argc, char **argv) {
    if (argc != 3) fail("usage: meta_rollback FOLIO_CLI SCRATCH_DIR");
    const char *cli = argv[1], *dir = argv[2];
    char path[4200];
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/meta.db", dir);
    remove_ledger(path);
    run_result r = RUN(cli, 60, "--db", path, "demo");
    if (r.status) fail("demo exited %d: %s", r.status, r.err);
    run_free(&r);
    r = RUN(cli, 60, "--db", path, "note", "CUST-000001", "the last acknowledged write");
    if (r.status) fail("note exited %d: %s", r.status, r.err);
    run_free(&r);

    size_t len;
    unsigned char *d = (unsigned char *)read_file(path, &len);
    if (!d || len < 2 * PAGE_BYTES) fail("cannot read %s", path);
    uint64_t t[2];
    memcpy(&t[0], d + TXNID_OFFSET, 8);
    memcpy(&t[1], d + PAGE_BYTES + TXNID_OFFSET, 8);
    if (t[0] + 1 != t[1] && t[1] + 1 != t[0])
        fail("premise: meta txnids %llu and %llu are not consecutive", (unsigned long long)t[0],
             (unsigned long long)t[1]);
    int newest = t[1] > t[0];
    int bit = 63;
    while (!(t[newest] >> bit & 1)) bit--;
    size_t off = (size_t)newest * PAGE_BYTES + TXNID_OFFSET + (size_t)bit / 8;
    d[off] ^= (unsigned char)(1u << (bit % 8));
    write_file(path, d, len);
    free(d);
    printf("meta txnids %llu, %llu: flipped offset %zu bit %d (meta %d txnid %llu -> %llu)\n",
           (unsigned long long)t[0], (unsigned long long)t[1], off, bit % 8, newest,
           (unsigned long long)t[newest], (unsigned long long)(t[newest] ^ (1ull << bit)));

    r = RUN(cli, 60, "--db", path, "verify");
    int vstatus = r.status;
    printf("verify: exit %d %s%s", r.status, r.out, r.err);
    run_free(&r);
    r = RUN(cli, 60, "--db", path, "log");
    int lost = strstr(r.out, "the last acknowledged write") == NULL;
    run_free(&r);
    if (vstatus == 0 && lost)
        fail("the last commit is silently gone: verify passes and `log` lacks the note");
    if (vstatus != 4) fail("verify exited %d, expected 4 (damaged meta page)", vstatus);
    printf("PASS: a flipped meta txnid is refused\n");
    return 0;
}
