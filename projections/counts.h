/*
 * projections/counts.h - events per type, for `folio stats`.
 */
#ifndef FOLIO_COUNTS_H
#define FOLIO_COUNTS_H

#include "../engine/projection.h"

extern const folio_projection folio_counts_projection;

/* Fill counts[0..n) with the number of events of each type id (ids >= n are skipped). */
int folio_counts__get(uint64_t *counts, unsigned n, folio_proj_txn *txn);
/* The number of streams (of events with version 1). */
int folio_counts__streams(uint64_t *out, folio_proj_txn *txn);

#endif
