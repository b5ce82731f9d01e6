/*
 * tests/reliability/fuzz/fuzz_append.c - libFuzzer target: hostile events through the
 * projections and the readers that replay them.
 *
 * Why: the chain hash is not keyed, so whoever writes an export file can give any event a
 * matching chain, and `folio restore` then appends it as it is; folio_event_append takes
 * raw events from an embedder too. Either way a payload that is valid msgpack but says
 * nonsense for its type ("invoice.issued" without an amount, a merge into a stranger)
 * reaches every projection's fold, the statement replay and the history renderer.
 *
 * Input: records [type][stream][schema][len_hi][len_lo][len payload bytes]..., each appended
 * with folio_event_append (type byte as the type id, stream byte % 8) to a copy of the
 * template ledger, put back before every input. Each append may be refused (EINVAL,
 * ELIMIT, ERULE, ECORRUPT...), never crash. Afterwards: the ledger verifies, folio_check
 * (a fresh fold) equals the projections, and every customer's card, statement and history
 * (with folio_event_changes_json) can be read without a crash.
 *
 * FOLIO_FUZZ_MAKE_SEEDS=DIR: write the template's events, one record per seed, and one seed
 * holding all of them, into DIR and exit.
 */
#include "fuzz_common.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_append: check failed: %s: ", #cond);                       \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define RECORDS_MAX 16

static char db_path[600];

static size_t put_record(uint8_t *out, const folio_event *e) {
    out[0] = (uint8_t)e->type;
    out[1] = (uint8_t)e->stream;
    out[2] = (uint8_t)e->schema;
    out[3] = (uint8_t)(e->payload_bytes >> 8);
    out[4] = (uint8_t)e->payload_bytes;
    memcpy(out + 5, e->payload, e->payload_bytes);
    return 5 + e->payload_bytes;
}

static void make_seeds(const char *dir) {
    folio_db *db = NULL;
    folio_iter *it = NULL;
    const folio_event *e;
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    size_t all_cap = 1 << 20, all_n = 0;
    uint8_t *all = malloc(all_cap), one[70000];
    if (!all) fz_die("out of memory");
    if (folio_db_open(&db, db_path, &o) < 0) fz_die("open: %s", folio_errmsg());
    if (folio_log_open(&it, db, 1, 0) < 0) fz_die("log: %s", folio_errmsg());
    int n = 0;
    while (folio_iter_next(&e, it) == FOLIO_OK) {
        if (e->payload_bytes > 0xffff || all_n + e->payload_bytes + 5 > all_cap)
            fz_die("seed too large");
        size_t k = put_record(one, e);
        memcpy(all + all_n, one, k);
        all_n += k;
        char out[700];
        snprintf(out, sizeof out, "%s/event-%03d-%s", dir, ++n, folio_event_type_name(e->type));
        fz_write(out, one, k);
    }
    char out[700];
    snprintf(out, sizeof out, "%s/all-events", dir);
    fz_write(out, all, all_n);
    free(all);
    folio_iter_free(it);
    folio_db_close(db);
    fprintf(stderr, "fuzz_append: wrote %d seeds into %s\n", n + 1, dir);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_scratch_init("append", 0);
    fz_template_init();
    fz_path(db_path, sizeof db_path, "ledger.db");
    const char *seeds = getenv("FOLIO_FUZZ_MAKE_SEEDS");
    if (seeds && *seeds) {
        fz_template_reset(db_path);
        make_seeds(seeds);
    }
    return 0;
}

/* Read everything a user can read about every customer. */
static void read_back(folio_db *db) {
    folio_customer_list *list = NULL;
    int rc = folio_customer_list_get(&list, db, FOLIO_LIST_ALL, NULL);
    CHECK(rc == FOLIO_OK || rc == FOLIO_ECORRUPT, "list returned %d: %s", rc, folio_errmsg());
    if (rc != FOLIO_OK) return;
    for (size_t i = 0; i < list->count; i++) {
        const char *ref = list->items[i]->ref;
        folio_customer *c = NULL;
        folio_statement *s = NULL;
        folio_iter *it = NULL;
        const folio_event *e;
        rc = folio_customer_get(&c, db, ref, 0, 1);
        folio_customer_free(c);
        rc = folio_statement_get(&s, db, ref, "2030-01-01", NULL, 0);
        if (rc == FOLIO_OK) {
            int64_t sum = 0;
            for (unsigned b = 0; b < FOLIO_AGING_BUCKETS; b++) sum += s->aging_minor[b];
            CHECK(sum == s->total_open_minor, "%s: aging buckets add up to %lld, total %lld",
                  ref, (long long)sum, (long long)s->total_open_minor);
        }
        folio_statement_free(s);
        if (folio_history_open(&it, db, ref) == FOLIO_OK) {
            while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
                char *json = NULL;
                (void)folio_event_changes_json(&json, e);
                folio_free(json);
            }
            CHECK(rc == FOLIO_ITEROVER, "history of %s: %s", ref, folio_errmsg());
        }
        folio_iter_free(it);
    }
    folio_customer_list_free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_template_reset(db_path);
    folio_db *db = NULL;
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    CHECK(folio_db_open(&db, db_path, &o) == FOLIO_OK, "open: %s", folio_errmsg());
    size_t i = 0;
    for (int r = 0; r < RECORDS_MAX && i + 5 <= size; r++) {
        size_t len = ((size_t)data[i + 3] << 8) | data[i + 4];
        if (len > size - i - 5) len = size - i - 5;
        folio_event e = {0};
        e.type = data[i];
        e.stream = data[i + 1] % 8;
        e.schema = data[i + 2];
        e.actor = "fuzz";
        e.payload = data + i + 5;
        e.payload_bytes = len;
        uint64_t seq = 0;
        int rc = folio_event_append(&seq, db, &e);
        CHECK(rc == FOLIO_OK || rc == FOLIO_EINVAL || rc == FOLIO_ELIMIT || rc == FOLIO_ERULE ||
                  rc == FOLIO_ECORRUPT || rc == FOLIO_ECONFLICT || rc == FOLIO_ENOTFOUND ||
                  rc == FOLIO_EEXISTS,
              "append returned %d: %s", rc, folio_errmsg());
        i += 5 + len;
    }
    folio_verify_report vr;
    uint64_t events = 0;
    CHECK(folio_verify(&vr, db) == FOLIO_OK, "verify: %s", folio_errmsg());
    CHECK(folio_check(&events, db) == FOLIO_OK, "check: %s", folio_errmsg());
    read_back(db);
    folio_db_close(db);
    return 0;
}
