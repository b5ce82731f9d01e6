/*
 * tests/reliability/concurrency/harness.c - issue 7, concurrency: 2 writer processes and 4
 * reader processes on one ledger for a bounded time, then readers killed (SIGKILL) inside a
 * read transaction, whose stale reader slots the next open must clear.
 *
 *   concurrency_harness SCRATCH_DIR [MDB_STAT]
 *
 * Quick mode runs the mixed phase for 10 s; FOLIO_LONG=1 for 120 s and more kill rounds.
 * FOLIO_SEED=N repeats a run (the seed is printed). Exit 0 when every check held.
 *
 * Processes: the parent sets the ledger up in a child, then forks every worker before it
 * opens any handle itself (no folio handle survives fork), and opens the ledger only after
 * all of them are gone. Workers report counters through one MAP_SHARED page and failures
 * through their exit status (the message goes to stderr).
 *
 * What the API guarantees, and so what is checked (docs/API.md "Threads and processes"):
 * each read call answers from its own snapshot; two calls are two snapshots. A statement
 * reports the seq it is as known at (at_seq), and a card asked with that at_seq replays the
 * same prefix of the log, so the pair is one consistent view:
 *   - statement: the open of its lines adds up to total_open, and so do the aging buckets;
 *   - card at the statement's at_seq: balance == statement total_open (SPEC section 4:
 *     open invoices - open credits - unallocated payments = balance, always);
 *   - the live card (the directory projection, one snapshot) equals the card replayed as
 *     known at the seq of its own version: a torn projection read would differ;
 *   - history: versions 1..n without a hole, seqs strictly increasing, n >= the version
 *     of the live card read just before it.
 * Writers run real commands on overlapping customers; FOLIO_OK, FOLIO_ECONFLICT (a stale
 * expected version) and FOLIO_ERULE (a business rule said no) are the expected outcomes,
 * anything else fails the writer and the run.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <folio.h>

#define WRITERS 2
#define READERS 4
#define POOL 16             /* customers every writer and reader works on */
#define OWN_MAX 64          /* customers one writer creates for itself (merged later) */
#define DOCS_MAX 512        /* documents a writer remembers, per kind */
#define REF_SCAN (POOL + 2 * OWN_MAX + 8) /* readers also try refs beyond the pool */
#define VICTIMS_MAX 64
#define ACTOR "concurrency"

typedef struct {
    atomic_int stop_readers, stop_writers, pause_writers;
    atomic_int writer_paused[WRITERS];
    atomic_uint_fast64_t w_ok[WRITERS], w_conflict[WRITERS], w_rule[WRITERS],
        w_replayed[WRITERS];
    atomic_uint_fast64_t r_statements[READERS], r_pairs[READERS], r_cards[READERS],
        r_histories[READERS], r_history_events[READERS], r_missing[READERS];
    atomic_uint_fast64_t victim_loops[VICTIMS_MAX];
} shared_state;

static shared_state *sh;
static char ledger[4096];
static const char *mdb_stat = "mdb_stat";
static uint64_t seed;
static int failures;

/* ---- small helpers ---- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* xorshift64*: per process, seeded from the run seed and a role number. */
static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static unsigned rnd_below(unsigned n) { return (unsigned)(rnd() % n); }
static void rng_seed(uint64_t role) {
    rng_state = (seed ^ (role * 0x9e3779b97f4a7c15ull)) | 1u;
    for (int i = 0; i < 8; i++) rnd();
}

static void child_fail(const char *who, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static void child_fail(const char *who, const char *fmt, ...) {
    const char *detail = folio_errmsg();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s (pid %d): ", who, (int)getpid());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " [last folio message: %s]\n", detail);
    va_end(ap);
    _exit(1);
}

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...) {
    if (ok) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static void pool_ref(char out[32], unsigned i) { snprintf(out, 32, "CUST-%06u", i + 1); }

static void amount_text(char out[32]) {
    unsigned cents = 100 + rnd_below(99900);
    snprintf(out, 32, "%u.%02u", cents / 100, cents % 100);
}

static pid_t fork_or_die(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    return pid;
}

/* Wait for `pid`; returns 1 when it exited with 0. `what` names it in the message. */
static int reap(pid_t pid, const char *what) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            return 0;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
    if (WIFSIGNALED(status))
        fprintf(stderr, "FAIL: %s (pid %d) died of signal %d\n", what, (int)pid,
                WTERMSIG(status));
    else
        fprintf(stderr, "FAIL: %s (pid %d) exited with %d\n", what, (int)pid,
                WEXITSTATUS(status));
    return 0;
}

static folio_db *open_or_die(const char *who, int read_only) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = read_only;
    o.must_exist = 1;
    folio_db *db = NULL;
    int rc = folio_db_open(&db, ledger, &o);
    if (rc != FOLIO_OK) child_fail(who, "open %s: %s", ledger, folio_strerror(rc));
    return db;
}

/* ---- setup (in a child) ---- */

static void setup_ledger(void) {
    folio_db *db = NULL;
    int rc = folio_db_open(&db, ledger, NULL);
    if (rc != FOLIO_OK) child_fail("setup", "open: %s", folio_strerror(rc));
    folio_write_opts w = {.actor = ACTOR};
    folio_write_result r;
    folio_settings_new s = {.base_currency = "USD", .credit_control = "limit",
                            .on_hold_policy = "pending-orders"};
    if ((rc = folio_ledger_init(&r, db, &w, &s)) != FOLIO_OK)
        child_fail("setup", "init: %s", folio_strerror(rc));
    for (unsigned i = 0; i < POOL; i++) {
        char name[64], limit[32];
        snprintf(name, sizeof name, "Pool customer %02u", i + 1);
        snprintf(limit, sizeof limit, "%u.00", 2000u + 500u * i);
        folio_customer_new c = {.name = name, .status = "active",
                                .credit_limit = (i % 3) ? limit : NULL};
        if ((rc = folio_customer_create(&r, db, &w, &c)) != FOLIO_OK)
            child_fail("setup", "create %s: %s", name, folio_strerror(rc));
        char want[32];
        pool_ref(want, i);
        if (strcmp(r.ref, want) != 0)
            child_fail("setup", "customer %u got ref %s, expected %s", i, r.ref, want);
    }
    folio_db_close(db);
    _exit(0);
}

/* ---- writers ---- */

typedef struct {
    char ref[32];
    char doc[65];
} doc_mem;

typedef struct {
    int index;
    char who[32];
    folio_db *db;
    char today[11];
    doc_mem invoices[DOCS_MAX], funds[DOCS_MAX]; /* funds: payments and credit notes */
    unsigned invoice_count, fund_count;
    char own[OWN_MAX][FOLIO_REF_BYTES_MAX + 1];
    unsigned own_count, own_created;
    unsigned key_counter;
    char last_key[64], last_key_ref[32], last_key_amount[32];
} writer_state;

static void remember(doc_mem *arr, unsigned *count, const char *ref, const char *doc) {
    unsigned slot = *count < DOCS_MAX ? (*count)++ : rnd_below(DOCS_MAX);
    snprintf(arr[slot].ref, sizeof arr[slot].ref, "%s", ref);
    snprintf(arr[slot].doc, sizeof arr[slot].doc, "%s", doc);
}

/* Count one command's outcome; anything but OK, ECONFLICT or ERULE ends the writer. */
static void outcome(writer_state *ws, const char *op, const char *ref, int rc,
                    const folio_write_result *r) {
    int i = ws->index;
    if (rc == FOLIO_OK) {
        atomic_fetch_add(&sh->w_ok[i], 1);
        if (r->replayed) atomic_fetch_add(&sh->w_replayed[i], 1);
    } else if (rc == FOLIO_ECONFLICT) {
        atomic_fetch_add(&sh->w_conflict[i], 1);
    } else if (rc == FOLIO_ERULE) {
        atomic_fetch_add(&sh->w_rule[i], 1);
    } else {
        child_fail(ws->who, "%s on %s failed: %s", op, ref, folio_strerror(rc));
    }
}

/* The customer's current version, for an expected-version write (it may be stale by the
 * time the write runs: that is the ECONFLICT case). */
static uint64_t current_version(writer_state *ws, const char *ref) {
    folio_customer *c = NULL;
    int rc = folio_customer_get(&c, ws->db, ref, 0, 0);
    if (rc != FOLIO_OK) child_fail(ws->who, "customer_get %s: %s", ref, folio_strerror(rc));
    uint64_t v = c->version;
    folio_customer_free(c);
    return v;
}

static void writer_step(writer_state *ws) {
    char ref[32], amount[32], key[64];
    pool_ref(ref, rnd_below(POOL));
    folio_write_opts w = {.actor = ws->who};
    folio_write_result r;
    memset(&r, 0, sizeof r);
    int rc;
    unsigned op = rnd_below(100);

    if (op < 24) { /* invoice, every other one with an idempotency key */
        amount_text(amount);
        folio_document_new d = {.amount = amount, .date = ws->today};
        if (rnd_below(2)) {
            snprintf(key, sizeof key, "%s-inv-%u", ws->who, ws->key_counter++);
            w.idempotency_key = key;
        }
        rc = folio_invoice_issue(&r, ws->db, &w, ref, &d);
        outcome(ws, "invoice", ref, rc, &r);
        if (rc == FOLIO_OK) remember(ws->invoices, &ws->invoice_count, ref, r.doc);
        if (rc == FOLIO_OK && w.idempotency_key) {
            snprintf(ws->last_key, sizeof ws->last_key, "%s", key);
            snprintf(ws->last_key_ref, sizeof ws->last_key_ref, "%s", ref);
            snprintf(ws->last_key_amount, sizeof ws->last_key_amount, "%s", amount);
        }
    } else if (op < 28) { /* the same keyed invoice again: a replay that appends nothing */
        if (!ws->last_key[0]) return;
        folio_document_new d = {.amount = ws->last_key_amount, .date = ws->today};
        w.idempotency_key = ws->last_key;
        rc = folio_invoice_issue(&r, ws->db, &w, ws->last_key_ref, &d);
        outcome(ws, "invoice repeat", ws->last_key_ref, rc, &r);
        if (rc == FOLIO_OK && !r.replayed)
            child_fail(ws->who, "repeat of key %s on %s appended again (seq %" PRIu64 ")",
                       ws->last_key, ws->last_key_ref, r.seq);
    } else if (op < 38) { /* payment, auto-allocated */
        amount_text(amount);
        folio_document_new d = {.amount = amount, .date = ws->today};
        rc = folio_payment_receive(&r, ws->db, &w, ref, &d, NULL, 0, 1);
        outcome(ws, "payment --auto", ref, rc, &r);
        if (rc == FOLIO_OK) remember(ws->funds, &ws->fund_count, ref, r.doc);
    } else if (op < 46) { /* payment applied to a remembered invoice (maybe paid already) */
        if (!ws->invoice_count) return;
        doc_mem *inv = &ws->invoices[rnd_below(ws->invoice_count)];
        amount_text(amount);
        folio_document_new d = {.amount = amount, .date = ws->today};
        folio_apply ap = {.invoice = inv->doc, .amount = NULL};
        rc = folio_payment_receive(&r, ws->db, &w, inv->ref, &d, &ap, 1, 0);
        outcome(ws, "payment --apply", inv->ref, rc, &r);
        if (rc == FOLIO_OK) remember(ws->funds, &ws->fund_count, inv->ref, r.doc);
    } else if (op < 54) { /* allocate a remembered payment or credit note */
        if (!ws->fund_count) return;
        doc_mem *f = &ws->funds[rnd_below(ws->fund_count)];
        rc = folio_allocate(&r, ws->db, &w, f->ref, f->doc, NULL, NULL, ws->today, 1);
        outcome(ws, "allocate --auto", f->ref, rc, &r);
    } else if (op < 62) { /* credit note */
        unsigned cents = 100 + rnd_below(9900);
        snprintf(amount, sizeof amount, "%u.%02u", cents / 100, cents % 100);
        folio_document_new d = {.amount = amount, .date = ws->today};
        rc = folio_credit_note_issue(&r, ws->db, &w, ref, &d);
        outcome(ws, "credit-note", ref, rc, &r);
        if (rc == FOLIO_OK) remember(ws->funds, &ws->fund_count, ref, r.doc);
    } else if (op < 68) { /* refund out of unallocated funds (often refused: rule 9) */
        if (!ws->fund_count) return;
        doc_mem *f = &ws->funds[rnd_below(ws->fund_count)];
        unsigned cents = 100 + rnd_below(20000);
        snprintf(amount, sizeof amount, "%u.%02u", cents / 100, cents % 100);
        folio_document_new d = {.amount = amount, .date = ws->today};
        rc = folio_refund_issue(&r, ws->db, &w, f->ref, f->doc, &d);
        outcome(ws, "refund", f->ref, rc, &r);
    } else if (op < 77) { /* status change: some moves are refused by rule 4 */
        static const char *const statuses[] = {"active", "hold", "inactive", "prospect",
                                               "active", "active"};
        const char *to = statuses[rnd_below(6)];
        rc = folio_customer_set_status(&r, ws->db, &w, ref, to);
        outcome(ws, "status", ref, rc, &r);
    } else if (op < 83) { /* credit limit with an expected version (ECONFLICT when stale) */
        w.has_expected_version = 1;
        w.expected_version = current_version(ws, ref);
        char limit[32];
        snprintf(limit, sizeof limit, "%u.00", 500u + 250u * rnd_below(40));
        folio_customer_changes ch = {.credit_limit = limit};
        rc = folio_customer_update(&r, ws->db, &w, ref, &ch);
        outcome(ws, "update --credit-limit", ref, rc, &r);
    } else if (op < 88) { /* note with an expected version */
        w.has_expected_version = 1;
        w.expected_version = current_version(ws, ref);
        rc = folio_note_add(&r, ws->db, &w, ref, "called about the open items");
        outcome(ws, "note", ref, rc, &r);
    } else if (op < 91) { /* contact */
        folio_contact_new c = {.name = "Accounts payable", .email = "ap@example.com"};
        rc = folio_contact_add(&r, ws->db, &w, ref, &c);
        outcome(ws, "contact add", ref, rc, &r);
    } else if (op < 96) { /* a customer of this writer's own, with an invoice */
        if (ws->own_count >= OWN_MAX) return;
        char name[64];
        snprintf(name, sizeof name, "%s own customer %u", ws->who, ws->own_created++);
        folio_customer_new c = {.name = name, .status = "active"};
        rc = folio_customer_create(&r, ws->db, &w, &c);
        outcome(ws, "create", name, rc, &r);
        if (rc != FOLIO_OK) return;
        snprintf(ws->own[ws->own_count++], sizeof ws->own[0], "%s", r.ref);
        amount_text(amount);
        folio_document_new d = {.amount = amount, .date = ws->today};
        rc = folio_invoice_issue(&r, ws->db, &w, ws->own[ws->own_count - 1], &d);
        outcome(ws, "invoice", ws->own[ws->own_count - 1], rc, &r);
    } else { /* merge an own customer into a pool customer: its documents move there */
        if (!ws->own_count) return;
        unsigned k = rnd_below(ws->own_count);
        char del[FOLIO_REF_BYTES_MAX + 1];
        snprintf(del, sizeof del, "%s", ws->own[k]);
        rc = folio_customer_merge(&r, ws->db, &w, ref, del, 0, 0);
        outcome(ws, "merge", del, rc, &r);
        if (rc == FOLIO_OK) {
            memmove(ws->own[k], ws->own[k + 1], (ws->own_count - k - 1) * sizeof ws->own[0]);
            ws->own_count--;
        }
    }
}

static void writer_main(int index) {
    static writer_state ws; /* large: keep it off the stack */
    memset(&ws, 0, sizeof ws);
    ws.index = index;
    snprintf(ws.who, sizeof ws.who, "writer%d", index + 1);
    rng_seed(100u + (unsigned)index);
    folio_date_format(ws.today, folio_date_today());
    ws.db = open_or_die(ws.who, 0);
    while (!atomic_load(&sh->stop_writers)) {
        if (atomic_load(&sh->pause_writers)) { /* between commands: no transaction held */
            atomic_store(&sh->writer_paused[index], 1);
            sleep_ms(1);
            continue;
        }
        atomic_store(&sh->writer_paused[index], 0);
        writer_step(&ws);
    }
    folio_db_close(ws.db);
    exit(0); /* exit, not _exit: a leak checker in the sanitizer build sees this process */
}

/* ---- readers ---- */

static int64_t parse_money(const char *who, const char *text, const char *currency) {
    int64_t minor = 0;
    if (!text) child_fail(who, "a money field is NULL");
    int rc = folio_money_parse(&minor, text, currency);
    if (rc != FOLIO_OK) child_fail(who, "money '%s' in %s: %s", text, currency,
                                   folio_strerror(rc));
    return minor;
}

static int same_text(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

/* The statement, and the card as known at the statement's seq: one view of the ledger. */
static int check_statement(int ri, const char *who, folio_db *db, const char *ref) {
    folio_statement *s = NULL;
    int rc = folio_statement_get(&s, db, ref, "9999-12-31", NULL, 0);
    if (rc == FOLIO_ENOTFOUND) return 0; /* not created yet, or merged away */
    if (rc != FOLIO_OK) child_fail(who, "statement %s: %s", ref, folio_strerror(rc));
    int64_t sum = 0, aging = 0;
    for (size_t i = 0; i < s->line_count; i++) {
        const folio_statement_line *l = &s->lines[i];
        sum += l->open_minor;
        /* invoices positive, credits negative; an open line is a non-zero part of it */
        int credit = strcmp(l->kind, "invoice") != 0;
        int part = credit ? (l->open_minor < 0 && l->open_minor >= l->amount_minor)
                          : (l->open_minor > 0 && l->open_minor <= l->amount_minor);
        if (!part)
            child_fail(who, "statement %s at seq %" PRIu64 ": line %s (%s) open %" PRId64
                       " of %" PRId64 " is not a part of its amount",
                       ref, s->at_seq, l->doc, l->kind, l->open_minor, l->amount_minor);
    }
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++) aging += s->aging_minor[b];
    if (sum != s->total_open_minor)
        child_fail(who, "statement %s at seq %" PRIu64 ": %zu lines add up to %" PRId64
                   ", total_open is %" PRId64, ref, s->at_seq, s->line_count, sum,
                   s->total_open_minor);
    if (aging != s->total_open_minor)
        child_fail(who, "statement %s at seq %" PRIu64 ": aging adds up to %" PRId64
                   ", total_open is %" PRId64, ref, s->at_seq, aging, s->total_open_minor);
    if (parse_money(who, s->total_open, s->currency) != s->total_open_minor)
        child_fail(who, "statement %s: total_open text %s differs from its minor units",
                   ref, s->total_open);
    atomic_fetch_add(&sh->r_statements[ri], 1);

    folio_customer *c = NULL;
    rc = folio_customer_get(&c, db, ref, s->at_seq, 0);
    if (rc != FOLIO_OK)
        child_fail(who, "card %s at seq %" PRIu64 " (the statement's seq): %s", ref,
                   s->at_seq, folio_strerror(rc));
    int64_t balance = parse_money(who, c->balance, c->currency);
    if (balance != s->total_open_minor || strcmp(c->currency, s->currency) != 0)
        child_fail(who, "%s as known at seq %" PRIu64 ": card balance %s %s, statement "
                   "total_open %s %s", ref, s->at_seq, c->balance, c->currency,
                   s->total_open, s->currency);
    atomic_fetch_add(&sh->r_pairs[ri], 1);
    folio_customer_free(c);
    folio_statement_free(s);
    return 1;
}

/* The live card (the directory projection, one snapshot), then the history: gapless, and
 * the event of the card's version replays to the same card. */
static void check_card_and_history(int ri, const char *who, folio_db *db, const char *ref) {
    folio_customer *live = NULL;
    int rc = folio_customer_get(&live, db, ref, 0, 1);
    if (rc == FOLIO_ENOTFOUND) {
        atomic_fetch_add(&sh->r_missing[ri], 1);
        return;
    }
    if (rc != FOLIO_OK) child_fail(who, "card %s: %s", ref, folio_strerror(rc));

    folio_iter *it = NULL;
    rc = folio_history_open(&it, db, ref);
    if (rc != FOLIO_OK) child_fail(who, "history %s: %s", ref, folio_strerror(rc));
    const folio_event *e;
    uint64_t n = 0, last_seq = 0, seq_of_live = 0;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        if (e->version != n + 1)
            child_fail(who, "history %s: version %" PRIu64 " after %" PRIu64 " (seq %" PRIu64
                       ")", ref, e->version, n, e->seq);
        if (e->seq <= last_seq)
            child_fail(who, "history %s: seq %" PRIu64 " after seq %" PRIu64, ref, e->seq,
                       last_seq);
        if (e->stream != live->id)
            child_fail(who, "history %s: event seq %" PRIu64 " of stream %" PRIu64
                       ", the customer is %" PRIu64, ref, e->seq, e->stream, live->id);
        if (e->version == live->version) seq_of_live = e->seq;
        n = e->version;
        last_seq = e->seq;
    }
    folio_iter_free(it);
    if (rc != FOLIO_ITEROVER) child_fail(who, "history %s iteration: %s", ref,
                                         folio_strerror(rc));
    if (n < live->version || seq_of_live == 0)
        child_fail(who, "history %s has %" PRIu64 " events, the card read before it is at "
                   "version %" PRIu64, ref, n, live->version);
    atomic_fetch_add(&sh->r_histories[ri], 1);
    atomic_fetch_add(&sh->r_history_events[ri], n);

    if (!live->deleted) {
        folio_customer *then = NULL;
        rc = folio_customer_get(&then, db, ref, seq_of_live, 0);
        if (rc != FOLIO_OK)
            child_fail(who, "card %s at seq %" PRIu64 ": %s", ref, seq_of_live,
                       folio_strerror(rc));
        if (then->version != live->version || !same_text(then->balance, live->balance) ||
            !same_text(then->status, live->status) || !same_text(then->name, live->name) ||
            !same_text(then->credit_limit, live->credit_limit) ||
            then->documents != live->documents || then->on_hold != live->on_hold ||
            then->contact_count != live->contact_count)
            child_fail(who, "%s: the live card (version %" PRIu64 ", balance %s, status %s, "
                       "on_hold %d, %" PRIu64 " documents, %zu contacts) differs from the card "
                       "replayed at seq %" PRIu64 " (version %" PRIu64 ", balance %s, status %s, "
                       "on_hold %d, %" PRIu64 " documents, %zu contacts)",
                       ref, live->version, live->balance, live->status, live->on_hold,
                       live->documents, live->contact_count, seq_of_live, then->version,
                       then->balance, then->status, then->on_hold, then->documents,
                       then->contact_count);
        folio_customer_free(then);
        atomic_fetch_add(&sh->r_cards[ri], 1);
    }
    folio_customer_free(live);
}

static void reader_main(int index) {
    char who[32];
    snprintf(who, sizeof who, "reader%d", index + 1);
    rng_seed(200u + (unsigned)index);
    folio_db *db = open_or_die(who, 1);
    while (!atomic_load(&sh->stop_readers)) {
        char ref[32];
        /* mostly the pool; sometimes refs the writers create (and merge away) */
        pool_ref(ref, rnd_below(4) ? rnd_below(POOL) : rnd_below(REF_SCAN));
        check_statement(index, who, db, ref);
        check_card_and_history(index, who, db, ref);
    }
    folio_db_close(db);
    exit(0);
}

/* ---- victims: readers that are killed inside a read transaction ---- */

/* Mode 0 loops folio_verify, which holds one read transaction for its whole walk, so a kill
 * almost always lands inside it. Mode 1 loops history iterations, which hold a transaction
 * only while a batch is copied (docs/API.md: no transaction between calls). */
static void victim_main(int v, int mode) {
    char who[32];
    snprintf(who, sizeof who, "victim%d", v + 1);
    rng_seed(300u + (unsigned)v);
    folio_db *db = open_or_die(who, 1);
    for (;;) {
        if (mode == 0) {
            folio_verify_report rep;
            int rc = folio_verify(&rep, db);
            if (rc != FOLIO_OK) child_fail(who, "verify: %s", folio_strerror(rc));
        } else {
            char ref[32];
            pool_ref(ref, rnd_below(POOL));
            folio_iter *it = NULL;
            const folio_event *e;
            int rc = folio_history_open(&it, db, ref);
            if (rc != FOLIO_OK) child_fail(who, "history %s: %s", ref, folio_strerror(rc));
            while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {}
            folio_iter_free(it);
        }
        atomic_fetch_add(&sh->victim_loops[v], 1);
    }
}

/* ---- the reader table, as mdb_stat -r shows it ---- */

typedef struct {
    int total;     /* slots in use */
    int stale;     /* slots of processes that no longer exist */
    int stale_txn; /* of those, ones still pinning a snapshot (txnid not "-") */
    pid_t stale_pids[256];
} reader_table;

static int has_stale_slot(const reader_table *t, pid_t pid) {
    for (int i = 0; i < t->stale && i < 256; i++)
        if (t->stale_pids[i] == pid) return 1;
    return 0;
}

static int read_reader_table(reader_table *t) {
    char cmd[4300];
    memset(t, 0, sizeof *t);
    snprintf(cmd, sizeof cmd, "'%s' -n -r '%s' 2>&1", mdb_stat, ledger);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "FAIL: cannot run %s: %s\n", cmd, strerror(errno));
        return -1;
    }
    char line[512];
    int saw_header = 0;
    while (fgets(line, sizeof line, p)) {
        if (strstr(line, "pid") && strstr(line, "txnid")) {
            saw_header = 1;
            continue;
        }
        if (strstr(line, "no active readers")) {
            saw_header = 1;
            continue;
        }
        long pid = 0;
        char thread[64], txnid[64];
        if (saw_header && sscanf(line, " %ld %63s %63s", &pid, thread, txnid) == 3) {
            t->total++;
            if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
                if (t->stale < 256) t->stale_pids[t->stale] = (pid_t)pid;
                t->stale++;
                if (strcmp(txnid, "-") != 0) t->stale_txn++;
            }
        }
    }
    int st = pclose(p); /* mdb_stat 0.9.24 -r exits 1 even when it listed the table */
    if (!saw_header) {
        fprintf(stderr, "FAIL: '%s' did not list the reader table (status %d); is lmdb-utils "
                "installed (scripts/setup.sh --tests)?\n", cmd, st);
        return -1;
    }
    return 0;
}

static uint64_t file_bytes(void) {
    struct stat st;
    return stat(ledger, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t writer_ok_total(void) {
    uint64_t n = 0;
    for (int i = 0; i < WRITERS; i++) n += atomic_load(&sh->w_ok[i]);
    return n;
}

static void pause_writers(int on) {
    atomic_store(&sh->pause_writers, on);
    if (!on) return;
    double t0 = now_s();
    for (int i = 0; i < WRITERS; i++) {
        while (!atomic_load(&sh->writer_paused[i]) && now_s() - t0 < 30) sleep_ms(1);
        check(atomic_load(&sh->writer_paused[i]), "writer%d did not pause within 30 s", i + 1);
    }
}

/* One round: start victims, kill each inside its read loop, and check who clears the slots
 * they leave. Odd rounds, with the writers paused: the next open (a fresh process) must.
 * Even rounds, with the writers running: a writer clears them by itself every 64 write
 * transactions (engine/store.c READER_CHECK_EVERY), and must not be blocked meanwhile. */
static void kill_round(int round, int victims, int *victim_base, int *kills, int *stale_seen) {
    int by_open = round % 2 == 1;
    pid_t pids[VICTIMS_MAX];
    int base = *victim_base;
    pause_writers(1);
    for (int k = 0; k < victims; k++) {
        int v = base + k;
        pids[k] = fork_or_die();
        if (pids[k] == 0) victim_main(v, k % 2);
    }
    /* Every victim first opens the ledger and finishes one loop, so it is inside its loop;
     * only then is any killed (an open clears stale slots, so a victim that opened after
     * another was killed would clear that one's slot before it is counted). */
    double t0 = now_s();
    for (int k = 0; k < victims; k++) {
        int v = base + k;
        while (atomic_load(&sh->victim_loops[v]) == 0 && now_s() - t0 < 60) sleep_ms(1);
        check(atomic_load(&sh->victim_loops[v]) > 0, "victim %d never finished a read loop",
              v + 1);
    }
    int verify_victims = 0;
    for (int k = 0; k < victims; k++) {
        int v = base + k;
        sleep_ms((long)rnd_below(60));
        check(kill(pids[k], SIGKILL) == 0, "kill victim %d: %s", v + 1, strerror(errno));
        int status = 0;
        while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR) {}
        check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "victim %d was not killed by SIGKILL (status %d): it failed before", v + 1,
              status);
        if (k % 2 == 0) verify_victims++;
        (*kills)++;
    }
    *victim_base = base + victims;

    reader_table before, after;
    if (read_reader_table(&before) != 0) {
        failures++;
        pause_writers(0);
        return;
    }
    int left[2] = {0, 0}; /* victims that left a slot: in verify loops, in history loops */
    for (int k = 0; k < victims; k++) left[k % 2] += has_stale_slot(&before, pids[k]);
    check(before.stale_txn >= 1,
          "round %d: no stale reader slot after killing %d readers inside read loops (%d of "
          "them in verify, which holds one read transaction for its whole walk)", round,
          victims, verify_victims);
    *stale_seen += before.stale;

    uint64_t ok0[WRITERS], size0 = file_bytes();
    for (int i = 0; i < WRITERS; i++) ok0[i] = atomic_load(&sh->w_ok[i]);
    double t1 = now_s();
    if (by_open) {
        pid_t opener = fork_or_die();
        if (opener == 0) {
            folio_db *db = open_or_die("next open", 1);
            folio_db_close(db);
            exit(0);
        }
        check(reap(opener, "the next open"), "round %d: the next open failed", round);
        if (read_reader_table(&after) != 0) failures++;
        pause_writers(0);
    } else {
        /* Each writer must get past 64 more write transactions without waiting for the dead
         * readers; then their slots must be gone. */
        pause_writers(0);
        int done = 0;
        while (!done && now_s() - t1 < 60) {
            sleep_ms(10);
            done = 1;
            for (int i = 0; i < WRITERS; i++)
                if (atomic_load(&sh->w_ok[i]) < ok0[i] + 70) done = 0;
        }
        check(done, "round %d: the writers did not complete 70 commands each within 60 s while "
              "%d stale reader slots were held", round, before.stale);
        if (read_reader_table(&after) != 0) failures++;
    }
    double clear_s = now_s() - t1;
    uint64_t ok1 = writer_ok_total(), size1 = file_bytes(), ok_sum0 = 0;
    for (int i = 0; i < WRITERS; i++) ok_sum0 += ok0[i];
    check(after.stale == 0, "round %d: %d stale reader slots survived %s", round, after.stale,
          by_open ? "the next open" : "70 commands of each running writer");

    /* With the slots cleared, the pages the dead readers pinned are free again: the file
     * must grow no faster than new data does (about 3 KiB per command here; while a dead
     * reader pins a snapshot and no free page is left, it was ~57 KiB per command). */
    uint64_t ok2 = writer_ok_total(), size2 = file_bytes();
    sleep_ms(1000);
    uint64_t ok3 = writer_ok_total(), size3 = file_bytes();
    uint64_t allowed = (ok3 - ok2) * 16u * 1024u + 1024u * 1024u;
    check(size3 - size2 <= allowed,
          "round %d: the file grew by %" PRIu64 " bytes in 1 s after the stale slots were "
          "cleared (%" PRIu64 " commands; at most %" PRIu64 " expected)", round, size3 - size2,
          ok3 - ok2, allowed);
    printf("kill round %d: %d victims killed; left a stale slot: %d of %d in verify loops, %d of "
           "%d in history loops; reader table: %d slots, %d stale (%d pinning a snapshot); "
           "after %s: %d slots, %d stale (%.2f s, %" PRIu64 " commands, file +%" PRIu64
           " bytes); then 1 s: %" PRIu64 " commands, file +%" PRIu64 " bytes\n",
           round, victims, left[0], verify_victims, left[1], victims - verify_victims,
           before.total, before.stale, before.stale_txn,
           by_open ? "the next open (writers paused)" : "the running writers' own check",
           after.total, after.stale, clear_s, ok1 - ok_sum0, size1 - size0, ok3 - ok2,
           size3 - size2);
}

/* ---- the final look, after every worker is gone ---- */

static void final_checks(void) {
    folio_db *db = NULL;
    int rc = folio_db_open(&db, ledger, NULL);
    check(rc == FOLIO_OK, "final open: %s (%s)", folio_strerror(rc), folio_errmsg());
    if (rc != FOLIO_OK) return;
    folio_verify_report rep;
    rc = folio_verify(&rep, db);
    check(rc == FOLIO_OK, "final verify: %s (%s)", folio_strerror(rc), folio_errmsg());
    uint64_t checked = 0;
    rc = folio_check(&checked, db);
    check(rc == FOLIO_OK, "final check: %s (%s)", folio_strerror(rc), folio_errmsg());
    folio_write_opts w = {.actor = ACTOR};
    folio_write_result r;
    folio_customer_new c = {.name = "After the storm"};
    rc = folio_customer_create(&r, db, &w, &c);
    check(rc == FOLIO_OK, "a write after the run: %s (%s)", folio_strerror(rc),
          folio_errmsg());
    folio_stats st;
    rc = folio_stats_get(&st, db);
    check(rc == FOLIO_OK, "stats: %s", folio_strerror(rc));
    if (rc == FOLIO_OK)
        printf("ledger: %" PRIu64 " events in %" PRIu64 " streams, file %" PRIu64 " bytes, "
               "verify and check passed on %" PRIu64 " events\n", st.events, st.streams,
               st.file_bytes, rep.events);
    folio_db_close(db);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s SCRATCH_DIR [MDB_STAT]\n", argv[0]);
        return 2;
    }
    if (argc == 3) mdb_stat = argv[2];
    const char *long_env = getenv("FOLIO_LONG");
    int long_mode = long_env && strcmp(long_env, "1") == 0;
    double duration = long_mode ? 120.0 : 10.0;
    int rounds = long_mode ? 6 : 2, victims = long_mode ? 10 : 6;
    const char *seed_env = getenv("FOLIO_SEED");
    seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    rng_seed(1);

    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    snprintf(ledger, sizeof ledger, "%s/concurrency.db", argv[1]);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s-lock", ledger);
    unlink(ledger);
    unlink(lock);
    printf("concurrency: %s mode, seed %" PRIu64 " (FOLIO_SEED=%" PRIu64 " repeats it), "
           "ledger %s\n", long_mode ? "long" : "quick", seed, seed, ledger);

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    memset(sh, 0, sizeof *sh);

    pid_t setup = fork_or_die();
    if (setup == 0) setup_ledger();
    if (!reap(setup, "setup")) return 1;

    /* Phase 1: 2 writers and 4 readers. */
    pid_t writers[WRITERS], readers[READERS];
    for (int i = 0; i < WRITERS; i++)
        if ((writers[i] = fork_or_die()) == 0) writer_main(i);
    for (int i = 0; i < READERS; i++)
        if ((readers[i] = fork_or_die()) == 0) reader_main(i);
    double t0 = now_s();
    sleep_ms((long)(duration * 1000));
    atomic_store(&sh->stop_readers, 1);
    for (int i = 0; i < READERS; i++) {
        char what[32];
        snprintf(what, sizeof what, "reader%d", i + 1);
        check(reap(readers[i], what), "%s failed (its message is above)", what);
    }
    double mixed_s = now_s() - t0;

    uint64_t st = 0, pairs = 0, cards = 0, hist = 0, hist_ev = 0, missing = 0;
    for (int i = 0; i < READERS; i++) {
        st += atomic_load(&sh->r_statements[i]);
        pairs += atomic_load(&sh->r_pairs[i]);
        cards += atomic_load(&sh->r_cards[i]);
        hist += atomic_load(&sh->r_histories[i]);
        hist_ev += atomic_load(&sh->r_history_events[i]);
        missing += atomic_load(&sh->r_missing[i]);
    }
    uint64_t ok = 0, conflict = 0, rule = 0, replayed = 0;
    for (int i = 0; i < WRITERS; i++) {
        ok += atomic_load(&sh->w_ok[i]);
        conflict += atomic_load(&sh->w_conflict[i]);
        rule += atomic_load(&sh->w_rule[i]);
        replayed += atomic_load(&sh->w_replayed[i]);
    }
    printf("mixed phase: %.1f s, %d writers, %d readers\n", mixed_s, WRITERS, READERS);
    printf("writers: %" PRIu64 " commands ok (%" PRIu64 " idempotent replays), %" PRIu64
           " conflicts, %" PRIu64 " refused by a rule\n", ok, replayed, conflict, rule);
    printf("reads checked: %" PRIu64 " in all: %" PRIu64 " statements (lines add up), %" PRIu64
           " statement+card pairs at one seq, %" PRIu64 " live cards equal to their replay, %"
           PRIu64 " histories gapless (%" PRIu64 " events); %" PRIu64 " refs not found\n",
           st + pairs + cards + hist, st, pairs, cards, hist, hist_ev, missing);
    check(ok > 0, "the writers completed no command");
    check(st > 0 && pairs > 0 && cards > 0 && hist > 0, "some kind of read was never checked");

    /* Phase 2: readers killed inside read transactions, writers still running. */
    reader_table base;
    if (read_reader_table(&base) == 0) {
        printf("reader table after the mixed phase: %d slots, %d stale\n", base.total,
               base.stale);
        check(base.stale == 0, "%d stale reader slots after readers that exited cleanly",
              base.stale);
    } else {
        failures++;
    }
    int victim_base = 0, kills = 0, stale_seen = 0;
    for (int r = 1; r <= rounds && victim_base + victims <= VICTIMS_MAX; r++)
        kill_round(r, victims, &victim_base, &kills, &stale_seen);
    printf("readers killed: %d, stale slots seen: %d, all cleared (by the next open, or by the "
           "running writers): %s\n", kills, stale_seen, failures ? "see FAIL lines" : "yes");

    atomic_store(&sh->stop_writers, 1);
    for (int i = 0; i < WRITERS; i++) {
        char what[32];
        snprintf(what, sizeof what, "writer%d", i + 1);
        check(reap(writers[i], what), "%s failed (its message is above)", what);
    }
    final_checks();
    printf("wall time: %.1f s\n", now_s() - t0);
    if (failures) {
        printf("concurrency: %d check(s) FAILED (seed %" PRIu64 ")\n", failures, seed);
        return 1;
    }
    printf("concurrency: all checks passed\n");
    return 0;
}
