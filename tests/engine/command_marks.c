/*
 * tests/engine/command_marks.c - the command mark (envelope key 13): written on every event
 * of a multi-event append but its last, never on a one-event append; checked by verify
 * (docs/INTEGRITY.md, check 11) and by restore; read by the "as known at" queries.
 *
 * The damaged ledgers are made by rewriting one event's envelope with another mark and
 * sealing it and every later frame again (checksum, chain hash, head), as a writer with a
 * bug would have written them: only the marks' own check can find them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpdb.h"
#include "../../engine/internal.h"

TestSuite(command_marks, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* seq 1: a note alone (stream 1); seqs 2-4: one batch (streams 1, 2, 1); seq 5: a keyed
 * note alone (stream 2). */
static void write_ledger(void) {
    folio_event one = tmpdb_note(1, "alone");
    cr_assert_eq(tmpdb_append(tmpdb, &one), 1);
    folio_event batch[3] = {tmpdb_note(1, "b1"), tmpdb_note(2, "b2"), tmpdb_note(1, "b3")};
    cr_assert_eq(tmpdb_append_batch(tmpdb, batch, 3, NULL).last_seq, 4);
    folio_event keyed = tmpdb_note(2, "keyed");
    cr_assert_eq(tmpdb_append_batch(tmpdb, &keyed, 1, "k-5").last_seq, 5);
}

/* The mark of `seq` as stored, read the way the queries read it. */
static uint32_t mark_of(uint64_t seq) {
    folio_txn t = {0};
    uint32_t follows = 99;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_replay__follows_at(&follows, &t, seq), FOLIO_OK, "%s", folio_errmsg());
    folio_store__read_end(&t);
    return follows;
}

/* Give event `seq` the mark `follows` (the rest of its envelope as it was), and seal it and
 * every later frame again, the head following: a consistent chain around a wrong mark. */
/* When set (for one call): re-encode the marked event under this key, with a copy of the idem
 * record of "k-5" under it, so that only the key's length is wrong. */
static const char *override_key;
static void set_mark(uint64_t seq, uint32_t follows) {
    const char *okey = override_key;
    override_key = NULL; /* one call */
    static uint8_t frame[FOLIO_EVENT_BYTES_MAX], env[FOLIO_EVENT_BYTES_MAX];
    static char strbuf[FOLIO_EVENT_BYTES_MAX];
    folio_txn t = {0};
    folio_val v;
    folio_head head;
    uint8_t key[8], chain[FOLIO_HASH_BYTES] = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_log__read_head(&head, &t), FOLIO_OK);
    if (okey) {
        uint8_t rec[64];
        cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_IDEM, "k-5", 3), FOLIO_OK);
        cr_assert(v.size <= sizeof rec);
        memcpy(rec, v.data, v.size);
        cr_assert_eq(folio_store__put(&t, FOLIO_DB_IDEM, okey, strlen(okey),
                                      rec, v.size, 0), FOLIO_OK);
    }
    if (seq > 1) {
        folio__put_be64(key, seq - 1);
        cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_LOG, key, 8), FOLIO_OK);
        memcpy(chain, v.data, FOLIO_HASH_BYTES);
    }
    for (uint64_t s = seq; s <= head.last_seq; s++) {
        folio_frame f;
        folio__put_be64(key, s);
        cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_LOG, key, 8), FOLIO_OK);
        cr_assert_eq(folio_frame__open(&f, v.data, v.size, s), FOLIO_OK);
        size_t env_bytes = f.envelope_bytes;
        const uint64_t prev_seq = f.prev_seq;
        if (s == seq) { /* re-encode it with the new mark */
            folio_event e;
            uint8_t request[FOLIO_HASH_BYTES], zero[FOLIO_HASH_BYTES] = {0};
            uint32_t old = 0;
            cr_assert_eq(folio_codec__decode_envelope(&e, f.envelope, f.envelope_bytes, strbuf,
                                                      sizeof strbuf, s, request, &old),
                         FOLIO_OK);
            int keyed = memcmp(request, zero, sizeof zero) != 0;
            if (okey) e.idempotency_key = okey;
            cr_assert_eq(folio_codec__encode_envelope(&env_bytes, env, sizeof env, &e,
                                                      keyed ? e.idempotency_key : NULL,
                                                      keyed ? request : NULL, follows),
                         FOLIO_OK);
        } else {
            memcpy(env, f.envelope, env_bytes);
        }
        memcpy(frame + FOLIO_FRAME_HEADER_BYTES, env, env_bytes);
        folio_frame__seal(frame, FOLIO_FRAME_HEADER_BYTES + env_bytes, prev_seq, chain);
        memcpy(chain, frame, FOLIO_HASH_BYTES);
        cr_assert_eq(folio_store__put(&t, FOLIO_DB_LOG, key, 8, frame,
                                      FOLIO_FRAME_HEADER_BYTES + env_bytes, 0),
                     FOLIO_OK);
    }
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_ROOT, FOLIO_ROOT_HEAD_KEY,
                                  FOLIO_ROOT_HEAD_KEY_BYTES),
                 FOLIO_OK);
    uint8_t rec[FOLIO_HEAD_BYTES];
    memcpy(rec, v.data, sizeof rec);
    memcpy(rec + 8, chain, FOLIO_HASH_BYTES);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, FOLIO_ROOT_HEAD_KEY,
                                  FOLIO_ROOT_HEAD_KEY_BYTES, rec, sizeof rec, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    cr_assert_eq(mark_of(seq), follows);
}

static void assert_verify_fails(uint64_t bad_seq, const char *needle) {
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT, "verify passed ('%s' expected)",
                 needle);
    cr_assert_eq(r.bad_seq, bad_seq, "bad_seq %llu for '%s' (%s)", (unsigned long long)r.bad_seq,
                 needle, folio_errmsg());
    cr_assert(strstr(folio_errmsg(), needle) != NULL, "verify says '%s', expected '%s'",
              folio_errmsg(), needle);
}

Test(command_marks, a_batch_marks_all_but_its_last_event_and_a_single_event_nothing) {
    write_ledger();
    static const uint32_t want[] = {0, 2, 1, 0, 0};
    for (uint64_t s = 1; s <= 5; s++)
        cr_assert_eq(mark_of(s), want[s - 1], "seq %llu", (unsigned long long)s);
    /* not a byte more for a one-event append: its envelope is the nine pairs it always was */
    folio_txn t = {0};
    folio_val v;
    uint8_t key[8];
    folio__put_be64(key, 1);
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_LOG, key, 8), FOLIO_OK);
    cr_assert_eq(((const uint8_t *)v.data)[FOLIO_FRAME_HEADER_BYTES], 0x89, "fixmap of 9 pairs");
    folio_store__read_end(&t);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, 5);
}

Test(command_marks, verify_refuses_a_mark_that_does_not_count_down) {
    write_ledger();
    set_mark(1, 1); /* seq 1 would end at seq 2, whose mark says two more follow */
    assert_verify_fails(2, "command mark 2, expected 0");
}

Test(command_marks, verify_refuses_a_mark_cut_short_inside_a_command) {
    write_ledger();
    set_mark(3, 0); /* seq 2 says two follow, seq 3 that none does */
    assert_verify_fails(3, "command mark 0, expected 1");
}

Test(command_marks, verify_refuses_a_mark_that_reaches_into_another_write) {
    write_ledger();
    /* the batch counts down to the keyed note written after it */
    set_mark(2, 3);
    set_mark(3, 2);
    set_mark(4, 1);
    assert_verify_fails(5, "not written with it");
}

Test(command_marks, verify_refuses_a_mark_past_the_end_of_the_log) {
    write_ledger();
    set_mark(5, 3);
    assert_verify_fails(5, "points past the end of the log");
    /* the queries do not answer past it either */
    uint64_t first = 0, last = 0;
    cr_assert_eq(folio_command_bounds(&first, &last, tmpdb, 5), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "past the last seq 5") != NULL, "%s", folio_errmsg());
    folio_iter *it = NULL;
    cr_assert_eq(folio_stream_open(&it, tmpdb, 2, 0, 5), FOLIO_ECORRUPT);
    cr_assert_null(it);
}

Test(command_marks, the_bounds_of_a_damaged_command_are_refused_not_guessed) {
    write_ledger();
    set_mark(1, 1); /* 1 says it ends at 2, where the batch begins that ends at 4 */
    uint64_t first = 0, last = 0;
    cr_assert_eq(folio_command_bounds(&first, &last, tmpdb, 3), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "command mark 1, expected 3") != NULL, "%s", folio_errmsg());
}

/* Restore writes each event's mark as exported, and refuses marks that do not count down
 * (inside a call, and across calls from the log's last event). */
Test(command_marks, restore_writes_the_marks_and_refuses_ones_that_do_not_count_down) {
    write_ledger();
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 5);
    static const uint32_t marks[] = {0, 2, 1, 0, 0};
    uint8_t request[FOLIO_HASH_BYTES];
    folio_iter *it = NULL;
    cr_assert_eq(folio_log_open(&it, tmpdb, 5, 5), FOLIO_OK);
    const folio_event *e5;
    cr_assert_eq(folio_iter_next(&e5, it), FOLIO_OK);
    cr_assert_eq(folio_iter_request_hash(request, it), 1);
    folio_iter_free(it);
    folio_restore_item items[5];
    for (size_t i = 0; i < 5; i++)
        items[i] = (folio_restore_item){log[i], log[i].idempotency_key ? request : NULL, NULL,
                                        marks[i]};

    folio_db *copy = tmpdb_open(tmpdb_path("copy.db"), NULL);
    items[2].command_follows = 0; /* seq 3 must say 1 */
    cr_assert_eq(folio_restore_append(copy, items, 5), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "command mark 0, expected 1") != NULL, "%s", folio_errmsg());
    items[2].command_follows = 1;
    items[1].command_follows = 3; /* the batch would run past its last event */
    cr_assert_eq(folio_restore_append(copy, items, 5), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "command mark 1, expected 2") != NULL, "%s", folio_errmsg());
    items[1].command_follows = 2;
    /* across calls: the batch split between two */
    cr_assert_eq(folio_restore_append(copy, items, 3), FOLIO_OK, "%s", folio_errmsg());
    items[3].command_follows = 1;
    cr_assert_eq(folio_restore_append(copy, items + 3, 2), FOLIO_ECORRUPT);
    items[3].command_follows = 0;
    cr_assert_eq(folio_restore_append(copy, items + 3, 2), FOLIO_OK, "%s", folio_errmsg());
    folio_verify_report a, b;
    cr_assert_eq(folio_verify(&a, tmpdb), FOLIO_OK);
    cr_assert_eq(folio_verify(&b, copy), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(memcmp(a.head, b.head, FOLIO_HASH_BYTES), 0, "the same bytes, marks included");
}

/* Bytes on disk: an idempotency key of 129-511 bytes (no write makes one; LMDB takes it) on
 * a marked event whose idem record exists is FOLIO_ECORRUPT naming the seq, not an abort. */
Test(command_marks, a_long_key_on_a_marked_event_is_corruption_not_an_abort) {
    write_ledger();
    static char longkey[FOLIO_IDEMPOTENCY_KEY_BYTES_MAX + 73];
    memset(longkey, 'k', sizeof longkey - 1);
    override_key = longkey;
    set_mark(5, 1);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT, "%s", folio_errmsg());
    cr_assert_eq(r.bad_seq, 5, "bad seq %llu: %s", (unsigned long long)r.bad_seq, folio_errmsg());
}
