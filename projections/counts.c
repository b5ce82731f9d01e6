/*
 * projections/counts.c - number of events of each type.
 * Keys: u32 big-endian type id (so a cursor would list types in id order).
 * Values: u64 little-endian count.
 * Invariant: the counts add up to the number of events in the log.
 */
#include "counts.h"

#include <string.h>

static void type_key(uint8_t key[4], uint32_t type) {
    key[0] = (uint8_t)(type >> 24);
    key[1] = (uint8_t)(type >> 16);
    key[2] = (uint8_t)(type >> 8);
    key[3] = (uint8_t)type;
}



static int counts_apply(folio_proj_txn *txn, const folio_event *event) {
    uint8_t key[4], val[8];
    const void *cur;
    size_t cur_bytes;
    uint64_t n = 0;
    type_key(key, event->type);
    int rc = folio_proj__get(&cur, &cur_bytes, txn, key, sizeof key);
    if (rc == FOLIO_OK && cur_bytes == 8)
        n = folio__get_le64(cur);
    else if (rc == FOLIO_OK)
        return folio_proj__fail(FOLIO_ECORRUPT, "projection 'counts' holds a malformed count");
    else if (rc != FOLIO_ENOTFOUND)
        return rc;
    folio__put_le64(val, n + 1);
    return folio_proj__put(txn, key, sizeof key, val, sizeof val);
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
    .version = 1,
    .apply = counts_apply,
    .reset = NULL,
};
