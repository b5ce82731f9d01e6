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
/* A change of the ledger's credit control from `from` to `to` (folio_ledger_init, after its
 * ledger.configured is staged): stage, in the same command, credit_hold.released of every
 * credit_limit hold when `to` no longer checks the limit and of every past_due hold when it
 * no longer checks past-due invoices, and when the limit is newly checked, the credit_limit
 * hold changes the next append would make (folio_docs__limit_check of every customer). One
 * pass over the customers that are not deleted; reserves room for the events it stages. */
int folio_docs__settings_holds(folio_cmd *c, const folio_settings *from, const folio_settings *to);
/* Write the customer's open documents as a msgpack array [{"kind","doc"}...] into w. */
int folio_docs__write_open_list(folio_mpw *w, folio_cmd *c, uint64_t customer);

/* Assert the balance invariant for one customer (debug builds call it after every write). */
int folio_docs__check_invariant(folio_txn *t, uint64_t customer);

#endif
