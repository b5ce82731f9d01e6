/*
 * tests/engine/rebuild_safety.c - dropping projections only when the log can be folded
 * again: folio_rebuild and the catch-up of a projection built by other code check the log
 * (folio_verify__log) before the drop, which commits alone, and that check leaves out the
 * projections' own records, which a rebuild repairs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "../../projections/directory.h"
#include "proj_state.h"
#include "tmpdb.h"

TestSuite(rebuild_safety, .init = tmpdb_setup, .fini = tmpdb_teardown);

static unsigned directory_dbi(void) {
    unsigned i = 0;
    while (strcmp(folio_projection__name(i), "directory") != 0) i++;
    return FOLIO_DB_PROJ0 + i;
}

static const char *create(const char *name, const char *ref) {
    folio_customer_new c = {.name = name, .ref = ref};
    folio_write_result r = tmpdb_customer_new(tmpdb, &c);
    return tmpdb_strf("%s", r.ref);
}

/* The open-time catch-up of a projection built by other code (every ledger after a code
 * version change) drops it in a transaction of its own before it folds. On a log with one
 * damaged event that left the cards gone and every read failing, with this folio and with
 * the one that wrote it (found by review): it checks the log first and drops nothing. */
Test(rebuild_safety, an_upgrade_open_of_a_damaged_log_drops_nothing) {
    const char *marker = "MARKER-review-corrupt-me";
    const char *a = create("Acme", NULL);
    folio_event e = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"text\":\"%s\"}", marker);
    tmpdb_append(tmpdb, &e);
    create("Bolt", NULL);
    tmpdb_set_projection_version("directory", 4);
    tmpdb_close(tmpdb);
    cr_assert_geq(tmpdb_flip_marker(tmpdb_ledger_path(), marker), 1);
    folio_db *db = NULL;
    int rc = folio_db_open(&db, tmpdb_ledger_path(), NULL); /* read-write: catch-up */
    cr_assert_eq(rc, FOLIO_ECORRUPT, "the catch-up cannot fold a damaged log");
    cr_assert(strstr(folio_errmsg(), "nothing was dropped"), "%s", folio_errmsg());
    /* a read-only open still finds the cards the ledger had (the old code could read them) */
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    tmpdb = tmpdb_open(tmpdb_ledger_path(), &ro);
    folio_txn r = {0};
    folio_val v;
    uint8_t key[9] = {FOLIO_DIR_CARD};
    folio__put_be64(key + 1, 1);
    cr_assert_eq(folio_store__read_begin(&r, tmpdb->store), FOLIO_OK);
    rc = folio_store__get(&v, &r, directory_dbi(), key, sizeof key);
    folio_store__read_end(&r);
    cr_assert_eq(rc, FOLIO_OK, "the failed open dropped customer %s's card", a);
}

/* Damage confined to projection data (a receivables per-stream record left without its
 * stream) fails verify's check 14, and rebuild, which checks the log first, must still make
 * the repair it is for: its check skips the projections' records. */
Test(rebuild_safety, rebuild_repairs_an_orphan_per_stream_record) {
    create("Acme", NULL);
    uint8_t key[17], val[8] = {0};
    folio__put_be64(key, 999); /* no such stream */
    key[8] = 'r';
    folio__put_be64(key + 9, 0);
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_STREAMS, key, sizeof key, val, sizeof val, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    folio_verify_report vr;
    cr_assert_eq(folio_verify(&vr, tmpdb), FOLIO_ECORRUPT);
    uint64_t events = 0;
    int rc = folio_rebuild(&events, tmpdb);
    cr_assert_eq(rc, FOLIO_OK, "rebuild refused a repair it can make: %s", folio_errmsg());
    cr_assert_eq(folio_verify(&vr, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}
