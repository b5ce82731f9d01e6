/*
 * tests/api/append.c - folio_append and folio_event_append: every field round-trips through
 * both iterators, seq and versions are assigned densely, batches are atomic across streams,
 * expectations are checked against the state before the batch, and malformed events are
 * refused before anything is written.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "tmpdb.h"

TestSuite(append, .init = tmpdb_setup, .fini = tmpdb_teardown);

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What must not change when an append is refused: the last seq, the head hash, and the
 * version of every stream the test cares about. */
typedef struct {
    uint64_t last_seq;
    uint8_t head[FOLIO_HASH_BYTES];
    uint64_t versions[8];
} snapshot;

static snapshot take_snapshot(void) {
    snapshot s;
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    s.last_seq = st.events;
    memcpy(s.head, st.head, FOLIO_HASH_BYTES);
    for (uint64_t i = 0; i < 8; i++) s.versions[i] = tmpdb_stream_version(tmpdb, i);
    return s;
}

static void assert_unchanged(const snapshot *before) {
    snapshot now = take_snapshot();
    cr_assert_eq(now.last_seq, before->last_seq, "nothing was appended (seq %llu -> %llu)",
                 (unsigned long long)before->last_seq, (unsigned long long)now.last_seq);
    cr_assert_eq(memcmp(now.head, before->head, FOLIO_HASH_BYTES), 0, "head hash unchanged");
    for (int i = 0; i < 8; i++)
        cr_assert_eq(now.versions[i], before->versions[i], "stream %d version unchanged", i);
}

/* Append a batch expecting `want`; when it is refused, assert nothing changed. */
static void append_expect(int want, const folio_event *events, size_t count,
                          const folio_expect *expects, size_t expect_count) {
    snapshot before = take_snapshot();
    folio_append_result res = {0, 0, 0};
    folio_batch b = {events, count, expects, expect_count, NULL};
    int rc = folio_append(&res, tmpdb, &b);
    cr_assert_eq(rc, want, "append: got %s (%s), expected %s", folio_strerror(rc),
                 folio_errmsg(), folio_strerror(want));
    if (want != FOLIO_OK) assert_unchanged(&before);
}

Test(append, every_field_round_trips_through_the_log_and_stream_iterators) {
    folio_event in = tmpdb_event(42, FOLIO_EV_INVOICE_ISSUED,
                                 "{\"doc\":\"INV-1\",\"amount\":\"1200.50\",\"lines\":[1,-2,"
                                 "{\"sku\":\"caf\xc3\xa9\"}],\"paid\":false,\"note\":null}");
    in.schema = 3;
    in.actor = "alice@example.com";
    in.reason = "monthly billing \xe2\x9c\x93";
    in.correlation = "corr-0001";
    folio_event plain = tmpdb_note(43, "no optional fields");
    folio_event batch[] = {plain, in};

    int64_t before = now_us();
    folio_append_result res = tmpdb_append_batch(tmpdb, batch, 2, "key-round-trip");
    int64_t after = now_us();
    cr_assert_eq(res.first_seq, 1);
    cr_assert_eq(res.last_seq, 2);
    cr_assert_eq(res.replayed, 0);

    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 2);
    const folio_event *got = &log[1];
    cr_assert_eq(got->seq, 2);
    cr_assert_eq(got->stream, 42);
    cr_assert_eq(got->version, 1);
    cr_assert_eq(got->type, FOLIO_EV_INVOICE_ISSUED);
    cr_assert_eq(got->schema, 3);
    cr_assert_geq(got->recorded_at_us, before, "recorded_at is the wall clock at append");
    cr_assert_leq(got->recorded_at_us, after, "recorded_at is the wall clock at append");
    cr_assert_str_eq(got->actor, in.actor);
    cr_assert_str_eq(got->reason, in.reason);
    cr_assert_str_eq(got->correlation, in.correlation);
    cr_assert_str_eq(got->idempotency_key, "key-round-trip");
    cr_assert_eq(got->payload_bytes, in.payload_bytes);
    cr_assert_eq(memcmp(got->payload, in.payload, in.payload_bytes), 0);

    /* Absent optional strings read back as NULL; the key is on every event of the batch. */
    cr_assert_eq(log[0].seq, 1);
    cr_assert_eq(log[0].stream, 43);
    cr_assert_null(log[0].reason);
    cr_assert_null(log[0].correlation);
    cr_assert_str_eq(log[0].idempotency_key, "key-round-trip");
    cr_assert_eq(log[0].recorded_at_us, got->recorded_at_us, "one batch, one recorded_at");

    /* The stream iterator returns the very same event. */
    size_t m = 0;
    folio_event *stream = tmpdb_read_stream(tmpdb, 42, 0, 0, &m);
    cr_assert_eq(m, 1);
    tmpdb_assert_event_eq(&stream[0], got);

    /* And the payload still renders as the JSON it came from. */
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, got->payload, got->payload_bytes), FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{\"doc\":\"INV-1\",\"amount\":\"1200.50\",\"lines\":[1,-2,"
                           "{\"sku\":\"caf\xc3\xa9\"}],\"paid\":false,\"note\":null}");
}

Test(append, single_event_append_has_no_key_and_returns_its_seq) {
    folio_event e = tmpdb_note(5, "one");
    cr_assert_eq(tmpdb_append(tmpdb, &e), 1);
    cr_assert_eq(tmpdb_append(tmpdb, &e), 2);
    size_t n = 0;
    folio_event *got = tmpdb_read_stream(tmpdb, 5, 0, 0, &n);
    cr_assert_eq(n, 2);
    cr_assert_null(got[0].idempotency_key);
    cr_assert_eq(got[1].seq, 2);
    cr_assert_eq(got[1].version, 2);
}

Test(append, assigns_dense_seqs_and_per_stream_versions_in_batch_order) {
    /* Streams in the batch: 1, 2, 1, 3, 2, 1 (stream 2 already has one event). */
    folio_event pre = tmpdb_note(2, "earlier");
    tmpdb_append(tmpdb, &pre);
    const uint64_t streams[] = {1, 2, 1, 3, 2, 1};
    folio_event batch[6];
    for (size_t i = 0; i < 6; i++)
        batch[i] = tmpdb_event(streams[i], FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%zu}", i);
    folio_append_result res = tmpdb_append_batch(tmpdb, batch, 6, NULL);
    cr_assert_eq(res.first_seq, 2);
    cr_assert_eq(res.last_seq, 7);

    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 7);
    uint64_t expect_version[4] = {0, 0, 1, 0}; /* stream 2 starts at version 1 */
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(log[i].seq, i + 1, "seqs are dense from 1");
        if (i == 0) continue;
        cr_assert_eq(log[i].stream, streams[i - 1], "batch order is kept");
        uint64_t want = ++expect_version[log[i].stream];
        cr_assert_eq(log[i].version, want, "seq %zu: stream %llu version %llu, expected %llu",
                     i + 1, (unsigned long long)log[i].stream,
                     (unsigned long long)log[i].version, (unsigned long long)want);
        cr_assert_geq(log[i].recorded_at_us, log[i - 1].recorded_at_us);
    }
    cr_assert_eq(tmpdb_stream_version(tmpdb, 1), 3);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 2), 3);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 3), 1);
}

Test(append, recorded_at_never_decreases) {
    folio_event e = tmpdb_note(1, "tick");
    for (int i = 0; i < 50; i++) tmpdb_append(tmpdb, &e);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 50);
    for (size_t i = 1; i < n; i++)
        cr_assert_geq(log[i].recorded_at_us, log[i - 1].recorded_at_us, "seq %zu", i + 1);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, tmpdb), FOLIO_OK);
    cr_assert_eq(st.last_recorded_at_us, log[n - 1].recorded_at_us);
}

/* ---- expectations ---- */

Test(append, no_stream_expectation_on_an_existing_stream_conflicts_and_writes_nothing) {
    folio_event e = tmpdb_note(1, "exists");
    tmpdb_append(tmpdb, &e);
    folio_expect x = {1, FOLIO_EXPECT_NO_STREAM, 0};
    append_expect(FOLIO_ECONFLICT, &e, 1, &x, 1);
    cr_assert(strstr(folio_errmsg(), "1") != NULL, "the message names the stream: %s",
              folio_errmsg());
}

Test(append, no_stream_expectation_on_a_new_stream_succeeds) {
    folio_event e = tmpdb_note(2, "new");
    folio_expect x = {2, FOLIO_EXPECT_NO_STREAM, 0};
    append_expect(FOLIO_OK, &e, 1, &x, 1);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 2), 1);
    /* The same expectation now fails: the stream exists. */
    append_expect(FOLIO_ECONFLICT, &e, 1, &x, 1);
}

Test(append, rejects_stale_expected_version_and_writes_nothing) {
    folio_event e = tmpdb_note(1, "v");
    for (int i = 0; i < 3; i++) tmpdb_append(tmpdb, &e);
    folio_expect stale = {1, FOLIO_EXPECT_VERSION, 2};
    append_expect(FOLIO_ECONFLICT, &e, 1, &stale, 1);
    cr_assert(strstr(folio_errmsg(), "expected version 2") != NULL, "%s", folio_errmsg());
    folio_expect zero = {1, FOLIO_EXPECT_VERSION, 0};
    append_expect(FOLIO_ECONFLICT, &e, 1, &zero, 1);
}

Test(append, rejects_expected_version_ahead_of_the_stream_and_writes_nothing) {
    folio_event e = tmpdb_note(1, "v");
    for (int i = 0; i < 3; i++) tmpdb_append(tmpdb, &e);
    folio_expect ahead = {1, FOLIO_EXPECT_VERSION, 4};
    append_expect(FOLIO_ECONFLICT, &e, 1, &ahead, 1);
    /* A positive version for a stream with no events is also ahead. */
    folio_event other = tmpdb_note(6, "missing");
    folio_expect missing = {6, FOLIO_EXPECT_VERSION, 1};
    append_expect(FOLIO_ECONFLICT, &other, 1, &missing, 1);
}

Test(append, exact_expected_version_succeeds_and_advances) {
    folio_event e = tmpdb_note(1, "v");
    folio_expect x = {1, FOLIO_EXPECT_VERSION, 0}; /* version 0: a stream with no events */
    for (uint64_t v = 0; v < 4; v++) {
        x.version = v;
        append_expect(FOLIO_OK, &e, 1, &x, 1);
        cr_assert_eq(tmpdb_stream_version(tmpdb, 1), v + 1);
    }
}

Test(append, any_expectation_never_conflicts) {
    folio_event e = tmpdb_note(1, "any");
    folio_expect x = {1, FOLIO_EXPECT_ANY, 12345};
    append_expect(FOLIO_OK, &e, 1, &x, 1);
    append_expect(FOLIO_OK, &e, 1, &x, 1);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 1), 2);
}

Test(append, expectations_are_checked_against_the_state_before_the_batch) {
    folio_event e = tmpdb_note(1, "v");
    tmpdb_append(tmpdb, &e);
    /* Three events for stream 1 with "version 1": the check is made once, before the batch,
     * not per event (else the second event would conflict). */
    folio_event batch[] = {e, e, e};
    folio_expect x = {1, FOLIO_EXPECT_VERSION, 1};
    append_expect(FOLIO_OK, batch, 3, &x, 1);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 1), 4);
    /* And "no stream" for a stream the batch itself creates twice over. */
    folio_event two[] = {tmpdb_note(5, "a"), tmpdb_note(5, "b")};
    folio_expect none = {5, FOLIO_EXPECT_NO_STREAM, 0};
    append_expect(FOLIO_OK, two, 2, &none, 1);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 5), 2);
}

Test(append, a_failed_expectation_on_a_stream_outside_the_batch_blocks_the_batch) {
    folio_event guard = tmpdb_note(3, "guard");
    tmpdb_append(tmpdb, &guard);
    tmpdb_append(tmpdb, &guard);
    folio_event e = tmpdb_note(1, "guarded");
    folio_expect x = {3, FOLIO_EXPECT_VERSION, 1};
    append_expect(FOLIO_ECONFLICT, &e, 1, &x, 1);
    x.version = 2;
    append_expect(FOLIO_OK, &e, 1, &x, 1);
}

Test(append, multi_stream_batch_with_one_stale_expectation_writes_nothing_anywhere) {
    folio_event seed[] = {tmpdb_note(1, "s1"), tmpdb_note(2, "s2"), tmpdb_note(3, "s3")};
    tmpdb_append_batch(tmpdb, seed, 3, NULL);
    folio_event batch[] = {tmpdb_note(1, "a"), tmpdb_note(2, "b"), tmpdb_note(3, "c"),
                           tmpdb_note(4, "d")};
    folio_expect ok_but_last[] = {{1, FOLIO_EXPECT_VERSION, 1},
                                  {2, FOLIO_EXPECT_VERSION, 1},
                                  {4, FOLIO_EXPECT_NO_STREAM, 0},
                                  {3, FOLIO_EXPECT_VERSION, 7}};
    append_expect(FOLIO_ECONFLICT, batch, 4, ok_but_last, 4);
    ok_but_last[3].version = 1;
    append_expect(FOLIO_OK, batch, 4, ok_but_last, 4);
    for (uint64_t s = 1; s <= 3; s++) cr_assert_eq(tmpdb_stream_version(tmpdb, s), 2);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 4), 1);
}

Test(append, contradictory_expectations_for_one_stream_conflict) {
    folio_event e = tmpdb_note(1, "x");
    folio_expect xs[] = {{1, FOLIO_EXPECT_VERSION, 0}, {1, FOLIO_EXPECT_VERSION, 1}};
    append_expect(FOLIO_ECONFLICT, &e, 1, xs, 2);
}

Test(append, unknown_expectation_kind_is_invalid) {
    folio_event e = tmpdb_note(1, "x");
    folio_expect x = {1, (folio_expect_kind)7, 0};
    append_expect(FOLIO_EINVAL, &e, 1, &x, 1);
}

/* ---- batch atomicity against malformed events ---- */

Test(append, multi_stream_batch_with_one_bad_event_writes_nothing) {
    folio_event pre = tmpdb_note(1, "pre");
    tmpdb_append(tmpdb, &pre);
    folio_event batch[] = {tmpdb_note(1, "a"), tmpdb_note(2, "b"), tmpdb_note(3, "c"),
                           tmpdb_note(4, "d")};
    /* Each defect in turn, always in the last event of a batch whose others are fine. */
    folio_event bad = batch[3];
    bad.actor = NULL;
    batch[3] = bad;
    append_expect(FOLIO_EINVAL, batch, 4, NULL, 0);
    bad = tmpdb_note(4, "d");
    bad.actor = tmpdb_repeat('a', FOLIO_ACTOR_BYTES_MAX + 1);
    batch[3] = bad;
    append_expect(FOLIO_ELIMIT, batch, 4, NULL, 0);
    bad = tmpdb_note(4, "d");
    bad.type = 999;
    batch[3] = bad;
    append_expect(FOLIO_EINVAL, batch, 4, NULL, 0);
    batch[3] = tmpdb_note(4, "d");
    append_expect(FOLIO_OK, batch, 4, NULL, 0);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 5);
}

Test(append, stream_zero_holds_only_ledger_configured_events) {
    folio_event cfg = tmpdb_event(0, FOLIO_EV_LEDGER_CONFIGURED,
                                  "{\"base_currency\":\"USD\",\"ref_prefix\":\"CUST-\"}");
    append_expect(FOLIO_OK, &cfg, 1, NULL, 0);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 0), 1);
    folio_event note_in_zero = tmpdb_note(0, "not a setting");
    append_expect(FOLIO_EINVAL, &note_in_zero, 1, NULL, 0);
    folio_event cfg_in_customer = cfg;
    cfg_in_customer.stream = 9;
    append_expect(FOLIO_EINVAL, &cfg_in_customer, 1, NULL, 0);
    /* Every catalog type other than ledger.configured is refused in stream 0. */
    for (uint32_t t = 2; t < 64; t++) {
        if (folio_event_type_name(t) == NULL) continue;
        folio_event e = tmpdb_event(0, t, NULL);
        append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    }
}

Test(append, accepts_every_catalog_type_and_refuses_other_ids) {
    uint32_t accepted = 0;
    for (uint32_t t = 0; t < 70; t++) {
        /* Each type in a stream of its own; the ones that start a customer or configure the
         * ledger carry the payload SPEC section 2 gives them (read models check those). */
        folio_event e = tmpdb_event(100 + t, t, NULL);
        if (t == FOLIO_EV_LEDGER_CONFIGURED)
            e = tmpdb_event(0, t, "{\"base_currency\":\"USD\",\"ref_prefix\":\"CUST-\","
                                  "\"credit_control\":\"none\","
                                  "\"on_hold_policy\":\"allow-nothing\"}");
        if (t == FOLIO_EV_CUSTOMER_CREATED)
            e = tmpdb_event(100 + t, t, "{\"ref\":\"CUST-000110\",\"name\":\"Catalog Ltd\","
                                        "\"type\":\"business\",\"status\":\"prospect\"}");
        const char *name = folio_event_type_name(t);
        append_expect(name ? FOLIO_OK : FOLIO_EINVAL, &e, 1, NULL, 0);
        if (!name) continue;
        accepted++;
        uint32_t parsed = 0;
        cr_assert_eq(folio_event_type_parse(&parsed, name), FOLIO_OK);
        cr_assert_eq(parsed, t, "type name %s parses back to its id", name);
    }
    cr_assert_eq(accepted, 18, "the catalog of SPEC section 2 has 18 types");
    folio_event big = tmpdb_note(99, "x");
    big.type = UINT32_MAX;
    append_expect(FOLIO_EINVAL, &big, 1, NULL, 0);
    uint32_t parsed = 7;
    cr_assert_eq(folio_event_type_parse(&parsed, "invoice.paid"), FOLIO_ENOTFOUND);
    cr_assert_eq(parsed, 7, "a failed parse leaves the output alone");
}

Test(append, schema_zero_is_refused) {
    folio_event e = tmpdb_note(1, "x");
    e.schema = 0;
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.schema = UINT32_MAX;
    append_expect(FOLIO_OK, &e, 1, NULL, 0);
}

Test(append, actor_is_required_non_empty_valid_utf8) {
    folio_event e = tmpdb_note(1, "x");
    e.actor = NULL;
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.actor = "";
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.actor = "bad\xff";
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.actor = "\xed\xa0\x80"; /* a UTF-16 surrogate encoded in UTF-8 */
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.actor = "b";
    append_expect(FOLIO_OK, &e, 1, NULL, 0);
}

Test(append, optional_strings_must_be_valid_utf8_and_empty_is_kept_as_empty) {
    folio_event e = tmpdb_note(1, "x");
    e.reason = "\xc3\x28";
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.reason = NULL;
    e.correlation = "\x80";
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 0);
    e.correlation = "";
    e.reason = "";
    append_expect(FOLIO_OK, &e, 1, NULL, 0);
    size_t n = 0;
    folio_event *got = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 1);
    cr_assert_not_null(got[0].reason);
    cr_assert_str_eq(got[0].reason, "");
    cr_assert_not_null(got[0].correlation);
    cr_assert_str_eq(got[0].correlation, "");
}

/* actor, reason, correlation id and idempotency key are one line each wherever they are
 * printed (history, log): a control character (C0, DEL, C1) could forge a line of the text
 * an auditor reads, so a raw append refuses it, naming the field; other characters pass. */
Test(append, envelope_strings_with_a_control_character_are_refused_naming_the_field) {
    static const char *const bad[] = {"alice\n  seq 5", "a\rb", "a\tb", "\x1b" "[2Ja", "a\x7f",
                                      "a\xc2\x80", "a\xc2\x85" "b", "a\xc2\x9f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int field = 0; field < 4; field++) {
            static const char *const names[] = {"actor", "reason", "correlation id",
                                                "idempotency key"};
            folio_event e = tmpdb_note(1, "x");
            const char *key = NULL;
            if (field == 0) e.actor = bad[i];
            if (field == 1) e.reason = bad[i];
            if (field == 2) e.correlation = bad[i];
            if (field == 3) key = bad[i];
            snapshot before = take_snapshot();
            folio_append_result res = {0, 0, 0};
            folio_batch b = {&e, 1, NULL, 0, key};
            int rc = folio_append(&res, tmpdb, &b);
            cr_assert_eq(rc, FOLIO_EINVAL, "%s %zu: %s (%s)", names[field], i, folio_strerror(rc),
                         folio_errmsg());
            cr_assert(strstr(folio_errmsg(), names[field]) && strstr(folio_errmsg(),
                                                                     "control character"),
                      "%s", folio_errmsg());
            cr_assert_null(strchr(folio_errmsg(), '\n'));
            assert_unchanged(&before);
        }
    }
    /* no-break space (U+00A0, just past the C1 controls), accents, tabs spelled out */
    folio_event e = tmpdb_note(1, "x");
    e.actor = "Ren\xc3\xa9" "e\xc2\xa0" "B";
    e.reason = "see \xe2\x80\x9cnotes\xe2\x80\x9d \\t";
    e.correlation = "\xc2\xa0";
    folio_batch b = {&e, 1, NULL, 0, "key \xc2\xbf"};
    folio_append_result res;
    TMPDB_OK(folio_append(&res, tmpdb, &b));
}

Test(append, empty_and_null_batches_are_invalid) {
    folio_event e = tmpdb_note(1, "x");
    append_expect(FOLIO_EINVAL, &e, 0, NULL, 0);
    append_expect(FOLIO_EINVAL, NULL, 1, NULL, 0);
    append_expect(FOLIO_EINVAL, &e, 1, NULL, 1); /* expect_count without expectations */
}
