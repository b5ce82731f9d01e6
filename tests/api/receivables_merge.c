/*
 * tests/api/receivables_merge.c - a merge with open items (SPEC rule 6, section 5): KEEP takes
 * DELETE's open documents and balance, can allocate against them afterwards, states them with
 * the right open amounts as of any date, and has its credit-limit hold looked at again.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(receivables_merge, .init = tmpdb_setup, .fini = tmpdb_teardown);

static folio_write_result merge(const char *keep, const char *del) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep, del, 0, 0));
    return r;
}

static const char *doc_of(int rc, const folio_write_result *r) {
    cr_assert_eq(rc, FOLIO_OK, "%s (%s)", folio_strerror(rc), folio_errmsg());
    return tmpdb_strf("%s", r->doc);
}

/* Named documents, so a statement reads as the story it tells. */
static const char *invoice_named(const char *ref, const char *doc, const char *amount,
                                 const char *date, const char *due) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, doc, date, due};
    return doc_of(folio_invoice_issue(&r, tmpdb, &w, ref, &d), &r);
}

static const char *payment_named(const char *ref, const char *doc, const char *amount,
                                 const char *date) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, doc, date, NULL};
    return doc_of(folio_payment_receive(&r, tmpdb, &w, ref, &d, NULL, 0, 0), &r);
}

static const char *credit_named(const char *ref, const char *doc, const char *amount,
                                const char *date) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, doc, date, NULL};
    return doc_of(folio_credit_note_issue(&r, tmpdb, &w, ref, &d), &r);
}

/*
 * KEEP:   K-INV1 100.00 dated 2026-01-05
 * DELETE: D-INV1 200.00 dated 2026-01-10 due 2026-02-09   open 170 at the merge
 *         D-INV2  50.00 dated 2026-01-12, settled by D-PAY1 on 2026-01-12 (both closed)
 *         D-CN1   20.00 dated 2026-01-15                  open
 *         D-PAY2  70.00 dated 2026-01-20, 30.00 of it to D-INV1 on 2026-01-25
 */
static void two_customers(const char **keep, const char **del) {
    *keep = tmpdb_account(tmpdb, "Keep Ltd", NULL, NULL);
    *del = tmpdb_account(tmpdb, "Keep Limited", NULL, NULL);
    invoice_named(*keep, "K-INV1", "100.00", "2026-01-05", NULL);
    invoice_named(*del, "D-INV1", "200.00", "2026-01-10", "2026-02-09");
    invoice_named(*del, "D-INV2", "50.00", "2026-01-12", NULL);
    payment_named(*del, "D-PAY1", "50.00", "2026-01-12");
    tmpdb_allocate(tmpdb, *del, "D-PAY1", "D-INV2", NULL, "2026-01-12");
    credit_named(*del, "D-CN1", "20.00", "2026-01-15");
    payment_named(*del, "D-PAY2", "70.00", "2026-01-20");
    tmpdb_allocate(tmpdb, *del, "D-PAY2", "D-INV1", "30.00", "2026-01-25");
    cr_assert_str_eq(tmpdb_balance(tmpdb, *del), "110.00");
}

Test(receivables_merge, keep_receives_the_open_documents_and_the_balance) {
    const char *keep, *del;
    two_customers(&keep, &del);
    folio_write_result r = merge(keep, del);
    cr_assert_str_eq(r.ref, keep);
    cr_assert_str_eq(tmpdb_balance(tmpdb, keep), "210.00");
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-31", NULL, 0),
                     "2026-01-05 K-INV1 invoice 100.00 100.00 due 2026-01-05 26d\n"
                     "2026-01-10 D-INV1 invoice 200.00 170.00 due 2026-02-09 0d\n"
                     "2026-01-15 D-CN1 credit_note -20.00 -20.00\n"
                     "2026-01-20 D-PAY2 payment -70.00 -40.00\n"
                     "total 210.00 aging 110.00 100.00 0.00 0.00 0.00\n");
    /* The merge event lists what moved and how much. */
    size_t n = 0;
    folio_event *ev = tmpdb_events_of_type(tmpdb, keep, FOLIO_EV_CUSTOMER_MERGED_FROM, &n);
    cr_assert_eq(n, 1);
    const char *payload = tmpdb_payload_json(&ev[0]);
    cr_assert(strstr(payload, "\"balance\":\"110.00\"") != NULL, "%s", payload);
    cr_assert(strstr(payload, "D-INV1") && strstr(payload, "D-CN1") && strstr(payload, "D-PAY2"),
              "%s", payload);
    cr_assert(strstr(payload, "D-INV2") == NULL && strstr(payload, "D-PAY1") == NULL,
              "closed documents stay behind: %s", payload);
    /* in the order they were issued (the open-item index is kept newest first) */
    cr_assert(strstr(payload, "D-INV1") < strstr(payload, "D-CN1") &&
                  strstr(payload, "D-CN1") < strstr(payload, "D-PAY2"),
              "moved documents out of issue order: %s", payload);
    folio_customer *c = NULL;
    TMPDB_OK(folio_customer_get(&c, tmpdb, del, 0, 1));
    cr_assert(c->deleted);
    cr_assert_str_eq(c->merged_into, keep);
    folio_customer_free(c);
    folio_verify_report rep;
    TMPDB_OK(folio_verify(&rep, tmpdb));
}

Test(receivables_merge, keep_allocates_refunds_and_pays_against_the_moved_documents) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *keep, *del;
    two_customers(&keep, &del);
    merge(keep, del);
    /* The moved payment pays KEEP's own invoice; the moved credit note the moved invoice. */
    tmpdb_allocate(tmpdb, keep, "D-PAY2", "K-INV1", "25.00", "2026-02-01");
    tmpdb_allocate(tmpdb, keep, "D-CN1", "D-INV1", NULL, "2026-02-01");
    tmpdb_issue_refund(tmpdb, keep, "D-PAY2", "5.00", "2026-02-02");
    cr_assert_str_eq(tmpdb_balance(tmpdb, keep), "215.00");
    /* Rule 9 holds across the moved documents. */
    TMPDB_REFUSED(
        tmpdb, FOLIO_ERULE, "rule 9",
        folio_allocate(&r, tmpdb, &w, keep, "D-PAY2", "D-INV1", "10.01", "2026-02-03", 0));
    folio_document_new rd = {"10.01", NULL, "2026-02-03", NULL};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "rule 9",
                  folio_refund_issue(&r, tmpdb, &w, keep, "D-PAY2", &rd));
    /* A new payment with auto allocation: oldest first across both origins. */
    folio_document_new pd = {"240.00", "K-PAY1", "2026-02-05", NULL};
    TMPDB_OK(folio_payment_receive(&r, tmpdb, &w, keep, &pd, NULL, 0, 1));
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-02-05", NULL, 0),
                     "2026-01-20 D-PAY2 payment -70.00 -10.00\n"
                     "2026-02-05 K-PAY1 payment -240.00 -15.00\n"
                     "total -25.00 aging -25.00 0.00 0.00 0.00 0.00\n");
    cr_assert_str_eq(tmpdb_balance(tmpdb, keep), "-25.00");
    /* Before these allocations (business date), the moved documents were open as merged. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-31", NULL, 0),
                     "2026-01-05 K-INV1 invoice 100.00 100.00 due 2026-01-05 26d\n"
                     "2026-01-10 D-INV1 invoice 200.00 170.00 due 2026-02-09 0d\n"
                     "2026-01-15 D-CN1 credit_note -20.00 -20.00\n"
                     "2026-01-20 D-PAY2 payment -70.00 -40.00\n"
                     "total 210.00 aging 110.00 100.00 0.00 0.00 0.00\n");
}

Test(receivables_merge, keep_states_moved_documents_as_of_a_date_before_an_allocation_on_delete) {
    const char *keep, *del;
    two_customers(&keep, &del);
    folio_write_result r = merge(keep, del);
    /* D-PAY2's allocation to D-INV1 is dated 2026-01-25, made on DELETE before the merge. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-22", NULL, 0),
                     "2026-01-05 K-INV1 invoice 100.00 100.00 due 2026-01-05 17d\n"
                     "2026-01-10 D-INV1 invoice 200.00 200.00 due 2026-02-09 0d\n"
                     "2026-01-15 D-CN1 credit_note -20.00 -20.00\n"
                     "2026-01-20 D-PAY2 payment -70.00 -70.00\n"
                     "total 210.00 aging 110.00 100.00 0.00 0.00 0.00\n");
    /* With from: D-INV1 and K-INV1 brought forward. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-22", "2026-01-15", 0),
                     "2026-01-15 D-CN1 credit_note -20.00 -20.00\n"
                     "2026-01-20 D-PAY2 payment -70.00 -70.00\n"
                     "opening 300.00\n"
                     "total 210.00 aging 110.00 100.00 0.00 0.00 0.00\n");
    /* As known before the merge, KEEP had only its own invoice. */
    uint64_t first = 0, last = 0;
    cr_assert_eq(folio_command_bounds(&first, &last, tmpdb, r.seq), FOLIO_OK);
    cr_assert_eq(last, r.seq);
    cr_assert_lt(first, r.seq, "a merge writes several events");
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-22", NULL, first - 1),
                     "2026-01-05 K-INV1 invoice 100.00 100.00 due 2026-01-05 17d\n"
                     "total 100.00 aging 0.00 100.00 0.00 0.00 0.00\n");
    /* As known at any seq inside the merge: at its end, never half-way (the documents in
     * neither customer's statement). */
    const char *after = tmpdb_statement(tmpdb, keep, "2026-01-22", NULL, 0);
    for (uint64_t at = first; at <= r.seq; at++) {
        cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-22", NULL, at), after,
                         "as known at seq %llu", (unsigned long long)at);
        folio_statement *st = NULL;
        cr_assert_eq(folio_statement_get(&st, tmpdb, keep, "2026-01-22", NULL, at), FOLIO_OK);
        cr_assert_eq(st->at_seq, r.seq, "the seq it is as known at");
        folio_statement_free(st);
    }
}

/* As of a date when DELETE still owed less (a payment not yet allocated), KEEP's statement
 * should show DELETE's position then, as it would have read on DELETE itself.
 * Fixed (was a bug in engine/statement.c (fold_stream, customer.merged_from) pushes only
 * the documents listed in the merge, i.e. those still open at the merge; a payment that was
 * open on the as-of date but fully allocated before the merge is dropped, while the invoice
 * it paid is shown at its older, larger open amount. Repro: folio create Keep; folio create
 * Del; folio invoice CUST-000002 100 --doc D-INV --date 2026-01-10; folio pay CUST-000002 60
 * --doc D-PAY --date 2026-02-01; folio allocate CUST-000002 --from D-PAY --to D-INV --date
 * 2026-02-10; folio merge --keep CUST-000001 --delete CUST-000002; folio statement
 * CUST-000001 --as-of 2026-02-05 --json -> total_open "100.00", lines D-INV only (expected
 * D-INV 100.00 and D-PAY -60.00, total 40.00, what Del's own statement said that day). */
Test(receivables_merge, keep_states_documents_delete_settled_before_the_merge_as_of_earlier) {
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, NULL);
    const char *del = tmpdb_account(tmpdb, "Del", NULL, NULL);
    invoice_named(del, "D-INV", "100.00", "2026-01-10", NULL);
    payment_named(del, "D-PAY", "60.00", "2026-02-01");
    tmpdb_allocate(tmpdb, del, "D-PAY", "D-INV", NULL, "2026-02-10");
    const char *before = tmpdb_statement(tmpdb, del, "2026-02-05", NULL, 0);
    cr_assert_str_eq(before, "2026-01-10 D-INV invoice 100.00 100.00 due 2026-01-10 26d\n"
                             "2026-02-01 D-PAY payment -60.00 -60.00\n"
                             "total 40.00 aging -60.00 100.00 0.00 0.00 0.00\n");
    merge(keep, del);
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-02-05", NULL, 0), before);
}

Test(receivables_merge, merges_nest_and_keep_states_documents_of_every_generation) {
    const char *a = tmpdb_account(tmpdb, "Grandparent", NULL, NULL);
    const char *b = tmpdb_account(tmpdb, "Parent", NULL, NULL);
    const char *c = tmpdb_account(tmpdb, "Child", NULL, NULL);
    invoice_named(c, "C-INV", "30.00", "2026-01-03", NULL);
    payment_named(c, "C-PAY", "10.00", "2026-01-03");
    tmpdb_allocate(tmpdb, c, "C-PAY", "C-INV", NULL, "2026-01-04");
    invoice_named(b, "B-INV", "40.00", "2026-01-06", NULL);
    merge(b, c);
    merge(a, b);
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "60.00");
    cr_assert_str_eq(tmpdb_statement(tmpdb, a, "2026-01-31", NULL, 0),
                     "2026-01-03 C-INV invoice 30.00 20.00 due 2026-01-03 28d\n"
                     "2026-01-06 B-INV invoice 40.00 40.00 due 2026-01-06 25d\n"
                     "total 60.00 aging 0.00 60.00 0.00 0.00 0.00\n");
}

Test(receivables_merge, the_merge_places_a_credit_limit_hold_on_keep_when_it_goes_over) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, "500.00");
    const char *del = tmpdb_account(tmpdb, "Del", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, keep, "400.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, del, "200.00", "2026-01-10", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, keep), "");
    merge(keep, del);
    cr_assert_str_eq(tmpdb_balance(tmpdb, keep), "600.00");
    cr_assert_str_eq(tmpdb_holds(tmpdb, keep), "credit_limit");
    size_t n = 0;
    folio_event *ev = tmpdb_events_of_type(tmpdb, keep, FOLIO_EV_CREDIT_HOLD_PLACED, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(ev[0].actor, "credit-control");
    cr_assert_str_eq(tmpdb_payload_json(&ev[0]),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"600.00\","
                     "\"limit\":\"500.00\"}}");
}

Test(receivables_merge, the_merge_releases_keeps_credit_limit_hold_when_delete_brings_credit) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, "500.00");
    const char *del = tmpdb_account(tmpdb, "Del", NULL, "1.00");
    tmpdb_issue_invoice(tmpdb, keep, "600.00", "2026-01-10", NULL);
    tmpdb_receive_payment(tmpdb, del, "150.00", "2026-01-10", 0);
    cr_assert_str_eq(tmpdb_holds(tmpdb, keep), "credit_limit");
    merge(keep, del);
    cr_assert_str_eq(tmpdb_balance(tmpdb, keep), "450.00");
    cr_assert_str_eq(tmpdb_holds(tmpdb, keep), "");
    size_t n = 0;
    folio_event *ev = tmpdb_events_of_type(tmpdb, keep, FOLIO_EV_CREDIT_HOLD_RELEASED, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(tmpdb_payload_json(&ev[0]),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"450.00\","
                     "\"limit\":\"500.00\"}}");
    /* The moved payment settles KEEP's invoice. */
    tmpdb_allocate(tmpdb, keep, "PAY-000001", NULL, NULL, "2026-01-11");
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-11", NULL, 0),
                     "2026-01-10 INV-000001 invoice 600.00 450.00 due 2026-01-10 1d\n"
                     "total 450.00 aging 0.00 450.00 0.00 0.00 0.00\n");
}

Test(receivables_merge, a_customer_with_documents_leaves_by_merge_not_by_delete,
     .disabled = TMPDB_UB_EMPTY_ARRAYS) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, NULL);
    const char *del = tmpdb_account(tmpdb, "Del", NULL, NULL);
    const char *p = tmpdb_receive_payment(tmpdb, del, "10.00", "2026-01-10", 0);
    tmpdb_issue_refund(tmpdb, del, p, "10.00", "2026-01-11");
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "rule 5",
                  folio_customer_set_status(&r, tmpdb, &w, del, "deleted"));
    merge(keep, del);
    cr_assert_str_eq(tmpdb_balance(tmpdb, keep), "0.00");
    cr_assert_str_eq(tmpdb_statement(tmpdb, keep, "2026-01-31", NULL, 0),
                     "total 0.00 aging 0.00 0.00 0.00 0.00 0.00\n");
}
