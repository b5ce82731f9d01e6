/*
 * tests/engine/format.c - ledgers folio must refuse at open: newer formats, truncated files.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string.h>
#include <xxhash.h>

#include "../../engine/internal.h"

static char dir[64], path[128];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/folio-fmt-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l.db", dir);
}

static void teardown(void) {
    char lock[160];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(path);
    unlink(lock);
    rmdir(dir);
}

static void append_notes(folio_db *db, int n) {
    void *p = NULL;
    size_t bytes = 0;
    cr_assert_eq(folio_payload_from_json(&p, &bytes, "{\"text\":\"some words to fill a page\"}"),
                 FOLIO_OK);
    for (int i = 0; i < n; i++) {
        folio_event e = {.stream = 1 + (uint64_t)i % 5, .type = FOLIO_EV_CUSTOMER_NOTE_ADDED,
                         .schema = 1, .actor = "t", .payload = p, .payload_bytes = bytes};
        uint64_t seq;
        cr_assert_eq(folio_event_append(&seq, db, &e), FOLIO_OK, "%s", folio_errmsg());
    }
    folio_free(p);
}

TestSuite(format, .init = setup, .fini = teardown);

/* Write the format record behind the engine's back (a handle of its own). */
static void set_format(uint32_t version) {
    folio_db *db = NULL;
    folio_txn t = {0};
    uint8_t fmt[9];
    memcpy(fmt, "folio", 5);
    folio__put_le32(fmt + 5, version);
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_store__write_begin(&t, db->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_META, "format", 6, fmt, sizeof fmt, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    folio_db_close(db);
}

Test(format, a_ledger_of_a_newer_format_is_refused_with_its_version) {
    folio_db *db = NULL;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    append_notes(db, 3);
    folio_db_close(db);
    set_format(FOLIO_FORMAT_VERSION + 1);

    db = NULL;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_EFORMAT);
    cr_assert_null(db);
    cr_assert(strstr(folio_errmsg(), "newer") != NULL, "message: %s", folio_errmsg());
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    cr_assert_eq(folio_db_open(&db, path, &ro), FOLIO_EFORMAT);
}

/* Format 1 kept the log head in 'meta': a folio of format 1 (which accepts format 1 only)
 * read a ledger with root records as empty, and its open wrote a zero head into 'meta'
 * (this folio then refused the ledger). So a ledger with root records is of format 2, and a
 * format 1 ledger, with or without a head in 'meta', is refused here. */
Test(format, a_ledger_with_root_records_is_format_2_and_format_1_is_refused) {
    folio_db *db = NULL;
    folio_stats st;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    append_notes(db, 3);
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(st.format, 2, "format %u: a format 1 folio would read this ledger as empty",
                 st.format);
    folio_db_close(db);
    set_format(1);
    db = NULL;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_EFORMAT);
    cr_assert_null(db);
    cr_assert(strstr(folio_errmsg(), "pre-release") != NULL, "message: %s", folio_errmsg());
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    cr_assert_eq(folio_db_open(&db, path, &ro), FOLIO_EFORMAT);
}

Test(format, a_truncated_ledger_file_is_refused_at_open) {
    folio_db *db = NULL;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    append_notes(db, 2000);
    folio_db_close(db);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
    db = NULL;
    int rc = folio_db_open(&db, path, NULL);
    cr_assert_eq(rc, FOLIO_ECORRUPT, "rc %d: %s", rc, folio_errmsg());
    cr_assert(strstr(folio_errmsg(), "truncated") != NULL, "message: %s", folio_errmsg());
    cr_assert_null(db);
}

Test(format, a_projection_built_by_other_code_is_rebuilt_on_a_read_write_open) {
    folio_db *db = NULL;
    folio_stats s;
    folio_customer *c = NULL;
    uint64_t events;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    append_notes(db, 10);
    /* Pretend the directory projection was built by an older version and holds garbage. */
    folio_txn t = {0};
    uint8_t state[12], junk[8] = {0xff, 0, 0, 0, 0, 0, 0, 0}, key[4] = {0, 0, 0, 17};
    unsigned ddb = FOLIO_DB_PROJ0;
    while (strcmp(folio_projection__name(ddb - FOLIO_DB_PROJ0), "directory") != 0) ddb++;
    folio__put_le32(state, 0);
    folio__put_le64(state + 4, 10);
    cr_assert_eq(folio_store__write_begin(&t, db->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, "\0proj.directory", 15, state, 12, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, ddb, key, 4, junk, 8, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    cr_assert_eq(folio_customer_find(&c, db, "Anyone"), FOLIO_EFORMAT,
                 "a stale projection must not be read");
    folio_db_close(db);

    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    cr_assert_eq(folio_db_open(&db, path, &ro), FOLIO_OK);
    cr_assert_eq(folio_customer_find(&c, db, "Anyone"), FOLIO_EFORMAT,
                 "read-only opens cannot rebuild");
    folio_db_close(db);

    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    cr_assert_eq(folio_customer_find(&c, db, "Anyone"), FOLIO_ENOTFOUND, "%s", folio_errmsg());
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "the garbage is gone: %s", folio_errmsg());
    cr_assert_eq(folio_stats_get(&s, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(s.type_counts[FOLIO_EV_CUSTOMER_NOTE_ADDED], 10);
    cr_assert_eq(s.events, 10);
    folio_db_close(db);
}

/* A card's sums live in proj.receivables: a read-only handle whose receivables projection
 * is behind (written by an older folio) must say so, not read stale or missing sums. */
Test(format, card_reads_refuse_a_receivables_projection_that_is_behind) {
    folio_db *db = NULL;
    folio_write_result r;
    folio_write_opts w = {.actor = "tester"};
    folio_customer_new c = {.name = "Alpha", .status = "active", .currency = "USD"};
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    cr_assert_eq(folio_customer_create(&r, db, &w, &c), FOLIO_OK, "%s", folio_errmsg());
    folio_txn t = {0};
    uint8_t state[12];
    folio__put_le32(state, 1); /* receivables version 1: no sums */
    folio__put_le64(state + 4, 2);
    unsigned rdb = FOLIO_DB_PROJ0;
    while (strcmp(folio_projection__name(rdb - FOLIO_DB_PROJ0), "receivables") != 0) rdb++;
    cr_assert_eq(folio_store__write_begin(&t, db->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, "\0proj.receivables", 17, state, 12, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__drop(&t, rdb), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    folio_db_close(db);

    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    folio_customer *k = NULL;
    cr_assert_eq(folio_db_open(&db, path, &ro), FOLIO_OK);
    cr_assert_eq(folio_customer_get(&k, db, "CUST-000001", 0, 0), FOLIO_EFORMAT, "%s",
                 folio_errmsg());
    cr_assert_eq(folio_customer_find(&k, db, "Alpha"), FOLIO_EFORMAT, "%s", folio_errmsg());
    folio_db_close(db);

    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK); /* catches up */
    cr_assert_eq(folio_customer_find(&k, db, "Alpha"), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(k->version, 2);
    folio_customer_free(k);
    folio_db_close(db);
}

/* The chain hash is XXH3-128(previous chain hash || frame[16, len)), in canonical bytes
 * (docs/FORMAT.md), whichever way frame.c computes it: one call over a copy for frames up to
 * 1 KiB, the streaming state past that. */
Test(format, the_chain_hash_is_xxh3_128_of_the_previous_hash_and_the_frame_after_it) {
    static const size_t sizes[] = {FOLIO_FRAME_HEADER_BYTES + 1, 500, 1024, 1025, 70000};
    uint8_t prev[FOLIO_HASH_BYTES];
    for (unsigned i = 0; i < FOLIO_HASH_BYTES; i++) prev[i] = (uint8_t)(i * 37 + 1);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *frame = malloc(n), *joined = malloc(n), got[FOLIO_HASH_BYTES];
        cr_assert(frame && joined);
        for (size_t i = 0; i < n; i++) frame[i] = (uint8_t)(i * 131 + k);
        memcpy(joined, prev, FOLIO_HASH_BYTES);
        memcpy(joined + FOLIO_HASH_BYTES, frame + 16, n - 16);
        XXH128_canonical_t want;
        XXH128_canonicalFromHash(&want, XXH3_128bits(joined, n));
        folio_frame__chain(got, prev, frame, n);
        cr_assert_arr_eq(got, want.digest, FOLIO_HASH_BYTES, "frame of %zu bytes", n);
        free(frame);
        free(joined);
    }
}

/* A ledger is whole the moment its file is linked into place: the creator writes the
 * projections' states (current, nothing folded) with the format record. A creator killed
 * after the link and before its open's catch-up committed used to leave a ledger that every
 * read-only handle refused ("projection 'directory' is out of date") until a write open; the
 * crash harness (crash_rebuild_import) caught it once under load. Here the store creates the
 * ledger and nothing else runs, as if the creator died right there. */
Test(format, a_new_ledger_answers_read_only_queries_before_any_catch_up) {
    folio_store *s = NULL;
    int created = 0;
    cr_assert_eq(folio_store__open(&s, path, 0, 0, 0, 0, &created), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert_eq(created, 1);
    folio_store__close(s);
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    folio_db *db = NULL;
    cr_assert_eq(folio_db_open(&db, path, &ro), FOLIO_OK, "%s", folio_errmsg());
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_find(&c, db, "Anyone"), FOLIO_ENOTFOUND, "%s", folio_errmsg());
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(st.events, 0);
    folio_db_close(db);
    /* and a write open finds nothing to catch up */
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK, "%s", folio_errmsg());
    uint64_t events = 1;
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(events, 0);
    folio_db_close(db);
}

/* Format 3: the idempotency index may hold a keyed no-op's answer (record format 2), which a
 * format-2 folio takes for damage ('idempotency index holds a record that names no events').
 * A ledger is created as format 2, which such a folio reads, and is raised to 3 by the
 * transaction that writes the first such record, so that a format-2 folio refuses it as
 * newer instead; both formats open here. */
Test(format, a_keyed_no_op_raises_the_ledger_to_format_3_and_nothing_else_does) {
    folio_db *db = NULL;
    folio_stats st;
    folio_write_result r;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    folio_write_opts w = {.actor = "t"};
    folio_customer_new c = {.name = "Acme", .status = "active"};
    cr_assert_eq(folio_customer_create(&r, db, &w, &c), FOLIO_OK, "%s", folio_errmsg());
    char ref[FOLIO_REF_BYTES_MAX + 1];
    snprintf(ref, sizeof ref, "%s", r.ref);
    w.idempotency_key = "k1"; /* a keyed write that appends events: format 2 still */
    cr_assert_eq(folio_customer_set_status(&r, db, &w, ref, "hold"), FOLIO_OK);
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
    cr_assert_eq(st.format, 2);
    w.idempotency_key = "k2"; /* a keyed no-op: its answer is recorded, format 3 */
    cr_assert_eq(folio_customer_set_status(&r, db, &w, ref, "hold"), FOLIO_OK);
    cr_assert_eq(r.unchanged, 1);
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
    cr_assert_eq(st.format, 3);
    folio_db_close(db);
    db = NULL;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK, "%s", folio_errmsg());
    folio_verify_report vr;
    cr_assert_eq(folio_verify(&vr, db), FOLIO_OK, "%s", folio_errmsg());
    folio_db_close(db);
}
