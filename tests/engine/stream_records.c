/*
 * tests/engine/stream_records.c - projections' per-stream records in "streams": the
 * receivables keep each customer's sums and open items right after the customer's stream
 * record (so a document rewrites one page for all three), check compares them with a replay,
 * a rebuild deletes them and puts back what a replay makes, and verify and stats tell them
 * from the stream records.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "tmpdb.h"

TestSuite(stream_records, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Two customers; the first gets three invoices. Returns the first's id. */
static uint64_t ledger(uint64_t seqs[3]) {
    tmpdb_customer(tmpdb, "First");
    folio_write_result second = tmpdb_customer(tmpdb, "Second");
    (void)second;
    folio_customer *c = tmpdb_card(tmpdb, "CUST-000001");
    for (int i = 0; i < 3; i++)
        seqs[i] = tmpdb_invoice(tmpdb, c->id, tmpdb_strf("INV-%d", i + 1), "10.00");
    return c->id;
}

static void put_raw(const void *key, size_t klen, const void *val, size_t vlen) {
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_STREAMS, key, klen, val, vlen, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

static void stream_key(uint8_t key[17], uint64_t stream, uint8_t tag, uint64_t suffix) {
    folio__put_be64(key, stream);
    key[8] = tag;
    folio__put_be64(key + 9, suffix);
}

/* Each kind's count of documents issued sorts right after that kind's documents ('i' + kind
 * + 0xFF) in proj.receivables, so that a numbered document and the count share a leaf. */
Test(stream_records, a_kinds_document_count_follows_its_documents) {
    uint64_t seqs[3];
    ledger(seqs); /* INV-1 .. INV-3, given numbers */
    folio_write_opts w = {.actor = "t"};
    folio_write_result r;
    folio_document_new d = {.amount = "5.00", .date = "2026-11-02"};
    for (int i = 0; i < 2; i++) { /* numbered by the count: PAY-000001, PAY-000002 */
        TMPDB_OK(folio_payment_receive(&r, tmpdb, &w, "CUST-000002", &d, NULL, 0, 0));
        TMPDB_OK(folio_invoice_issue(&r, tmpdb, &w, "CUST-000002", &d));
    }
    unsigned rdb = FOLIO_DB_PROJ0;
    while (strcmp(folio_projection__name(rdb - FOLIO_DB_PROJ0), "receivables") != 0) rdb++;
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    char got[512] = "";
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__cursor_open(&c, &t, rdb), FOLIO_OK);
    for (int rc = folio_store__cursor_seek(&c, "i", 1, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v)) {
        const uint8_t *p = k.data;
        size_t n = strlen(got);
        if (k.size == 3 && p[0] == 'i' && p[2] == 0xFF) {
            cr_assert_eq(v.size, 16);
            snprintf(got + n, sizeof got - n, "[%c count %llu max %llu] ", p[1],
                     (unsigned long long)folio__get_le64(v.data),
                     (unsigned long long)folio__get_le64((const uint8_t *)v.data + 8));
        } else if (k.size > 4 && p[0] == 'i' && p[2] == 0xFE) { /* a generated number: n */
            snprintf(got + n, sizeof got - n, "i%c#%u ", p[1], p[k.size - 1]);
        } else {
            snprintf(got + n, sizeof got - n, "%.*s ", (int)k.size, (const char *)p);
        }
    }
    folio_store__cursor_close(&c);
    folio_store__read_end(&t);
    /* "INV-1" is no generated number (6 digits at least): the largest is INV-000005's */
    cr_assert_str_eq(got, "iIINV-1 iIINV-2 iIINV-3 iI#4 iI#5 [I count 5 max 5] "
                          "iP#1 iP#2 [P count 2 max 2] ",
                     "%s", got);
}

Test(stream_records, sums_and_newest_open_items_follow_the_stream_record) {
    uint64_t seqs[3];
    uint64_t id = ledger(seqs);
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    uint8_t head[8];
    folio__put_be64(head, id);
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__cursor_open(&c, &t, FOLIO_DB_STREAMS), FOLIO_OK);
    cr_assert_eq(folio_store__cursor_seek(&c, head, sizeof head, &k, &v), FOLIO_OK);
    cr_assert_eq(k.size, 8);
    cr_assert_eq(memcmp(k.data, head, 8), 0, "the stream record comes first");
    /* then the sums (suffix 8 x 0x00), then the open items newest first (suffix ~seq) */
    uint64_t want[4] = {0, ~seqs[2], ~seqs[1], ~seqs[0]};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(folio_store__cursor_next(&c, &k, &v), FOLIO_OK);
        cr_assert_eq(k.size, 17);
        cr_assert_eq(folio__get_be64(k.data), id);
        cr_assert_eq(((const uint8_t *)k.data)[8], 'r');
        cr_assert_eq(folio__get_be64((const uint8_t *)k.data + 9), want[i], "record %d", i);
    }
    cr_assert_eq(folio_store__cursor_next(&c, &k, &v), FOLIO_OK);
    cr_assert_eq(k.size, 8, "the next customer's stream record");
    cr_assert_eq(folio__get_be64(k.data), id + 1);
    folio_store__cursor_close(&c);
    folio_store__read_end(&t);
    /* stats count streams, not the records between them */
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(st.streams, 3, "ledger settings and two customers");
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.streams, 3);
    /* open items come out in issue order */
    cr_assert_str_eq(tmpdb_statement(tmpdb, "CUST-000001", "2026-11-30", NULL, 0),
                     "2026-11-01 INV-1 invoice 10.00 10.00 due 2026-12-01 0d\n"
                     "2026-11-01 INV-2 invoice 10.00 10.00 due 2026-12-01 0d\n"
                     "2026-11-01 INV-3 invoice 10.00 10.00 due 2026-12-01 0d\n"
                     "total 30.00 aging 30.00 0.00 0.00 0.00 0.00\n");
}

/* check compares the per-stream records with a replay; a rebuild deletes them and puts back
 * what the replay makes, leaving the stream records as they were. */
Test(stream_records, check_names_a_wrong_or_stray_record_and_a_rebuild_mends_both) {
    uint64_t seqs[3];
    uint64_t id = ledger(seqs);
    uint8_t key[17];
    folio_stats before, after;
    cr_assert_eq(folio_stats_get(&before, tmpdb), FOLIO_OK);
    stream_key(key, id, 'r', ~seqs[1]);
    put_raw(key, sizeof key, "IINV-9", 6); /* an open item naming another document */
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "receivables") && strstr(folio_errmsg(), "differs"), "%s",
              folio_errmsg());
    stream_key(key, id, 'r', ~(seqs[2] + 100));
    put_raw(key, sizeof key, "IINV-1", 6); /* an open item no event made */
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.streams, 3);
    cr_assert_eq(folio_stats_get(&after, tmpdb), FOLIO_OK);
    cr_assert_eq(after.streams, before.streams);
    cr_assert_str_eq(tmpdb_balance(tmpdb, "CUST-000001"), "30.00");
    /* "scratch" is left empty */
    folio_txn t = {0};
    uint64_t n = 1;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__entries(&n, &t, FOLIO_DB_SCRATCH), FOLIO_OK);
    folio_store__read_end(&t);
    cr_assert_eq(n, 0);
    /* and the ledger takes writes after it */
    tmpdb_invoice(tmpdb, id, "INV-4", "5.00");
    cr_assert_str_eq(tmpdb_balance(tmpdb, "CUST-000001"), "35.00");
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

/* verify reads the stream records past the per-stream records, and refuses records that
 * belong to no stream or to no projection. */
Test(stream_records, verify_refuses_records_of_no_stream_or_no_projection) {
    uint64_t seqs[3];
    uint64_t id = ledger(seqs);
    uint8_t key[17];
    folio_verify_report r;
    stream_key(key, id + 10, 'r', 0); /* sums of a stream without events */
    put_raw(key, sizeof key, "x", 1);
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), tmpdb_strf("stream %llu, which has no stream record",
                                               (unsigned long long)(id + 10))),
              "%s", folio_errmsg());
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__del(&t, FOLIO_DB_STREAMS, key, sizeof key), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    stream_key(key, id, 'z', 0); /* a tag no projection has */
    put_raw(key, sizeof key, "x", 1);
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "stream index holds a malformed key"), "%s", folio_errmsg());
}

/* A customer created after others' documents: the last key of "streams" is a per-stream
 * record, and the next id still follows the last stream. */
Test(stream_records, ids_follow_the_last_stream_past_its_records) {
    uint64_t seqs[3];
    ledger(seqs);
    folio_customer *c = tmpdb_card(tmpdb, "CUST-000002");
    tmpdb_invoice(tmpdb, c->id, "INV-X", "1.00"); /* the last stream now has records */
    folio_write_result r = tmpdb_customer(tmpdb, "Third");
    cr_assert_str_eq(r.ref, "CUST-000003");
    cr_assert_eq(tmpdb_card(tmpdb, "CUST-000003")->id, c->id + 1);
}

typedef struct {
    folio_write_result made[2];
} batch_out;

static int note_then_two_customers(folio_db *db, void *arg) {
    batch_out *o = arg;
    folio_event e = tmpdb_note(9, "a stream of its own");
    uint64_t seq = 0;
    int rc = folio_event_append(&seq, db, &e);
    if (rc < 0) return rc;
    folio_write_opts w = tmpdb_w();
    folio_customer_new b = {.name = "B"}, c = {.name = "C"};
    if ((rc = folio_customer_create(&o->made[0], db, &w, &b)) < 0) return rc;
    return folio_customer_create(&o->made[1], db, &w, &c);
}

/* Stream records written in a transaction stay in its record cache until the commit: a
 * new customer's id still follows every stream, those the same batch began included. */
Test(stream_records, ids_follow_the_streams_a_batch_began) {
    tmpdb_customer(tmpdb, "A"); /* stream 1 */
    batch_out o;
    memset(&o, 0, sizeof o);
    cr_assert_eq(folio_batch_run(tmpdb, note_then_two_customers, &o, 0), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert_eq(tmpdb_card(tmpdb, o.made[0].ref)->id, 10, "after the note's stream 9");
    cr_assert_eq(tmpdb_card(tmpdb, o.made[1].ref)->id, 11);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.streams, 5);
}
