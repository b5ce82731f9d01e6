/*
 * tests/reliability/fuzz/fuzz_import.c - libFuzzer target: `folio import` of a hostile CSV.
 *
 * Input: one mode byte m, then the CSV file. m bit 0: documents (else customers); bit 1:
 * --dry-run; bits 2-3 (customers): --on-existing none/skip/update/error. Before every input
 * the scratch ledger is put back to the template (the demo ledger plus JPY and BHD
 * customers with documents), so rows can match, update and pay existing customers.
 * The CLI runs in-process (tools/ compiled into this binary). Checked after each input:
 *   - the exit code is 0 (all rows in), 1 (some rows rejected) or 2 (the file is not a CSV
 *     import): never 4 (integrity) or 5 (storage), never a crash;
 *   - the ledger still verifies (folio_verify: chain, checksums) and its projections equal a
 *     fresh fold of the log (folio_check);
 *   - a dry run leaves the ledger file byte for byte as it was.
 */
#include "fuzz_common.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_import: check failed: %s: ", #cond);                       \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char db_path[600], input_path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_scratch_init("import", 0);
    fz_template_init();
    fz_path(db_path, sizeof db_path, "ledger.db");
    fz_path(input_path, sizeof input_path, "input");
    return 0;
}

static void check_ledger(void) {
    folio_db *db = NULL;
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    folio_verify_report vr;
    uint64_t events = 0;
    o.read_only = 1;
    CHECK(folio_db_open(&db, db_path, &o) == FOLIO_OK, "reopen: %s", folio_errmsg());
    CHECK(folio_verify(&vr, db) == FOLIO_OK, "verify after import: %s", folio_errmsg());
    CHECK(folio_check(&events, db) == FOLIO_OK, "check after import: %s", folio_errmsg());
    folio_db_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const on_existing[] = {NULL, "skip", "update", "error"};
    uint8_t mode = data[0];
    const char *kind = (mode & 1) ? "documents" : "customers";
    int dry_run = (mode & 2) != 0;
    const char *oe = (mode & 1) ? NULL : on_existing[(mode >> 2) & 3];

    fz_template_reset(db_path);
    fz_write(input_path, data + 1, size - 1);
    int code;
    if (dry_run && oe)
        code = fz_cli("--db", db_path, "import", kind, input_path, "--dry-run", "--on-existing",
                      oe, NULL);
    else if (dry_run)
        code = fz_cli("--db", db_path, "import", kind, input_path, "--dry-run", NULL);
    else if (oe)
        code = fz_cli("--db", db_path, "import", kind, input_path, "--on-existing", oe, NULL);
    else
        code = fz_cli("--db", db_path, "import", kind, input_path, NULL);
    CHECK(code == 0 || code == 1 || code == 2, "import %s exited %d", kind, code);
    if (dry_run) {
        size_t n = 0;
        uint8_t *now = fz_read(db_path, &n);
        CHECK(n == fz_template_bytes && memcmp(now, fz_template, n) == 0,
              "a dry run changed the ledger file");
        free(now);
    } else {
        check_ledger();
    }
    return 0;
}
