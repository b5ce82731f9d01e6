/*
 * projections/registry.c - every read model folio maintains, in sub-database order.
 * Appending a projection here adds its sub-database on the next read-write open, which
 * also builds it by replaying the log. (The number of events of each type and of streams is
 * not a projection: the log keeps it with its head, engine/log.c.)
 */
#include "directory.h"
#include "receivables.h"

const folio_projection *const folio_registry[] = {
    &folio_directory_projection,
    &folio_receivables_projection,
};
const unsigned folio_registry_count = sizeof folio_registry / sizeof folio_registry[0];
