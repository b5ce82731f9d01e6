/*
 * tools/cmd_demo.c - `folio demo`: a small scripted ledger through the public API.
 * Each step carries an idempotency key, so running the demo again appends nothing.
 * The events are appended through the raw append API (the customer and receivables
 * commands that check the SPEC's rules come later); the payloads follow SPEC section 2.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
    uint64_t stream;
    uint32_t type;
    const char *json;
} demo_event;

typedef struct {
    const char *key;
    const char *reason;
    folio_expect_kind expect;
    demo_event events[2];
} demo_step;

static const demo_step steps[] = {
    {"demo:configure", "initial settings", FOLIO_EXPECT_NO_STREAM,
     {{0, FOLIO_EV_LEDGER_CONFIGURED,
       "{\"base_currency\":\"USD\",\"ref_prefix\":\"CUST-\",\"credit_control\":\"limit\","
       "\"on_hold_policy\":\"pending-orders\"}"}}},
    {"demo:create", "new customer from trade show", FOLIO_EXPECT_NO_STREAM,
     {{1, FOLIO_EV_CUSTOMER_CREATED,
       "{\"ref\":\"CUST-000001\",\"name\":\"Acme Trading Ltd\",\"type\":\"business\","
       "\"status\":\"prospect\",\"owner\":\"alice\",\"credit_limit\":\"5000.00\","
       "\"addresses\":{\"billing\":{\"street\":\"1 Harbour Rd\",\"city\":\"Leeds\","
       "\"country\":\"GB\"}},\"external_id\":null}"},
      {1, FOLIO_EV_CUSTOMER_CURRENCY_SET, "{\"currency\":\"USD\"}"}}},
    {"demo:activate", "first order confirmed", FOLIO_EXPECT_VERSION,
     {{1, FOLIO_EV_CUSTOMER_STATUS_CHANGED, "{\"from\":\"prospect\",\"to\":\"active\"}"}}},
    {"demo:invoice", NULL, FOLIO_EXPECT_ANY,
     {{1, FOLIO_EV_INVOICE_ISSUED,
       "{\"doc\":\"INV-000001\",\"date\":\"2026-11-02\",\"due\":\"2026-12-02\","
       "\"amount\":\"1200.00\"}"}}},
    {"demo:payment", NULL, FOLIO_EXPECT_ANY,
     {{1, FOLIO_EV_PAYMENT_RECEIVED,
       "{\"doc\":\"PAY-000001\",\"date\":\"2026-11-20\",\"amount\":\"500.00\"}"},
      {1, FOLIO_EV_ALLOCATION_MADE,
       "{\"from\":\"PAY-000001\",\"to\":\"INV-000001\",\"amount\":\"500.00\","
       "\"date\":\"2026-11-20\"}"}}},
    {"demo:note", NULL, FOLIO_EXPECT_ANY,
     {{1, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"text\":\"Prefers invoices by email.\"}"}}},
};

static int run_step(folio_db *db, const demo_step *s, const char *actor, uint64_t *written) {
    folio_event ev[2];
    void *payloads[2] = {NULL, NULL};
    size_t n = 0;
    int rc = FOLIO_OK;
    for (; n < 2 && s->events[n].json; n++) {
        size_t bytes = 0;
        rc = folio_payload_from_json(&payloads[n], &bytes, s->events[n].json);
        if (rc < 0) goto done;
        ev[n] = (folio_event){.stream = s->events[n].stream, .type = s->events[n].type,
                              .schema = 1, .actor = actor, .reason = s->reason,
                              .payload = payloads[n], .payload_bytes = bytes};
    }
    uint64_t version = 0;
    rc = folio_stream_version(&version, db, s->events[0].stream);
    if (rc < 0) goto done;
    folio_expect x = {s->events[0].stream, s->expect, version};
    folio_batch b = {ev, n, &x, 1, s->key};
    folio_append_result res;
    rc = folio_append(&res, db, &b);
    if (rc == FOLIO_OK && !res.replayed) *written += res.last_seq - res.first_seq + 1;
done:
    for (size_t i = 0; i < 2; i++) folio_free(payloads[i]);
    return rc;
}

int cmd_demo(cli_ctx *c) {
    folio_db *db = NULL;
    uint64_t written = 0;
    if (c->argc > 1) return cli_usage("demo takes no arguments ('%s')", c->argv[1]);
    int code = cli_open(&db, c, 1);
    if (code) return code;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int rc = run_step(db, &steps[i], c->actor, &written);
        if (rc < 0) {
            code = cli_fail(rc, steps[i].key);
            break;
        }
    }
    code = cli_done(db, c, code);
    if (code == 0) {
        if (c->json)
            printf("{\"appended\":%llu}\n", (unsigned long long)written);
        else
            printf("demo: appended %llu events to %s%s\n", (unsigned long long)written,
                   c->db_path, written ? "" : " (already there: nothing appended)");
    }
    return code;
}
