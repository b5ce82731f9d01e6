/*
 * engine/codec.c - the msgpack envelope of an event, payload validation, JSON conversion.
 * The only includer of msgpack.h (msgpack-c packs) and msgpuck.h (decodes without
 * allocating: msgpack-c's unpacker trusts container counts and would pre-allocate for them).
 * Every buffer is validated by msgpack_valid() below before msgpuck reads it (verify's
 * folio_codec__scan_envelope validates as it reads, without msgpuck). msgpuck is compiled header-only here
 * (MP_SOURCE) because Debian ships it as a non-PIC static archive.
 *
 * Envelope (docs/FORMAT.md#envelope): a msgpack map with small unsigned integer keys:
 *   0 format  1 seq  2 stream  3 version  4 type  5 schema  6 recorded_at (uint, µs)
 *   7 actor (str)  8 reason (str)  9 correlation (str)  10 idempotency key (str)
 *   11 payload (map)  12 request hash (bin 16: what the idempotency key was used for)
 *   13 command mark (uint: events of the same command after this one)
 * Keys 8-10, 12 and 13 are present only when set (12 with 10; 13 when not 0). Unknown keys are skipped on decode (a newer folio may
 * add fields); a missing required key is corruption.
 */
#define MP_SOURCE 1
#include <msgpuck.h>
#undef MP_SOURCE

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "internal.h"
#include "mp.h"

enum {
    K_FORMAT = 0, K_SEQ = 1, K_STREAM = 2, K_VERSION = 3, K_TYPE = 4, K_SCHEMA = 5,
    K_RECORDED = 6, K_ACTOR = 7, K_REASON = 8, K_CORRELATION = 9, K_IDEM = 10, K_PAYLOAD = 11,
    K_REQUEST = 12, K_FOLLOWS = 13
};
/* Key 13, the command mark: how many events of the same command follow this one (1 ..
 * FOLIO_COMMAND_FOLLOWS_MAX); absent on a command's last event, so a one-event command
 * carries no byte of it. */
#define FOLLOWS_VALID(v) ((v) >= 1 && (v) <= FOLIO_COMMAND_FOLLOWS_MAX)
#define REQUIRED_KEYS                                                                        \
    ((1u << K_FORMAT) | (1u << K_SEQ) | (1u << K_STREAM) | (1u << K_VERSION) |               \
     (1u << K_TYPE) | (1u << K_SCHEMA) | (1u << K_RECORDED) | (1u << K_ACTOR) |              \
     (1u << K_PAYLOAD))

/* ---------------------------------------------------------------------------------------
 * Byte validation: run over every buffer before msgpuck decodes it
 * ------------------------------------------------------------------------------------- */

static uint32_t be_n(const uint8_t *p, unsigned n) {
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* For the type bytes 0xc0..0xdf: header bytes after the type byte, width of the length or
 * count field in them, and kind (0 no body, 1 and 2 a body of that length, 3 an array of
 * that many elements, 4 a map of that many pairs). */
static const struct mp_head {
    uint8_t extra, lenw, kind;
} mp_heads[0x20] = {
    [0x00] = {0, 0, 0}, [0x02] = {0, 0, 0}, [0x03] = {0, 0, 0},                  /* nil, bools */
    [0x04] = {1, 1, 1}, [0x05] = {2, 2, 1}, [0x06] = {4, 4, 1},                  /* bin */
    [0x07] = {2, 1, 2}, [0x08] = {3, 2, 2}, [0x09] = {5, 4, 2},                  /* ext */
    [0x0a] = {4, 0, 0}, [0x0b] = {8, 0, 0},                                      /* float */
    [0x0c] = {1, 0, 0}, [0x0d] = {2, 0, 0}, [0x0e] = {4, 0, 0}, [0x0f] = {8, 0, 0},
    [0x10] = {1, 0, 0}, [0x11] = {2, 0, 0}, [0x12] = {4, 0, 0}, [0x13] = {8, 0, 0},
    [0x14] = {2, 0, 0}, [0x15] = {3, 0, 0}, [0x16] = {5, 0, 0},                  /* fixext */
    [0x17] = {9, 0, 0}, [0x18] = {17, 0, 0},
    [0x19] = {1, 1, 1}, [0x1a] = {2, 2, 1}, [0x1b] = {4, 4, 1},                  /* str */
    [0x1c] = {2, 2, 3}, [0x1d] = {4, 4, 3},                                      /* array */
    [0x1e] = {2, 2, 4}, [0x1f] = {4, 4, 4},                                      /* map */
};

/*
 * True when [p, end) holds exactly one well-formed msgpack value. Iterative (no recursion),
 * and no container may claim more elements than there are bytes left, so a few hostile
 * bytes cannot make any later walk run long or allocate. (mp_check is not enough: its
 * element counter is an int, and a map32 header claiming 2^31-1 pairs overflows it, so it
 * accepts a 5-byte buffer; tests/engine/golden.c keeps that case.)
 */
static int msgpack_valid(const uint8_t *p, const uint8_t *end) {
    uint64_t pending = 1;
    while (pending > 0) {
        if (p >= end) return 0;
        pending--;
        const uint8_t c = *p;
        uint64_t left = (uint64_t)(end - p), head = 1, body = 0, items = 0;
        if (c <= 0x7f || c >= 0xe0) {
            head = 1;
        } else if (c <= 0x8f) {
            items = 2u * (c & 0x0fu);
        } else if (c <= 0x9f) {
            items = c & 0x0fu;
        } else if (c <= 0xbf) {
            body = c & 0x1fu;
        } else {
            const struct mp_head *t = mp_heads;
            if (c == 0xc1) return 0; /* never used */
            head = 1u + t[c - 0xc0].extra;
            if (left < head) return 0;
            uint64_t n = t[c - 0xc0].lenw ? be_n(p + 1, t[c - 0xc0].lenw) : 0;
            switch (t[c - 0xc0].kind) {
            case 1: body = n; break;
            case 2: body = n; break; /* ext: the type byte is counted in extra */
            case 3: items = n; break;
            case 4: items = 2 * n; break;
            default: break;
            }
        }
        if (left < head || left - head < body) return 0;
        p += head + body;
        pending += items;
        if (pending > (uint64_t)(end - p)) return 0; /* every element takes a byte at least */
    }
    return p == end;
}

/*
 * The length of the one well-formed msgpack value that starts p[0, n), or 0 when there is
 * none: the walk of msgpack_valid, stopping where the value ends instead of requiring it to
 * end at n (msgpack_valid(p, p + n) == (msgpack_skip(p, n) == n); tests/engine/
 * verify_scan.c compares them). Bytes after the value bound the element counts, which
 * refuses nothing that parses: every element takes a byte. Offsets, not pointers, so that
 * a length past the end is never added to a pointer. Fixstr and fixint, most of a payload,
 * come first.
 */
static size_t msgpack_skip(const uint8_t *p, size_t n) {
    uint64_t pending = 1; /* values still to walk, the one at p[i] included */
    size_t i = 0;
    if (n == 0) return 0;
    for (;;) {
        const unsigned c = p[i]; /* i < n */
        if (c - 0xa0u < 0x20u) {
            i += 1u + (c & 0x1fu); /* fixstr */
        } else if (c <= 0x7f || c >= 0xe0) {
            i++; /* fixint */
        } else if (c <= 0x9f) {
            pending += c <= 0x8f ? 2u * (c & 0x0fu) : (c & 0x0fu); /* fixmap, fixarray */
            i++;
            if (pending - 1 > n - i) return 0; /* every element takes a byte at least */
        } else {
            if (c == 0xc1) return 0; /* never used */
            const struct mp_head *t = &mp_heads[c - 0xc0];
            const size_t head = 1u + t->extra;
            if (n - i < head) return 0;
            const uint64_t len = t->lenw ? be_n(p + i + 1, t->lenw) : 0;
            i += head;
            if (t->kind >= 3) {
                pending += t->kind == 4 ? 2 * len : len;
                if (pending - 1 > n - i) return 0;
            } else if (len > n - i) {
                return 0;
            } else {
                i += (size_t)len; /* a body (kinds 1 and 2); 0 for kind 0 */
            }
        }
        if (--pending == 0) return i <= n ? i : 0;
        if (i >= n) return 0;
    }
}

/* ---------------------------------------------------------------------------------------
 * Text and payload validation
 * ------------------------------------------------------------------------------------- */

/* Eight ASCII characters: no byte >= 0x80 and no zero byte. */
static inline int ascii_word_ok(uint64_t w) {
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    return ((w | ((w - ones) & ~w)) & highs) == 0; /* no byte >= 0x80, no zero byte */
}

/* Valid UTF-8 without NUL, any string: ASCII runs eight bytes at a time, utf8proc reads
 * the rest. */
__attribute__((noinline)) static int utf8_valid_slow(const uint8_t *s, size_t len) {
    utf8proc_int32_t cp;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (ascii_word_ok(w)) { /* eight ASCII characters */
                i += 8;
                continue;
            }
        }
        if (s[i] != 0 && s[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp == 0) return 0;
        i += (size_t)n;
    }
    return 1;
}

/* Valid UTF-8 without NUL. All ASCII (nearly every payload string: numbers, dates, amounts,
 * keys) is decided inline in whole words: from 8 bytes on, each word and the last one
 * (overlapping the one before it); 4 to 7 bytes, the first four and the last four as one
 * word; up to 3, byte by byte; anything else goes to utf8_valid_slow. */
static inline __attribute__((always_inline)) int utf8_valid(const uint8_t *s, size_t len) {
    if (len >= 8) {
        uint64_t w;
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
            memcpy(&w, s + i, 8);
            if (!ascii_word_ok(w)) return utf8_valid_slow(s, len);
        }
        memcpy(&w, s + len - 8, 8);
        if (ascii_word_ok(w)) return 1;
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        if (ascii_word_ok((uint64_t)a << 32 | b)) return 1;
    } else {
        for (size_t i = 0; i < len; i++) /* 0 to 3 bytes: each 1 to 0x7f */
            if ((uint8_t)(s[i] - 1u) >= 0x7fu) return utf8_valid_slow(s, len);
        return 1;
    }
    return utf8_valid_slow(s, len);
}

int folio_codec__check_text(const char *s, size_t max_bytes, const char *what, int required) {
    if (s == NULL) {
        if (required) return folio_error__set(FOLIO_EINVAL, "%s is required", what);
        return FOLIO_OK;
    }
    size_t len = strnlen(s, max_bytes + 1);
    if (len == 0 && required) return folio_error__set(FOLIO_EINVAL, "%s is empty", what);
    if (len > max_bytes)
        return folio_error__set(FOLIO_ELIMIT, "%s is longer than %zu bytes", what, max_bytes);
    if (!utf8_valid((const uint8_t *)s, len))
        return folio_error__set(FOLIO_EINVAL, "%s is not valid UTF-8", what);
    return FOLIO_OK;
}

/* Eight printable ASCII characters: every byte 0x20 to 0x7e. A byte below 0x20 with none
 * below it sets its high bit in w - 0x20..; x is zero where a byte is DEL. */
static inline int printable_word(uint64_t w) {
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const uint64_t x = w ^ 0x7f7f7f7f7f7f7f7fu;
    return ((w | (w - 0x2020202020202020u) | ((x - ones) & ~x)) & highs) == 0;
}

/* Only printable ASCII, decided in whole words as utf8_valid decides ASCII. */
static inline int printable_ascii(const uint8_t *s, size_t len) {
    uint64_t w;
    if (len >= 8) {
        for (size_t i = 0; i + 8 <= len; i += 8) {
            memcpy(&w, s + i, 8);
            if (!printable_word(w)) return 0;
        }
        memcpy(&w, s + len - 8, 8);
        return printable_word(w);
    }
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        return printable_word((uint64_t)a << 32 | b);
    }
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f) return 0;
    return 1;
}

int folio_codec__check_line(const char *s, size_t max_bytes, const char *what, int required) {
    if (!s && !required) return FOLIO_OK; /* most reasons, correlations and keys */
    if (s) { /* printable ASCII, as a rule (an actor, a key): valid, and no control character */
        const size_t len = strnlen(s, max_bytes + 1);
        if (len > 0 && len <= max_bytes && printable_ascii((const uint8_t *)s, len))
            return FOLIO_OK;
    }
    int rc = folio_codec__check_text(s, max_bytes, what, required);
    if (rc < 0 || s == NULL) return rc;
    /* Valid UTF-8 (checked above): a C1 control is the two bytes C2 80 to C2 9F. */
    const uint8_t *b = (const uint8_t *)s;
    for (size_t i = 0; b[i]; i++) {
        unsigned cp = b[i] < 0x20 || b[i] == 0x7f ? b[i]
                      : b[i] == 0xc2 && b[i + 1] >= 0x80 && b[i + 1] <= 0x9f ? b[i + 1]
                                                                            : 0x100u;
        if (cp < 0x100u)
            return folio_error__set(FOLIO_EINVAL,
                                    "%s holds a control character (U+%04X at byte %zu): "
                                    "control characters are not allowed in it",
                                    what, cp, i + 1);
    }
    return FOLIO_OK;
}

/* Walk one validated msgpack value: only nil, bool, integers, strings (UTF-8), bin, arrays
 * and maps with string keys; depth bounded. `*p` advances past the value. */
static int check_value(const char **p, unsigned depth) {
    /* depth counts containers: the payload map is level 1, and a scalar inside the deepest
     * allowed map or array does not add a level. */
    if (depth > FOLIO_PAYLOAD_DEPTH_MAX &&
        (mp_typeof(**p) == MP_ARRAY || mp_typeof(**p) == MP_MAP))
        return folio_error__set(FOLIO_ELIMIT, "payload nests deeper than %u levels",
                                FOLIO_PAYLOAD_DEPTH_MAX);
    uint32_t len, n;
    const char *s;
    switch (mp_typeof(**p)) {
    case MP_NIL: mp_decode_nil(p); return FOLIO_OK;
    case MP_BOOL: mp_decode_bool(p); return FOLIO_OK;
    case MP_UINT:
        /* JSON readers (jansson, restore) stop at INT64_MAX: an event must survive its export */
        if (mp_decode_uint(p) > (uint64_t)INT64_MAX)
            return folio_error__set(FOLIO_EINVAL, "payload integer is larger than %lld (the "
                                                  "largest an export can carry)",
                                    (long long)INT64_MAX);
        return FOLIO_OK;
    case MP_INT: mp_decode_int(p); return FOLIO_OK;
    case MP_BIN: mp_decode_bin(p, &len); return FOLIO_OK;
    case MP_STR:
        s = mp_decode_str(p, &len);
        if (!utf8_valid((const uint8_t *)s, len))
            return folio_error__set(FOLIO_EINVAL, "payload string is not valid UTF-8");
        return FOLIO_OK;
    case MP_ARRAY:
        n = mp_decode_array(p);
        for (uint32_t i = 0; i < n; i++) {
            int rc = check_value(p, depth + 1);
            if (rc < 0) return rc;
        }
        return FOLIO_OK;
    case MP_MAP:
        n = mp_decode_map(p);
        for (uint32_t i = 0; i < n; i++) {
            if (mp_typeof(**p) != MP_STR)
                return folio_error__set(FOLIO_EINVAL, "payload map keys must be strings");
            int rc = check_value(p, depth + 1);
            if (rc == FOLIO_OK) rc = check_value(p, depth + 1);
            if (rc < 0) return rc;
        }
        return FOLIO_OK;
    case MP_FLOAT:
    case MP_DOUBLE:
        return folio_error__set(FOLIO_EINVAL,
                                "payload holds a floating-point number (write money as a "
                                "decimal string)");
    default:
        return folio_error__set(FOLIO_EINVAL, "payload holds a msgpack ext value");
    }
}

/*
 * One walk that accepts a payload exactly when msgpack_valid and check_value both would
 * (folio_codec__payload_fast); anything else, including every error, gives 0 and is left to
 * them. Scalars are taken inline in the container's loop; containers recurse, bounded by the
 * depth limit (depth as check_value's), and every element takes a byte at least, so a
 * hostile count ends at the end of the bytes.
 *
 * payload_scalar_ok: 1 when the scalar at *pp is accepted (and taken), 0 when refused, -1
 * when a container starts there (not taken).
 */
static inline __attribute__((always_inline)) int payload_scalar_ok(const uint8_t **pp,
                                                                   const uint8_t *end) {
    const uint8_t *p = *pp;
    if (p >= end) return 0;
    const unsigned c = *p;
    const size_t left = (size_t)(end - p);
    size_t head;
    uint32_t n;
    if (c - 0xa0u < 32u) { /* fixstr: most of a payload */
        n = c & 0x1fu;
        if (n > left - 1 || !utf8_valid(p + 1, n)) return 0;
        *pp = p + 1 + n;
        return 1;
    }
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) { /* fixint, nil, bool */
        *pp = p + 1;
        return 1;
    }
    if (c <= 0x9f || (c >= 0xdc && c <= 0xdf)) return -1; /* map, array */
    if (c >= 0xd9 && c <= 0xdb) { /* str 8, 16, 32 */
        head = 1u + (1u << (c - 0xd9));
        if (left < head) return 0;
        n = be_n(p + 1, (unsigned)head - 1);
        if (n > left - head || !utf8_valid(p + head, n)) return 0;
        *pp = p + head + n;
        return 1;
    }
    if (c >= 0xc4 && c <= 0xc6) { /* bin 8, 16, 32 */
        head = 1u + (1u << (c - 0xc4));
        if (left < head) return 0;
        n = be_n(p + 1, (unsigned)head - 1);
        if (n > left - head) return 0;
        *pp = p + head + n;
        return 1;
    }
    if (c >= 0xcc && c <= 0xd3) { /* uint and int 8-64 */
        head = 1u + (1u << ((c - 0xcc) & 3u));
        if (left < head) return 0;
        if (c == 0xcf && p[1] >= 0x80) return 0; /* above INT64_MAX */
        *pp = p + head;
        return 1;
    }
    return 0; /* floats, ext, 0xc1 */
}

/* The map or array at *pp (payload_scalar_ok said -1) and everything in it. */
static int payload_container_ok(const uint8_t **pp, const uint8_t *end, unsigned depth) {
    const uint8_t *p = *pp;
    const unsigned c = *p;
    const size_t left = (size_t)(end - p);
    uint32_t n;
    int map;
    if (depth > FOLIO_PAYLOAD_DEPTH_MAX) return 0;
    if (c <= 0x9f) { /* fixmap, fixarray */
        map = c <= 0x8f;
        n = c & 0x0fu;
        p++;
    } else { /* array and map 16, 32 */
        const unsigned w = c & 1u ? 4u : 2u;
        map = c >= 0xde;
        if (left < 1 + w) return 0;
        n = be_n(p + 1, w);
        p += 1 + w;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (map) { /* a string key */
            if (p >= end || !(*p - 0xa0u < 32u || (*p >= 0xd9 && *p <= 0xdb))) return 0;
            if (payload_scalar_ok(&p, end) != 1) return 0;
        }
        int rc = payload_scalar_ok(&p, end);
        if (rc < 0) rc = payload_container_ok(&p, end, depth + 1);
        if (rc == 0) return 0;
    }
    *pp = p;
    return 1;
}

int folio_codec__payload_fast(const void *payload, size_t payload_bytes) {
    const uint8_t *p = payload, *end = p + payload_bytes;
    if (payload_bytes == 0 || !((*p >= 0x80 && *p <= 0x8f) || *p == 0xde || *p == 0xdf))
        return 0;
    return payload_container_ok(&p, end, 1) && p == end;
}

int folio_codec__check_payload_full(const void *payload, size_t payload_bytes) {
    const char *p = payload, *end = p + payload_bytes;
    if (!msgpack_valid(payload, (const uint8_t *)end))
        return folio_error__set(FOLIO_EINVAL, "payload is not exactly one msgpack value");
    if (mp_typeof(*p) != MP_MAP) return folio_error__set(FOLIO_EINVAL, "payload is not a map");
    int rc = check_value(&p, 1);
    if (rc == FOLIO_OK) FOLIO_ASSERT(p == end);
    return rc;
}

int folio_codec__check_payload(const void *payload, size_t payload_bytes) {
    if (payload == NULL || payload_bytes == 0)
        return folio_error__set(FOLIO_EINVAL, "payload is required (a msgpack map)");
    if (payload_bytes > FOLIO_PAYLOAD_BYTES_MAX)
        return folio_error__set(FOLIO_ELIMIT, "payload is %zu bytes, more than %u",
                                payload_bytes, FOLIO_PAYLOAD_BYTES_MAX);
    if (folio_codec__payload_fast(payload, payload_bytes)) {
#ifndef NDEBUG
        FOLIO_ASSERT(folio_codec__check_payload_full(payload, payload_bytes) == FOLIO_OK);
#endif
        return FOLIO_OK;
    }
    return folio_codec__check_payload_full(payload, payload_bytes);
}

/* ---------------------------------------------------------------------------------------
 * engine/mp.h: the writer (the envelope encoder below uses it too)
 * ------------------------------------------------------------------------------------- */

/*
 * The writer encodes msgpack itself, byte for byte as msgpack-c's packer does (the smallest
 * form of each integer, fixstr/str8/str16/str32, bin8/16/32; tests/engine/mp_writer.c
 * compares the two), so that a value is one bounds check and one copy instead of a packer
 * callback per header and per body. mpw_room() returns where n more bytes go, growing the
 * buffer when it may, or NULL after a failure (sticky: nothing more is written).
 */
__attribute__((noinline)) static uint8_t *mpw_grow(folio_mpw *w, size_t n) {
    if (w->fixed == 1 || n > SIZE_MAX / 2 - w->len) {
        w->failed = FOLIO_ELIMIT;
        return NULL;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (n > cap - w->len) cap *= 2;
    uint8_t *nb = w->fixed == 2 ? malloc(cap) : realloc(w->buf, cap);
    if (!nb) {
        w->failed = FOLIO_ERROR;
        return NULL;
    }
    if (w->fixed == 2) { /* leave the caller's buffer */
        if (w->len) memcpy(nb, w->buf, w->len);
        w->fixed = 0;
    }
    w->buf = nb;
    w->cap = cap;
    FOLIO_ASSERT(n <= w->cap - w->len);
    return w->buf + w->len;
}

static inline uint8_t *mpw_room(folio_mpw *w, size_t n) {
    if (w->failed) return NULL;
    if (n <= w->cap - w->len) return w->buf + w->len;
    return mpw_grow(w, n);
}

static inline void put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A header for a length or count n into h[9]: the fix form (fix_tag | n, when n <
 * fix_limit; none when fix_limit is 0), else the 8-bit (tag8, when not 0), 16-bit or 32-bit
 * one. Returns the header's bytes (at most 5), 0 when n does not fit 32 bits. */
static inline size_t mp_head(uint8_t *h, size_t n, uint8_t fix_tag, size_t fix_limit,
                             uint8_t tag8, uint8_t tag16, uint8_t tag32) {
    if (n < fix_limit) {
        h[0] = (uint8_t)(fix_tag | n);
        return 1;
    }
    if (tag8 && n < 256) {
        h[0] = tag8;
        h[1] = (uint8_t)n;
        return 2;
    }
    if (n < 65536) {
        h[0] = tag16;
        put_be16(h + 1, (uint16_t)n);
        return 3;
    }
    if (n > UINT32_MAX) return 0;
    h[0] = tag32;
    put_be32(h + 1, (uint32_t)n);
    return 5;
}

/* The header h[0, hn) then n body bytes, exactly; hn 0 is a length msgpack cannot say. */
__attribute__((noinline)) static void mpw_put_slow(folio_mpw *w, const uint8_t *h, size_t hn,
                                                   const void *body, size_t n) {
    if (hn == 0) {
        if (!w->failed) w->failed = FOLIO_ELIMIT;
        return;
    }
    uint8_t *p = n > SIZE_MAX - hn ? NULL : mpw_room(w, hn + n);
    if (!p) {
        if (!w->failed) w->failed = FOLIO_ELIMIT;
        return;
    }
    memcpy(p, h, hn);
    if (n) memcpy(p + hn, body, n);
    w->len += hn + n;
}

/* The header h[0, hn) (h has 9 bytes) then n body bytes. When there is room for all nine,
 * the header is copied as nine (a fixed-size copy is two moves; the body or later values
 * overwrite the bytes past it, all inside the buffer). */
static inline __attribute__((always_inline)) void mpw_put(folio_mpw *w, const uint8_t *h,
                                                          size_t hn, const void *body,
                                                          size_t n) {
    const size_t room = w->cap - w->len;
    if (__builtin_expect(!w->failed && hn != 0 && n <= room && 9 <= room - n, 1)) {
        uint8_t *p = w->buf + w->len, *d = p + hn;
        const uint8_t *b = body;
        memcpy(p, h, 9);
        /* A short body (most keys and values) without a call: two overlapping loads and
         * stores of 8 or 4 bytes, each inside the body and inside the room; 1 to 3 bytes as
         * the first, middle and last. */
        if (n >= 8 && n <= 16) {
            uint64_t x, y;
            memcpy(&x, b, 8);
            memcpy(&y, b + n - 8, 8);
            memcpy(d, &x, 8);
            memcpy(d + n - 8, &y, 8);
        } else if (n >= 4 && n < 8) {
            uint32_t x, y;
            memcpy(&x, b, 4);
            memcpy(&y, b + n - 4, 4);
            memcpy(d, &x, 4);
            memcpy(d + n - 4, &y, 4);
        } else if (n > 0 && n < 4) {
            d[0] = b[0];
            d[n / 2] = b[n / 2];
            d[n - 1] = b[n - 1];
        } else if (n > 16) {
            memcpy(d, b, n);
        }
        w->len += hn + n;
        return;
    }
    mpw_put_slow(w, h, hn, body, n);
}

/* The smallest form of an unsigned integer (msgpack_pack_uint64) into h[9]. */
static inline size_t mp_uint(uint8_t *h, uint64_t v) {
    if (v < 128) {
        h[0] = (uint8_t)v;
        return 1;
    }
    if (v < 256) {
        h[0] = 0xcc;
        h[1] = (uint8_t)v;
        return 2;
    }
    if (v < 65536) {
        h[0] = 0xcd;
        put_be16(h + 1, (uint16_t)v);
        return 3;
    }
    if (v <= UINT32_MAX) {
        h[0] = 0xce;
        put_be32(h + 1, (uint32_t)v);
        return 5;
    }
    h[0] = 0xcf;
    folio__put_be64(h + 1, v);
    return 9;
}

/* The smallest form of a signed integer (msgpack_pack_int64: non-negative ones as unsigned). */
static inline size_t mp_int(uint8_t *h, int64_t v) {
    if (v >= 0) return mp_uint(h, (uint64_t)v);
    if (v >= -32) {
        h[0] = (uint8_t)v; /* negative fixint */
        return 1;
    }
    if (v >= -128) {
        h[0] = 0xd0;
        h[1] = (uint8_t)v;
        return 2;
    }
    if (v >= -32768) {
        h[0] = 0xd1;
        put_be16(h + 1, (uint16_t)v);
        return 3;
    }
    if (v >= INT32_MIN) {
        h[0] = 0xd2;
        put_be32(h + 1, (uint32_t)v);
        return 5;
    }
    h[0] = 0xd3;
    folio__put_be64(h + 1, (uint64_t)v);
    return 9;
}

/* The values, inlined into the envelope encoder and wrapped for engine/mp.h below. */
static inline __attribute__((always_inline)) void mpw_u64(folio_mpw *w, uint64_t v) {
    uint8_t h[9];
    mpw_put(w, h, mp_uint(h, v), NULL, 0);
}
static inline __attribute__((always_inline)) void mpw_strn(folio_mpw *w, const char *s,
                                                           size_t n) {
    uint8_t h[9];
    mpw_put(w, h, mp_head(h, n, 0xa0, 32, 0xd9, 0xda, 0xdb), s, n);
}
static inline __attribute__((always_inline)) void mpw_str(folio_mpw *w, const char *s) {
    if (s) {
        mpw_strn(w, s, strlen(s));
    } else {
        const uint8_t h[9] = {0xc0};
        mpw_put(w, h, 1, NULL, 0);
    }
}

void folio_mpw__init(folio_mpw *w) { memset(w, 0, sizeof *w); }
void folio_mpw__init_fixed(folio_mpw *w, uint8_t *buf, size_t cap) {
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    w->fixed = 1;
}
void folio_mpw__init_spill(folio_mpw *w, uint8_t *buf, size_t cap) {
    folio_mpw__init_fixed(w, buf, cap);
    w->fixed = 2;
}
void folio_mpw__reset(folio_mpw *w) {
    w->len = 0;
    w->failed = 0;
}
void folio_mpw__free(folio_mpw *w) {
    if (w->fixed == 0) free(w->buf);
    memset(w, 0, sizeof *w);
}
int folio_mpw__finish(const folio_mpw *w) {
    if (w->failed == FOLIO_ELIMIT)
        return folio_error__set(FOLIO_ELIMIT, "encoded record is larger than its buffer");
    if (w->failed) return folio_error__set(FOLIO_ERROR, "out of memory");
    return FOLIO_OK;
}
void folio_mpw__map(folio_mpw *w, uint32_t n) {
    uint8_t h[9];
    mpw_put(w, h, mp_head(h, n, 0x80, 16, 0, 0xde, 0xdf), NULL, 0);
}
void folio_mpw__array(folio_mpw *w, uint32_t n) {
    uint8_t h[9];
    mpw_put(w, h, mp_head(h, n, 0x90, 16, 0, 0xdc, 0xdd), NULL, 0);
}
void folio_mpw__strn(folio_mpw *w, const char *s, size_t n) { mpw_strn(w, s, n); }
void folio_mpw__str(folio_mpw *w, const char *s) { mpw_str(w, s); }
void folio_mpw__u64(folio_mpw *w, uint64_t v) { mpw_u64(w, v); }
void folio_mpw__i64(folio_mpw *w, int64_t v) {
    uint8_t h[9];
    mpw_put(w, h, mp_int(h, v), NULL, 0);
}
void folio_mpw__bool(folio_mpw *w, int v) {
    const uint8_t h[9] = {v ? 0xc3 : 0xc2};
    mpw_put(w, h, 1, NULL, 0);
}
void folio_mpw__nil(folio_mpw *w) {
    const uint8_t h[9] = {0xc0};
    mpw_put(w, h, 1, NULL, 0);
}
void folio_mpw__bin(folio_mpw *w, const void *p, size_t n) {
    uint8_t h[9];
    mpw_put(w, h, mp_head(h, n, 0, 0, 0xc4, 0xc5, 0xc6), p, n);
}
void folio_mpw__raw(folio_mpw *w, const void *p, size_t n) {
    if (n == 0) return; /* p may be NULL: nothing to copy */
    uint8_t *d = mpw_room(w, n);
    if (!d) return;
    memcpy(d, p, n);
    w->len += n;
}
void folio_mpw__kstr(folio_mpw *w, const char *key, const char *val) {
    mpw_str(w, key);
    mpw_str(w, val);
}
void folio_mpw__ku64(folio_mpw *w, const char *key, uint64_t v) {
    mpw_str(w, key);
    mpw_u64(w, v);
}
void folio_mpw__ki64(folio_mpw *w, const char *key, int64_t v) {
    folio_mpw__str(w, key);
    folio_mpw__i64(w, v);
}

/* ---------------------------------------------------------------------------------------
 * Envelope encoding (engine/mp.h's writer into the caller's bounded buffer, no allocation)
 * ------------------------------------------------------------------------------------- */

int folio_codec__encode_envelope(size_t *bytes_out, uint8_t *buf, size_t cap,
                                 const folio_event *e, const char *idempotency_key,
                                 const uint8_t *request_hash, uint32_t follows) {
    FOLIO_ASSERT(e->seq > 0);
    FOLIO_ASSERT(e->actor != NULL);
    FOLIO_ASSERT((idempotency_key == NULL) == (request_hash == NULL));
    /* The map header and the integer fields: at most 1 + 7 * (1 + 9) bytes, written into a
     * stack copy without a bounds check each, then copied once. */
    uint8_t head[1 + 7 * 10], *h = head;
    const unsigned fields = 9 + (e->reason != NULL) + (e->correlation != NULL) +
                            2 * (idempotency_key != NULL) + (follows != 0);
    FOLIO_ASSERT(fields < 16);
    *h++ = (uint8_t)(0x80 | fields); /* fixmap */
    const uint64_t ints[7][2] = {{K_FORMAT, FOLIO_ENVELOPE_FORMAT}, {K_SEQ, e->seq},
                                 {K_STREAM, e->stream}, {K_VERSION, e->version},
                                 {K_TYPE, e->type}, {K_SCHEMA, e->schema},
                                 {K_RECORDED, (uint64_t)e->recorded_at_us}};
    for (unsigned i = 0; i < 7; i++) {
        *h++ = (uint8_t)ints[i][0]; /* keys below 128: positive fixint */
        h += mp_uint(h, ints[i][1]);
    }
    const size_t head_bytes = (size_t)(h - head);
    FOLIO_ASSERT(head_bytes <= sizeof head);
    folio_mpw w;
    folio_mpw__init_fixed(&w, buf, cap);
    folio_mpw__raw(&w, head, head_bytes);
    mpw_u64(&w, K_ACTOR);
    mpw_str(&w, e->actor);
    if (e->reason) {
        mpw_u64(&w, K_REASON);
        mpw_str(&w, e->reason);
    }
    if (e->correlation) {
        mpw_u64(&w, K_CORRELATION);
        mpw_str(&w, e->correlation);
    }
    if (idempotency_key) {
        mpw_u64(&w, K_IDEM);
        mpw_str(&w, idempotency_key);
    }
    mpw_u64(&w, K_PAYLOAD);
    folio_mpw__raw(&w, e->payload, e->payload_bytes);
    if (request_hash) {
        mpw_u64(&w, K_REQUEST);
        folio_mpw__bin(&w, request_hash, FOLIO_HASH_BYTES);
    }
    if (follows) { /* the command mark, last: only a multi-event command's earlier events */
        FOLIO_ASSERT(FOLLOWS_VALID(follows));
        mpw_u64(&w, K_FOLLOWS);
        mpw_u64(&w, follows);
    }
    if (w.failed)
        return folio_error__set(FOLIO_ELIMIT, "event is larger than %u bytes",
                                FOLIO_EVENT_BYTES_MAX);
    FOLIO_ASSERT(w.buf == buf); /* a fixed writer never leaves the caller's buffer */
    *bytes_out = w.len;
    return FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * Envelope decoding (msgpuck, after msgpack_valid)
 * ------------------------------------------------------------------------------------- */

static int decode_u64(uint64_t *out, const char **p, uint64_t seq, const char *what) {
    if (mp_typeof(**p) != MP_UINT) return FOLIO_CORRUPT(seq, "%s is not an unsigned integer", what);
    *out = mp_decode_uint(p);
    return FOLIO_OK;
}

static int decode_str(const char **out, const char **p, char *strbuf, size_t cap, size_t *used,
                      uint64_t seq, const char *what) {
    if (mp_typeof(**p) != MP_STR) return FOLIO_CORRUPT(seq, "%s is not a string", what);
    uint32_t len;
    const char *s = mp_decode_str(p, &len);
    if ((size_t)len + 1 > cap - *used) return FOLIO_CORRUPT(seq, "%s is too long", what);
    if (memchr(s, 0, len)) return FOLIO_CORRUPT(seq, "%s holds a NUL byte", what);
    char *dst = strbuf + *used;
    memcpy(dst, s, len);
    dst[len] = '\0';
    *used += (size_t)len + 1;
    *out = dst;
    return FOLIO_OK;
}

int folio_codec__decode_envelope(folio_event *e, const uint8_t *env, size_t env_bytes,
                                 char *strbuf, size_t strbuf_cap, uint64_t seq,
                                 uint8_t request_hash_out[FOLIO_HASH_BYTES],
                                 uint32_t *follows_out) {
    FOLIO_ASSERT(e != NULL);
    FOLIO_ASSERT(strbuf_cap > 0);
    const char *p = (const char *)env, *end = p + env_bytes;
    if (!msgpack_valid(env, env + env_bytes))
        return FOLIO_CORRUPT(seq, "envelope is not exactly one msgpack value");
    if (mp_typeof(*p) != MP_MAP) return FOLIO_CORRUPT(seq, "envelope is not a map");
    memset(e, 0, sizeof *e);
    uint32_t n = mp_decode_map(&p), seen = 0, follows = 0;
    size_t used = 0;
    uint64_t v = 0;
    int rc = FOLIO_OK;
    for (uint32_t i = 0; i < n && rc == FOLIO_OK; i++) {
        if (mp_typeof(*p) != MP_UINT) {
            mp_next(&p); /* a key of another kind, from a newer writer: skip the pair */
            mp_next(&p);
            continue;
        }
        uint64_t key = mp_decode_uint(&p);
        if (key <= K_FOLLOWS) {
            if (seen & (1u << key)) return FOLIO_CORRUPT(seq, "envelope key %llu repeated",
                                                         (unsigned long long)key);
            seen |= 1u << key;
        }
        switch (key) {
        case K_FORMAT: rc = decode_u64(&v, &p, seq, "format"); break;
        case K_SEQ: rc = decode_u64(&e->seq, &p, seq, "seq"); break;
        case K_STREAM: rc = decode_u64(&e->stream, &p, seq, "stream"); break;
        case K_VERSION: rc = decode_u64(&e->version, &p, seq, "version"); break;
        case K_TYPE:
            rc = decode_u64(&v, &p, seq, "type");
            if (rc == FOLIO_OK && v > UINT32_MAX) rc = FOLIO_CORRUPT(seq, "type out of range");
            e->type = (uint32_t)v;
            break;
        case K_SCHEMA:
            rc = decode_u64(&v, &p, seq, "schema");
            if (rc == FOLIO_OK && (v == 0 || v > UINT32_MAX))
                rc = FOLIO_CORRUPT(seq, "schema out of range");
            e->schema = (uint32_t)v;
            break;
        case K_RECORDED:
            rc = decode_u64(&v, &p, seq, "recorded_at");
            if (rc == FOLIO_OK && v > INT64_MAX) rc = FOLIO_CORRUPT(seq, "recorded_at out of range");
            e->recorded_at_us = (int64_t)v;
            break;
        case K_ACTOR: rc = decode_str(&e->actor, &p, strbuf, strbuf_cap, &used, seq, "actor"); break;
        case K_REASON: rc = decode_str(&e->reason, &p, strbuf, strbuf_cap, &used, seq, "reason"); break;
        case K_CORRELATION:
            rc = decode_str(&e->correlation, &p, strbuf, strbuf_cap, &used, seq, "correlation");
            break;
        case K_IDEM:
            rc = decode_str(&e->idempotency_key, &p, strbuf, strbuf_cap, &used, seq,
                            "idempotency key");
            break;
        case K_PAYLOAD:
            if (mp_typeof(*p) != MP_MAP) return FOLIO_CORRUPT(seq, "payload is not a map");
            e->payload = p;
            mp_next(&p);
            e->payload_bytes = (size_t)(p - (const char *)e->payload);
            break;
        case K_REQUEST: {
            uint32_t len = 0;
            const char *h = NULL;
            if (mp_typeof(*p) == MP_BIN) h = mp_decode_bin(&p, &len);
            else mp_next(&p);
            if (len != FOLIO_HASH_BYTES) return FOLIO_CORRUPT(seq, "request hash is not 16 bytes");
            if (request_hash_out) memcpy(request_hash_out, h, FOLIO_HASH_BYTES);
            break;
        }
        case K_FOLLOWS:
            rc = decode_u64(&v, &p, seq, "command mark");
            if (rc == FOLIO_OK && !FOLLOWS_VALID(v))
                rc = FOLIO_CORRUPT(seq, "command mark %llu out of range",
                                   (unsigned long long)v);
            follows = (uint32_t)v;
            break;
        default: mp_next(&p); break; /* a field added by a newer folio */
        }
    }
    if (rc < 0) return rc;
    if ((seen & REQUIRED_KEYS) != REQUIRED_KEYS)
        return FOLIO_CORRUPT(seq, "envelope lacks required fields (mask %03x)", seen);
    FOLIO_ASSERT(p == end);
    if (e->seq != seq)
        return FOLIO_CORRUPT(seq, "envelope says seq %llu", (unsigned long long)e->seq);
    if (e->version == 0) return FOLIO_CORRUPT(seq, "version 0");
    if (((seen >> K_IDEM) & 1) != ((seen >> K_REQUEST) & 1) && (seen >> K_REQUEST) & 1)
        return FOLIO_CORRUPT(seq, "request hash without an idempotency key");
    if (request_hash_out && !((seen >> K_REQUEST) & 1))
        memset(request_hash_out, 0, FOLIO_HASH_BYTES);
    if (follows_out) *follows_out = follows;
    return FOLIO_OK;
}

/* A big-endian unsigned integer of n (1, 2, 4 or 8) bytes; the fixed widths written out,
 * which compilers turn into one load and a byte swap. */
static inline uint64_t be_n64(const uint8_t *p, unsigned n) {
    switch (n) {
    case 1: return p[0];
    case 2: return (uint64_t)p[0] << 8 | p[1];
    case 4: return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    default:
        FOLIO_ASSERT(n == 8);
        return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
               (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
               (uint64_t)p[6] << 8 | p[7];
    }
}

/* A string field as folio's encoder writes it (fixstr or str 8/16/32) at env[*i], whose
 * type byte is c, of an envelope n bytes long: 1 with its bytes at *src (len of them, no
 * NUL among them) and *i past it; 0 for any other shape or a string past the end. */
static int scan_str(const uint8_t **src, size_t *len, const uint8_t *env, size_t n, size_t *i,
                    unsigned c) {
    size_t head;
    if (c - 0xa0u < 0x20u) {
        head = 1;
        *len = c & 0x1fu;
    } else if (c >= 0xd9 && c <= 0xdb) {
        head = 1u + (1u << (c - 0xd9));
        if (n - *i < head) return 0;
        *len = be_n(env + *i + 1, (unsigned)head - 1u);
    } else {
        return 0;
    }
    if (n - *i - head < *len) return 0; /* n - *i >= head: checked above or head 1 */
    *src = env + *i + head;
    if (memchr(*src, 0, *len)) return 0;
    *i += head + *len;
    return 1;
}

/* The unsigned integer at env[*i] (fixint or uint 8 to 64) into *out; 0 if there is none. */
static inline int scan_uint(uint64_t *out, const uint8_t *env, size_t n, size_t *i) {
    const unsigned c = env[*i]; /* *i < n */
    if (c <= 0x7f) {
        *out = c;
        *i += 1;
        return 1;
    }
    if (c < 0xcc || c > 0xcf) return 0;
    const unsigned w = 1u << (c - 0xcc);
    if (n - *i - 1 < w) return 0;
    *out = be_n64(env + *i + 1, w);
    *i += 1u + w;
    return 1;
}

/*
 * One pass over an envelope (walk_envelope), for a scan of many events (folio_verify) and
 * for the iterators' decode: the bytes are checked as they are read, and nothing is copied.
 * It accepts only the shapes folio writes (a fixmap with fixint keys 0-13, each at most
 * once; integers as fixint or uint 8-64; strings as str; the request hash as bin 8 of 16
 * bytes; the command mark in range) and refuses (returns 0, setting no error) everything else, damaged or merely unusual: the caller then runs
 * folio_codec__decode_envelope, which accepts what a newer folio may write and names the
 * defect of a damaged envelope. So an envelope this accepts is one the decoder accepts with
 * the same fields; every check of the decoder is made here or is implied:
 *   - exactly one msgpack value: each value is walked (the payload by msgpack_skip) and the
 *     last one must end at env_bytes;
 *   - a map, no repeated key, the required keys, the field types and ranges, strings
 *     without NUL, a payload that is a map, a request hash of 16 bytes and only with an
 *     idempotency key, the seq equal to `seq`, a version above 0;
 *   - strings that fit the decoder's buffer: an envelope of at most FOLIO_EVENT_BYTES_MAX
 *     bytes holds fewer string bytes plus terminators than that (the iterators' decode,
 *     whose buffer may be smaller, checks it as it copies).
 */
typedef struct {
    uint64_t u[K_RECORDED + 1]; /* the integer fields, by key */
    const uint8_t *payload;     /* in place */
    size_t payload_bytes;
    const uint8_t *request; /* the 16-byte request hash, or NULL */
    uint64_t follows;       /* the command mark (key 13), 0 when absent */
    unsigned strings;       /* actor, reason, correlation, idempotency key: in envelope order */
    struct {
        unsigned key;
        const uint8_t *src;
        size_t len;
    } str[K_IDEM - K_ACTOR + 1];
} env_walk;

static int walk_envelope(env_walk *w, const uint8_t *env, size_t n, uint64_t seq) {
    FOLIO_ASSERT(env != NULL || n == 0);
    if (n == 0 || n > FOLIO_EVENT_BYTES_MAX || (env[0] & 0xf0u) != 0x80u) return 0;
    const unsigned pairs = env[0] & 0x0fu;
    uint64_t *u = w->u;
    size_t i = 1;
    memset(w, 0, sizeof *w);
    /* The integer fields, keys 0 to 6, come first and in order from folio's encoder; they
     * are read here without the checks the loop below makes for a key in any order, nor
     * bound checks: there are bytes for all seven at their widest (10 bytes each), and the
     * map has the nine pairs every envelope needs. Anything else is left to the loop. */
    unsigned k = 0;
    if (pairs >= 9 && n > 1 + 10 * (K_RECORDED + 1) + 1) {
        for (; k <= K_RECORDED && env[i] == k; k++) {
            const unsigned c = env[i + 1];
            if (c <= 0x7f) {
                u[k] = c;
                i += 2;
            } else if (c - 0xccu < 4u) {
                const unsigned wd = 1u << (c - 0xcc);
                u[k] = be_n64(env + i + 2, wd);
                i += 2u + wd;
            } else {
                return 0;
            }
        }
        FOLIO_DEBUG_ASSERT(i <= 1 + 10 * k);
    }
    uint32_t seen = (1u << k) - 1u;
    for (; k < pairs; k++) {
        if (n - i < 2) return 0; /* a key and a value take two bytes at least */
        const unsigned key = env[i], c = env[i + 1];
        if (key > K_FOLLOWS || ((seen >> key) & 1u)) return 0;
        seen |= 1u << key;
        i++;
        if (key <= K_RECORDED) {
            if (!scan_uint(&u[key], env, n, &i)) return 0;
        } else if (key == K_PAYLOAD) {
            if ((c & 0xf0u) != 0x80u && c != 0xde && c != 0xdf) return 0;
            const size_t len = msgpack_skip(env + i, n - i);
            if (len == 0) return 0;
            w->payload = env + i;
            w->payload_bytes = len;
            i += len;
        } else if (key == K_REQUEST) {
            if (c != 0xc4 || n - i < 2u + FOLIO_HASH_BYTES || env[i + 1] != FOLIO_HASH_BYTES)
                return 0;
            w->request = env + i + 2;
            i += 2u + FOLIO_HASH_BYTES;
        } else if (key == K_FOLLOWS) {
            if (!scan_uint(&w->follows, env, n, &i) || !FOLLOWS_VALID(w->follows)) return 0;
        } else { /* actor, reason, correlation, idempotency key: each at most once */
            FOLIO_ASSERT(w->strings < sizeof w->str / sizeof w->str[0]);
            w->str[w->strings].key = key;
            if (!scan_str(&w->str[w->strings].src, &w->str[w->strings].len, env, n, &i, c))
                return 0;
            w->strings++;
        }
    }
    if (i != n || (seen & REQUIRED_KEYS) != REQUIRED_KEYS) return 0;
    if (u[K_SEQ] != seq || u[K_VERSION] == 0 || u[K_TYPE] > UINT32_MAX || u[K_SCHEMA] == 0 ||
        u[K_SCHEMA] > UINT32_MAX || u[K_RECORDED] > INT64_MAX)
        return 0;
    if (w->request && !((seen >> K_IDEM) & 1u)) return 0;
    return 1;
}

int folio_codec__scan_envelope(folio_envelope_fields *out, const uint8_t *env,
                               size_t env_bytes, uint64_t seq) {
    FOLIO_ASSERT(out != NULL);
    env_walk w;
    if (!walk_envelope(&w, env, env_bytes, seq)) return 0;
    out->seq = w.u[K_SEQ];
    out->stream = w.u[K_STREAM];
    out->version = w.u[K_VERSION];
    out->type = (uint32_t)w.u[K_TYPE];
    out->recorded_at_us = (int64_t)w.u[K_RECORDED];
    out->idem_key = NULL;
    out->idem_key_bytes = 0;
    for (unsigned j = 0; j < w.strings; j++)
        if (w.str[j].key == K_IDEM) {
            out->idem_key = w.str[j].src;
            out->idem_key_bytes = w.str[j].len;
        }
    out->request = w.request;
    out->follows = (uint32_t)w.follows;
    return 1;
}

/*
 * folio_codec__decode_envelope in one pass, for the envelopes folio writes: the shapes
 * folio_codec__scan_envelope accepts (the same walk), with the decoder's output (strings
 * copied NUL-terminated into strbuf in envelope order, as the decoder copies them, the
 * payload in place, the request hash). It returns 1 only for an envelope the decoder
 * accepts with exactly these results; 0, setting no error and with *e and the request hash
 * undefined, for any other, which the caller gives to the decoder (it names the defect, or
 * accepts a shape a newer folio may write). Every check of the decoder is made by the walk
 * or implied (see above), and the strings must fit strbuf (the same test as decode_str).
 * tests/engine/decode_fast.c compares the two on the golden frames, on random mutations
 * and on crafted envelopes.
 */
int folio_codec__decode_envelope_fast(folio_event *e, const uint8_t *env, size_t env_bytes,
                                      char *strbuf, size_t strbuf_cap, uint64_t seq,
                                      uint8_t request_hash_out[FOLIO_HASH_BYTES],
                                      uint32_t *follows_out) {
    FOLIO_ASSERT(e != NULL);
    env_walk w;
    if (!walk_envelope(&w, env, env_bytes, seq)) return 0;
    const char **strs[K_IDEM + 1] = {[K_ACTOR] = &e->actor, [K_REASON] = &e->reason,
                                     [K_CORRELATION] = &e->correlation,
                                     [K_IDEM] = &e->idempotency_key};
    size_t used = 0;
    memset(e, 0, sizeof *e);
    for (unsigned j = 0; j < w.strings; j++) {
        size_t len = w.str[j].len;
        if (len + 1 > strbuf_cap - used) return 0; /* decode_str: "too long" */
        char *dst = strbuf + used;
        memcpy(dst, w.str[j].src, len);
        dst[len] = '\0';
        used += len + 1;
        *strs[w.str[j].key] = dst;
    }
    e->payload = w.payload;
    e->payload_bytes = w.payload_bytes;
    e->seq = w.u[K_SEQ];
    e->stream = w.u[K_STREAM];
    e->version = w.u[K_VERSION];
    e->type = (uint32_t)w.u[K_TYPE];
    e->schema = (uint32_t)w.u[K_SCHEMA];
    e->recorded_at_us = (int64_t)w.u[K_RECORDED];
    if (request_hash_out) {
        if (w.request) memcpy(request_hash_out, w.request, FOLIO_HASH_BYTES);
        else memset(request_hash_out, 0, FOLIO_HASH_BYTES);
    }
    if (follows_out) *follows_out = (uint32_t)w.follows;
    return 1;
}

/* Length-prefixed fields so that no two different requests feed the same bytes. */
static void hash_text(folio_hasher *h, const char *s) {
    uint8_t hdr[9];
    size_t n = s ? strlen(s) : 0;
    hdr[0] = s != NULL;
    folio__put_le64(hdr + 1, n);
    folio_hasher__update(h, hdr, sizeof hdr);
    if (n) folio_hasher__update(h, s, n);
}

void folio_codec__hash_content(folio_hasher *h, const folio_event *e) {
    uint8_t fixed[24];
    folio__put_le64(fixed, e->stream);
    folio__put_le32(fixed + 8, e->type);
    folio__put_le32(fixed + 12, e->schema);
    folio__put_le64(fixed + 16, e->payload_bytes);
    folio_hasher__update(h, fixed, sizeof fixed);
    hash_text(h, e->actor);
    hash_text(h, e->reason);
    hash_text(h, e->correlation);
    folio_hasher__update(h, e->payload, e->payload_bytes);
}

/* ---------------------------------------------------------------------------------------
 * msgpack -> JSON (public)
 * ------------------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (n > cap - b->len) cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_json_escaped(sbuf *b, const char *s, size_t n);

/* A string that is not valid UTF-8 (only bytes that never went through append: a caller's
 * own payload, or a damaged frame): each bad byte becomes U+FFFD, so the JSON stays JSON. */
static void put_json_string_repaired(sbuf *b, const char *s, size_t n) {
    sbuf tmp = {NULL, 0, 0, 0};
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k > 0) {
            sb_put(&tmp, s + i, (size_t)k);
            i += (size_t)k;
        } else {
            sb_put(&tmp, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    if (tmp.oom) {
        b->oom = 1;
    } else {
        put_json_escaped(b, tmp.buf ? tmp.buf : "", tmp.len);
    }
    free(tmp.buf);
}

static void put_json_string(sbuf *b, const char *s, size_t n) {
    if (!utf8_valid((const uint8_t *)s, n)) { /* (also true for NUL bytes: kept, escaped) */
        put_json_string_repaired(b, s, n);
        return;
    }
    put_json_escaped(b, s, n);
}

static void put_json_escaped(sbuf *b, const char *s, size_t n) {
    sb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default: sb_printf(b, "\\u%04x", c); break;
        }
    }
    sb_put(b, s + run, n - run);
    sb_put(b, "\"", 1);
}

/* A float (only in bytes that never went through append): JSON has no NaN or infinity, so
 * those are written as null. */
static void put_json_number(sbuf *b, double v, int digits) {
    if (isfinite(v))
        sb_printf(b, "%.*g", digits, v);
    else
        sb_put(b, "null", 4);
}

static int to_json(sbuf *b, const char **p, unsigned depth) {
    if (depth > 2 * FOLIO_PAYLOAD_DEPTH_MAX)
        return folio_error__set(FOLIO_ECORRUPT, "payload nests too deep to render");
    uint32_t n, len;
    const char *s;
    switch (mp_typeof(**p)) {
    case MP_NIL: mp_decode_nil(p); sb_put(b, "null", 4); break;
    case MP_BOOL:
        if (mp_decode_bool(p))
            sb_put(b, "true", 4);
        else
            sb_put(b, "false", 5);
        break;
    case MP_UINT: sb_printf(b, "%llu", (unsigned long long)mp_decode_uint(p)); break;
    case MP_INT: sb_printf(b, "%lld", (long long)mp_decode_int(p)); break;
    case MP_FLOAT: put_json_number(b, (double)mp_decode_float(p), 9); break;
    case MP_DOUBLE: put_json_number(b, mp_decode_double(p), 17); break;
    case MP_STR: s = mp_decode_str(p, &len); put_json_string(b, s, len); break;
    case MP_BIN:
        s = mp_decode_bin(p, &len);
        sb_put(b, "\"", 1);
        for (uint32_t i = 0; i < len; i++) sb_printf(b, "%02x", (unsigned char)s[i]);
        sb_put(b, "\"", 1);
        break;
    case MP_ARRAY:
        n = mp_decode_array(p);
        sb_put(b, "[", 1);
        for (uint32_t i = 0; i < n; i++) {
            if (i) sb_put(b, ",", 1);
            int rc = to_json(b, p, depth + 1);
            if (rc < 0) return rc;
        }
        sb_put(b, "]", 1);
        break;
    case MP_MAP:
        n = mp_decode_map(p);
        sb_put(b, "{", 1);
        for (uint32_t i = 0; i < n; i++) {
            if (i) sb_put(b, ",", 1);
            if (mp_typeof(**p) == MP_STR) {
                s = mp_decode_str(p, &len);
                put_json_string(b, s, len);
            } else { /* not written by folio; render the key as a JSON string */
                sbuf k = {0};
                int rc = to_json(&k, p, depth + 1);
                if (rc == FOLIO_OK && !k.oom) put_json_string(b, k.buf, k.len);
                free(k.buf);
                if (rc < 0) return rc;
            }
            sb_put(b, ":", 1);
            int rc = to_json(b, p, depth + 1);
            if (rc < 0) return rc;
        }
        sb_put(b, "}", 1);
        break;
    default: /* ext */
        mp_next(p);
        sb_put(b, "null", 4);
        break;
    }
    return FOLIO_OK;
}

int folio_payload_to_json(char **json_out, const void *payload, size_t payload_bytes) {
    if (!json_out || (!payload && payload_bytes))
        return folio_error__set(FOLIO_EINVAL, "payload_to_json: NULL argument");
    *json_out = NULL;
    if (payload_bytes > FOLIO_EVENT_BYTES_MAX)
        return folio_error__set(FOLIO_ELIMIT, "payload of %zu bytes is larger than any event",
                                payload_bytes);
    const char *p = payload;
    if (payload_bytes == 0 || !msgpack_valid(payload, (const uint8_t *)payload + payload_bytes))
        return folio_error__set(FOLIO_ECORRUPT, "payload is not valid msgpack");
    sbuf b = {0};
    int rc = to_json(&b, &p, 0);
    sb_put(&b, "", 1);
    if (rc == FOLIO_OK && b.oom) rc = folio_error__set(FOLIO_ERROR, "out of memory");
    if (rc < 0) {
        free(b.buf);
        return rc;
    }
    *json_out = b.buf;
    return FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * JSON -> msgpack (public; jansson parses, msgpack-c packs)
 * ------------------------------------------------------------------------------------- */

static int pack_json(msgpack_packer *pk, json_t *j, unsigned depth) {
    if (depth > FOLIO_PAYLOAD_DEPTH_MAX && (json_is_object(j) || json_is_array(j)))
        return folio_error__set(FOLIO_ELIMIT, "payload nests deeper than %u levels",
                                FOLIO_PAYLOAD_DEPTH_MAX);
    const char *key;
    json_t *val;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach(j, key, val) {
            size_t n = strlen(key);
            msgpack_pack_str(pk, n);
            msgpack_pack_str_body(pk, key, n);
            int rc = pack_json(pk, val, depth + 1);
            if (rc < 0) return rc;
        }
        return FOLIO_OK;
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(j));
        json_array_foreach(j, i, val) {
            int rc = pack_json(pk, val, depth + 1);
            if (rc < 0) return rc;
        }
        return FOLIO_OK;
    case JSON_STRING:
        msgpack_pack_str(pk, json_string_length(j));
        msgpack_pack_str_body(pk, json_string_value(j), json_string_length(j));
        return FOLIO_OK;
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(j)); return FOLIO_OK;
    case JSON_TRUE: msgpack_pack_true(pk); return FOLIO_OK;
    case JSON_FALSE: msgpack_pack_false(pk); return FOLIO_OK;
    case JSON_NULL: msgpack_pack_nil(pk); return FOLIO_OK;
    case JSON_REAL:
    default:
        return folio_error__set(FOLIO_EINVAL,
                                "payload holds a real number (write money as a decimal string)");
    }
}

int folio_payload_from_json(void **payload_out, size_t *payload_bytes_out, const char *json) {
    if (!payload_out || !payload_bytes_out || !json)
        return folio_error__set(FOLIO_EINVAL, "payload_from_json: NULL argument");
    *payload_out = NULL;
    *payload_bytes_out = 0;
    json_error_t err;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return folio_error__set(FOLIO_EINVAL, "payload JSON: %s (line %d, column %d)", err.text,
                                err.line, err.column);
    int rc = FOLIO_OK;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (!json_is_object(root)) {
        rc = folio_error__set(FOLIO_EINVAL, "payload JSON must be an object");
        goto cleanup;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    FOLIO_TRY(pack_json(&pk, root, 1));
    FOLIO_TRY(folio_codec__check_payload(sb.data, sb.size));
    *payload_out = sb.data;
    *payload_bytes_out = sb.size;
    sb.data = NULL;
cleanup:
    msgpack_sbuffer_destroy(&sb);
    json_decref(root);
    return rc;
}

void folio_free(void *p) { free(p); }

/* ---------------------------------------------------------------------------------------
 * engine/mp.h: the reader
 * ------------------------------------------------------------------------------------- */

int folio_mpr__open(folio_mpr *r, const void *buf, size_t n) {
    if (n == 0 || !msgpack_valid(buf, (const uint8_t *)buf + n))
        return folio_error__set(FOLIO_ECORRUPT, "record is not valid msgpack");
    r->p = buf;
    r->end = (const char *)buf + n;
    return FOLIO_OK;
}

int folio_mpr__checked_skip(folio_mpr *r) {
    const size_t n = msgpack_skip((const uint8_t *)r->p, (size_t)(r->end - r->p));
    if (n == 0) return FOLIO_ECORRUPT;
    FOLIO_ASSERT(n <= (size_t)(r->end - r->p));
    r->p += n;
    return FOLIO_OK;
}

folio_mp_type folio_mpr__type(const folio_mpr *r) {
    if (r->p >= r->end) return FOLIO_MP_OTHER;
    switch (mp_typeof(*r->p)) {
    case MP_NIL: return FOLIO_MP_NIL;
    case MP_BOOL: return FOLIO_MP_BOOL;
    case MP_UINT: return FOLIO_MP_UINT;
    case MP_INT: return FOLIO_MP_INT;
    case MP_STR: return FOLIO_MP_STR;
    case MP_BIN: return FOLIO_MP_BIN;
    case MP_ARRAY: return FOLIO_MP_ARRAY;
    case MP_MAP: return FOLIO_MP_MAP;
    default: return FOLIO_MP_OTHER;
    }
}

static int mpr_mismatch(folio_mpr *r, const char *want) {
    if (r->p < r->end) mp_next(&r->p);
    return folio_error__set(FOLIO_ECORRUPT, "record field is not %s", want);
}

void folio_mpr__skip(folio_mpr *r) {
    if (r->p < r->end) mp_next(&r->p);
}

size_t folio_mpr__value_bytes(const folio_mpr *r) {
    const char *q = r->p;
    if (q >= r->end) return 0;
    mp_next(&q);
    return (size_t)(q - r->p);
}

int folio_mpr__str(folio_mpr *r, const char **s, size_t *n) {
    folio_mp_type t = folio_mpr__type(r);
    if (t == FOLIO_MP_NIL) {
        mp_decode_nil(&r->p);
        *s = NULL;
        *n = 0;
        return FOLIO_OK;
    }
    if (t != FOLIO_MP_STR) return mpr_mismatch(r, "a string");
    uint32_t len;
    *s = mp_decode_str(&r->p, &len);
    *n = len;
    return FOLIO_OK;
}

int folio_mpr__u64(folio_mpr *r, uint64_t *v) {
    if (folio_mpr__type(r) != FOLIO_MP_UINT) return mpr_mismatch(r, "an unsigned integer");
    *v = mp_decode_uint(&r->p);
    return FOLIO_OK;
}

int folio_mpr__i64(folio_mpr *r, int64_t *v) {
    folio_mp_type t = folio_mpr__type(r);
    if (t == FOLIO_MP_INT) {
        *v = mp_decode_int(&r->p);
        return FOLIO_OK;
    }
    if (t == FOLIO_MP_UINT) {
        uint64_t u = mp_decode_uint(&r->p);
        if (u > INT64_MAX) return folio_error__set(FOLIO_ECORRUPT, "integer out of range");
        *v = (int64_t)u;
        return FOLIO_OK;
    }
    return mpr_mismatch(r, "an integer");
}

int folio_mpr__bool(folio_mpr *r, int *v) {
    if (folio_mpr__type(r) != FOLIO_MP_BOOL) return mpr_mismatch(r, "a boolean");
    *v = mp_decode_bool(&r->p);
    return FOLIO_OK;
}

int folio_mpr__map(folio_mpr *r, uint32_t *n) {
    if (folio_mpr__type(r) != FOLIO_MP_MAP) return mpr_mismatch(r, "a map");
    *n = mp_decode_map(&r->p);
    return FOLIO_OK;
}

int folio_mpr__array(folio_mpr *r, uint32_t *n) {
    if (folio_mpr__type(r) != FOLIO_MP_ARRAY) return mpr_mismatch(r, "an array");
    *n = mp_decode_array(&r->p);
    return FOLIO_OK;
}

/* Skip one value of validated bytes: fixstr, fixint, nil and bool inline, the rest by
 * msgpuck. */
static inline void mpr_next(const char **p) {
    const unsigned c = (uint8_t)**p;
    if (c - 0xa0u < 32u)
        *p += 1 + (c & 0x1fu);
    else if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        *p += 1;
    else
        mp_next(p);
}

/* The key of the pair at r->p, taken: 1 with the key's bytes in *s, *len for a string key;
 * 0 for a key of another type, taken with its value (the walks skip such pairs). */
static inline __attribute__((always_inline)) int take_key(folio_mpr *r, const char **s,
                                                          size_t *len) {
    const unsigned c = (uint8_t)*r->p;
    if (c - 0xa0u < 32u) { /* a fixstr key, as the writer writes keys shorter than 32 */
        *len = c & 0x1fu;
        *s = r->p + 1;
        r->p = *s + *len;
        return 1;
    }
    if (folio_mpr__type(r) == FOLIO_MP_STR) {
        uint32_t n32;
        *s = mp_decode_str(&r->p, &n32);
        *len = n32;
        return 1;
    }
    mp_next(&r->p);
    mpr_next(&r->p);
    return 0;
}

int folio_mpr__find(folio_mpr *val, const folio_mpr *map, const char *key) {
    folio_mpr r = *map;
    uint32_t n = 0;
    int rc = folio_mpr__map(&r, &n);
    if (rc < 0) return rc;
    const size_t klen = strlen(key);
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (!take_key(&r, &s, &len)) continue;
        /* the first and last bytes decide most keys ("doc", "due") without a call */
        if (len == klen && (klen == 0 || (s[0] == key[0] && s[klen - 1] == key[klen - 1] &&
                                          memcmp(s, key, klen) == 0))) {
            *val = r;
            return FOLIO_OK;
        }
        mpr_next(&r.p);
    }
    return FOLIO_ENOTFOUND;
}

/* Whether the key s[0, len) is k. */
static inline __attribute__((always_inline)) int key_is(const char *s, size_t len,
                                                        const folio_mp_key *k) {
    if (len != k->n) return 0;
    if (len == 0) return 1;
    /* the first and last bytes decide most keys; the bytes between inline (keys are short) */
    if (s[0] != k->s[0] || s[len - 1] != k->s[len - 1]) return 0;
    for (size_t b = 1; b + 1 < len; b++)
        if (s[b] != k->s[b]) return 0;
    return 1;
}

int folio_mpr__find_keys(folio_mpr *vals, const folio_mpr *map, const folio_mp_key *keys,
                         size_t count) {
    folio_mpr r = *map;
    uint32_t n = 0;
    FOLIO_ASSERT(count >= 1);
    FOLIO_ASSERT(count <= FOLIO_MPR_FIND_KEYS_MAX);
#ifndef NDEBUG
    for (size_t j = 1; j < count; j++) /* distinct: a pair is the value of one key at most */
        for (size_t i = 0; i < j; i++) FOLIO_ASSERT(!key_is(keys[i].s, keys[i].n, &keys[j]));
#endif
    const uint32_t all = (1u << count) - 1u;
    uint32_t found = 0;
    for (size_t j = 0; j < count; j++) vals[j] = (folio_mpr){NULL, r.end};
    int rc = folio_mpr__map(&r, &n);
    if (rc < 0) return rc;
    for (uint32_t i = 0; i < n && found != all; i++) {
        const char *s;
        size_t len;
        if (!take_key(&r, &s, &len)) continue;
        /* A writer that writes the keys in the order asked for (the engine's) has the i-th
         * key at the i-th pair: tried first, then the others. */
        size_t j = i < count ? i : 0;
        if (!key_is(s, len, &keys[j]))
            for (j = 0; j < count && !key_is(s, len, &keys[j]); j++) {}
        if (j < count && !(found >> j & 1u)) { /* the first pair with the key only */
            vals[j].p = r.p;
            found |= 1u << j;
        }
        mpr_next(&r.p);
    }
    return FOLIO_OK;
}
