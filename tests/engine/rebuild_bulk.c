/*
 * tests/engine/rebuild_bulk.c - a catch-up (rebuild) folds through the record cache in bulk
 * mode: its write transactions end at the cache's bulk budget, a tree emptied for it is
 * known to hold only what the fold put (no lookups in LMDB), and its flush appends the keys
 * past each tree's last key in key order (full pages). The trees come out as a replay of the
 * log makes them (check), the drops commit before the fold so the file does not grow, and a
 * rebuild that fails part-way has saved the transactions before the failure.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "tmpdb.h"

TestSuite(rebuild_bulk, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const folio_write_opts W = {.actor = "tester"};

/* customers customers, then docs invoices each (round: only that round of invoices). */
typedef struct {
    int customers, docs, round;
} ledger_shape;

static int fill(folio_db *db, void *arg) {
    const ledger_shape *sh = arg;
    folio_write_result r;
    char name[32], ref[32];
    for (int i = 0; i < sh->customers && sh->round < 0; i++) {
        snprintf(name, sizeof name, "Customer %05d", i);
        folio_customer_new c = {.name = name, .status = "active", .currency = "EUR"};
        int rc = folio_customer_create(&r, db, &W, &c);
        if (rc < 0) return rc;
    }
    for (int d = 0; d < sh->docs; d++) {
        if (sh->round >= 0 && d != sh->round) continue;
        for (int i = 0; i < sh->customers; i++) {
            folio_document_new inv = {.amount = "10.00", .date = "2026-01-05"};
            snprintf(ref, sizeof ref, "CUST-%06d", (i * 7919 + d) % sh->customers + 1);
            int rc = folio_invoice_issue(&r, db, &W, ref, &inv);
            if (rc < 0) return rc;
        }
    }
    return FOLIO_OK;
}

/* Everything in one batch. */
static void make_ledger(int customers, int docs) {
    ledger_shape sh = {customers, docs, -1};
    cr_assert_eq(folio_batch_run(tmpdb, fill, &sh, 0), FOLIO_OK, "%s", folio_errmsg());
}

/* The customers in one batch, then each round of invoices in a batch of its own: every
 * commit after the first inserts between records already in LMDB, so pages split in the
 * middle and stay about half full, whatever the build (a debug build's invariant check also
 * flushes the record cache after every command, which a release build does not). */
static void make_ledger_in_rounds(int customers, int docs) {
    ledger_shape sh = {customers, 0, -1};
    cr_assert_eq(folio_batch_run(tmpdb, fill, &sh, 0), FOLIO_OK, "%s", folio_errmsg());
    for (int d = 0; d < docs; d++) {
        sh = (ledger_shape){customers, docs, d};
        cr_assert_eq(folio_batch_run(tmpdb, fill, &sh, 0), FOLIO_OK, "%s", folio_errmsg());
    }
}

static unsigned dbi_of(const char *name) {
    for (unsigned i = 0; i < folio_projection__count(); i++)
        if (strcmp(folio_projection__name(i), name) == 0) return FOLIO_DB_PROJ0 + i;
    cr_assert_fail("no projection %s", name);
    return 0;
}

static void check_ok(void) {
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(events, st.events);
}

/* The rebuilt trees hold what a replay makes, in full pages: the pages in use shrink (the
 * incremental folds split pages in the middle and leave them about half full), and every
 * record of the emptied trees was appended, "streams" (stream records and per-stream
 * records) included. */
Test(rebuild_bulk, a_rebuild_appends_full_pages_that_check_as_a_replay, .timeout = 120) {
    make_ledger_in_rounds(400, 10);
    check_ok();
    uint64_t events;
    folio_stats before, after;
    cr_assert_eq(folio_stats_get(&before, tmpdb), FOLIO_OK);
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(events, before.events);
    uint64_t records = 0;
    folio_txn t = {0};
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    for (unsigned i = 0; i < folio_projection__count(); i++) {
        uint64_t n = 0;
        cr_assert_eq(folio_store__entries(&n, &t, FOLIO_DB_PROJ0 + i), FOLIO_OK);
        records += n;
    }
    /* the projections' per-stream records sit between the stream records in "streams":
     * the rebuild empties that tree too and appends both */
    uint64_t per_stream = 0, streams = 0;
    folio_cursor c = {0};
    folio_val k, v;
    cr_assert_eq(folio_store__cursor_open(&c, &t, FOLIO_DB_STREAMS), FOLIO_OK);
    for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v)) {
        per_stream += k.size > 8;
        streams++;
    }
    folio_store__cursor_close(&c);
    folio_store__read_end(&t);
    cr_assert_gt(per_stream, 400 * 10);
    cr_assert_eq(folio_pcache__appends(tmpdb->pcache), records + streams,
                 "%zu of %llu records appended", folio_pcache__appends(tmpdb->pcache),
                 (unsigned long long)(records + streams));
    check_ok();
    cr_assert_eq(folio_stats_get(&after, tmpdb), FOLIO_OK);
    /* the log and the streams did not change: all of the difference is the projections */
    cr_assert_lt(after.used_bytes, before.used_bytes - 40 * 4096,
                 "used bytes %llu before the rebuild, %llu after: the rebuilt trees are not "
                 "denser",
                 (unsigned long long)before.used_bytes, (unsigned long long)after.used_bytes);
    /* the ledger still takes writes in the middle of its full pages */
    folio_write_result r;
    folio_document_new inv = {.amount = "5.00", .date = "2026-02-01"};
    for (int i = 1; i <= 400; i += 3)
        cr_assert_eq(folio_invoice_issue(&r, tmpdb, &W, tmpdb_strf("CUST-%06d", i), &inv),
                     FOLIO_OK, "%s", folio_errmsg());
    check_ok();
}

/* The drops commit before the fold, and one more transaction passes before it takes pages:
 * the fold reuses the old trees' pages instead of growing the file. The receivables' records
 * in "streams" (~100 pages here) go with the drop too: the stream records go to "scratch"
 * and back, so the drop takes new pages for two copies of the stream records only. */
Test(rebuild_bulk, a_rebuild_reuses_the_pages_of_the_trees_it_drops, .timeout = 120) {
    make_ledger(400, 10);
    uint64_t events;
    folio_stats st0, st1, st2;
    cr_assert_eq(folio_stats_get(&st0, tmpdb), FOLIO_OK);
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_stats_get(&st1, tmpdb), FOLIO_OK);
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_stats_get(&st2, tmpdb), FOLIO_OK);
    /* a few pages for LMDB's free list (a new ledger has its projection states from the
     * start and so made two commits fewer before st0: its free list is that much shorter),
     * and two copies of the stream records (34 bytes each in a leaf page); the trees take
     * ~200 pages */
    uint64_t copies = 2 * ((st0.streams * 34 + 4000) / 4000);
    cr_assert_eq(st0.streams, 401);
    cr_assert_leq(st1.file_bytes, st0.file_bytes + (6 + copies) * 4096,
                  "the file grew from %llu to %llu bytes", (unsigned long long)st0.file_bytes,
                  (unsigned long long)st1.file_bytes);
    cr_assert_leq(st2.file_bytes, st0.file_bytes + (6 + copies) * 4096,
                  "the file grew from %llu to %llu bytes", (unsigned long long)st0.file_bytes,
                  (unsigned long long)st2.file_bytes);
    check_ok();
}

/* With a small bulk budget a rebuild commits many transactions (each after the cache
 * passed the budget): the later ones find the trees not empty, look records up in LMDB and
 * put keys in the middle; the result is the same. A failure part-way leaves the
 * transactions before it committed, and the next open finishes the job. */
Test(rebuild_bulk, a_small_budget_commits_as_it_goes_and_a_failed_rebuild_resumes,
     .timeout = 120) {
    make_ledger(200, 6);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.rebuild_cache_bytes = FOLIO_REBUILD_CACHE_BYTES_MIN;
    tmpdb_close(tmpdb);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), &o);
    folio_store__inject_put_failure(2000); /* inside the fold, past a few budgets */
    uint64_t events;
    int rc = folio_rebuild(&events, tmpdb);
    folio_store__inject_put_failure(0);
    cr_assert_eq(rc, FOLIO_ERROR, "the injected failure should stop the rebuild: %s",
                 folio_errmsg());
    folio_txn t = {0};
    folio_proj_states s;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_projection__load_store(&s, &t), FOLIO_OK);
    folio_store__read_end(&t);
    for (unsigned i = 0; i < folio_projection__count(); i++) {
        cr_assert_eq(s.version[i], folio_registry[i]->version);
        cr_assert_gt(s.last_seq[i], 0, "projection %s saved nothing before the failure",
                     folio_projection__name(i));
        cr_assert_lt(s.last_seq[i], st.events);
    }
    tmpdb_reopen(); /* catches up from where it stopped */
    check_ok();
}

/* A tree claimed fresh (empty when the cache began) is answered from the cache alone: a
 * record put into LMDB behind the cache's back is not seen. A tree that is not empty is
 * not claimed, and its records are found. Both until the cache is reset. */
Test(rebuild_bulk, only_an_empty_tree_is_claimed_fresh_and_then_not_looked_up) {
    unsigned rec = dbi_of("receivables"), dir = dbi_of("directory");
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_val v;
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, rec), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, dir, "zz", 2, "old", 3, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);

    folio_pcache *pc = folio_pcache__create();
    cr_assert_not_null(pc);
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    folio_pcache__bulk(pc, 512u << 20);
    cr_assert_eq(folio_pcache__claim_fresh(pc, &t, rec), FOLIO_OK);
    cr_assert_eq(folio_pcache__claim_fresh(pc, &t, dir), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, rec, "behind", 6, "x", 1, 0), FOLIO_OK);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, rec, "behind", 6), FOLIO_ENOTFOUND,
                 "a fresh tree's record not cached is absent without a lookup");
    cr_assert_eq(folio_pcache__del(pc, &t, rec, "behind", 6), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, dir, "zz", 2), FOLIO_OK,
                 "a tree that was not empty is looked up");
    cr_assert_eq(v.size, 3);
    cr_assert_eq(memcmp(v.data, "old", 3), 0);
    cr_assert_eq(folio_pcache__put(pc, rec, "new", 3, "y", 1), FOLIO_OK);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, rec, "new", 3), FOLIO_OK);
    folio_store__abort(&t);

    folio_pcache__reset(pc); /* a new cache forgets the claim */
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, rec, "behind", 6, "x", 1, 0), FOLIO_OK);
    cr_assert_eq(folio_pcache__get(&v, pc, &t, rec, "behind", 6), FOLIO_OK);
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

/* A bulk flush appends the keys past a tree's last key and puts the others in the middle;
 * deletes of keys past it (put and deleted in the cache) reach nothing. Many keys in random
 * order with long shared prefixes (ties past the sort's 23-byte prefix) come out sorted:
 * an append out of order would fail. */
Test(rebuild_bulk, a_bulk_flush_appends_past_the_last_key_and_puts_the_rest, .timeout = 60) {
    unsigned rec = dbi_of("receivables");
    folio_txn t = {0};
    folio_txn_cache cache;
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, rec), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, rec, "k-0000500", 9, "mid", 3, 0), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, rec, "k-0001000", 9, "end", 3, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);

    enum { N = 20000 };
    folio_pcache *pc = folio_pcache__create();
    char key[64];
    unsigned seed = 12345;
    size_t past = 0; /* distinct keys put that sort after "k-0001000" */
    static uint8_t seen[4 * N];
    memset(seen, 0, sizeof seen);
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    folio_pcache__bulk(pc, 512u << 20);
    for (unsigned i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % (4 * N);
        past += !seen[k] && (!(k & 1) || k / 2 > 1000);
        seen[k] = 1;
        /* short keys around the two stored ones, and long ones sharing 30 bytes */
        int n = (k & 1) ? snprintf(key, sizeof key, "k-%07u", k / 2)
                        : snprintf(key, sizeof key, "long-shared-prefix-of-30-bytes%07u", k);
        cr_assert_eq(folio_pcache__put(pc, rec, key, (size_t)n, key, (size_t)n), FOLIO_OK,
                     "%s", folio_errmsg());
    }
    cr_assert_eq(folio_pcache__put(pc, rec, "zz-deleted", 10, "d", 1), FOLIO_OK);
    cr_assert_eq(folio_pcache__del(pc, &t, rec, "zz-deleted", 10), FOLIO_OK);
    cr_assert_eq(folio_pcache__flush(pc, &t), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_pcache__appends(pc), past, "%zu keys appended, %zu are past the last",
                 folio_pcache__appends(pc), past);
    cr_assert_lt(past, (size_t)N, "some keys go in the middle");

    folio_cursor c = {0};
    folio_val k, v, prev = {0};
    size_t count = 0, shared = 0;
    cr_assert_eq(folio_store__cursor_open(&c, &t, rec), FOLIO_OK);
    for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v), count++) {
        if (prev.data) {
            size_t m = prev.size < k.size ? prev.size : k.size;
            int cmp = memcmp(prev.data, k.data, m);
            cr_assert(cmp < 0 || (cmp == 0 && prev.size < k.size), "keys out of order");
        }
        if (k.size == 9 && memcmp(k.data, "k-0000500", 9) == 0) {
            shared++; /* the stored one, unless the cache put it too */
        } else if (k.size == 9 && memcmp(k.data, "k-0001000", 9) == 0) {
            shared++;
        } else {
            cr_assert_eq(v.size, k.size);
            cr_assert_eq(memcmp(v.data, k.data, k.size), 0);
        }
        cr_assert(k.size != 10 || memcmp(k.data, "zz-deleted", 10) != 0);
        prev = k;
    }
    folio_store__cursor_close(&c);
    cr_assert_eq(shared, 2);
    uint64_t entries = 0;
    cr_assert_eq(folio_store__entries(&entries, &t, rec), FOLIO_OK);
    cr_assert_eq(entries, count);
    cr_assert_gt(count, N / 2);
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

/* A rebuild whose transactions outgrow the map (a ledger opened with a small map) grows it
 * and tries again until it has committed: it does not stop at a commit that failed. */
Test(rebuild_bulk, a_rebuild_that_fills_the_map_grows_it_and_finishes, .timeout = 120) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.map_bytes = 256u << 10;
    tmpdb_close(tmpdb);
    const char *p = tmpdb_path("small.db");
    tmpdb = tmpdb_open(p, &o);
    make_ledger(300, 8);
    for (int i = 0; i < 3; i++) {
        uint64_t events;
        tmpdb_close(tmpdb);
        tmpdb = tmpdb_open(p, &o); /* the map back to its small size */
        cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
        folio_stats st;
        cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK, "rebuild %d: %s", i,
                     folio_errmsg());
    }
    check_ok();
}

/* Lines of /proc/self/smaps "VmFlags:" that carry "hg" (madvise(MADV_HUGEPAGE)). */
static int huge_page_hinted_mappings(void) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " hg")) n++;
    fclose(f);
    return n;
}

/* A bulk cache's large blocks (its table, entries and arena chunks of many megabytes) ask
 * for transparent huge pages: a rebuild probes them at random. */
Test(rebuild_bulk, a_bulk_cache_asks_for_huge_pages_for_its_large_blocks) {
    if (huge_page_hinted_mappings() < 0) cr_skip_test("no /proc/self/smaps");
    unsigned rec = dbi_of("receivables");
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_pcache *pc = folio_pcache__create();
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    int before = huge_page_hinted_mappings();
    folio_pcache__bulk(pc, 512u << 20);
    uint8_t key[17] = {'o'}, val[40] = {0};
    for (uint64_t i = 0; i < 300000; i++) {
        folio__put_be64(key + 1, i % 1000);
        folio__put_be64(key + 9, i);
        cr_assert_eq(folio_pcache__put(pc, rec, key, sizeof key, val, sizeof val), FOLIO_OK);
    }
    int after = huge_page_hinted_mappings();
    folio_store__abort(&t);
    folio_pcache__free(pc);
    cr_assert_gt(after, before, "no mapping of the cache asked for huge pages (%d, %d)", before,
                 after);
}

/* Keys of the flush test: "f" + a 6-digit number, so that numbers sort as keys do. */
static size_t flush_key(char *buf, unsigned k) {
    return (size_t)snprintf(buf, 16, "f%06u", k);
}

/* The value operation op (-1: the stored one) writes for key number k (64 bytes; a prefix
 * is stored). */
static void flush_val(char *val, int op, unsigned k) {
    for (int i = 0; i < 64; i++) val[i] = (char)('a' + (unsigned)(op * 7 + (int)k + i) % 26);
}

/* A flush writes each tree through one cursor it keeps across the tree's keys (in key order):
 * puts of new keys, overwrites, deletes of stored keys, keys put and deleted in the cache,
 * spread over many leaf pages of two trees that already hold records, land exactly as a
 * model of the same operations says, with or without bulk mode (where the keys past a
 * tree's last key are appended). A put or delete at the cursor's old position instead of
 * at its key would show up as a wrong key or value. */
static void flush_matches_a_model(int bulk) {
    enum { STORED = 3000, KEYS = 9000 }; /* stored: the even numbers below 2 * STORED */
    unsigned trees[2] = {dbi_of("receivables"), dbi_of("directory")};
    static int16_t model[2][KEYS]; /* -1 absent, else the value's length */
    static int model_op[2][KEYS];  /* the operation that wrote it (-1: stored before) */
    folio_txn t = {0};
    folio_txn_cache cache;
    char key[16], val[64];
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    for (int d = 0; d < 2; d++) {
        cr_assert_eq(folio_store__drop(&t, trees[d]), FOLIO_OK);
        for (unsigned k = 0; k < KEYS; k++) {
            model[d][k] = -1;
            if (k % 2 || k >= 2 * STORED) continue;
            model[d][k] = (int16_t)(k % 50 + 1);
            model_op[d][k] = -1;
            flush_val(val, -1, k);
            cr_assert_eq(folio_store__put(&t, trees[d], key, flush_key(key, k), val,
                                          (size_t)model[d][k], 0),
                         FOLIO_OK);
        }
    }
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);

    folio_pcache *pc = folio_pcache__create();
    cr_assert_not_null(pc);
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    if (bulk) folio_pcache__bulk(pc, 512u << 20);
    unsigned seed = 777u + (unsigned)bulk;
    for (int op = 0; op < 12000; op++) {
        seed = seed * 1103515245u + 12345u;
        int d = (seed >> 4) & 1;
        unsigned k = (seed >> 8) % KEYS;
        size_t n = flush_key(key, k);
        folio_val v;
        if ((seed >> 20) % 3 == 0) { /* delete, if there is anything to delete */
            int rc = folio_pcache__del(pc, &t, trees[d], key, n);
            cr_assert_eq(rc, model[d][k] < 0 ? FOLIO_ENOTFOUND : FOLIO_OK, "delete f%06u", k);
            model[d][k] = -1;
        } else {
            int16_t len = (int16_t)((seed >> 12) % 60 + 1);
            flush_val(val, op, k);
            cr_assert_eq(folio_pcache__put(pc, trees[d], key, n, val, (size_t)len), FOLIO_OK);
            model[d][k] = len;
            model_op[d][k] = op;
            cr_assert_eq(folio_pcache__get(&v, pc, &t, trees[d], key, n), FOLIO_OK);
            cr_assert_eq(v.size, (size_t)len);
        }
    }
    size_t appends = folio_pcache__appends(pc);
    cr_assert_eq(folio_pcache__flush(pc, &t), FOLIO_OK, "%s", folio_errmsg());
    if (bulk)
        cr_assert_gt(folio_pcache__appends(pc), appends, "keys past the last were appended");
    else
        cr_assert_eq(folio_pcache__appends(pc), appends, "no appends outside bulk mode");
    /* what the cache says (clean now) and what the trees hold both match the model */
    for (int d = 0; d < 2; d++) {
        folio_cursor c = {0};
        folio_val k, v;
        unsigned next = 0; /* the model's next present key */
        cr_assert_eq(folio_store__cursor_open(&c, &t, trees[d]), FOLIO_OK);
        for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc != FOLIO_ITEROVER;
             rc = folio_store__cursor_next(&c, &k, &v)) {
            cr_assert_eq(rc, FOLIO_OK);
            while (next < KEYS && model[d][next] < 0) next++;
            cr_assert_lt(next, KEYS, "tree %d holds a key the model does not", d);
            cr_assert_eq(k.size, flush_key(key, next));
            cr_assert_eq(memcmp(k.data, key, k.size), 0, "tree %d: %.*s where f%06u belongs", d,
                         (int)k.size, (const char *)k.data, next);
            cr_assert_eq(v.size, (size_t)model[d][next], "tree %d, f%06u: %zu bytes, not %d",
                         d, next, v.size, model[d][next]);
            flush_val(val, model_op[d][next], next);
            cr_assert_eq(memcmp(v.data, val, v.size), 0, "tree %d, f%06u: wrong value", d, next);
            next++;
        }
        folio_store__cursor_close(&c);
        while (next < KEYS && model[d][next] < 0) next++;
        cr_assert_eq(next, KEYS, "tree %d lacks f%06u", d, next);
        for (unsigned x = 0; x < KEYS; x += 7) {
            folio_val v2;
            int rc = folio_pcache__get(&v2, pc, &t, trees[d], key, flush_key(key, x));
            cr_assert_eq(rc, model[d][x] < 0 ? FOLIO_ENOTFOUND : FOLIO_OK);
        }
    }
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

Test(rebuild_bulk, a_flush_through_kept_cursors_writes_what_a_model_says, .timeout = 60) {
    flush_matches_a_model(0);
}

Test(rebuild_bulk, a_bulk_flush_through_kept_cursors_writes_what_a_model_says, .timeout = 60) {
    flush_matches_a_model(1);
}

/* Every projection record (key and value) in key order, one tree after the other, each
 * record as u32 key length, key, u32 value length, value; *bytes_out its length. */
static uint8_t *dump_projections(size_t *bytes_out) {
    size_t cap = 1u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    cr_assert_not_null(buf);
    folio_txn t = {0};
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    for (unsigned i = 0; i < folio_projection__count(); i++) {
        folio_cursor c = {0};
        folio_val k, v;
        cr_assert_eq(folio_store__cursor_open(&c, &t, FOLIO_DB_PROJ0 + i), FOLIO_OK);
        for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc != FOLIO_ITEROVER;
             rc = folio_store__cursor_next(&c, &k, &v)) {
            cr_assert_eq(rc, FOLIO_OK);
            while (n + 8 + k.size + v.size > cap) cr_assert_not_null(buf = realloc(buf, cap *= 2));
            folio__put_le32(buf + n, (uint32_t)k.size);
            memcpy(buf + n + 4, k.data, k.size);
            n += 4 + k.size;
            folio__put_le32(buf + n, (uint32_t)v.size);
            memcpy(buf + n + 4, v.data, v.size);
            n += 4 + v.size;
        }
        folio_store__cursor_close(&c);
    }
    folio_store__read_end(&t);
    *bytes_out = n;
    return buf;
}

/* Catch-up transactions of a rebuild: the catch-up reports its progress after each one
 * (this ledger is far smaller than the 65,536 events between reports inside one). */
static int rebuild_reports;
static void count_rebuild_reports(void *payload, const char *what, uint64_t done,
                                  uint64_t total) {
    (void)payload;
    (void)done;
    (void)total;
    if (strcmp(what, "rebuild") == 0) rebuild_reports++;
}

static int rebuild_counting_transactions(void) {
    uint64_t events;
    rebuild_reports = 0;
    folio_set_progress(tmpdb, count_rebuild_reports, NULL);
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_set_progress(tmpdb, NULL, NULL);
    return rebuild_reports;
}

/* The open option rebuild_cache_bytes sets the budget a rebuild's transactions end at: the
 * smallest one folds this ledger in several transactions, where the default folds it in one
 * (after the one that drops the trees), and the trees come out the same, record for record. */
Test(rebuild_bulk, a_small_rebuild_cache_folds_in_several_transactions_to_the_same_trees,
     .timeout = 120) {
    make_ledger(300, 8);
    int with_default = rebuild_counting_transactions();
    cr_assert_eq(with_default, 2, "the drop and one fold: %d transactions", with_default);
    size_t want_bytes, got_bytes;
    uint8_t *want = dump_projections(&want_bytes);
    check_ok();

    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.rebuild_cache_bytes = FOLIO_REBUILD_CACHE_BYTES_MIN;
    tmpdb_close(tmpdb);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), &o);
    cr_assert_eq(tmpdb->rebuild_cache_bytes, (size_t)FOLIO_REBUILD_CACHE_BYTES_MIN);
    int with_small = rebuild_counting_transactions();
    cr_assert_geq(with_small, 5, "the drop and at least four folds: %d transactions",
                  with_small);
    uint8_t *got = dump_projections(&got_bytes);
    cr_assert_eq(got_bytes, want_bytes);
    cr_assert_eq(memcmp(got, want, want_bytes), 0, "the trees differ");
    check_ok();
    free(want);
    free(got);
}

/* The fields of folio_open_opts version 1, as a caller built against it lays them out. */
typedef struct {
    unsigned version;
    uint64_t map_bytes;
    int read_only, must_exist, group_read, allow_shared_write;
} open_opts_v1;
_Static_assert(sizeof(open_opts_v1) == offsetof(folio_open_opts, rebuild_cache_bytes),
               "version 2 appends its field to version 1's");

/* A caller built against version 1 passes a struct without rebuild_cache_bytes: the open
 * reads no field past version 1's (bytes after them here are garbage that would be refused)
 * and gives it today's default, as NULL options and FOLIO_OPEN_OPTS_INIT do. */
Test(rebuild_bulk, version_1_options_open_with_the_default_rebuild_cache) {
    open_opts_v1 v1 = {.version = 1, .must_exist = 1};
    folio_open_opts *o = malloc(sizeof *o);
    cr_assert_not_null(o);
    memset(o, 0xff, sizeof *o);
    memcpy(o, &v1, sizeof v1);
    tmpdb_close(tmpdb);
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), o);
    cr_assert_eq(db->rebuild_cache_bytes, (size_t)(512u << 20));
    tmpdb_close(db);
    free(o);
    folio_open_opts init = FOLIO_OPEN_OPTS_INIT;
    cr_assert_eq(init.version, 2);
    db = tmpdb_open(tmpdb_ledger_path(), &init);
    cr_assert_eq(db->rebuild_cache_bytes, (size_t)FOLIO_REBUILD_CACHE_BYTES_DEFAULT);
    tmpdb_close(db);
    db = tmpdb_open(tmpdb_ledger_path(), NULL);
    cr_assert_eq(db->rebuild_cache_bytes, (size_t)(512u << 20));
}

/* A budget out of range is refused with one line naming it; the edges are accepted. */
Test(rebuild_bulk, a_rebuild_cache_out_of_range_is_refused) {
    const uint64_t bad[] = {FOLIO_REBUILD_CACHE_BYTES_MIN - 1, 1, FOLIO_REBUILD_CACHE_BYTES_MAX + 1,
                            UINT64_MAX};
    tmpdb_close(tmpdb);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
        o.rebuild_cache_bytes = bad[i];
        folio_db *db = NULL;
        cr_assert_eq(folio_db_open(&db, tmpdb_ledger_path(), &o), FOLIO_EINVAL, "%llu",
                     (unsigned long long)bad[i]);
        cr_assert_null(db);
        cr_assert_not_null(strstr(folio_errmsg(), "rebuild cache"), "%s", folio_errmsg());
        cr_assert_null(strchr(folio_errmsg(), '\n'));
    }
    const uint64_t good[] = {FOLIO_REBUILD_CACHE_BYTES_MIN, FOLIO_REBUILD_CACHE_BYTES_MAX};
    for (size_t i = 0; i < 2; i++) {
        folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
        o.rebuild_cache_bytes = good[i];
        folio_db *db = tmpdb_open(tmpdb_ledger_path(), &o);
        cr_assert_eq(db->rebuild_cache_bytes, (size_t)good[i]);
        tmpdb_close(db);
    }
}

/* The projections' records of the live ledger: their own sub-databases, and their
 * per-stream records in "streams" (longer keys than the stream records' 8 bytes). */
static uint64_t live_records(void) {
    uint64_t records = 0;
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    for (unsigned i = 0; i < folio_projection__count(); i++) {
        uint64_t n = 0;
        cr_assert_eq(folio_store__entries(&n, &t, FOLIO_DB_PROJ0 + i), FOLIO_OK);
        records += n;
    }
    cr_assert_eq(folio_store__cursor_open(&c, &t, FOLIO_DB_STREAMS), FOLIO_OK);
    for (int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc != FOLIO_ITEROVER;
         rc = folio_store__cursor_next(&c, &k, &v)) {
        cr_assert_eq(rc, FOLIO_OK);
        records += k.size >= FOLIO_PROJ_STREAM_KEY_BYTES;
    }
    folio_store__cursor_close(&c);
    folio_store__read_end(&t);
    return records;
}

/* folio_check folds its scratch ledger as a rebuild does: the record cache in bulk mode,
 * one transaction at the default budget, every record appended to the empty trees. */
Test(rebuild_bulk, a_check_folds_its_scratch_ledger_in_bulk_appending_every_record,
     .timeout = 120) {
    make_ledger(300, 8);
    uint64_t records = live_records();
    size_t before = folio_pcache__appends_all();
    check_ok();
    cr_assert_eq(folio_pcache__appends_all() - before, records,
                 "%zu of %llu records appended", folio_pcache__appends_all() - before,
                 (unsigned long long)records);
}

/* With the smallest rebuild cache the check's fold takes several transactions (the later
 * ones find the trees not empty, look records up and put keys in the middle, so fewer keys
 * are appended); it still agrees with the live projections, and still finds a record that
 * differs from what the log makes. */
Test(rebuild_bulk, a_check_in_several_bulk_transactions_agrees_and_finds_a_difference,
     .timeout = 120) {
    make_ledger(300, 8);
    uint64_t records = live_records();
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.rebuild_cache_bytes = FOLIO_REBUILD_CACHE_BYTES_MIN;
    tmpdb_close(tmpdb);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), &o);
    size_t before = folio_pcache__appends_all();
    check_ok();
    size_t appended = folio_pcache__appends_all() - before;
    cr_assert_gt(appended, 0);
    cr_assert_lt(appended, records, "%zu of %llu records appended: one transaction?", appended,
                 (unsigned long long)records);

    /* damage one record of the live receivables (the middle key) */
    unsigned rec = dbi_of("receivables");
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    uint8_t key[512], val[4096];
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__cursor_open(&c, &t, rec), FOLIO_OK);
    uint64_t rec_records = 0;
    cr_assert_eq(folio_store__entries(&rec_records, &t, rec), FOLIO_OK);
    int rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v);
    for (uint64_t i = 0; rc == FOLIO_OK && i < rec_records / 2; i++)
        rc = folio_store__cursor_next(&c, &k, &v);
    cr_assert_eq(rc, FOLIO_OK);
    cr_assert_leq(v.size, sizeof val);
    size_t klen = k.size, vlen = v.size;
    memcpy(key, k.data, klen);
    memcpy(val, v.data, vlen);
    folio_store__cursor_close(&c);
    val[vlen - 1] ^= 0x01;
    cr_assert_eq(folio_store__put(&t, rec, key, klen, val, vlen, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_ECORRUPT);
    cr_assert_not_null(strstr(folio_errmsg(), "receivables"), "%s", folio_errmsg());
}

/* A flush sorts its keys by copies of their first 23 bytes, zero-padded, and compares whole
 * keys where those tie: keys of 1 to 40 bytes over a small alphabet with zero bytes in it
 * (so that a short key and a longer one padded with zeros tie in the prefix), many sharing
 * prefixes longer than 23 bytes, all come out in LMDB's order. Into an empty tree in bulk
 * mode every key is appended, so a key out of order fails the flush. */
Test(rebuild_bulk, a_flush_sorts_keys_of_every_length_and_shared_prefix, .timeout = 60) {
    unsigned rec = dbi_of("receivables"), dir = dbi_of("directory");
    folio_txn t = {0};
    folio_txn_cache cache;
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, rec), FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, dir), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    folio_pcache *pc = folio_pcache__create();
    cr_assert_not_null(pc);
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    folio_pcache__bulk(pc, 512u << 20);
    const char alphabet[] = {0, 1, 'a', 'b', (char)0xff};
    unsigned seed = 99;
    uint8_t key[40];
    for (int i = 0; i < 40000; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % 40;
        size_t shared = (seed >> 16) % 4 == 0 ? 30 : 0; /* ties past the 23-byte prefix */
        for (size_t j = 0; j < n; j++) {
            seed = seed * 1103515245u + 12345u;
            key[j] = j < shared ? 'p' : (uint8_t)alphabet[(seed >> 12) % sizeof alphabet];
        }
        cr_assert_eq(folio_pcache__put(pc, (seed >> 20) & 1 ? rec : dir, key, n, key, n),
                     FOLIO_OK);
    }
    size_t entries_put = 0;
    cr_assert_eq(folio_pcache__flush(pc, &t), FOLIO_OK, "%s", folio_errmsg());
    entries_put = folio_pcache__appends(pc);
    uint64_t in_trees = 0, m = 0;
    cr_assert_eq(folio_store__entries(&m, &t, rec), FOLIO_OK);
    in_trees += m;
    cr_assert_eq(folio_store__entries(&m, &t, dir), FOLIO_OK);
    in_trees += m;
    cr_assert_eq(entries_put, in_trees, "every distinct key appended");
    cr_assert_gt(in_trees, 20000);
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

/* The last flush of a bulk transaction gives back the cache's hash table before it writes
 * (the flush is when a rebuild's memory peaks): the cache counts that much less, every
 * record still lands, and after a reset the cache works again. */
Test(rebuild_bulk, a_final_flush_gives_back_the_table_before_it_writes, .timeout = 60) {
    unsigned rec = dbi_of("receivables");
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_pcache *pc = folio_pcache__create();
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, rec), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    folio_pcache__bulk(pc, 512u << 20);
    cr_assert_eq(folio_pcache__claim_fresh(pc, &t, rec), FOLIO_OK);
    uint8_t key[17] = {'o'}, val[40] = {0};
    enum { N = 100000 };
    for (uint64_t i = 0; i < N; i++) {
        folio__put_be64(key + 1, (i * 7919) % N);
        folio__put_be64(key + 9, i);
        cr_assert_eq(folio_pcache__put(pc, rec, key, sizeof key, val, sizeof val), FOLIO_OK);
    }
    size_t before = folio_pcache__footprint(pc);
    size_t appends = folio_pcache__appends(pc);
    cr_assert_eq(folio_pcache__flush_final(pc, &t), FOLIO_OK, "%s", folio_errmsg());
    size_t after = folio_pcache__footprint(pc);
    /* the table holds at least two slots of 8 bytes per record */
    cr_assert_leq(after + 2 * 8 * N, before, "footprint %zu before, %zu after", before, after);
    cr_assert_eq(folio_pcache__appends(pc) - appends, (size_t)N);
    cr_assert_eq(folio_pcache__flush(pc, &t), FOLIO_OK, "nothing left to write");
    uint64_t entries = 0;
    cr_assert_eq(folio_store__entries(&entries, &t, rec), FOLIO_OK);
    cr_assert_eq(entries, N);
    folio_pcache__reset(pc);
    folio_val v;
    cr_assert_eq(folio_pcache__get(&v, pc, &t, rec, key, sizeof key), FOLIO_OK);
    cr_assert_eq(v.size, sizeof val);
    folio_store__abort(&t);
    folio_pcache__free(pc);
}

/* After the final flush the cache has no table: a lookup would make a second entry for a
 * key it holds, so it aborts instead. */
Test(rebuild_bulk, a_lookup_after_the_final_flush_aborts, .signal = SIGABRT) {
    unsigned rec = dbi_of("receivables");
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_val v;
    folio_pcache *pc = folio_pcache__create();
    cr_assert_eq(folio_log__begin(&t, &cache, tmpdb->store, pc), FOLIO_OK);
    folio_pcache__bulk(pc, 512u << 20);
    cr_assert_eq(folio_pcache__put(pc, rec, "k", 1, "v", 1), FOLIO_OK);
    cr_assert_eq(folio_pcache__flush_final(pc, &t), FOLIO_OK);
    (void)folio_pcache__get(&v, pc, &t, rec, "k", 1);
}
