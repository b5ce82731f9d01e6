/*
 * tests/engine/payload_check.c - a payload is checked in one walk
 * (folio_codec__payload_fast) and only a payload the walk does not accept goes through the
 * full check (msgpack_valid over the bytes, then check_value's walk), which names what is
 * wrong. The walk must accept exactly what the full check accepts: checked on random
 * payloads of every msgpack form the check allows, on random mutations of them, and at
 * the edges (depth, the largest integer, strings, types the check refuses).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/mp.h"
#include "envelopes.h"

/* Both checks on a copy of p[0, n) in an allocation of exactly n bytes. Returns 1 when
 * they accepted. */
static int compare(const uint8_t *p, size_t n) {
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, p, n);
    int fast = folio_codec__payload_fast(copy, n);
    int full = n ? folio_codec__check_payload_full(copy, n) : FOLIO_EINVAL;
    cr_assert_eq(fast, full == FOLIO_OK, "seed %llu: the walk says %d, the full check %d (%s)",
                 (unsigned long long)rng_state, fast, full, full ? folio_errmsg() : "");
    cr_assert_eq(folio_codec__check_payload(copy, n), full);
    free(copy);
    return fast;
}

static const char *const texts[] = {"", "a", "2026-01-31", "1234.50", "caf\xc3\xa9",
                                    "\xe2\x82\xac 12", "a string longer than thirty-one bytes, "
                                    "so a str8 header"};
static const int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                               4294967296LL, INT64_MAX, -1, -32, -33, -128, -129, -32768,
                               -32769, INT32_MIN, INT64_MIN};

/* A random value the check allows, nested at most `depth` more levels. */
static void random_value(folio_mpw *w, unsigned depth) {
    unsigned kind = (unsigned)(rnd() % (depth ? 9 : 7));
    switch (kind) {
    case 0: folio_mpw__nil(w); break;
    case 1: folio_mpw__bool(w, (int)(rnd() % 2)); break;
    case 2: folio_mpw__i64(w, ints[rnd() % (sizeof ints / sizeof ints[0])]); break;
    case 3:
    case 4: folio_mpw__str(w, texts[rnd() % (sizeof texts / sizeof texts[0])]); break;
    case 5: folio_mpw__bin(w, "\x00\xff\x01", (size_t)(rnd() % 4)); break;
    case 6: folio_mpw__u64(w, (uint64_t)INT64_MAX - rnd() % 2); break;
    case 7: {
        uint32_t n = (uint32_t)(rnd() % 4);
        folio_mpw__array(w, n);
        for (uint32_t i = 0; i < n; i++) random_value(w, depth - 1);
        break;
    }
    default: {
        uint32_t n = (uint32_t)(rnd() % 4);
        folio_mpw__map(w, n);
        for (uint32_t i = 0; i < n; i++) {
            folio_mpw__str(w, texts[rnd() % (sizeof texts / sizeof texts[0])]);
            random_value(w, depth - 1);
        }
    }
    }
}

static void random_payload(env_buf *e) {
    folio_mpw w;
    folio_mpw__init_fixed(&w, e->b, sizeof e->b);
    uint32_t n = 1 + (uint32_t)(rnd() % 5);
    folio_mpw__map(&w, n);
    for (uint32_t i = 0; i < n; i++) {
        folio_mpw__str(&w, texts[rnd() % (sizeof texts / sizeof texts[0])]);
        random_value(&w, 3);
    }
    e->n = folio_mpw__finish(&w) == FOLIO_OK ? w.len : 0;
}

Test(payload_check, random_payloads_are_accepted_by_the_walk) {
    rnd_seed();
    for (unsigned round = 0; round < 5000; round++) {
        env_buf e;
        random_payload(&e);
        if (e.n == 0) continue; /* did not fit the buffer */
        cr_assert_eq(compare(e.b, e.n), 1, "seed %llu: a valid payload refused",
                     (unsigned long long)rng_state);
    }
}

Test(payload_check, mutated_payloads_get_the_same_answer_from_both_checks) {
    uint64_t accepted = 0, refused = 0;
    rnd_seed();
    for (unsigned round = 0; round < 40000; round++) {
        env_buf e;
        random_payload(&e);
        if (e.n == 0) continue;
        mutate(&e);
        if (compare(e.b, e.n))
            accepted++;
        else
            refused++;
    }
    cr_assert_gt(accepted, 1000);
    cr_assert_gt(refused, 1000);
}

static int check_hex(const char *hex) {
    env_buf e = {.n = 0};
    hx(&e, hex);
    return compare(e.b, e.n);
}

Test(payload_check, edges_get_the_same_answer_from_both_checks) {
    cr_assert_eq(check_hex("80"), 1);
    cr_assert_eq(check_hex("81 a1 61 cf 7f ff ff ff ff ff ff ff"), 1); /* INT64_MAX */
    cr_assert_eq(check_hex("81 a1 61 cf 80 00 00 00 00 00 00 00"), 0); /* INT64_MAX + 1 */
    cr_assert_eq(check_hex("81 a1 61 d3 80 00 00 00 00 00 00 00"), 1); /* INT64_MIN */
    cr_assert_eq(check_hex("81 a1 61 cb 00 00 00 00 00 00 00 00"), 0); /* double */
    cr_assert_eq(check_hex("81 a1 61 ca 00 00 00 00"), 0);             /* float */
    cr_assert_eq(check_hex("81 a1 61 d4 01 02"), 0);                   /* fixext */
    cr_assert_eq(check_hex("81 a1 61 c1"), 0);                         /* never used */
    cr_assert_eq(check_hex("81 01 02"), 0);                            /* integer key */
    cr_assert_eq(check_hex("81 c0 02"), 0);                            /* nil key */
    cr_assert_eq(check_hex("81 a1 61 a2 c3 28"), 0);                   /* bad UTF-8 */
    cr_assert_eq(check_hex("81 a1 61 a2 61 00"), 0);                   /* NUL */
    cr_assert_eq(check_hex("81 a1 61 d9 02 c3 a9"), 1);                /* str8 */
    cr_assert_eq(check_hex("81 a1 61 da 00 02 c3 a9"), 1);             /* str16 */
    cr_assert_eq(check_hex("81 a1 61 db 00 00 00 02 c3 a9"), 1);       /* str32 */
    cr_assert_eq(check_hex("81 a1 61 db 00 00 00 03 c3 a9"), 0);       /* past the end */
    cr_assert_eq(check_hex("81 a1 61 c6 00 00 00 01 ff"), 1);          /* bin32 */
    cr_assert_eq(check_hex("81 a1 61 c0 c0"), 0);                      /* a byte after */
    cr_assert_eq(check_hex("91 01"), 0);                               /* not a map */
    cr_assert_eq(check_hex("df 7f ff ff ff"), 0);                      /* 2^31 - 1 pairs */
    cr_assert_eq(check_hex("de 00 01 a1 61 dc 00 01 e0"), 1);          /* map16, array16 */
    cr_assert_eq(check_hex("df 00 00 00 01 a1 61 dd 00 00 00 01 e0"), 1); /* 32-bit ones */
    /* strings of each length class of the ASCII fast path (0-3, 4-7, 8 and more bytes), each
     * with a NUL, a byte >= 0x80 or a two-byte character at every place */
    for (size_t len = 1; len <= 17; len++) {
        for (size_t at = 0; at < len; at++) {
            for (int kind = 0; kind < 3; kind++) {
                char hex[256];
                int k = snprintf(hex, sizeof hex, "81 a1 61 %02zx", 0xa0 + len);
                for (size_t i = 0; i < len; i++) {
                    unsigned b = 0x61;
                    if (i == at) b = kind == 0 ? 0x00 : kind == 1 ? 0xff : 0xc3;
                    if (kind == 2 && i == at + 1) b = 0xa9; /* c3 a9: é */
                    k += snprintf(hex + k, sizeof hex - (size_t)k, " %02x", b);
                }
                int ok = kind == 2 && at + 1 < len;
                cr_assert_eq(check_hex(hex), ok, "%zu bytes, kind %d at %zu", len, kind, at);
            }
        }
    }
    /* depth: the payload map is level 1; 16 levels of containers pass, 17 do not */
    for (unsigned levels = 15; levels <= 18; levels++) {
        char hex[256] = "81 a1 61";
        for (unsigned i = 1; i < levels; i++) strcat(hex, " 91");
        strcat(hex, " 01");
        cr_assert_eq(check_hex(hex), levels <= FOLIO_PAYLOAD_DEPTH_MAX, "%u levels", levels);
    }
}
