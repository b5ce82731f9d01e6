/*
 * engine/error.c - error codes, the per-thread failure message, and assertion failure.
 * The message is set where a failure is first seen; callers forward the code unchanged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static _Thread_local char errmsg_buf[FOLIO_ERRMSG_BYTES];
/* Where in folio's code the last corruption was detected ("frame.c:58"), for developers
 * (tests and debuggers); users see only the message. */
static _Thread_local char where_buf[64];
static folio_assert_hook assert_hook;

const char *folio_strerror(int rc) {
    switch (rc) {
    case FOLIO_OK: return "ok";
    case FOLIO_ERROR: return "storage or system error";
    case FOLIO_ENOTFOUND: return "not found";
    case FOLIO_EEXISTS: return "already exists";
    case FOLIO_ECONFLICT: return "conflict: expected version is stale";
    case FOLIO_EINVAL: return "invalid argument";
    case FOLIO_ELIMIT: return "limit exceeded";
    case FOLIO_ECORRUPT: return "integrity check failed";
    case FOLIO_EFULL: return "disk full or unwritable";
    case FOLIO_ITEROVER: return "end of iteration";
    case FOLIO_EFORMAT: return "not a folio ledger or unsupported format";
    case FOLIO_ERULE: return "refused by a rule";
    default: return "unknown error";
    }
}

const char *folio_errmsg(void) { return errmsg_buf; }

void folio_error__clear(void) {
    errmsg_buf[0] = '\0';
    where_buf[0] = '\0';
}

const char *folio_error__where(void) { return where_buf; }

void folio_error__save(char *saved) { memcpy(saved, errmsg_buf, strlen(errmsg_buf) + 1); }

void folio_error__restore(const char *saved) {
    size_t n = strnlen(saved, sizeof errmsg_buf - 1);
    memcpy(errmsg_buf, saved, n);
    errmsg_buf[n] = '\0';
}

/* A message cut at the end of its buffer (`cap` bytes; `n` is what vsnprintf wanted to write)
 * may end inside a UTF-8 sequence of a long argument quoted in it: drop that partial
 * character, so the message stays valid UTF-8 like every string of the API. */
static void cut_at_character(char *msg, size_t cap, int n) {
    if (n < 0 || (size_t)n < cap) return; /* not cut */
    const size_t kept = cap - 1;
    size_t i = kept; /* msg[i - 1]: the last character's first byte */
    while (i > 0 && kept - i < 4 && ((unsigned char)msg[i - 1] & 0xC0) == 0x80) i--;
    if (i == 0) return;
    const unsigned char b = (unsigned char)msg[i - 1];
    const size_t bytes = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    if (kept - (i - 1) < bytes) msg[i - 1] = '\0';
}

/* The length of the well-formed UTF-8 character at s (of `left` bytes), 0 when there is none
 * (a stray byte, a partial, overlong or surrogate sequence). */
static size_t utf8_char(const unsigned char *s, size_t left) {
    const unsigned char b = s[0];
    if (b < 0x80) return 1;
    const size_t n = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left) return 0;
    uint32_t cp = b & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A message quotes what it was given (a ref, a status, an amount), which may not be UTF-8:
 * each byte that is not part of a well-formed character becomes U+FFFD (as payloads rendered
 * as JSON do), as far as the buffer (`cap` bytes, at most FOLIO_ERRMSG_BYTES) holds. */
static void keep_utf8(char *msg, size_t cap) {
    const size_t len = strlen(msg);
    size_t i = 0, k;
    while (i < len && (k = utf8_char((const unsigned char *)msg + i, len - i)) > 0) i += k;
    if (i == len) return; /* valid: the usual case */
    FOLIO_ASSERT(cap <= FOLIO_ERRMSG_BYTES);
    char out[FOLIO_ERRMSG_BYTES];
    size_t o = 0;
    for (i = 0; i < len; i += k ? k : 1) {
        k = utf8_char((const unsigned char *)msg + i, len - i);
        const char *src = k ? msg + i : "\xEF\xBF\xBD";
        const size_t n = k ? k : 3;
        if (o + n > cap - 1) break;
        memcpy(out + o, src, n);
        o += n;
    }
    out[o] = '\0';
    memcpy(msg, out, o + 1);
}

/* Record the detail of a failure for this thread and return rc, so call sites read
 * `return folio_error__set(FOLIO_EINVAL, "...")`. */
int folio_error__set(int rc, const char *fmt, ...) {
    FOLIO_ASSERT(rc < 0);
    /* Format into a copy first: callers may pass folio_errmsg() itself as an argument
     * ("--as-of: %s") to add context to the message already set. */
    char msg[sizeof errmsg_buf];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cut_at_character(msg, sizeof msg, n);
    keep_utf8(msg, sizeof msg);
    memcpy(errmsg_buf, msg, sizeof msg);
    return rc;
}

/* Corruption names the seq, the failed check, and where in the code it was seen. */
int folio_error__corrupt(uint64_t seq, const char *file, int line, const char *fmt, ...) {
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cut_at_character(what, sizeof what, n);
    keep_utf8(what, sizeof what);
    const char *base = strrchr(file, '/');
    snprintf(where_buf, sizeof where_buf, "%s:%d", base ? base + 1 : file, line);
    snprintf(errmsg_buf, sizeof errmsg_buf, "corrupt event at seq %llu: %s",
             (unsigned long long)seq, what); /* fits: what is shorter than the buffer */
    return FOLIO_ECORRUPT;
}

void folio_set_assert_hook(folio_assert_hook hook) { assert_hook = hook; }

void folio_error__assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "folio: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    if (assert_hook) assert_hook(expr, file, line);
    abort();
}
