/*
 * tests/engine/idem_records.c - the idempotency index's records (docs/FORMAT.md#idem) as
 * verify and the commands read them: format 1 names the events a keyed write appended,
 * format 2 the one event the answer of a keyed write that changed nothing named. Anything
 * else is damage: verify reports it, and a command under that key refuses.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(idem_records, .init = tmpdb_setup, .fini = tmpdb_teardown);

static void put_idem_raw(const char *key, uint8_t format, uint64_t first, uint64_t last) {
    uint8_t val[33] = {0};
    val[0] = format;
    memset(val + 1, 0x5a, 16);
    folio__put_le64(val + 17, first);
    folio__put_le64(val + 25, last);
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_IDEM, key, strlen(key), val, sizeof val, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

static int verify(void) {
    folio_verify_report vr;
    return folio_verify(&vr, tmpdb);
}

/* (TMPDB_REFUSED verifies the ledger around the call: these ledgers are damaged on purpose.) */
#define REFUSED(code, needle, call)                                                          \
    do {                                                                                     \
        int rc_ = (call);                                                                    \
        cr_assert_eq(rc_, (code), "%s", folio_errmsg());                                    \
        cr_assert(strstr(folio_errmsg(), (needle)) != NULL, "%s", folio_errmsg());           \
    } while (0)

Test(idem_records, an_answer_record_names_one_event_that_exists) {
    folio_write_result made = tmpdb_customer(tmpdb, "Acme");
    uint64_t head = tmpdb_last_seq(tmpdb);
    put_idem_raw("ok", 2, made.seq, made.seq);
    TMPDB_OK(verify());
    put_idem_raw("ok", 2, head + 1, head + 1);
    REFUSED(FOLIO_ECORRUPT, "names no events", verify());
    put_idem_raw("ok", 2, 1, 2);
    REFUSED(FOLIO_ECORRUPT, "names no events", verify());
    put_idem_raw("ok", 2, 0, 0);
    REFUSED(FOLIO_ECORRUPT, "names no events", verify());
    put_idem_raw("ok", 3, 1, 1);
    REFUSED(FOLIO_ECORRUPT, "names no events", verify());
    put_idem_raw("ok", 2, made.seq, made.seq); /* whole again for the fixture's own verify */
}

/* A command under a key whose record is damaged refuses, naming the key, and writes nothing. */
Test(idem_records, a_command_under_a_damaged_record_refuses) {
    folio_write_result made = tmpdb_customer(tmpdb, "Acme"), r;
    put_idem_raw("k", 2, 1, 2);
    folio_write_opts w = tmpdb_w();
    w.idempotency_key = "k";
    uint64_t before = tmpdb_last_seq(tmpdb);
    REFUSED(FOLIO_ECORRUPT, "idempotency record for 'k'",
                  folio_customer_set_status(&r, tmpdb, &w, made.ref, "active"));
    put_idem_raw("k", 7, 1, 1);
    REFUSED(FOLIO_ECORRUPT, "idempotency record for 'k'",
                  folio_customer_set_status(&r, tmpdb, &w, made.ref, "active"));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before);
    put_idem_raw("k", 2, made.seq, made.seq); /* whole again for the fixture's own verify */
}

/* Every event written under a key lies in the range of its key's record of format 1 with
 * the event's request hash (INTEGRITY.md check 10): a record lost, cut short or turned into
 * an answer would let a retry of that write be applied again (a payment twice), and verify
 * passed all three. It names the first event its record no longer covers. */
Test(idem_records, every_keyed_event_is_covered_by_its_keys_record) {
    folio_write_result made;
    folio_write_opts w = tmpdb_w();
    w.idempotency_key = "mk";
    folio_customer_new c = {.name = "Acme"};
    TMPDB_OK(folio_customer_create(&made, tmpdb, &w, &c));
    folio_txn t = {0};
    folio_val v;
    uint8_t good[33];
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_IDEM, "mk", 2), FOLIO_OK);
    cr_assert_eq(v.size, sizeof good);
    memcpy(good, v.data, sizeof good);
    folio_store__read_end(&t);
    uint64_t first = folio__get_le64(good + 17), last = folio__get_le64(good + 25);
    cr_assert_gt(last, first, "a create appends two events or more");
    folio_verify_report vr;
    TMPDB_OK(folio_verify(&vr, tmpdb));

    uint8_t rec[33];
    folio_txn wt = {0};
    cr_assert_eq(folio_store__write_begin(&wt, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__del(&wt, FOLIO_DB_IDEM, "mk", 2), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&wt), FOLIO_OK);
    REFUSED(FOLIO_ECORRUPT, "has no record", folio_verify(&vr, tmpdb));
    cr_assert_eq(vr.bad_seq, first);

    struct {
        uint8_t format;
        uint64_t first, last;
        int hash_flip;
        uint64_t bad;
    } cases[] = {{1, first, first, 0, first + 1},   /* cut short */
                 {1, first + 1, last, 0, first},   /* begins late */
                 {2, first, first, 0, first},      /* an answer's */
                 {1, first, last, 1, first}};      /* another request's hash */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(rec, good, sizeof rec);
        rec[0] = cases[i].format;
        rec[1] ^= (uint8_t)cases[i].hash_flip;
        folio__put_le64(rec + 17, cases[i].first);
        folio__put_le64(rec + 25, cases[i].last);
        cr_assert_eq(folio_store__write_begin(&wt, tmpdb->store), FOLIO_OK);
        cr_assert_eq(folio_store__put(&wt, FOLIO_DB_IDEM, "mk", 2, rec, sizeof rec, 0), FOLIO_OK);
        cr_assert_eq(folio_store__commit(&wt), FOLIO_OK);
        REFUSED(FOLIO_ECORRUPT, "idempotency index does not match the event's key",
                folio_verify(&vr, tmpdb));
        cr_assert_eq(vr.bad_seq, cases[i].bad, "case %zu: bad_seq %llu", i,
                     (unsigned long long)vr.bad_seq);
    }
    cr_assert_eq(folio_store__write_begin(&wt, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&wt, FOLIO_DB_IDEM, "mk", 2, good, sizeof good, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&wt), FOLIO_OK);
    TMPDB_OK(folio_verify(&vr, tmpdb));
}
