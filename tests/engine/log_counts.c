/*
 * tests/engine/log_counts.c - the log's own counts (events of each type, streams), kept by
 * every append beside the head in the root record "\0counts" (docs/FORMAT.md): stats read
 * them without any projection, a failed batch leaves them as they were, and verify recounts
 * the log and refuses a record that disagrees with it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(log_counts, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const folio_write_opts W = {.actor = "tester"};

/* Two customers, three invoices: returns the stats. */
static folio_stats ledger(void) {
    tmpdb_customer(tmpdb, "First");
    tmpdb_customer(tmpdb, "Second");
    folio_customer *c = tmpdb_card(tmpdb, "CUST-000001");
    for (int i = 1; i <= 3; i++) tmpdb_invoice(tmpdb, c->id, tmpdb_strf("INV-%d", i), "10.00");
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    return st;
}

static void put_counts(const uint8_t *val, size_t n) {
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, FOLIO_ROOT_COUNTS_KEY,
                                  FOLIO_ROOT_COUNTS_KEY_BYTES, val, n, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

static size_t get_counts(uint8_t *val, size_t cap) {
    folio_txn t = {0};
    folio_val v;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_ROOT, FOLIO_ROOT_COUNTS_KEY,
                                  FOLIO_ROOT_COUNTS_KEY_BYTES),
                 FOLIO_OK);
    cr_assert_leq(v.size, cap);
    memcpy(val, v.data, v.size);
    folio_store__read_end(&t);
    return v.size;
}

static void assert_verify_says(const char *needle) {
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT, "verify passed a wrong counts record");
    cr_assert(strstr(folio_errmsg(), needle) != NULL, "verify says '%s', expected '%s'",
              folio_errmsg(), needle);
}

Test(log_counts, stats_read_the_counts_the_appends_keep) {
    folio_stats st = ledger();
    uint64_t sum = 0;
    for (unsigned i = 0; i < 64; i++) sum += st.type_counts[i];
    cr_assert_eq(sum, st.events);
    cr_assert_eq(st.type_counts[FOLIO_EV_CUSTOMER_CREATED], 2);
    cr_assert_eq(st.type_counts[FOLIO_EV_INVOICE_ISSUED], 3);
    cr_assert_eq(st.streams, 3, "ledger settings and two customers");
    /* the record: u64 streams, then u8 type + u64 count per type with events, ascending */
    uint8_t v[600];
    size_t n = get_counts(v, sizeof v);
    cr_assert_eq((n - 8) % 9, 0);
    cr_assert_eq(folio__get_le64(v), 3);
    for (size_t off = 8; off < n; off += 9) {
        cr_assert_gt(folio__get_le64(v + off + 1), 0);
        cr_assert_eq(folio__get_le64(v + off + 1), st.type_counts[v[off]]);
        if (off > 8) cr_assert_gt(v[off], v[off - 9], "types ascending");
    }
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

static int failing_batch(folio_db *db, void *arg) {
    (void)arg;
    folio_write_result r;
    folio_customer_new c = {.name = "Third", .status = "active", .currency = "EUR"};
    cr_assert_eq(folio_customer_create(&r, db, &W, &c), FOLIO_OK, "%s", folio_errmsg());
    return FOLIO_ERULE; /* the batch fails: nothing of it is committed */
}

Test(log_counts, a_failed_batch_leaves_them_as_they_were) {
    folio_stats before = ledger(), after;
    cr_assert_neq(folio_batch_run(tmpdb, failing_batch, NULL, 0), FOLIO_OK);
    cr_assert_eq(folio_stats_get(&after, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(after.events, before.events);
    cr_assert_eq(after.streams, before.streams);
    cr_assert_eq(memcmp(after.type_counts, before.type_counts, sizeof after.type_counts), 0);
}

Test(log_counts, verify_refuses_a_record_that_disagrees_with_the_log) {
    ledger();
    uint8_t good[600], v[600];
    size_t n = get_counts(good, sizeof good);
    cr_assert_geq(n, 8 + 2 * 9, "at least two types");

    /* the same total, spread over the types otherwise: only a recount can tell */
    memcpy(v, good, n);
    folio__put_le64(v + 8 + 1, folio__get_le64(good + 8 + 1) + 1);
    folio__put_le64(v + 17 + 1, folio__get_le64(good + 17 + 1) - 1);
    if (folio__get_le64(v + 17 + 1) == 0) { /* keep the record well formed */
        folio__put_le64(v + 8 + 1, folio__get_le64(good + 8 + 1) - 1);
        folio__put_le64(v + 17 + 1, folio__get_le64(good + 17 + 1) + 1);
    }
    put_counts(v, n);
    assert_verify_says("events of type");

    memcpy(v, good, n); /* one stream too many */
    folio__put_le64(v, folio__get_le64(good) + 1);
    put_counts(v, n);
    assert_verify_says("streams");

    /* more streams than events (a flipped high byte): said so, not "counts N events, the
     * head N" with the same N twice */
    memcpy(v, good, n);
    folio__put_le64(v, folio__get_le64(good) | (1ull << 24));
    put_counts(v, n);
    assert_verify_says("streams, more than its");

    memcpy(v, good, n); /* one event too many: not the head's number */
    folio__put_le64(v + 8 + 1, folio__get_le64(good + 8 + 1) + 1);
    put_counts(v, n);
    assert_verify_says("the head");

    put_counts(good, n - 1); /* a torn record */
    assert_verify_says("bytes");

    put_counts(good, n); /* and the good one passes again */
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());

    folio_txn t = {0}; /* gone */
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__del(&t, FOLIO_DB_ROOT, FOLIO_ROOT_COUNTS_KEY,
                                  FOLIO_ROOT_COUNTS_KEY_BYTES),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    assert_verify_says("missing");
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_ECORRUPT, "stats do not make up counts");
}
