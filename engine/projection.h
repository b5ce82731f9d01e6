/*
 * engine/projection.h - the whole contract between the engine and a read model.
 * A projection owns sub-database "proj.<name>" and nothing else; it sees keys and values,
 * never LMDB or msgpack. `apply` is a pure fold: no clock, randomness, globals or heap.
 * It runs inside the append's write transaction, so log and projections never disagree.
 * The engine records, per projection, the code version that built it and the last seq it
 * folded (meta key "proj.<name>"): it applies each event exactly once, and rebuilds a
 * projection by replay when its version changes.
 */
#ifndef FOLIO_PROJECTION_H
#define FOLIO_PROJECTION_H

#include <stddef.h>
#include <stdint.h>

#include "folio.h"

typedef struct folio_proj_txn folio_proj_txn;

typedef struct folio_projection {
    const char *name; /* owns sub-database "proj.<name>" */
    uint32_t version; /* bump when the fold changes: the engine rebuilds it by replay */
    /* Fold one event. Events of types it does not handle are ignored on purpose. */
    int (*apply)(folio_proj_txn *txn, const folio_event *event);
    /* Called on an emptied sub-database before a rebuild; may be NULL. */
    int (*reset)(folio_proj_txn *txn);
} folio_projection;

/* Read a value of this projection. Lifetime: until the transaction ends or the key is
 * written. @return FOLIO_OK, FOLIO_ENOTFOUND. */
int folio_proj__get(const void **val_out, size_t *val_bytes_out, folio_proj_txn *txn,
                    const void *key, size_t key_bytes);
int folio_proj__put(folio_proj_txn *txn, const void *key, size_t key_bytes, const void *val,
                    size_t val_bytes);
int folio_proj__del(folio_proj_txn *txn, const void *key, size_t key_bytes);

/* The registry (projections/registry.c), in sub-database order. */
extern const folio_projection *const folio_registry[];
extern const unsigned folio_registry_count;

#endif /* FOLIO_PROJECTION_H */
