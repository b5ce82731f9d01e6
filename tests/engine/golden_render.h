/*
 * tests/engine/golden_render.h - one line of text per decoded event, used both to write
 * tests/golden/expected-v1.txt (tests/golden/generate.c) and to check it (golden.c).
 */
#ifndef FOLIO_GOLDEN_RENDER_H
#define FOLIO_GOLDEN_RENDER_H

#include <folio.h>
#include <stdio.h>
#include <stdlib.h>

static inline void golden_opt(FILE *f, const char *name, const char *s) {
    fprintf(f, " %s=%s", name, s ? s : "(none)");
}

/* seq stream version type schema recorded_at actor reason correlation key payload-json */
static inline int golden_render(FILE *f, const folio_event *e) {
    char *json = NULL;
    int rc = folio_payload_to_json(&json, e->payload, e->payload_bytes);
    if (rc != FOLIO_OK) return rc;
    fprintf(f, "seq=%llu stream=%llu version=%llu type=%u schema=%u recorded_at=%lld",
            (unsigned long long)e->seq, (unsigned long long)e->stream,
            (unsigned long long)e->version, e->type, e->schema, (long long)e->recorded_at_us);
    golden_opt(f, "actor", e->actor);
    golden_opt(f, "reason", e->reason);
    golden_opt(f, "correlation", e->correlation);
    golden_opt(f, "key", e->idempotency_key);
    fprintf(f, " payload=%s\n", json);
    free(json);
    return FOLIO_OK;
}

#endif
