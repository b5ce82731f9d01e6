/*
 * tests/api/integrity.c - folio_verify on a healthy ledger, a flipped byte in a stored event
 * (found by verify with the right bad_seq, and by the iterators instead of wrong data), map
 * growth from the smallest map, and folio_stats_get against what was appended.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "tmpdb.h"

TestSuite(integrity, .init = tmpdb_setup, .fini = tmpdb_teardown);

Test(integrity, verify_of_a_healthy_ledger_counts_events_and_streams_and_reports_the_head) {
    folio_event cfg = tmpdb_event(0, FOLIO_EV_LEDGER_CONFIGURED, "{\"base_currency\":\"EUR\"}");
    tmpdb_append(tmpdb, &cfg);
    for (unsigned i = 0; i < 9; i++) {
        folio_event e = tmpdb_event(1 + i % 3, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        tmpdb_append(tmpdb, &e);
    }
    folio_verify_report r;
    memset(&r, 0xee, sizeof r);
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, 10);
    cr_assert_eq(r.streams, 4, "streams 0, 1, 2 and 3");
    cr_assert_eq(r.bad_seq, 0);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    cr_assert_eq(memcmp(r.head, st.head, FOLIO_HASH_BYTES), 0, "verify and stats agree");

    /* The head moves with every event. */
    folio_event e = tmpdb_note(1, "one more");
    tmpdb_append(tmpdb, &e);
    folio_verify_report r2;
    cr_assert_eq(folio_verify(&r2, tmpdb), FOLIO_OK);
    cr_assert_eq(r2.events, 11);
    cr_assert_neq(memcmp(r.head, r2.head, FOLIO_HASH_BYTES), 0, "a new head hash");

    char hex[2 * FOLIO_HASH_BYTES + 1];
    folio_hash_hex(hex, r2.head);
    cr_assert_eq(strlen(hex), 32);
    cr_assert_eq(strspn(hex, "0123456789abcdef"), 32, "lowercase hex: %s", hex);
}

Test(integrity, the_head_hash_depends_on_every_event) {
    /* Two ledgers with the same events but one payload byte different: different heads. */
    folio_db *other = tmpdb_open(tmpdb_path("other.db"), NULL);
    for (unsigned i = 0; i < 4; i++) {
        folio_event e = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        folio_event f = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i == 1 ? 9 : i);
        tmpdb_append(tmpdb, &e);
        tmpdb_append(other, &f);
    }
    folio_verify_report a, b;
    cr_assert_eq(folio_verify(&a, tmpdb), FOLIO_OK);
    cr_assert_eq(folio_verify(&b, other), FOLIO_OK);
    cr_assert_neq(memcmp(a.head, b.head, FOLIO_HASH_BYTES), 0);
}

/* Seven events in streams 1 and 2; the one at seq 4 (stream 2) carries `marker`. */
static void write_ledger_with_marker(const char *marker) {
    for (unsigned seq = 1; seq <= 7; seq++) {
        uint64_t stream = seq % 2 ? 1 : 2;
        folio_event e = seq == 4 ? tmpdb_event(stream, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                               "{\"text\":\"%s\"}", marker)
                                 : tmpdb_event(stream, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                               "{\"seq\":%u}", seq);
        cr_assert_eq(tmpdb_append(tmpdb, &e), seq);
    }
}

Test(integrity, a_flipped_byte_in_a_stored_event_is_found_by_verify_with_its_seq) {
    const char *marker = "MARKER-7f3a9c-corrupt-me";
    write_ledger_with_marker(marker);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "healthy before the flip");
    tmpdb_close(tmpdb);

    cr_assert_geq(tmpdb_flip_marker(tmpdb_ledger_path(), marker), 1,
                  "the marker is stored verbatim in the ledger file");
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);
    memset(&r, 0, sizeof r);
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT);
    cr_assert_eq(r.bad_seq, 4, "bad_seq %llu, expected 4", (unsigned long long)r.bad_seq);
    cr_assert(strstr(folio_errmsg(), "seq 4") != NULL, "the message names the seq: %s",
              folio_errmsg());
}

/* Rebuild drops the projections in a transaction of its own before it folds: on a log it
 * cannot fold it would leave a ledger that answers nothing. It verifies first, and refuses
 * with nothing changed: the cards and balances the ledger had still answer. */
Test(integrity, a_rebuild_of_a_damaged_log_is_refused_before_it_drops_anything) {
    const char *marker = "MARKER-5be0a1-corrupt-me";
    const char *ref = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    tmpdb_invoice(tmpdb, tmpdb_card(tmpdb, ref)->id, "INV-1", "12.50");
    folio_event e = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"text\":\"%s\"}", marker);
    uint64_t bad = tmpdb_append(tmpdb, &e);
    tmpdb_close(tmpdb);
    cr_assert_geq(tmpdb_flip_marker(tmpdb_ledger_path(), marker), 1);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);
    uint64_t before = tmpdb_last_seq(tmpdb), events = 7;
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "nothing changed") &&
                  strstr(folio_errmsg(), tmpdb_strf("seq %llu", (unsigned long long)bad)),
              "%s", folio_errmsg());
    cr_assert_eq(events, 7, "no events counted as folded");
    cr_assert_eq(tmpdb_last_seq(tmpdb), before);
    cr_assert_str_eq(tmpdb_card(tmpdb, ref)->name, "Acme");
    cr_assert_str_eq(tmpdb_balance(tmpdb, ref), "12.50");
    tmpdb_reopen(); /* and a read-write open has nothing to catch up */
    cr_assert_str_eq(tmpdb_balance(tmpdb, ref), "12.50");
}

Test(integrity, iterators_report_a_corrupted_event_instead_of_returning_it) {
    const char *marker = "MARKER-d41d8c-corrupt-me";
    write_ledger_with_marker(marker);
    tmpdb_close(tmpdb);
    cr_assert_geq(tmpdb_flip_marker(tmpdb_ledger_path(), marker), 1);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);

    /* The log iterator returns seq 1..3, then refuses seq 4. */
    folio_iter *it = NULL;
    const folio_event *e = NULL;
    int rc;
    cr_assert_eq(folio_log_open(&it, tmpdb, 0, 0), FOLIO_OK);
    uint64_t next = 1;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) cr_assert_eq(e->seq, next++);
    folio_iter_free(it);
    cr_assert_eq(rc, FOLIO_ECORRUPT, "got %s", folio_strerror(rc));
    cr_assert_eq(next, 4, "events before the bad one are returned");
    cr_assert(strstr(folio_errmsg(), "seq 4") != NULL, "%s", folio_errmsg());

    /* A log range after the bad event is unaffected. */
    size_t n = 0;
    tmpdb_read_log(tmpdb, 5, 0, &n);
    cr_assert_eq(n, 3);

    /* Stream 2 holds seq 4: it is refused at open or at the bad event, never returned. */
    rc = folio_stream_open(&it, tmpdb, 2, 0, 0);
    if (rc == FOLIO_OK) {
        while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) cr_assert_neq(e->seq, 4);
        folio_iter_free(it);
    }
    cr_assert_eq(rc, FOLIO_ECORRUPT, "stream 2: got %s", folio_strerror(rc));
    cr_assert(strstr(folio_errmsg(), "seq 4") != NULL, "%s", folio_errmsg());

    /* Reading stream 2 only up to version 1 (seq 2) passes through the back-pointer of the
     * bad event: it may refuse, but must never return the bad event. */
    rc = folio_stream_open(&it, tmpdb, 2, 1, 0);
    if (rc == FOLIO_OK) {
        cr_assert_eq(folio_iter_next(&e, it), FOLIO_OK);
        cr_assert_eq(e->seq, 2);
        cr_assert_eq(folio_iter_next(&e, it), FOLIO_ITEROVER);
        folio_iter_free(it);
    } else {
        cr_assert_eq(rc, FOLIO_ECORRUPT, "got %s", folio_strerror(rc));
    }
    /* Stream 1 does not touch seq 4 and is intact. */
    tmpdb_read_stream(tmpdb, 1, 0, 0, &n);
    cr_assert_eq(n, 4);
}

Test(integrity, a_flipped_byte_in_a_stored_chain_hash_is_found_by_verify_with_its_seq) {
    /* The chain hash heads each stored frame and is not covered by the frame checksum:
     * only recomputing the chain finds a change to it. The head reported after seq 3 is
     * the chain hash stored in frame 3. */
    for (unsigned i = 1; i <= 3; i++) {
        folio_event e = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        tmpdb_append(tmpdb, &e);
    }
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK);
    uint8_t chain3[FOLIO_HASH_BYTES];
    memcpy(chain3, r.head, FOLIO_HASH_BYTES);
    for (unsigned i = 4; i <= 6; i++) {
        folio_event e = tmpdb_event(2, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        tmpdb_append(tmpdb, &e);
    }
    tmpdb_close(tmpdb);
    cr_assert_geq(tmpdb_flip_bytes(tmpdb_ledger_path(), chain3, sizeof chain3), 1);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT);
    cr_assert_eq(r.bad_seq, 3, "bad_seq %llu, expected 3", (unsigned long long)r.bad_seq);
    cr_assert(strstr(folio_errmsg(), "seq 3") != NULL, "%s", folio_errmsg());
}

Test(integrity, a_truncated_ledger_file_is_refused_at_open) {
    char *filler = tmpdb_repeat('t', 3000);
    folio_event batch[20];
    for (unsigned i = 0; i < 20; i++)
        batch[i] = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"f\":\"%s\"}", filler);
    for (unsigned b = 0; b < 5; b++) tmpdb_append_batch(tmpdb, batch, 20, NULL);
    tmpdb_close(tmpdb);
    size_t n = 0;
    void *bytes = tmpdb_read_file(tmpdb_ledger_path(), &n);
    cr_assert_gt(n, 100000u);
    tmpdb_write_file(tmpdb_ledger_path(), bytes, n / 2);
    folio_db *db = (folio_db *)&db;
    int rc = folio_db_open(&db, tmpdb_ledger_path(), NULL);
    if (rc == FOLIO_OK) folio_db_close(db);
    cr_assert_eq(rc, FOLIO_ECORRUPT, "got %s (%s)", folio_strerror(rc), folio_errmsg());
    cr_assert_null(db);
}

Test(integrity, grows_past_a_256_kib_map_and_reads_back_after_reopen) {
    tmpdb_close(tmpdb);
    const char *path = tmpdb_path("small.db");
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.map_bytes = 256u * 1024u;
    tmpdb = tmpdb_open(path, &o);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    uint64_t first_map = st.map_bytes;

    /* About 4 MiB: 40 batches of 25 events of ~4 KiB, over 5 streams. */
    char *filler = tmpdb_repeat('g', 4000);
    folio_event batch[25];
    for (unsigned b = 0; b < 40; b++) {
        for (unsigned i = 0; i < 25; i++)
            batch[i] = tmpdb_event(1 + (b * 25 + i) % 5, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                   "{\"n\":%u,\"filler\":\"%s\"}", b * 25 + i, filler);
        folio_append_result res = tmpdb_append_batch(tmpdb, batch, 25, NULL);
        cr_assert_eq(res.last_seq, (uint64_t)(b + 1) * 25);
    }
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    cr_assert_eq(st.events, 1000);
    cr_assert_gt(st.map_bytes, first_map, "the map grew");
    cr_assert_gt(st.file_bytes, 4000u * 1000u, "the file holds every event");
    tmpdb_close(tmpdb);

    /* Reopen with the same small map: the ledger is whole. */
    tmpdb = tmpdb_open(path, &o);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, 1000);
    cr_assert_eq(r.streams, 5);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 1000);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(log[i].seq, i + 1);
        cr_assert_eq(log[i].stream, 1 + i % 5);
        cr_assert_eq(log[i].version, i / 5 + 1);
    }
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, log[999].payload, log[999].payload_bytes),
                 FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, tmpdb_strf("{\"n\":999,\"filler\":\"%s\"}", filler));
    /* And it keeps growing after the reopen. */
    for (unsigned b = 0; b < 4; b++) tmpdb_append_batch(tmpdb, batch, 25, NULL);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 1100);
}

Test(integrity, an_open_iterator_does_not_hold_back_map_growth, .timeout = 60) {
    /* Iterators copy batches out of short read transactions: growing the map (which waits
     * for every transaction of this process) must not wait for an open iterator. */
    tmpdb_close(tmpdb);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.map_bytes = 256u * 1024u;
    tmpdb = tmpdb_open(tmpdb_path("small.db"), &o);
    char *filler = tmpdb_repeat('h', 2000);
    folio_event batch[20];
    for (unsigned i = 0; i < 20; i++)
        batch[i] = tmpdb_event(1 + i % 2, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                               "{\"filler\":\"%s\"}", filler);
    tmpdb_append_batch(tmpdb, batch, 20, NULL);

    folio_iter *log = NULL, *stream = NULL;
    const folio_event *e;
    cr_assert_eq(folio_log_open(&log, tmpdb, 0, 0), FOLIO_OK);
    cr_assert_eq(folio_stream_open(&stream, tmpdb, 1, 0, 0), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, log), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, stream), FOLIO_OK);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    uint64_t map_before = st.map_bytes;
    for (unsigned b = 0; b < 50; b++) tmpdb_append_batch(tmpdb, batch, 20, NULL); /* ~2 MB */
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    cr_assert_gt(st.map_bytes, map_before, "the map grew while the iterators were open");

    uint64_t seq = 1, version = 1;
    int rc;
    while ((rc = folio_iter_next(&e, log)) == FOLIO_OK) cr_assert_eq(e->seq, ++seq);
    cr_assert_eq(rc, FOLIO_ITEROVER);
    cr_assert_eq(seq, 20, "the log iterator ends where the log ended when it was opened");
    while ((rc = folio_iter_next(&e, stream)) == FOLIO_OK) cr_assert_eq(e->version, ++version);
    cr_assert_eq(rc, FOLIO_ITEROVER);
    cr_assert_eq(version, 10);
    folio_iter_free(log);
    folio_iter_free(stream);
}

Test(integrity, stats_count_events_streams_and_types_as_appended) {
    /* A deterministic mix of types over streams; the expected counts are computed here.
     * No stream gets a customer.created, so read models that check customer events against
     * the customer's card ignore these (the raw API is what is under test). */
    static const uint32_t types[] = {FOLIO_EV_CUSTOMER_NOTE_ADDED, FOLIO_EV_CUSTOMER_UPDATED,
                                     FOLIO_EV_CUSTOMER_OWNER_CHANGED, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                     FOLIO_EV_CUSTOMER_STATUS_CHANGED,
                                     FOLIO_EV_CUSTOMER_CONTACT_ADDED,
                                     FOLIO_EV_CUSTOMER_NOTE_ADDED};
    uint64_t want[64] = {0};
    uint64_t events = 0;
    int seen_stream[12] = {0};
    uint64_t streams = 0;
    for (unsigned i = 0; i < 3; i++) {
        folio_event cfg = tmpdb_event(0, FOLIO_EV_LEDGER_CONFIGURED, "{\"n\":%u}", i);
        tmpdb_append(tmpdb, &cfg);
        want[FOLIO_EV_LEDGER_CONFIGURED]++;
        events++;
    }
    seen_stream[0] = 1;
    streams++;
    folio_event batch[50];
    for (unsigned i = 0; i < 50; i++) {
        uint32_t t = types[(i * 5) % 7];
        uint64_t s = 1 + (i * 7) % 11;
        batch[i] = tmpdb_event(s, t, "{\"i\":%u}", i);
        want[t]++;
        events++;
        if (!seen_stream[s]) streams++;
        seen_stream[s] = 1;
    }
    tmpdb_append_batch(tmpdb, batch, 50, NULL);
    /* Refused appends and idempotent repeats count nothing. */
    folio_event bad = batch[0];
    bad.schema = 0;
    uint64_t seq;
    cr_assert_eq(folio_event_append(&seq, tmpdb, &bad), FOLIO_EINVAL);
    tmpdb_append_batch(tmpdb, batch, 2, "once");
    tmpdb_append_batch(tmpdb, batch, 2, "once");
    want[batch[0].type]++;
    want[batch[1].type]++;
    events += 2;

    folio_stats st;
    memset(&st, 0xee, sizeof st);
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(st.events, events);
    cr_assert_eq(st.streams, streams);
    uint64_t total = 0;
    for (unsigned t = 0; t < 64; t++) {
        cr_assert_eq(st.type_counts[t], want[t], "type %u: %llu, expected %llu", t,
                     (unsigned long long)st.type_counts[t], (unsigned long long)want[t]);
        total += st.type_counts[t];
    }
    cr_assert_eq(total, events, "the type counts add up to the events");
    cr_assert_geq(st.format, 1);

    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(st.last_recorded_at_us, log[n - 1].recorded_at_us);
    struct stat fs;
    cr_assert_eq(stat(tmpdb_ledger_path(), &fs), 0);
    cr_assert_eq(st.file_bytes, (uint64_t)fs.st_size);
    cr_assert_geq(st.map_bytes, st.file_bytes);

    /* The counts survive a reopen. */
    tmpdb_reopen();
    folio_stats again;
    cr_assert_eq(folio_stats_get(&again, tmpdb), FOLIO_OK);
    cr_assert_eq(memcmp(again.type_counts, st.type_counts, sizeof st.type_counts), 0);
    cr_assert_eq(again.events, st.events);
}

/* used_bytes is the file less LMDB's free pages: a rebuild leaves the old projections' pages
 * free (the file keeps its size). */
Test(integrity, stats_report_the_bytes_in_use_apart_from_free_pages) {
    folio_stats st;
    for (int i = 0; i < 300; i++) tmpdb_customer(tmpdb, tmpdb_strf("Customer %03d", i));
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_gt(st.used_bytes, 0);
    cr_assert_leq(st.used_bytes, st.file_bytes);
    cr_assert_eq(st.used_bytes % 4096, 0);
    uint64_t events;
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_stats after;
    cr_assert_eq(folio_stats_get(&after, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_geq(after.file_bytes, st.file_bytes);
    cr_assert_lt(after.used_bytes + 8 * 4096, after.file_bytes,
                 "a rebuild frees the old projections' pages: used %llu of %llu",
                 (unsigned long long)after.used_bytes, (unsigned long long)after.file_bytes);
    for (int i = 0; i < 20; i++) tmpdb_customer(tmpdb, tmpdb_strf("Later %02d", i));
    folio_stats later;
    cr_assert_eq(folio_stats_get(&later, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_gt(later.used_bytes, after.used_bytes);
    cr_assert_leq(later.used_bytes, later.file_bytes);
}
