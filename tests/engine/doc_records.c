/*
 * tests/engine/doc_records.c - the receivables document record (docs/FORMAT.md#projreceivables):
 * six varints since code version 6 (customer, seq, amount, amount - open, zigzagged date,
 * due - date) instead of 40 fixed bytes. Round trips at the extremes, one encoding per value,
 * malformed bytes refused as FOLIO_ECORRUPT (never a crash), and a version-5 projection
 * rebuilt at the next read-write open. And the open items in "streams": since code version
 * 7, a number in its kind's generated form is kept as kind | 0x80 + a varint of n; since
 * version 8 such a document is keyed by n.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "../../projections/receivables.h"
#include "proj_state.h"
#include "tmpdb.h"

TestSuite(doc_records, .init = tmpdb_setup, .fini = tmpdb_teardown);

static unsigned receivables_dbi(void) {
    unsigned i = 0;
    while (strcmp(folio_projection__name(i), "receivables") != 0) i++;
    return FOLIO_DB_PROJ0 + i;
}

/* The key of a document (FORMAT.md#projreceivables): a number in its kind's generated form
 * by its n ('i' + kind + fe + n's byte count + n big-endian), any other by its bytes. */
static size_t doc_key_of(uint8_t key[2 + FOLIO_DOC_BYTES_MAX], char kind, const char *doc) {
    size_t n = strlen(doc);
    uint64_t number;
    key[0] = 'i';
    key[1] = (uint8_t)kind;
    if (folio_doc_number_parse(&number, kind, doc, n)) {
        unsigned bytes = 1;
        while (bytes < 8 && number >> (8 * bytes)) bytes++;
        key[2] = 0xFE;
        key[3] = (uint8_t)bytes;
        for (unsigned i = 0; i < bytes; i++) key[4 + i] = (uint8_t)(number >> (8 * (bytes - 1 - i)));
        return 4 + bytes;
    }
    memcpy(key + 2, doc, n);
    return n + 2;
}

/* The stored value of a document record (asserted present), copied into out. */
static size_t read_record(uint8_t out[64], char kind, const char *doc) {
    uint8_t key[2 + FOLIO_DOC_BYTES_MAX];
    size_t klen = doc_key_of(key, kind, doc);
    folio_txn t = {0};
    folio_val v;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, receivables_dbi(), key, klen), FOLIO_OK, "%c %s", kind,
                 doc);
    cr_assert_leq(v.size, 64);
    memcpy(out, v.data, v.size);
    folio_store__read_end(&t);
    return v.size;
}

static void write_record(char kind, const char *doc, const void *val, size_t val_bytes) {
    uint8_t key[2 + FOLIO_DOC_BYTES_MAX];
    size_t klen = doc_key_of(key, kind, doc);
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, receivables_dbi(), key, klen, val, val_bytes, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

static folio_doc_rec rec(uint64_t customer, uint64_t seq, int64_t amount, int64_t open,
                         int32_t date, int32_t due) {
    folio_doc_rec d;
    memset(&d, 0, sizeof d);
    d.customer = customer;
    d.seq = seq;
    d.amount = amount;
    d.open = open;
    d.date = date;
    d.due = due;
    return d;
}

static void assert_same_fields(const folio_doc_rec *a, const folio_doc_rec *b) {
    cr_assert_eq(a->customer, b->customer);
    cr_assert_eq(a->seq, b->seq);
    cr_assert_eq(a->amount, b->amount);
    cr_assert_eq(a->open, b->open);
    cr_assert_eq(a->date, b->date);
    cr_assert_eq(a->due, b->due);
}

/* ---- the codec ---- */

Test(doc_records, every_field_round_trips_at_its_extremes) {
    static const uint64_t ids[] = {1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX - 1,
                                   UINT64_MAX};
    static const int64_t amounts[] = {1, 127, 128, 200000, INT32_MAX, INT64_MAX - 1, INT64_MAX};
    static const int32_t dates[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, 20781, INT32_MAX - 1,
                                    INT32_MAX};
    size_t longest = 0;
    for (size_t c = 0; c < sizeof ids / sizeof ids[0]; c++)
        for (size_t s = 0; s < sizeof ids / sizeof ids[0]; s++)
            for (size_t a = 0; a < sizeof amounts / sizeof amounts[0]; a++)
                for (int o = 0; o < 3; o++)
                    for (size_t t = 0; t < sizeof dates / sizeof dates[0]; t++)
                        for (int u = 0; u < 3; u++) {
                            int64_t amount = amounts[a];
                            int64_t open = o == 0 ? 0 : o == 1 ? amount / 2 : amount;
                            int32_t date = dates[t];
                            int32_t due = u == 0 ? date : u == 1 ? (date < INT32_MAX ? date + 1 : date)
                                                                 : INT32_MAX;
                            folio_doc_rec in = rec(ids[c], ids[s], amount, open, date, due), out;
                            uint8_t b[FOLIO_DOC_REC_BYTES_MAX + 1];
                            memset(b, 0xA5, sizeof b);
                            size_t n = folio_receivables__doc_encode(b, &in);
                            cr_assert_geq(n, 6);
                            cr_assert_leq(n, FOLIO_DOC_REC_BYTES_MAX);
                            cr_assert_eq(b[FOLIO_DOC_REC_BYTES_MAX], 0xA5, "wrote past the maximum");
                            if (n > longest) longest = n;
                            memset(&out, 0x5A, sizeof out);
                            cr_assert_eq(folio_receivables__doc_decode(&out, b, n), FOLIO_OK,
                                         "customer %zu seq %zu amount %zu open %d date %zu due %d",
                                         c, s, a, o, t, u);
                            assert_same_fields(&out, &in);
                        }
    cr_assert_eq(longest, FOLIO_DOC_REC_BYTES_MAX, "the maximum is reached: %zu", longest);
    /* the common case is small: customer 70,000, seq 1,000,000, 1,234.56 open, due in 30 days */
    uint8_t b[FOLIO_DOC_REC_BYTES_MAX];
    folio_doc_rec d = rec(70000, 1000000, 123456, 123456, 20781, 20811);
    cr_assert_eq(folio_receivables__doc_encode(b, &d), 14);
    static const uint8_t want[14] = {0xf0, 0xa2, 0x04, 0xc0, 0x84, 0x3d, 0xc0,
                                     0xc4, 0x07, 0x00, 0xda, 0xc4, 0x02, 0x1e};
    cr_assert_arr_eq(b, want, sizeof want, "the bytes FORMAT.md describes");
}

/* Every byte string either decodes to the fields whose encoding it is, byte for byte (one
 * encoding per value), or is FOLIO_ECORRUPT. Seeded, so a failure repeats. */
Test(doc_records, random_bytes_decode_only_as_their_own_encoding) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t decoded = 0;
    for (int i = 0; i < 200000; i++) {
        uint8_t b[64], again[FOLIO_DOC_REC_BYTES_MAX];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 56);
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly small bytes, so that many strings are six short varints */
            b[j] = (uint8_t)(x & 1 ? x >> 8 & 0x7F : x >> 8);
        }
        folio_doc_rec d;
        int rc = folio_receivables__doc_decode(&d, b, n);
        if (rc != FOLIO_OK) {
            cr_assert_eq(rc, FOLIO_ECORRUPT, "iteration %d", i);
            continue;
        }
        decoded++;
        cr_assert_geq(d.amount, 1);
        cr_assert_geq(d.open, 0);
        cr_assert_leq(d.open, d.amount);
        cr_assert_geq(d.due, d.date);
        cr_assert_eq(folio_receivables__doc_encode(again, &d), n, "iteration %d", i);
        cr_assert_arr_eq(again, b, n, "iteration %d", i);
    }
    cr_assert_gt(decoded, 1000, "only %zu decoded", decoded);
}

Test(doc_records, malformed_records_are_refused_as_corrupt) {
    folio_doc_rec d = rec(5, 9, 1000, 400, 20000, 20030), out;
    uint8_t good[FOLIO_DOC_REC_BYTES_MAX];
    size_t n = folio_receivables__doc_encode(good, &d);
    cr_assert_eq(folio_receivables__doc_decode(&out, good, n), FOLIO_OK);
    /* every shorter prefix, and one byte more */
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(folio_receivables__doc_decode(&out, good, i), FOLIO_ECORRUPT, "%zu bytes", i);
    uint8_t longer[FOLIO_DOC_REC_BYTES_MAX + 1];
    memcpy(longer, good, n);
    longer[n] = 0;
    cr_assert_eq(folio_receivables__doc_decode(&out, longer, n + 1), FOLIO_ECORRUPT);
    static const struct {
        const char *what;
        uint8_t b[24];
        size_t n;
    } bad[] = {
        {"customer 0", {0, 9, 0xe8, 0x07, 0x58, 0xc0, 0xb8, 0x02, 30}, 9},
        {"seq 0", {5, 0, 0xe8, 0x07, 0x58, 0xc0, 0xb8, 0x02, 30}, 9},
        {"amount 0", {5, 9, 0, 0, 0xc0, 0xb8, 0x02, 30}, 8},
        {"open above the amount", {5, 9, 0xe8, 0x07, 0xe9, 0x07, 0xc0, 0xb8, 0x02, 30}, 10},
        {"amount past INT64_MAX",
         {5, 9, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0},
         15},
        {"a varint not in its shortest form", {5, 0x89, 0x00, 0xe8, 0x07, 0x58, 0xc0, 0xb8, 0x02, 30},
         10},
        {"a varint past 64 bits",
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 9, 1, 0, 0, 0},
         15},
        {"a varint of 11 bytes",
         {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 9, 1, 0, 0, 0},
         16},
        {"a date past 32 bits", {5, 9, 0xe8, 0x07, 0x58, 0x80, 0x80, 0x80, 0x80, 0x10, 30}, 11},
        {"due - date past 32 bits", {5, 9, 0xe8, 0x07, 0x58, 0, 0x80, 0x80, 0x80, 0x80, 0x10}, 11},
        {"due past INT32_MAX", /* date INT32_MAX (zigzag 0xfffffffe), due 1 day later */
         {5, 9, 0xe8, 0x07, 0x58, 0xfe, 0xff, 0xff, 0xff, 0x0f, 1},
         11},
        {"empty", {0}, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&out, 0, sizeof out);
        cr_assert_eq(folio_receivables__doc_decode(&out, bad[i].b, bad[i].n), FOLIO_ECORRUPT, "%s",
                     bad[i].what);
    }
    /* the sound neighbours of some of those decode: the cases fail for the reason named */
    static const uint8_t ok1[] = {5, 9, 0xe8, 0x07, 0xe8, 0x07, 0xc0, 0xb8, 0x02, 30};
    cr_assert_eq(folio_receivables__doc_decode(&out, ok1, sizeof ok1), FOLIO_OK);
    cr_assert_eq(out.open, 0);
    static const uint8_t ok2[] = {5, 9, 0xe8, 0x07, 0x58, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0};
    cr_assert_eq(folio_receivables__doc_decode(&out, ok2, sizeof ok2), FOLIO_OK);
    cr_assert_eq(out.date, INT32_MAX);
    cr_assert_eq(out.due, INT32_MAX);
    static const uint8_t ok3[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                  9, 1, 0, 0, 0};
    cr_assert_eq(folio_receivables__doc_decode(&out, ok3, sizeof ok3), FOLIO_OK);
    cr_assert_eq(out.customer, UINT64_MAX);
    /* a record of version 5 (40 bytes, BE customer first) is no record of version 6 */
    uint8_t v5[40] = {0};
    folio__put_be64(v5, 5);
    folio__put_be64(v5 + 8, 9);
    folio__put_le64(v5 + 16, 1000);
    folio__put_le64(v5 + 24, 400);
    cr_assert_eq(folio_receivables__doc_decode(&out, v5, sizeof v5), FOLIO_ECORRUPT);
}

/* ---- the ledger ---- */

Test(doc_records, a_document_is_stored_as_the_varints_of_its_fields) {
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    uint64_t id = tmpdb_card(tmpdb, a)->id;
    const char *inv = tmpdb_issue_invoice(tmpdb, a, "1234.56", "2026-11-24", "2026-12-24");
    uint64_t seq = tmpdb_last_seq(tmpdb);
    const char *pay = tmpdb_receive_payment(tmpdb, a, "1000.00", "2026-11-25", 0);
    tmpdb_allocate(tmpdb, a, pay, inv, "234.56", "2026-11-26");
    uint8_t b[64];
    size_t n = read_record(b, FOLIO_DOC_INVOICE, inv);
    cr_assert_leq(n, 16, "the invoice's record has %zu bytes", n);
    folio_doc_rec d, want = rec(id, seq, 123456, 100000, 20781, 20811);
    TMPDB_OK(folio_receivables__doc_decode(&d, b, n));
    assert_same_fields(&d, &want);
    n = read_record(b, FOLIO_DOC_PAYMENT, pay);
    TMPDB_OK(folio_receivables__doc_decode(&d, b, n));
    want = rec(id, seq + 1, 100000, 100000 - 23456, 20782, 20782);
    assert_same_fields(&d, &want);
    uint64_t events;
    TMPDB_OK(folio_check(&events, tmpdb)); /* a rebuilt copy has the same bytes */
}

/* A stored record that is not six sound varints fails the command that reads it, with
 * FOLIO_ECORRUPT naming the document, and writes nothing; a rebuild mends it. */
Test(doc_records, a_malformed_stored_record_is_refused_as_corrupt) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    const char *inv = tmpdb_issue_invoice(tmpdb, a, "10.00", "2026-11-24", NULL);
    const char *pay = tmpdb_receive_payment(tmpdb, a, "4.00", "2026-11-25", 0);
    uint8_t b[64], saved[64];
    size_t n = read_record(saved, FOLIO_DOC_INVOICE, inv);
    memcpy(b, saved, n);
    b[n - 1] |= 0x80; /* the last varint runs past the end */
    write_record(FOLIO_DOC_INVOICE, inv, b, n);
    TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "document record", folio_allocate(&r, tmpdb, &w, a, pay, inv, "1.00", "2026-11-26", 0));
    folio_document_new again = {"1.00", inv, "2026-11-24", NULL};
    TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "document record",
                  folio_invoice_issue(&r, tmpdb, &w, a, &again));
    write_record(FOLIO_DOC_INVOICE, inv, saved, n - 1); /* cut short */
    TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "document record", folio_allocate(&r, tmpdb, &w, a, pay, inv, "1.00", "2026-11-26", 0));
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_ECORRUPT);
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    cr_assert_eq(read_record(b, FOLIO_DOC_INVOICE, inv), n);
    cr_assert_arr_eq(b, saved, n);
    TMPDB_OK(folio_allocate(&r, tmpdb, &w, a, pay, inv, "1.00", "2026-11-26", 0));
    TMPDB_OK(folio_check(&events, tmpdb));
}

/* A ledger whose receivables were built by code version 5 (40-byte document records) is
 * rebuilt by the next read-write open, which writes the varints (and version 7's open
 * items). */
Test(doc_records, a_version_5_projection_is_rebuilt_at_open) {
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    uint64_t id = tmpdb_card(tmpdb, a)->id;
    const char *inv = tmpdb_issue_invoice(tmpdb, a, "10.00", "2026-11-24", NULL);
    uint64_t seq = tmpdb_last_seq(tmpdb);
    /* what version 5 left: its state and a 40-byte record */
    uint8_t old[40];
    folio__put_be64(old, id);
    folio__put_be64(old + 8, seq);
    folio__put_le64(old + 16, 1000);
    folio__put_le64(old + 24, 1000);
    folio__put_le64(old + 32, (uint64_t)20781 | (uint64_t)20781 << 32);
    write_record(FOLIO_DOC_INVOICE, inv, old, sizeof old);
    tmpdb_set_projection_version("receivables", 5);
    tmpdb_reopen();
    uint8_t b[64];
    size_t n = read_record(b, FOLIO_DOC_INVOICE, inv);
    cr_assert_lt(n, 40, "the record has %zu bytes", n);
    folio_doc_rec d, want = rec(id, seq, 1000, 1000, 20781, 20781);
    TMPDB_OK(folio_receivables__doc_decode(&d, b, n));
    assert_same_fields(&d, &want);
    uint64_t events;
    TMPDB_OK(folio_check(&events, tmpdb));
}

/* ---- open items ---- */

static size_t open_item_key(uint8_t key[17], uint64_t customer, uint64_t seq) {
    folio__put_be64(key, customer);
    key[8] = 'r';
    folio__put_be64(key + 9, ~seq);
    return 17;
}

/* The value of a customer's open item of seq as stored; 0 bytes when there is none. */
static size_t read_open_item(uint8_t out[80], uint64_t customer, uint64_t seq) {
    uint8_t key[17];
    folio_txn t = {0};
    folio_val v;
    size_t n = 0;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    int rc = folio_store__get(&v, &t, FOLIO_DB_STREAMS, key, open_item_key(key, customer, seq));
    if (rc == FOLIO_OK) {
        cr_assert_leq(v.size, 80);
        memcpy(out, v.data, v.size);
        n = v.size;
    } else {
        cr_assert_eq(rc, FOLIO_ENOTFOUND);
    }
    folio_store__read_end(&t);
    return n;
}

static void write_open_item(uint64_t customer, uint64_t seq, const void *val, size_t val_bytes) {
    uint8_t key[17];
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_STREAMS, key, open_item_key(key, customer, seq),
                                  val, val_bytes, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

Test(doc_records, an_open_item_keeps_a_generated_number_as_its_n) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    uint64_t id = tmpdb_card(tmpdb, a)->id;
    uint8_t b[80];
    cr_assert_str_eq(tmpdb_issue_invoice(tmpdb, a, "10.00", "2026-11-24", NULL), "INV-000001");
    uint64_t s1 = tmpdb_last_seq(tmpdb);
    cr_assert_eq(read_open_item(b, id, s1), 2);
    cr_assert_eq(b[0], 0xc9);
    cr_assert_eq(b[1], 0x01);
    /* given numbers: one in generated form (n 300, a two-byte varint), one not, one that
     * only looks like it (7 digits with a leading zero) */
    static const char *given[] = {"INV-000300", "A-7", "INV-0000301"};
    static const uint8_t want0[] = {0xc9, 0xac, 0x02};
    for (int i = 0; i < 3; i++) {
        folio_document_new d = {"1.00", given[i], "2026-11-24", NULL};
        TMPDB_OK(folio_invoice_issue(&r, tmpdb, &w, a, &d));
        size_t n = read_open_item(b, id, tmpdb_last_seq(tmpdb));
        if (i == 0) {
            cr_assert_eq(n, sizeof want0);
            cr_assert_arr_eq(b, want0, sizeof want0);
        } else {
            cr_assert_eq(n, 1 + strlen(given[i]));
            cr_assert_eq(b[0], 'I');
            cr_assert_arr_eq(b + 1, given[i], strlen(given[i]));
        }
    }
    /* every kind, read back through the open items (oldest first, by an auto-allocation) */
    const char *cn = tmpdb_issue_credit_note(tmpdb, a, "0.50", "2026-11-25");
    cr_assert_eq(read_open_item(b, id, tmpdb_last_seq(tmpdb)), 2);
    cr_assert_eq(b[0], 0xc3);
    const char *pay = tmpdb_receive_payment(tmpdb, a, "100.00", "2026-11-25", 0);
    cr_assert_eq(read_open_item(b, id, tmpdb_last_seq(tmpdb)), 2);
    cr_assert_eq(b[0], 0xd0);
    TMPDB_OK(folio_allocate(&r, tmpdb, &w, a, pay, NULL, NULL, "2026-11-26", 1));
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "-87.50");
    cr_assert_eq(read_open_item(b, id, s1), 0, "INV-000001 was allocated in full");
    const char *rf = tmpdb_issue_refund(tmpdb, a, cn, "0.50", "2026-11-27");
    cr_assert_str_eq(rf, "RF-000001");
    uint64_t events;
    TMPDB_OK(folio_check(&events, tmpdb));
}

/* An open item that open_value would not write fails the read of the open items with
 * FOLIO_ECORRUPT and writes nothing; a rebuild mends it. */
Test(doc_records, a_malformed_open_item_is_refused_as_corrupt) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    uint64_t id = tmpdb_card(tmpdb, a)->id;
    tmpdb_issue_invoice(tmpdb, a, "10.00", "2026-11-24", NULL);
    uint64_t seq = tmpdb_last_seq(tmpdb);
    uint8_t saved[80];
    size_t n = read_open_item(saved, id, seq);
    cr_assert_eq(n, 2);
    static const struct {
        const char *what;
        uint8_t b[16];
        size_t n;
    } bad[] = {
        {"a generated form of no kind", {0x80 | 'X', 0x01}, 2},
        {"n 0", {0xc9, 0x00}, 2},
        {"a varint that runs past the end", {0xc9, 0x81}, 2},
        {"a varint not in its shortest form", {0xc9, 0x81, 0x00}, 3},
        {"bytes after n", {0xc9, 0x01, 0x01}, 3},
        {"a generated number written out", {'I', 'I', 'N', 'V', '-', '0', '0', '0', '0', '0', '1'}, 11},
        {"a kind alone", {0xc9}, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_open_item(id, seq, bad[i].b, bad[i].n);
        folio_document_new p = {"1.00", NULL, "2026-11-25", NULL};
        TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "open-item index is malformed",
                      folio_payment_receive(&r, tmpdb, &w, a, &p, NULL, 0, 1));
    }
    /* the written-out form of a number not in generated form decodes, but the document it
     * names must be an open document of the customer with the item's seq: an item naming
     * no document (there is no invoice A-7), or one of an unknown kind, is damage too, not
     * "not found" (found by review) */
    static const uint8_t unknown_kind[] = {'X', 'A', '-', '7'};
    write_open_item(id, seq, unknown_kind, sizeof unknown_kind);
    folio_document_new p = {"1.00", NULL, "2026-11-25", NULL};
    TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "open-item index is malformed",
                  folio_payment_receive(&r, tmpdb, &w, a, &p, NULL, 0, 1));
    static const uint8_t given[] = {'I', 'A', '-', '7'};
    write_open_item(id, seq, given, sizeof given);
    TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "not an open document of customer",
                  folio_payment_receive(&r, tmpdb, &w, a, &p, NULL, 0, 1));
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_ECORRUPT);
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    uint8_t b[80];
    cr_assert_eq(read_open_item(b, id, seq), n);
    cr_assert_arr_eq(b, saved, n);
    TMPDB_OK(folio_payment_receive(&r, tmpdb, &w, a, &p, NULL, 0, 1));
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "9.00");
    TMPDB_OK(folio_check(&events, tmpdb));
}

/* ---- keys ---- */

/* The keys of a kind's documents, in the tree's order, as text: a number by its bytes, a
 * generated one as "#n", the count as "count". */
static const char *keys_of(char kind) {
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    static char got[1024];
    uint8_t prefix[2] = {'i', (uint8_t)kind};
    got[0] = '\0';
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__cursor_open(&c, &t, receivables_dbi()), FOLIO_OK);
    for (int rc = folio_store__cursor_seek(&c, prefix, 2, &k, &v);
         rc == FOLIO_OK && k.size > 2 && memcmp(k.data, prefix, 2) == 0;
         rc = folio_store__cursor_next(&c, &k, &v)) {
        const uint8_t *p = k.data;
        size_t n = strlen(got);
        if (k.size == 3 && p[2] == 0xFF) {
            snprintf(got + n, sizeof got - n, "count");
        } else if (p[2] == 0xFE) {
            cr_assert_geq(p[3], 1);
            cr_assert_leq(p[3], 8);
            cr_assert_eq(k.size, 4u + p[3]);
            cr_assert_neq(p[4], 0, "n in its fewest bytes");
            uint64_t number = 0;
            for (unsigned i = 0; i < p[3]; i++) number = number << 8 | p[4 + i];
            snprintf(got + n, sizeof got - n, "#%llu ", (unsigned long long)number);
        } else {
            snprintf(got + n, sizeof got - n, "%.*s ", (int)k.size - 2, (const char *)p + 2);
        }
    }
    folio_store__cursor_close(&c);
    folio_store__read_end(&t);
    return got;
}

Test(doc_records, a_generated_number_is_keyed_by_its_n_in_numeric_order) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    static const char *given[] = {"INV-1000000", "INV-999999", "INV-0000301", "A-7", "INV-000300",
                                  "INV-18446744073709551615", "INV-256"};
    for (int i = 0; i < 7; i++) {
        folio_document_new d = {"1.00", given[i], "2026-11-24", NULL};
        TMPDB_OK(folio_invoice_issue(&r, tmpdb, &w, a, &d));
    }
    cr_assert_str_eq(tmpdb_issue_invoice(tmpdb, a, "1.00", "2026-11-24", NULL), "INV-000008");
    cr_assert_str_eq(keys_of(FOLIO_DOC_INVOICE),
                     "A-7 INV-0000301 INV-256 #8 #300 #999999 #1000000 #18446744073709551615 count");
    /* the key's bytes, as FORMAT.md gives them */
    uint8_t key[2 + FOLIO_DOC_BYTES_MAX];
    static const uint8_t k1[] = {'i', 'I', 0xFE, 0x01, 0x01};
    static const uint8_t k300[] = {'i', 'I', 0xFE, 0x02, 0x01, 0x2C};
    cr_assert_eq(doc_key_of(key, 'I', "INV-000001"), sizeof k1);
    cr_assert_arr_eq(key, k1, sizeof k1);
    cr_assert_eq(doc_key_of(key, 'I', "INV-000300"), sizeof k300);
    cr_assert_arr_eq(key, k300, sizeof k300);
    uint8_t b[64];
    cr_assert_gt(read_record(b, FOLIO_DOC_INVOICE, "INV-000300"), 0);
    /* every one is found by its number, and a repeated one is refused */
    for (int i = 0; i < 7; i++) {
        folio_document_new d = {"1.00", given[i], "2026-11-24", NULL};
        TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "already", folio_invoice_issue(&r, tmpdb, &w, a, &d));
    }
    const char *pay = tmpdb_receive_payment(tmpdb, a, "8.00", "2026-11-25", 0);
    for (int i = 0; i < 7; i++)
        TMPDB_OK(folio_allocate(&r, tmpdb, &w, a, pay, given[i], NULL, "2026-11-25", 0));
    TMPDB_OK(folio_allocate(&r, tmpdb, &w, a, pay, "INV-000008", NULL, "2026-11-25", 0));
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "0.00");
    uint64_t events;
    TMPDB_OK(folio_check(&events, tmpdb));
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    cr_assert_str_eq(keys_of(FOLIO_DOC_INVOICE),
                     "A-7 INV-0000301 INV-256 #8 #300 #999999 #1000000 #18446744073709551615 count");
}
