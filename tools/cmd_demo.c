/*
 * tools/cmd_demo.c - `folio demo`: a customer's lifecycle through the public API.
 * Settings, a customer with an address, a contact, activation, an invoice and a payment,
 * a duplicate customer merged into it, a note. Every step carries an idempotency key, so
 * running the demo again (as the same actor) appends nothing.
 * Invoices and payments are appended through the raw append API with the payloads of
 * docs/EVENTS.md: the receivables commands that check their rules are a later issue.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
    folio_db *db;
    const cli_ctx *c;
} demo;

static int step(demo *d, int rc, const char *key, const folio_write_result *r) {
    (void)d;
    (void)r;
    return rc < 0 ? cli_fail(rc, key) : 0;
}

/* A financial document through the raw append API, keyed so that a re-run appends nothing. */
static int document(demo *d, const char *key, uint64_t stream, uint32_t type, const char *json) {
    void *payload = NULL;
    size_t bytes = 0;
    folio_append_result res;
    int rc = folio_payload_from_json(&payload, &bytes, json);
    if (rc == FOLIO_OK) {
        folio_event e = {.stream = stream, .type = type, .schema = 1, .actor = d->c->actor,
                         .payload = payload, .payload_bytes = bytes};
        folio_batch b = {&e, 1, NULL, 0, key};
        rc = folio_append(&res, d->db, &b);
    }
    folio_free(payload);
    return rc < 0 ? cli_fail(rc, key) : 0;
}

int cmd_demo(cli_ctx *c) {
    folio_db *db = NULL;
    if (c->argc > 1) return cli_usage("demo takes no arguments ('%s')", c->argv[1]);
    int code = cli_open(&db, c, 1);
    if (code) return code;
    demo d = {db, c};
    folio_write_result r, acme, dup;
    folio_stats before, after;
    int rc = folio_stats_get(&before, db);
    if (rc < 0) return cli_done(db, c, cli_fail(rc, NULL));
    folio_write_opts w = {c->actor, NULL, NULL, NULL, 0, 0};

#define STEP(key_, why_, call_, res_)                                                       \
    do {                                                                                    \
        w.idempotency_key = (key_);                                                         \
        w.reason = (why_);                                                                  \
        if ((code = step(&d, (call_), (key_), (res_))) != 0) goto done;                     \
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

    if ((code = document(&d, "demo:invoice", acme.id, FOLIO_EV_INVOICE_ISSUED,
                         "{\"doc\":\"INV-000001\",\"date\":\"2026-11-02\",\"due\":\"2026-12-02\","
                         "\"amount\":\"1200.00\"}")) != 0 ||
        (code = document(&d, "demo:payment", acme.id, FOLIO_EV_PAYMENT_RECEIVED,
                         "{\"doc\":\"PAY-000001\",\"date\":\"2026-11-20\",\"amount\":\"500.00\"}")) != 0)
        goto done;

    folio_customer_new dup_new = {.name = "ACME Trading", .owner = "bob"};
    STEP("demo:duplicate", "entered twice by mistake", folio_customer_create(&dup, db, &w, &dup_new),
         &dup);
    folio_contact_new tom = {"Tom Price", "tom@acme.example", NULL, "accounts payable"};
    STEP("demo:contact2", NULL, folio_contact_add(&r, db, &w, dup.ref, &tom), &r);
    STEP("demo:merge", "same company as CUST-000001",
         folio_customer_merge(&r, db, &w, acme.ref, dup.ref, 0, 0), &r);
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
