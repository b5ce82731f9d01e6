/*
 * tests/engine/decode_fast.c - the one-pass envelope decode that iterators use
 * (folio_codec__decode_envelope_fast) accepts only envelopes the full decoder
 * (folio_codec__decode_envelope) accepts, with exactly the decoder's results: every field,
 * the strings by content and in the decoder's order in its buffer, the payload's place and
 * length, the request hash. Checked on the golden frames (each is taken by the fast path,
 * so iterators really use it), on random mutations of them (with string buffers that may
 * be too small), and on crafted envelopes at the edges the fast path leaves to the decoder.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"
#include "envelopes.h"

/* A string field: both NULL, or equal at the same offset of each decoder's buffer. */
static void same_str(const char *a, const char *abuf, const char *b, const char *bbuf,
                     const char *what) {
    cr_assert_eq(a == NULL, b == NULL, "seed %llu: %s present in one decode only",
                 (unsigned long long)rng_state, what);
    if (!a) return;
    cr_assert_str_eq(a, b, "%s", what);
    cr_assert_eq(a - abuf, b - bbuf, "%s at another place in the buffer", what);
}

/* Fast path and decoder on one envelope, with a string buffer of `cap` bytes: if the fast
 * path accepts, the decoder accepts with the same results. Returns 1 when it accepted and
 * counts the envelopes both refuse. */
static int compare(const env_buf *e, uint64_t seq, size_t cap, uint64_t *refused_by_both) {
    static char fbuf[FOLIO_EVENT_BYTES_MAX], dbuf[FOLIO_EVENT_BYTES_MAX];
    uint8_t fh[FOLIO_HASH_BYTES], dh[FOLIO_HASH_BYTES];
    folio_event f, d;
    cr_assert_leq(cap, sizeof fbuf);
    memset(fh, 0xaa, sizeof fh);
    memset(dh, 0x55, sizeof dh);
    uint32_t ff = 7, df = 9;
    int s = folio_codec__decode_envelope_fast(&f, e->b, e->n, fbuf, cap, seq, fh, &ff);
    int rc = folio_codec__decode_envelope(&d, e->b, e->n, dbuf, cap, seq, dh, &df);
    if (!s) {
        if (rc != FOLIO_OK) (*refused_by_both)++;
        return 0;
    }
    cr_assert_eq(rc, FOLIO_OK, "seed %llu: the fast path accepted an envelope the decoder "
                               "refuses: %s", (unsigned long long)rng_state, folio_errmsg());
    cr_assert_eq(f.seq, d.seq);
    cr_assert_eq(f.stream, d.stream);
    cr_assert_eq(f.version, d.version);
    cr_assert_eq(f.type, d.type);
    cr_assert_eq(f.schema, d.schema);
    cr_assert_eq(f.recorded_at_us, d.recorded_at_us);
    same_str(f.actor, fbuf, d.actor, dbuf, "actor");
    same_str(f.reason, fbuf, d.reason, dbuf, "reason");
    same_str(f.correlation, fbuf, d.correlation, dbuf, "correlation");
    same_str(f.idempotency_key, fbuf, d.idempotency_key, dbuf, "idempotency key");
    cr_assert_eq(f.payload, d.payload, "the payload in place");
    cr_assert_eq(f.payload_bytes, d.payload_bytes);
    cr_assert_eq(memcmp(fh, dh, sizeof fh), 0, "request hash");
    cr_assert_eq(ff, df, "command mark");
    return 1;
}

/* The seq written in an envelope folio wrote. */
Test(decode_fast, golden_envelopes_take_the_fast_path_with_the_decoders_results) {
    env_buf env[16];
    size_t n = load_envelopes(env, 16);
    cr_assert_geq(n, 5);
    uint64_t both = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = seq_of(&env[i]);
        cr_assert_eq(compare(&env[i], seq, FOLIO_EVENT_BYTES_MAX, &both), 1,
                     "golden envelope %zu takes the fast path", i);
        cr_assert_eq(compare(&env[i], seq + 1, FOLIO_EVENT_BYTES_MAX, &both), 0,
                     "not for another seq");
    }
}

Test(decode_fast, mutated_envelopes_are_never_accepted_by_the_fast_path_alone) {
    env_buf env[16];
    size_t n = load_envelopes(env, 16);
    rnd_seed();
    uint64_t accepted = 0, refused = 0;
    for (unsigned iter = 0; iter < 60000; iter++) {
        const env_buf *src = &env[rnd() % n];
        uint64_t seq = seq_of(src);
        env_buf m = *src;
        mutate(&m);
        /* a buffer that fits, and sometimes one that may not: "too long" is the decoder's */
        size_t cap = rnd() % 4 ? FOLIO_EVENT_BYTES_MAX : 1 + (size_t)(rnd() % 64);
        accepted += (uint64_t)compare(&m, seq, cap, &refused);
    }
    cr_assert_gt(accepted, 100, "accepted %llu", (unsigned long long)accepted);
    cr_assert_gt(refused, 10000, "refused %llu", (unsigned long long)refused);
}

Test(decode_fast, envelopes_it_leaves_to_the_decoder) {
    /* 89: nine pairs; 00 01 format; 01 04 seq 4; 02 01 stream; 03 01 version; 04 0b type;
     * 05 01 schema; 06 cc 05 recorded_at; 07 a6 "tester" actor; 0b 80 payload {} */
    static const char *const base = "00 01 01 04 02 01 03 01 04 0b 05 01 06 cc 05 07 a6 746573746572";
    static const struct {
        const char *hex;
        int decoder_accepts;
        const char *why;
    } cases[] = {
        {"89 %s 0b 80", 1, "the shape folio writes: taken"},
        {"8a %s 0b 80 0e 01", 1, "a key a newer folio may add"},
        {"8a %s 0b 80 a1 78 01", 1, "a string key"},
        {"de 0009 %s 0b 80", 1, "a map 16 envelope"},
        {"8a %s 0b 80 0c c4 10 00112233445566778899aabbccddeeff", 0, "request hash without a key"},
        {"8b %s 0b 80 0a a1 6b 0c c5 0010 00112233445566778899aabbccddeeff", 1, "request hash as bin 16"},
        {"8a %s 0b 80 08 a2 7800", 0, "a NUL in the reason"},
        {"8a %s 0b 80 04 01", 0, "a repeated key"},
        {"89 %s 0b 90", 0, "a payload that is not a map"},
        {"89 %s 0b 81", 0, "a payload cut short"},
        {"88 %s", 0, "no payload"},
        {"89 %s 0b 80 c0", 0, "a byte after the map"},
    };
    uint64_t both = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char hex[512];
        snprintf(hex, sizeof hex, cases[c].hex, base);
        env_buf e = {.n = 0};
        hx(&e, hex);
        char buf[256];
        folio_event d;
        int rc = folio_codec__decode_envelope(&d, e.b, e.n, buf, sizeof buf, 4, NULL, NULL);
        cr_assert_eq(rc == FOLIO_OK, cases[c].decoder_accepts, "case %zu (%s): decoder %d",
                     c, cases[c].why, rc);
        cr_assert_eq(compare(&e, 4, FOLIO_EVENT_BYTES_MAX, &both), c == 0, "case %zu (%s)", c,
                     cases[c].why);
    }
}

/* The command mark (key 13): a count from 1 to 2^32 - 1 (a uint32), at most once. The
 * fast path takes what folio writes with the decoder's value and leaves the rest to it. */
Test(decode_fast, the_command_mark_is_read_alike_and_checked) {
    static const char *const base = "00 01 01 04 02 01 03 01 04 0b 05 01 06 cc 05 07 a6 746573746572";
    static const struct {
        const char *hex;
        int accepted;
        uint32_t follows;
        const char *why;
    } cases[] = {
        {"8a %s 0b 80 0d 01", 1, 1, "one more event follows"},
        {"8a %s 0b 80 0d cd 270f", 1, 9999, "the largest batch's first event"},
        {"8a %s 0b 80 0d cd 2710", 1, 10000, "a command larger than a batch (a settings change)"},
        {"8a %s 0b 80 0d ce ffffffff", 1, 4294967295u, "the largest mark"},
        {"8a %s 0b 80 0d cf 0000000100000000", 0, 0, "more than a uint32"},
        {"89 %s 0b 80", 1, 0, "no mark: the command's last event"},
        {"8a %s 0b 80 0d 00", 0, 0, "a mark of 0 is never written"},
        {"8a %s 0b 80 0d a1 31", 0, 0, "not an unsigned integer"},
        {"8a %s 0b 80 0d d0 01", 0, 0, "a signed encoding"},
        {"8b %s 0b 80 0d 01 0d 02", 0, 0, "the mark twice"},
    };
    uint64_t both = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char hex[512], buf[256];
        snprintf(hex, sizeof hex, cases[c].hex, base);
        env_buf e = {.n = 0};
        hx(&e, hex);
        folio_event d;
        uint32_t follows = 77;
        int rc = folio_codec__decode_envelope(&d, e.b, e.n, buf, sizeof buf, 4, NULL, &follows);
        cr_assert_eq(rc == FOLIO_OK, cases[c].accepted, "case %zu (%s): decoder %d", c,
                     cases[c].why, rc);
        if (rc == FOLIO_OK) cr_assert_eq(follows, cases[c].follows, "case %zu", c);
        cr_assert_eq(compare(&e, 4, FOLIO_EVENT_BYTES_MAX, &both), cases[c].accepted,
                     "case %zu (%s): the fast path", c, cases[c].why);
        folio_envelope_fields f;
        int scanned = folio_codec__scan_envelope(&f, e.b, e.n, 4);
        cr_assert_eq(scanned, cases[c].accepted, "case %zu (%s): verify's scan", c, cases[c].why);
        if (scanned) cr_assert_eq(f.follows, cases[c].follows, "case %zu", c);
    }
}
