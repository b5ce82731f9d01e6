/*
 * tests/engine/shared_txn.c - writes that share one transaction: a batch's commands join the
 * batch's transaction (no nested transaction each), and concurrent writers on one handle are
 * folded into one commit (group commit). A write refused before it wrote leaves the shared
 * transaction as it was; one that failed after it began writing spoils it: a batch then
 * fails whole, a group is thrown away and its writes run one by one. Either way each caller
 * gets its own result and its own message, and nothing half-done is committed.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(shared_txn, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const folio_write_opts W = {.actor = "tester"};

static int create(folio_db *db, const char *name) {
    folio_write_result r;
    folio_customer_new c = {.name = name, .status = "active", .currency = "EUR"};
    return folio_customer_create(&r, db, &W, &c);
}

static int exists(const char *name) {
    folio_customer *c = NULL;
    int rc = folio_customer_find(&c, tmpdb, name);
    folio_customer_free(c);
    cr_assert(rc == FOLIO_OK || rc == FOLIO_ENOTFOUND, "find %s: %s", name, folio_errmsg());
    return rc == FOLIO_OK;
}

typedef struct {
    int rc_a, rc_refused, rc_b, rc_c;
    char msg_refused[256], msg_b[256], msg_c[256];
} batch_log;

static int spoiling_batch(folio_db *db, void *arg) {
    batch_log *l = arg;
    folio_write_result r;
    folio_document_new d = {.amount = "10.00", .date = "2026-01-01"};
    l->rc_a = create(db, "Alpha");
    l->rc_refused = folio_invoice_issue(&r, db, &W, "NO-SUCH-REF", &d);
    snprintf(l->msg_refused, sizeof l->msg_refused, "%s", folio_errmsg());
    folio_store__inject_put_failure(2); /* Beta's second put fails: after it began writing */
    l->rc_b = create(db, "Beta");
    snprintf(l->msg_b, sizeof l->msg_b, "%s", folio_errmsg());
    folio_store__inject_put_failure(0);
    l->rc_c = create(db, "Gamma");
    snprintf(l->msg_c, sizeof l->msg_c, "%s", folio_errmsg());
    return FOLIO_OK;
}

Test(shared_txn, a_write_failing_after_it_began_writing_fails_the_whole_batch) {
    uint64_t before = tmpdb_last_seq(tmpdb);
    batch_log l;
    memset(&l, 0, sizeof l);
    int rc = folio_batch_run(tmpdb, spoiling_batch, &l, 0);
    cr_assert_eq(l.rc_a, FOLIO_OK);
    cr_assert_eq(l.rc_refused, FOLIO_ENOTFOUND, "a refusal before writing: %s", l.msg_refused);
    cr_assert(strstr(l.msg_refused, "NO-SUCH-REF"), "its own message: %s", l.msg_refused);
    cr_assert_eq(l.rc_b, FOLIO_ERROR, "the injected failure: %s", l.msg_b);
    cr_assert_eq(l.rc_c, FOLIO_ERROR, "a write after the spoiling one is refused");
    cr_assert(strstr(l.msg_c, "earlier write failed"), "says why: %s", l.msg_c);
    cr_assert_eq(rc, FOLIO_ERROR, "the batch fails");
    cr_assert(strstr(folio_errmsg(), "injected"), "and names the first failure: %s", folio_errmsg());
    cr_assert_eq(tmpdb_last_seq(tmpdb), before, "nothing of the batch was committed");
    cr_assert(!exists("Alpha") && !exists("Beta") && !exists("Gamma"));
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(create(tmpdb, "Alpha"), FOLIO_OK, "the ledger takes writes: %s", folio_errmsg());
}

static int refusing_batch(folio_db *db, void *arg) {
    int *rcs = arg;
    folio_write_result r;
    folio_document_new d = {.amount = "10.00", .date = "2026-01-01"};
    rcs[0] = create(db, "One");
    rcs[1] = create(db, "One"); /* the name is taken earlier in this batch: refused */
    rcs[2] = folio_invoice_issue(&r, db, &W, "NO-SUCH-REF", &d);
    rcs[3] = create(db, "Two");
    return FOLIO_OK;
}

Test(shared_txn, refused_writes_leave_the_batch_and_the_others_commit) {
    int rcs[4];
    cr_assert_eq(folio_batch_run(tmpdb, refusing_batch, rcs, 0), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(rcs[0], FOLIO_OK);
    cr_assert_eq(rcs[1], FOLIO_ERULE, "duplicate name refused: %d", rcs[1]);
    cr_assert_eq(rcs[2], FOLIO_ENOTFOUND);
    cr_assert_eq(rcs[3], FOLIO_OK);
    cr_assert(exists("One") && exists("Two"));
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_verify_report vr;
    cr_assert_eq(folio_verify(&vr, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

/* Group commit: THREADS threads write at once. Every thread's good writes land exactly once;
 * every bad one (a raw invoice event without an amount: the receivables projection refuses it
 * after the log put, so it spoils a shared transaction) fails with its own message. */
#define THREADS 8u
#define ROUNDS 60u

typedef struct {
    unsigned index;
    unsigned ok, failed, wrong_message;
} writer;

static void *write_some(void *arg) {
    writer *w = arg;
    char name[64];
    for (unsigned i = 0; i < ROUNDS; i++) {
        if (w->index == 0 && i % 5 == 4) {
            folio_event bad = tmpdb_event(1, FOLIO_EV_INVOICE_ISSUED,
                                          "{\"doc\":\"X-%u\",\"date\":\"2026-01-01\"}", i);
            uint64_t seq;
            if (folio_event_append(&seq, tmpdb, &bad) == FOLIO_OK) continue; /* counted below */
            w->failed++;
            if (!strstr(folio_errmsg(), "amount")) w->wrong_message++;
            continue;
        }
        snprintf(name, sizeof name, "w%u-%u", w->index, i);
        int rc = create(tmpdb, name);
        if (rc == FOLIO_OK) {
            w->ok++;
        } else {
            w->failed++;
            w->wrong_message++; /* a good write must not fail */
        }
    }
    return NULL;
}

Test(shared_txn, concurrent_writers_share_commits_and_keep_their_own_results, .timeout = 120) {
    cr_assert_eq(create(tmpdb, "warm-up 1"), FOLIO_OK); /* the first write may set up more */
    uint64_t before = tmpdb_last_seq(tmpdb);
    cr_assert_eq(create(tmpdb, "warm-up 2"), FOLIO_OK);
    uint64_t per_creation = tmpdb_last_seq(tmpdb) - before;
    before = tmpdb_last_seq(tmpdb);
    pthread_t th[THREADS];
    writer w[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (writer){.index = i};
        cr_assert_eq(pthread_create(&th[i], NULL, write_some, &w[i]), 0);
    }
    unsigned ok = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_assert_eq(w[i].wrong_message, 0, "thread %u: a write failed or got another's message",
                     i);
        ok += w[i].ok;
    }
    cr_assert_eq(w[0].failed, ROUNDS / 5, "every bad write failed");
    cr_assert_eq(ok, THREADS * ROUNDS - ROUNDS / 5);
    cr_assert_eq(tmpdb_last_seq(tmpdb) - before, per_creation * ok, "exactly the good writes landed: %llu events for %u", (unsigned long long)(tmpdb_last_seq(tmpdb) - before), ok);
    for (unsigned i = 0; i < THREADS; i++)
        for (unsigned k = 0; k < ROUNDS; k++)
            if (!(i == 0 && k % 5 == 4))
                cr_assert(exists(tmpdb_strf("w%u-%u", i, k)), "w%u-%u is there", i, k);
    cr_assert_gt(tmpdb->groups_shared, 0, "some commits carried several writes");
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_verify_report vr;
    cr_assert_eq(folio_verify(&vr, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

/* The projection cache of a write transaction: with a budget of one record it is written
 * out and emptied between every two events, and the projections come out the same as a
 * replay of the log (check) whether a batch, a merge or a rebuild wrote them. */
static int mixed_batch(folio_db *db, void *arg) {
    (void)arg;
    folio_write_result r;
    folio_document_new inv = {.amount = "100.00", .date = "2026-01-01", .doc = "INV-A"};
    folio_document_new pay = {.amount = "30.00", .date = "2026-01-02"};
    folio_apply al = {.invoice = "INV-A", .amount = "30.00"};
    cr_assert_eq(create(db, "Keep"), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(create(db, "Gone"), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_invoice_issue(&r, db, &W, "CUST-000001", &inv), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert_eq(folio_payment_receive(&r, db, &W, "CUST-000001", &pay, &al, 1, 0), FOLIO_OK,
                 "%s", folio_errmsg());
    inv.doc = "INV-B";
    cr_assert_eq(folio_invoice_issue(&r, db, &W, "CUST-000002", &inv), FOLIO_OK, "%s",
                 folio_errmsg());
    return FOLIO_OK;
}

Test(shared_txn, a_cache_emptied_between_every_event_gives_the_same_projections) {
    folio_pcache__set_budget(0, 0, 0, 0);
    cr_assert_eq(folio_batch_run(tmpdb, mixed_batch, NULL, 0), FOLIO_OK, "%s", folio_errmsg());
    folio_write_result r;
    cr_assert_eq(folio_customer_merge(&r, tmpdb, &W, "CUST-000001", "CUST-000002", 0, 0),
                 FOLIO_OK, "%s", folio_errmsg());
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_rebuild(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_get(&c, tmpdb, "CUST-000001", 0, 0), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert_str_eq(c->balance, "170.00", "70 open on INV-A and 100 on INV-B moved in");
    folio_customer_free(c);
}

/* A transaction of tens of thousands of records grows the record cache's table; the small
 * transactions after it give the table back (not clearing megabytes each) and still find
 * their records. */
static int many_creations(folio_db *db, void *arg) {
    (void)arg;
    char name[32];
    for (int i = 0; i < 9000; i++) {
        snprintf(name, sizeof name, "Bulk %05d", i);
        int rc = create(db, name);
        if (rc < 0) return rc;
    }
    return FOLIO_OK;
}

Test(shared_txn, small_writes_after_a_large_transaction_find_their_records, .timeout = 120) {
    cr_assert_eq(folio_batch_run(tmpdb, many_creations, NULL, 0), FOLIO_OK, "%s",
                 folio_errmsg());
    folio_write_result r;
    folio_document_new inv = {.amount = "10.00", .date = "2026-01-01"};
    for (int i = 0; i < 3; i++) { /* the first clears the large table, the next drop it */
        cr_assert_eq(create(tmpdb, i == 0 ? "After 0" : i == 1 ? "After 1" : "After 2"),
                     FOLIO_OK, "%s", folio_errmsg());
        cr_assert_eq(folio_invoice_issue(&r, tmpdb, &W, "CUST-000001", &inv), FOLIO_OK, "%s",
                     folio_errmsg());
    }
    int dup = create(tmpdb, "Bulk 04321");
    cr_assert_eq(dup, FOLIO_ERULE, "a name of the large batch is taken: %s", folio_strerror(dup));
    cr_assert(exists("Bulk 08999") && exists("After 2"));
    cr_assert_str_eq(tmpdb_balance(tmpdb, "CUST-000001"), "30.00");
    uint64_t events;
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}
