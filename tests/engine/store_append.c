/*
 * tests/engine/store_append.c - folio_store__append (engine/store.c), the log's appends:
 * consecutive appends of one write transaction go in without MDB_APPEND while the last leaf
 * has room (no search of the tree from its root), and with it where a new leaf starts, so
 * the tree's leaves come out exactly as MDB_APPEND alone makes them; a key not past the last
 * one is refused, also after another write into the same tree.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(store_append, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* The value size of the i-th append: frames of 30 to ~1,000 bytes, and every 97th one too
 * large for a leaf node (LMDB keeps it on overflow pages). */
static size_t value_bytes(unsigned i) { return i % 97 == 0 ? 3000u : 30u + (i * 37u) % 990u; }

Test(store_append, appends_fill_the_leaves_as_mdb_append_does_mostly_without_it) {
    enum { N = 3000 };
    static uint8_t val[4096];
    for (size_t b = 0; b < sizeof val; b++) val[b] = (uint8_t)(b * 7u);
    folio_txn t = {0};
    uint8_t key[8];
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    uint64_t plain_before = folio_store__appends_plain(tmpdb->store);
    /* the reference: the same keys and values with MDB_APPEND, into another empty tree */
    for (unsigned i = 1; i <= N; i++) {
        folio__put_be64(key, i);
        cr_assert_eq(folio_store__put(&t, FOLIO_DB_IDEM, key, 8, val, value_bytes(i),
                                      FOLIO_PUT_APPEND),
                     FOLIO_OK, "%s", folio_errmsg());
    }
    for (unsigned i = 1; i <= N; i++) {
        folio__put_be64(key, i);
        cr_assert_eq(folio_store__append(&t, FOLIO_DB_SCRATCH, key, 8, val, value_bytes(i)),
                     FOLIO_OK, "%s", folio_errmsg());
    }
    uint64_t plain = folio_store__appends_plain(tmpdb->store) - plain_before;
    cr_assert_gt(plain, (uint64_t)N * 3 / 4, "%llu of %u appends without MDB_APPEND",
                 (unsigned long long)plain, N);
    uint64_t ref_leaves = 0, leaves = 0, ref_entries = 0, entries = 0;
    cr_assert_eq(folio_store__leaf_pages(&ref_leaves, &t, FOLIO_DB_IDEM), FOLIO_OK);
    cr_assert_eq(folio_store__leaf_pages(&leaves, &t, FOLIO_DB_SCRATCH), FOLIO_OK);
    cr_assert_eq(leaves, ref_leaves, "%llu leaves, MDB_APPEND alone makes %llu",
                 (unsigned long long)leaves, (unsigned long long)ref_leaves);
    cr_assert_eq(folio_store__entries(&ref_entries, &t, FOLIO_DB_IDEM), FOLIO_OK);
    cr_assert_eq(folio_store__entries(&entries, &t, FOLIO_DB_SCRATCH), FOLIO_OK);
    cr_assert_eq(entries, N);
    cr_assert_eq(ref_entries, N);
    /* every record reads back as put */
    for (unsigned i = 1; i <= N; i += 7) {
        folio_val v;
        folio__put_be64(key, i);
        cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_SCRATCH, key, 8), FOLIO_OK);
        cr_assert_eq(v.size, value_bytes(i));
        cr_assert_eq(memcmp(v.data, val, v.size), 0);
    }
    folio_store__abort(&t);
}

/* A key at or before the last one is refused (nothing written), whether the tail put the
 * last key or another write into the tree did. */
Test(store_append, a_key_not_past_the_last_is_refused_also_after_another_write) {
    folio_txn t = {0};
    uint8_t key[8];
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    for (unsigned i = 1; i <= 400; i++) { /* over two leaves: the tail knows the last one */
        folio__put_be64(key, i);
        cr_assert_eq(folio_store__append(&t, FOLIO_DB_SCRATCH, key, 8, "frame", 5), FOLIO_OK);
    }
    /* another write puts a key far past the tail's last one */
    folio__put_be64(key, 1000000);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_SCRATCH, key, 8, "far", 3, 0), FOLIO_OK);
    folio__put_be64(key, 401); /* past the tail's last key, not the tree's */
    cr_assert_eq(folio_store__append(&t, FOLIO_DB_SCRATCH, key, 8, "frame", 5), FOLIO_ERROR);
    folio__put_be64(key, 400);
    cr_assert_eq(folio_store__append(&t, FOLIO_DB_SCRATCH, key, 8, "again", 5), FOLIO_ERROR);
    folio__put_be64(key, 150);
    cr_assert_eq(folio_store__append(&t, FOLIO_DB_SCRATCH, key, 8, "again", 5), FOLIO_ERROR);
    uint64_t entries = 0;
    cr_assert_eq(folio_store__entries(&entries, &t, FOLIO_DB_SCRATCH), FOLIO_OK);
    cr_assert_eq(entries, 401);
    folio_val v;
    folio__put_be64(key, 150);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_SCRATCH, key, 8), FOLIO_OK);
    cr_assert_eq(v.size, 5);
    cr_assert_eq(memcmp(v.data, "frame", 5), 0, "a refused append overwrote a record");
    folio__put_be64(key, 1000001);
    cr_assert_eq(folio_store__append(&t, FOLIO_DB_SCRATCH, key, 8, "frame", 5), FOLIO_OK);
    folio_store__abort(&t);
}
