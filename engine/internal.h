/*
 * engine/internal.h - declarations shared by the engine's modules (not API).
 * Naming: folio_<module>__<verb> for cross-file internals; file-static helpers unprefixed.
 */
#ifndef FOLIO_INTERNAL_H
#define FOLIO_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "folio.h"
#include "limits.h"

/* ---- assertions (engine/error.c) ---- */
void folio_error__assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));

/* On in every build: running past a broken invariant would write wrong balances. */
#define FOLIO_ASSERT(x)                                                                     \
    do {                                                                                    \
        if (__builtin_expect(!(x), 0)) folio_error__assert_fail(#x, __FILE__, __LINE__);    \
    } while (0)

#ifndef NDEBUG
#define FOLIO_DEBUG_ASSERT(x) FOLIO_ASSERT(x)
#else
#define FOLIO_DEBUG_ASSERT(x) ((void)0)
#endif

/* Forward a negative code unchanged; the message was set where the failure was seen. */
#define FOLIO_TRY(expr)                                                                     \
    do {                                                                                    \
        rc = (expr);                                                                        \
        if (rc < 0) goto cleanup;                                                           \
    } while (0)

/* Internal-only code: the LMDB map is full; the writer grows it and retries. */
#define FOLIO__EMAPFULL (-100)

/* ---- errors (engine/error.c) ---- */
int folio_error__set(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int folio_error__corrupt(uint64_t seq, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void folio_error__clear(void);
const char *folio_error__where(void); /* source location of the last corruption found */
/* Copy this thread's message out (into FOLIO_ERRMSG_BYTES bytes) and back: a thread that runs
 * other threads' writes (the group-commit leader, engine/log.c) keeps its own message. */
void folio_error__save(char *saved);
void folio_error__restore(const char *saved);
#define FOLIO_CORRUPT(seq, ...) folio_error__corrupt((seq), __FILE__, __LINE__, __VA_ARGS__)

/* ---- money (engine/money.c) ---- */
/* folio_money_parse, and *canonical_out (when not NULL) 1 when text is exactly what
 * folio_money_format writes for the amount (a command writes such text as it came). */
int folio_money__parse(int64_t *minor_out, int *canonical_out, const char *text,
                       const char *currency);

/* Settings records up to this size are kept decoded by the handle (a ledger's is ~120). */
#define FOLIO_SETTINGS_MEMO_BYTES 512u

/* ---- storage (engine/store.c, the only includer of lmdb.h) ---- */
typedef struct folio_store folio_store;
/* A transaction or cursor lives on its user's stack; `mdb` is LMDB's handle (opaque here). */
struct folio_read_slot; /* a read transaction kept for reuse (store.c) */
typedef struct folio_txn {
    void *mdb;
    folio_store *store;
    struct folio_read_slot *slot; /* a read transaction's kept handle, or NULL */
    int write;
    uint64_t writes; /* puts, deletes and drops attempted in it: a failure after the first
                      * one leaves the transaction unusable for others (engine/log.c) */
    struct folio_txn_cache *cache; /* a shared write transaction's head and projection
                                    * states (engine/log.c); NULL: read them from the store */
} folio_txn;
typedef struct {
    void *mdb;
} folio_cursor;
typedef struct {
    const void *data;
    size_t size;
} folio_val;

/* Sub-database ids; names in store.c. Projections follow FOLIO_DB_PROJ0. "scratch" is empty
 * between transactions (engine/log.c uses it inside one). FOLIO_DB_ROOT is LMDB's main
 * database, which holds every sub-database's own record and so is rewritten by every commit:
 * the records a commit always changes (the log head and counts, the projection states) live
 * there, keys beginning with a NUL byte (no sub-database name has one), so that they cost
 * no page of their own. */
enum { FOLIO_DB_META = 0, FOLIO_DB_LOG = 1, FOLIO_DB_STREAMS = 2, FOLIO_DB_IDEM = 3,
       FOLIO_DB_SCRATCH = 4, FOLIO_DB_ROOT = 5, FOLIO_DB_PROJ0 = 6 };
#define FOLIO_ROOT_HEAD_KEY "\0head" /* root key of the log head (folio_head) */
#define FOLIO_ROOT_HEAD_KEY_BYTES 5u
#define FOLIO_ROOT_COUNTS_KEY "\0counts" /* root key of the log's counts (folio_log_counts) */
#define FOLIO_ROOT_COUNTS_KEY_BYTES 7u

#define FOLIO_PUT_APPEND 1u /* key sorts after every existing key (MDB_APPEND) */

#define FOLIO_STORE_GROUP_READ 1u         /* create data 0640, lock 0660 */
#define FOLIO_STORE_ALLOW_SHARED_WRITE 2u /* accept a data file writable by group or others */
int folio_store__open(folio_store **out, const char *path, uint64_t map_bytes, int read_only,
                      int must_exist, unsigned perm_flags, int *created_out);
void folio_store__close(folio_store *s);
/* A read transaction: one the handle keeps for reuse when one is free (renewed here, reset
 * by read_end, so it pins nothing between reads), else a new one. */
int folio_store__read_begin(folio_txn *t, folio_store *s);
void folio_store__read_end(folio_txn *t);
/* The LMDB transaction id of t's snapshot: two reads with the same id see the same data
 * (every commit, by any process, makes a new one; read_begin checks that the snapshot LMDB
 * gave is the one its id names, which LMDB 0.9.24 alone does not ensure). */
uint64_t folio_store__txn_id(const folio_txn *t);
/* Tests: read transactions begun with mdb_txn_begin rather than renewed, and read cursors
 * opened rather than renewed; this process's reader slots that pin a snapshot (LMDB's
 * reader table), 0 between reads. */
void folio_store__read_counts(uint64_t *txns_begun, uint64_t *cursors_opened, folio_store *s);
/* Tests: read starts begun again because LMDB gave a snapshot ahead of its id (store.c,
 * read_start), and a hook this thread's read starts call each time (NULL: none). */
uint64_t folio_store__read_restarts(folio_store *s);
void folio_store__on_read_restart(void (*hook)(void *), void *arg);
unsigned folio_store__snapshots_held(folio_store *s);
int folio_store__write_begin(folio_txn *t, folio_store *s);
int folio_store__commit(folio_txn *t);
void folio_store__abort(folio_txn *t);
int folio_store__grow(folio_store *s);
int folio_store__get(folio_val *out, folio_txn *t, unsigned dbi, const void *key, size_t klen);
int folio_store__put(folio_txn *t, unsigned dbi, const void *key, size_t klen, const void *val,
                     size_t vlen, unsigned flags);
int folio_store__del(folio_txn *t, unsigned dbi, const void *key, size_t klen);
/* Put key, past every key of tree dbi (at most 16 bytes), at the tree's end: as
 * folio_store__put with FOLIO_PUT_APPEND, and the same full leaves, but for consecutive
 * appends of one write transaction without a search of the tree from its root for each
 * (store.c, struct folio_tail). For the log's frames. */
int folio_store__append(folio_txn *t, unsigned dbi, const void *key, size_t klen,
                        const void *val, size_t vlen);
/* Tests: appends made by folio_store__append without MDB_APPEND (the handle's life); the
 * leaf pages of tree dbi. */
uint64_t folio_store__appends_plain(const folio_store *s);
int folio_store__leaf_pages(uint64_t *out, folio_txn *t, unsigned dbi);
/* Put and delete through a cursor of t kept across many writes into its tree in key order
 * (no descent from the root when the key is on the cursor's page). FOLIO_PUT_APPEND as for
 * folio_store__put; the delete returns FOLIO_ENOTFOUND for a key not there. */
int folio_store__cursor_put(folio_cursor *c, folio_txn *t, const void *key, size_t klen,
                            const void *val, size_t vlen, unsigned flags);
int folio_store__cursor_del(folio_cursor *c, folio_txn *t, const void *key, size_t klen);
int folio_store__drop(folio_txn *t, unsigned dbi);
int folio_store__entries(uint64_t *out, folio_txn *t, unsigned dbi);
int folio_store__cursor_open(folio_cursor *c, folio_txn *t, unsigned dbi);
void folio_store__cursor_close(folio_cursor *c);
/* A cursor of read transaction t on sub-database dbi, closed (same t, same dbi) before t
 * ends: a kept read transaction keeps it for its next read, which then allocates none. */
int folio_store__read_cursor_open(folio_cursor *c, folio_txn *t, unsigned dbi);
void folio_store__read_cursor_close(folio_cursor *c, folio_txn *t, unsigned dbi);
/* Position at the first key >= key (key NULL: the first key). FOLIO_ITEROVER past the end. */
int folio_store__cursor_seek(folio_cursor *c, const void *key, size_t klen, folio_val *k,
                             folio_val *v);
int folio_store__cursor_next(folio_cursor *c, folio_val *k, folio_val *v);
int folio_store__cursor_last(folio_cursor *c, folio_val *k, folio_val *v);
int folio_store__cursor_prev(folio_cursor *c, folio_val *k, folio_val *v);
uint64_t folio_store__map_bytes(folio_store *s);
/* Tests: the key order of every sub-database (<0, 0, >0), LMDB's default order. */
int folio_store__key_order(const void *a, size_t a_bytes, const void *b, size_t b_bytes);
/* Test hook: make the nth next put of this thread fail (0 = off). */
void folio_store__inject_put_failure(uint64_t nth);
uint64_t folio_store__file_bytes(folio_store *s);
/* Bytes of the pages in use (the pages LMDB has handed out, less its free-page list). */
int folio_store__used_bytes(uint64_t *out, folio_txn *t);
int folio_store__read_only(const folio_store *s);
/* The format version the ledger's format record says in transaction t. */
int folio_store__read_format(uint32_t *out, folio_txn *t);
/* In write transaction t: raise the ledger's format record to `to` unless it says as much
 * already (FOLIO_FORMAT_VERSION's comment). */
int folio_store__raise_format(folio_txn *t, uint32_t to);

/* ---- frames (engine/frame.c, the only includer of xxhash.h) ---- */
typedef struct {
    uint8_t chain[FOLIO_HASH_BYTES]; /* XXH3-128(prev chain || frame[16..len)) */
    uint32_t checksum;               /* low 32 bits of XXH3-64(frame[20..len)) */
    uint8_t format;                  /* FOLIO_FRAME_FORMAT */
    uint64_t prev_seq;               /* previous event of the same stream, 0 if none */
    const uint8_t *envelope;         /* msgpack map */
    size_t envelope_bytes;
} folio_frame;

/* Fill the header of frame[0..len) whose envelope is already at frame+HEADER, and compute
 * the checksum and the chain hash from prev_chain. */
void folio_frame__seal(uint8_t *frame, size_t frame_bytes, uint64_t prev_seq,
                       const uint8_t prev_chain[FOLIO_HASH_BYTES]);
/* Parse the header and check the frame checksum (not the chain: that needs the previous
 * event's hash). Returns FOLIO_ECORRUPT naming seq. */
int folio_frame__open(folio_frame *out, const void *frame, size_t frame_bytes, uint64_t seq);
/* Recompute the chain hash of a frame from the previous chain hash. */
void folio_frame__chain(uint8_t out[FOLIO_HASH_BYTES], const uint8_t prev[FOLIO_HASH_BYTES],
                        const void *frame, size_t frame_bytes);

/* Streaming 128-bit content hash (idempotency: which request a key was used for). */
typedef struct folio_hasher folio_hasher;
folio_hasher *folio_hasher__create(void);
void folio_hasher__free(folio_hasher *h);
void folio_hasher__reset(folio_hasher *h);
void folio_hasher__update(folio_hasher *h, const void *data, size_t len);
void folio_hasher__digest(folio_hasher *h, uint8_t out[FOLIO_HASH_BYTES]);

/* ---- codec (engine/codec.c, the only includer of msgpack.h and msgpuck.h) ---- */

/* Check a caller's payload: well-formed msgpack, exactly payload_bytes long, a map at the
 * top, string keys, no floats or ext types, valid UTF-8 strings, depth bounded. */
int folio_codec__check_payload(const void *payload, size_t payload_bytes);
/* The two halves of folio_codec__check_payload, for tests: the one walk that accepts (1) a
 * payload exactly when the full check would, returning 0 for anything else (including what
 * the full check also accepts but the walk does not: none is known); and the full check
 * (msgpack_valid over the bytes, then check_value's walk), which names what is wrong. */
int folio_codec__payload_fast(const void *payload, size_t payload_bytes);
int folio_codec__check_payload_full(const void *payload, size_t payload_bytes);
/* Check a string field: valid UTF-8, no NUL, 1..max bytes (0 allowed if optional). */
int folio_codec__check_text(const char *s, size_t max_bytes, const char *what, int required);
/* The same for a one-line field of the envelope (actor, reason, correlation id,
 * idempotency key): also no control character, C0 (U+0000-U+001F), DEL (U+007F) or C1
 * (U+0080-U+009F), which could forge lines where the field is printed (FOLIO_EINVAL naming
 * the field and the character). Writes check it; restore does not (old events stay as
 * they were written). */
int folio_codec__check_line(const char *s, size_t max_bytes, const char *what, int required);
/* Encode the envelope of `e` (with seq, version, recorded_at and key already assigned)
 * into buf[0..cap); *bytes_out = its length. `follows`: how many events of the same
 * command come after this one (the command mark, envelope key 13, written only when not 0).
 * FOLIO_OK or FOLIO_ELIMIT. */
int folio_codec__encode_envelope(size_t *bytes_out, uint8_t *buf, size_t cap,
                                 const folio_event *e, const char *idempotency_key,
                                 const uint8_t *request_hash, uint32_t follows);
/* Decode an envelope into *e; strings are copied NUL-terminated into strbuf[0..cap),
 * the payload points into the envelope; the request hash (zeros: none) and the command
 * mark (0: none) go to the outputs that are not NULL. FOLIO_ECORRUPT (naming seq) on any
 * defect. */
int folio_codec__decode_envelope(folio_event *e, const uint8_t *env, size_t env_bytes,
                                 char *strbuf, size_t strbuf_cap, uint64_t seq,
                                 uint8_t request_hash_out[FOLIO_HASH_BYTES],
                                 uint32_t *follows_out);
/* The fields of an envelope that folio_verify checks, read in place (nothing copied). */
typedef struct {
    uint64_t seq, stream, version;
    uint32_t type;
    int64_t recorded_at_us;
    const uint8_t *idem_key; /* the idempotency key in place (no NUL), or NULL */
    size_t idem_key_bytes;
    const uint8_t *request; /* the key's 16-byte request hash in place, or NULL */
    uint32_t follows;       /* the command mark: events of the same command after it */
} folio_envelope_fields;
/* A one-pass fast path of folio_codec__decode_envelope for scans over many events (verify):
 * returns 1, with *out, only for an envelope that folio_codec__decode_envelope(.., seq, ..)
 * accepts with the same fields; 0, setting no error, for any other (damaged, or written in
 * a shape folio does not write), which the caller must then give to the decoder. */
int folio_codec__scan_envelope(folio_envelope_fields *out, const uint8_t *env,
                               size_t env_bytes, uint64_t seq);
/* folio_codec__decode_envelope in one pass for the shapes folio writes (those
 * folio_codec__scan_envelope accepts): returns 1 with the decoder's results only for an
 * envelope the decoder accepts with them; 0, setting no error, for any other, which the
 * caller must then give to the decoder. */
int folio_codec__decode_envelope_fast(folio_event *e, const uint8_t *env, size_t env_bytes,
                                      char *strbuf, size_t strbuf_cap, uint64_t seq,
                                      uint8_t request_hash_out[FOLIO_HASH_BYTES],
                                      uint32_t *follows_out);
/* Feed the idempotency-relevant content of one event into a hasher. */
void folio_codec__hash_content(folio_hasher *h, const folio_event *e);

/* ---- log and projections (engine/log.c, engine/projection.c) ---- */

/* Root record FOLIO_ROOT_HEAD_KEY: last seq, head chain hash, last recorded_at. */
typedef struct {
    uint64_t last_seq;
    uint8_t chain[FOLIO_HASH_BYTES];
    int64_t last_recorded_at_us;
} folio_head;
#define FOLIO_HEAD_BYTES 32u

/* Root record FOLIO_ROOT_COUNTS_KEY: what the log holds, kept by every append beside the
 * head: the number of streams (events with version 1) and of events of each type (every
 * type id is below FOLIO_EVENT_TYPE_IDS). Stored as u64 LE streams, then u8 type + u64 LE
 * count for each type with events, types ascending. */
#define FOLIO_EVENT_TYPE_IDS 64u
typedef struct {
    uint64_t streams;
    uint64_t types[FOLIO_EVENT_TYPE_IDS];
} folio_log_counts;

/* Stream record in sub-database "streams": last version and seq of the last event. */
typedef struct {
    uint64_t version;
    uint64_t head_seq;
} folio_stream_rec;
#define FOLIO_STREAM_REC_BYTES 16u

int folio_log__read_head(folio_head *out, folio_txn *t);
/* The log's counts (root record FOLIO_ROOT_COUNTS_KEY), checked against the head's seq. */
int folio_log__read_counts(folio_log_counts *out, folio_txn *t);
/* Longest failure message kept per thread (folio_errmsg). */
#define FOLIO_ERRMSG_BYTES 512u
/* Internal success code: the write function wants its transaction aborted, not committed
 * (an idempotent repeat, or a command with nothing to change). */
#define FOLIO__NOCOMMIT 1
/* Run fn inside a write transaction under the handle's write lock, committing when it
 * returns FOLIO_OK; when the map fills up, grow it and run fn again from the start.
 * fn must do every check that can refuse it before its first write: its transaction is
 * shared. Concurrent callers on one handle are folded into one transaction and one commit
 * (group commit), and a batch's writes join the batch's transaction; a fn that fails after
 * it began writing spoils the shared transaction (the others are then run alone, or the
 * batch fails). */
int folio_log__write(folio_db *db, int (*fn)(folio_txn *t, void *arg), void *arg);
/* 1 when this thread is running a batch on db (folio_batch_run). */
int folio_log__in_batch(const folio_db *db);
/* An `idem` record's value (FORMAT.md "idem"), decoded: format 1 (events written, seqs
 * first..last) or 2 (a command that wrote nothing: its answer named seq first = last), the
 * request hash (pointing into the value) and the seqs. */
typedef struct {
    int format;
    const uint8_t *hash;
    uint64_t first, last;
} folio_idem_rec;
/* 0 when `val` is a well-formed record (33 bytes, format 1 or 2), -1 otherwise; the seqs are
 * not checked here. */
int folio_log__idem_decode(folio_idem_rec *out, const void *val, size_t bytes);
/* Look up an idempotency key: *found = 1 and out = the original seqs for a repeat with the
 * same request hash; FOLIO_EEXISTS for a different one; *found = 0 when the key is new. */
int folio_log__idem_check(folio_append_result *out, int *found, folio_txn *t, const char *key,
                          const uint8_t hash[FOLIO_HASH_BYTES]);
/* Record idempotency key `key` for a command that wrote nothing: its answer named event seq
 * (record format 2). folio_log__idem_check then sets *found to 2 for it (1 for a record of
 * appended events). */
int folio_log__idem_put_answer(folio_txn *t, const char *key, const uint8_t hash[FOLIO_HASH_BYTES],
                               uint64_t seq);
int folio_log__check_expects(folio_txn *t, const folio_expect *expects, size_t n);
/* Append already-validated events in transaction t: assign seq, version and recorded_at,
 * write frames, stream records and the head, fold every projection, record the key. */
int folio_log__append_txn(folio_append_result *out, folio_db *db, folio_txn *t,
                          const folio_event *events, size_t n, const char *key,
                          const uint8_t hash[FOLIO_HASH_BYTES]);
int folio_log__read_stream(folio_stream_rec *out, folio_txn *t, uint64_t stream);
/* The largest stream id with a record (0: none), the records this transaction wrote
 * included. */
int folio_log__max_stream(uint64_t *out, folio_txn *t);
/* A walk over the stream records of "streams" in stream order, past the projections'
 * per-stream records that sort after each (key stream + tag + suffix). */
typedef struct {
    folio_cursor c;
    int started;
    int walked;      /* a stream record was returned */
    uint64_t stream; /* the last stream walked */
    int log_only;    /* set before the first call: step over the projections' per-stream
                      * records without checking them (a rebuild rewrites them) */
} folio_stream_walk;
/* FOLIO_OK with the next stream and its record, FOLIO_ITEROVER after the last, or
 * FOLIO_ECORRUPT for a key or value of neither shape, or per-stream records of a stream
 * without a record or with a tag no projection has. Close with folio_store__cursor_close(&w->c). */
int folio_log__walk_streams(folio_stream_walk *w, folio_txn *t, uint64_t *stream,
                            folio_stream_rec *rec);
/* Delete every per-stream record with this tag (a projection being rebuilt). */
int folio_log__drop_stream_records(folio_txn *t, uint8_t tag);
struct folio_pcache;
/* Move every record of "streams" into write transaction t's record cache (as written) and
 * empty the tree, claimed fresh in the cache: the cache's flush then puts them back with
 * the records the folds add, in key order, appending (full pages). Nothing may read
 * "streams" past the cache until that flush: for a rebuild's fold (engine/projection.c). */
int folio_log__stream_records_to_cache(folio_txn *t, struct folio_pcache *pc);

/* Per projection: the code version that built it and the last seq it folded (root key
 * "\0proj.<name>"). Loaded once per write transaction, saved at its end. */
typedef struct {
    uint32_t version[FOLIO_PROJECTIONS_MAX];
    uint64_t last_seq[FOLIO_PROJECTIONS_MAX];
    uint8_t dirty[FOLIO_PROJECTIONS_MAX];
    uint8_t *scratch; /* FOLIO_PROJ_SCRATCH_BYTES, lent to each apply (the handle's) */
} folio_proj_states;
/* The head and projection states of a write transaction shared by many writes (a batch or
 * a group commit), read once, kept here as the writes change them, and written once before
 * the commit (folio_log__flush), instead of read and rewritten by every write. */
typedef struct folio_pcache folio_pcache;
struct folio_txn_cache {
    int loaded; /* head, counts and states were read from the store */
    int dirty;  /* and changed since */
    folio_head head;
    folio_log_counts counts;
    folio_proj_states states;
    folio_pcache *pc; /* projection records and stream records (engine/pcache.c); NULL:
                       * straight to the store */
    int stream_written;         /* this transaction wrote a stream record (through pc) */
    uint64_t stream_written_max; /* the largest stream id it wrote one for */
};
typedef struct folio_txn_cache folio_txn_cache;

/* ---- the projection record cache of a write transaction (engine/pcache.c) ---- */
folio_pcache *folio_pcache__create(void);
void folio_pcache__free(folio_pcache *pc);
/* Forget everything (a new transaction, or after a flush between events). */
void folio_pcache__reset(folio_pcache *pc);
/* As folio_store__get/put/del on projection sub-database dbi, through the cache. */
int folio_pcache__get(folio_val *out, folio_pcache *pc, folio_txn *t, unsigned dbi,
                      const void *key, size_t klen);
int folio_pcache__put(folio_pcache *pc, unsigned dbi, const void *key, size_t klen,
                      const void *val, size_t vlen);
int folio_pcache__del(folio_pcache *pc, folio_txn *t, unsigned dbi, const void *key,
                      size_t klen);
/* Write the changed records to the store, in key order; they stay cached (clean). */
int folio_pcache__flush(folio_pcache *pc, folio_txn *t);
/* The same, right before a commit, for a cache that is not used again before its reset
 * (a catch-up's or check's transaction): gives back the hash table first, which lowers the
 * peak of the flush. Afterwards only folio_pcache__flush (nothing left to write) and
 * folio_pcache__reset may be called; a get, put or delete aborts. */
int folio_pcache__flush_final(folio_pcache *pc, folio_txn *t);
/* 1 when the cache holds more than its memory budget (flush and reset between events;
 * in bulk mode, end the catch-up transaction). */
int folio_pcache__over_budget(const folio_pcache *pc);
/* Bulk mode until the next reset (a projection catch-up): a budget of bulk_bytes (the
 * handle's rebuild_cache_bytes), and a flush puts keys past a tree's last key with
 * MDB_APPEND. */
void folio_pcache__bulk(folio_pcache *pc, size_t bulk_bytes);
/* Note that tree dbi is empty, if it is, so that a key of it not cached is known absent
 * without a lookup until the next reset. Before the cache holds any record of dbi but
 * writes waiting (put, not read). */
int folio_pcache__claim_fresh(folio_pcache *pc, folio_txn *t, unsigned dbi);
/* Tests: keys this cache's flushes put with MDB_APPEND (all its life). */
size_t folio_pcache__appends(const folio_pcache *pc);
/* Tests: lookups this cache sent to LMDB since its creation (gets that missed it; a miss in
 * "streams" reads the stream record and the record after it with one lookup). */
size_t folio_pcache__reads(const folio_pcache *pc);
/* Tests: keys every cache of this process put with MDB_APPEND (a check's cache is its own). */
size_t folio_pcache__appends_all(void);
/* Tests: the bytes the cache counts against its budget (arena, entries, table, sort array). */
size_t folio_pcache__footprint(const folio_pcache *pc);
/* Tests: the hash of key in tree dbi that the cache's table uses. */
uint64_t folio_pcache__hash(unsigned dbi, const void *key, size_t klen);
/* Tests: a small budget makes every transaction flush and reset between events; a bulk
 * budget smaller than a handle's makes every catch-up commit at it (0: after every event). */
void folio_pcache__set_budget(size_t bytes, size_t entries, size_t bulk_bytes,
                              size_t bulk_entries);
/* Begin a write transaction on store s with `cache` (head, projection states) and the record
 * cache pc (emptied first) attached: the one way every write transaction starts. */
int folio_log__begin(folio_txn *t, folio_txn_cache *cache, folio_store *s, folio_pcache *pc);
/* Write what t's cache holds that changed (head, projection states). Before every commit. */
int folio_log__flush(folio_txn *t);
/* Read head and projection states into t's cache if not yet there. */
int folio_log__cache_load(folio_txn *t);
/* The root key (FOLIO_DB_ROOT) of a projection's state: "\0proj.<name>"; returns its length.
 * Value: u32 LE code version, u64 LE last seq folded. */
size_t folio_projection__state_key(char *buf, size_t cap, const char *name);
#define FOLIO_PROJ_STATE_BYTES 12u
/* The state projection `index` has on a ledger this code creates: its code version, folded
 * to seq 0 (an empty log has nothing to fold). Writes the value, returns the key's length. */
size_t folio_projection__initial_state(char *key, size_t key_cap,
                                       uint8_t val[FOLIO_PROJ_STATE_BYTES], unsigned index);
int folio_projection__load_store(folio_proj_states *out, folio_txn *t);
int folio_projection__save_store(folio_txn *t, folio_proj_states *s);
int folio_projection__load(folio_proj_states *out, folio_txn *t);
int folio_projection__save(folio_txn *t, folio_proj_states *s);
/* Apply one event (seq = last folded + 1) to every up-to-date projection. */
int folio_projection__apply_all(folio_txn *t, folio_proj_states *s, const folio_event *e);
/* FOLIO_OK when projection `index` has folded the log up to head_seq with the current code;
 * else FOLIO_EFORMAT with a message saying how to bring it up to date. */
int folio_projection__check_current(folio_txn *t, unsigned index, uint64_t head_seq);
/* A projection's view of transaction t (for queries and commands); scratch may be NULL. */
struct folio_proj_txn;
void folio_projection__txn(struct folio_proj_txn *out, folio_txn *t, const char *name,
                           uint8_t *scratch);
/* 1 when a registered projection keeps per-stream records under this tag. */
int folio_projection__tag_known(uint8_t tag);
/* Bring every projection up to the head: rebuild those of an older code version (`all`:
 * every one, folio_rebuild), fold the events they have not yet seen. Before any drop the log
 * is checked (folio_verify__log) and a log that fails is refused with nothing changed. Runs
 * its own write transactions. */
int folio_projection__catch_up(folio_db *db, int all);
unsigned folio_projection__count(void);
const char *folio_projection__name(unsigned index);

/* Free the iterator the handle keeps for reuse (at close). */
void folio_iter__release_spare(folio_db *db);
/* folio_stream_open inside the caller's read transaction t, whose log head the caller read
 * in t (engine/replay.c); the iterator does not keep t. */
int folio_stream__open_in(folio_iter **out, folio_db *db, folio_txn *t, const folio_head *head,
                          uint64_t stream, uint64_t max_version, uint64_t at_seq);
/* The command mark of event `seq` (it must exist): how many events of its command follow
 * it (0: it ends its command; every event of a ledger written before the marks). */
int folio_replay__follows_at(uint32_t *out, folio_txn *t, uint64_t seq);
/* The last seq of the command holding event seq (1 <= seq <= head_seq); FOLIO_ECORRUPT for
 * a mark past head_seq. */
int folio_replay__command_last(uint64_t *last_out, folio_txn *t, uint64_t seq, uint64_t head_seq);
/* The seq an "as known at at_seq" answer is given at: head_seq for 0, else the end of the
 * command holding at_seq; FOLIO_EINVAL past head_seq (naming it). */
int folio_replay__at_seq(uint64_t *out, folio_txn *t, uint64_t at_seq, uint64_t head_seq);

/* Report progress every this many events (a power of two: cheap to test). */
#define FOLIO_PROGRESS_EVERY 65536u
/* Call the handle's progress callback, if any. */
void folio_progress__report(folio_db *db, const char *what, uint64_t done, uint64_t total);

/* ---- verify (engine/verify.c) ---- */
/* folio_verify of what a rebuild cannot repair: the frames, the chain, seq and version gaps,
 * the stream records, the head, the idempotency index and the counts; the projections'
 * per-stream records are not checked (a rebuild drops and refolds them). Run before any
 * projection is dropped (folio_rebuild, a catch-up that rebuilds), so that a log a fold
 * would stop in is refused with nothing dropped. */
int folio_verify__log(folio_verify_report *report, folio_db *db);

/* ---- the customer master (engine/customer.c) ---- */
/* Trim a name (s, n bytes) of leading and trailing white space, ASCII's and Unicode's
 * (Zs, Zl, Zp, U+200B, U+FEFF), as rule 1 stores it and find looks it up. */
void folio_customer__trim_name(const char **s, size_t *n);

/* ---- the handle ---- */
struct folio_db {
    folio_store *store;
    pthread_mutex_t write_lock; /* serialises writers and guards `scratch` */
    uint8_t *scratch;           /* FOLIO_EVENT_BYTES_MAX: one frame being encoded */
    uint8_t *proj_scratch;      /* FOLIO_PROJ_SCRATCH_BYTES: records encoded by projections */
    struct folio_cmd *cmd;      /* the command being run (engine/command.c), under write_lock */
    folio_hasher *cmd_hasher;   /* request hash of a command, under write_lock */
    /* Group commit (engine/log.c): writers queue here, the first becomes the leader and
     * runs every queued write in one transaction. */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    struct folio_write_req *queue_head, *queue_tail;
    int leading;         /* a leader is running a group */
    unsigned queued;     /* writes in the queue */
    unsigned last_group; /* writes the last group carried */
    uint64_t groups_shared;  /* commits that carried more than one write (for tests) */
    uint64_t groups_spoiled; /* groups thrown away and run one by one (for tests) */
    pthread_mutex_t spare_lock;
    struct folio_iter *spare_iter; /* the last freed iterator, reused by the next (replay.c) */
    /* Under spare_lock: the snapshot (LMDB transaction id; 0: none) in which a history last
     * found the directory projection current, and that snapshot's log head
     * (engine/customer_query.c); and how many times histories checked (tests). */
    uint64_t history_txn_id;
    folio_head history_head;
    uint64_t history_checks;
    folio_pcache *pcache;          /* the write transaction's projection cache, under write_lock */
    size_t rebuild_cache_bytes;    /* its budget in bulk mode (folio_open_opts) */
    /* the ledger settings a command last decoded, and their record's bytes (engine/command.c,
     * folio_cmd__settings), under write_lock */
    folio_settings settings_memo;
    uint8_t settings_memo_raw[FOLIO_SETTINGS_MEMO_BYTES];
    size_t settings_memo_bytes; /* 0: none kept */
    void *open_invoices;           /* a command's list of open invoices (engine/documents.c), */
    size_t open_invoices_cap;      /* kept for the next command, under write_lock */
    folio_progress_fn progress; /* folio_set_progress() */
    void *progress_payload;
    char *path;
};

#endif /* FOLIO_INTERNAL_H */
