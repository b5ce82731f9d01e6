/*
 * tools/cmd_demo.c - `folio demo`: a customer's lifecycle through the public API.
 * Settings (credit control by limit), a customer with an address and a credit limit, a
 * contact, activation, an invoice and a part payment allocated to it, a duplicate customer
 * merged into it, a second invoice that takes the balance over the credit limit (a hold),
 * a note. Every step carries an idempotency key, so running the demo again (as the same
 * actor) appends nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int step(int rc, const char *key) { return rc < 0 ? cli_fail(rc, key) : 0; }

int cmd_demo(cli_ctx *c) {
    folio_db *db = NULL;
    if (c->argc > 1) return cli_bad_arg(c, 1); /* takes none */
    int code = cli_open(&db, c, 1);
    if (code) return code;
    folio_write_result r, acme, dup;
    folio_stats before, after;
    int rc = folio_stats_get(&before, db);
    if (rc < 0) return cli_done(db, c, cli_fail(rc, NULL));
    folio_write_opts w = {c->actor, NULL, NULL, NULL, 0, 0};

#define STEP(key_, why_, call_, res_)                                                       \
    do {                                                                                    \
        w.idempotency_key = (key_);                                                         \
        w.reason = (why_);                                                                  \
        (void)(res_);                                                                       \
        if ((code = step((call_), (key_))) != 0) goto done;                                 \
    } while (0)

    folio_settings_new s = {"USD", "CUST-", "limit", "pending-orders"};
    STEP("demo:init", "initial settings", folio_ledger_init(&r, db, &w, &s), &r);

    folio_customer_new acme_new = {.name = "Acme Trading Ltd", .type = "business",
                                   .credit_limit = "5000", .owner = "alice",
                                   .billing = {"1 Harbour Rd", "Leeds", NULL, "LS1 4AP", "GB"}};
    STEP("demo:create", "met at the trade show", folio_customer_create(&acme, db, &w, &acme_new),
         &acme);
    folio_contact_new jane = {"Jane Doe", "jane@acme.example", "+44 113 496 0000", "buyer"};
    STEP("demo:contact", NULL, folio_contact_add(&r, db, &w, acme.ref, &jane), &r);
    STEP("demo:activate", "first order confirmed",
         folio_customer_set_status(&r, db, &w, acme.ref, "active"), &r);

    folio_document_new inv1 = {.amount = "1200.00", .date = "2026-11-02", .due = "2026-12-02"};
    STEP("demo:invoice", NULL, folio_invoice_issue(&r, db, &w, acme.ref, &inv1), &r);
    folio_document_new pay1 = {.amount = "500.00", .date = "2026-11-20"};
    folio_apply to_inv1 = {r.doc, NULL};
    STEP("demo:payment", NULL, folio_payment_receive(&r, db, &w, acme.ref, &pay1, &to_inv1, 1, 0),
         &r);

    folio_customer_new dup_new = {.name = "ACME Trading", .owner = "bob"};
    STEP("demo:duplicate", "entered twice by mistake", folio_customer_create(&dup, db, &w, &dup_new),
         &dup);
    folio_contact_new tom = {"Tom Price", "tom@acme.example", NULL, "accounts payable"};
    STEP("demo:contact2", NULL, folio_contact_add(&r, db, &w, dup.ref, &tom), &r);
    STEP("demo:merge", "same company as CUST-000001",
         folio_customer_merge(&r, db, &w, acme.ref, dup.ref, 0, 0), &r);
    folio_document_new inv2 = {.amount = "4800.00", .date = "2026-11-21", .due = "2026-12-21"};
    STEP("demo:invoice2", "annual maintenance contract",
         folio_invoice_issue(&r, db, &w, acme.ref, &inv2), &r);
    STEP("demo:note", NULL, folio_note_add(&r, db, &w, acme.ref, "Prefers invoices by email."), &r);
#undef STEP

done:
    if (code == 0 && (rc = folio_stats_get(&after, db)) < 0) code = cli_fail(rc, NULL);
    code = cli_done(db, c, code);
    if (code == 0) {
        unsigned long long appended = (unsigned long long)(after.events - before.events);
        if (c->json)
            printf("{\"appended\":%llu}\n", appended);
        else
            printf("demo: appended %llu events to %s%s\n", appended, c->db_path,
                   appended ? "" : " (already there: nothing appended)");
    }
    return code;
}
