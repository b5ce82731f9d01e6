/*
 * engine/mp.h - a small msgpack writer and reader for commands and projections, so that
 * nothing but engine/codec.c includes a msgpack header. Payloads and projection records are
 * msgpack maps with string keys.
 *
 * Writer: appends into a growable buffer (or a fixed one); any failure (out of memory, fixed
 * buffer full) is sticky and reported once by folio_mpw__finish().
 * Reader: a cursor over bytes that were validated first (folio_mpr__open checks them), so
 * reads never run past the end; or, with the checked reads at the end of this file, over
 * bytes that were not, each read checking its own bounds and type.
 */
#ifndef FOLIO_MP_H
#define FOLIO_MP_H

#include <stddef.h>
#include <stdint.h>

#include "folio.h"

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
/* A key of folio_mpr__find_keys and its length: FOLIO_MP_KEY("doc"). */
typedef struct {
    const char *s;
    size_t n;
} folio_mp_key;
#define FOLIO_MP_KEY(lit) {"" lit, sizeof(lit) - 1}
/* In the map at r (not consumed), find the string keys keys[0, count) in one walk: vals[i]
 * is what folio_mpr__find(&vals[i], map, keys[i].s) gives for a key the map holds (the
 * first pair with that key), and has p NULL for a key it does not. FOLIO_OK, or
 * FOLIO_ECORRUPT when r is not at a map (every p NULL). 1 <= count <= FOLIO_MPR_FIND_KEYS_MAX
 * (a bit each in the walk's set of keys found). */
#define FOLIO_MPR_FIND_KEYS_MAX 16u
int folio_mpr__find_keys(folio_mpr *vals, const folio_mpr *map, const folio_mp_key *keys,
                         size_t count);

/*
 * Checked reads, for one pass over bytes that were NOT validated first (a record read from
 * disk, decoded where it lies instead of validated whole and then walked again): each read
 * takes the value at r->p only when it is whole inside [r->p, r->end) and of the type asked
 * for, and otherwise returns FOLIO_ECORRUPT without consuming it and without setting a
 * message (the caller names what is malformed). Start with folio_mpr__init_unchecked; a
 * decoder that takes every value this way, and ends exactly at r->end, has refused every
 * malformed or truncated input that folio_mpr__open refuses, without reading out of bounds.
 * Inline: they are called per field.
 */
static inline void folio_mpr__init_unchecked(folio_mpr *r, const void *buf, size_t n) {
    r->p = (const char *)buf;
    r->end = (const char *)buf + n;
}

/* Big-endian length or count of w bytes (1, 2 or 4) at p. */
static inline uint32_t folio_mp__be(const uint8_t *p, unsigned w) {
    return w == 1 ? p[0]
         : w == 2 ? (uint32_t)p[0] << 8 | p[1]
                  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header at r->p of a value whose fix form is fix_tag + n (n < fix_count) and whose
 * 8, 16 and 32-bit forms have the tags tag8 (0: none), tag16 and tag16 + 1: its count or
 * length in *n and its header's bytes in *h. 0, or -1 for another type or a header that
 * runs past the end. */
static inline int folio_mpr__checked_head(const folio_mpr *r, uint32_t *n, size_t *h,
                                          unsigned fix_tag, unsigned fix_count, unsigned tag8,
                                          unsigned tag16) {
    const uint8_t *p = (const uint8_t *)r->p;
    const size_t left = (size_t)(r->end - r->p);
    if (left == 0) return -1;
    const unsigned c = p[0];
    if (c - fix_tag < fix_count) {
        *n = c - fix_tag;
        *h = 1;
        return 0;
    }
    unsigned w;
    if (tag8 && c == tag8) w = 1;
    else if (c == tag16) w = 2;
    else if (c == tag16 + 1) w = 4;
    else return -1;
    if (left < 1 + w) return -1;
    *n = folio_mp__be(p + 1, w);
    *h = 1 + w;
    return 0;
}

/* A string (nil gives s = NULL, n = 0), whole. */
static inline int folio_mpr__checked_str(folio_mpr *r, const char **s, size_t *n) {
    uint32_t len;
    size_t h;
    if (r->p < r->end && (uint8_t)*r->p == 0xc0) {
        r->p++;
        *s = NULL;
        *n = 0;
        return FOLIO_OK;
    }
    if (folio_mpr__checked_head(r, &len, &h, 0xa0, 32, 0xd9, 0xda) < 0 ||
        len > (size_t)(r->end - r->p) - h)
        return FOLIO_ECORRUPT;
    *s = r->p + h;
    *n = len;
    r->p += h + len;
    return FOLIO_OK;
}

/* A map's header (its pairs follow). */
static inline int folio_mpr__checked_map(folio_mpr *r, uint32_t *n) {
    size_t h;
    if (folio_mpr__checked_head(r, n, &h, 0x80, 16, 0, 0xde) < 0) return FOLIO_ECORRUPT;
    r->p += h;
    return FOLIO_OK;
}

/* An array's header (its elements follow). */
static inline int folio_mpr__checked_array(folio_mpr *r, uint32_t *n) {
    size_t h;
    if (folio_mpr__checked_head(r, n, &h, 0x90, 16, 0, 0xdc) < 0) return FOLIO_ECORRUPT;
    r->p += h;
    return FOLIO_OK;
}

/* An unsigned integer (positive fixint, uint 8/16/32/64). */
static inline int folio_mpr__checked_u64(folio_mpr *r, uint64_t *v) {
    const uint8_t *p = (const uint8_t *)r->p;
    const size_t left = (size_t)(r->end - r->p);
    if (left == 0) return FOLIO_ECORRUPT;
    if (p[0] < 0x80) {
        *v = p[0];
        r->p++;
        return FOLIO_OK;
    }
    if (p[0] < 0xcc || p[0] > 0xcf) return FOLIO_ECORRUPT;
    const unsigned w = 1u << (p[0] - 0xcc);
    if (left < 1 + w) return FOLIO_ECORRUPT;
    uint64_t x = 0;
    for (unsigned i = 0; i < w; i++) x = x << 8 | p[1 + i];
    *v = x;
    r->p += 1 + w;
    return FOLIO_OK;
}

/* Any one well-formed value, skipped (engine/codec.c: the walk of folio_mpr__open). */
int folio_mpr__checked_skip(folio_mpr *r);

#endif /* FOLIO_MP_H */
