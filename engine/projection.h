/*
 * engine/projection.h - the whole contract between the engine and a read model.
 * A projection owns sub-database "proj.<name>" and, when it has a stream tag, the records
 * keyed stream + tag + suffix in the engine's "streams" (next to each stream's head record,
 * so an event rewrites one page for both); nothing else. It sees keys and values, never
 * LMDB or msgpack. `apply` is a pure fold: no clock, randomness, globals or heap.
 * It runs inside the append's write transaction, so log and projections never disagree.
 * The engine records, per projection, the code version that built it and the last seq it
 * folded (root key "\0proj.<name>"): it applies each event exactly once, and rebuilds a
 * projection by replay when its version changes.
 */
#ifndef FOLIO_PROJECTION_H
#define FOLIO_PROJECTION_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "folio.h"
#include "mp.h"

/* A projection's view of a transaction. The fields are the engine's: a projection only
 * declares one, for folio_proj__streams to fill. */
typedef struct folio_proj_txn {
    struct folio_txn *txn;
    unsigned dbi;
    uint8_t *scratch;
    uint8_t stream_tag; /* dbi is "streams": the projection's tag (keys are checked) */
} folio_proj_txn;

typedef struct folio_projection {
    const char *name; /* owns sub-database "proj.<name>" */
    uint32_t version; /* bump when the fold changes: the engine rebuilds it by replay */
    /* Fold one event. Events of types it does not handle are ignored on purpose. */
    int (*apply)(folio_proj_txn *txn, const folio_event *event);
    /* Called on an emptied sub-database before a rebuild; may be NULL. */
    int (*reset)(folio_proj_txn *txn);
    /* Non-zero: the byte after the stream id in the keys of this projection's per-stream
     * records (folio_proj__streams). A rebuild deletes them with the sub-database. */
    uint8_t stream_tag;
} folio_projection;

/* Read a value of this projection. Lifetime: until the transaction ends or the key is
 * written. @return FOLIO_OK, FOLIO_ENOTFOUND. */
int folio_proj__get(const void **val_out, size_t *val_bytes_out, folio_proj_txn *txn,
                    const void *key, size_t key_bytes);
int folio_proj__put(folio_proj_txn *txn, const void *key, size_t key_bytes, const void *val,
                    size_t val_bytes);
int folio_proj__del(folio_proj_txn *txn, const void *key, size_t key_bytes);

/* A view of the same transaction on this projection's per-stream records in "streams":
 * get, put, del and iterate as on its own sub-database, with keys BE u64 stream + the
 * projection's stream_tag + suffix (at least one byte), for a stream that has events (its
 * head record, key BE u64 stream, sorts just before them). */
void folio_proj__streams(folio_proj_txn *out, folio_proj_txn *txn);
/* The first FOLIO_PROJ_STREAM_KEY_BYTES bytes of a per-stream key: stream id and tag. */
#define FOLIO_PROJ_STREAM_KEY_BYTES 9u
void folio_proj__stream_key(uint8_t key[FOLIO_PROJ_STREAM_KEY_BYTES], const folio_proj_txn *txn,
                            uint64_t stream);

/* Record why a fold refuses an event (becomes folio_errmsg()); returns rc. */
int folio_proj__fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Call fn with the same transaction on another projection's records (to read them). */
int folio_proj__with(folio_proj_txn *t, const char *name,
                     int (*fn)(folio_proj_txn *other, void *arg), void *arg);
/* Point r at an event's payload. Every event a fold sees had its payload validated once:
 * when it was appended (folio_codec__check_payload) or read back (the envelope is validated
 * whole), so the folds do not validate it again (debug builds assert it). */
int folio_proj__payload(folio_mpr *r, const folio_event *e);

/* A buffer owned by the engine for encoding a record inside apply (no heap in a fold).
 * Lifetime: until the next call on this txn that takes it. */
void folio_proj__scratch(uint8_t **buf_out, size_t *cap_out, folio_proj_txn *txn);
#define FOLIO_PROJ_SCRATCH_BYTES (512u * 1024u)

/* Walk this projection's keys that start with `prefix`, in key order. */
#define FOLIO_PROJ_PREFIX_BYTES_MAX 64u
typedef struct {
    folio_proj_txn *txn;
    void *cursor;
    const uint8_t *prefix;
    size_t prefix_bytes;
    int started;
    int reverse;
} folio_proj_iter;
void folio_proj__iter_init(folio_proj_iter *it, folio_proj_txn *txn, const void *prefix,
                           size_t prefix_bytes);
/* The same walk in reverse key order (the last key with the prefix first); prefix_bytes > 0. */
void folio_proj__iter_init_reverse(folio_proj_iter *it, folio_proj_txn *txn, const void *prefix,
                                   size_t prefix_bytes);
/* FOLIO_OK with the next key/value, FOLIO_ITEROVER past the prefix, or an error. */
int folio_proj__iter_next(folio_proj_iter *it, const void **key, size_t *key_bytes,
                          const void **val, size_t *val_bytes);
void folio_proj__iter_close(folio_proj_iter *it);

/* The registry (projections/registry.c), in sub-database order. */
extern const folio_projection *const folio_registry[];
extern const unsigned folio_registry_count;

#endif /* FOLIO_PROJECTION_H */
