/*
 * tests/api/limits.c - every caller-facing limit of folio.h: the maximum is accepted (and
 * reads back intact), maximum + 1 is refused with FOLIO_ELIMIT and writes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(limits, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Append one event in a batch with `key`; returns the code. On FOLIO_OK the event read back
 * is copied to *got (if not NULL); otherwise the ledger must be unchanged. */
static int try_append(folio_event *got, const folio_event *e, const char *key) {
    uint64_t before = tmpdb_last_seq(tmpdb);
    folio_append_result res;
    folio_batch b = {e, 1, NULL, 0, key};
    int rc = folio_append(&res, tmpdb, &b);
    if (rc != FOLIO_OK) {
        cr_assert_eq(tmpdb_last_seq(tmpdb), before, "a refused append writes nothing");
        return rc;
    }
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, res.last_seq, res.last_seq, &n);
    cr_assert_eq(n, 1);
    if (got) *got = log[0];
    return rc;
}

/* A msgpack map {"k": "<bytes x 's'>"} of exactly `total` bytes (str16 value: 1 + 2 + 3
 * bytes of headers), freed at teardown. */
static void *payload_of_exact_size(size_t total) {
    cr_assert_geq(total, 6u + 256u);
    size_t len = total - 6;
    cr_assert_leq(len, 0xffffu);
    uint8_t *p = (uint8_t *)tmpdb_repeat('s', total);
    p[0] = 0x81;       /* fixmap, 1 pair */
    p[1] = 0xa1;       /* fixstr, 1 byte */
    p[2] = 'k';
    p[3] = 0xda;       /* str16 */
    p[4] = (uint8_t)(len >> 8);
    p[5] = (uint8_t)len;
    return p;
}

/* Text of exactly `bytes` bytes made of two-byte characters (plus one 'a' if odd). */
static char *multibyte_text(size_t bytes) {
    char *s = tmpdb_repeat('a', bytes);
    for (size_t i = 0; i + 1 < bytes; i += 2) {
        s[i] = '\xc3';
        s[i + 1] = '\xa9'; /* é */
    }
    return s;
}

Test(limits, actor_of_max_bytes_is_accepted_and_one_more_is_refused) {
    folio_event e = tmpdb_note(1, "x"), got;
    e.actor = tmpdb_repeat('a', FOLIO_ACTOR_BYTES_MAX);
    cr_assert_eq(try_append(&got, &e, NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_str_eq(got.actor, e.actor);
    e.actor = multibyte_text(FOLIO_ACTOR_BYTES_MAX); /* the limit counts bytes */
    cr_assert_eq(try_append(&got, &e, NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_str_eq(got.actor, e.actor);
    e.actor = tmpdb_repeat('a', FOLIO_ACTOR_BYTES_MAX + 1);
    cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_ELIMIT);
    e.actor = multibyte_text(FOLIO_ACTOR_BYTES_MAX + 1);
    cr_assert_eq(strlen(e.actor), FOLIO_ACTOR_BYTES_MAX + 1);
    cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_ELIMIT, "128 characters but 129 bytes");
}

Test(limits, reason_of_max_bytes_is_accepted_and_one_more_is_refused) {
    folio_event e = tmpdb_note(1, "x"), got;
    e.reason = tmpdb_repeat('r', FOLIO_REASON_BYTES_MAX);
    cr_assert_eq(try_append(&got, &e, NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_str_eq(got.reason, e.reason);
    e.reason = tmpdb_repeat('r', FOLIO_REASON_BYTES_MAX + 1);
    cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_ELIMIT);
    e.reason = multibyte_text(FOLIO_REASON_BYTES_MAX + 2);
    cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_ELIMIT);
}

Test(limits, correlation_of_max_bytes_is_accepted_and_one_more_is_refused) {
    folio_event e = tmpdb_note(1, "x"), got;
    e.correlation = tmpdb_repeat('c', FOLIO_CORRELATION_BYTES_MAX);
    cr_assert_eq(try_append(&got, &e, NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_str_eq(got.correlation, e.correlation);
    e.correlation = tmpdb_repeat('c', FOLIO_CORRELATION_BYTES_MAX + 1);
    cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_ELIMIT);
}

Test(limits, idempotency_key_of_max_bytes_is_accepted_and_one_more_is_refused) {
    folio_event e = tmpdb_note(1, "x"), got;
    const char *key = tmpdb_repeat('k', FOLIO_IDEMPOTENCY_KEY_BYTES_MAX);
    cr_assert_eq(try_append(&got, &e, key), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_str_eq(got.idempotency_key, key);
    cr_assert_eq(try_append(NULL, &e, key), FOLIO_OK, "a repeat of the longest key");
    cr_assert_eq(tmpdb_last_seq(tmpdb), 1, "...is recognised as a repeat");
    key = tmpdb_repeat('k', FOLIO_IDEMPOTENCY_KEY_BYTES_MAX + 1);
    cr_assert_eq(try_append(NULL, &e, key), FOLIO_ELIMIT);
}

Test(limits, payload_of_max_bytes_is_accepted_and_one_more_is_refused) {
    folio_event e = tmpdb_note(1, "x"), got;
    e.payload = payload_of_exact_size(FOLIO_PAYLOAD_BYTES_MAX);
    e.payload_bytes = FOLIO_PAYLOAD_BYTES_MAX;
    cr_assert_eq(try_append(&got, &e, NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(got.payload_bytes, FOLIO_PAYLOAD_BYTES_MAX);
    cr_assert_eq(memcmp(got.payload, e.payload, FOLIO_PAYLOAD_BYTES_MAX), 0);
    e.payload = payload_of_exact_size(FOLIO_PAYLOAD_BYTES_MAX + 1);
    e.payload_bytes = FOLIO_PAYLOAD_BYTES_MAX + 1;
    cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_ELIMIT);
}

Test(limits, payload_from_json_refuses_a_payload_over_the_size_limit) {
    const void *p;
    size_t n;
    /* {"k":"s...s"} encodes to 6 + len bytes (str16 value). */
    size_t len = FOLIO_PAYLOAD_BYTES_MAX - 6;
    tmpdb_payload(&p, &n, "{\"k\":\"%s\"}", tmpdb_repeat('s', len));
    cr_assert_eq(n, FOLIO_PAYLOAD_BYTES_MAX);
    void *out = NULL;
    size_t out_n = 0;
    const char *json = tmpdb_strf("{\"k\":\"%s\"}", tmpdb_repeat('s', len + 1));
    cr_assert_eq(folio_payload_from_json(&out, &out_n, json), FOLIO_ELIMIT);
    cr_assert_null(out);
}

Test(limits, an_event_with_every_field_at_its_maximum_fits_and_round_trips) {
    folio_event e = tmpdb_note(UINT64_MAX, "x"), got;
    e.type = FOLIO_EV_CREDIT_HOLD_RELEASED;
    e.schema = UINT32_MAX;
    e.actor = multibyte_text(FOLIO_ACTOR_BYTES_MAX);
    e.reason = multibyte_text(FOLIO_REASON_BYTES_MAX);
    e.correlation = tmpdb_repeat('c', FOLIO_CORRELATION_BYTES_MAX);
    e.payload = payload_of_exact_size(FOLIO_PAYLOAD_BYTES_MAX);
    e.payload_bytes = FOLIO_PAYLOAD_BYTES_MAX;
    const char *key = tmpdb_repeat('k', FOLIO_IDEMPOTENCY_KEY_BYTES_MAX);
    cr_assert_eq(try_append(&got, &e, key), FOLIO_OK, "%s", folio_errmsg());
    e.seq = 1;
    e.version = 1;
    e.recorded_at_us = got.recorded_at_us;
    e.idempotency_key = key;
    tmpdb_assert_event_eq(&got, &e);
    size_t n = 0;
    folio_event *st = tmpdb_read_stream(tmpdb, UINT64_MAX, 0, 0, &n);
    cr_assert_eq(n, 1);
    tmpdb_assert_event_eq(&st[0], &e);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

Test(limits, batch_of_max_events_is_accepted_and_one_more_is_refused) {
    size_t max = FOLIO_BATCH_EVENTS_MAX;
    folio_event *batch = tmpdb_keep(malloc((max + 1) * sizeof *batch));
    cr_assert_not_null(batch);
    folio_event note = tmpdb_note(1, "bulk");
    for (size_t i = 0; i <= max; i++) {
        batch[i] = note;
        batch[i].stream = 1 + i % 7;
    }
    folio_append_result res;
    folio_batch too_many = {batch, max + 1, NULL, 0, NULL};
    cr_assert_eq(folio_append(&res, tmpdb, &too_many), FOLIO_ELIMIT);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 0);

    folio_batch b = {batch, max, NULL, 0, NULL};
    cr_assert_eq(folio_append(&res, tmpdb, &b), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(res.first_seq, 1);
    cr_assert_eq(res.last_seq, max);
    cr_assert_eq(tmpdb_last_seq(tmpdb), max);
    uint64_t versions = 0;
    for (uint64_t s = 1; s <= 7; s++) versions += tmpdb_stream_version(tmpdb, s);
    cr_assert_eq(versions, max);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, max);
}

/* JSON of `levels` nested containers (alternating maps and arrays, a map outermost) whose
 * innermost container is empty or holds one scalar. */
static const char *nested_json(unsigned levels, int inner_value) {
    size_t cap = 8u * levels + 16u, len = 0;
    char *s = tmpdb_repeat(' ', cap);
    for (unsigned i = 0; i < levels; i++) {
        const char *open = i % 2 == 0 ? (i + 1 < levels || inner_value ? "{\"a\":" : "{")
                                      : "[";
        len += (size_t)sprintf(s + len, "%s", open);
    }
    if (inner_value) len += (size_t)sprintf(s + len, "1");
    for (unsigned i = levels; i-- > 0;) len += (size_t)sprintf(s + len, "%s", i % 2 ? "]" : "}");
    s[len] = '\0';
    return s;
}

static int payload_rc(const char *json) {
    void *p = NULL;
    size_t n = 0;
    int rc = folio_payload_from_json(&p, &n, json);
    if (rc == FOLIO_OK) {
        /* The engine's own check on append agrees with the JSON encoder. */
        folio_event e = tmpdb_note(1, "x");
        e.payload = tmpdb_keep(p);
        e.payload_bytes = n;
        cr_assert_eq(try_append(NULL, &e, NULL), FOLIO_OK, "%s", folio_errmsg());
    } else {
        cr_assert_null(p);
    }
    return rc;
}

Test(limits, payload_nesting_of_max_levels_is_accepted_and_one_more_is_refused) {
    /* Containers only (the innermost one empty): 16 levels pass, 17 do not. */
    cr_assert_eq(payload_rc(nested_json(FOLIO_PAYLOAD_DEPTH_MAX, 0)), FOLIO_OK,
                 "%s: %s", nested_json(FOLIO_PAYLOAD_DEPTH_MAX, 0), folio_errmsg());
    cr_assert_eq(payload_rc(nested_json(FOLIO_PAYLOAD_DEPTH_MAX + 1, 0)), FOLIO_ELIMIT);
    /* With a value inside, one level less always passes and two more never do. */
    cr_assert_eq(payload_rc(nested_json(FOLIO_PAYLOAD_DEPTH_MAX - 1, 1)), FOLIO_OK);
    cr_assert_eq(payload_rc(nested_json(FOLIO_PAYLOAD_DEPTH_MAX + 1, 1)), FOLIO_ELIMIT);
}

/* ENGINE BUG (reported, not fixed here): engine/codec.c counts a scalar (and a map key) as a
 * nesting level of its own: check_value() and pack_json() reject any value at depth > 16,
 * and the values inside the 16th container are checked at depth 17. So 16 nested containers
 * are accepted only if the innermost one is empty; {"a":{"a":...{"a":1}}} with 16 maps is
 * refused with FOLIO_ELIMIT although its nesting of maps and arrays is 16 = the documented
 * FOLIO_PAYLOAD_DEPTH_MAX. Enable this test when the engine is fixed. */
Test(limits, payload_nesting_of_max_levels_holding_a_value_is_accepted) {
    cr_assert_eq(payload_rc(nested_json(FOLIO_PAYLOAD_DEPTH_MAX, 1)), FOLIO_OK, "%s",
                 folio_errmsg());
}
