/*
 * folio.h - the public API of folio, an embedded, event-sourced customer ledger.
 *
 * Thread safety: a folio_db may be shared by any number of threads; writes are serialised
 * inside the handle, reads run in parallel and never block the writer. Writes that arrive
 * from several threads at once are folded into one transaction and one sync (group
 * commit): each is still checked on its own, against the writes before it, and returns its
 * own result and message. Every other object
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
    FOLIO_ELIMIT = -6,    /* an engine limit was exceeded (the message names it); limits that
                             are business rules (a name's length) are FOLIO_ERULE, malformed
                             fields FOLIO_EINVAL */
    FOLIO_ECORRUPT = -7,  /* stored bytes failed a check (the message names seq and check) */
    FOLIO_EFULL = -8,     /* the disk is full or unwritable; nothing was written */
    FOLIO_ITEROVER = -9,  /* end of iteration, not a failure */
    FOLIO_EFORMAT = -10,  /* not a folio ledger, or written by a newer folio */
    FOLIO_ERULE = -11     /* refused by a business rule (the message names the rule) */
} folio_error;

/** Static text for an error code; never NULL. */
FOLIO_API const char *folio_strerror(int rc);

/**
 * Detail of this thread's last failure ("expected version 3 of stream 7, found 4"), never
 * another thread's; valid UTF-8, at most 511 bytes. Read it right after a call that failed:
 * a later successful call may leave it as it was.
 * Lifetime: until the next folio call on this thread. Never NULL.
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
                           Projections that are behind (built by an older folio, or a
                           rebuild that was killed half-way) are not brought up to date:
                           queries that need them report FOLIO_EFORMAT until a read-write
                           open (which finishes the rebuild). */
    int must_exist;     /* 1: do not create a missing ledger (FOLIO_ENOTFOUND instead) */
    int group_read;     /* 1: a new ledger is created data 0640, lock 0660 so that a group can
                           read it (readers write their slot into the lock file); else both
                           are 0600 */
    int allow_shared_write; /* 1: open a ledger file that group or others may write; by
                               default that is refused (FOLIO_ERROR), since anyone who can write
                               the file can rewrite the history */
    /* Since version 2. */
    uint64_t rebuild_cache_bytes; /* memory budget of the record cache while projections are
                                     folded again (folio_rebuild, the catch-up of a read-write
                                     open, folio_check's replay): a write transaction of the
                                     fold ends when the cache reaches it. 0 = 512 MiB; else 256 KiB to 64 GiB
                                     (FOLIO_REBUILD_CACHE_BYTES_MIN, _MAX) */
} folio_open_opts;
/* Version 2 added rebuild_cache_bytes; a caller built against version 1 passes 1 and a
 * struct without it, and gets the default. */
#define FOLIO_OPEN_OPTS_VERSION 2u
#define FOLIO_OPEN_OPTS_INIT {FOLIO_OPEN_OPTS_VERSION, 0, 0, 0, 0, 0, 0}
#define FOLIO_REBUILD_CACHE_BYTES_DEFAULT (512ull << 20)
#define FOLIO_REBUILD_CACHE_BYTES_MIN (256ull << 10)
#define FOLIO_REBUILD_CACHE_BYTES_MAX (64ull << 30)

/**
 * Open the ledger file at `path` (PATH and PATH-lock), creating it with mode 0600 when it
 * is missing (unless opts->read_only or opts->must_exist). A read-write open first brings
 * every projection up to date with the log. Stale reader slots of crashed processes are cleared.
 * @param[out] out   the handle; release with folio_db_close().
 * @param opts       NULL for defaults.
 * A new ledger is built complete under a private name beside PATH and then linked into
 * place, so a creation that fails (disk full, a kill) leaves nothing at PATH.
 * @return FOLIO_OK; FOLIO_ENOTFOUND (read-only open of a missing ledger; nothing created);
 *         FOLIO_EFORMAT (not a folio ledger, or a newer format); FOLIO_ECORRUPT (damaged:
 *         truncated, or LMDB's meta pages disagree); FOLIO_EFULL; else FOLIO_ERROR.
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
 *         FOLIO_ELIMIT (bad event: also a control character, C0, DEL or C1, in an actor,
 *         reason, correlation or the key); FOLIO_EFULL (disk full); else FOLIO_ERROR.
 */
FOLIO_API int folio_append(folio_append_result *out, folio_db *db, const folio_batch *batch);

/**
 * Run `fn` as one durable batch: every write call `fn` makes on `db` from this thread (any
 * command, or folio_append) joins one write transaction. A write is checked before it
 * writes anything, so a write that is refused (a rule, an expectation, a bad argument)
 * leaves the batch and the other writes as they were; the batch is committed (one sync) when
 * `fn` returns FOLIO_OK — or thrown away when `dry_run` is set or `fn` returns an error. A
 * write that fails after it began writing (a storage error, or a raw folio_append event
 * that a read model refuses) spoils the batch: later writes in it fail, and the batch
 * returns that error with nothing of it committed. Queries inside `fn` do not see the batch's writes; writes do (a name
 * taken earlier in the batch is taken). If the map fills up, the batch is thrown away, the map
 * grows and `fn` runs again from the start, so `fn` must be able to run twice (a return of
 * FOLIO__EMAPFULL never reaches the caller). Batches do not nest; the handle's other writers
 * wait for the batch.
 * @return what `fn` returned, or FOLIO_EFULL, FOLIO_ERROR.
 */
FOLIO_API int folio_batch_run(folio_db *db, int (*fn)(folio_db *db, void *arg), void *arg,
                              int dry_run);

/** Append one event with no expectation and no key. @param[out] seq_out its seq. */
FOLIO_API int folio_event_append(uint64_t *seq_out, folio_db *db, const folio_event *event);

/* ---------------------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------------------- */

/**
 * Iterate the log in seq order from `from_seq` (0 or 1 = the start) to `to_seq` inclusive
 * (0 = the last event committed when the iterator is opened).
 * @return FOLIO_OK, FOLIO_EINVAL, else a storage error (FOLIO_ERROR, FOLIO_ECORRUPT).
 */
FOLIO_API int folio_log_open(folio_iter **out, folio_db *db, uint64_t from_seq,
                             uint64_t to_seq);

/**
 * Iterate one stream's events in version order, reading only that stream's events.
 * `max_version` (0 = all) stops after that version; `at_seq` (0 = now) answers as known at
 * that seq: events after it are not returned, except those of the command (or append batch)
 * that wrote event at_seq, whose effects are atomic: the answer is as known at the end of
 * that command (folio_command_bounds). An at_seq past the log's last seq is refused, since
 * the answer would change once that seq is written.
 * @return FOLIO_OK, FOLIO_ENOTFOUND (the stream has no events, as known at at_seq),
 *         FOLIO_EINVAL (at_seq past the last seq, or a NULL argument).
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

/** Release an iterator (before closing the handle it came from). NULL is a no-op. */
FOLIO_API void folio_iter_free(folio_iter *iter);

/**
 * Where a command ends: how many events of the same command (or folio_append batch) follow
 * the event last returned by folio_iter_next() (envelope key 13). 0 for the last event of a
 * command, and for every event of a ledger written before folio recorded command marks
 * (each event was then its own command). 0 for a NULL iter.
 */
FOLIO_API uint32_t folio_iter_command_follows(const folio_iter *iter);

/**
 * The command (or folio_append batch, or one command of a folio_batch_run) that wrote event
 * `seq`: its first and last seq. On a ledger written before command marks every event is
 * its own command (first = last = seq).
 * @return FOLIO_OK, FOLIO_EINVAL (seq 0 or past the last seq), FOLIO_ECORRUPT (a damaged mark).
 */
FOLIO_API int folio_command_bounds(uint64_t *first_out, uint64_t *last_out, folio_db *db,
                                   uint64_t seq);

/** The chain hash of the event last returned by folio_iter_next() (zeros for a NULL iter). */
FOLIO_API void folio_iter_chain(uint8_t out[16], const folio_iter *iter);
/** The request hash the event's idempotency key was used for: 1, or 0 (out zeroed) when
 * none; FOLIO_EINVAL for a NULL argument. */
FOLIO_API int folio_iter_request_hash(uint8_t out[16], const folio_iter *iter);

/* One event of an export, to be restored exactly (folio_restore_append). */
typedef struct {
    folio_event event;            /* every field, seq, version and recorded_at_us included;
                                     event.idempotency_key is restored too */
    const uint8_t *request_hash;  /* 16 bytes with an idempotency key, else NULL */
    const uint8_t *chain;         /* 16 bytes: the chain hash the event must get, or NULL */
    uint32_t command_follows;     /* its command mark as exported (folio_iter_command_follows):
                                     0, or the events of its command after it, which must
                                     follow it with marks counting down to 0 */
} folio_restore_item;

/**
 * Append exported events exactly as they were (same seq, version, recorded_at, actor,
 * payload, idempotency key and request hash), in one transaction, folding every projection.
 * items[0].event.seq must follow the last seq; versions must follow each stream's; recorded_at
 * never decreases; when `chain` is given the event's new chain hash must equal it. So a ledger
 * restored from a complete export has the original's head hash.
 * Command marks must count down from one item to the next, across calls too; the items may
 * end inside a command (the rest goes in with the next call), but a ledger left so fails
 * verify (its last event's mark points past the log) until the rest is restored.
 * @return FOLIO_OK; FOLIO_ECONFLICT (seq or version out of order); FOLIO_ECORRUPT (a chain
 *         hash differs, or a command mark does not count down: the export was altered);
 *         FOLIO_EINVAL (a malformed event).
 */
FOLIO_API int folio_restore_append(folio_db *db, const folio_restore_item *items, size_t n);

/* A keyed request that changed nothing (rule 11): its key is taken, and a repeat is answered
 * with the event the original answer named, appending nothing. The idempotency index keeps
 * it; no event carries the key. */
typedef struct {
    const char *idempotency_key;
    const uint8_t *request_hash; /* 16 bytes */
    uint64_t seq;                /* the event the answer named */
} folio_idem_answer;

/**
 * Call fn for every recorded answer of a keyed request that changed nothing, in key order,
 * from one snapshot (an export writes them after its events: docs/EXPORT.md). A non-zero return of fn stops
 * the walk and is returned.
 * Lifetime: the answer's strings until fn returns.
 * @return FOLIO_OK, FOLIO_ECORRUPT (a malformed idempotency record), fn's return.
 */
FOLIO_API int folio_idem_answers(folio_db *db,
                                 int (*fn)(void *payload, const folio_idem_answer *answer),
                                 void *payload);

/**
 * Record exported answers (folio_idem_answers) in a ledger being restored, in one
 * transaction: each names an event the ledger holds and a key it has not recorded.
 * @return FOLIO_OK; FOLIO_EINVAL (a missing field, a malformed key, a seq past the last
 *         event); FOLIO_ECORRUPT (the key is recorded already: the export was altered);
 *         FOLIO_ELIMIT (more than FOLIO_BATCH_EVENTS_MAX answers in one call).
 */
FOLIO_API int folio_restore_answers(folio_db *db, const folio_idem_answer *answers, size_t n);

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
 * The customer master: writes through the rules (SPEC sections 3 and 4).
 * Every write runs in one transaction that appends its events and folds every projection;
 * a refused write appends nothing. Customers are named by their ref ("CUST-000001").
 * ------------------------------------------------------------------------------------- */
#define FOLIO_NAME_BYTES_MAX 200u  /* customer name, after trimming */
#define FOLIO_REF_BYTES_MAX 64u    /* customer ref: letters, digits and - _ . / */
#define FOLIO_FIELD_BYTES_MAX 200u /* owner, external id, address and contact fields */
#define FOLIO_NOTE_BYTES_MAX 4096u /* a note's text */
#define FOLIO_CONTACTS_MAX 256u    /* contacts of one customer */

/* Options every write takes. The four strings are valid UTF-8 without control characters
 * (C0, DEL, C1: FOLIO_EINVAL naming the field), as folio_append() requires of its events. */
typedef struct {
    const char *actor;           /* required: who */
    const char *reason;          /* optional: why */
    const char *correlation;     /* optional */
    const char *idempotency_key; /* optional: a repeat with the same request appends nothing */
    int has_expected_version;    /* 1: refuse (FOLIO_ECONFLICT) unless the customer's version */
    uint64_t expected_version;   /*    is expected_version before the write */
} folio_write_opts;

typedef struct {
    uint64_t id;                        /* customer id (0: the ledger's settings) */
    char ref[FOLIO_REF_BYTES_MAX + 1];  /* customer ref ("" for settings) */
    uint64_t seq;          /* seq of the last event written (of the original, on a repeat) */
    uint64_t version;      /* the customer's version after the write */
    uint64_t item_id;      /* the id of a contact added or removed */
    char doc[65];          /* the document number written (invoice, payment, ...) */
    int replayed;          /* 1: an idempotent repeat; nothing appended */
    int unchanged;         /* 1: nothing to change (same status again, ...); nothing appended */
    int existed;           /* upsert and import: the customer or document was already there */
} folio_write_result;

typedef struct {
    const char *street, *city, *region, *postcode, *country;
} folio_address;

/* A new customer. Only the name is required. */
typedef struct {
    const char *name;
    const char *type;         /* "person" or "business" (default) */
    const char *status;       /* "prospect" (default) or "active" */
    const char *currency;     /* ISO 4217; default the ledger's base currency */
    const char *credit_limit; /* decimal string in the currency; NULL = no limit */
    const char *owner;
    const char *ref;          /* NULL: the ledger's prefix plus a zero-padded counter */
    const char *external_id;
    folio_address billing, shipping;
} folio_customer_new;

/* Changes to a customer: NULL leaves a field as it is; "" clears an optional one. */
typedef struct {
    const char *name, *type, *credit_limit, *external_id;
    const char *currency; /* always refused: a customer's currency never changes */
    folio_address billing, shipping;
} folio_customer_changes;

typedef struct {
    const char *name; /* required */
    const char *email, *phone, *role;
} folio_contact_new;

/* Ledger settings for folio_ledger_init(): NULL leaves a setting as it is. */
typedef struct {
    const char *base_currency;  /* fixed once the first customer exists */
    const char *ref_prefix;     /* fixed once the first customer exists */
    const char *credit_control; /* none | limit | past-due | both */
    const char *on_hold_policy; /* allow-nothing | pending-orders | cash-sales |
                                   pending-orders-and-cash-sales */
} folio_settings_new;

/**
 * Create a customer (customer.created and customer.currency_set in one transaction; on a
 * ledger without settings, ledger.configured with the defaults first).
 * @return FOLIO_OK; FOLIO_ERULE (a rule of SPEC section 3: name taken, ref used, ...);
 *         FOLIO_EINVAL (malformed input); else as folio_append().
 */
FOLIO_API int folio_customer_create(folio_write_result *out, folio_db *db,
                                    const folio_write_opts *w, const folio_customer_new *c);
/**
 * Change fields; only changed fields are recorded (customer.updated). No change: unchanged.
 * A changed credit limit re-runs credit control by limit against the balance (a hold placed or
 * released in the same transaction).
 */
FOLIO_API int folio_customer_update(folio_write_result *out, folio_db *db,
                                    const folio_write_opts *w, const char *ref,
                                    const folio_customer_changes *c);
/** Move along the status table of SPEC rule 4; the same status again is unchanged. */
FOLIO_API int folio_customer_set_status(folio_write_result *out, folio_db *db,
                                        const folio_write_opts *w, const char *ref,
                                        const char *status);
/** Make `owner` the customer's owner (customer.owner_changed). */
FOLIO_API int folio_customer_set_owner(folio_write_result *out, folio_db *db,
                                       const folio_write_opts *w, const char *ref,
                                       const char *owner);
/** Add a contact; out->item_id is its id (per customer, from 1, never reused). */
FOLIO_API int folio_contact_add(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                                const char *ref, const folio_contact_new *c);
/** Remove a contact by id. @return ... FOLIO_ENOTFOUND (no such contact). */
FOLIO_API int folio_contact_remove(folio_write_result *out, folio_db *db,
                                   const folio_write_opts *w, const char *ref,
                                   uint64_t contact_id);
/** Add a note (at most FOLIO_NOTE_BYTES_MAX bytes). */
FOLIO_API int folio_note_add(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                             const char *ref, const char *text);
/**
 * Merge `delete_ref` into `keep_ref` in one transaction (SPEC rule 6): the DELETE side's
 * open documents (at most FOLIO_MERGE_DOCUMENTS_MAX) and balance move to KEEP; DELETE gets
 * customer.merged_into and status deleted; KEEP gets one customer.contact_added for each of
 * DELETE's contacts (with new ids), then customer.merged_from. w->expected_version applies to KEEP;
 * `delete_expected_version` (when has_delete_expected_version) to DELETE. The result names
 * KEEP.
 */
FOLIO_API int folio_customer_merge(folio_write_result *out, folio_db *db,
                                   const folio_write_opts *w, const char *keep_ref,
                                   const char *delete_ref, int has_delete_expected_version,
                                   uint64_t delete_expected_version);
typedef enum {
    FOLIO_ON_EXISTING_SKIP = 0,   /* leave it as it is (out->unchanged) */
    FOLIO_ON_EXISTING_UPDATE = 1, /* record the fields that differ (customer.updated, owner) */
    FOLIO_ON_EXISTING_ERROR = 2   /* refuse: FOLIO_ERULE */
} folio_on_existing;

/**
 * Create a customer unless it exists — found by ref, else by external id, else by exact name
 * — and then act as `on_existing` says (out->existed = 1). An update records only fields that
 * differ: name, type, credit limit, external id, addresses (customer.updated) and owner; a
 * different currency is refused (rule 3); a status given moves as folio_customer_set_status
 * would (rule 4, rule 5; the same status: nothing). With `contact` (may be NULL) a new
 * customer gets that contact in the same transaction; it needs a name (FOLIO_EINVAL). Under
 * FOLIO_ON_EXISTING_UPDATE an existing customer must have a contact with its email and phone
 * (those given) already, else FOLIO_ERULE: an update does not add or change contacts.
 * Under every on_existing, FOLIO_ERULE: a ref of a deleted or merged-away customer (rule 7,
 * "... was merged into REF"), a ref that is not the one of the customer found by
 * external id or name ("ref B2 conflicts with the row's name 'Acme', which is A1's"), and an
 * external id or name that is another customer's than the one the row's ref (or external
 * id) found ("the row names two customers: B2 (found by its ref) and another ...").
 * This is one row of `folio import customers`: run it inside folio_batch_run() for batched
 * commits.
 */
FOLIO_API int folio_customer_upsert(folio_write_result *out, folio_db *db,
                                    const folio_write_opts *w, const folio_customer_new *c,
                                    const folio_contact_new *contact,
                                    folio_on_existing on_existing);

/** Record ledger settings (ledger.configured). No change: unchanged. */
FOLIO_API int folio_ledger_init(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                                const folio_settings_new *s);

/* The ledger's current settings (defaults until the first ledger.configured). */
typedef struct {
    char base_currency[4];
    char ref_prefix[FOLIO_REF_BYTES_MAX + 1];
    char credit_control[16];
    char on_hold_policy[40];
    int configured; /* 1 once a ledger.configured event exists */
} folio_settings;
FOLIO_API int folio_settings_get(folio_settings *out, folio_db *db);

/* ---------------------------------------------------------------------------------------
 * Receivables: documents, allocation, credit control (SPEC rules 8-10, section 4).
 * Amounts are decimal strings in the customer's currency; dates "YYYY-MM-DD".
 * ------------------------------------------------------------------------------------- */
#define FOLIO_DOC_BYTES_MAX 64u    /* document number: letters, digits and - _ . / */
#define FOLIO_ALLOCATIONS_MAX 200u /* allocations one command may write */
#define FOLIO_MERGE_DOCUMENTS_MAX 1000u /* open documents one merge may move */

typedef struct {
    const char *amount; /* required: > 0, at most the currency's decimals */
    const char *doc;    /* NULL: generated (INV-000001, CN-000001, PAY-000001, RF-000001) */
    const char *date;   /* NULL: today (UTC) */
    const char *due;    /* invoices only; NULL: the date */
} folio_document_new;

typedef struct {
    const char *invoice; /* an open invoice of the same customer */
    const char *amount;  /* NULL: as much as both documents allow */
} folio_apply;

/** Issue an invoice (rule 8: status prospect, active or hold). out->doc is its number. */
FOLIO_API int folio_invoice_issue(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                                  const char *ref, const folio_document_new *d);
/** Issue a credit note (any customer that is not deleted). */
FOLIO_API int folio_credit_note_issue(folio_write_result *out, folio_db *db,
                                      const folio_write_opts *w, const char *ref,
                                      const folio_document_new *d);
/**
 * Receive a payment and, in the same transaction, allocate it: to the listed invoices, and
 * with `auto_allocate` what is left to the oldest open invoices (by date, then seq).
 */
FOLIO_API int folio_payment_receive(folio_write_result *out, folio_db *db,
                                    const folio_write_opts *w, const char *ref,
                                    const folio_document_new *d, const folio_apply *applies,
                                    size_t apply_count, int auto_allocate);
/**
 * Allocate a payment or credit note (`from_doc`) to an invoice (rule 9: at most what is open
 * on both), or with `to_invoice` NULL and `auto_allocate` to the oldest open invoices.
 * `amount`: at most that much in all (with `auto_allocate` too); NULL: as much as possible.
 * `date` NULL: today; not before either document.
 */
FOLIO_API int folio_allocate(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                             const char *ref, const char *from_doc, const char *to_invoice,
                             const char *amount, const char *date, int auto_allocate);
/** Refund out of a payment's or credit note's unallocated amount (rule 9). */
FOLIO_API int folio_refund_issue(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                                 const char *ref, const char *from_doc,
                                 const folio_document_new *d);

/**
 * Issue a document of kind "invoice", "credit_note" or "payment" unless a document of that
 * kind with number d->doc (required) exists: if it belongs to the same customer with the same
 * amount, and the same date and due where d gives them (a date or due d leaves NULL is not
 * compared), nothing is written (out->existed, out->unchanged); otherwise FOLIO_ERULE.
 * One row of `folio import documents`.
 */
FOLIO_API int folio_document_import(folio_write_result *out, folio_db *db,
                                    const folio_write_opts *w, const char *kind,
                                    const char *ref, const folio_document_new *d);

typedef struct {
    uint64_t placed, released; /* credit_hold events written */
    uint64_t on_hold;          /* customers on a past-due hold afterwards */
} folio_credit_check_result;
/**
 * Past-due credit control (settings past-due or both): place a hold on every customer with
 * an open invoice due before `as_of` (NULL: today), release the others. Actor
 * "credit-control". Runs in passes of one transaction each: on an error, the passes before it
 * stay committed and `out` counts them (out is zero when the first pass fails).
 * @return FOLIO_OK, FOLIO_ERULE (credit control does not include past-due), FOLIO_EINVAL (an
 *         idempotency key or an expected version in w: one cannot stand for holds written to
 *         many customers in several transactions).
 */
FOLIO_API int folio_credit_check(folio_credit_check_result *out, folio_db *db,
                                 const folio_write_opts *w, const char *as_of);

/* ---------------------------------------------------------------------------------------
 * The customer master: queries. Returned objects are one allocation each; strings are
 * NUL-terminated UTF-8 and NULL when absent.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    uint64_t id;
    const char *name, *email, *phone, *role;
} folio_contact;

typedef struct folio_customer {
    uint64_t id;
    const char *ref, *name, *type, *status, *currency, *owner, *external_id;
    const char *credit_limit;       /* decimal string, NULL = no limit */
    const char *balance;            /* decimal string: invoices - credits - payments + refunds;
                                       NULL while the customer has no currency (as known at a
                                       seq between a creation's first event and its
                                       customer.currency_set) */
    folio_address billing, shipping;
    const folio_contact *contacts;  /* contact_count of them, in id order */
    size_t contact_count;
    int on_hold;                    /* hold_reasons non-empty */
    const char *const *hold_reasons; /* "status", "credit_limit", "past_due"; hold_count */
    size_t hold_count;
    uint64_t version;               /* the customer's stream version */
    uint64_t documents;             /* financial documents recorded */
    int deleted;                    /* deleted or merged away */
    uint64_t deleted_seq;           /* seq of the deletion (0 if not deleted) */
    int64_t deleted_at_us;
    const char *merged_into;        /* ref of the KEEP side, or NULL */
    uint64_t at_seq;                /* folio_customer_get: the seq the card is as known at
                                       (the head for at_seq 0; else the end of the command
                                       that wrote the seq asked); 0 from lists and find */
} folio_customer;

/**
 * The customer card. `at_seq` 0: now; otherwise as known at that seq (replayed from the
 * customer's events): at the end of the command that wrote event at_seq (a creation is
 * customer.created then customer.currency_set; a merge writes to both customers), never
 * half-way through one; out->at_seq says which seq that is. An at_seq past the log's last
 * seq is FOLIO_EINVAL (the answer would change once it is written). A deleted or
 * merged-away customer is FOLIO_ENOTFOUND, with a message
 * saying so ("CUST-000002 was deleted: merged into CUST-000001"), unless `include_deleted`.
 * @param[out] out release with folio_customer_free().
 * @return FOLIO_OK, FOLIO_ENOTFOUND, FOLIO_EINVAL.
 */
FOLIO_API int folio_customer_get(folio_customer **out, folio_db *db, const char *ref,
                                 uint64_t at_seq, int include_deleted);
/** Exact-match lookup by name (after trimming) among customers that are not deleted;
 * FOLIO_EINVAL for a name blank after trimming. */
FOLIO_API int folio_customer_find(folio_customer **out, folio_db *db, const char *name);
FOLIO_API void folio_customer_free(folio_customer *c);

typedef struct {
    size_t count;
    folio_customer **items;
} folio_customer_list;

#define FOLIO_LIST_PROSPECT 1u
#define FOLIO_LIST_ACTIVE 2u
#define FOLIO_LIST_HOLD 4u
#define FOLIO_LIST_INACTIVE 8u
#define FOLIO_LIST_DEFAULT (FOLIO_LIST_PROSPECT | FOLIO_LIST_ACTIVE | FOLIO_LIST_HOLD)
#define FOLIO_LIST_ALL (FOLIO_LIST_DEFAULT | FOLIO_LIST_INACTIVE)

/**
 * Customers that are not deleted, whose status is in `statuses` (FOLIO_LIST_* bits; 0 =
 * FOLIO_LIST_DEFAULT, which hides inactive ones) and whose name matches `pattern` (NULL =
 * all; `*` and `?` wildcards, case-insensitive), in name order.
 */
FOLIO_API int folio_customer_list_get(folio_customer_list **out, folio_db *db, unsigned statuses,
                                      const char *pattern);
/**
 * The deleted-document lookup: deleted and merged-away customers whose name matches
 * `pattern` (NULL = all), in order of deletion.
 */
FOLIO_API int folio_deleted_list_get(folio_customer_list **out, folio_db *db,
                                     const char *pattern);
FOLIO_API void folio_customer_list_free(folio_customer_list *list);

/**
 * The events of one customer, by ref, in version order; works for deleted and merged-away
 * customers (the audit trail). @return FOLIO_OK, FOLIO_ENOTFOUND (no such ref).
 */
FOLIO_API int folio_history_open(folio_iter **out, folio_db *db, const char *ref);

/**
 * The field-level changes an event made, as a JSON object {"field":[old,new],...}, or NULL
 * in *json_out for an event that changes no field of the customer card.
 * @return FOLIO_OK, FOLIO_ECORRUPT (payload unreadable), FOLIO_ERROR.
 */
FOLIO_API int folio_event_changes_json(char **json_out, const folio_event *event);

/* ---------------------------------------------------------------------------------------
 * Statements and admission
 * ------------------------------------------------------------------------------------- */
typedef struct {
    const char *date, *doc, *kind; /* kind: invoice, credit_note, payment */
    const char *amount, *open;     /* credit notes and payments negative */
    const char *due;               /* invoices; NULL otherwise */
    int64_t days_overdue;          /* invoices: days past due as of the statement date, >= 0 */
    int64_t amount_minor, open_minor;
    uint64_t seq;                  /* the event that issued it */
} folio_statement_line;

enum { FOLIO_AGING_CURRENT, FOLIO_AGING_1_30, FOLIO_AGING_31_60, FOLIO_AGING_61_90,
       FOLIO_AGING_90_PLUS, FOLIO_AGING_BUCKETS };

typedef struct {
    const char *ref, *name, *currency;
    const char *as_of;            /* the business date it is as of */
    const char *from;             /* NULL unless asked */
    const char *opening_balance;  /* with from: what is still open (as of as_of) of the documents
                                     dated before it: brought forward, not the balance at from */
    const char *total_open;       /* opening balance + the open of every line */
    const char *aging[FOLIO_AGING_BUCKETS];
    int64_t opening_balance_minor, total_open_minor, aging_minor[FOLIO_AGING_BUCKETS];
    const folio_statement_line *lines; /* oldest first (date, then seq) */
    size_t line_count;
    uint64_t at_seq;              /* as known at this seq: the head when not asked, else the
                                     end of the command that wrote the seq asked */
} folio_statement;

/**
 * The statement of a customer (SPEC section 5): open invoices, open credit notes and
 * unallocated payments as of business date `as_of` (NULL: today) — documents, allocations and
 * refunds dated after it do not count — as known at seq `at_seq` (0: now; else at the end of
 * the command that wrote it, as folio_customer_get; past the last seq: FOLIO_EINVAL). With `from`, the
 * lines are the open documents dated from it on, and what is still open of older ones is
 * the opening balance. Aging buckets add up to the total. Replayed from the customer's events
 * (and, for documents merged in, the merged customer's).
 * @return FOLIO_OK, FOLIO_ENOTFOUND (no such customer, or deleted), FOLIO_EINVAL (bad date,
 *         or at_seq past the last seq).
 */
FOLIO_API int folio_statement_get(folio_statement **out, folio_db *db, const char *ref,
                                  const char *as_of, const char *from, uint64_t at_seq);
FOLIO_API void folio_statement_free(folio_statement *s);

typedef struct {
    const char *verdict;     /* "allow", "pending" or "deny" */
    const char *reasons[8];  /* why: "status", "credit_limit", "past_due", "inactive", ... */
    size_t reason_count;
} folio_admission;
/**
 * May the customer place a document of kind `doc_kind` ("sales-order" or "cash-sale")?
 * Not on hold: allow; inactive or deleted: deny; on hold: as the ledger's on-hold policy says.
 * @return FOLIO_OK, FOLIO_ENOTFOUND (no such ref), FOLIO_EINVAL (unknown kind).
 */
FOLIO_API int folio_admit(folio_admission *out, folio_db *db, const char *ref,
                          const char *doc_kind);

/**
 * The ref of customer `id` (also for deleted customers).
 * @return FOLIO_OK, FOLIO_ENOTFOUND (no customer has that id, e.g. the ledger stream 0).
 */
FOLIO_API int folio_customer_ref(char ref_out[FOLIO_REF_BYTES_MAX + 1], folio_db *db, uint64_t id);

/** Match `text` against a pattern with `*` and `?`, ignoring case (Unicode case folding). */
FOLIO_API int folio_name_matches(const char *pattern, const char *text);

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

/* Business dates ("YYYY-MM-DD", proleptic Gregorian, years 1900-9999) as days since
 * 1970-01-01. They are what documents carry (date, due) and what reports are asked "as of";
 * they are separate from recorded_at, the time the ledger learned of an event. */
FOLIO_API int folio_date_parse(int32_t *days_out, const char *text); /* FOLIO_EINVAL */
FOLIO_API void folio_date_format(char out[11], int32_t days);
FOLIO_API int32_t folio_date_today(void); /* UTC */

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
 * and the stored head. Reads a consistent snapshot; writers go on, except one that must grow
 * the map in this process, which waits until the walk ends.
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
    uint64_t used_bytes;             /* its pages in use: the file less LMDB's free pages
                                        (a rebuild frees the old projections' pages, which
                                        later writes are given first; read beside the
                                        snapshot, exact when no writer is busy) */
    uint64_t map_bytes;              /* current map size */
    uint64_t type_counts[64];        /* events per type id (appends refuse ids >= 64) */
} folio_stats;

/**
 * Drop every projection and fold the whole log again, in batched transactions that save
 * their progress (a killed rebuild resumes on the next read-write open or rebuild). The log
 * is verified first (folio_verify): a log that fails is refused before anything is dropped.
 * @param[out] events_out events folded (may be NULL).
 * @return FOLIO_OK, FOLIO_EINVAL (read-only handle, or inside a batch), FOLIO_ECORRUPT (the
 *         log fails verify: nothing changed), else as folio_append().
 */
FOLIO_API int folio_rebuild(uint64_t *events_out, folio_db *db);

/**
 * Fold the whole log into scratch space beside the ledger (a temporary ledger file, removed
 * afterwards) and compare every projection with the live one, key by key. The live ledger is
 * only read.
 * @return FOLIO_OK; FOLIO_ECORRUPT naming the first projection and key that differ;
 *         FOLIO_EFORMAT (a projection is not up to date: open for writing first);
 *         FOLIO_ECONFLICT (another writer appended meanwhile: run it again).
 */
FOLIO_API int folio_check(uint64_t *events_out, folio_db *db);

/**
 * Progress of long operations (verify, rebuild, check, restore): `cb` is called every few
 * thousand events with the operation's name, events done and events in all (0 if unknown),
 * from the calling thread. NULL turns it off. Thread-safety: set it before sharing the handle.
 */
typedef void (*folio_progress_fn)(void *payload, const char *what, uint64_t done,
                                  uint64_t total);
FOLIO_API void folio_set_progress(folio_db *db, folio_progress_fn cb, void *payload);

/**
 * Ledger statistics from one consistent snapshot: the log's own counts, kept by every append
 * (no projection is read).
 * @return FOLIO_OK; FOLIO_ECORRUPT (a missing or malformed counts record); FOLIO_EINVAL;
 *         else FOLIO_ERROR.
 */
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
