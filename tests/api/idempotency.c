/*
 * tests/api/idempotency.c - idempotency keys on folio_append: a repeat with the same content
 * returns the original result and appends nothing; the same key with other content is
 * refused; the key is checked before the expectations; keys survive a reopen.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(idempotency, .init = tmpdb_setup, .fini = tmpdb_teardown);

static int append_keyed(folio_append_result *res, const folio_event *events, size_t count,
                        const folio_expect *expects, size_t expect_count, const char *key) {
    folio_batch b = {events, count, expects, expect_count, key};
    memset(res, 0xab, sizeof *res); /* poison: every field must be written on success */
    return folio_append(res, tmpdb, &b);
}

Test(idempotency, repeat_with_same_key_and_content_returns_original_result_and_appends_nothing) {
    folio_event filler = tmpdb_note(9, "filler");
    tmpdb_append(tmpdb, &filler);
    folio_event batch[] = {tmpdb_note(1, "a"), tmpdb_note(2, "b")};
    folio_append_result first, again;
    cr_assert_eq(append_keyed(&first, batch, 2, NULL, 0, "order-1"), FOLIO_OK);
    cr_assert_eq(first.first_seq, 2);
    cr_assert_eq(first.last_seq, 3);
    cr_assert_eq(first.replayed, 0);
    /* Other appends in between do not change what the repeat answers. */
    tmpdb_append(tmpdb, &filler);
    folio_stats before, after;
    cr_assert_eq(folio_stats_get(&before, tmpdb), FOLIO_OK);

    /* Same content, built again from scratch (other buffers, same bytes). */
    folio_event copy[] = {tmpdb_note(1, "a"), tmpdb_note(2, "b")};
    cr_assert_eq(append_keyed(&again, copy, 2, NULL, 0, "order-1"), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.first_seq, first.first_seq);
    cr_assert_eq(again.last_seq, first.last_seq);

    cr_assert_eq(folio_stats_get(&after, tmpdb), FOLIO_OK);
    cr_assert_eq(after.events, before.events, "a repeat appends nothing");
    cr_assert_eq(memcmp(after.head, before.head, FOLIO_HASH_BYTES), 0);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 1), 1);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 2), 1);
}

Test(idempotency, same_key_with_different_content_is_refused_and_writes_nothing) {
    folio_event base = tmpdb_note(1, "a");
    base.reason = "why";
    base.correlation = "c-1";
    folio_append_result res;
    cr_assert_eq(append_keyed(&res, &base, 1, NULL, 0, "k"), FOLIO_OK);

    /* Each field of the content in turn. */
    folio_event variants[8];
    for (int i = 0; i < 8; i++) variants[i] = base;
    variants[0].stream = 2;
    variants[1].type = FOLIO_EV_CUSTOMER_UPDATED;
    variants[2].schema = 2;
    variants[3].actor = "someone-else";
    variants[4].reason = "another reason";
    variants[5].reason = NULL;
    variants[6].correlation = NULL;
    variants[7] = tmpdb_note(1, "b"); /* payload */
    variants[7].reason = base.reason;
    variants[7].correlation = base.correlation;
    for (int i = 0; i < 8; i++) {
        int rc = append_keyed(&res, &variants[i], 1, NULL, 0, "k");
        cr_assert_eq(rc, FOLIO_EEXISTS, "variant %d: got %s", i, folio_strerror(rc));
    }
    /* A batch that adds an event to the original content is different content too. */
    folio_event two[] = {base, base};
    cr_assert_eq(append_keyed(&res, two, 2, NULL, 0, "k"), FOLIO_EEXISTS);
    cr_assert(strstr(folio_errmsg(), "k") != NULL, "%s", folio_errmsg());
    cr_assert_eq(tmpdb_last_seq(tmpdb), 1, "nothing was appended");
    /* The original content is still accepted as a repeat. */
    cr_assert_eq(append_keyed(&res, &base, 1, NULL, 0, "k"), FOLIO_OK);
    cr_assert_eq(res.replayed, 1);
}

Test(idempotency, key_is_checked_before_expectations) {
    folio_event e = tmpdb_note(1, "create");
    folio_expect none = {1, FOLIO_EXPECT_NO_STREAM, 0};
    folio_append_result res;
    cr_assert_eq(append_keyed(&res, &e, 1, &none, 1, "create-1"), FOLIO_OK);
    /* The stream now exists, so the expectation alone would conflict; the repeat wins. */
    cr_assert_eq(append_keyed(&res, &e, 1, &none, 1, "create-1"), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert_eq(res.replayed, 1);
    cr_assert_eq(res.first_seq, 1);
    /* Without the key the same append conflicts. */
    cr_assert_eq(append_keyed(&res, &e, 1, &none, 1, NULL), FOLIO_ECONFLICT);
    /* A key reused for other content is refused even when the expectation would pass. */
    folio_event other = tmpdb_note(1, "other");
    folio_expect v1 = {1, FOLIO_EXPECT_VERSION, 1};
    cr_assert_eq(append_keyed(&res, &other, 1, &v1, 1, "create-1"), FOLIO_EEXISTS);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 1);
}

Test(idempotency, a_refused_append_does_not_consume_its_key) {
    folio_event e = tmpdb_note(1, "x");
    folio_expect stale = {1, FOLIO_EXPECT_VERSION, 5};
    folio_append_result res;
    cr_assert_eq(append_keyed(&res, &e, 1, &stale, 1, "retry-me"), FOLIO_ECONFLICT);
    folio_event bad = e;
    bad.schema = 0;
    cr_assert_eq(append_keyed(&res, &bad, 1, NULL, 0, "retry-me"), FOLIO_EINVAL);
    /* The corrected request with the same key is appended, not treated as a repeat. */
    folio_expect right = {1, FOLIO_EXPECT_VERSION, 0};
    cr_assert_eq(append_keyed(&res, &e, 1, &right, 1, "retry-me"), FOLIO_OK);
    cr_assert_eq(res.replayed, 0);
    cr_assert_eq(res.first_seq, 1);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 1);
}

Test(idempotency, different_keys_with_the_same_content_both_append) {
    folio_event e = tmpdb_note(1, "same");
    folio_append_result a, b;
    cr_assert_eq(append_keyed(&a, &e, 1, NULL, 0, "k1"), FOLIO_OK);
    cr_assert_eq(append_keyed(&b, &e, 1, NULL, 0, "k2"), FOLIO_OK);
    cr_assert_eq(b.replayed, 0);
    cr_assert_eq(b.first_seq, a.last_seq + 1);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 1), 2);
    /* Keys are compared exactly: case matters. */
    cr_assert_eq(append_keyed(&b, &e, 1, NULL, 0, "K1"), FOLIO_OK);
    cr_assert_eq(b.replayed, 0);
}

Test(idempotency, a_repeat_is_recognised_after_reopen) {
    folio_event batch[] = {tmpdb_note(1, "a"), tmpdb_note(1, "b"), tmpdb_note(2, "c")};
    folio_append_result first, again;
    cr_assert_eq(append_keyed(&first, batch, 3, NULL, 0, "persist"), FOLIO_OK);
    tmpdb_reopen();
    cr_assert_eq(append_keyed(&again, batch, 3, NULL, 0, "persist"), FOLIO_OK);
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.first_seq, first.first_seq);
    cr_assert_eq(again.last_seq, first.last_seq);
    folio_event changed[] = {batch[0], batch[2], batch[1]}; /* same events, other order */
    cr_assert_eq(append_keyed(&again, changed, 3, NULL, 0, "persist"), FOLIO_EEXISTS);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 3);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

Test(idempotency, the_key_is_recorded_on_every_event_it_wrote) {
    folio_event batch[] = {tmpdb_note(1, "a"), tmpdb_note(2, "b")};
    folio_append_result res;
    cr_assert_eq(append_keyed(&res, batch, 2, NULL, 0, "tagged"), FOLIO_OK);
    folio_event plain = tmpdb_note(1, "plain");
    tmpdb_append(tmpdb, &plain);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(log[0].idempotency_key, "tagged");
    cr_assert_str_eq(log[1].idempotency_key, "tagged");
    cr_assert_null(log[2].idempotency_key);
    /* The key given on an event itself is ignored: only the batch's key counts. */
    folio_event sneaky = tmpdb_note(3, "s");
    sneaky.idempotency_key = "ignored";
    uint64_t seq = tmpdb_append(tmpdb, &sneaky);
    folio_event *got = tmpdb_read_log(tmpdb, seq, seq, &n);
    cr_assert_eq(n, 1);
    cr_assert_null(got[0].idempotency_key);
}

Test(idempotency, empty_or_malformed_keys_are_invalid) {
    folio_event e = tmpdb_note(1, "x");
    folio_append_result res;
    cr_assert_eq(append_keyed(&res, &e, 1, NULL, 0, ""), FOLIO_EINVAL);
    cr_assert_eq(append_keyed(&res, &e, 1, NULL, 0, "bad\xfe"), FOLIO_EINVAL);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 0);
}
