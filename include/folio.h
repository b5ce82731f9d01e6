/*
 * folio.h - the public API of folio, an embedded, event-sourced customer ledger.
 *
 * Thread safety: a folio_db may be shared by any number of threads; writes are serialised
 * inside the handle, reads run in parallel and never block the writer. Every other object
 * (an iterator) belongs to the thread that created it. The error detail returned by
 * folio_errmsg() is per thread. No handle survives fork(): open the ledger again in the child.
 * One folio_db per ledger file per process (an LMDB rule): a second open of the same file
 * in the same process is refused with FOLIO_EINVAL.
 *
 * Conventions: functions return 0 (FOLIO_OK) or a negative folio_error; outputs come first;
 * objects returned through `**out` belong to the caller and have one release function that
 * accepts NULL; `const T **` outputs are borrowed and state their lifetime. Money is never a
 * floating-point number anywhere in this API.
 */
#ifndef FOLIO_H
#define FOLIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FOLIO_API __attribute__((visibility("default")))
#else
#define FOLIO_API
#endif

#define FOLIO_VERSION_MAJOR 0
#define FOLIO_VERSION_MINOR 1
#define FOLIO_VERSION_PATCH 0
#define FOLIO_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------------------
 * Errors. Values are frozen (append only).
 * ------------------------------------------------------------------------------------- */
typedef enum {
    FOLIO_OK = 0,
    FOLIO_ERROR = -1,     /* storage or system failure (I/O error, out of memory, ...) */
    FOLIO_ENOTFOUND = -2, /* no such ledger, stream or record */
    FOLIO_EEXISTS = -3,   /* already exists; an idempotency key reused for other content */
    FOLIO_ECONFLICT = -4, /* the caller's expected version is stale */
    FOLIO_EINVAL = -5,    /* bad argument or malformed input */
    FOLIO_ELIMIT = -6,    /* a documented limit was exceeded (the message names it) */
    FOLIO_ECORRUPT = -7,  /* stored bytes failed a check (the message names seq and check) */
    FOLIO_EFULL = -8,     /* the disk is full or unwritable; nothing was written */
    FOLIO_ITEROVER = -9,  /* end of iteration, not a failure */
    FOLIO_EFORMAT = -10   /* not a folio ledger, or written by a newer folio */
} folio_error;

/** Static text for an error code; never NULL. */
FOLIO_API const char *folio_strerror(int rc);

/**
 * Detail of this thread's last failure ("expected version 3 of stream 7, found 4").
 * Lifetime: until the next folio call on this thread. Never NULL (empty when none).
 */
FOLIO_API const char *folio_errmsg(void);

/* ---------------------------------------------------------------------------------------
 * Limits (mirrored from engine/limits.h; see docs/LIMITS.md). Each is inclusive.
 * ------------------------------------------------------------------------------------- */
#define FOLIO_EVENT_BYTES_MAX (64u * 1024u)          /* one encoded event frame */
#define FOLIO_PAYLOAD_BYTES_MAX (48u * 1024u)        /* one event's msgpack payload */
#define FOLIO_ACTOR_BYTES_MAX 128u                   /* actor name */
#define FOLIO_REASON_BYTES_MAX 1024u                 /* free-text reason */
#define FOLIO_CORRELATION_BYTES_MAX 128u             /* correlation id */
#define FOLIO_IDEMPOTENCY_KEY_BYTES_MAX 128u         /* idempotency key */
#define FOLIO_BATCH_EVENTS_MAX 10000u                /* events in one atomic append */
#define FOLIO_PAYLOAD_DEPTH_MAX 16u                  /* nesting of maps and arrays in a payload */

/* ---------------------------------------------------------------------------------------
 * Event types: the stable catalog of SPEC section 2. Ids are frozen (append only).
 * ------------------------------------------------------------------------------------- */
typedef enum {
    FOLIO_EV_LEDGER_CONFIGURED = 1,
    FOLIO_EV_CUSTOMER_CREATED = 10,
    FOLIO_EV_CUSTOMER_CURRENCY_SET = 11,
    FOLIO_EV_CUSTOMER_UPDATED = 12,
    FOLIO_EV_CUSTOMER_OWNER_CHANGED = 13,
    FOLIO_EV_CUSTOMER_STATUS_CHANGED = 14,
    FOLIO_EV_CUSTOMER_CONTACT_ADDED = 15,
    FOLIO_EV_CUSTOMER_CONTACT_REMOVED = 16,
    FOLIO_EV_CUSTOMER_NOTE_ADDED = 17,
    FOLIO_EV_CUSTOMER_MERGED_INTO = 18,
    FOLIO_EV_CUSTOMER_MERGED_FROM = 19,
    FOLIO_EV_INVOICE_ISSUED = 30,
    FOLIO_EV_CREDIT_NOTE_ISSUED = 31,
    FOLIO_EV_PAYMENT_RECEIVED = 32,
    FOLIO_EV_ALLOCATION_MADE = 33,
    FOLIO_EV_REFUND_ISSUED = 34,
    FOLIO_EV_CREDIT_HOLD_PLACED = 40,
    FOLIO_EV_CREDIT_HOLD_RELEASED = 41
} folio_event_type;

/** Wire name of an event type ("invoice.issued"), or NULL for an id not in the catalog. */
FOLIO_API const char *folio_event_type_name(uint32_t type);

/**
 * Event type id for a wire name.
 * @return FOLIO_OK, or FOLIO_ENOTFOUND for a name not in the catalog.
 */
FOLIO_API int folio_event_type_parse(uint32_t *type_out, const char *name);

/* ---------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------- */

/*
 * One event. On append the caller fills stream, type, schema, actor, the optional strings
 * and the payload; seq, version, recorded_at_us and idempotency_key are assigned by the
 * engine and ignored on input. On read every field is filled; absent optional strings are NULL.
 * Strings are NUL-terminated UTF-8. The payload is a msgpack map (see docs/FORMAT.md).
 */
typedef struct folio_event {
    uint64_t seq;                /* global position, dense from 1 */
    uint64_t stream;             /* customer id; 0 is the ledger's own stream */
    uint64_t version;            /* position within the stream, dense from 1 */
    uint32_t type;               /* folio_event_type */
    uint32_t schema;             /* payload schema version of this type, >= 1 */
    int64_t recorded_at_us;      /* UTC microseconds since 1970, never decreasing */
    const char *actor;           /* who: required, 1..FOLIO_ACTOR_BYTES_MAX bytes */
    const char *reason;          /* why: optional */
    const char *correlation;     /* optional id tying events of one business operation */
    const char *idempotency_key; /* read only: the key of the append that wrote it */
    const void *payload;         /* msgpack map, at most FOLIO_PAYLOAD_BYTES_MAX bytes */
    size_t payload_bytes;
} folio_event;

/* ---------------------------------------------------------------------------------------
 * Opening a ledger
 * ------------------------------------------------------------------------------------- */
typedef struct folio_db folio_db;
typedef struct folio_iter folio_iter;

typedef struct {
    unsigned version;   /* FOLIO_OPEN_OPTS_VERSION */
    uint64_t map_bytes; /* initial map size; 0 = default. The map grows by itself when full. */
    int read_only;      /* 1: never writes; the ledger must exist (else FOLIO_ENOTFOUND).
                           Projections built by an older folio are not rebuilt: queries that
                           need them report FOLIO_EFORMAT until a read-write open. */
    int must_exist;     /* 1: do not create a missing ledger (FOLIO_ENOTFOUND instead) */
} folio_open_opts;
#define FOLIO_OPEN_OPTS_VERSION 1u
#define FOLIO_OPEN_OPTS_INIT {FOLIO_OPEN_OPTS_VERSION, 0, 0, 0}

/**
 * Open the ledger file at `path` (PATH and PATH-lock), creating it with mode 0600 when it
 * is missing (unless opts->read_only or opts->must_exist). A read-write open first brings
 * every projection up to date with the log. Stale reader slots of crashed processes are cleared.
 * @param[out] out   the handle; release with folio_db_close().
 * @param opts       NULL for defaults.
 * @return FOLIO_OK; FOLIO_ENOTFOUND (read-only open of a missing ledger; nothing created);
 *         FOLIO_EFORMAT (not a folio ledger, or a newer format); else FOLIO_ERROR.
 * Thread-safety: the returned handle may be shared by threads.
 */
FOLIO_API int folio_db_open(folio_db **out, const char *path, const folio_open_opts *opts);

/** Close a ledger. NULL is a no-op. Iterators of this handle must be freed first. */
FOLIO_API void folio_db_close(folio_db *db);

/* ---------------------------------------------------------------------------------------
 * Appending
 * ------------------------------------------------------------------------------------- */
typedef enum {
    FOLIO_EXPECT_ANY = 0,       /* no check */
    FOLIO_EXPECT_NO_STREAM = 1, /* the stream has no events yet */
    FOLIO_EXPECT_VERSION = 2    /* the stream's last version is exactly `version` */
} folio_expect_kind;

typedef struct {
    uint64_t stream;
    folio_expect_kind kind;
    uint64_t version;
} folio_expect;

/* One atomic append: all events are written in one transaction, or none is. */
typedef struct {
    const folio_event *events;
    size_t event_count;         /* 1..FOLIO_BATCH_EVENTS_MAX */
    const folio_expect *expects; /* checked against the state before the batch */
    size_t expect_count;
    const char *idempotency_key; /* optional; see folio_append() */
} folio_batch;

typedef struct {
    uint64_t first_seq; /* seq of the batch's first event */
    uint64_t last_seq;  /* seq of the batch's last event */
    int replayed;       /* 1: an idempotent repeat; nothing was appended */
} folio_append_result;

/**
 * Append a batch of events for one or more streams in one durable transaction, after
 * checking every expectation. Versions are assigned per stream in batch order; recorded_at
 * is the wall clock, raised to the last recorded value if the clock stepped back.
 * With an idempotency key: a repeat with the same content (stream, type, schema, actor,
 * reason, correlation and payload of every event) returns the original result with
 * replayed = 1 and appends nothing; the same key with different content is refused.
 * @return FOLIO_OK; FOLIO_ECONFLICT (an expectation failed; nothing written);
 *         FOLIO_EEXISTS (idempotency key used for different content); FOLIO_EINVAL or
 *         FOLIO_ELIMIT (bad event); FOLIO_EFULL (disk full); else FOLIO_ERROR.
 */
FOLIO_API int folio_append(folio_append_result *out, folio_db *db, const folio_batch *batch);

/** Append one event with no expectation and no key. @param[out] seq_out its seq. */
FOLIO_API int folio_event_append(uint64_t *seq_out, folio_db *db, const folio_event *event);

/* ---------------------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------------------- */

/**
 * Iterate the log in seq order from `from_seq` (0 or 1 = the start) to `to_seq` inclusive
 * (0 = the last event committed when the iterator is opened).
 * @return FOLIO_OK, FOLIO_EINVAL.
 */
FOLIO_API int folio_log_open(folio_iter **out, folio_db *db, uint64_t from_seq,
                             uint64_t to_seq);

/**
 * Iterate one stream's events in version order, reading only that stream's events.
 * `max_version` (0 = all) stops after that version; `at_seq` (0 = now) answers as known at
 * that seq: events with a larger seq are not returned.
 * @return FOLIO_OK, FOLIO_ENOTFOUND (the stream has no events, as known at at_seq).
 */
FOLIO_API int folio_stream_open(folio_iter **out, folio_db *db, uint64_t stream,
                                uint64_t max_version, uint64_t at_seq);

/**
 * Next event. Every event is checked (frame checksum, seq, stream, version) before it is
 * returned.
 * @param[out] event_out borrowed. Lifetime: until the next call on `iter` or its free.
 * @return FOLIO_OK, FOLIO_ITEROVER at the end, FOLIO_ECORRUPT naming the seq.
 */
FOLIO_API int folio_iter_next(const folio_event **event_out, folio_iter *iter);

/** Release an iterator. NULL is a no-op. */
FOLIO_API void folio_iter_free(folio_iter *iter);

/**
 * The last version of a stream (0 when it has no events).
 * @return FOLIO_OK, FOLIO_ERROR.
 */
FOLIO_API int folio_stream_version(uint64_t *version_out, folio_db *db, uint64_t stream);

/* ---------------------------------------------------------------------------------------
 * Payloads: msgpack maps, with JSON conversion for tools and embedders.
 * ------------------------------------------------------------------------------------- */

/**
 * Render a msgpack payload as one line of JSON (binary as base64 is not used: bin values
 * are rendered as lowercase hex strings). Integers stay integers.
 * @param[out] json_out NUL-terminated, release with folio_free().
 * @return FOLIO_OK, FOLIO_ECORRUPT (not valid msgpack), FOLIO_ELIMIT (larger than
 *         FOLIO_EVENT_BYTES_MAX), FOLIO_ERROR (out of memory).
 */
FOLIO_API int folio_payload_to_json(char **json_out, const void *payload, size_t payload_bytes);

/**
 * Encode a JSON object as a msgpack payload. Numbers must be integers (money is written
 * as decimal strings, never floats); nesting at most FOLIO_PAYLOAD_DEPTH_MAX.
 * @param[out] payload_out release with folio_free().
 * @return FOLIO_OK, FOLIO_EINVAL (not a JSON object, a real number, ...), FOLIO_ELIMIT.
 */
FOLIO_API int folio_payload_from_json(void **payload_out, size_t *payload_bytes_out,
                                      const char *json);

/** Release memory returned by folio. NULL is a no-op. */
FOLIO_API void folio_free(void *p);

/* ---------------------------------------------------------------------------------------
 * Money: int64 minor units plus an ISO 4217 code; text is a decimal string ("1234.50").
 * ------------------------------------------------------------------------------------- */
#define FOLIO_MONEY_TEXT_MAX 32u /* "-9223372036854775808" with a point, and the NUL */

/**
 * Minor-unit exponent of an active ISO 4217 currency (USD 2, JPY 0, BHD 3, CLF 4).
 * @return FOLIO_OK, FOLIO_ENOTFOUND (not an active ISO 4217 code; codes are upper case).
 */
FOLIO_API int folio_currency_exponent(unsigned *exponent_out, const char *code);

/**
 * Parse a decimal amount in a currency into minor units: an optional '-', digits, and at
 * most as many fraction digits as the currency has ("1234.5" is 123450 in USD). Nothing is
 * rounded: excess precision, other characters and int64 overflow are refused.
 * @return FOLIO_OK, FOLIO_EINVAL (the message says why).
 */
FOLIO_API int folio_money_parse(int64_t *minor_out, const char *text, const char *currency);

/**
 * Format minor units as a decimal string with exactly the currency's fraction digits.
 * @param out at least FOLIO_MONEY_TEXT_MAX bytes.
 * @return FOLIO_OK, FOLIO_ENOTFOUND (unknown currency), FOLIO_EINVAL (buffer too small).
 */
FOLIO_API int folio_money_format(char *out, size_t cap, int64_t minor, const char *currency);

/* ---------------------------------------------------------------------------------------
 * Integrity and statistics
 * ------------------------------------------------------------------------------------- */
#define FOLIO_HASH_BYTES 16u

typedef struct {
    uint64_t events;                  /* events checked */
    uint64_t streams;                 /* streams seen */
    uint8_t head[FOLIO_HASH_BYTES];   /* chain hash of the last event (zeros when empty) */
    uint64_t bad_seq;                 /* first bad seq on FOLIO_ECORRUPT, else 0 */
} folio_verify_report;

/**
 * Walk the whole log: recompute every chain hash, check every frame checksum and
 * envelope, seq and per-stream version gaps, the stream back-pointers and the stream index,
 * and the stored head. Reads a consistent snapshot; never blocks writers.
 * @return FOLIO_OK; FOLIO_ECORRUPT (report->bad_seq and folio_errmsg() name the first
 *         failure); else FOLIO_ERROR.
 */
FOLIO_API int folio_verify(folio_verify_report *report, folio_db *db);

typedef struct {
    uint32_t format;                 /* on-disk format version */
    uint64_t events;                 /* last seq */
    uint64_t streams;                /* streams with at least one event */
    uint8_t head[FOLIO_HASH_BYTES];  /* chain hash of the last event */
    int64_t last_recorded_at_us;     /* 0 when empty */
    uint64_t file_bytes;             /* size of the ledger file */
    uint64_t map_bytes;              /* current map size */
    uint64_t type_counts[64];        /* events per type id (ids >= 64 are not counted) */
} folio_stats;

/** Ledger statistics from one consistent snapshot. @return FOLIO_OK, FOLIO_ERROR. */
FOLIO_API int folio_stats_get(folio_stats *out, folio_db *db);

/** Lowercase hex of a chain hash into out[33] (NUL-terminated). */
FOLIO_API void folio_hash_hex(char out[2 * FOLIO_HASH_BYTES + 1], const uint8_t hash[FOLIO_HASH_BYTES]);

/* ---------------------------------------------------------------------------------------
 * Assertions: folio aborts on a broken internal invariant rather than write wrong money.
 * A host may install a hook that runs (e.g. to flush its own logs) before the abort.
 * ------------------------------------------------------------------------------------- */
typedef void (*folio_assert_hook)(const char *expr, const char *file, int line);
FOLIO_API void folio_set_assert_hook(folio_assert_hook hook);

#ifdef __cplusplus
}
#endif
#endif /* FOLIO_H */
