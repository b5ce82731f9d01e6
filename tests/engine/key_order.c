/*
 * tests/engine/key_order.c - the comparator of every sub-database (engine/store.c) orders
 * every pair of keys as LMDB's default does (memcmp over the shorter length, then the
 * shorter key first), so a ledger stays the same B-tree for any reader: keys of 0 to 40
 * bytes that differ in any one byte, in any word of the comparator's eight-byte loads; a
 * log of seqs that differ in each byte position reads back in order; and a projection
 * tree and "streams" written in random order read back in byte order and find every key.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "tmpdb.h"

static int sign(int v) { return (v > 0) - (v < 0); }

static int lmdb_default(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int d = n ? memcmp(a, b, n) : 0;
    if (d) return sign(d);
    return (an > bn) - (an < bn);
}

static uint64_t rng = 20261124u;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

Test(key_order, every_pair_of_keys_is_ordered_as_lmdbs_default) {
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
    for (unsigned i = 0; i < 200000; i++) {
        uint8_t a[10], b[10];
        size_t an = i % 3 ? 8 : (size_t)(rnd() % 11), bn = i % 5 ? 8 : (size_t)(rnd() % 11);
        for (size_t k = 0; k < 10; k++) a[k] = b[k] = bytes[rnd() % sizeof bytes];
        for (size_t k = 0; k < 10; k++) /* keys that share a prefix, and differ somewhere */
            if (rnd() % 4 == 0) b[k] = bytes[rnd() % sizeof bytes];
        cr_assert_eq(sign(folio_store__key_order(a, an, b, bn)), lmdb_default(a, an, b, bn),
                     "iteration %u", i);
        cr_assert_eq(sign(folio_store__key_order(b, bn, a, an)), lmdb_default(b, bn, a, an));
    }
}

/* Keys of 0 to 40 bytes (every length the comparator handles differently: under 4, under
 * 8, one word, a word and an overlapping last word, several words) that share a prefix and
 * differ in one byte at any position, or only in their length. */
Test(key_order, keys_up_to_40_bytes_that_differ_anywhere_are_ordered_as_lmdbs_default) {
    static const uint8_t bytes[] = {0x00, 0x01, 0x72, 0x7f, 0x80, 0xfe, 0xff};
    for (unsigned i = 0; i < 400000; i++) {
        uint8_t a[40], b[40];
        size_t an = (size_t)(rnd() % 41), bn = i % 3 ? an : (size_t)(rnd() % 41);
        for (size_t k = 0; k < 40; k++) a[k] = b[k] = bytes[rnd() % sizeof bytes];
        if (i % 4) b[rnd() % 40] = bytes[rnd() % sizeof bytes]; /* one byte, anywhere */
        cr_assert_eq(sign(folio_store__key_order(a, an, b, bn)), lmdb_default(a, an, b, bn),
                     "iteration %u: %zu and %zu bytes", i, an, bn);
        cr_assert_eq(sign(folio_store__key_order(b, bn, a, an)), lmdb_default(b, bn, a, an),
                     "iteration %u: %zu and %zu bytes", i, bn, an);
        cr_assert_eq(folio_store__key_order(a, an, a, an), 0);
    }
}

TestSuite(key_order_log, .init = tmpdb_setup, .fini = tmpdb_teardown);

Test(key_order_log, seqs_written_out_of_order_read_back_in_order) {
    /* stream ids that differ in their high bytes go through the same comparator */
    static const uint64_t streams[] = {1, 256, 255, 65536, 1ull << 40, 7, (1ull << 56) + 3};
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        folio_event e = tmpdb_note(streams[i], "x");
        tmpdb_append(tmpdb, &e);
    }
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
        cr_assert_eq(tmpdb_stream_version(tmpdb, streams[i]), 1);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, sizeof streams / sizeof streams[0]);
    for (size_t i = 0; i < n; i++) cr_assert_eq(log[i].stream, streams[i]);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

TestSuite(key_order_tree, .init = tmpdb_setup, .fini = tmpdb_teardown);

static unsigned dbi_of(const char *name) {
    for (unsigned i = 0; i < folio_projection__count(); i++)
        if (strcmp(folio_projection__name(i), name) == 0) return FOLIO_DB_PROJ0 + i;
    cr_assert_fail("no projection %s", name);
    return 0;
}

/* A tree takes keys of 1 to 40 bytes, put in random order, that share long prefixes and
 * differ in one byte or in length: a cursor reads them back in byte order (shorter first)
 * and a get finds each one. LMDB searches and splits the tree with the store's comparator,
 * so a comparator that disagrees with byte order, for any length, loses or misplaces keys. */
static void tree_reads_back_in_byte_order(unsigned dbi) {
    enum { N = 3000 };
    static uint8_t keys[N][40];
    static size_t lens[N];
    static const uint8_t bytes[] = {0x00, 0x01, 0x72, 0x7f, 0x80, 0xff};
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, dbi), FOLIO_OK);
    size_t n = 0;
    for (unsigned i = 0; n < N; i++) {
        uint8_t *k = keys[n];
        for (size_t j = 0; j < 40; j++) k[j] = bytes[(j * 7 + 3) % sizeof bytes];
        k[rnd() % 40] = bytes[rnd() % sizeof bytes];
        lens[n] = 1 + (size_t)(rnd() % 40);
        folio_val v;
        int rc = folio_store__get(&v, &t, dbi, k, lens[n]);
        if (rc == FOLIO_OK) continue; /* drawn before */
        cr_assert_eq(rc, FOLIO_ENOTFOUND);
        cr_assert_eq(folio_store__put(&t, dbi, k, lens[n], &n, sizeof n, 0), FOLIO_OK);
        n++;
    }
    for (size_t i = 0; i < N; i++) {
        folio_val v;
        cr_assert_eq(folio_store__get(&v, &t, dbi, keys[i], lens[i]), FOLIO_OK, "key %zu", i);
        cr_assert_eq(v.size, sizeof i);
        cr_assert_eq(memcmp(v.data, &i, sizeof i), 0, "key %zu found another's value", i);
    }
    folio_cursor c = {0};
    folio_val k, v, prev = {0};
    size_t count = 0;
    cr_assert_eq(folio_store__cursor_open(&c, &t, dbi), FOLIO_OK);
    for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v), count++) {
        if (prev.data)
            cr_assert_lt(lmdb_default(prev.data, prev.size, k.data, k.size), 0,
                         "record %zu out of byte order", count);
        prev = k;
    }
    folio_store__cursor_close(&c);
    cr_assert_eq(count, (size_t)N);
    folio_store__abort(&t);
}

Test(key_order_tree, a_projection_tree_reads_back_in_byte_order_and_finds_every_key) {
    tree_reads_back_in_byte_order(dbi_of("receivables"));
}

Test(key_order_tree, streams_reads_back_in_byte_order_and_finds_every_key) {
    tree_reads_back_in_byte_order(FOLIO_DB_STREAMS);
}
