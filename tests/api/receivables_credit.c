/*
 * tests/api/receivables_credit.c - credit control (SPEC section 4): holds placed and released
 * by the credit limit as documents are written, past-due holds from folio_credit_check, the
 * hold reasons on the card, and admission (folio_admit) under each on-hold policy.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tmpdb.h"

TestSuite(receivables_credit, .init = tmpdb_setup, .fini = tmpdb_teardown);

static size_t count_of(const char *ref, uint32_t type) {
    size_t n = 0;
    tmpdb_events_of_type(tmpdb, ref, type, &n);
    return n;
}

/* The payload of the last event of `type` in the customer's history, as JSON. */
static const char *last_payload(const char *ref, uint32_t type, const char **actor_out) {
    size_t n = 0;
    folio_event *ev = tmpdb_events_of_type(tmpdb, ref, type, &n);
    cr_assert_gt(n, 0, "%s has no %s event", ref, folio_event_type_name(type));
    if (actor_out) *actor_out = ev[n - 1].actor;
    return tmpdb_payload_json(&ev[n - 1]);
}

static const char *verdict(const char *ref, const char *kind, char reasons[128]) {
    folio_admission a;
    int rc = folio_admit(&a, tmpdb, ref, kind);
    cr_assert_eq(rc, FOLIO_OK, "admit %s %s: %s (%s)", ref, kind, folio_strerror(rc),
                 folio_errmsg());
    size_t n = 0;
    reasons[0] = '\0';
    for (size_t i = 0; i < a.reason_count; i++)
        n += (size_t)snprintf(reasons + n, 128 - n, "%s%s", i ? "," : "", a.reasons[i]);
    return a.verdict;
}

/* ---- credit limit ---- */

Test(receivables_credit, the_invoice_that_goes_over_the_limit_places_a_hold_with_evidence) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *a = tmpdb_account(tmpdb, "Acme", "USD", "1000.00");
    tmpdb_issue_invoice(tmpdb, a, "600.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, a, "400.00", "2026-01-10", NULL); /* exactly at the limit */
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 0);

    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {"0.01", NULL, "2026-01-11", NULL};
    TMPDB_OK(folio_invoice_issue(&r, tmpdb, &w, a, &d));
    cr_assert_str_eq(r.doc, "INV-000003");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");
    const char *actor = NULL;
    cr_assert_str_eq(last_payload(a, FOLIO_EV_CREDIT_HOLD_PLACED, &actor),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"1000.01\","
                     "\"limit\":\"1000.00\"}}");
    cr_assert_str_eq(actor, "credit-control");
    /* The hold is written in the same transaction, right after the invoice. */
    size_t n = 0;
    folio_event *inv = tmpdb_events_of_type(tmpdb, a, FOLIO_EV_INVOICE_ISSUED, &n);
    folio_event *hold = tmpdb_events_of_type(tmpdb, a, FOLIO_EV_CREDIT_HOLD_PLACED, &n);
    cr_assert_eq(hold[0].seq, inv[2].seq + 1);
    cr_assert_eq(r.seq, hold[0].seq, "the result names the last event written");

    /* Still over: no second hold, whatever moves. */
    tmpdb_issue_invoice(tmpdb, a, "50.00", "2026-01-12", NULL);
    tmpdb_receive_payment(tmpdb, a, "50.00", "2026-01-13", 0);
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "1000.01");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 1);
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_RELEASED), 0);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");

    /* The credit note that brings it back to the limit releases it. */
    tmpdb_issue_credit_note(tmpdb, a, "0.01", "2026-01-14");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_RELEASED), 1);
    cr_assert_str_eq(last_payload(a, FOLIO_EV_CREDIT_HOLD_RELEASED, &actor),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"1000.00\","
                     "\"limit\":\"1000.00\"}}");
    cr_assert_str_eq(actor, "credit-control");
}

Test(receivables_credit, payments_release_and_refunds_can_place_a_limit_hold) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *a = tmpdb_account(tmpdb, "Acme", "JPY", "10000");
    tmpdb_issue_invoice(tmpdb, a, "12000", "2026-01-10", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");
    tmpdb_receive_payment(tmpdb, a, "5000", "2026-01-11", 1);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_str_eq(last_payload(a, FOLIO_EV_CREDIT_HOLD_RELEASED, NULL),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"7000\","
                     "\"limit\":\"10000\"}}");
    /* Allocations move no money: nothing changes. */
    const char *p2 = tmpdb_receive_payment(tmpdb, a, "4000", "2026-01-12", 0);
    tmpdb_allocate(tmpdb, a, p2, "INV-000001", "1000", "2026-01-12");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 1);
    /* Up to the limit exactly: no hold. */
    tmpdb_issue_invoice(tmpdb, a, "7000", "2026-01-13", NULL);
    cr_assert_str_eq(tmpdb_balance(tmpdb, a), "10000");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    /* A refund raises the balance: over the limit again. */
    tmpdb_issue_refund(tmpdb, a, p2, "1", "2026-01-14");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 2);
    cr_assert_str_eq(last_payload(a, FOLIO_EV_CREDIT_HOLD_PLACED, NULL),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"10001\","
                     "\"limit\":\"10000\"}}");
}

/* A new limit is looked at against the balance in the same write as the customer.updated. */
static void set_limit(const char *ref, const char *limit) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_customer_changes ch = {.credit_limit = limit};
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, ref, &ch));
}

Test(receivables_credit, changing_the_credit_limit_places_or_releases_the_limit_hold) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *a = tmpdb_account(tmpdb, "Acme", "JPY", "10000");
    tmpdb_issue_invoice(tmpdb, a, "8000", "2026-01-10", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    set_limit(a, "5000"); /* lowered below the balance */
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");
    cr_assert_str_eq(last_payload(a, FOLIO_EV_CREDIT_HOLD_PLACED, NULL),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"8000\","
                     "\"limit\":\"5000\"}}");
    set_limit(a, "9000"); /* raised above it */
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    set_limit(a, "7000");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");
    set_limit(a, ""); /* cleared: no limit, no hold */
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 2);
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_RELEASED), 2);
}

Test(receivables_credit, a_customer_without_a_credit_limit_is_never_held_for_it) {
    tmpdb_configure(tmpdb, "both", NULL);
    const char *a = tmpdb_account(tmpdb, "Unlimited", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, a, "9999999.99", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, a, "1.00", "2026-01-10", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 0);
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_RELEASED), 0);
}

Test(receivables_credit, without_limit_control_no_hold_event_is_written) {
    const char *a = tmpdb_account(tmpdb, "Default", NULL, "10.00"); /* control: none */
    tmpdb_issue_invoice(tmpdb, a, "100.00", "2026-01-10", NULL);
    tmpdb_configure(tmpdb, "past-due", NULL);
    tmpdb_issue_invoice(tmpdb, a, "100.00", "2026-01-10", NULL);
    tmpdb_receive_payment(tmpdb, a, "200.00", "2026-01-10", 1);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_PLACED), 0);
    cr_assert_eq(count_of(a, FOLIO_EV_CREDIT_HOLD_RELEASED), 0);
    folio_customer *c = NULL;
    TMPDB_OK(folio_customer_get(&c, tmpdb, a, 0, 0));
    cr_assert_eq(c->on_hold, 0);
    cr_assert_eq(c->hold_count, 0);
    folio_customer_free(c);
}

/* ---- a change of the credit control (folio_ledger_init) ---- */

/* verify passes, and check and rebuild reproduce the projections from the log: the holds a
 * settings change writes are ordinary events the folds read. */
static void projections_reproduce(void) {
    uint64_t events = 0;
    (void)tmpdb_head_get(tmpdb); /* verify */
    TMPDB_OK(folio_check(&events, tmpdb));
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    TMPDB_OK(folio_check(&events, tmpdb));
}

/* The last event of the log, its seq and its reason. */
static uint64_t last_seq_of(const char *ref, uint32_t type, const char **reason_out) {
    size_t n = 0;
    folio_event *ev = tmpdb_events_of_type(tmpdb, ref, type, &n);
    cr_assert_gt(n, 0, "%s has no %s", ref, folio_event_type_name(type));
    if (reason_out) *reason_out = ev[n - 1].reason;
    return ev[n - 1].seq;
}

static const char *today_text(void) {
    static char buf[11];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

Test(receivables_credit, turning_limit_control_off_releases_every_credit_limit_hold_at_once) {
    tmpdb_configure(tmpdb, "limit", NULL);
    const char *over = tmpdb_account(tmpdb, "Over", NULL, "100.00");
    const char *within = tmpdb_account(tmpdb, "Within", NULL, "1000.00");
    const char *unlimited = tmpdb_account(tmpdb, "No limit", NULL, NULL);
    const char *over2 = tmpdb_account(tmpdb, "Over too", "EUR", "0");
    tmpdb_issue_invoice(tmpdb, over, "150.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, within, "50.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, unlimited, "5000.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, over2, "0.01", "2026-01-10", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "credit_limit");
    cr_assert_str_eq(tmpdb_holds(tmpdb, over2), "credit_limit");

    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_settings_new none = {.credit_control = "none"};
    uint64_t before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &none));
    /* one transaction: the settings, then one release per held customer; the result's seq
     * and version name the same event, the ledger.configured */
    cr_assert_eq(tmpdb_last_seq(tmpdb), before + 3);
    cr_assert_eq(r.seq, before + 1, "seq %llu", (unsigned long long)r.seq);
    cr_assert_eq(r.id, 0);
    cr_assert_eq(r.version, 2, "the result names the settings' stream");
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, over2), "");
    const char *actor = NULL, *reason = NULL;
    cr_assert_str_eq(last_payload(over, FOLIO_EV_CREDIT_HOLD_RELEASED, &actor),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"150.00\","
                     "\"limit\":\"100.00\"}}");
    cr_assert_str_eq(actor, "credit-control");
    uint64_t seq = last_seq_of(over, FOLIO_EV_CREDIT_HOLD_RELEASED, &reason);
    cr_assert(seq > before + 1 && seq <= before + 3);
    cr_assert_str_eq(reason, "credit control no longer checks the credit limit");
    cr_assert_str_eq(last_payload(over2, FOLIO_EV_CREDIT_HOLD_RELEASED, NULL),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"0.01\","
                     "\"limit\":\"0.00\"}}");
    cr_assert_eq(count_of(within, FOLIO_EV_CREDIT_HOLD_RELEASED), 0);
    cr_assert_eq(count_of(unlimited, FOLIO_EV_CREDIT_HOLD_RELEASED), 0);
    projections_reproduce();
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "");

    /* nothing holds them again while the limit is not checked */
    tmpdb_issue_invoice(tmpdb, over, "10.00", "2026-01-11", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "");
    /* the same setting again: nothing to change, nothing written */
    tmpdb_head h = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &none));
    cr_assert(r.unchanged);
    tmpdb_assert_head_is(tmpdb, &h, "the same settings again");
}

Test(receivables_credit, turning_past_due_control_off_releases_every_past_due_hold_at_once) {
    tmpdb_configure(tmpdb, "both", NULL);
    const char *late = tmpdb_account(tmpdb, "Late", NULL, "100.00");
    const char *paid = tmpdb_account(tmpdb, "Paid", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, late, "150.00", "2026-01-01", "2026-01-31");
    tmpdb_issue_invoice(tmpdb, paid, "10.00", "2026-01-01", "2026-01-02");
    folio_credit_check_result res;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.placed, 2);
    tmpdb_receive_payment(tmpdb, paid, "10.00", "2026-01-05", 1); /* held, nothing overdue */
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "credit_limit,past_due");
    cr_assert_str_eq(tmpdb_holds(tmpdb, paid), "past_due");

    /* both -> limit: the past-due holds go, the credit-limit hold stays */
    folio_write_result r;
    folio_settings_new limit = {.credit_control = "limit"};
    uint64_t before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &limit));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before + 3);
    cr_assert_eq(r.seq, before + 1, "seq and version name the ledger.configured");
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "credit_limit");
    cr_assert_str_eq(tmpdb_holds(tmpdb, paid), "");
    const char *actor = NULL, *reason = NULL;
    cr_assert_str_eq(last_payload(late, FOLIO_EV_CREDIT_HOLD_RELEASED, &actor),
                     tmpdb_strf("{\"rule\":\"past_due\",\"evidence\":{\"as_of\":\"%s\","
                                "\"overdue\":[{\"doc\":\"INV-000001\",\"due\":\"2026-01-31\","
                                "\"open\":\"150.00\"}]}}",
                                today_text()));
    cr_assert_str_eq(actor, "credit-control");
    last_seq_of(late, FOLIO_EV_CREDIT_HOLD_RELEASED, &reason);
    cr_assert_str_eq(reason, "credit control no longer checks past-due invoices");
    cr_assert_str_eq(last_payload(paid, FOLIO_EV_CREDIT_HOLD_RELEASED, NULL),
                     tmpdb_strf("{\"rule\":\"past_due\",\"evidence\":{\"as_of\":\"%s\","
                                "\"overdue\":[]}}",
                                today_text()));
    projections_reproduce();

    /* past-due checked again: no hold is placed until a credit check */
    folio_settings_new both = {.credit_control = "both"};
    before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &both));
    cr_assert_eq(r.seq, before + 1, "only the settings");
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "credit_limit");
    /* both -> none: the last hold goes */
    folio_settings_new none = {.credit_control = "none"};
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &none));
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "");
    cr_assert_eq(count_of(late, FOLIO_EV_CREDIT_HOLD_RELEASED), 2);
    projections_reproduce();
}

Test(receivables_credit, turning_limit_control_on_holds_the_customers_already_above_their_limit) {
    const char *over = tmpdb_account(tmpdb, "Over", NULL, "100.00"); /* control: none */
    const char *at = tmpdb_account(tmpdb, "At", NULL, "100.00");
    const char *unlimited = tmpdb_account(tmpdb, "No limit", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, over, "100.01", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, at, "100.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, unlimited, "9999.00", "2026-01-10", NULL);
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "");

    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_settings_new limit = {.credit_control = "limit"};
    uint64_t before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &limit));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before + 2);
    cr_assert_eq(r.seq, before + 1, "the ledger.configured, not the hold after it");
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "credit_limit");
    cr_assert_str_eq(tmpdb_holds(tmpdb, at), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, unlimited), "");
    const char *actor = NULL, *reason = NULL;
    cr_assert_str_eq(last_payload(over, FOLIO_EV_CREDIT_HOLD_PLACED, &actor),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"100.01\","
                     "\"limit\":\"100.00\"}}");
    cr_assert_str_eq(actor, "credit-control");
    last_seq_of(over, FOLIO_EV_CREDIT_HOLD_PLACED, &reason);
    cr_assert_str_eq(reason, "balance above the credit limit");
    projections_reproduce();

    /* limit -> both: the limit was checked already, nothing more */
    folio_settings_new both = {.credit_control = "both"};
    before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &both));
    cr_assert_eq(r.seq, before + 1);
    /* and the next write sees the hold in force: no second placement */
    tmpdb_issue_invoice(tmpdb, over, "1.00", "2026-01-11", NULL);
    cr_assert_eq(count_of(over, FOLIO_EV_CREDIT_HOLD_PLACED), 1);
    /* the on-hold policy alone changes no hold */
    folio_settings_new policy = {.on_hold_policy = "cash-sales"};
    before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &policy));
    cr_assert_eq(r.seq, before + 1);
    cr_assert_str_eq(tmpdb_holds(tmpdb, over), "credit_limit");
}

/* A hold no rule could release (left by an older folio that turned the control off without
 * releasing it) is released by the next settings change; one left while the limit was off
 * and the balance is within it goes when the limit is checked again. */
Test(receivables_credit, a_stale_hold_is_released_by_the_next_settings_change) {
    const char *a = tmpdb_account(tmpdb, "Within", NULL, "100.00"); /* control: none */
    const char *b = tmpdb_account(tmpdb, "Over", NULL, "100.00");
    tmpdb_issue_invoice(tmpdb, a, "50.00", "2026-01-10", NULL);
    tmpdb_issue_invoice(tmpdb, b, "150.00", "2026-01-10", NULL);
    const uint64_t ids[2] = {tmpdb_card(tmpdb, a)->id, tmpdb_card(tmpdb, b)->id};
    const char *held = "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"1\",\"limit\":null}}";
    for (int i = 0; i < 2; i++) {
        folio_event e = tmpdb_event(ids[i], FOLIO_EV_CREDIT_HOLD_PLACED, "%s", held);
        tmpdb_append(tmpdb, &e);
    }
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit");
    /* credit control stays none; the policy changes: both stale holds go */
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_settings_new policy = {.on_hold_policy = "cash-sales"};
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &policy));
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, b), "");
    cr_assert_str_eq(last_payload(b, FOLIO_EV_CREDIT_HOLD_RELEASED, NULL),
                     "{\"rule\":\"credit_limit\",\"evidence\":{\"balance\":\"150.00\","
                     "\"limit\":\"100.00\"}}");
    /* stale again; the limit checked again: the one within its limit is released, the one
     * above it keeps the hold it has (no second placement) */
    for (int i = 0; i < 2; i++) {
        folio_event e = tmpdb_event(ids[i], FOLIO_EV_CREDIT_HOLD_PLACED, "%s", held);
        tmpdb_append(tmpdb, &e);
    }
    folio_settings_new limit = {.credit_control = "limit"};
    uint64_t before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &limit));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before + 2);
    cr_assert_eq(r.seq, before + 1, "seq and version name the ledger.configured");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, b), "credit_limit");
    const char *reason = NULL;
    last_seq_of(a, FOLIO_EV_CREDIT_HOLD_RELEASED, &reason);
    cr_assert_str_eq(reason, "balance back within the credit limit");
    cr_assert_eq(count_of(b, FOLIO_EV_CREDIT_HOLD_PLACED), 2, "the two raw ones only");
    projections_reproduce();
}

/* More holds than one ordinary command may stage (FOLIO_CMD_EVENTS_MAX, 264) change in the
 * one transaction of the settings change; the next command is bounded as before. */
static int create_held(folio_db *db, void *arg) {
    (void)arg;
    folio_write_opts w = tmpdb_w();
    folio_write_result r;
    folio_document_new d = {"2.00", NULL, "2026-01-10", NULL};
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "Customer %03d", i);
        folio_customer_new c = {.name = name, .credit_limit = "1.00"};
        int rc = folio_customer_create(&r, db, &w, &c);
        if (rc == FOLIO_OK) rc = folio_invoice_issue(&r, db, &w, r.ref, &d);
        if (rc < 0) return rc;
    }
    return FOLIO_OK;
}

Test(receivables_credit, a_settings_change_holds_and_releases_more_customers_than_a_command_stages) {
    tmpdb_configure(tmpdb, "limit", NULL);
    TMPDB_OK(folio_batch_run(tmpdb, create_held, NULL, 0));
    cr_assert_str_eq(tmpdb_holds(tmpdb, "CUST-000300"), "credit_limit");
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_settings_new none = {.credit_control = "none"}, limit = {.credit_control = "limit"};
    uint64_t before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &none));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before + 301);
    cr_assert_eq(r.seq, before + 1, "seq and version name the ledger.configured");
    cr_assert_str_eq(tmpdb_holds(tmpdb, "CUST-000001"), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, "CUST-000300"), "");
    before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &limit));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before + 301);
    cr_assert_eq(r.seq, before + 1, "seq and version name the ledger.configured");
    cr_assert_str_eq(tmpdb_holds(tmpdb, "CUST-000150"), "credit_limit");
    /* with a key: a repeat answers as the original (the settings' stream and its event) */
    folio_write_result k1, k2;
    folio_write_opts kw = {.actor = TMPDB_ACTOR, .idempotency_key = "cc-off"};
    TMPDB_OK(folio_ledger_init(&k1, tmpdb, &kw, &none));
    TMPDB_OK(folio_ledger_init(&k2, tmpdb, &kw, &none));
    cr_assert(k2.replayed && !k1.replayed);
    cr_assert_eq(k2.id, 0);
    cr_assert_str_eq(k2.ref, "");
    cr_assert_eq(k2.seq, k1.seq);
    cr_assert_eq(k2.version, k1.version);
    cr_assert_eq(k1.version, 4);
    cr_assert_eq(k1.seq, before + 302, "the key's ledger.configured, before its 300 releases");
    /* an ordinary command afterwards */
    tmpdb_issue_invoice(tmpdb, "CUST-000001", "1.00", "2026-01-11", NULL);
    projections_reproduce();
}

/* ---- past due ---- */

Test(receivables_credit, credit_check_holds_customers_with_an_invoice_due_before_the_date) {
    tmpdb_configure(tmpdb, "past-due", NULL);
    const char *late = tmpdb_account(tmpdb, "Late", NULL, NULL);
    const char *due_today = tmpdb_account(tmpdb, "Due today", NULL, NULL);
    const char *paid = tmpdb_account(tmpdb, "Paid up", NULL, NULL);
    const char *partly = tmpdb_account(tmpdb, "Partly paid", NULL, NULL);
    const char *none = tmpdb_account(tmpdb, "No documents", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, late, "100.00", "2026-01-01", "2026-01-31");      /* INV-1 */
    tmpdb_issue_invoice(tmpdb, late, "5.00", "2026-01-01", "2026-03-01");        /* INV-2 */
    tmpdb_issue_invoice(tmpdb, due_today, "100.00", "2026-01-01", "2026-02-01"); /* INV-3 */
    tmpdb_issue_invoice(tmpdb, paid, "100.00", "2026-01-01", "2026-01-02");      /* INV-4 */
    tmpdb_receive_payment(tmpdb, paid, "100.00", "2026-01-05", 1);
    tmpdb_issue_invoice(tmpdb, partly, "100.00", "2026-01-01", "2026-01-15"); /* INV-5 */
    tmpdb_issue_credit_note(tmpdb, partly, "40.00", "2026-01-02");
    tmpdb_allocate(tmpdb, partly, "CN-000001", "INV-000005", NULL, "2026-01-02");
    /* An unallocated payment does not settle an invoice: still past due. */
    tmpdb_receive_payment(tmpdb, partly, "60.00", "2026-01-03", 0);

    folio_credit_check_result res;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.placed, 2);
    cr_assert_eq(res.released, 0);
    cr_assert_eq(res.on_hold, 2);
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "past_due");
    cr_assert_str_eq(tmpdb_holds(tmpdb, partly), "past_due");
    cr_assert_str_eq(tmpdb_holds(tmpdb, due_today), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, paid), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, none), "");
    const char *actor = NULL;
    cr_assert_str_eq(last_payload(late, FOLIO_EV_CREDIT_HOLD_PLACED, &actor),
                     "{\"rule\":\"past_due\",\"evidence\":{\"as_of\":\"2026-02-01\",\"overdue\":"
                     "[{\"doc\":\"INV-000001\",\"due\":\"2026-01-31\",\"open\":\"100.00\"}]}}");
    cr_assert_str_eq(actor, "credit-control");
    cr_assert_str_eq(last_payload(partly, FOLIO_EV_CREDIT_HOLD_PLACED, NULL),
                     "{\"rule\":\"past_due\",\"evidence\":{\"as_of\":\"2026-02-01\",\"overdue\":"
                     "[{\"doc\":\"INV-000005\",\"due\":\"2026-01-15\",\"open\":\"60.00\"}]}}");

    /* The same check again changes nothing. */
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.placed + res.released, 0);
    cr_assert_eq(res.on_hold, 2);
    tmpdb_assert_head_is(tmpdb, &before, "a repeated credit check");

    /* Settle one, and a day later another falls due. */
    tmpdb_allocate(tmpdb, partly, "PAY-000002", "INV-000005", NULL, "2026-02-01");
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-02"));
    cr_assert_eq(res.placed, 1);
    cr_assert_eq(res.released, 1);
    cr_assert_eq(res.on_hold, 2);
    cr_assert_str_eq(tmpdb_holds(tmpdb, partly), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, due_today), "past_due");
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "past_due");
    cr_assert_str_eq(
        last_payload(partly, FOLIO_EV_CREDIT_HOLD_RELEASED, NULL),
        "{\"rule\":\"past_due\",\"evidence\":{\"as_of\":\"2026-02-02\",\"overdue\":[]}}");

    /* An earlier date releases what is not yet due then. */
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.released, 1);
    cr_assert_eq(res.on_hold, 1);
    cr_assert_str_eq(tmpdb_holds(tmpdb, due_today), "");
    cr_assert_str_eq(tmpdb_holds(tmpdb, late), "past_due");
}

Test(receivables_credit, credit_check_needs_past_due_control_and_a_valid_date) {
    folio_credit_check_result res;
    folio_write_opts w = tmpdb_w();
    const char *a = tmpdb_account(tmpdb, "Late", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, a, "100.00", "2026-01-01", "2026-01-02");
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, NULL, folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    tmpdb_configure(tmpdb, "limit", NULL);
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, NULL, folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    tmpdb_configure(tmpdb, "both", NULL);
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_credit_check(&res, tmpdb, &w, "2026-02-30"));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_credit_check(&res, tmpdb, &w, "tomorrow"));
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.placed, 1);
    /* Without a date: today, long after the due date. */
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, NULL));
    cr_assert_eq(res.placed + res.released, 0);
    cr_assert_eq(res.on_hold, 1);
}

/* An idempotency key or an expected version cannot hold for a check that writes to many
 * customers in several transactions: refused (FOLIO_EINVAL, saying why), never dropped. */
Test(receivables_credit, credit_check_refuses_an_idempotency_key_and_an_expected_version) {
    folio_credit_check_result res;
    folio_write_opts w = tmpdb_w();
    tmpdb_configure(tmpdb, "past-due", NULL);
    const char *a = tmpdb_account(tmpdb, "Late", NULL, NULL);
    tmpdb_issue_invoice(tmpdb, a, "100.00", "2026-01-01", "2026-01-02");
    w.idempotency_key = "check-1";
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "idempotency key",
                  folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.placed + res.released + res.on_hold, 0);
    w.idempotency_key = NULL;
    w.has_expected_version = 1;
    w.expected_version = 0;
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "expected version",
                  folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    w.has_expected_version = 0;
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_eq(res.placed, 1);
}

Test(receivables_credit, hold_reasons_are_status_credit_limit_and_past_due) {
    folio_credit_check_result res;
    folio_write_opts w = tmpdb_w();
    tmpdb_configure(tmpdb, "both", NULL);
    const char *a = tmpdb_account(tmpdb, "Everything", NULL, "50.00");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
    tmpdb_set_status(tmpdb, a, "hold");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "status");
    tmpdb_issue_invoice(tmpdb, a, "100.00", "2026-01-01", "2026-01-02");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "status,credit_limit");
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "status,credit_limit,past_due");
    tmpdb_set_status(tmpdb, a, "active");
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "credit_limit,past_due");
    tmpdb_receive_payment(tmpdb, a, "60.00", "2026-02-01", 1);
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "past_due");
    tmpdb_issue_credit_note(tmpdb, a, "40.00", "2026-02-01");
    tmpdb_allocate(tmpdb, a, "CN-000001", "INV-000001", NULL, "2026-02-01");
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    cr_assert_str_eq(tmpdb_holds(tmpdb, a), "");
}

/* ---- admission ---- */

Test(receivables_credit, admit_allows_a_customer_not_on_hold) {
    tmpdb_configure(tmpdb, NULL, "allow-nothing");
    const char *a = tmpdb_account(tmpdb, "Fine", NULL, NULL);
    char reasons[128];
    cr_assert_str_eq(verdict(a, "sales-order", reasons), "allow");
    cr_assert_str_eq(reasons, "");
    cr_assert_str_eq(verdict(a, "cash-sale", reasons), "allow");
    tmpdb_set_status(tmpdb, a, "active");
    cr_assert_str_eq(verdict(a, "sales-order", reasons), "allow");
}

Test(receivables_credit, admit_denies_inactive_deleted_and_merged_customers) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    tmpdb_configure(tmpdb, NULL, "pending-orders-and-cash-sales");
    const char *sleeper = tmpdb_account(tmpdb, "Sleeper", NULL, NULL);
    const char *gone = tmpdb_account(tmpdb, "Gone", NULL, NULL);
    const char *keep = tmpdb_account(tmpdb, "Keep", NULL, NULL);
    const char *merged = tmpdb_account(tmpdb, "Merged", NULL, NULL);
    tmpdb_set_status(tmpdb, sleeper, "inactive");
    tmpdb_set_status(tmpdb, gone, "deleted");
    tmpdb_issue_invoice(tmpdb, merged, "10.00", "2026-01-10", NULL);
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep, merged, 0, 0));
    const char *kinds[] = {"sales-order", "cash-sale"};
    char reasons[128];
    for (int k = 0; k < 2; k++) {
        cr_assert_str_eq(verdict(sleeper, kinds[k], reasons), "deny");
        cr_assert(strstr(reasons, "inactive") != NULL, "reasons: %s", reasons);
        cr_assert_str_eq(verdict(gone, kinds[k], reasons), "deny");
        cr_assert(strstr(reasons, "deleted") != NULL, "reasons: %s", reasons);
        cr_assert_str_eq(verdict(merged, kinds[k], reasons), "deny");
        cr_assert_str_eq(verdict(keep, kinds[k], reasons), "allow");
    }
    /* Inactive and on a credit hold: still inactive first. */
    tmpdb_set_status(tmpdb, sleeper, "active");
    tmpdb_set_status(tmpdb, sleeper, "hold");
    tmpdb_set_status(tmpdb, sleeper, "inactive");
    cr_assert_str_eq(verdict(sleeper, "cash-sale", reasons), "deny");
}

Test(receivables_credit, admit_refuses_unknown_customers_and_document_kinds) {
    folio_admission a;
    const char *c = tmpdb_account(tmpdb, "Fine", NULL, NULL);
    cr_assert_eq(folio_admit(&a, tmpdb, "CUST-999999", "sales-order"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_admit(&a, tmpdb, c, "quote"), FOLIO_EINVAL);
    cr_assert_eq(folio_admit(&a, tmpdb, c, ""), FOLIO_EINVAL);
    cr_assert_eq(folio_admit(&a, tmpdb, c, "Sales-Order"), FOLIO_EINVAL);
    cr_assert_eq(folio_admit(&a, tmpdb, c, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_admit(NULL, tmpdb, c, "cash-sale"), FOLIO_EINVAL);
}

/* Every policy against both document kinds, for a status hold and for a credit hold. */
Test(receivables_credit, admit_on_hold_follows_the_on_hold_policy) {
    static const struct {
        const char *policy, *sales_order, *cash_sale;
    } table[] = {
        {"allow-nothing", "deny", "deny"},
        {"pending-orders", "pending", "deny"},
        {"cash-sales", "deny", "allow"},
        {"pending-orders-and-cash-sales", "pending", "allow"},
    };
    tmpdb_configure(tmpdb, "both", NULL);
    const char *by_status = tmpdb_account(tmpdb, "Held by status", NULL, NULL);
    const char *by_limit = tmpdb_account(tmpdb, "Held by limit", NULL, "10.00");
    const char *by_due = tmpdb_account(tmpdb, "Held past due", NULL, NULL);
    const char *free_one = tmpdb_account(tmpdb, "Not held", NULL, NULL);
    tmpdb_set_status(tmpdb, by_status, "hold");
    tmpdb_issue_invoice(tmpdb, by_limit, "10.01", "2026-01-01", "2026-12-31");
    tmpdb_issue_invoice(tmpdb, by_due, "10.00", "2026-01-01", "2026-01-02");
    folio_credit_check_result res;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_credit_check(&res, tmpdb, &w, "2026-02-01"));
    const struct {
        const char *ref, *reason;
    } held[] = {{by_status, "status"}, {by_limit, "credit_limit"}, {by_due, "past_due"}};

    for (size_t p = 0; p < 4; p++) {
        tmpdb_configure(tmpdb, NULL, table[p].policy);
        char reasons[128];
        for (size_t h = 0; h < 3; h++) {
            const char *v = verdict(held[h].ref, "sales-order", reasons);
            cr_assert_str_eq(v, table[p].sales_order, "%s, %s hold, sales-order: %s",
                             table[p].policy, held[h].reason, v);
            cr_assert(strstr(reasons, held[h].reason) != NULL, "%s: reasons %s", table[p].policy,
                      reasons);
            v = verdict(held[h].ref, "cash-sale", reasons);
            cr_assert_str_eq(v, table[p].cash_sale, "%s, %s hold, cash-sale: %s", table[p].policy,
                             held[h].reason, v);
            cr_assert(strstr(reasons, held[h].reason) != NULL, "%s: reasons %s", table[p].policy,
                      reasons);
        }
        cr_assert_str_eq(verdict(free_one, "sales-order", reasons), "allow");
        cr_assert_str_eq(verdict(free_one, "cash-sale", reasons), "allow");
    }
}
