/*
 * tests/reliability/fuzz/fuzz_restore.c - libFuzzer target: JSON restore and JSON payloads.
 *
 * Input: a file handed to `folio restore FILE` (JSON Lines as `folio export` writes them),
 * into a scratch ledger that does not exist yet (removed before every input). Checked:
 *   - the exit code is 0, 1 (out of order), 2 (malformed line) or 4 (altered export: chain
 *     hash differs); never 3 or 5, never a crash;
 *   - a restore that succeeds leaves a ledger that verifies and passes folio_check; one that
 *     fails leaves no ledger and no ".restoring" file behind.
 * The same bytes (NUL-terminated) go to folio_payload_from_json; an accepted object renders
 * back (folio_payload_to_json) to JSON equal to the input, and from_json of that gives the
 * same msgpack bytes.
 */
#include <jansson.h>

#include "fuzz_common.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_restore: check failed: %s: ", #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char db_path[600], lock_path[600], tmp_path[600], tmp_lock_path[600], input_path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_scratch_init("restore", 0);
    fz_path(db_path, sizeof db_path, "ledger.db");
    fz_path(lock_path, sizeof lock_path, "ledger.db-lock");
    fz_path(tmp_path, sizeof tmp_path, "ledger.db.restoring");
    fz_path(tmp_lock_path, sizeof tmp_lock_path, "ledger.db.restoring-lock");
    fz_path(input_path, sizeof input_path, "input");
    return 0;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void check_payload_json(const char *text) {
    void *mp = NULL, *mp2 = NULL;
    size_t n = 0, n2 = 0;
    char *json = NULL;
    if (folio_payload_from_json(&mp, &n, text) != FOLIO_OK) return;
    CHECK(n > 0 && n <= FOLIO_PAYLOAD_BYTES_MAX, "payload of %zu bytes", n);
    CHECK(folio_payload_to_json(&json, mp, n) == FOLIO_OK, "accepted payload does not render: %s",
          folio_errmsg());
    json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    json_t *b = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    CHECK(a && b, "rendered payload is not JSON: %s", json);
    CHECK(json_equal(a, b), "payload JSON changed in the round trip:\n%s\n%s", text, json);
    json_decref(a);
    json_decref(b);
    CHECK(folio_payload_from_json(&mp2, &n2, json) == FOLIO_OK, "rendered payload refused: %s",
          folio_errmsg());
    CHECK(n2 == n && memcmp(mp, mp2, n) == 0, "msgpack differs after JSON round trip");
    folio_free(json);
    folio_free(mp);
    folio_free(mp2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unlink(db_path);
    unlink(lock_path);
    unlink(tmp_path);
    unlink(tmp_lock_path);
    fz_write(input_path, data, size);
    int code = fz_cli("--db", db_path, "restore", input_path, NULL);
    CHECK(code == 0 || code == 1 || code == 2 || code == 4, "restore exited %d", code);
    CHECK(!exists(tmp_path), "restore exited %d and left %s", code, tmp_path);
    if (code == 0) {
        folio_db *db = NULL;
        folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
        folio_verify_report vr;
        uint64_t events = 0;
        o.read_only = 1;
        CHECK(folio_db_open(&db, db_path, &o) == FOLIO_OK, "open restored: %s", folio_errmsg());
        CHECK(folio_verify(&vr, db) == FOLIO_OK, "restored ledger fails verify: %s",
              folio_errmsg());
        CHECK(folio_check(&events, db) == FOLIO_OK, "restored ledger fails check: %s",
              folio_errmsg());
        folio_db_close(db);
    } else {
        CHECK(!exists(db_path), "a failed restore (exit %d) left a ledger", code);
    }

    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_payload_json(text);
    free(text);
    return 0;
}
