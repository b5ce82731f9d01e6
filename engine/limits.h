/*
 * engine/limits.h - every internal limit, with the reason for its value.
 * Caller-facing limits are defined in include/folio.h and checked here against each other.
 */
#ifndef FOLIO_LIMITS_H
#define FOLIO_LIMITS_H

#include "folio.h"

/* Frame header: chain hash (16) + frame checksum (4) + frame format (1) + prev seq (8). */
#define FOLIO_FRAME_HEADER_BYTES 29u

/* Largest envelope overhead around a payload: the map header, fourteen small keys, five
 * uint64 fields (9 bytes each), the four strings with their 5-byte headers, the request
 * hash (2 + 16 bytes), the command mark (a uint32: 5 bytes), and slack. */
#define FOLIO_ENVELOPE_OVERHEAD_MAX                                                          \
    (16u + 14u + 5u * 9u + FOLIO_ACTOR_BYTES_MAX + FOLIO_REASON_BYTES_MAX +                  \
     FOLIO_CORRELATION_BYTES_MAX + FOLIO_IDEMPOTENCY_KEY_BYTES_MAX + 4u * 5u + 18u + 5u + 5u)

/* The largest command mark (envelope key 13): the events of one command after its first. A
 * command is not bounded by FOLIO_BATCH_EVENTS_MAX (a settings change places or releases a
 * hold per customer); the mark is a uint32, and a command that staged more events than that
 * would not fit in memory first (folio_log__append_txn asserts it). */
#define FOLIO_COMMAND_FOLLOWS_MAX UINT32_MAX

_Static_assert(FOLIO_FRAME_HEADER_BYTES + FOLIO_ENVELOPE_OVERHEAD_MAX + FOLIO_PAYLOAD_BYTES_MAX <=
                   FOLIO_EVENT_BYTES_MAX,
               "a payload of the largest allowed size must always fit in one frame");

/* Initial map size of a new ledger: LMDB maps address space, not disk, so this is cheap. */
#define FOLIO_MAP_BYTES_DEFAULT (256ull * 1024u * 1024u)
/* Smallest map a caller may ask for (tests use small maps to exercise growth). */
#define FOLIO_MAP_BYTES_MIN (256ull * 1024u)
/* Largest map folio grows to: past this the ledger reports FOLIO_EFULL. */
#define FOLIO_MAP_BYTES_MAX (1ull << 40)
/* A write that finds the map full grows it and retries at most this many times. */
#define FOLIO_GROW_RETRY_MAX 32u

/* Events a log iterator copies out of one short read transaction. Iterators never hold a
 * read transaction between calls, so the map can grow while they are open. */
#define FOLIO_ITER_BATCH_COUNT_MAX 256u

/* Events verify checks per read-transaction snapshot is unbounded: it reads one snapshot. */

/* Databases of the environment: meta, log, streams, idem, scratch, LMDB's main database
 * (engine/internal.h FOLIO_DB_ROOT), and one per projection. */
#define FOLIO_PROJECTIONS_MAX 16u
#define FOLIO_DBS_MAX (6u + FOLIO_PROJECTIONS_MAX)

/* On-disk format versions this code reads: FOLIO_FORMAT_OLDEST to FOLIO_FORMAT_VERSION; a
 * larger or smaller one is refused at open. 2: the log head, its counts and the projection
 * states are root records (format 1 kept the head in 'meta': a format 1 folio reads a
 * format 2 ledger as empty). 3: the idempotency index may hold records of format 2 (a keyed
 * command that changed nothing), which a format-2 folio takes for damage: a ledger is
 * created as format 2 and raised to 3 by the transaction that writes the first such
 * record, so that a format-2 folio refuses it as newer instead. */
#define FOLIO_FORMAT_VERSION 3u
#define FOLIO_FORMAT_OLDEST 2u
#define FOLIO_FORMAT_CREATED 2u
/* Frame format byte and envelope format this code writes. */
#define FOLIO_FRAME_FORMAT 1u
#define FOLIO_ENVELOPE_FORMAT 1u

#endif /* FOLIO_LIMITS_H */
