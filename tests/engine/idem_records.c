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
