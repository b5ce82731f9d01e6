/*
 * tests/engine/golden.c - frozen encodings of format version 1 must decode forever.
 * tests/golden/frames-v1.hex holds stored frames exactly as version 1 wrote them; each must
 * pass its checksum, decode to the fields in expected-v1.txt, and chain to head-v1.txt.
 * A failure here means a change broke old ledgers: add a new format version instead.
 */
#include <criterion/criterion.h>
#include <limits.h> /* msgpack's pack template needs CHAR_MIN */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_render.h"
#include "../../engine/internal.h"

#define GOLDEN_DIR FOLIO_SOURCE_DIR "/tests/golden/"

typedef struct {
    uint64_t seq;
    uint8_t *bytes;
    size_t len;
} golden_frame;

static size_t load_frames(golden_frame *out, size_t cap) {
    FILE *f = fopen(GOLDEN_DIR "frames-v1.hex", "r");
    cr_assert_not_null(f, "frames-v1.hex is missing");
    char *line = NULL;
    size_t linecap = 0, n = 0;
    while (getline(&line, &linecap, f) > 0 && n < cap) {
        char *sp = strchr(line, ' ');
        cr_assert_not_null(sp);
        out[n].seq = strtoull(line, NULL, 10);
        size_t hexlen = strcspn(sp + 1, "\n");
        out[n].len = hexlen / 2;
        out[n].bytes = malloc(out[n].len);
        for (size_t i = 0; i < out[n].len; i++) {
            unsigned b;
            cr_assert_eq(sscanf(sp + 1 + 2 * i, "%2x", &b), 1);
            out[n].bytes[i] = (uint8_t)b;
        }
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

Test(golden, v1_frames_decode_to_the_recorded_fields) {
    golden_frame frames[16];
    size_t n = load_frames(frames, 16);
    cr_assert_eq(n, 5, "expected 5 golden frames, found %zu", n);
    char *expected = read_all(GOLDEN_DIR "expected-v1.txt");
    char *actual = NULL;
    size_t actual_len = 0;
    FILE *mem = open_memstream(&actual, &actual_len);
    char *strbuf = malloc(FOLIO_EVENT_BYTES_MAX);
    for (size_t i = 0; i < n; i++) {
        folio_frame fr;
        folio_event e;
        cr_assert_eq(folio_frame__open(&fr, frames[i].bytes, frames[i].len, frames[i].seq),
                     FOLIO_OK, "seq %llu: %s", (unsigned long long)frames[i].seq, folio_errmsg());
        cr_assert_eq(folio_codec__decode_envelope(&e, fr.envelope, fr.envelope_bytes, strbuf,
                                                  FOLIO_EVENT_BYTES_MAX, frames[i].seq, NULL, NULL),
                     FOLIO_OK, "seq %llu: %s", (unsigned long long)frames[i].seq, folio_errmsg());
        cr_assert_eq(golden_render(mem, &e), FOLIO_OK);
    }
    fclose(mem);
    cr_assert_str_eq(actual, expected);
    free(actual);
    free(expected);
    free(strbuf);
    for (size_t i = 0; i < n; i++) free(frames[i].bytes);
}

Test(golden, v1_frames_chain_to_the_recorded_head) {
    golden_frame frames[16];
    size_t n = load_frames(frames, 16);
    uint8_t chain[FOLIO_HASH_BYTES] = {0}, computed[FOLIO_HASH_BYTES];
    for (size_t i = 0; i < n; i++) {
        folio_frame__chain(computed, chain, frames[i].bytes, frames[i].len);
        cr_assert_eq(memcmp(computed, frames[i].bytes, FOLIO_HASH_BYTES), 0,
                     "chain hash of seq %llu does not match", (unsigned long long)frames[i].seq);
        memcpy(chain, computed, FOLIO_HASH_BYTES);
    }
    char hex[33], *head = read_all(GOLDEN_DIR "head-v1.txt");
    folio_hash_hex(hex, chain);
    head[strcspn(head, "\n")] = '\0';
    cr_assert_str_eq(hex, head);
    free(head);
    for (size_t i = 0; i < n; i++) free(frames[i].bytes);
}

/* Events appended with an idempotency key carry the request hash, so the key index can be
 * rebuilt from the log alone; events without a key carry none. */
Test(golden, v1_keyed_events_carry_their_request_hash) {
    golden_frame frames[16];
    size_t n = load_frames(frames, 16);
    uint8_t hash[5][FOLIO_HASH_BYTES], zero[FOLIO_HASH_BYTES] = {0};
    char strbuf[4096];
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        folio_frame fr;
        folio_event e;
        cr_assert_eq(folio_frame__open(&fr, frames[i].bytes, frames[i].len, frames[i].seq), FOLIO_OK);
        cr_assert_eq(folio_codec__decode_envelope(&e, fr.envelope, fr.envelope_bytes, strbuf,
                                                  sizeof strbuf, frames[i].seq, hash[i], NULL),
                     FOLIO_OK);
        cr_assert_eq(e.idempotency_key != NULL, i == 1 || i == 2, "seq %zu", i + 1);
        cr_assert_eq(memcmp(hash[i], zero, FOLIO_HASH_BYTES) != 0, e.idempotency_key != NULL);
    }
    cr_assert_eq(memcmp(hash[1], hash[2], FOLIO_HASH_BYTES), 0, "one request, one hash");
    for (size_t i = 0; i < n; i++) free(frames[i].bytes);
}

Test(golden, flipped_bit_in_a_golden_frame_fails_its_checksum) {
    golden_frame frames[16];
    size_t n = load_frames(frames, 16);
    cr_assert_geq(n, 2);
    for (size_t bit = 20 * 8; bit < frames[1].len * 8; bit += 7) {
        frames[1].bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        folio_frame fr;
        cr_assert_eq(folio_frame__open(&fr, frames[1].bytes, frames[1].len, frames[1].seq),
                     FOLIO_ECORRUPT, "bit %zu flipped but the frame still opened", bit);
        frames[1].bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t i = 0; i < n; i++) free(frames[i].bytes);
}

/* An envelope written by a newer folio, with extra keys (an integer one and a string one),
 * still decodes: unknown fields are skipped, not fatal. */
Test(golden, unknown_envelope_fields_are_skipped) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 12);
    msgpack_pack_uint8(&pk, 0), msgpack_pack_uint8(&pk, 2);
    msgpack_pack_uint8(&pk, 99), msgpack_pack_array(&pk, 2), msgpack_pack_true(&pk),
        msgpack_pack_nil(&pk);
    msgpack_pack_uint8(&pk, 1), msgpack_pack_uint8(&pk, 7);
    msgpack_pack_uint8(&pk, 2), msgpack_pack_uint8(&pk, 3);
    msgpack_pack_uint8(&pk, 3), msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str(&pk, 3), msgpack_pack_str_body(&pk, "new", 3), msgpack_pack_str(&pk, 1),
        msgpack_pack_str_body(&pk, "x", 1);
    msgpack_pack_uint8(&pk, 4), msgpack_pack_uint8(&pk, FOLIO_EV_CUSTOMER_NOTE_ADDED);
    msgpack_pack_uint8(&pk, 5), msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 6), msgpack_pack_uint64(&pk, 1795476597578483ull);
    msgpack_pack_uint8(&pk, 7), msgpack_pack_str(&pk, 2), msgpack_pack_str_body(&pk, "me", 2);
    msgpack_pack_uint8(&pk, 11), msgpack_pack_map(&pk, 1), msgpack_pack_str(&pk, 1),
        msgpack_pack_str_body(&pk, "t", 1), msgpack_pack_int8(&pk, -1);
    msgpack_pack_uint8(&pk, 200), msgpack_pack_bin(&pk, 2), msgpack_pack_bin_body(&pk, "\x01\x02", 2);
    folio_event e;
    char strbuf[256];
    int rc = folio_codec__decode_envelope(&e, (const uint8_t *)sb.data, sb.size, strbuf,
                                          sizeof strbuf, 7, NULL, NULL);
    cr_assert_eq(rc, FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(e.seq, 7);
    cr_assert_eq(e.stream, 3);
    cr_assert_eq(e.type, FOLIO_EV_CUSTOMER_NOTE_ADDED);
    cr_assert_str_eq(e.actor, "me");
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, e.payload, e.payload_bytes), FOLIO_OK);
    cr_assert_str_eq(json, "{\"t\":-1}");
    folio_free(json);
    /* Without a required key (actor) the same envelope is corrupt, naming the seq. */
    msgpack_sbuffer_destroy(&sb);
}

Test(golden, envelope_without_required_fields_is_corrupt) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_uint8(&pk, 1), msgpack_pack_uint8(&pk, 9);
    msgpack_pack_uint8(&pk, 11), msgpack_pack_map(&pk, 0);
    folio_event e;
    char strbuf[64];
    cr_assert_eq(folio_codec__decode_envelope(&e, (const uint8_t *)sb.data, sb.size, strbuf,
                                              sizeof strbuf, 9, NULL, NULL),
                 FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "seq 9") != NULL, "message: %s", folio_errmsg());
    msgpack_sbuffer_destroy(&sb);
}

/* A container count that claims gigabytes in a few bytes is refused before anything
 * allocates for it. */
Test(golden, hostile_container_count_is_refused_without_allocating) {
    const uint8_t hostile[] = {0xdf, 0x7f, 0xff, 0xff, 0xff}; /* map32 of 2^31-1 pairs */
    folio_event e;
    char strbuf[64];
    cr_assert_eq(folio_codec__decode_envelope(&e, hostile, sizeof hostile, strbuf, sizeof strbuf, 1, NULL, NULL),
                 FOLIO_ECORRUPT);
    char *json = NULL;
    cr_assert_eq(folio_payload_to_json(&json, hostile, sizeof hostile), FOLIO_ECORRUPT);
    cr_assert_null(json);
}
