/*
 * tests/golden/generate.c - writes the golden files of format version 1. Run it ONLY when a
 * new format version is introduced (never to "fix" a failing golden test: old files must
 * keep decoding). Build and run from the repository root:
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude tests/golden/generate.c build/libfolio.a \
 *      $(pkg-config --libs lmdb msgpack libxxhash jansson libutf8proc) -lpthread -o /tmp/gen
 *   /tmp/gen tests/golden
 * Output: frames-v1.hex (seq, then the stored frame in hex), expected-v1.txt (the decoded
 * fields of each event), head-v1.txt (the chain hash of the last event).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../engine/golden_render.h"
#include "../../engine/internal.h"

static void *payload(const char *json, size_t *bytes) {
    void *p = NULL;
    if (folio_payload_from_json(&p, bytes, json) != FOLIO_OK) {
        fprintf(stderr, "generate: %s\n", folio_errmsg());
        exit(1);
    }
    return p;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    char path[4096], lock[4200], out[4200];
    snprintf(path, sizeof path, "/tmp/folio-golden-%d.db", (int)getpid());
    snprintf(lock, sizeof lock, "%s-lock", path);
    folio_db *db = NULL;
    if (folio_db_open(&db, path, NULL) != FOLIO_OK) return 1;
    size_t n1, n2, n3, n4, n5;
    void *p1 = payload("{\"base_currency\":\"EUR\",\"ref_prefix\":\"C-\",\"credit_control\":"
                       "\"both\",\"on_hold_policy\":\"cash-sales\"}", &n1);
    void *p2 = payload("{\"ref\":\"C-000001\",\"name\":\"Zoë \\\"Q\\\" Ltd\\n\",\"type\":"
                       "\"business\",\"status\":\"active\",\"credit_limit\":\"-0.01\","
                       "\"addresses\":{\"billing\":{\"city\":\"Bäle\"}},\"tags\":[1,-2,true,"
                       "false,null,9223372036854775807,-9223372036854775808]}", &n2);
    void *p3 = payload("{\"currency\":\"EUR\"}", &n3);
    void *p4 = payload("{\"doc\":\"INV-1\",\"date\":\"2026-01-31\",\"due\":\"2026-02-28\","
                       "\"amount\":\"12345678901234.56\"}", &n4);
    void *p5 = payload("{}", &n5);
    folio_event ev[] = {
        {.stream = 0, .type = FOLIO_EV_LEDGER_CONFIGURED, .schema = 1, .actor = "setup",
         .payload = p1, .payload_bytes = n1},
        {.stream = 1, .type = FOLIO_EV_CUSTOMER_CREATED, .schema = 1, .actor = "ana",
         .reason = "walk-in", .correlation = "corr-1", .payload = p2, .payload_bytes = n2},
        {.stream = 1, .type = FOLIO_EV_CUSTOMER_CURRENCY_SET, .schema = 1, .actor = "ana",
         .reason = "walk-in", .correlation = "corr-1", .payload = p3, .payload_bytes = n3},
        {.stream = 2, .type = FOLIO_EV_INVOICE_ISSUED, .schema = 2, .actor = "billing",
         .payload = p4, .payload_bytes = n4},
        {.stream = 1, .type = FOLIO_EV_CUSTOMER_NOTE_ADDED, .schema = 1, .actor = "ana",
         .payload = p5, .payload_bytes = n5},
    };
    folio_append_result res;
    folio_batch b1 = {ev, 1, NULL, 0, NULL};
    folio_batch b2 = {ev + 1, 2, NULL, 0, "golden-key-1"};
    folio_batch b3 = {ev + 3, 2, NULL, 0, NULL};
    if (folio_append(&res, db, &b1) || folio_append(&res, db, &b2) || folio_append(&res, db, &b3))
        return fprintf(stderr, "generate: %s\n", folio_errmsg()), 1;

    snprintf(out, sizeof out, "%s/frames-v1.hex", argv[1]);
    FILE *fh = fopen(out, "w");
    snprintf(out, sizeof out, "%s/expected-v1.txt", argv[1]);
    FILE *fe = fopen(out, "w");
    snprintf(out, sizeof out, "%s/head-v1.txt", argv[1]);
    FILE *fd = fopen(out, "w");
    if (!fh || !fe || !fd) return 1;
    folio_txn t = {0};
    if (folio_store__read_begin(&t, db->store)) return 1;
    for (uint64_t seq = 1; seq <= res.last_seq; seq++) {
        uint8_t key[8];
        folio_val v;
        folio__put_be64(key, seq);
        if (folio_store__get(&v, &t, FOLIO_DB_LOG, key, 8)) return 1;
        fprintf(fh, "%llu ", (unsigned long long)seq);
        for (size_t i = 0; i < v.size; i++) fprintf(fh, "%02x", ((const uint8_t *)v.data)[i]);
        fputc('\n', fh);
    }
    folio_store__read_end(&t);
    folio_iter *it = NULL;
    const folio_event *e;
    if (folio_log_open(&it, db, 0, 0)) return 1;
    while (folio_iter_next(&e, it) == FOLIO_OK) golden_render(fe, e);
    folio_iter_free(it);
    folio_verify_report r;
    char hex[33];
    if (folio_verify(&r, db)) return 1;
    folio_hash_hex(hex, r.head);
    fprintf(fd, "%s\n", hex);
    fclose(fh);
    fclose(fe);
    fclose(fd);
    folio_db_close(db);
    unlink(path);
    unlink(lock);
    return 0;
}
