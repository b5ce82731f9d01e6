/*
 * tests/api/read.c - reading the log by seq range and one stream by version, including
 * max_version and at_seq ("as known at seq N"), and iterators that span many batches.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(read, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Ten events: streams 1, 2, 1, 3, 1, 2, 1, 1, 3, 2 (seq 1..10), each payload {"seq":N}. */
static const uint64_t streams_by_seq[] = {0, 1, 2, 1, 3, 1, 2, 1, 1, 3, 2};
#define EVENTS 10u

static void append_ten(void) {
    for (uint64_t seq = 1; seq <= EVENTS; seq++) {
        folio_event e = tmpdb_event(streams_by_seq[seq], FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                    "{\"seq\":%llu}", (unsigned long long)seq);
        cr_assert_eq(tmpdb_append(tmpdb, &e), seq);
    }
}

/* The payload of an event written by append_ten() names its seq. */
static void assert_payload_names_seq(const folio_event *e) {
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, e->payload, e->payload_bytes), FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, tmpdb_strf("{\"seq\":%llu}", (unsigned long long)e->seq));
}

static void assert_log_range(uint64_t from, uint64_t to, uint64_t first, uint64_t last) {
    size_t n = 0;
    folio_event *got = tmpdb_read_log(tmpdb, from, to, &n);
    size_t want = last >= first ? (size_t)(last - first + 1) : 0;
    cr_assert_eq(n, want, "log(%llu, %llu): %zu events, expected %zu", (unsigned long long)from,
                 (unsigned long long)to, n, want);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].seq, first + i);
        cr_assert_eq(got[i].stream, streams_by_seq[first + i]);
        assert_payload_names_seq(&got[i]);
    }
}

Test(read, log_range_bounds_are_inclusive_and_zero_means_open) {
    append_ten();
    assert_log_range(0, 0, 1, 10);
    assert_log_range(1, 0, 1, 10);
    assert_log_range(3, 5, 3, 5);
    assert_log_range(4, 4, 4, 4);
    assert_log_range(0, 3, 1, 3);
    assert_log_range(8, 0, 8, 10);
    assert_log_range(10, 10, 10, 10);
}

Test(read, log_range_past_the_end_is_clamped_or_empty) {
    append_ten();
    assert_log_range(7, 1000, 7, 10);
    assert_log_range(11, 0, 1, 0);
    assert_log_range(11, 20, 1, 0);
    assert_log_range(6, 5, 1, 0); /* from after to */
    assert_log_range(UINT64_MAX, UINT64_MAX, 1, 0);
}

Test(read, an_exhausted_iterator_keeps_answering_iterover) {
    append_ten();
    folio_iter *it = NULL;
    const folio_event *e;
    cr_assert_eq(folio_log_open(&it, tmpdb, 9, 0), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, it), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, it), FOLIO_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(folio_iter_next(&e, it), FOLIO_ITEROVER);
        cr_assert_null(e);
    }
    folio_iter_free(it);
    cr_assert_eq(folio_stream_open(&it, tmpdb, 3, 0, 0), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, it), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, it), FOLIO_OK);
    for (int i = 0; i < 3; i++) cr_assert_eq(folio_iter_next(&e, it), FOLIO_ITEROVER);
    folio_iter_free(it);
}

Test(read, log_iterator_with_open_end_stops_at_the_head_when_opened) {
    append_ten();
    folio_iter *it = NULL;
    const folio_event *e;
    cr_assert_eq(folio_log_open(&it, tmpdb, 0, 0), FOLIO_OK);
    cr_assert_eq(folio_iter_next(&e, it), FOLIO_OK);
    folio_event later = tmpdb_note(1, "later");
    tmpdb_append(tmpdb, &later);
    tmpdb_append(tmpdb, &later);
    uint64_t last = 0;
    int rc;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) last = e->seq;
    folio_iter_free(it);
    cr_assert_eq(rc, FOLIO_ITEROVER);
    cr_assert_eq(last, EVENTS, "events committed after the open are not returned");
    size_t n = 0;
    tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, EVENTS + 2, "a new iterator sees them");
}

Test(read, stream_iterator_returns_only_that_stream_in_version_order) {
    append_ten();
    for (uint64_t s = 1; s <= 3; s++) {
        size_t n = 0;
        folio_event *got = tmpdb_read_stream(tmpdb, s, 0, 0, &n);
        size_t want = 0;
        for (uint64_t seq = 1; seq <= EVENTS; seq++) want += streams_by_seq[seq] == s;
        cr_assert_eq(n, want, "stream %llu", (unsigned long long)s);
        cr_assert_eq(tmpdb_stream_version(tmpdb, s), want);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(got[i].stream, s);
            cr_assert_eq(got[i].version, i + 1);
            cr_assert_eq(streams_by_seq[got[i].seq], s);
            if (i) cr_assert_gt(got[i].seq, got[i - 1].seq);
            assert_payload_names_seq(&got[i]);
        }
    }
}

Test(read, stream_with_no_events_is_not_found) {
    append_ten();
    folio_iter *it = (folio_iter *)&it;
    cr_assert_eq(folio_stream_open(&it, tmpdb, 4, 0, 0), FOLIO_ENOTFOUND);
    cr_assert_null(it);
    cr_assert_eq(folio_stream_open(&it, tmpdb, 0, 0, 0), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_stream_open(&it, tmpdb, UINT64_MAX, 0, 0), FOLIO_ENOTFOUND);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 4), 0);
}

Test(read, max_version_stops_after_that_version) {
    append_ten(); /* stream 1: versions 1..5 at seqs 1, 3, 5, 7, 8 */
    for (uint64_t max = 1; max <= 7; max++) {
        size_t n = 0;
        folio_event *got = tmpdb_read_stream(tmpdb, 1, max, 0, &n);
        size_t want = max < 5 ? max : 5;
        cr_assert_eq(n, want, "max_version %llu", (unsigned long long)max);
        for (size_t i = 0; i < n; i++) cr_assert_eq(got[i].version, i + 1);
    }
}

Test(read, at_seq_answers_as_known_at_that_seq) {
    append_ten(); /* stream 1: versions 1..5 at seqs 1, 3, 5, 7, 8 */
    static const uint64_t seqs_of_stream1[] = {1, 3, 5, 7, 8};
    for (uint64_t at = 1; at <= EVENTS; at++) { /* each append its own command */
        size_t n = 0;
        folio_event *got = tmpdb_read_stream(tmpdb, 1, 0, at, &n);
        size_t want = 0;
        while (want < 5 && seqs_of_stream1[want] <= at) want++;
        cr_assert_eq(n, want, "at_seq %llu", (unsigned long long)at);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(got[i].seq, seqs_of_stream1[i]);
            cr_assert_leq(got[i].seq, at);
        }
    }
    /* past the head: an answer that would change once that seq is written */
    folio_iter *it = NULL;
    cr_assert_eq(folio_stream_open(&it, tmpdb, 1, 0, EVENTS + 1), FOLIO_EINVAL);
    cr_assert_null(it);
    cr_assert(strstr(folio_errmsg(), "last seq 10") != NULL, "%s", folio_errmsg());
}

/* A seq inside an append batch is answered as known at the batch's end: its events are one
 * atomic write, and no reader ever saw a part of it. */
Test(read, at_seq_inside_a_batch_answers_at_its_end) {
    folio_event one = tmpdb_note(1, "alone");
    tmpdb_append(tmpdb, &one); /* seq 1 */
    folio_event batch[3] = {tmpdb_note(1, "b1"), tmpdb_note(2, "b2"), tmpdb_note(1, "b3")};
    tmpdb_append_batch(tmpdb, batch, 3, NULL); /* seqs 2-4 */
    folio_event last = tmpdb_note(2, "after");
    tmpdb_append(tmpdb, &last); /* seq 5 */
    static const size_t want1[] = {1, 3, 3, 3, 3}, want2[] = {0, 1, 1, 1, 2};
    for (uint64_t at = 1; at <= 5; at++) {
        size_t n = 0;
        tmpdb_read_stream(tmpdb, 1, 0, at, &n);
        cr_assert_eq(n, want1[at - 1], "stream 1 at seq %llu", (unsigned long long)at);
        tmpdb_read_stream(tmpdb, 2, 0, at, &n);
        cr_assert_eq(n, want2[at - 1], "stream 2 at seq %llu", (unsigned long long)at);
    }
    uint64_t first = 0, end = 0;
    for (uint64_t at = 2; at <= 4; at++) {
        cr_assert_eq(folio_command_bounds(&first, &end, tmpdb, at), FOLIO_OK);
        cr_assert_eq(first, 2);
        cr_assert_eq(end, 4);
    }
    cr_assert_eq(folio_command_bounds(&first, &end, tmpdb, 5), FOLIO_OK);
    cr_assert_eq(first, 5);
    cr_assert_eq(end, 5);
    cr_assert_eq(folio_command_bounds(&first, &end, tmpdb, 6), FOLIO_EINVAL);
    cr_assert_eq(folio_command_bounds(&first, &end, tmpdb, 0), FOLIO_EINVAL);
    /* the log iterator says where each command ends */
    folio_iter *it = NULL;
    const folio_event *e;
    static const uint32_t follows[] = {0, 2, 1, 0, 0};
    cr_assert_eq(folio_log_open(&it, tmpdb, 0, 0), FOLIO_OK);
    for (size_t i = 0; folio_iter_next(&e, it) == FOLIO_OK; i++)
        cr_assert_eq(folio_iter_command_follows(it), follows[i], "seq %llu",
                     (unsigned long long)e->seq);
    folio_iter_free(it);
}

Test(read, a_stream_not_yet_started_at_at_seq_is_not_found) {
    append_ten(); /* stream 3 starts at seq 4 */
    folio_iter *it = NULL;
    cr_assert_eq(folio_stream_open(&it, tmpdb, 3, 0, 3), FOLIO_ENOTFOUND);
    cr_assert_null(it);
    size_t n = 0;
    tmpdb_read_stream(tmpdb, 3, 0, 4, &n);
    cr_assert_eq(n, 1);
}

Test(read, max_version_and_at_seq_combine) {
    append_ten(); /* stream 2: versions 1..3 at seqs 2, 6, 10 */
    size_t n = 0;
    folio_event *got = tmpdb_read_stream(tmpdb, 2, 2, 10, &n);
    cr_assert_eq(n, 2, "max_version is the tighter bound");
    cr_assert_eq(got[1].seq, 6);
    got = tmpdb_read_stream(tmpdb, 2, 3, 5, &n);
    cr_assert_eq(n, 1, "at_seq is the tighter bound");
    cr_assert_eq(got[0].seq, 2);
}

Test(read, iterators_span_many_batches_of_large_events) {
    /* 700 events of ~3 KiB in two streams: more than one iterator batch by count (256)
     * and by bytes (256 KiB), for both iterators. */
    char *filler = tmpdb_repeat('f', 3000);
    folio_event batch[100];
    for (unsigned i = 0; i < 700; i++) {
        batch[i % 100] = tmpdb_event(1 + i % 2, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                     "{\"i\":%u,\"filler\":\"%s\"}", i, filler);
        if (i % 100 == 99) tmpdb_append_batch(tmpdb, batch, 100, NULL);
    }
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 700);
    for (size_t i = 0; i < n; i++) cr_assert_eq(log[i].seq, i + 1);
    for (uint64_t s = 1; s <= 2; s++) {
        folio_event *st = tmpdb_read_stream(tmpdb, s, 0, 0, &n);
        cr_assert_eq(n, 350);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(st[i].version, i + 1);
            cr_assert_eq(st[i].seq, 2 * i + s);
            tmpdb_assert_event_eq(&st[i], &log[st[i].seq - 1]);
        }
    }
    folio_event *tail = tmpdb_read_log(tmpdb, 250, 520, &n);
    cr_assert_eq(n, 271);
    cr_assert_eq(tail[0].seq, 250);
    cr_assert_eq(tail[n - 1].seq, 520);
}

/* A stream of at most one batch is read during the back-pointer walk: with filters, and when
 * its frames do not fit the iterator's buffer after all (then it is fetched again). */
Test(read, short_streams_read_whole_during_the_walk_or_fall_back) {
    char *filler = tmpdb_repeat('f', 3000);
    folio_event batch[100];
    for (unsigned i = 0; i < 200; i++) { /* stream 1: 100 x 3 KiB; stream 2: 100 small */
        batch[i % 100] = i % 2 ? tmpdb_event(2, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i)
                               : tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED,
                                             "{\"i\":%u,\"filler\":\"%s\"}", i, filler);
        if (i % 100 == 99) tmpdb_append_batch(tmpdb, batch, 100, NULL);
    }
    size_t n = 0, m = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 200);
    for (uint64_t s = 1; s <= 2; s++) {
        folio_event *st = tmpdb_read_stream(tmpdb, s, 0, 0, &m);
        cr_assert_eq(m, 100, "stream %llu", (unsigned long long)s);
        for (size_t i = 0; i < m; i++) {
            cr_assert_eq(st[i].version, i + 1);
            tmpdb_assert_event_eq(&st[i], &log[st[i].seq - 1]);
        }
        /* both filters; seq 99 lies in the first batch, which ends at seq 100 */
        folio_event *part = tmpdb_read_stream(tmpdb, s, 60, 99, &m);
        cr_assert_eq(tmpdb_read_stream(tmpdb, s, 40, 0, &n)[39].version, 40);
        cr_assert_eq(n, 40, "max version 40");
        /* stream 1 holds the odd seqs (50 of them up to 100), stream 2 the even ones (50) */
        cr_assert_eq(m, 50u, "stream %llu as known at seq 99: %zu", (unsigned long long)s, m);
        for (size_t i = 0; i < m; i++) tmpdb_assert_event_eq(&part[i], &log[part[i].seq - 1]);
    }
}

Test(read, iterators_outlive_later_appends_and_see_a_consistent_stream) {
    append_ten();
    folio_iter *it = NULL;
    cr_assert_eq(folio_stream_open(&it, tmpdb, 2, 0, 0), FOLIO_OK);
    folio_event more = tmpdb_note(2, "after open");
    tmpdb_append(tmpdb, &more);
    const folio_event *e;
    uint64_t versions = 0;
    int rc;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) cr_assert_eq(e->version, ++versions);
    folio_iter_free(it);
    cr_assert_eq(rc, FOLIO_ITEROVER);
    cr_assert_eq(versions, 3, "the stream as it was when the iterator was opened");
}
