/*
 * tests/support/envelopes.c - envelope bytes for the codec tests (envelopes.h).
 */
#include "envelopes.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"

void hx(env_buf *e, const char *hex) {
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        cr_assert_eq(sscanf(p, "%2x", &v), 1, "bad hex at '%s'", p);
        cr_assert_lt(e->n, sizeof e->b);
        e->b[e->n++] = (uint8_t)v;
        p += 2;
    }
}

uint64_t seq_of(const env_buf *e) {
    folio_envelope_fields f;
    for (uint64_t seq = 1; seq < 64; seq++)
        if (folio_codec__scan_envelope(&f, e->b, e->n, seq)) return seq;
    cr_assert_fail("no seq below 64 scans");
    return 0;
}

uint64_t rng_state;

void rnd_seed(void) {
    const char *seed_env = getenv("FOLIO_SCAN_SEED");
    rng_state = seed_env ? strtoull(seed_env, NULL, 10) : 20261124u;
    if (rng_state == 0) rng_state = 1;
}

uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

void mutate(env_buf *m) {
    static const uint8_t special[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                      0xc1, 0xc4, 0xc5, 0xcc, 0xcf, 0xd0, 0xd9, 0xdb, 0xdc,
                                      0xdd, 0xde, 0xdf, 0xe0, 0xff, 0x10, 0x0c, 0x0a};
    unsigned edits = 1 + (unsigned)(rnd() % 3);
    for (unsigned k = 0; k < edits && m->n > 1; k++) {
        size_t at = (size_t)(rnd() % m->n);
        switch (rnd() % 6) {
        case 0: m->b[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
        case 1: m->b[at] = special[rnd() % sizeof special]; break;
        case 2: m->b[at] = (uint8_t)rnd(); break;
        case 3: /* delete a byte */
            memmove(m->b + at, m->b + at + 1, m->n - at - 1);
            m->n--;
            break;
        case 4: /* insert a byte */
            if (m->n < sizeof m->b) {
                memmove(m->b + at + 1, m->b + at, m->n - at);
                m->b[at] = special[rnd() % sizeof special];
                m->n++;
            }
            break;
        default: m->n = at + 1; break; /* truncate */
        }
    }
}

size_t load_envelopes(env_buf *out, size_t cap) {
    FILE *f = fopen(GOLDEN_FRAMES, "r");
    cr_assert_not_null(f, "%s is missing", GOLDEN_FRAMES);
    char *line = NULL;
    size_t linecap = 0, n = 0;
    while (getline(&line, &linecap, f) > 0 && n < cap) {
        char *sp = strchr(line, ' ');
        cr_assert_not_null(sp);
        line[strcspn(line, "\n")] = '\0';
        env_buf frame = {.n = 0};
        hx(&frame, sp + 1);
        cr_assert_gt(frame.n, FOLIO_FRAME_HEADER_BYTES);
        out[n].n = frame.n - FOLIO_FRAME_HEADER_BYTES;
        memcpy(out[n].b, frame.b + FOLIO_FRAME_HEADER_BYTES, out[n].n);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}
