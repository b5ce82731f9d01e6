/*
 * tests/engine/key_order.c - the comparator of "log" and "streams" (engine/store.c) orders
 * every pair of keys as LMDB's default does (memcmp over the shorter length, then the
 * shorter key first), so a ledger stays the same B-tree for any reader; and a log of seqs
 * that differ in each byte position reads back in order.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
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
