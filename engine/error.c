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
