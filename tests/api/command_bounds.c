/*
 * tests/api/command_bounds.c - "as known at seq N" never shows a state that never existed:
 * a seq inside a command (a merge, a creation, a document that places a credit hold) is
 * answered at the command's end, which the answer names; a ledger written before command
 * marks answers per event, as it always did.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(command_bounds, .init = tmpdb_setup, .fini = tmpdb_teardown);

static folio_write_result merge(const char *keep, const char *del) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep, del, 0, 0));
    return r;
}

static void bounds(uint64_t seq, uint64_t *first, uint64_t *last) {
    TMPDB_OK(folio_command_bounds(first, last, tmpdb, seq));
    cr_assert_leq(*first, seq);
    cr_assert_geq(*last, seq);
}

/* Mid-merge, the money was in neither customer: no seq inside the merge answers that. */
Test(command_bounds, a_card_inside_a_merge_is_the_card_at_its_end) {
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, NULL);
    const char *del = tmpdb_account(tmpdb, "Del", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, keep, "100.00", "2026-01-05", NULL);
    tmpdb_issue_invoice(tmpdb, del, "250.00", "2026-01-06", NULL);
    uint64_t before = tmpdb_last_seq(tmpdb);
    folio_write_result r = merge(keep, del);
    tmpdb_account(tmpdb, "Later", NULL, NULL); /* so the merge is not the head */
    uint64_t first = 0, last = 0;
    bounds(r.seq, &first, &last);
    cr_assert_eq(first, before + 1, "the merge begins after the last write before it");
    cr_assert_eq(last, r.seq);
    cr_assert_geq(last - first, 2, "merged_into, status_changed, merged_from");
    for (uint64_t at = first; at <= last; at++) {
        uint64_t f = 0, l = 0;
        bounds(at, &f, &l);
        cr_assert_eq(f, first);
        cr_assert_eq(l, last);
        folio_customer *k = tmpdb_card_at(tmpdb, keep, at, 0);
        cr_assert_str_eq(k->balance, "350.00", "KEEP as known at seq %llu", (unsigned long long)at);
        cr_assert_eq(k->at_seq, last);
        folio_customer *d = NULL;
        cr_assert_eq(folio_customer_get(&d, tmpdb, del, at, 0), FOLIO_ENOTFOUND,
                     "DELETE as known at seq %llu is merged away", (unsigned long long)at);
        cr_assert(strstr(folio_errmsg(), "merged into") != NULL, "%s", folio_errmsg());
        d = tmpdb_card_at(tmpdb, del, at, 1);
        cr_assert_eq(d->deleted, 1);
        cr_assert_str_eq(d->balance, "0.00");
    }
    /* just before it, each had its own */
    cr_assert_str_eq(tmpdb_card_at(tmpdb, keep, before, 0)->balance, "100.00");
    cr_assert_str_eq(tmpdb_card_at(tmpdb, del, before, 0)->balance, "250.00");
    cr_assert_eq(tmpdb_card_at(tmpdb, del, before, 0)->at_seq, before);
}

/* A document that takes the balance over the credit limit writes credit_hold.placed in the
 * same command: as known at the document, the customer is on hold. */
Test(command_bounds, a_document_and_the_hold_it_places_are_one_answer) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *ref = tmpdb_account(tmpdb, "Acme", NULL, "100.00");
    tmpdb_issue_invoice(tmpdb, ref, "150.00", NULL, NULL);
    uint64_t head = tmpdb_last_seq(tmpdb), first = 0, last = 0;
    bounds(head, &first, &last);
    cr_assert_eq(first, head - 1, "invoice.issued then credit_hold.placed");
    tmpdb_account(tmpdb, "Later", NULL, NULL);
    folio_customer *c = tmpdb_card_at(tmpdb, ref, first, 0);
    cr_assert_eq(c->on_hold, 1);
    cr_assert_eq(c->at_seq, head);
}

/* A ledger written before command marks: every event is its own command, and the queries
 * answer as known right after it, as before. Such a ledger is made here by restoring a
 * ledger's events without their marks (what an older folio wrote); it passes verify. */
Test(command_bounds, a_ledger_without_marks_answers_per_event) {
    const char *ref = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    tmpdb_account(tmpdb, "Other", NULL, NULL);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 5, "settings, then two creations of two events each");
    folio_restore_item items[5];
    for (size_t i = 0; i < n; i++) items[i] = (folio_restore_item){log[i], NULL, NULL, 0};
    folio_db *old = tmpdb_open(tmpdb_path("old.db"), NULL);
    TMPDB_OK(folio_restore_append(old, items, n));
    folio_verify_report r;
    TMPDB_OK(folio_verify(&r, old));
    uint64_t first = 0, last = 0;
    for (uint64_t s = 1; s <= n; s++) {
        TMPDB_OK(folio_command_bounds(&first, &last, old, s));
        cr_assert_eq(first, s);
        cr_assert_eq(last, s);
    }
    /* as known at customer.created: no currency yet, as an older folio answered */
    folio_customer *born = tmpdb_card_at(old, ref, 2, 0);
    cr_assert_eq(born->version, 1);
    cr_assert_null(born->currency);
    cr_assert_eq(born->at_seq, 2);
    /* the same seq on the ledger with marks: the creation's end */
    folio_customer *now = tmpdb_card_at(tmpdb, ref, 2, 0);
    cr_assert_eq(now->version, 2);
    cr_assert_str_eq(now->currency, "USD");
    cr_assert_eq(now->at_seq, 3);
    /* the head is still the limit */
    folio_customer *x = NULL;
    cr_assert_eq(folio_customer_get(&x, old, ref, n + 1, 0), FOLIO_EINVAL);
}
