/*
 * tests/support/proj_state.h - for engine tests (they include engine/internal.h first):
 * make a projection look as an older folio left it.
 */
#ifndef FOLIO_TESTS_PROJ_STATE_H
#define FOLIO_TESTS_PROJ_STATE_H
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tmpdb.h"

/* Write projection `name`'s state record ("\0proj.<name>", docs/FORMAT.md root records) as
 * built by code `version` up to the ledger's last seq, behind the engine's back: the next
 * read-write open rebuilds it when `version` is not the code's. */
static inline void tmpdb_set_projection_version(const char *name, uint32_t version) {
    char key[64];
    uint8_t state[FOLIO_PROJ_STATE_BYTES];
    int kn = snprintf(key, sizeof key, "%cproj.%s", 0, name);
    cr_assert(kn > 0 && (size_t)kn < sizeof key);
    folio__put_le32(state, version);
    folio__put_le64(state + 4, tmpdb_last_seq(tmpdb));
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, key, (size_t)kn, state, sizeof state, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

#endif
