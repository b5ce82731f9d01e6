/*
 * tests/alloc/append.c - the append path allocates nothing per command once warm (the
 * performance issue's rule): a batch of 1,000 documents makes no more heap allocations than
 * a batch of 10, and single durable commands make none outside LMDB's own per-transaction
 * lists. The history of a customer with a few events (engine/replay.c) makes none outside
 * LMDB either.
 *
 * This executable replaces malloc, calloc and realloc with counting wrappers around glibc's
 * (__libc_malloc and friends), so it is built only without sanitizers, whose allocator would
 * be bypassed. Counting is switched on only around the measured calls; the caller of each
 * counted allocation is recorded and resolved with dladdr() afterwards (never inside malloc).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "tmpdb.h"

extern void *__libc_malloc(size_t bytes);
extern void *__libc_calloc(size_t count, size_t bytes);
extern void *__libc_realloc(void *p, size_t bytes);

#define CALLERS_MAX 4096

static int counting;
static size_t allocations;
static void *callers[CALLERS_MAX];

static void count(void *caller) {
    if (!counting) return;
    if (allocations < CALLERS_MAX) callers[allocations] = caller;
    allocations++;
}

void *malloc(size_t bytes) {
    count(__builtin_return_address(0));
    return __libc_malloc(bytes);
}

void *calloc(size_t n, size_t bytes) {
    count(__builtin_return_address(0));
    return __libc_calloc(n, bytes);
}

void *realloc(void *p, size_t bytes) {
    count(__builtin_return_address(0));
    return __libc_realloc(p, bytes);
}

static void start(void) {
    allocations = 0;
    counting = 1;
}

/* The callers of the first few allocations outside LMDB that stop() saw, for a failure
 * message. */
static char outside_callers[1024];

/* Stop counting; returns the allocations since start(), and in *outside_lmdb those whose
 * caller is not in LMDB's shared library (the first few named in outside_callers). */
static size_t stop(size_t *outside_lmdb) {
    counting = 0;
    size_t n = allocations, outside = 0, used = 0;
    outside_callers[0] = '\0';
    for (size_t i = 0; i < n && i < CALLERS_MAX; i++) {
        Dl_info info;
        const char *where = dladdr(callers[i], &info) && info.dli_fname ? info.dli_fname : "?";
        if (strstr(where, "liblmdb")) continue;
        if (outside++ < 5 && used < sizeof outside_callers)
            used += (size_t)snprintf(outside_callers + used, sizeof outside_callers - used,
                                     "; from %s+%#lx (%s)", where,
                                     (unsigned long)((char *)callers[i] - (char *)info.dli_fbase),
                                     info.dli_sname ? info.dli_sname : "?");
    }
    if (outside_lmdb) *outside_lmdb = outside;
    return n;
}

TestSuite(alloc, .init = tmpdb_setup, .fini = tmpdb_teardown);

#define CUSTOMERS 200

typedef struct {
    const char *refs[CUSTOMERS];
    unsigned commands, next;
} workload;

static void customers(workload *wl) {
    for (int i = 0; i < CUSTOMERS; i++)
        wl->refs[i] = tmpdb_account(tmpdb, tmpdb_strf("Customer %d", i), "USD", NULL);
}

/* One document for the next customer (stride 7, so consecutive commands differ). */
static int document(folio_db *db, workload *wl) {
    folio_write_opts w = tmpdb_w();
    folio_write_result r;
    folio_document_new d = {.amount = "10.00", .date = "2026-01-02", .due = "2026-02-01"};
    const char *ref = wl->refs[(wl->next * 7) % CUSTOMERS];
    /* invoices, and payments that settle the oldest open invoices (--auto walks them) */
    int rc = wl->next % 3 ? folio_invoice_issue(&r, db, &w, ref, &d)
                          : folio_payment_receive(&r, db, &w, ref, &d, NULL, 0, 1);
    wl->next++;
    return rc;
}

static int batch(folio_db *db, void *arg) {
    workload *wl = arg;
    for (unsigned i = 0; i < wl->commands; i++) {
        int rc = document(db, wl);
        if (rc != FOLIO_OK) return rc;
    }
    return FOLIO_OK;
}

static size_t batch_allocations(workload *wl, unsigned commands) {
    wl->commands = commands;
    start();
    int rc = folio_batch_run(tmpdb, batch, wl, 0);
    size_t outside;
    size_t n = stop(&outside);
    cr_assert_eq(rc, FOLIO_OK, "batch: %s", folio_errmsg());
    return n;
}

Test(alloc, a_batch_allocates_per_commit_not_per_command) {
    workload wl = {0};
    customers(&wl);
    for (int i = 0; i < 3; i++) { /* warm: caches, buffers and LMDB's page lists at size */
        batch_allocations(&wl, 1000);
        batch_allocations(&wl, 10);
    }
    size_t small = batch_allocations(&wl, 10), big = batch_allocations(&wl, 1000);
    /* LMDB's free-page lists grow with the pages a commit frees (a few doublings); one
     * allocation per command would add 990. */
    cr_assert_leq(big, small + 16, "a batch of 1,000 documents made %zu allocations, one of 10 "
                                   "made %zu",
                  big, small);
}

Test(alloc, a_single_command_allocates_nothing_outside_lmdb) {
    workload wl = {0};
    customers(&wl);
    for (int i = 0; i < 400; i++) TMPDB_OK(document(tmpdb, &wl)); /* warm */
    size_t outside = 0;
    start();
    for (int i = 0; i < 100; i++) {
        int rc = document(tmpdb, &wl);
        if (rc != FOLIO_OK) {
            stop(NULL);
            cr_assert_fail("document: %s", folio_errmsg());
        }
    }
    size_t n = stop(&outside);
    cr_assert_eq(outside, 0, "100 warm single documents made %zu allocations outside LMDB "
                             "(%zu in all)%s",
                 outside, n, outside_callers);
}

Test(alloc, a_short_history_allocates_nothing_outside_lmdb) {
    workload wl = {0};
    customers(&wl);
    for (int i = 0; i < 600; i++) TMPDB_OK(document(tmpdb, &wl)); /* ~3 documents each */
    const folio_event *e;
    size_t outside = 0, events = 0;
    for (int round = 0; round < 2; round++) { /* round 0 warms the handle's iterator */
        start();
        for (int i = 0; i < CUSTOMERS; i++) {
            folio_iter *it = NULL;
            int rc = folio_history_open(&it, tmpdb, wl.refs[i]);
            while (rc == FOLIO_OK && (rc = folio_iter_next(&e, it)) == FOLIO_OK) events++;
            folio_iter_free(it);
            if (rc != FOLIO_ITEROVER) {
                stop(NULL);
                cr_assert_fail("history %s: %s", wl.refs[i], folio_errmsg());
            }
        }
        size_t n = stop(&outside);
        if (round == 1)
            cr_assert_eq(outside, 0, "200 warm histories (%zu events) made %zu allocations "
                                     "outside LMDB (%zu in all)%s",
                         events, outside, n, outside_callers);
    }
}

Test(alloc, the_counter_sees_an_allocation) { /* the wrappers are the ones called */
    size_t outside = 0;
    start();
    void *volatile p = malloc(64);
    size_t n = stop(&outside);
    free(p);
    cr_assert_eq(n, 1);
    cr_assert_eq(outside, 1);
    cr_assert(strstr(outside_callers, "; from ") != NULL, "%s", outside_callers);
}
