/*
 * engine/mp.h - a small msgpack writer and reader for commands and projections, so that
 * nothing but engine/codec.c includes a msgpack header. Payloads and projection records are
 * msgpack maps with string keys.
 *
 * Writer: appends into a growable buffer (or a fixed one); any failure (out of memory, fixed
 * buffer full) is sticky and reported once by folio_mpw__finish().
 * Reader: a cursor over bytes that were validated first (folio_mpr__open checks them), so
 * reads never run past the end.
 */
#ifndef FOLIO_MP_H
#define FOLIO_MP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int fixed; /* 1: buf is the caller's, never reallocated; 2: the caller's until it is full,
                  then copied to the heap (fixed becomes 0) */
    int failed;
} folio_mpw;

void folio_mpw__init(folio_mpw *w);                                 /* growable, empty */
void folio_mpw__init_fixed(folio_mpw *w, uint8_t *buf, size_t cap); /* caller's buffer */
/* Start in the caller's buffer (a stack array: no allocation for the usual small record)
 * and move to the heap only if it grows past it. */
void folio_mpw__init_spill(folio_mpw *w, uint8_t *buf, size_t cap);
/* Stack bytes for the request encoding of a command: the usual request fits. */
#define FOLIO_REQUEST_STACK_BYTES 1024u
void folio_mpw__reset(folio_mpw *w);                                /* keep memory, len 0 */
void folio_mpw__free(folio_mpw *w);
/* FOLIO_OK, or FOLIO_ERROR (out of memory) / FOLIO_ELIMIT (fixed buffer full). */
int folio_mpw__finish(const folio_mpw *w);

void folio_mpw__map(folio_mpw *w, uint32_t n);
void folio_mpw__array(folio_mpw *w, uint32_t n);
void folio_mpw__str(folio_mpw *w, const char *s); /* NULL writes nil */
void folio_mpw__strn(folio_mpw *w, const char *s, size_t n);
void folio_mpw__u64(folio_mpw *w, uint64_t v);
void folio_mpw__i64(folio_mpw *w, int64_t v);
void folio_mpw__bool(folio_mpw *w, int v);
void folio_mpw__nil(folio_mpw *w);
void folio_mpw__bin(folio_mpw *w, const void *p, size_t n);
/* Append one already-encoded msgpack value. */
void folio_mpw__raw(folio_mpw *w, const void *p, size_t n);
/* Key helpers: a string key then a value. */
void folio_mpw__kstr(folio_mpw *w, const char *key, const char *val);
void folio_mpw__ku64(folio_mpw *w, const char *key, uint64_t v);
void folio_mpw__ki64(folio_mpw *w, const char *key, int64_t v);

typedef enum {
    FOLIO_MP_NIL, FOLIO_MP_BOOL, FOLIO_MP_UINT, FOLIO_MP_INT, FOLIO_MP_STR, FOLIO_MP_BIN,
    FOLIO_MP_ARRAY, FOLIO_MP_MAP, FOLIO_MP_OTHER
} folio_mp_type;

/* A position inside validated msgpack bytes: one value starts at p. */
typedef struct {
    const char *p, *end;
} folio_mpr;

/* Validate [buf, buf+n) as exactly one msgpack value and point r at it.
 * FOLIO_OK or FOLIO_ECORRUPT. */
int folio_mpr__open(folio_mpr *r, const void *buf, size_t n);
folio_mp_type folio_mpr__type(const folio_mpr *r);
/* Each reader consumes the value at r->p; on a type mismatch it returns FOLIO_ECORRUPT and
 * skips the value. */
int folio_mpr__str(folio_mpr *r, const char **s, size_t *n); /* nil gives s = NULL */
int folio_mpr__u64(folio_mpr *r, uint64_t *v);
int folio_mpr__i64(folio_mpr *r, int64_t *v); /* uint or int that fits */
int folio_mpr__bool(folio_mpr *r, int *v);
int folio_mpr__map(folio_mpr *r, uint32_t *n);
int folio_mpr__array(folio_mpr *r, uint32_t *n);
void folio_mpr__skip(folio_mpr *r);
/* Bytes of the next value (without consuming it). */
size_t folio_mpr__value_bytes(const folio_mpr *r);
/* In the map at r (not consumed), find string key `key` and point *val at its value.
 * FOLIO_OK, FOLIO_ENOTFOUND, or FOLIO_ECORRUPT when r is not at a map. */
int folio_mpr__find(folio_mpr *val, const folio_mpr *map, const char *key);

#endif /* FOLIO_MP_H */
