/*
 * tests/engine/mp_writer.c - engine/mp.h's writer encodes msgpack itself; every value must
 * come out byte for byte as msgpack-c's packer writes it (the stored format was written by
 * that packer: a different but valid form of the same value would change frames, request
 * hashes and record bytes). Each writer call is compared with the packer at the edges of
 * every form, in growable, fixed and spilling writers; a full fixed buffer fails for good.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <limits.h> /* msgpack's pack template needs CHAR_MIN */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/mp.h"

/* The packer's bytes and the writer's bytes, side by side. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    folio_mpw w;
} pair;

static void pair_init(pair *p) {
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
    folio_mpw__init(&p->w);
}

static void pair_check(pair *p, const char *what) {
    cr_assert_eq(folio_mpw__finish(&p->w), FOLIO_OK, "%s", what);
    cr_assert_eq(p->w.len, p->sb.size, "%s: %zu bytes, the packer wrote %zu", what, p->w.len,
                 p->sb.size);
    cr_assert_eq(memcmp(p->w.buf, p->sb.data, p->sb.size), 0, "%s: other bytes", what);
}

static void pair_free(pair *p) {
    msgpack_sbuffer_destroy(&p->sb);
    folio_mpw__free(&p->w);
}

static const uint64_t uints[] = {0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536,
                                 UINT32_MAX - 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
                                 (uint64_t)INT64_MAX, UINT64_MAX - 1, UINT64_MAX};
static const int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, INT32_MAX,
                               (int64_t)INT32_MAX + 1, INT64_MAX, -1, -31, -32, -33, -127,
                               -128, -129, -32767, -32768, -32769, INT32_MIN + 1, INT32_MIN,
                               (int64_t)INT32_MIN - 1, INT64_MIN + 1, INT64_MIN};
static const size_t lens[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000};

Test(mp_writer, integers_match_the_packer_at_every_edge) {
    pair p;
    pair_init(&p);
    for (size_t i = 0; i < sizeof uints / sizeof uints[0]; i++) {
        msgpack_pack_uint64(&p.pk, uints[i]);
        folio_mpw__u64(&p.w, uints[i]);
        pair_check(&p, "u64");
    }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        msgpack_pack_int64(&p.pk, ints[i]);
        folio_mpw__i64(&p.w, ints[i]);
        pair_check(&p, "i64");
    }
    msgpack_pack_true(&p.pk);
    folio_mpw__bool(&p.w, 7);
    msgpack_pack_false(&p.pk);
    folio_mpw__bool(&p.w, 0);
    msgpack_pack_nil(&p.pk);
    folio_mpw__nil(&p.w);
    pair_check(&p, "bool, nil");
    pair_free(&p);
}

Test(mp_writer, strings_bins_and_containers_match_the_packer_at_every_edge) {
    char *text = malloc(70001);
    cr_assert_not_null(text);
    for (size_t i = 0; i < 70000; i++) text[i] = (char)('a' + i % 26);
    text[70000] = '\0';
    pair p;
    pair_init(&p);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        msgpack_pack_str(&p.pk, n);
        msgpack_pack_str_body(&p.pk, text, n);
        folio_mpw__strn(&p.w, text, n);
        pair_check(&p, "strn");
        msgpack_pack_bin(&p.pk, n);
        msgpack_pack_bin_body(&p.pk, text, n);
        folio_mpw__bin(&p.w, text, n);
        pair_check(&p, "bin");
        msgpack_pack_map(&p.pk, n);
        folio_mpw__map(&p.w, (uint32_t)n);
        pair_check(&p, "map");
        msgpack_pack_array(&p.pk, n);
        folio_mpw__array(&p.w, (uint32_t)n);
        pair_check(&p, "array");
    }
    for (size_t n = 0; n <= 40; n++) { /* every length of the short-body copies */
        msgpack_pack_str(&p.pk, n);
        msgpack_pack_str_body(&p.pk, text + n, n);
        folio_mpw__strn(&p.w, text + n, n);
        pair_check(&p, "short strn");
    }
    msgpack_pack_map(&p.pk, UINT32_MAX);
    folio_mpw__map(&p.w, UINT32_MAX);
    msgpack_pack_array(&p.pk, UINT32_MAX);
    folio_mpw__array(&p.w, UINT32_MAX);
    pair_check(&p, "32-bit counts");
    /* the helpers: str (NULL is nil), the key forms, raw bytes */
    msgpack_pack_str(&p.pk, 3);
    msgpack_pack_str_body(&p.pk, "key", 3);
    msgpack_pack_nil(&p.pk);
    folio_mpw__str(&p.w, "key");
    folio_mpw__str(&p.w, NULL);
    msgpack_pack_str(&p.pk, 1);
    msgpack_pack_str_body(&p.pk, "k", 1);
    msgpack_pack_uint64(&p.pk, 300);
    folio_mpw__ku64(&p.w, "k", 300);
    msgpack_pack_str(&p.pk, 1);
    msgpack_pack_str_body(&p.pk, "k", 1);
    msgpack_pack_int64(&p.pk, -300);
    folio_mpw__ki64(&p.w, "k", -300);
    msgpack_pack_str(&p.pk, 1);
    msgpack_pack_str_body(&p.pk, "k", 1);
    msgpack_pack_str(&p.pk, 40);
    msgpack_pack_str_body(&p.pk, text, 40);
    char forty[41];
    memcpy(forty, text, 40);
    forty[40] = '\0';
    folio_mpw__kstr(&p.w, "k", forty);
    msgpack_pack_str(&p.pk, 2);
    msgpack_pack_str_body(&p.pk, "ab", 2);
    folio_mpw__raw(&p.w, "\xa2" "ab", 3);
    folio_mpw__raw(&p.w, NULL, 0);
    pair_check(&p, "helpers");
    pair_free(&p);
    free(text);
}

/* A fixed writer writes up to its capacity, then fails for good: nothing more is written,
 * not even a value that would fit, and finish reports FOLIO_ELIMIT. */
Test(mp_writer, fixed_buffer_fails_for_good_when_full) {
    uint8_t buf[8];
    folio_mpw w;
    folio_mpw__init_fixed(&w, buf, sizeof buf);
    folio_mpw__strn(&w, "abcdef", 6); /* 7 bytes */
    cr_assert_eq(folio_mpw__finish(&w), FOLIO_OK);
    cr_assert_eq(w.len, 7);
    folio_mpw__strn(&w, "ab", 2); /* 3 bytes: does not fit */
    cr_assert_eq(w.len, 7);
    folio_mpw__nil(&w); /* would fit, but the writer has failed */
    cr_assert_eq(w.len, 7);
    cr_assert_eq(w.buf, buf);
    cr_assert_eq(folio_mpw__finish(&w), FOLIO_ELIMIT);
    folio_mpw__reset(&w);
    folio_mpw__u64(&w, UINT64_MAX); /* 9 bytes */
    cr_assert_eq(folio_mpw__finish(&w), FOLIO_ELIMIT);
    cr_assert_eq(w.len, 0);
}

/* A spilling writer starts in the caller's buffer and moves to the heap, keeping what it
 * wrote, when a value does not fit. */
Test(mp_writer, spill_moves_to_the_heap_and_keeps_the_bytes) {
    uint8_t buf[4];
    pair p;
    pair_init(&p);
    folio_mpw__init_spill(&p.w, buf, sizeof buf);
    folio_mpw__u64(&p.w, 65535);
    msgpack_pack_uint64(&p.pk, 65535);
    cr_assert_eq(p.w.buf, buf);
    folio_mpw__strn(&p.w, "a longer string than four bytes", 31);
    msgpack_pack_str(&p.pk, 31);
    msgpack_pack_str_body(&p.pk, "a longer string than four bytes", 31);
    cr_assert_neq(p.w.buf, buf);
    pair_check(&p, "spilled");
    pair_free(&p);
}

/* The envelope as msgpack-c packed it before the encoder used the writer (the frames on
 * disk, and what verify's scan and the golden frames expect). */
static void pack_envelope(msgpack_sbuffer *sb, const folio_event *e, const char *idem,
                          const uint8_t *request_hash) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 9 + (e->reason != NULL) + (e->correlation != NULL) + 2 * (idem != NULL));
    const uint64_t fields[7] = {FOLIO_ENVELOPE_FORMAT, e->seq, e->stream, e->version, e->type,
                              e->schema, (uint64_t)e->recorded_at_us};
    for (unsigned k = 0; k < 7; k++) {
        msgpack_pack_uint8(&pk, (uint8_t)k);
        msgpack_pack_uint64(&pk, fields[k]);
    }
    const char *strs[4] = {e->actor, e->reason, e->correlation, idem};
    for (unsigned k = 0; k < 4; k++) {
        if (!strs[k]) continue;
        msgpack_pack_uint8(&pk, (uint8_t)(7 + k));
        msgpack_pack_str(&pk, strlen(strs[k]));
        msgpack_pack_str_body(&pk, strs[k], strlen(strs[k]));
    }
    msgpack_pack_uint8(&pk, 11);
    msgpack_sbuffer_write(sb, e->payload, e->payload_bytes);
    if (request_hash) {
        msgpack_pack_uint8(&pk, 12);
        msgpack_pack_bin(&pk, FOLIO_HASH_BYTES);
        msgpack_pack_bin_body(&pk, request_hash, FOLIO_HASH_BYTES);
    }
}

Test(mp_writer, envelope_matches_the_packer_and_fails_when_one_byte_short) {
    static uint8_t buf[FOLIO_EVENT_BYTES_MAX];
    static char big[300];
    memset(big, 'x', sizeof big - 1);
    const uint8_t hash[FOLIO_HASH_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const uint64_t nums[] = {1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
                             (uint64_t)UINT32_MAX + 1, UINT64_MAX};
    const char payload[] = "\x81\xa3" "doc\xa4" "X-01";
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        for (unsigned opt = 0; opt < 8; opt++) {
            folio_event e = {.seq = nums[i], .stream = nums[(i + 3) % 10],
                             .version = nums[(i + 5) % 10], .type = (uint32_t)nums[i % 8],
                             .schema = (uint32_t)nums[(i + 1) % 8],
                             .recorded_at_us = (int64_t)nums[(i + 7) % 10] * (i % 2 ? -1 : 1),
                             .actor = i % 3 ? "bench" : big,
                             .reason = opt & 1 ? "why" : NULL,
                             .correlation = opt & 2 ? big + 268 : NULL,
                             .payload = payload, .payload_bytes = sizeof payload - 1};
            const char *idem = opt & 4 ? "key-1" : NULL;
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            pack_envelope(&sb, &e, idem, idem ? hash : NULL);
            size_t n = 0;
            cr_assert_eq(folio_codec__encode_envelope(&n, buf, sizeof buf, &e, idem,
                                                      idem ? hash : NULL, 0), FOLIO_OK);
            cr_assert_eq(n, sb.size, "value %zu, options %u: %zu bytes, the packer wrote %zu",
                         i, opt, n, sb.size);
            cr_assert_eq(memcmp(buf, sb.data, n), 0, "value %zu, options %u", i, opt);
            for (size_t cap = 0; cap < n; cap += (cap < 80 ? 1 : 13)) {
                size_t m = 0;
                cr_assert_eq(folio_codec__encode_envelope(&m, buf, cap, &e, idem,
                                                          idem ? hash : NULL, 0), FOLIO_ELIMIT,
                             "capacity %zu of %zu", cap, n);
            }
            cr_assert_eq(folio_codec__encode_envelope(&n, buf, n - 1, &e, idem, idem ? hash : NULL, 0),
                         FOLIO_ELIMIT);
            cr_assert_eq(folio_codec__encode_envelope(&n, buf, sb.size, &e, idem,
                                                      idem ? hash : NULL, 0), FOLIO_OK);
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

/* folio_mpr__find takes fixstr keys and fixstr, fixint, nil and bool values inline and
 * leaves the rest to msgpuck: every kind of key and value before the one looked for. */
Test(mp_writer, find_skips_every_kind_of_key_and_value) {
    static const char long_key[] = "a key longer than thirty-one bytes, written as str8";
    folio_mpw w;
    folio_mpw__init(&w);
    folio_mpw__map(&w, 13);
    folio_mpw__kstr(&w, "doc", "INV-000001");
    folio_mpw__kstr(&w, long_key, "long");
    folio_mpw__u64(&w, 7); /* an integer key */
    folio_mpw__str(&w, "seven");
    folio_mpw__ku64(&w, "u", UINT64_MAX);
    folio_mpw__ki64(&w, "i", -1000);
    folio_mpw__str(&w, "n");
    folio_mpw__nil(&w);
    folio_mpw__str(&w, "b");
    folio_mpw__bool(&w, 1);
    folio_mpw__str(&w, "bin");
    folio_mpw__bin(&w, "xyz", 3);
    folio_mpw__str(&w, "arr");
    folio_mpw__array(&w, 2);
    folio_mpw__str(&w, "due"); /* not a key: inside an array */
    folio_mpw__u64(&w, 1);
    folio_mpw__str(&w, "map");
    folio_mpw__map(&w, 1);
    folio_mpw__kstr(&w, "due", "inner");
    folio_mpw__kstr(&w, "s8", "a value longer than thirty-one bytes, so a str8 header");
    folio_mpw__ku64(&w, "", 5); /* the empty key */
    folio_mpw__ku64(&w, "due", 42);
    cr_assert_eq(folio_mpw__finish(&w), FOLIO_OK);
    folio_mpr m, v;
    cr_assert_eq(folio_mpr__open(&m, w.buf, w.len), FOLIO_OK);
    const char *s;
    size_t n;
    uint64_t u;
    cr_assert_eq(folio_mpr__find(&v, &m, "doc"), FOLIO_OK);
    cr_assert_eq(folio_mpr__str(&v, &s, &n), FOLIO_OK);
    cr_assert_eq(n, 10);
    cr_assert_eq(memcmp(s, "INV-000001", 10), 0);
    cr_assert_eq(folio_mpr__find(&v, &m, long_key), FOLIO_OK);
    cr_assert_eq(folio_mpr__str(&v, &s, &n), FOLIO_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(folio_mpr__find(&v, &m, "due"), FOLIO_OK, "the last key, after every kind");
    cr_assert_eq(folio_mpr__u64(&v, &u), FOLIO_OK);
    cr_assert_eq(u, 42);
    cr_assert_eq(folio_mpr__find(&v, &m, ""), FOLIO_OK);
    cr_assert_eq(folio_mpr__u64(&v, &u), FOLIO_OK);
    cr_assert_eq(u, 5);
    cr_assert_eq(folio_mpr__find(&v, &m, "map"), FOLIO_OK);
    cr_assert_eq(folio_mpr__type(&v), FOLIO_MP_MAP);
    cr_assert_eq(folio_mpr__find(&v, &m, "dux"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_mpr__find(&v, &m, "xue"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_mpr__find(&v, &m, "seven"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_mpr__find(&v, &m, "inner"), FOLIO_ENOTFOUND);
    folio_mpw__free(&w);
}

/* folio_mpr__find_keys finds, in one walk, what folio_mpr__find finds one key at a time:
 * the first pair of each key, whatever the order asked for, past keys of other types and
 * values of every kind; a key the map does not hold gives p NULL; a value that is not a
 * string is found all the same (its reader refuses it). Not a map: FOLIO_ECORRUPT. */
Test(mp_writer, find_keys_finds_what_find_finds_for_each_key) {
    static const folio_mp_key cand[] = {
        FOLIO_MP_KEY("doc"), FOLIO_MP_KEY("due"),  FOLIO_MP_KEY("date"), FOLIO_MP_KEY("amount"),
        FOLIO_MP_KEY(""),    FOLIO_MP_KEY("dux"),  FOLIO_MP_KEY("map"),  FOLIO_MP_KEY("seven"),
        FOLIO_MP_KEY("inner"), FOLIO_MP_KEY("a key longer than thirty-one bytes, written as str8"),
        FOLIO_MP_KEY("d"), FOLIO_MP_KEY("dc"),
    };
    const size_t ncand = sizeof cand / sizeof cand[0];
    folio_mpw maps[3];
    for (int m = 0; m < 3; m++) folio_mpw__init(&maps[m]);
    /* 0: every kind of key and value, "due" twice (the first is an array's element) */
    folio_mpw *w = &maps[0];
    folio_mpw__map(w, 10);
    folio_mpw__kstr(w, cand[9].s, "long");
    folio_mpw__u64(w, 7); /* an integer key */
    folio_mpw__str(w, "seven");
    folio_mpw__str(w, "arr");
    folio_mpw__array(w, 2);
    folio_mpw__str(w, "due");
    folio_mpw__u64(w, 1);
    folio_mpw__str(w, "map");
    folio_mpw__map(w, 1);
    folio_mpw__kstr(w, "doc", "inner");
    folio_mpw__ku64(w, "due", 42);
    folio_mpw__ki64(w, "doc", -3); /* not a string: found, then refused by its reader */
    folio_mpw__kstr(w, "due", "second");
    folio_mpw__ku64(w, "", 5);
    folio_mpw__bool(w, 1); /* a bool key */
    folio_mpw__nil(w);
    folio_mpw__kstr(w, "d", "one byte");
    /* 1: a document's keys in the engine's order, each twice */
    w = &maps[1];
    folio_mpw__map(w, 8);
    folio_mpw__kstr(w, "doc", "INV-000001");
    folio_mpw__kstr(w, "date", "2026-01-01");
    folio_mpw__kstr(w, "due", "2026-01-31");
    folio_mpw__kstr(w, "amount", "1.00");
    folio_mpw__kstr(w, "doc", "INV-000002");
    folio_mpw__nil(w); /* a nil key */
    folio_mpw__nil(w);
    folio_mpw__kstr(w, "amount", "2.00");
    folio_mpw__kstr(w, "date", "2026-01-02");
    /* 2: empty */
    folio_mpw__map(&maps[2], 0);
    for (int m = 0; m < 3; m++) {
        folio_mpr map, got[FOLIO_MPR_FIND_KEYS_MAX], want;
        cr_assert_eq(folio_mpw__finish(&maps[m]), FOLIO_OK);
        cr_assert_eq(folio_mpr__open(&map, maps[m].buf, maps[m].len), FOLIO_OK);
        /* every window of the candidates, in both directions: orders and counts vary */
        for (size_t start = 0; start < ncand; start++) {
            for (size_t count = 1; count <= 6 && start + count <= ncand; count++) {
                for (int dir = 0; dir < 2; dir++) {
                    folio_mp_key keys[6];
                    for (size_t j = 0; j < count; j++)
                        keys[j] = cand[dir ? start + count - 1 - j : start + j];
                    cr_assert_eq(folio_mpr__find_keys(got, &map, keys, count), FOLIO_OK);
                    for (size_t j = 0; j < count; j++) {
                        int rc = folio_mpr__find(&want, &map, keys[j].s);
                        cr_assert(rc == FOLIO_OK || rc == FOLIO_ENOTFOUND);
                        if (rc == FOLIO_ENOTFOUND) {
                            cr_assert_null(got[j].p, "map %d: '%s' is not there", m, keys[j].s);
                        } else {
                            cr_assert_eq(got[j].p, want.p, "map %d: '%s' (key %zu of %zu)", m,
                                         keys[j].s, j, count);
                            cr_assert_eq(got[j].end, want.end);
                        }
                    }
                }
            }
        }
    }
    /* the first pair of a key, by value (map 1: the second "doc" and "date" are ignored) */
    folio_mpr map, got[4];
    const char *s;
    size_t n;
    static const folio_mp_key doc_keys[] = {FOLIO_MP_KEY("amount"), FOLIO_MP_KEY("date"),
                                            FOLIO_MP_KEY("doc"), FOLIO_MP_KEY("due")};
    cr_assert_eq(folio_mpr__open(&map, maps[1].buf, maps[1].len), FOLIO_OK);
    cr_assert_eq(folio_mpr__find_keys(got, &map, doc_keys, 4), FOLIO_OK);
    const char *want_text[] = {"1.00", "2026-01-01", "INV-000001", "2026-01-31"};
    for (int j = 0; j < 4; j++) {
        cr_assert_eq(folio_mpr__str(&got[j], &s, &n), FOLIO_OK);
        cr_assert_eq(n, strlen(want_text[j]));
        cr_assert_eq(memcmp(s, want_text[j], n), 0, "%s", doc_keys[j].s);
    }
    /* map 0: "doc" is an integer (found: its string reader refuses it), "due" is 42 */
    uint64_t u;
    cr_assert_eq(folio_mpr__open(&map, maps[0].buf, maps[0].len), FOLIO_OK);
    cr_assert_eq(folio_mpr__find_keys(got, &map, &doc_keys[2], 2), FOLIO_OK);
    cr_assert_eq(folio_mpr__str(&got[0], &s, &n), FOLIO_ECORRUPT);
    cr_assert_eq(folio_mpr__u64(&got[1], &u), FOLIO_OK);
    cr_assert_eq(u, 42);
    /* not a map: refused, nothing found */
    folio_mpw arr;
    folio_mpw__init(&arr);
    folio_mpw__array(&arr, 1);
    folio_mpw__str(&arr, "doc");
    cr_assert_eq(folio_mpw__finish(&arr), FOLIO_OK);
    cr_assert_eq(folio_mpr__open(&map, arr.buf, arr.len), FOLIO_OK);
    got[0].p = got[1].p = "x";
    cr_assert_eq(folio_mpr__find_keys(got, &map, &doc_keys[2], 2), FOLIO_ECORRUPT);
    cr_assert_eq(folio_mpr__find(got + 2, &map, "doc"), FOLIO_ECORRUPT);
    cr_assert_null(got[0].p);
    cr_assert_null(got[1].p);
    folio_mpw__free(&arr);
    for (int m = 0; m < 3; m++) folio_mpw__free(&maps[m]);
}

/* Keys asked for twice would make one pair the value of two keys: refused in debug builds. */
#ifndef NDEBUG
Test(mp_writer, find_keys_aborts_on_a_key_asked_for_twice, .signal = SIGABRT) {
    static const folio_mp_key keys[] = {FOLIO_MP_KEY("doc"), FOLIO_MP_KEY("date"),
                                        FOLIO_MP_KEY("doc")};
    folio_mpw w;
    folio_mpr map, got[3];
    folio_mpw__init(&w);
    folio_mpw__map(&w, 0);
    cr_assert_eq(folio_mpw__finish(&w), FOLIO_OK);
    cr_assert_eq(folio_mpr__open(&map, w.buf, w.len), FOLIO_OK);
    folio_mpr__find_keys(got, &map, keys, 3);
}
#endif
