/*
 * tests/tools/verify.c - `folio verify`: its JSON and text reports agree with `stats` and
 * `log`; a flipped payload byte exits 4 naming the event's seq.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"
#include "cli_run.h"

TestSuite(verify, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

static int is_lower_hex32(const char *s) {
    if (strlen(s) != 32) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
    return 1;
}

Test(verify, json_reports_ok_events_streams_and_a_32_hex_head) {
    cli_demo();
    cli_result r = cli("--json", "verify");
    cr_assert_eq(r.status, 0, "verify exited %d: %s", r.status, r.err);
    cr_assert_eq(r.err_len, 0, "stderr: '%s'", r.err);
    cr_assert_eq(cli_count_lines(r.out), 1, "not one line: '%s'", r.out);
    json_t *j = cli_json(r.out);
    cr_assert(json_is_object(j));
    cr_assert(json_is_true(json_object_get(j, "ok")), "ok is not true: %s", r.out);
    json_t *ev = json_object_get(j, "events"), *st = json_object_get(j, "streams");
    json_t *hd = json_object_get(j, "head");
    cr_assert(json_is_integer(ev) && json_integer_value(ev) > 0, "events: %s", r.out);
    cr_assert(json_is_integer(st) && json_integer_value(st) > 0, "streams: %s", r.out);
    cr_assert(json_is_string(hd) && is_lower_hex32(json_string_value(hd)), "head: %s", r.out);
    cr_assert_null(json_object_get(j, "bad_seq"), "bad_seq on a good ledger: %s", r.out);
    json_decref(j);
    cli_result_free(&r);
}

Test(verify, json_head_and_counts_match_stats_and_log) {
    cli_demo();
    uint64_t events, streams;
    char head[33];
    cli_verify_json(&events, &streams, head);

    cli_result s = cli("--json", "stats");
    cr_assert_eq(s.status, 0, "stats exited %d: %s", s.status, s.err);
    json_t *j = cli_json(s.out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "head")), head,
                     "stats head differs from verify head");
    cr_assert_eq((uint64_t)json_integer_value(json_object_get(j, "events")), events);
    cr_assert_eq((uint64_t)json_integer_value(json_object_get(j, "streams")), streams);
    json_decref(j);
    cli_result_free(&s);

    cli_result l = cli("log", "--json");
    cr_assert_eq(l.status, 0, "log exited %d: %s", l.status, l.err);
    cr_assert_eq(cli_count_lines(l.out), events, "log has %zu lines, verify says %llu events",
                 cli_count_lines(l.out), (unsigned long long)events);
    /* streams = the distinct stream ids in the log */
    json_t *lines = cli_json_lines(l.out);
    json_t *seen = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(lines, i, e) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(e, "stream")));
        json_object_set_new(seen, key, json_true());
    }
    cr_assert_eq(json_object_size(seen), streams, "log has %zu streams, verify says %llu",
                 json_object_size(seen), (unsigned long long)streams);
    json_decref(seen);
    json_decref(lines);
    cli_result_free(&l);
}

Test(verify, text_prints_ok_events_streams_and_head) {
    cli_demo();
    uint64_t events, streams;
    char head[33], want[128];
    cli_verify_json(&events, &streams, head);
    snprintf(want, sizeof want, "ok: %llu events in %llu streams, head %s\n",
             (unsigned long long)events, (unsigned long long)streams, head);
    cli_result r = cli("verify");
    cr_assert_eq(r.status, 0, "verify exited %d: %s", r.status, r.err);
    cr_assert_str_eq(r.out, want);
    cr_assert_eq(r.err_len, 0, "stderr: '%s'", r.err);
    cli_result_free(&r);
}

/* ---- corruption ---- */

static const char NOTE[] = "Prefers invoices by email";

/* The seq of the demo event whose payload holds NOTE, from `log --json`. */
static uint64_t note_seq(void) {
    cli_result l = cli("--json", "log");
    cr_assert_eq(l.status, 0, "log exited %d: %s", l.status, l.err);
    json_t *lines = cli_json_lines(l.out);
    uint64_t seq = 0;
    size_t i;
    json_t *e;
    json_array_foreach(lines, i, e) {
        char *data = json_dumps(json_object_get(e, "data"), 0);
        if (data && strstr(data, NOTE)) {
            cr_assert_eq(seq, 0, "two events hold the note");
            seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
        }
        free(data);
    }
    json_decref(lines);
    cli_result_free(&l);
    cr_assert_gt(seq, 0, "no event holds '%s'", NOTE);
    return seq;
}

/* Flip one bit of the note text wherever it stands in the ledger file. */
static void corrupt_note(void) {
    size_t len, hits = 0;
    char *bytes = cli_read_file(cli_path("folio.db"), &len);
    cr_assert_not_null(bytes);
    for (char *p = memmem(bytes, len, NOTE, strlen(NOTE)); p;
         p = memmem(p + 1, len - (size_t)(p + 1 - bytes), NOTE, strlen(NOTE))) {
        p[3] ^= 0x01; /* "Prefers" -> "Prffers" */
        hits++;
    }
    cr_assert_gt(hits, 0, "'%s' not found in the ledger file", NOTE);
    cli_write_file(cli_path("folio.db"), bytes, len);
    free(bytes);
}

Test(verify, flipped_payload_byte_exits_4_naming_the_seq) {
    cli_demo();
    uint64_t seq = note_seq();
    corrupt_note();
    cli_result r = cli("verify");
    cli_assert_error(&r, 4);
    cr_assert(cli_mentions_seq(r.err, seq), "stderr does not name seq %llu: '%s'",
              (unsigned long long)seq, r.err);
    cli_result_free(&r);
}

Test(verify, json_on_a_flipped_payload_byte_reports_ok_false_and_bad_seq) {
    cli_demo();
    uint64_t seq = note_seq();
    corrupt_note();
    cli_result r = cli("verify", "--json");
    cr_assert_eq(r.status, 4, "verify exited %d: %s", r.status, r.err);
    cli_assert_one_error_line(&r);
    json_t *j = cli_json(r.out);
    cr_assert(json_is_false(json_object_get(j, "ok")), "ok is not false: %s", r.out);
    json_t *bad = json_object_get(j, "bad_seq");
    cr_assert(json_is_integer(bad), "no integer bad_seq: %s", r.out);
    cr_assert_eq((uint64_t)json_integer_value(bad), seq, "bad_seq %lld, the note is seq %llu",
                 (long long)json_integer_value(bad), (unsigned long long)seq);
    json_decref(j);
    cli_result_free(&r);
}

Test(verify, log_stops_at_the_corrupted_event_with_exit_4) {
    cli_demo();
    uint64_t seq = note_seq();
    corrupt_note();
    cli_result r = cli("--json", "log");
    cr_assert_eq(r.status, 4, "log exited %d: %s", r.status, r.err);
    cli_assert_one_error_line(&r);
    cr_assert(cli_mentions_seq(r.err, seq), "stderr does not name seq %llu: '%s'",
              (unsigned long long)seq, r.err);
    json_t *lines = cli_json_lines(r.out);
    cr_assert_eq(json_array_size(lines), seq - 1, "log printed %zu events before seq %llu",
                 json_array_size(lines), (unsigned long long)seq);
    json_decref(lines);
    cli_result_free(&r);
}

/* Put (or, val NULL, delete) one record of the ledger's LMDB database dbi, as damage would. */
static void damage(unsigned dbi, const void *key, size_t klen, const void *val, size_t vlen) {
    folio_db *db = NULL;
    folio_txn t = {0};
    cr_assert_eq(folio_db_open(&db, cli_path("folio.db"), NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_store__write_begin(&t, db->store), FOLIO_OK);
    if (val)
        cr_assert_eq(folio_store__put(&t, dbi, key, klen, val, vlen, 0), FOLIO_OK);
    else
        cr_assert_eq(folio_store__del(&t, dbi, key, klen), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    folio_db_close(db);
}

/* verify names the first bad seq (SPEC section 6) on its text line too when the check's
 * message has none: an idempotency record naming no events, a stream record missing. */
Test(verify, the_text_line_names_the_bad_seq_of_an_index_check) {
    cli_demo();
    uint8_t idem[33] = {1};
    folio__put_le64(idem + 17, 1);
    folio__put_le64(idem + 25, 999); /* past the log's end */
    damage(FOLIO_DB_IDEM, "zz", 2, idem, sizeof idem);
    for (int round = 0; round < 2; round++) {
        cli_result j = cli("--json", "verify");
        cr_assert_eq(j.status, 4, "verify exited %d: %s", j.status, j.err);
        json_t *o = cli_json(j.out);
        uint64_t bad = (uint64_t)json_integer_value(json_object_get(o, "bad_seq"));
        cr_assert_gt(bad, 0, "%s", j.out);
        json_decref(o);
        cli_result_free(&j);
        cli_result r = cli("verify");
        cli_assert_error(&r, 4);
        cr_assert(cli_mentions_seq(r.err, bad), "stderr does not name seq %llu: '%s'",
                  (unsigned long long)bad, r.err);
        cr_assert(strstr(r.err, round ? "stream" : "names no events") != NULL, "%s", r.err);
        cli_result_free(&r);
        if (round == 0) { /* next: the record of stream 0 gone instead */
            damage(FOLIO_DB_IDEM, "zz", 2, NULL, 0);
            uint8_t key[8] = {0};
            damage(FOLIO_DB_STREAMS, key, sizeof key, NULL, 0);
        }
    }
}
