/*
 * tests/reliability/fuzz/fuzz_cli.c - libFuzzer target: the CLI's argument parsing and
 * every command behind it.
 *
 * Input: arguments separated by NUL bytes (at most 32, each cut at 256 bytes). The target
 * runs `folio --db ledger.db ARGS...` in-process, in its scratch directory, against a copy
 * of the template ledger (demo ledger plus JPY and BHD customers with documents) put back
 * before every input; stdin is /dev/null and stdout is discarded.
 * So that a fuzzed argument vector cannot touch anything outside the scratch directory or
 * block, these arguments are dropped: any starting with "--db" (the ledger is always the
 * scratch one), any containing '/' (paths stay relative to the scratch directory), and
 * "--follow" (waits for new events forever by design).
 * Checked: the exit code is 0-3 (never 4 integrity or 5 storage on a healthy ledger, never
 * a crash), and afterwards the ledger verifies and its projections equal a fresh fold.
 */
#include "fuzz_common.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_cli: check failed: %s: ", #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define ARGS_MAX 32
#define ARG_BYTES_MAX 256

static char db_path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_scratch_init("cli", 1);
    fz_template_init();
    snprintf(db_path, sizeof db_path, "ledger.db");
    return 0;
}

static int dropped(const char *a) {
    return strncmp(a, "--db", 4) == 0 || strchr(a, '/') != NULL || strcmp(a, "--follow") == 0;
}

static void print_args(int argc, char **argv) {
    fprintf(stderr, "fuzz_cli: arguments:");
    for (int i = 0; i < argc; i++) fprintf(stderr, " '%s'", argv[i]);
    fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *argv[ARGS_MAX + 4];
    char *store[ARGS_MAX];
    int argc = 0, nstore = 0;
    argv[argc++] = (char *)"folio";
    argv[argc++] = (char *)"--db";
    argv[argc++] = db_path;
    size_t i = 0;
    while (i < size && nstore < ARGS_MAX) {
        size_t start = i;
        while (i < size && data[i] != 0) i++;
        size_t len = i - start;
        if (len > ARG_BYTES_MAX) len = ARG_BYTES_MAX;
        char *a = malloc(len + 1);
        if (!a) break;
        memcpy(a, data + start, len);
        a[len] = '\0';
        store[nstore++] = a;
        if (!dropped(a)) argv[argc++] = a;
        i++; /* past the NUL */
    }
    argv[argc] = NULL;

    fz_template_reset(db_path);
    int code = folio_cli_main(argc, argv);
    if (code < 0 || code > 3) print_args(argc, argv);
    CHECK(code >= 0 && code <= 3, "folio exited %d on a healthy ledger", code);

    folio_db *db = NULL;
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    folio_verify_report vr;
    uint64_t events = 0;
    o.read_only = 1;
    int rc = folio_db_open(&db, db_path, &o);
    if (rc != FOLIO_OK) print_args(argc, argv);
    CHECK(rc == FOLIO_OK, "reopen: %s", folio_errmsg());
    rc = folio_verify(&vr, db);
    if (rc == FOLIO_OK) rc = folio_check(&events, db);
    if (rc != FOLIO_OK) print_args(argc, argv);
    CHECK(rc == FOLIO_OK, "ledger broken after the command: %s", folio_errmsg());
    folio_db_close(db);
    for (int k = 0; k < nstore; k++) free(store[k]);
    return 0;
}
