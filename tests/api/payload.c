/*
 * tests/api/payload.c - payload validation on append (hand-crafted msgpack) and the JSON
 * conversions. A payload is one msgpack map with string keys holding only nil, booleans,
 * integers, UTF-8 strings, bin, arrays and maps: no floats (money is never a float), no ext.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(payload, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Append one event carrying `bytes` as its payload; returns the code, and on refusal checks
 * that nothing was written. */
static int append_raw(const void *bytes, size_t n) {
    uint64_t before = tmpdb_last_seq(tmpdb);
    folio_event e = tmpdb_note(1, "x");
    e.payload = bytes;
    e.payload_bytes = n;
    uint64_t seq = 0;
    int rc = folio_event_append(&seq, tmpdb, &e);
    if (rc != FOLIO_OK) cr_assert_eq(tmpdb_last_seq(tmpdb), before, "nothing was written");
    return rc;
}

#define RAW(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

Test(payload, a_map_of_every_allowed_kind_is_accepted_and_stored_verbatim) {
    static const uint8_t ok[] = {
        0x8a,                                     /* map of 10 */
        0xa1, 'n', 0xc0,                          /* nil */
        0xa1, 't', 0xc3,                          /* true */
        0xa1, 'f', 0xc2,                          /* false */
        0xa1, 'i', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, /* int64 min */
        0xa1, 'u', 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* INT64_MAX as uint64 */
        0xa1, 's', 0xa2, 0xc3, 0xa9,              /* "é" */
        0xa1, 'b', 0xc4, 0x02, 0x00, 0xff,        /* bin 00 ff */
        0xa1, 'a', 0x93, 0x01, 0xe0, 0x90,        /* [1, -32, []] */
        0xa1, 'm', 0x81, 0xa1, 'k', 0x80,         /* {"k": {}} */
        0xa0, 0x01,                               /* "" -> 1: an empty key is a string */
    };
    cr_assert_eq(append_raw(ok, sizeof ok), FOLIO_OK, "%s", folio_errmsg());
    size_t n = 0;
    folio_event *got = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(got[0].payload_bytes, sizeof ok);
    cr_assert_eq(memcmp(got[0].payload, ok, sizeof ok), 0, "the payload is stored verbatim");

    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, got[0].payload, got[0].payload_bytes), FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{\"n\":null,\"t\":true,\"f\":false,\"i\":-9223372036854775808,"
                           "\"u\":9223372036854775807,\"s\":\"\xc3\xa9\",\"b\":\"00ff\","
                           "\"a\":[1,-32,[]],\"m\":{\"k\":{}},\"\":1}");
}

Test(payload, an_empty_map_is_a_valid_payload) {
    cr_assert_eq(append_raw(RAW(0x80)), FOLIO_OK);
    cr_assert_eq(append_raw(RAW(0xde, 0x00, 0x00)), FOLIO_OK, "map16 with no pairs");
}

Test(payload, floats_are_refused_at_any_depth) {
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xca, 0x3f, 0xc0, 0, 0)), FOLIO_EINVAL);
    cr_assert(strstr(folio_errmsg(), "float") != NULL, "%s", folio_errmsg());
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)),
                 FOLIO_EINVAL);
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0x92, 0x01, 0xca, 0, 0, 0, 0)), FOLIO_EINVAL,
                 "a float inside an array");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0x81, 0xa1, 'b', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0)),
                 FOLIO_EINVAL, "a float inside a nested map");
}

Test(payload, a_top_level_value_that_is_not_a_map_is_refused) {
    cr_assert_eq(append_raw(RAW(0x91, 0x01)), FOLIO_EINVAL, "array [1]");
    cr_assert_eq(append_raw(RAW(0x90)), FOLIO_EINVAL, "empty array");
    cr_assert_eq(append_raw(RAW(0x91, 0x80)), FOLIO_EINVAL, "array holding a map");
    cr_assert_eq(append_raw(RAW(0xa1, 'x')), FOLIO_EINVAL, "string");
    cr_assert_eq(append_raw(RAW(0x01)), FOLIO_EINVAL, "integer");
    cr_assert_eq(append_raw(RAW(0xc0)), FOLIO_EINVAL, "nil");
    cr_assert_eq(append_raw(RAW(0xc4, 0x01, 0x80)), FOLIO_EINVAL, "bin holding a map byte");
}

Test(payload, invalid_utf8_in_a_string_value_or_key_is_refused) {
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xa2, 0xc3, 0x28)), FOLIO_EINVAL);
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xa1, 0xff)), FOLIO_EINVAL);
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xa2, 0xc0, 0x80)), FOLIO_EINVAL,
                 "overlong encoding of NUL");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xa3, 0xed, 0xa0, 0x80)), FOLIO_EINVAL,
                 "a surrogate");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0x91, 0xa1, 0x80)), FOLIO_EINVAL,
                 "inside an array");
    cr_assert_eq(append_raw(RAW(0x81, 0xa2, 0xc3, 0x28, 0x01)), FOLIO_EINVAL, "in a key");
    /* Bytes in a bin value are not text and may be anything. */
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xc4, 0x02, 0xc3, 0x28)), FOLIO_OK);
}

Test(payload, map_keys_must_be_strings) {
    cr_assert_eq(append_raw(RAW(0x81, 0x01, 0x02)), FOLIO_EINVAL, "integer key");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0x81, 0x01, 0x02)), FOLIO_EINVAL,
                 "integer key in a nested map");
    cr_assert_eq(append_raw(RAW(0x82, 0xa1, 'a', 0x01, 0xff, 0x02)), FOLIO_EINVAL,
                 "negative integer as the second key");
    cr_assert_eq(append_raw(RAW(0x81, 0xc4, 0x01, 'a', 0x01)), FOLIO_EINVAL, "bin key");
    cr_assert_eq(append_raw(RAW(0x81, 0xc0, 0x01)), FOLIO_EINVAL, "nil key");
    cr_assert_eq(append_raw(RAW(0x81, 0x80, 0x01)), FOLIO_EINVAL, "map key");
}

/* An export carries payloads as JSON, and JSON readers stop at INT64_MAX: an event whose
 * backup could not be restored is refused when it is written. */
Test(payload, unsigned_integers_past_int64_max_are_refused) {
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0)), FOLIO_EINVAL,
                 "2^63");
    cr_assert(strstr(folio_errmsg(), "larger than"), "%s", folio_errmsg());
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff)),
                 FOLIO_EINVAL, "2^64-1 in an array");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff)),
                 FOLIO_OK, "INT64_MAX itself: %s", folio_errmsg());
}

Test(payload, ext_values_are_refused) {
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xd4, 0x01, 0x00)), FOLIO_EINVAL, "fixext1");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xc7, 0x01, 0x05, 0x00)), FOLIO_EINVAL, "ext8");
}

Test(payload, truncated_or_trailing_bytes_are_refused) {
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a')), FOLIO_EINVAL, "a key without its value");
    cr_assert_eq(append_raw(RAW(0x82, 0xa1, 'a', 0x01)), FOLIO_EINVAL, "one pair of two");
    cr_assert_eq(append_raw(RAW(0x81, 0xa1, 'a', 0xa5, 'x')), FOLIO_EINVAL, "short string");
    cr_assert_eq(append_raw(RAW(0x80, 0x00)), FOLIO_EINVAL, "a byte after the map");
    cr_assert_eq(append_raw(RAW(0x80, 0x80)), FOLIO_EINVAL, "two maps");
    cr_assert_eq(append_raw(RAW(0xc1)), FOLIO_EINVAL, "the never-used byte");
}

Test(payload, a_missing_payload_is_refused) {
    cr_assert_eq(append_raw(NULL, 0), FOLIO_EINVAL);
    cr_assert_eq(append_raw(NULL, 5), FOLIO_EINVAL);
    static const uint8_t map[] = {0x80};
    cr_assert_eq(append_raw(map, 0), FOLIO_EINVAL, "zero bytes");
}

/* ---- JSON conversion ---- */

static int from_json(const char *json) {
    void *p = (void *)&p;
    size_t n = 99;
    int rc = folio_payload_from_json(&p, &n, json);
    if (rc == FOLIO_OK) {
        tmpdb_keep(p);
    } else {
        cr_assert_null(p, "no payload on failure");
        cr_assert_eq(n, 0);
    }
    return rc;
}

Test(payload, json_real_numbers_are_refused_and_integers_accepted) {
    cr_assert_eq(from_json("{\"amount\":12.50}"), FOLIO_EINVAL);
    cr_assert(strstr(folio_errmsg(), "real") != NULL, "%s", folio_errmsg());
    cr_assert_eq(from_json("{\"amount\":1e3}"), FOLIO_EINVAL);
    cr_assert_eq(from_json("{\"amount\":1.0}"), FOLIO_EINVAL);
    cr_assert_eq(from_json("{\"lines\":[1,2,{\"x\":-0.5}]}"), FOLIO_EINVAL);
    cr_assert_eq(from_json("{\"amount\":\"12.50\",\"cents\":1250,\"neg\":-7}"), FOLIO_OK);
}

Test(payload, json_that_is_not_an_object_is_refused) {
    cr_assert_eq(from_json("[1,2]"), FOLIO_EINVAL);
    cr_assert_eq(from_json("[{}]"), FOLIO_EINVAL);
    cr_assert_eq(from_json("\"text\""), FOLIO_EINVAL);
    cr_assert_eq(from_json("42"), FOLIO_EINVAL);
    cr_assert_eq(from_json("null"), FOLIO_EINVAL);
    cr_assert_eq(from_json(""), FOLIO_EINVAL);
    cr_assert_eq(from_json("{\"a\":"), FOLIO_EINVAL);
    cr_assert_eq(from_json("{\"a\":1} {}"), FOLIO_EINVAL);
    cr_assert_eq(from_json("{\"a\":1,\"a\":2}"), FOLIO_EINVAL, "duplicate keys");
    cr_assert_eq(from_json("{\"a\":\"\\u0000\"}"), FOLIO_EINVAL, "NUL in a string");
}

Test(payload, json_round_trips_through_msgpack) {
    static const char *const docs[] = {
        "{}",
        "{\"a\":1}",
        "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"zero\":0}",
        "{\"s\":\"quote \\\" backslash \\\\ newline \\n tab \\t\",\"u\":\"\xe2\x82\xac\"}",
        "{\"nested\":{\"list\":[true,false,null,[],{}],\"empty\":\"\"}}",
        "{\"z\":1,\"a\":2,\"m\":3}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        const void *p;
        size_t n;
        tmpdb_payload(&p, &n, "%s", docs[i]);
        char *json = NULL;
        cr_assert_eq(folio_payload_to_json(&json, p, n), FOLIO_OK);
        tmpdb_keep(json);
        cr_assert_str_eq(json, docs[i], "key order and every value survive the round trip");
        folio_event e = tmpdb_note(1, "x");
        e.payload = p;
        e.payload_bytes = n;
        tmpdb_append(tmpdb, &e);
    }
}

Test(payload, payload_to_json_refuses_bytes_that_are_not_msgpack) {
    char *json = (char *)&json;
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x82, 0xa1, 'a')), FOLIO_ECORRUPT);
    cr_assert_null(json);
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x80, 0x80)), FOLIO_ECORRUPT);
    static const uint8_t map[] = {0x80};
    cr_assert_eq(folio_payload_to_json(&json, map, 0), FOLIO_ECORRUPT);
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x80)), FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{}");
}

/* Bytes that never went through append (a caller's own payload) may hold invalid UTF-8: the
 * JSON rendering stays valid JSON, each bad byte becoming U+FFFD; a NUL is escaped. */
Test(payload, payload_to_json_repairs_invalid_utf8_and_escapes_nul) {
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x81, 0xa2, 'i', 0x82, 0xa3, 'a', 0xff, 'b')),
                 FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{\"i\xef\xbf\xbd\":\"a\xef\xbf\xbd" "b\"}");
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x81, 0xa1, 'k', 0xa3, 'a', 0x00, 'b')),
                 FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{\"k\":\"a\\u0000b\"}");
}

/* JSON has no NaN or infinity: a caller's own bytes holding them render as null, so the text
 * stays JSON; finite floats render as numbers. */
Test(payload, payload_to_json_writes_non_finite_floats_as_null) {
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x82, 0xa1, 'n', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0,
                                                  0, 0, 0xa1, 'i', 0xca, 0x7f, 0x80, 0, 0)),
                 FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{\"n\":null,\"i\":null}");
    cr_assert_eq(folio_payload_to_json(&json, RAW(0x81, 0xa1, 'h', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0,
                                                  0, 0)),
                 FOLIO_OK);
    tmpdb_keep(json);
    cr_assert_str_eq(json, "{\"h\":1.5}");
}
