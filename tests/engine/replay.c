/*
 * tests/engine/replay.c - reading one stream (engine/replay.c) and a customer's history
 * (engine/customer_query.c): the back-pointer walk reads frames through a log cursor (a
 * frame missing from the log is corruption, never its neighbour); a short stream's frames
 * are opened once, during the walk, so an iterator reused by the handle must never return
 * the frames of the stream it read before; history finds the id and walks the stream in one
 * read transaction that sees every write before it, and checks the directory projection
 * (and reads the log head) once per snapshot: again for every new one, whoever wrote it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(replay, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const folio_write_opts W = {.actor = "tester"};

/* Remove the frame of `seq` from the log and nothing else, as damage would. */
static void drop_frame(uint64_t seq) {
    folio_txn t = {0};
    uint8_t key[8];
    folio__put_be64(key, seq);
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__del(&t, FOLIO_DB_LOG, key, sizeof key), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

/* Overwrite the back-pointer of the frame of `seq` with `prev` and leave its checksum as it
 * was, as damage would. */
static void damage_back_pointer(uint64_t seq, uint64_t prev) {
    folio_txn t = {0};
    folio_val v;
    uint8_t key[8], frame[FOLIO_EVENT_BYTES_MAX];
    folio__put_be64(key, seq);
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_LOG, key, sizeof key), FOLIO_OK);
    cr_assert_leq(v.size, sizeof frame);
    memcpy(frame, v.data, v.size);
    folio__put_le64(frame + FOLIO_FRAME_HEADER_BYTES - 8, prev);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_LOG, key, sizeof key, frame, v.size, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

/* Every event of `got` (count n) is the log's event at its seq, versions 1..n. */
static void assert_stream_is_log(const folio_event *got, size_t n, const folio_event *log) {
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].version, i + 1);
        tmpdb_assert_event_eq(&got[i], &log[got[i].seq - 1]);
    }
}

Test(replay, a_frame_missing_from_the_log_is_corruption_not_the_next_frame) {
    /* seqs 1..6 on streams 1, 2, 1, 2, 1, 2; seq 3 (stream 1, version 2) goes missing: the
     * cursor lands on seq 4 (stream 2), which must not be taken for it. */
    for (unsigned i = 0; i < 6; i++) {
        folio_event e = tmpdb_event(1 + i % 2, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        tmpdb_append(tmpdb, &e);
    }
    drop_frame(3);
    folio_iter *it = NULL;
    cr_assert_eq(folio_stream_open(&it, tmpdb, 1, 0, 0), FOLIO_ECORRUPT);
    cr_assert_null(it);
    cr_assert(strstr(folio_errmsg(), "seq 3") != NULL, "%s", folio_errmsg());
    cr_assert(strstr(folio_errmsg(), "missing") != NULL, "%s", folio_errmsg());
    size_t n = 0;
    folio_event *st = tmpdb_read_stream(tmpdb, 2, 0, 0, &n);
    cr_assert_eq(n, 3, "stream 2 does not use seq 3");
    cr_assert_eq(st[2].seq, 6);
}

Test(replay, a_damaged_back_pointer_is_its_frames_checksum_wherever_it_leads) {
    /* seqs 1..6 on streams 1, 2, 1, 2, 1, 2 (shifted per case). A short stream's walk follows a back-pointer
     * before its frame's checksum is checked: whatever a damaged one leads to (its end, a
     * frame of another stream, itself, a frame that is gone), the answer is the damaged
     * frame's checksum, as if each frame were checked when found. */
    static const struct { uint64_t seq, prev; int drop; } cases[] = {
        {5, 0, 0},  /* the walk would stop: "back-pointers end at version 3" */
        {5, 4, 0},  /* stream 2's version 2, then its version 1: a walk of 3 "good" frames */
        {5, 5, 0},  /* itself: "does not point backwards" */
        {5, 2, 1},  /* a frame that is gone: "missing from the log" */
        {3, 0, 0},  /* the middle frame; the newest (seq 5) is sound */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        /* case c: streams 2c+1 and 2c+2, seqs 6c+1..6c+6 */
        uint64_t base = 6 * c, stream = 2 * c + 1;
        for (unsigned i = 0; i < 6; i++) {
            folio_event e = tmpdb_event(stream + i % 2, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
            cr_assert_eq(tmpdb_append(tmpdb, &e), base + i + 1);
        }
        uint64_t seq = base + cases[c].seq, prev = cases[c].prev ? base + cases[c].prev : 0;
        damage_back_pointer(seq, prev);
        if (cases[c].drop) drop_frame(prev);
        folio_iter *it = NULL;
        cr_assert_eq(folio_stream_open(&it, tmpdb, stream, 0, 0), FOLIO_ECORRUPT, "case %zu", c);
        cr_assert_null(it);
        char want[32];
        snprintf(want, sizeof want, "seq %llu:", (unsigned long long)seq);
        cr_assert(strstr(folio_errmsg(), want) != NULL, "case %zu: %s", c, folio_errmsg());
        cr_assert(strstr(folio_errmsg(), "checksum mismatch") != NULL, "case %zu: %s", c,
                  folio_errmsg());
    }
}

Test(replay, a_reused_iterator_never_returns_the_frames_of_the_stream_read_before) {
    /* Stream 1 is short (read whole during its walk), stream 2 has 300 events (more than one
     * batch: fetched again after the walk), and the log iterator reads by seq. Each read
     * reuses the iterator the previous one freed. */
    folio_event batch[100];
    for (unsigned i = 0; i < 300; i++) {
        batch[i % 100] = tmpdb_event(2, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        if (i % 100 == 99) tmpdb_append_batch(tmpdb, batch, 100, NULL);
        if (i % 100 == 50) {
            folio_event e = tmpdb_event(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"short\":%u}", i);
            tmpdb_append(tmpdb, &e);
        }
    }
    size_t n = 0, m = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 303);
    for (int round = 0; round < 2; round++) {
        folio_event *s1 = tmpdb_read_stream(tmpdb, 1, 0, 0, &m);
        cr_assert_eq(m, 3);
        assert_stream_is_log(s1, m, log);
        folio_event *again = tmpdb_read_log(tmpdb, 0, 0, &m);
        cr_assert_eq(m, 303);
        for (size_t i = 0; i < m; i++) tmpdb_assert_event_eq(&again[i], &log[i]);
        folio_event *s2 = tmpdb_read_stream(tmpdb, 2, 0, 0, &m);
        cr_assert_eq(m, 300);
        assert_stream_is_log(s2, m, log);
        folio_event *part = tmpdb_read_stream(tmpdb, 1, 2, 0, &m); /* a filtered short read */
        cr_assert_eq(m, 2);
        assert_stream_is_log(part, m, log);
    }
}

/* The history of ref, checked against the log: versions 1..n. Returns n; *last is its last
 * event, and *merged_into whether it has a customer.merged_into. */
static size_t history_matches_log(const char *ref, const folio_event **last, int *merged_into) {
    size_t n = 0, all = 0;
    folio_event *h = tmpdb_history(tmpdb, ref, &n);
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &all);
    cr_assert_gt(n, 0);
    assert_stream_is_log(h, n, log);
    *last = &h[n - 1];
    *merged_into = 0;
    for (size_t i = 0; i < n; i++) *merged_into |= h[i].type == FOLIO_EV_CUSTOMER_MERGED_INTO;
    return n;
}

Test(replay, history_sees_every_write_before_it_on_the_same_handle_and_after_a_merge) {
    folio_write_result a = tmpdb_customer(tmpdb, "Keep Ltd"), r;
    const folio_event *last = NULL;
    int merged = 0;
    size_t before = history_matches_log(a.ref, &last, &merged);
    cr_assert_eq(last->seq, a.seq);
    cr_assert_eq(folio_note_add(&r, tmpdb, &W, a.ref, "first note"), FOLIO_OK);
    cr_assert_eq(history_matches_log(a.ref, &last, &merged), before + 1);
    cr_assert_eq(last->seq, r.seq);
    folio_write_result b = tmpdb_customer(tmpdb, "Gone Ltd");
    cr_assert_eq(folio_note_add(&r, tmpdb, &W, b.ref, "a note on B"), FOLIO_OK);
    size_t b_before = history_matches_log(b.ref, &last, &merged);
    cr_assert_eq(folio_customer_merge(&r, tmpdb, &W, a.ref, b.ref, 0, 0), FOLIO_OK,
                 "merge: %s", folio_errmsg());
    cr_assert_eq(history_matches_log(a.ref, &last, &merged), before + 2);
    cr_assert_eq(last->type, FOLIO_EV_CUSTOMER_MERGED_FROM);
    /* the merged-away customer keeps its history, and it grew */
    cr_assert_gt(history_matches_log(b.ref, &last, &merged), b_before);
    cr_assert(merged);
    cr_assert_eq(folio_note_add(&r, tmpdb, &W, a.ref, "after the merge"), FOLIO_OK);
    cr_assert_eq(history_matches_log(a.ref, &last, &merged), before + 3);
    cr_assert_eq(last->seq, r.seq);
}

/* Mark projection `name` as built by other code (version 0), as of the log's head. */
static void age_projection(const char *name) {
    folio_txn t = {0};
    uint8_t state[12];
    char key[64];
    size_t kn = folio_projection__state_key(key, sizeof key, name);
    folio__put_le32(state, 0);
    folio__put_le64(state + 4, tmpdb_last_seq(tmpdb));
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, key, kn, state, sizeof state, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

Test(replay, history_checks_the_directory_it_reads_and_no_other_projection) {
    folio_write_result a = tmpdb_customer(tmpdb, "Keep Ltd"), r;
    cr_assert_eq(folio_note_add(&r, tmpdb, &W, a.ref, "a note"), FOLIO_OK);
    const folio_event *last = NULL;
    int merged = 0;
    size_t n = history_matches_log(a.ref, &last, &merged);
    age_projection("receivables"); /* history reads no sums: it still answers */
    cr_assert_eq(history_matches_log(a.ref, &last, &merged), n);
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_get(&c, tmpdb, a.ref, 0, 0), FOLIO_EFORMAT, "a card reads them");
    age_projection("directory"); /* it finds the ref there: refused */
    folio_iter *it = NULL;
    cr_assert_eq(folio_history_open(&it, tmpdb, a.ref), FOLIO_EFORMAT);
    cr_assert_null(it);
    cr_assert(strstr(folio_errmsg(), "'directory' is out of date") != NULL, "%s", folio_errmsg());
}

static uint64_t history_checks(void) {
    pthread_mutex_lock(&tmpdb->spare_lock);
    uint64_t n = tmpdb->history_checks;
    pthread_mutex_unlock(&tmpdb->spare_lock);
    return n;
}

Test(replay, history_checks_the_directory_once_per_snapshot) {
    folio_write_result a = tmpdb_customer(tmpdb, "Keep Ltd"), r;
    const folio_event *last = NULL;
    int merged = 0;
    size_t n = history_matches_log(a.ref, &last, &merged);
    uint64_t checks = history_checks();
    for (int i = 0; i < 10; i++) cr_assert_eq(history_matches_log(a.ref, &last, &merged), n);
    cr_assert_eq(history_checks(), checks, "no write, no new snapshot: nothing to check again");
    cr_assert_eq(folio_note_add(&r, tmpdb, &W, a.ref, "a note"), FOLIO_OK);
    cr_assert_eq(history_matches_log(a.ref, &last, &merged), n + 1);
    cr_assert_eq(last->seq, r.seq);
    cr_assert_eq(history_checks(), checks + 1, "a new snapshot is checked");
    age_projection("directory");
    folio_iter *it = NULL;
    cr_assert_eq(folio_history_open(&it, tmpdb, a.ref), FOLIO_EFORMAT);
    cr_assert_eq(folio_history_open(&it, tmpdb, a.ref), FOLIO_EFORMAT, "a failed check is not kept");
    cr_assert_null(it);
}

Test(replay, history_checks_again_a_snapshot_another_process_wrote) {
    folio_write_result a = tmpdb_customer(tmpdb, "Shared Ltd");
    const folio_event *last = NULL;
    int merged = 0;
    size_t n = history_matches_log(a.ref, &last, &merged); /* this snapshot is now known */
    const char *path = tmpdb_ledger_path();
    for (int round = 0; round < 2; round++) {
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
        if (pid == 0) { /* no handle survives fork(): the child opens its own */
            folio_db *child = NULL;
            folio_write_result r;
            if (folio_db_open(&child, path, NULL) != FOLIO_OK) _exit(2);
            if (round == 0 && folio_note_add(&r, child, &W, a.ref, "from a child") != FOLIO_OK)
                _exit(3);
            if (round == 1) { /* mark the directory as built by other code */
                folio_txn t = {0};
                folio_stats st;
                uint8_t state[12] = {0};
                if (folio_stats_get(&st, child) != FOLIO_OK) _exit(5);
                folio__put_le64(state + 4, st.events);
                if (folio_store__write_begin(&t, child->store) != FOLIO_OK ||
                    folio_store__put(&t, FOLIO_DB_ROOT, "\0proj.directory", 15, state,
                                     sizeof state, 0) != FOLIO_OK ||
                    folio_store__commit(&t) != FOLIO_OK)
                    _exit(4);
            }
            folio_db_close(child);
            _exit(0);
        }
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %#x", status);
        if (round == 0) { /* the new head, from the new snapshot */
            cr_assert_eq(history_matches_log(a.ref, &last, &merged), n + 1);
            cr_assert_eq(last->version, n + 1);
        } else { /* the directory's state, from the new snapshot */
            folio_iter *it = NULL;
            cr_assert_eq(folio_history_open(&it, tmpdb, a.ref), FOLIO_EFORMAT, "%s",
                         folio_errmsg());
            cr_assert(strstr(folio_errmsg(), "'directory' is out of date") != NULL, "%s",
                      folio_errmsg());
        }
    }
}
