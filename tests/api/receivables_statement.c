/*
 * tests/api/receivables_statement.c - folio_statement_get (SPEC section 5): a scripted ledger
 * with partial payments, a credit note, a refund and back-dated documents, read as of dates
 * before and after each allocation, with --from (opening balance) and --at-seq (as known
 * then); aging buckets at their boundaries; refusals.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(receivables_statement, .init = tmpdb_setup, .fini = tmpdb_teardown);

/*
 * The script (amounts USD):
 *   1  INV-000001 100.00  dated 2026-01-05 due 2026-02-04
 *   2  INV-000002 250.00  dated 2026-01-20 due 2026-02-19
 *   3  CN-000001   30.00  dated 2026-01-25
 *   4  PAY-000001 120.00  dated 2026-02-10, applied 100.00 to INV-000001 and 20.00 to INV-000002
 *   5  INV-000003  80.00  dated 2026-01-02 due 2026-01-02 (back-dated: recorded after 4)
 *   6  CN-000001 allocated to INV-000002 (30.00) on 2026-03-01
 *   7  PAY-000002 200.00  dated 2026-03-05, not allocated
 *   8  RF-000001   50.00  out of PAY-000002, dated 2026-03-10
 *   9  PAY-000002 allocated automatically on 2026-03-15: 80.00 to INV-000003, 70.00 to INV-000002
 *  10  INV-000004  40.00  dated 2026-04-01 due 2026-05-01
 */
typedef struct {
    const char *ref;
    uint64_t seq_after[11]; /* the log's last seq after step n */
} script;

static script run_script(void) {
    script s;
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    memset(&s, 0, sizeof s);
    s.ref = tmpdb_account(tmpdb, "Statement Co", "USD", NULL);
    s.seq_after[0] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_issue_invoice(tmpdb, s.ref, "100.00", "2026-01-05", "2026-02-04"),
                     "INV-000001");
    s.seq_after[1] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_issue_invoice(tmpdb, s.ref, "250.00", "2026-01-20", "2026-02-19"),
                     "INV-000002");
    s.seq_after[2] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_issue_credit_note(tmpdb, s.ref, "30.00", "2026-01-25"), "CN-000001");
    s.seq_after[3] = tmpdb_last_seq(tmpdb);
    folio_apply ap[] = {{"INV-000001", "100.00"}, {"INV-000002", "20.00"}};
    folio_document_new pd = {"120.00", NULL, "2026-02-10", NULL};
    TMPDB_OK(folio_payment_receive(&r, tmpdb, &w, s.ref, &pd, ap, 2, 0));
    cr_assert_str_eq(r.doc, "PAY-000001");
    s.seq_after[4] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_issue_invoice(tmpdb, s.ref, "80.00", "2026-01-02", "2026-01-02"),
                     "INV-000003");
    s.seq_after[5] = tmpdb_last_seq(tmpdb);
    tmpdb_allocate(tmpdb, s.ref, "CN-000001", "INV-000002", "30.00", "2026-03-01");
    s.seq_after[6] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_receive_payment(tmpdb, s.ref, "200.00", "2026-03-05", 0), "PAY-000002");
    s.seq_after[7] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_issue_refund(tmpdb, s.ref, "PAY-000002", "50.00", "2026-03-10"),
                     "RF-000001");
    s.seq_after[8] = tmpdb_last_seq(tmpdb);
    tmpdb_allocate(tmpdb, s.ref, "PAY-000002", NULL, NULL, "2026-03-15");
    s.seq_after[9] = tmpdb_last_seq(tmpdb);
    cr_assert_str_eq(tmpdb_issue_invoice(tmpdb, s.ref, "40.00", "2026-04-01", "2026-05-01"),
                     "INV-000004");
    s.seq_after[10] = tmpdb_last_seq(tmpdb);
    /* 470 invoiced - 30 credited - 320 paid + 50 refunded */
    cr_assert_str_eq(tmpdb_balance(tmpdb, s.ref), "170.00");
    return s;
}

Test(receivables_statement, before_any_allocation_every_document_is_open_in_full) {
    script s = run_script();
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-01-31", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 29d\n"
                     "2026-01-05 INV-000001 invoice 100.00 100.00 due 2026-02-04 0d\n"
                     "2026-01-20 INV-000002 invoice 250.00 250.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "total 400.00 aging 320.00 80.00 0.00 0.00 0.00\n");
}

Test(receivables_statement, an_allocation_counts_from_its_own_date_on) {
    script s = run_script();
    /* The day before the payment: nothing allocated yet, the payment absent. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-02-09", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 38d\n"
                     "2026-01-05 INV-000001 invoice 100.00 100.00 due 2026-02-04 5d\n"
                     "2026-01-20 INV-000002 invoice 250.00 250.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "total 400.00 aging 220.00 100.00 80.00 0.00 0.00\n");
    /* On the payment's date: INV-000001 settled, INV-000002 partly paid, payment used up. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-02-10", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 39d\n"
                     "2026-01-20 INV-000002 invoice 250.00 230.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "total 280.00 aging 200.00 0.00 80.00 0.00 0.00\n");
    /* The credit note's allocation is dated 2026-03-01: the day before it is still open. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-02-28", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 57d\n"
                     "2026-01-20 INV-000002 invoice 250.00 230.00 due 2026-02-19 9d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "total 280.00 aging -30.00 230.00 80.00 0.00 0.00\n");
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-01", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 58d\n"
                     "2026-01-20 INV-000002 invoice 250.00 200.00 due 2026-02-19 10d\n"
                     "total 280.00 aging 0.00 200.00 80.00 0.00 0.00\n");
}

Test(receivables_statement, a_refund_reduces_the_unallocated_payment_from_its_date) {
    script s = run_script();
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-09", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 66d\n"
                     "2026-01-20 INV-000002 invoice 250.00 200.00 due 2026-02-19 18d\n"
                     "2026-03-05 PAY-000002 payment -200.00 -200.00\n"
                     "total 80.00 aging -200.00 200.00 0.00 80.00 0.00\n");
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-12", NULL, 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 69d\n"
                     "2026-01-20 INV-000002 invoice 250.00 200.00 due 2026-02-19 21d\n"
                     "2026-03-05 PAY-000002 payment -200.00 -150.00\n"
                     "total 130.00 aging -150.00 200.00 0.00 80.00 0.00\n");
}

Test(receivables_statement, a_document_dated_after_the_statement_date_is_absent) {
    script s = run_script();
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-31", NULL, 0),
                     "2026-01-20 INV-000002 invoice 250.00 130.00 due 2026-02-19 40d\n"
                     "total 130.00 aging 0.00 0.00 130.00 0.00 0.00\n");
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-04-15", NULL, 0),
                     "2026-01-20 INV-000002 invoice 250.00 130.00 due 2026-02-19 55d\n"
                     "2026-04-01 INV-000004 invoice 40.00 40.00 due 2026-05-01 0d\n"
                     "total 170.00 aging 40.00 0.00 130.00 0.00 0.00\n");
}

Test(receivables_statement, from_lists_documents_dated_from_it_and_brings_the_rest_forward) {
    script s = run_script();
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-04-15", "2026-03-01", 0),
                     "2026-04-01 INV-000004 invoice 40.00 40.00 due 2026-05-01 0d\n"
                     "opening 130.00\n"
                     "total 170.00 aging 40.00 0.00 130.00 0.00 0.00\n");
    /* INV-000001 (dated before from) is settled as of 2026-02-10: only INV-000003 is carried. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-02-10", "2026-01-10", 0),
                     "2026-01-20 INV-000002 invoice 250.00 230.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "opening 80.00\n"
                     "total 280.00 aging 200.00 0.00 80.00 0.00 0.00\n");
    /* A document dated exactly on from is a line; from on the statement date is allowed. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-09", "2026-03-05", 0),
                     "2026-03-05 PAY-000002 payment -200.00 -200.00\n"
                     "opening 280.00\n"
                     "total 80.00 aging -200.00 200.00 0.00 80.00 0.00\n");
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-04-15", "2026-04-15", 0),
                     "opening 170.00\n"
                     "total 170.00 aging 40.00 0.00 130.00 0.00 0.00\n");
    /* From before everything: opening 0, every open document a line. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-01-31", "2025-01-01", 0),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 29d\n"
                     "2026-01-05 INV-000001 invoice 100.00 100.00 due 2026-02-04 0d\n"
                     "2026-01-20 INV-000002 invoice 250.00 250.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "opening 0.00\n"
                     "total 400.00 aging 320.00 80.00 0.00 0.00 0.00\n");
}

Test(receivables_statement, at_seq_answers_as_the_ledger_knew_it_then) {
    script s = run_script();
    /* Before the payment was recorded, and before the back-dated INV-000003 was. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-02-10", NULL, s.seq_after[3]),
                     "2026-01-05 INV-000001 invoice 100.00 100.00 due 2026-02-04 6d\n"
                     "2026-01-20 INV-000002 invoice 250.00 250.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "total 320.00 aging 220.00 100.00 0.00 0.00 0.00\n");
    /* After the payment, before INV-000003 was recorded. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-02-10", NULL, s.seq_after[4]),
                     "2026-01-20 INV-000002 invoice 250.00 230.00 due 2026-02-19 0d\n"
                     "2026-01-25 CN-000001 credit_note -30.00 -30.00\n"
                     "total 200.00 aging 200.00 0.00 0.00 0.00 0.00\n");
    /* As known before PAY-000002, as of a date long after. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-05-31", NULL, s.seq_after[6]),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 149d\n"
                     "2026-01-20 INV-000002 invoice 250.00 200.00 due 2026-02-19 101d\n"
                     "total 280.00 aging 0.00 0.00 0.00 0.00 280.00\n");
    /* After the refund, before the automatic allocation. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-31", NULL, s.seq_after[8]),
                     "2026-01-02 INV-000003 invoice 80.00 80.00 due 2026-01-02 88d\n"
                     "2026-01-20 INV-000002 invoice 250.00 200.00 due 2026-02-19 40d\n"
                     "2026-03-05 PAY-000002 payment -200.00 -150.00\n"
                     "total 130.00 aging -150.00 0.00 200.00 80.00 0.00\n");
    /* A seq beyond the head is refused, naming the head (the answer would change once that
     * seq is written); the statement says which seq it answers. */
    folio_statement *st = NULL;
    cr_assert_eq(folio_statement_get(&st, tmpdb, s.ref, "2026-04-15", NULL, s.seq_after[10] + 1),
                 FOLIO_EINVAL);
    cr_assert_null(st);
    cr_assert(strstr(folio_errmsg(), tmpdb_strf("last seq %llu",
                                                (unsigned long long)s.seq_after[10])),
              "%s", folio_errmsg());
    TMPDB_OK(folio_statement_get(&st, tmpdb, s.ref, "2026-04-15", NULL, s.seq_after[10]));
    cr_assert_eq(st->at_seq, s.seq_after[10]);
    cr_assert_str_eq(st->total_open, "170.00");
    folio_statement_free(st);
    TMPDB_OK(folio_statement_get(&st, tmpdb, s.ref, "2026-04-15", NULL, 0));
    cr_assert_eq(st->at_seq, s.seq_after[10], "now: the head");
    folio_statement_free(st);
    TMPDB_OK(folio_statement_get(&st, tmpdb, s.ref, "2026-04-15", NULL, s.seq_after[4]));
    cr_assert_eq(st->at_seq, s.seq_after[4]);
    folio_statement_free(st);
    /* Seq 1, the ledger's settings, was written by the customer's creation (a write on a new
     * ledger configures it): as known at it is as known at the creation's end, an empty
     * statement, not "no such customer". */
    uint64_t first = 0, last = 0;
    TMPDB_OK(folio_command_bounds(&first, &last, tmpdb, 1));
    cr_assert_eq(first, 1);
    TMPDB_OK(folio_statement_get(&st, tmpdb, s.ref, "2026-04-15", NULL, 1));
    cr_assert_eq(st->at_seq, last);
    cr_assert_eq(st->line_count, 0);
    cr_assert_str_eq(st->total_open, "0.00");
    folio_statement_free(st);
}

Test(receivables_statement, at_seq_and_from_and_as_of_combine) {
    script s = run_script();
    cr_assert_str_eq(tmpdb_statement(tmpdb, s.ref, "2026-03-12", "2026-03-01", s.seq_after[8]),
                     "2026-03-05 PAY-000002 payment -200.00 -150.00\n"
                     "opening 280.00\n"
                     "total 130.00 aging -150.00 200.00 0.00 80.00 0.00\n");
}

/* Days overdue 0 | 1 30 | 31 60 | 61 90 | 91: each bucket's edges, one invoice on each. */
Test(receivables_statement, aging_buckets_split_at_30_60_and_90_days_overdue) {
    const char *a = tmpdb_account(tmpdb, "Aging", "USD", NULL);
    const char *as_of = "2026-06-30";
    int32_t day = 0;
    TMPDB_OK(folio_date_parse(&day, as_of));
    static const int late[] = {0, 1, 30, 31, 60, 61, 90, 91};
    static const char *const amount[] = {"1.00",  "2.00",  "4.00",  "8.00",
                                         "16.00", "32.00", "64.00", "128.00"};
    for (size_t i = 0; i < 8; i++) {
        char due[11], date[11];
        folio_date_format(due, day - late[i]);
        folio_date_format(date, day - late[i] - 10);
        tmpdb_issue_invoice(tmpdb, a, amount[i], date, due);
    }
    /* An invoice not yet due, an open credit note and an unallocated payment: current. */
    tmpdb_issue_invoice(tmpdb, a, "256.00", "2026-06-25", "2026-07-15");
    tmpdb_issue_credit_note(tmpdb, a, "0.50", "2026-06-29");
    tmpdb_receive_payment(tmpdb, a, "0.25", "2026-06-30", 0);
    folio_statement *s = NULL;
    TMPDB_OK(folio_statement_get(&s, tmpdb, a, as_of, NULL, 0));
    cr_assert_eq(s->line_count, 11);
    for (size_t i = 0; i < 8; i++) {
        /* Oldest first: the most overdue first. */
        const folio_statement_line *l = &s->lines[7 - i];
        cr_assert_str_eq(l->amount, amount[i]);
        cr_assert_eq(l->days_overdue, late[i], "%s: %lld days overdue, expected %d", l->doc,
                     (long long)l->days_overdue, late[i]);
    }
    cr_assert_eq(s->lines[8].days_overdue, 0, "not yet due: 0 days overdue");
    cr_assert_str_eq(s->aging[FOLIO_AGING_CURRENT], "256.25"); /* 1 + 256 - 0.50 - 0.25 */
    cr_assert_str_eq(s->aging[FOLIO_AGING_1_30], "6.00");      /* 1 and 30 days */
    cr_assert_str_eq(s->aging[FOLIO_AGING_31_60], "24.00");    /* 31 and 60 */
    cr_assert_str_eq(s->aging[FOLIO_AGING_61_90], "96.00");    /* 61 and 90 */
    cr_assert_str_eq(s->aging[FOLIO_AGING_90_PLUS], "128.00"); /* 91 */
    cr_assert_str_eq(s->total_open, "510.25");
    folio_statement_free(s);
    tmpdb_statement(tmpdb, a, as_of, NULL, 0); /* the arithmetic checks of the helper */
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "510.25");
}

Test(receivables_statement, an_empty_statement_and_one_as_of_today,
     .disabled = TMPDB_UB_EMPTY_ARRAYS) {
    const char *a = tmpdb_account(tmpdb, "Quiet", "JPY", NULL);
    cr_assert_str_eq(tmpdb_statement(tmpdb, a, NULL, NULL, 0), "total 0 aging 0 0 0 0 0\n");
    tmpdb_issue_invoice(tmpdb, a, "5000", NULL, NULL);
    /* Before its first document there is nothing to state. */
    cr_assert_str_eq(tmpdb_statement(tmpdb, a, "1999-01-01", NULL, 0),
                     "total 0 aging 0 0 0 0 0\n");
    folio_statement *s = NULL;
    TMPDB_OK(folio_statement_get(&s, tmpdb, a, NULL, NULL, 0));
    cr_assert_str_eq(s->currency, "JPY");
    cr_assert_str_eq(s->name, "Quiet");
    cr_assert_eq(s->line_count, 1);
    cr_assert_str_eq(s->lines[0].date, s->as_of, "undated documents and statements: today");
    cr_assert_str_eq(s->lines[0].open, "5000");
    cr_assert_eq(s->lines[0].days_overdue, 0);
    cr_assert_str_eq(s->total_open, "5000");
    folio_statement_free(s);
}

Test(receivables_statement, deleted_merged_and_unknown_customers_have_no_statement) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_statement *s = NULL;
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, NULL);
    const char *gone = tmpdb_account(tmpdb, "Gone", NULL, NULL);
    const char *clean = tmpdb_account(tmpdb, "Clean", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, gone, "10.00", "2026-01-10", NULL);
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep, gone, 0, 0));
    tmpdb_set_status(tmpdb, clean, "deleted");
    cr_assert_eq(folio_statement_get(&s, tmpdb, gone, "2026-02-01", NULL, 0), FOLIO_ENOTFOUND);
    cr_assert(strstr(folio_errmsg(), "merged into") != NULL, "%s", folio_errmsg());
    cr_assert_eq(folio_statement_get(&s, tmpdb, clean, "2026-02-01", NULL, 0), FOLIO_ENOTFOUND);
    cr_assert(strstr(folio_errmsg(), "deleted") != NULL, "%s", folio_errmsg());
    cr_assert_eq(folio_statement_get(&s, tmpdb, "CUST-999999", NULL, NULL, 0), FOLIO_ENOTFOUND);
    cr_assert_null(s);
    /* Before the merge, the merged-away customer's own statement was readable. */
    uint64_t before_merge = r.seq - 3; /* merged_into, status_changed, merged_from */
    cr_assert_str_eq(tmpdb_statement(tmpdb, gone, "2026-02-01", NULL, before_merge),
                     "2026-01-10 INV-000001 invoice 10.00 10.00 due 2026-01-10 22d\n"
                     "total 10.00 aging 0.00 10.00 0.00 0.00 0.00\n");
}

Test(receivables_statement, bad_dates_are_refused) {
    folio_statement *s = NULL;
    const char *a = tmpdb_account(tmpdb, "Acme", NULL, NULL);
    const char *bad[] = {"2026-02-30", "2026-13-01", "today", "", "2026-1-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(folio_statement_get(&s, tmpdb, a, bad[i], NULL, 0), FOLIO_EINVAL, "%s",
                     bad[i]);
        cr_assert_eq(folio_statement_get(&s, tmpdb, a, "2026-03-01", bad[i], 0), FOLIO_EINVAL,
                     "%s", bad[i]);
    }
    /* from after the statement date */
    cr_assert_eq(folio_statement_get(&s, tmpdb, a, "2026-03-01", "2026-03-02", 0), FOLIO_EINVAL);
    cr_assert_eq(folio_statement_get(&s, tmpdb, a, NULL, "9999-12-31", 0), FOLIO_EINVAL);
    cr_assert_eq(folio_statement_get(NULL, tmpdb, a, NULL, NULL, 0), FOLIO_EINVAL);
    cr_assert_eq(folio_statement_get(&s, tmpdb, NULL, NULL, NULL, 0), FOLIO_EINVAL);
    cr_assert_null(s);
}
