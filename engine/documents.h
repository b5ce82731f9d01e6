/*
 * engine/documents.h - receivables helpers shared with the customer commands (merge).
 */
#ifndef FOLIO_DOCUMENTS_H
#define FOLIO_DOCUMENTS_H

#include "../projections/directory.h"
#include "command.h"

/* Credit control by limit: stage credit_hold.placed or .released for `card` if its balance
 * after this command (`new_balance`) and its credit limit after it (`limit`, NULL text: none)
 * put it on the other side of the limit (settings limit or both). */
int folio_docs__limit_check(folio_cmd *c, const folio_dir_rec *card, folio_dstr limit,
                            const folio_settings *set, int64_t new_balance);
/* Write the customer's open documents as a msgpack array [{"kind","doc"}...] into w. */
int folio_docs__write_open_list(folio_mpw *w, folio_cmd *c, uint64_t customer);

/* Assert the balance invariant for one customer (debug builds call it after every write). */
int folio_docs__check_invariant(folio_txn *t, uint64_t customer);

#endif
