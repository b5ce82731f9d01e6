/*
 * tests/engine/pcache_keys.c - the record cache (engine/pcache.c) tells keys apart by every
 * byte and by their length: its hash differs for keys of 0 to 40 bytes that differ in any
 * one byte (so they do not pile up in one run of the table), and a get or put finds the
 * entry of its own key, not one of the same length that differs in one byte (also when
 * that other key is the last one used, which a put checks before it hashes); and the
 * arena that holds keys and values keeps every record intact across its chunks; a flush
 * writes each tree its own keys.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "tmpdb.h"

TestSuite(pcache_keys, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Byte i of the base key of length n (no two lengths share a pattern). */
static uint8_t base_byte(size_t n, size_t i) { return (uint8_t)(n * 31u + i * 7u + 1u); }

/* A write transaction of the ledger with a record cache of its own (free it after the abort). */
static folio_pcache *cache_txn(folio_txn *t, folio_txn_cache *cache) {
    folio_pcache *pc = folio_pcache__create();
    cr_assert_not_null(pc);
    cr_assert_eq(folio_log__begin(t, cache, tmpdb->store, pc), FOLIO_OK);
    return pc;
}

Test(pcache_keys, the_hash_differs_for_keys_that_differ_in_any_byte_or_in_length) {
    uint8_t a[40], b[40];
    for (size_t n = 0; n <= 40; n++) {
        for (size_t i = 0; i < n; i++) a[i] = base_byte(n, i);
        uint64_t h = folio_pcache__hash(FOLIO_DB_STREAMS, a, n);
        cr_assert_neq(h, folio_pcache__hash(FOLIO_DB_PROJ0, a, n), "%zu bytes: dbi", n);
        if (n) cr_assert_neq(h, folio_pcache__hash(FOLIO_DB_STREAMS, a, n - 1), "%zu bytes", n);
        for (size_t pos = 0; pos < n; pos++) {
            for (unsigned bit = 0; bit < 8; bit++) {
                memcpy(b, a, n);
                b[pos] ^= (uint8_t)(1u << bit);
                uint64_t g = folio_pcache__hash(FOLIO_DB_STREAMS, b, n);
                cr_assert_neq(g, h, "%zu bytes: byte %zu bit %u is not hashed", n, pos, bit);
                cr_assert_neq(g >> 32, h >> 32, "%zu bytes, byte %zu bit %u: same tag", n, pos,
                              bit);
            }
        }
    }
}

/* For every length and position: key a and key b (a with one byte changed) each get their
 * own entry, whichever was used last. */
Test(pcache_keys, a_get_or_put_finds_its_own_key_not_one_that_differs_in_one_byte) {
    unsigned dbi = FOLIO_DB_PROJ0;
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_pcache *pc = cache_txn(&t, &cache);
    uint8_t a[40], b[40];
    folio_val v;
    for (size_t n = 1; n <= 40; n++) {
        for (size_t pos = 0; pos < n; pos++) {
            for (size_t i = 0; i < n; i++) a[i] = base_byte(n, i);
            a[pos] = (uint8_t)pos; /* every (n, pos) its own pair of keys */
            memcpy(b, a, n);
            b[pos] ^= 0x80;
            uint8_t va[2] = {(uint8_t)n, (uint8_t)pos}, vb[3] = {(uint8_t)n, (uint8_t)pos, 1};
            cr_assert_eq(folio_pcache__get(&v, pc, &t, dbi, a, n), FOLIO_ENOTFOUND);
            /* b right after a (the last key used): a new entry, not a's */
            cr_assert_eq(folio_pcache__put(pc, dbi, b, n, vb, sizeof vb), FOLIO_OK);
            cr_assert_eq(folio_pcache__get(&v, pc, &t, dbi, a, n), FOLIO_ENOTFOUND,
                         "%zu bytes, byte %zu: a's entry took b's value", n, pos);
            cr_assert_eq(folio_pcache__put(pc, dbi, a, n, va, sizeof va), FOLIO_OK);
            cr_assert_eq(folio_pcache__get(&v, pc, &t, dbi, b, n), FOLIO_OK);
            cr_assert_eq(v.size, sizeof vb, "%zu bytes, byte %zu: b's entry took a's value",
                         n, pos);
            cr_assert_eq(folio_pcache__get(&v, pc, &t, dbi, a, n), FOLIO_OK);
            cr_assert_eq(v.size, sizeof va);
            cr_assert_eq(memcmp(v.data, va, sizeof va), 0);
        }
    }
    /* and so does LMDB, after the flush */
    cr_assert_eq(folio_pcache__flush(pc, &t), FOLIO_OK, "%s", folio_errmsg());
    uint64_t entries = 0;
    cr_assert_eq(folio_store__entries(&entries, &t, dbi), FOLIO_OK);
    cr_assert_eq(entries, 40u * 41u); /* two keys for each of the 820 (n, pos) */
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

TestSuite(pcache_arena, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Byte i of the value of key k. */
static uint8_t val_byte(unsigned k, size_t i) { return (uint8_t)(k * 13u + i * 5u + (i >> 8)); }

/* The cache's arena takes records in 1 MiB chunks: values that fill several chunks, and
 * one larger than a chunk (a chunk of its own), all read back as written, after the
 * arena has grown past them and after their keys were put again (shorter: in place). */
Test(pcache_arena, records_over_many_chunks_and_one_larger_than_a_chunk_read_back) {
    enum { KEYS = 3000, VAL = 1000, BIG = (2u << 20) + 3 };
    unsigned dbi = FOLIO_DB_PROJ0;
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_pcache *pc = cache_txn(&t, &cache);
    static uint8_t val[BIG];
    char key[32];
    for (unsigned k = 0; k < KEYS; k++) {
        size_t n = k == KEYS / 2 ? BIG : VAL + k % 7;
        for (size_t i = 0; i < n; i++) val[i] = val_byte(k, i);
        int kn = snprintf(key, sizeof key, "arena-%05u", k);
        cr_assert_eq(folio_pcache__put(pc, dbi, key, (size_t)kn, val, n), FOLIO_OK);
    }
    for (unsigned k = 0; k < KEYS; k += 2) { /* shorter values take the old ones' place */
        size_t n = VAL / 2;
        for (size_t i = 0; i < n; i++) val[i] = val_byte(k + 1, i);
        int kn = snprintf(key, sizeof key, "arena-%05u", k);
        cr_assert_eq(folio_pcache__put(pc, dbi, key, (size_t)kn, val, n), FOLIO_OK);
    }
    cr_assert_gt(folio_pcache__footprint(pc), (size_t)5 << 20);
    for (unsigned k = 0; k < KEYS; k++) {
        folio_val v;
        int kn = snprintf(key, sizeof key, "arena-%05u", k);
        cr_assert_eq(folio_pcache__get(&v, pc, &t, dbi, key, (size_t)kn), FOLIO_OK);
        int rewritten = k % 2 == 0;
        size_t n = rewritten ? VAL / 2 : k == KEYS / 2 ? BIG : VAL + k % 7;
        cr_assert_eq(v.size, n, "key %u: %zu bytes, not %zu", k, v.size, n);
        const uint8_t *p = v.data;
        for (size_t i = 0; i < n; i++)
            if (p[i] != val_byte(rewritten ? k + 1 : k, i))
                cr_assert_fail("key %u: byte %zu differs", k, i);
    }
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

/* A flush groups the dirty keys by tree before it sorts them: keys of three trees that
 * interleave by their bytes each reach their own tree, in byte order, and the flush writes
 * each tree once (it asserts so). */
Test(pcache_keys, a_flush_writes_each_tree_its_own_keys_however_they_interleave) {
    /* three trees (two projections today, and "idem": the transaction is thrown away) */
    _Static_assert(FOLIO_DB_IDEM < FOLIO_DB_PROJ0, "three distinct trees");
    cr_assert_geq(folio_projection__count(), 2);
    unsigned trees[3] = {FOLIO_DB_IDEM, FOLIO_DB_PROJ0, FOLIO_DB_PROJ0 + 1};
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_pcache *pc = cache_txn(&t, &cache);
    char key[32];
    for (unsigned k = 0; k < 300; k++) { /* key k goes to tree k % 3, in a scrambled order */
        unsigned x = (k * 7919u) % 300u;
        int n = snprintf(key, sizeof key, "%c-%03u", 'a' + x % 26, x);
        cr_assert_eq(folio_pcache__put(pc, trees[x % 3], key, (size_t)n, &x, sizeof x), FOLIO_OK);
    }
    cr_assert_eq(folio_pcache__flush(pc, &t), FOLIO_OK, "%s", folio_errmsg());
    for (unsigned d = 0; d < 3; d++) {
        folio_cursor c = {0};
        folio_val k, v, prev = {0};
        size_t count = 0;
        cr_assert_eq(folio_store__cursor_open(&c, &t, trees[d]), FOLIO_OK);
        for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
             rc = folio_store__cursor_next(&c, &k, &v), count++) {
            unsigned x;
            cr_assert_eq(v.size, sizeof x);
            memcpy(&x, v.data, sizeof x);
            cr_assert_eq(x % 3, d, "tree %u holds key %u", d, x);
            if (prev.data)
                cr_assert_lt(folio_store__key_order(prev.data, prev.size, k.data, k.size), 0);
            prev = k;
        }
        folio_store__cursor_close(&c);
        cr_assert_eq(count, 100u, "tree %u: %zu keys", d, count);
    }
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

TestSuite(pcache_streams, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* The key of stream `stream`'s record (8 bytes), or of its sums (17: tag 'r', suffix 0). */
static size_t streams_key(uint8_t key[17], uint64_t stream, int sums) {
    folio__put_be64(key, stream);
    if (!sums) return 8;
    key[8] = 'r';
    folio__put_be64(key + 9, 0);
    return 17;
}

/* What LMDB holds for key in "streams" (asserts it is there), copied into buf. */
static size_t stored(uint8_t *buf, size_t cap, const uint8_t *key, size_t klen) {
    folio_txn t = {0};
    folio_val v;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_STREAMS, key, klen), FOLIO_OK);
    cr_assert_leq(v.size, cap);
    memcpy(buf, v.data, v.size);
    folio_store__read_end(&t);
    return v.size;
}

/* A stream record and the first per-stream record after it (a customer's sums) are
 * neighbours in "streams": a miss of either reads both with one lookup in LMDB, whichever
 * comes first, and both read back as stored. A record the cache holds already (a write
 * waiting) is not replaced by what LMDB holds. A stream without a record has no sums. */
Test(pcache_streams, a_stream_record_and_its_sums_come_from_one_lookup) {
    tmpdb_customer(tmpdb, "First");
    tmpdb_customer(tmpdb, "Second");
    uint64_t id = tmpdb_card(tmpdb, "CUST-000002")->id;
    uint8_t rec_key[17], sums_key[17], rec[64], sums[64];
    size_t rk = streams_key(rec_key, id, 0), sk = streams_key(sums_key, id, 1);
    size_t rec_bytes = stored(rec, sizeof rec, rec_key, rk);
    size_t sums_bytes = stored(sums, sizeof sums, sums_key, sk);
    folio_val v;
    for (int sums_first = 0; sums_first < 2; sums_first++) {
        folio_txn t = {0};
        folio_txn_cache cache;
        folio_pcache *pc = cache_txn(&t, &cache);
        const uint8_t *k1 = sums_first ? sums_key : rec_key, *k2 = sums_first ? rec_key : sums_key;
        size_t n1 = sums_first ? sk : rk, n2 = sums_first ? rk : sk;
        cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, k1, n1), FOLIO_OK);
        cr_assert_eq(folio_pcache__reads(pc), 1);
        cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, k2, n2), FOLIO_OK);
        cr_assert_eq(folio_pcache__reads(pc), 1, "the second record took a lookup of its own");
        cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, rec_key, rk), FOLIO_OK);
        cr_assert_eq(v.size, rec_bytes);
        cr_assert_eq(memcmp(v.data, rec, rec_bytes), 0);
        cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, sums_key, sk), FOLIO_OK);
        cr_assert_eq(v.size, sums_bytes);
        cr_assert_eq(memcmp(v.data, sums, sums_bytes), 0);
        folio_store__abort(&t);
        folio_pcache__free(pc);
    }
    /* a write waiting for the stream record stays what the cache answers */
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_pcache *pc = cache_txn(&t, &cache);
    static const uint8_t mine[16] = {7};
    cr_assert_eq(folio_pcache__put(pc, FOLIO_DB_STREAMS, rec_key, rk, mine, sizeof mine), FOLIO_OK);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, sums_key, sk), FOLIO_OK);
    cr_assert_eq(memcmp(v.data, sums, sums_bytes), 0);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, rec_key, rk), FOLIO_OK);
    cr_assert_eq(v.size, sizeof mine);
    cr_assert_eq(memcmp(v.data, mine, sizeof mine), 0, "the stored record replaced a write");
    /* a stream that has no record (the next id): neither has its sums */
    uint8_t none_key[17];
    size_t nk = streams_key(none_key, id + 1, 1);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, none_key, nk), FOLIO_ENOTFOUND);
    nk = streams_key(none_key, id + 1, 0);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, FOLIO_DB_STREAMS, none_key, nk), FOLIO_ENOTFOUND);
    folio_store__abort(&t);
    folio_pcache__free(pc);
}
