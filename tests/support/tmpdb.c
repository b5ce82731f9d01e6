/*
 * tests/support/tmpdb.c - the per-test ledger fixture (see tmpdb.h).
 * Everything handed out is recorded here and released by tmpdb_teardown(), so tests do not
 * free: a failed assertion anywhere still leaves no handle open and no directory behind.
 */
#include "tmpdb.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMPDB_HANDLES_MAX 8u

folio_db *tmpdb;
char tmpdb_dir[64];

static folio_db *handles[TMPDB_HANDLES_MAX];
static void **kept;
static size_t kept_count, kept_cap;

/* Objects with a release function of their own (cards, lists), released at teardown. */
typedef struct {
    void (*release)(void *);
    void *p;
} deferred;
static deferred *defer_list;
static size_t defer_count, defer_cap;

/* ---- memory ---- */

void *tmpdb_keep(void *p) {
    if (p == NULL) return NULL;
    if (kept_count == kept_cap) {
        size_t cap = kept_cap ? kept_cap * 2 : 64;
        void **k = realloc(kept, cap * sizeof *k);
        cr_assert_not_null(k, "tmpdb: out of memory");
        kept = k;
        kept_cap = cap;
    }
    kept[kept_count++] = p;
    return p;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    cr_assert_not_null(p, "tmpdb: out of memory");
    return tmpdb_keep(p);
}

static char *vstrf(const char *fmt, va_list ap) {
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    cr_assert_geq(n, 0, "tmpdb: out of memory");
    return tmpdb_keep(s);
}

char *tmpdb_strf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vstrf(fmt, ap);
    va_end(ap);
    return s;
}

char *tmpdb_repeat(char c, size_t bytes) {
    char *s = xmalloc(bytes + 1);
    memset(s, c, bytes);
    s[bytes] = '\0';
    return s;
}

/* ---- lifecycle ---- */

static void forget_handle(folio_db *db) {
    for (unsigned i = 0; i < TMPDB_HANDLES_MAX; i++)
        if (handles[i] == db) handles[i] = NULL;
    if (tmpdb == db) tmpdb = NULL;
}

void tmpdb_setup_dir(void) {
    snprintf(tmpdb_dir, sizeof tmpdb_dir, "/tmp/folio-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdb_dir), "tmpdb: mkdtemp: %s", strerror(errno));
    tmpdb = NULL;
}

void tmpdb_setup(void) {
    tmpdb_setup_dir();
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);
}

void tmpdb_teardown(void) {
    for (unsigned i = 0; i < TMPDB_HANDLES_MAX; i++) {
        folio_db_close(handles[i]);
        handles[i] = NULL;
    }
    tmpdb = NULL;
    if (tmpdb_dir[0]) {
        const char *keep = getenv("TMPDB_KEEP");
        if (keep && *keep && strcmp(keep, "0") != 0)
            fprintf(stderr, "tmpdb: kept %s\n", tmpdb_dir);
        else
            tmpdb_rm_rf(tmpdb_dir);
        tmpdb_dir[0] = '\0';
    }
    for (size_t i = 0; i < defer_count; i++) defer_list[i].release(defer_list[i].p);
    free(defer_list);
    defer_list = NULL;
    defer_count = defer_cap = 0;
    for (size_t i = 0; i < kept_count; i++) folio_free(kept[i]);
    free(kept);
    kept = NULL;
    kept_count = kept_cap = 0;
}

const char *tmpdb_path(const char *name) {
    cr_assert(tmpdb_dir[0] != '\0', "tmpdb: no directory (tmpdb_setup not run)");
    return tmpdb_strf("%s/%s", tmpdb_dir, name);
}

const char *tmpdb_ledger_path(void) { return tmpdb_path("ledger.db"); }

folio_db *tmpdb_open(const char *path, const folio_open_opts *opts) {
    folio_db *db = NULL;
    int rc = folio_db_open(&db, path, opts);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: open %s: %s (%s)", path, folio_strerror(rc),
                 folio_errmsg());
    cr_assert_not_null(db);
    for (unsigned i = 0; i < TMPDB_HANDLES_MAX; i++) {
        if (handles[i] == NULL) {
            handles[i] = db;
            return db;
        }
    }
    folio_db_close(db);
    cr_assert_fail("tmpdb: more than %u handles open", TMPDB_HANDLES_MAX);
    return NULL;
}

void tmpdb_close(folio_db *db) {
    forget_handle(db);
    folio_db_close(db);
}

folio_db *tmpdb_reopen(void) {
    tmpdb_close(tmpdb);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);
    return tmpdb;
}

/* ---- events ---- */

static void payload_v(const void **payload_out, size_t *bytes_out, const char *fmt,
                      va_list ap) {
    const char *json = fmt ? vstrf(fmt, ap) : "{}";
    void *p = NULL;
    size_t n = 0;
    int rc = folio_payload_from_json(&p, &n, json);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: payload %s: %s (%s)", json, folio_strerror(rc),
                 folio_errmsg());
    *payload_out = tmpdb_keep(p);
    *bytes_out = n;
}

void tmpdb_payload(const void **payload_out, size_t *bytes_out, const char *json_fmt, ...) {
    va_list ap;
    va_start(ap, json_fmt);
    payload_v(payload_out, bytes_out, json_fmt, ap);
    va_end(ap);
}

folio_event tmpdb_event(uint64_t stream, uint32_t type, const char *json_fmt, ...) {
    folio_event e = {.stream = stream, .type = type, .schema = 1, .actor = TMPDB_ACTOR};
    va_list ap;
    va_start(ap, json_fmt);
    payload_v(&e.payload, &e.payload_bytes, json_fmt, ap);
    va_end(ap);
    return e;
}

folio_event tmpdb_note(uint64_t stream, const char *text) {
    return tmpdb_event(stream, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"text\":\"%s\"}", text);
}

uint64_t tmpdb_append(folio_db *db, const folio_event *event) {
    uint64_t seq = 0;
    int rc = folio_event_append(&seq, db, event);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: append: %s (%s)", folio_strerror(rc), folio_errmsg());
    return seq;
}

folio_append_result tmpdb_append_batch(folio_db *db, const folio_event *events, size_t count,
                                       const char *idempotency_key) {
    folio_append_result res = {0, 0, 0};
    folio_batch b = {events, count, NULL, 0, idempotency_key};
    int rc = folio_append(&res, db, &b);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: append batch: %s (%s)", folio_strerror(rc),
                 folio_errmsg());
    return res;
}

/* ---- reading ---- */

uint64_t tmpdb_last_seq(folio_db *db) {
    folio_stats st;
    int rc = folio_stats_get(&st, db);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: stats: %s (%s)", folio_strerror(rc), folio_errmsg());
    return st.events;
}

uint64_t tmpdb_stream_version(folio_db *db, uint64_t stream) {
    uint64_t v = UINT64_MAX;
    int rc = folio_stream_version(&v, db, stream);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: stream_version: %s (%s)", folio_strerror(rc),
                 folio_errmsg());
    return v;
}

static const char *dup_str(const char *s) {
    if (s == NULL) return NULL;
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

folio_event tmpdb_copy_event(const folio_event *e) {
    folio_event c = *e;
    c.actor = dup_str(e->actor);
    c.reason = dup_str(e->reason);
    c.correlation = dup_str(e->correlation);
    c.idempotency_key = dup_str(e->idempotency_key);
    if (e->payload) {
        void *p = xmalloc(e->payload_bytes);
        memcpy(p, e->payload, e->payload_bytes);
        c.payload = p;
    }
    return c;
}

static folio_event *drain(folio_iter *it, size_t *count_out) {
    size_t cap = 64, n = 0;
    folio_event *out = malloc(cap * sizeof *out);
    cr_assert_not_null(out);
    const folio_event *e;
    int rc;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        if (n == cap) {
            cap *= 2;
            folio_event *grown = realloc(out, cap * sizeof *out);
            cr_assert_not_null(grown);
            out = grown;
        }
        out[n++] = tmpdb_copy_event(e);
    }
    folio_iter_free(it);
    tmpdb_keep(out);
    cr_assert_eq(rc, FOLIO_ITEROVER, "tmpdb: iteration ended with %s (%s) after %zu events",
                 folio_strerror(rc), folio_errmsg(), n);
    *count_out = n;
    return out;
}

folio_event *tmpdb_read_log(folio_db *db, uint64_t from_seq, uint64_t to_seq,
                            size_t *count_out) {
    folio_iter *it = NULL;
    int rc = folio_log_open(&it, db, from_seq, to_seq);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: log_open: %s (%s)", folio_strerror(rc), folio_errmsg());
    return drain(it, count_out);
}

folio_event *tmpdb_read_stream(folio_db *db, uint64_t stream, uint64_t max_version,
                               uint64_t at_seq, size_t *count_out) {
    folio_iter *it = NULL;
    int rc = folio_stream_open(&it, db, stream, max_version, at_seq);
    *count_out = 0;
    if (rc == FOLIO_ENOTFOUND) {
        cr_assert_null(it);
        return NULL;
    }
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: stream_open: %s (%s)", folio_strerror(rc),
                 folio_errmsg());
    return drain(it, count_out);
}

static void assert_str_eq(const char *actual, const char *expected, const char *what) {
    if (expected == NULL) {
        cr_assert_null(actual, "%s: expected NULL, got \"%s\"", what, actual);
    } else {
        cr_assert_not_null(actual, "%s: expected \"%s\", got NULL", what, expected);
        cr_assert_str_eq(actual, expected, "%s differs", what);
    }
}

void tmpdb_assert_event_eq(const folio_event *a, const folio_event *e) {
    cr_assert_eq(a->seq, e->seq, "seq %llu, expected %llu", (unsigned long long)a->seq,
                 (unsigned long long)e->seq);
    cr_assert_eq(a->stream, e->stream, "stream of seq %llu", (unsigned long long)e->seq);
    cr_assert_eq(a->version, e->version, "version of seq %llu", (unsigned long long)e->seq);
    cr_assert_eq(a->type, e->type, "type of seq %llu", (unsigned long long)e->seq);
    cr_assert_eq(a->schema, e->schema, "schema of seq %llu", (unsigned long long)e->seq);
    cr_assert_eq(a->recorded_at_us, e->recorded_at_us, "recorded_at of seq %llu",
                 (unsigned long long)e->seq);
    assert_str_eq(a->actor, e->actor, "actor");
    assert_str_eq(a->reason, e->reason, "reason");
    assert_str_eq(a->correlation, e->correlation, "correlation");
    assert_str_eq(a->idempotency_key, e->idempotency_key, "idempotency key");
    cr_assert_eq(a->payload_bytes, e->payload_bytes, "payload size of seq %llu",
                 (unsigned long long)e->seq);
    cr_assert_eq(memcmp(a->payload, e->payload, e->payload_bytes), 0,
                 "payload bytes of seq %llu", (unsigned long long)e->seq);
}

/* ---- files ---- */

void *tmpdb_read_file(const char *path, size_t *bytes_out) {
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "tmpdb: open %s: %s", path, strerror(errno));
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = xmalloc(n);
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        cr_assert_gt(r, 0, "tmpdb: read %s: %s", path, strerror(errno));
        got += (size_t)r;
    }
    close(fd);
    *bytes_out = n;
    return buf;
}

void tmpdb_write_file(const char *path, const void *data, size_t bytes) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0, "tmpdb: create %s: %s", path, strerror(errno));
    size_t put = 0;
    while (put < bytes) {
        ssize_t w = write(fd, (const char *)data + put, bytes - put);
        cr_assert_gt(w, 0, "tmpdb: write %s: %s", path, strerror(errno));
        put += (size_t)w;
    }
    cr_assert_eq(close(fd), 0);
}

size_t tmpdb_flip_bytes(const char *path, const void *needle, size_t needle_bytes) {
    size_t n = 0, found = 0;
    cr_assert_gt(needle_bytes, 0);
    char *buf = tmpdb_read_file(path, &n);
    for (char *p = buf; (p = memmem(p, n - (size_t)(p - buf), needle, needle_bytes)) != NULL;
         p += needle_bytes) {
        p[0] ^= 0x01;
        found++;
    }
    if (found) tmpdb_write_file(path, buf, n);
    return found;
}

size_t tmpdb_flip_marker(const char *path, const char *marker) {
    return tmpdb_flip_bytes(path, marker, strlen(marker));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

void tmpdb_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the customer master ---- */

static void defer(void (*release)(void *), void *p) {
    if (p == NULL) return;
    if (defer_count == defer_cap) {
        size_t cap = defer_cap ? defer_cap * 2 : 32;
        deferred *d = realloc(defer_list, cap * sizeof *d);
        cr_assert_not_null(d, "tmpdb: out of memory");
        defer_list = d;
        defer_cap = cap;
    }
    defer_list[defer_count++] = (deferred){release, p};
}

static void release_card(void *p) { folio_customer_free(p); }
static void release_list(void *p) { folio_customer_list_free(p); }

folio_write_opts tmpdb_w(void) {
    folio_write_opts w = {.actor = TMPDB_ACTOR};
    return w;
}

folio_write_result tmpdb_customer_new(folio_db *db, const folio_customer_new *c) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    int rc = folio_customer_create(&r, db, &w, c);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: create '%s': %s (%s)", c->name ? c->name : "(null)",
                 folio_strerror(rc), folio_errmsg());
    cr_assert_gt(r.id, 0);
    cr_assert_gt(r.seq, 0);
    return r;
}

folio_write_result tmpdb_customer(folio_db *db, const char *name) {
    folio_customer_new c = {.name = name};
    return tmpdb_customer_new(db, &c);
}

void tmpdb_set_status(folio_db *db, const char *ref, const char *status) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    int rc = folio_customer_set_status(&r, db, &w, ref, status);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: status %s %s: %s (%s)", ref, status, folio_strerror(rc),
                 folio_errmsg());
    cr_assert_eq(r.unchanged, 0, "tmpdb: status %s %s changed nothing", ref, status);
}

uint64_t tmpdb_contact(folio_db *db, const char *ref, const char *name) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_contact_new c = {.name = name};
    int rc = folio_contact_add(&r, db, &w, ref, &c);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: contact add %s '%s': %s (%s)", ref, name,
                 folio_strerror(rc), folio_errmsg());
    cr_assert_gt(r.item_id, 0);
    return r.item_id;
}

uint64_t tmpdb_invoice(folio_db *db, uint64_t id, const char *doc, const char *amount) {
    folio_event e = tmpdb_event(id, FOLIO_EV_INVOICE_ISSUED,
                                "{\"doc\":\"%s\",\"date\":\"2026-11-01\",\"due\":\"2026-12-01\","
                                "\"amount\":\"%s\"}",
                                doc, amount);
    return tmpdb_append(db, &e);
}

folio_customer *tmpdb_card_at(folio_db *db, const char *ref, uint64_t at_seq,
                              int include_deleted) {
    folio_customer *c = NULL;
    int rc = folio_customer_get(&c, db, ref, at_seq, include_deleted);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: show %s at seq %llu: %s (%s)", ref,
                 (unsigned long long)at_seq, folio_strerror(rc), folio_errmsg());
    cr_assert_not_null(c);
    defer(release_card, c);
    return c;
}

folio_customer *tmpdb_card(folio_db *db, const char *ref) { return tmpdb_card_at(db, ref, 0, 0); }

folio_customer_list *tmpdb_list(folio_db *db, int deleted, unsigned statuses,
                                const char *pattern) {
    folio_customer_list *l = NULL;
    int rc = deleted ? folio_deleted_list_get(&l, db, pattern)
                     : folio_customer_list_get(&l, db, statuses, pattern);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: %s '%s': %s (%s)", deleted ? "deleted" : "list",
                 pattern ? pattern : "(all)", folio_strerror(rc), folio_errmsg());
    cr_assert_not_null(l);
    defer(release_list, l);
    return l;
}

folio_event *tmpdb_history(folio_db *db, const char *ref, size_t *count_out) {
    folio_iter *it = NULL;
    int rc = folio_history_open(&it, db, ref);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: history %s: %s (%s)", ref, folio_strerror(rc),
                 folio_errmsg());
    return drain(it, count_out);
}

char *tmpdb_changes(const folio_event *e) {
    char *json = NULL;
    int rc = folio_event_changes_json(&json, e);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: changes of seq %llu: %s (%s)", (unsigned long long)e->seq,
                 folio_strerror(rc), folio_errmsg());
    return tmpdb_keep(json);
}

char *tmpdb_payload_json(const folio_event *e) {
    char *json = NULL;
    int rc = folio_payload_to_json(&json, e->payload, e->payload_bytes);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: payload of seq %llu: %s (%s)", (unsigned long long)e->seq,
                 folio_strerror(rc), folio_errmsg());
    return tmpdb_keep(json);
}

void tmpdb_assert_json_eq(const char *actual, const char *expected) {
    json_error_t err;
    cr_assert_not_null(actual, "expected JSON %s, got NULL", expected);
    json_t *a = json_loads(actual, JSON_DECODE_ANY, &err);
    cr_assert_not_null(a, "not JSON (%s): %s", err.text, actual);
    json_t *e = json_loads(expected, JSON_DECODE_ANY, &err);
    if (e == NULL) json_decref(a);
    cr_assert_not_null(e, "expected text is not JSON (%s): %s", err.text, expected);
    int same = json_equal(a, e);
    json_decref(a);
    json_decref(e);
    cr_assert(same, "JSON differs:\n  actual   %s\n  expected %s", actual, expected);
}

tmpdb_head tmpdb_head_get(folio_db *db) {
    folio_verify_report rep;
    folio_stats st;
    tmpdb_head h;
    int rc = folio_verify(&rep, db);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: verify: %s (%s)", folio_strerror(rc), folio_errmsg());
    rc = folio_stats_get(&st, db);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: stats: %s (%s)", folio_strerror(rc), folio_errmsg());
    cr_assert_eq(rep.events, st.events, "tmpdb: verify saw %llu events, stats %llu",
                 (unsigned long long)rep.events, (unsigned long long)st.events);
    h.seq = st.events;
    memcpy(h.hash, rep.head, FOLIO_HASH_BYTES);
    return h;
}

void tmpdb_assert_head_is(folio_db *db, const tmpdb_head *before, const char *what) {
    tmpdb_head now = tmpdb_head_get(db);
    cr_assert_eq(now.seq, before->seq, "%s: the log moved from seq %llu to %llu", what,
                 (unsigned long long)before->seq, (unsigned long long)now.seq);
    cr_assert_eq(memcmp(now.hash, before->hash, FOLIO_HASH_BYTES), 0,
                 "%s: the head hash changed", what);
}

void tmpdb_check_refused(folio_db *db, int rc, int code, const char *needle,
                         const tmpdb_head *before, const char *call, const char *file,
                         int line) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", folio_errmsg());
    cr_assert_eq(rc, code, "%s:%d: %s returned %s, expected %s (%s)", file, line, call,
                 folio_strerror(rc), folio_strerror(code), msg);
    if (needle)
        cr_assert(strstr(msg, needle) != NULL, "%s:%d: %s: message '%s' lacks '%s'", file, line,
                  call, msg, needle);
    tmpdb_assert_head_is(db, before, tmpdb_strf("%s:%d: %s", file, line, call));
}

/* ---- receivables ---- */

void tmpdb_configure(folio_db *db, const char *credit_control, const char *on_hold_policy) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_settings_new s = {NULL, NULL, credit_control, on_hold_policy};
    int rc = folio_ledger_init(&r, db, &w, &s);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: init %s %s: %s (%s)", credit_control ? credit_control : "-",
                 on_hold_policy ? on_hold_policy : "-", folio_strerror(rc), folio_errmsg());
}

const char *tmpdb_account(folio_db *db, const char *name, const char *currency,
                          const char *credit_limit) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_customer_new c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.currency = currency;
    c.credit_limit = credit_limit;
    int rc = folio_customer_create(&r, db, &w, &c);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: create '%s': %s (%s)", name, folio_strerror(rc),
                 folio_errmsg());
    return dup_str(r.ref);
}

static const char *written_doc(int rc, const folio_write_result *r, const char *what,
                               const char *ref, const char *amount) {
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: %s %s %s: %s (%s)", what, ref, amount ? amount : "-",
                 folio_strerror(rc), folio_errmsg());
    cr_assert_eq(r->replayed, 0, "tmpdb: %s %s was a replay", what, ref);
    return dup_str(r->doc);
}

const char *tmpdb_issue_invoice(folio_db *db, const char *ref, const char *amount,
                                const char *date, const char *due) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, NULL, date, due};
    int rc = folio_invoice_issue(&r, db, &w, ref, &d);
    return written_doc(rc, &r, "invoice", ref, amount);
}

const char *tmpdb_issue_credit_note(folio_db *db, const char *ref, const char *amount,
                                    const char *date) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, NULL, date, NULL};
    int rc = folio_credit_note_issue(&r, db, &w, ref, &d);
    return written_doc(rc, &r, "credit note", ref, amount);
}

const char *tmpdb_receive_payment(folio_db *db, const char *ref, const char *amount,
                                  const char *date, int auto_allocate) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, NULL, date, NULL};
    int rc = folio_payment_receive(&r, db, &w, ref, &d, NULL, 0, auto_allocate);
    return written_doc(rc, &r, "payment", ref, amount);
}

void tmpdb_allocate(folio_db *db, const char *ref, const char *from, const char *to,
                    const char *amount, const char *date) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    int rc = folio_allocate(&r, db, &w, ref, from, to, amount, date, to == NULL);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: allocate %s %s -> %s %s: %s (%s)", ref, from,
                 to ? to : "(auto)", amount ? amount : "(all)", folio_strerror(rc),
                 folio_errmsg());
}

const char *tmpdb_issue_refund(folio_db *db, const char *ref, const char *from,
                               const char *amount, const char *date) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_document_new d = {amount, NULL, date, NULL};
    int rc = folio_refund_issue(&r, db, &w, ref, from, &d);
    return written_doc(rc, &r, "refund", ref, amount);
}

static int32_t date_days(const char *text) {
    int32_t d = 0;
    int rc = folio_date_parse(&d, text);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: date '%s': %s", text ? text : "(null)", folio_errmsg());
    return d;
}

static void money_is(const char *text, int64_t minor, const char *currency, const char *what) {
    char want[FOLIO_MONEY_TEXT_MAX];
    cr_assert_eq(folio_money_format(want, sizeof want, minor, currency), FOLIO_OK);
    cr_assert_not_null(text, "tmpdb: statement %s is NULL", what);
    cr_assert_str_eq(text, want, "tmpdb: statement %s is '%s' but its minor units say %s", what,
                     text, want);
}

/* The statement's own arithmetic (see tmpdb.h). */
static void check_statement(const folio_statement *s, const char *ref, const char *as_of,
                            const char *from, int32_t today_before) {
    cr_assert_str_eq(s->ref, ref);
    int32_t as_of_days = date_days(s->as_of);
    if (as_of)
        cr_assert_eq(as_of_days, date_days(as_of), "tmpdb: statement as of %s, asked %s",
                     s->as_of, as_of);
    else /* today, on either side of a midnight during the call */
        cr_assert(as_of_days >= today_before && as_of_days <= folio_date_today(),
                  "tmpdb: statement as of %s, asked for today", s->as_of);
    if (from) {
        cr_assert_not_null(s->from);
        cr_assert_eq(date_days(s->from), date_days(from));
        cr_assert_not_null(s->opening_balance);
        money_is(s->opening_balance, s->opening_balance_minor, s->currency, "opening balance");
    } else {
        cr_assert_null(s->from, "tmpdb: statement has a from date nobody asked for");
        cr_assert_null(s->opening_balance, "tmpdb: statement has an opening balance without from");
    }
    int64_t sum = from ? s->opening_balance_minor : 0;
    for (size_t i = 0; i < s->line_count; i++) {
        const folio_statement_line *l = &s->lines[i];
        int invoice = strcmp(l->kind, "invoice") == 0;
        cr_assert(invoice || strcmp(l->kind, "credit_note") == 0 ||
                      strcmp(l->kind, "payment") == 0,
                  "tmpdb: statement line %zu has kind '%s'", i, l->kind);
        money_is(l->amount, l->amount_minor, s->currency, "line amount");
        money_is(l->open, l->open_minor, s->currency, "line open amount");
        cr_assert_neq(l->open_minor, 0, "tmpdb: statement lists %s with nothing open", l->doc);
        if (invoice) {
            cr_assert_gt(l->open_minor, 0, "tmpdb: invoice %s is not positive", l->doc);
            cr_assert_leq(l->open_minor, l->amount_minor, "tmpdb: %s open above amount", l->doc);
            cr_assert_not_null(l->due, "tmpdb: invoice %s has no due date", l->doc);
            int64_t late = (int64_t)as_of_days - date_days(l->due);
            cr_assert_eq(l->days_overdue, late > 0 ? late : 0,
                         "tmpdb: %s due %s as of %s: days overdue %lld", l->doc, l->due, s->as_of,
                         (long long)l->days_overdue);
        } else {
            cr_assert_lt(l->open_minor, 0, "tmpdb: %s %s is not negative", l->kind, l->doc);
            cr_assert_geq(l->open_minor, l->amount_minor, "tmpdb: %s open above amount", l->doc);
            cr_assert_null(l->due, "tmpdb: %s %s has a due date", l->kind, l->doc);
        }
        cr_assert_leq(date_days(l->date), as_of_days, "tmpdb: %s is dated after the statement",
                      l->doc);
        if (from)
            cr_assert_geq(date_days(l->date), date_days(from), "tmpdb: %s is dated before from",
                          l->doc);
        if (i > 0) {
            const folio_statement_line *p = &s->lines[i - 1];
            int32_t a = date_days(p->date), b = date_days(l->date);
            cr_assert(a < b || (a == b && p->seq < l->seq),
                      "tmpdb: statement lines %s and %s are not oldest first", p->doc, l->doc);
        }
        sum += l->open_minor;
    }
    cr_assert_eq(sum, s->total_open_minor, "tmpdb: opening and lines add up to %lld, total %lld",
                 (long long)sum, (long long)s->total_open_minor);
    money_is(s->total_open, s->total_open_minor, s->currency, "total open");
    int64_t aging = 0;
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++) {
        money_is(s->aging[b], s->aging_minor[b], s->currency, "aging bucket");
        aging += s->aging_minor[b];
    }
    cr_assert_eq(aging, s->total_open_minor, "tmpdb: aging adds up to %lld, total %lld",
                 (long long)aging, (long long)s->total_open_minor);
}

const char *tmpdb_statement(folio_db *db, const char *ref, const char *as_of, const char *from,
                            uint64_t at_seq) {
    folio_statement *s = NULL;
    int32_t today = folio_date_today();
    int rc = folio_statement_get(&s, db, ref, as_of, from, at_seq);
    cr_assert_eq(rc, FOLIO_OK, "tmpdb: statement %s as of %s: %s (%s)", ref,
                 as_of ? as_of : "today", folio_strerror(rc), folio_errmsg());
    cr_assert_not_null(s);
    check_statement(s, ref, as_of, from, today);
    size_t cap = 256 + s->line_count * 160, n = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    out[0] = '\0';
    for (size_t i = 0; i < s->line_count; i++) {
        const folio_statement_line *l = &s->lines[i];
        n += (size_t)snprintf(out + n, cap - n, "%s %s %s %s %s", l->date, l->doc, l->kind,
                              l->amount, l->open);
        if (l->due)
            n += (size_t)snprintf(out + n, cap - n, " due %s %lldd", l->due,
                                  (long long)l->days_overdue);
        n += (size_t)snprintf(out + n, cap - n, "\n");
    }
    if (s->from) n += (size_t)snprintf(out + n, cap - n, "opening %s\n", s->opening_balance);
    snprintf(out + n, cap - n, "total %s aging %s %s %s %s %s\n", s->total_open,
             s->aging[FOLIO_AGING_CURRENT], s->aging[FOLIO_AGING_1_30],
             s->aging[FOLIO_AGING_31_60], s->aging[FOLIO_AGING_61_90],
             s->aging[FOLIO_AGING_90_PLUS]);
    folio_statement_free(s);
    return tmpdb_keep(out);
}

const char *tmpdb_balance(folio_db *db, const char *ref) {
    folio_customer *c = tmpdb_card(db, ref);
    cr_assert_not_null(c->balance, "tmpdb: %s has no balance", ref);
    return c->balance;
}

const char *tmpdb_holds(folio_db *db, const char *ref) {
    folio_customer *c = tmpdb_card(db, ref);
    char buf[128] = "";
    size_t n = 0;
    for (size_t i = 0; i < c->hold_count; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? "," : "", c->hold_reasons[i]);
    cr_assert_eq(c->on_hold, c->hold_count > 0, "tmpdb: %s: on_hold %d with %zu reasons", ref,
                 c->on_hold, c->hold_count);
    return dup_str(buf);
}

folio_event *tmpdb_events_of_type(folio_db *db, const char *ref, uint32_t type,
                                  size_t *count_out) {
    size_t all = 0, n = 0;
    folio_event *events = tmpdb_history(db, ref, &all);
    for (size_t i = 0; i < all; i++)
        if (events[i].type == type) events[n++] = events[i];
    *count_out = n;
    return events;
}
