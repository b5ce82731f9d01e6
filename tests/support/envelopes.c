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
