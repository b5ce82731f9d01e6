/*
 * docs/examples/embed.c - embedding folio: create a customer, change its status, print its
 * history. The test suite compiles and runs this file (tests/CMakeLists.txt), so it stays
 * true to the API.
 *
 *   cc -std=c11 embed.c $(pkg-config --cflags --libs folio) -o embed && ./embed ledger.db
 */
#include <folio.h>
#include <stdio.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "embed: %s: %s (%s)\n", what, folio_errmsg(), folio_strerror(rc));
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "embed.db";
    folio_db *db = NULL;
    int rc = folio_db_open(&db, path, NULL); /* creates the ledger, mode 0600 */
    if (rc != FOLIO_OK) return fail("open", rc);

    /* Every write names its actor; the key makes a retry after a crash append nothing. */
    folio_write_opts w = {.actor = "crm-service", .reason = "signed up on the web shop",
                          .idempotency_key = "signup-4711"};
    folio_customer_new c = {.name = "Northwind Traders", .type = "business",
                            .currency = "EUR", .credit_limit = "2500",
                            .billing = {.city = "Lyon", .country = "FR"}};
    folio_write_result created;
    rc = folio_customer_create(&created, db, &w, &c);
    if (rc != FOLIO_OK) return fail("create", rc);
    printf("%s %s (id %llu, version %llu)\n", created.ref,
           created.replayed ? "already existed" : "created", (unsigned long long)created.id,
           (unsigned long long)created.version);

    /* Optimistic concurrency: activate only if nobody changed the customer meanwhile. */
    folio_write_opts w2 = {.actor = "crm-service", .has_expected_version = 1,
                           .expected_version = created.version};
    folio_write_result activated;
    rc = folio_customer_set_status(&activated, db, &w2, created.ref, "active");
    if (rc == FOLIO_ECONFLICT) {
        printf("someone else changed %s first: %s\n", created.ref, folio_errmsg());
    } else if (rc != FOLIO_OK) {
        return fail("status", rc);
    }

    /* The audit trail: every event of the customer with its field-level changes. */
    folio_iter *it = NULL;
    const folio_event *e;
    rc = folio_history_open(&it, db, created.ref);
    if (rc != FOLIO_OK) return fail("history", rc);
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        char *changes = NULL;
        if ((rc = folio_event_changes_json(&changes, e)) != FOLIO_OK) break;
        printf("  v%llu %-24s by %-12s %s\n", (unsigned long long)e->version,
               folio_event_type_name(e->type), e->actor, changes ? changes : "");
        folio_free(changes);
    }
    folio_iter_free(it);
    if (rc != FOLIO_ITEROVER) return fail("history", rc);

    folio_customer *card = NULL;
    rc = folio_customer_get(&card, db, created.ref, 0, 0);
    if (rc != FOLIO_OK) return fail("show", rc);
    printf("%s is %s, credit limit %s %s\n", card->name, card->status, card->credit_limit,
           card->currency);
    folio_customer_free(card);
    folio_db_close(db);
    return 0;
}
