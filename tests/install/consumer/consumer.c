/* Built against an installed folio: open a ledger, append one event, verify it. */
#include <folio.h>
#include <stdio.h>

int main(int argc, char **argv) {
    folio_db *db = NULL;
    void *payload = NULL;
    size_t bytes = 0;
    uint64_t seq = 0;
    folio_verify_report r;
    if (argc != 2) return 2;
    if (folio_db_open(&db, argv[1], NULL) != FOLIO_OK ||
        folio_payload_from_json(&payload, &bytes, "{\"text\":\"installed\"}") != FOLIO_OK) {
        fprintf(stderr, "consumer: %s\n", folio_errmsg());
        return 1;
    }
    folio_event e = {.stream = 7, .type = FOLIO_EV_CUSTOMER_NOTE_ADDED, .schema = 1,
                     .actor = "consumer", .payload = payload, .payload_bytes = bytes};
    int rc = folio_event_append(&seq, db, &e);
    if (rc == FOLIO_OK) rc = folio_verify(&r, db);
    folio_free(payload);
    folio_db_close(db);
    if (rc != FOLIO_OK || r.events != seq) {
        fprintf(stderr, "consumer: %s\n", folio_errmsg());
        return 1;
    }
    printf("consumer: seq %llu verified\n", (unsigned long long)seq);
    return 0;
}
