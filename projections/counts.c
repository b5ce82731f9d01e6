/*
 * projections/counts.c - number of events of each type, and of streams.
 * Keys: u32 big-endian type id (so a cursor would list types in id order) -> u64 LE count;
 *       "s" -> u64 LE number of streams (events with version 1).
 * Invariants: the type counts add up to the number of events in the log; "s" is the number
 * of stream records in "streams" (which also hold projections' records: not counted there).
 */
#include "counts.h"

#include <string.h>

static void type_key(uint8_t key[4], uint32_t type) {
    key[0] = (uint8_t)(type >> 24);
    key[1] = (uint8_t)(type >> 16);
    key[2] = (uint8_t)(type >> 8);
    key[3] = (uint8_t)type;
}

static int bump(folio_proj_txn *txn, const uint8_t *key, size_t key_bytes) {
    uint8_t val[8];
    const void *cur;
    size_t cur_bytes;
    uint64_t n = 0;
    int rc = folio_proj__get(&cur, &cur_bytes, txn, key, key_bytes);
    if (rc == FOLIO_OK && cur_bytes == 8)
        n = folio__get_le64(cur);
    else if (rc == FOLIO_OK)
        return folio_proj__fail(FOLIO_ECORRUPT, "projection 'counts' holds a malformed count");
    else if (rc != FOLIO_ENOTFOUND)
        return rc;
    folio__put_le64(val, n + 1);
    return folio_proj__put(txn, key, key_bytes, val, sizeof val);
}

static int counts_apply(folio_proj_txn *txn, const folio_event *event) {
    uint8_t key[4];
    type_key(key, event->type);
    int rc = bump(txn, key, sizeof key);
    if (rc == FOLIO_OK && event->version == 1) rc = bump(txn, (const uint8_t *)"s", 1);
    return rc;
}

int folio_counts__streams(uint64_t *out, folio_proj_txn *txn) {
    const void *cur;
    size_t cur_bytes;
    *out = 0;
    int rc = folio_proj__get(&cur, &cur_bytes, txn, "s", 1);
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK;
    if (rc < 0) return rc;
    if (cur_bytes != 8)
        return folio_proj__fail(FOLIO_ECORRUPT, "projection 'counts' holds a malformed count");
    *out = folio__get_le64(cur);
    return FOLIO_OK;
}

int folio_counts__get(uint64_t *counts, unsigned n, folio_proj_txn *txn) {
    memset(counts, 0, n * sizeof *counts);
    for (uint32_t type = 0; type < n; type++) {
        uint8_t key[4];
        const void *cur;
        size_t cur_bytes;
        type_key(key, type);
        int rc = folio_proj__get(&cur, &cur_bytes, txn, key, sizeof key);
        if (rc == FOLIO_ENOTFOUND) continue;
        if (rc < 0) return rc;
        if (cur_bytes != 8)
            return folio_proj__fail(FOLIO_ECORRUPT, "projection 'counts' holds a malformed count");
        counts[type] = folio__get_le64(cur);
    }
    return FOLIO_OK;
}

const folio_projection folio_counts_projection = {
    .name = "counts",
    .version = 2, /* 2: the number of streams */
    .apply = counts_apply,
    .reset = NULL,
};
