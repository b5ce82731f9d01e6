/*
 * tests/engine/read_txn.c - the read transactions a handle keeps for reuse (engine/store.c):
 * a warm read renews one instead of beginning a new one; between reads a kept transaction
 * pins no snapshot (a writer reuses the pages it frees); the map grows, in this process or
 * another, while transactions are kept; threads sharing a handle share them safely, more
 * threads than kept transactions included.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(read_txn, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const folio_write_opts W = {.actor = "tester"};

static uint64_t txns_begun(folio_db *db) {
    uint64_t txns, cursors;
    folio_store__read_counts(&txns, &cursors, db->store);
    return txns;
}

static uint64_t cursors_opened(folio_db *db) {
    uint64_t txns, cursors;
    folio_store__read_counts(&txns, &cursors, db->store);
    return cursors;
}

/* The history of `ref` has `n` events, versions 1..n of one stream; returns n. */
static size_t history_ok(folio_db *db, const char *ref) {
    folio_iter *it = NULL;
    const folio_event *e;
    size_t n = 0;
    uint64_t stream = 0;
    int rc = folio_history_open(&it, db, ref);
    cr_assert_eq(rc, FOLIO_OK, "history %s: %s", ref, folio_errmsg());
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        if (n == 0) stream = e->stream;
        cr_assert_eq(e->stream, stream);
        cr_assert_eq(e->version, ++n);
    }
    cr_assert_eq(rc, FOLIO_ITEROVER, "history %s: %s", ref, folio_errmsg());
    folio_iter_free(it);
    return n;
}

Test(read_txn, a_warm_read_renews_a_kept_transaction_and_its_log_cursor) {
    folio_write_result a = tmpdb_customer(tmpdb, "Kept Ltd");
    history_ok(tmpdb, a.ref);
    uint64_t begun = txns_begun(tmpdb), opened = cursors_opened(tmpdb);
    for (int i = 0; i < 50; i++) history_ok(tmpdb, a.ref);
    for (int i = 0; i < 20; i++) (void)tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(txns_begun(tmpdb), begun, "70 warm reads began %llu read transactions",
                 (unsigned long long)(txns_begun(tmpdb) - begun));
    cr_assert_eq(cursors_opened(tmpdb), opened, "50 warm histories opened %llu log cursors",
                 (unsigned long long)(cursors_opened(tmpdb) - opened));
}

Test(read_txn, a_kept_transaction_pins_no_snapshot_between_reads) {
    folio_write_result a = tmpdb_customer(tmpdb, "Pinned Ltd"), r;
    history_ok(tmpdb, a.ref);
    cr_assert_eq(folio_store__snapshots_held(tmpdb->store), 0);
    /* What that is for: the writer reuses the pages its commits free. A snapshot pinned by a
     * kept transaction would make every commit take new pages at the end of the file
     * (about ten per note): 300 notes would grow it by megabytes. */
    struct stat before, after;
    cr_assert_eq(folio_note_add(&r, tmpdb, &W, a.ref, "warm up"), FOLIO_OK);
    cr_assert_eq(stat(tmpdb_ledger_path(), &before), 0);
    for (int i = 0; i < 300; i++) {
        cr_assert_eq(folio_note_add(&r, tmpdb, &W, a.ref, "another note"), FOLIO_OK);
        if (i % 50 == 0) history_ok(tmpdb, a.ref);
    }
    cr_assert_eq(folio_store__snapshots_held(tmpdb->store), 0);
    cr_assert_eq(stat(tmpdb_ledger_path(), &after), 0);
    cr_assert_lt(after.st_size - before.st_size, 512 * 1024,
                 "300 notes grew the file from %lld to %lld bytes", (long long)before.st_size,
                 (long long)after.st_size);
}

/* Append notes of about 1 KiB to `ref` until the map has grown past `bytes`. */
static void grow_map_past(folio_db *db, const char *ref, uint64_t bytes) {
    folio_write_result r;
    char *text = tmpdb_repeat('g', 1000);
    folio_stats st;
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
        if (st.map_bytes > bytes) return;
        cr_assert_eq(folio_note_add(&r, db, &W, ref, text), FOLIO_OK, "%s", folio_errmsg());
    }
    cr_assert_fail("the map never grew past %llu bytes", (unsigned long long)bytes);
}

Test(read_txn, the_map_grows_while_transactions_are_kept, .timeout = 60) {
    tmpdb_close(tmpdb);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.map_bytes = 256u * 1024u;
    folio_db *db = tmpdb_open(tmpdb_path("small.db"), &o);
    folio_write_result a = tmpdb_customer(db, "Growing Ltd");
    size_t n = history_ok(db, a.ref); /* a transaction is kept from here on */
    grow_map_past(db, a.ref, 1024u * 1024u);
    cr_assert_gt(history_ok(db, a.ref), n);
}

Test(read_txn, a_kept_transaction_renews_after_another_process_grew_the_map, .timeout = 60) {
    tmpdb_close(tmpdb);
    const char *path = tmpdb_path("shared.db");
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.map_bytes = 256u * 1024u;
    folio_db *db = tmpdb_open(path, &o);
    folio_write_result a = tmpdb_customer(db, "Shared Ltd");
    size_t n = history_ok(db, a.ref);
    uint64_t begun = txns_begun(db);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) { /* no handle survives fork(): the child opens its own */
        folio_db *child = NULL;
        if (folio_db_open(&child, path, &o) != FOLIO_OK) _exit(2);
        folio_write_result r;
        char text[1001];
        memset(text, 'c', 1000);
        text[1000] = '\0';
        folio_stats st = {0};
        for (int i = 0; i < 10000; i++) {
            if (folio_stats_get(&st, child) != FOLIO_OK) _exit(3);
            if (st.map_bytes > 1024u * 1024u) break;
            if (folio_note_add(&r, child, &W, a.ref, text) != FOLIO_OK) _exit(4);
        }
        folio_db_close(child);
        _exit(st.map_bytes > 1024u * 1024u ? 0 : 5);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %#x)", status);
    /* The kept transaction's renew finds the larger map (MDB_MAP_RESIZED), adopts it and
     * renews again: the history sees every note, and no new transaction was begun. */
    cr_assert_gt(history_ok(db, a.ref), n + 100);
    cr_assert_eq(txns_begun(db), begun);
    cr_assert_eq(folio_store__snapshots_held(db->store), 0);
}

#define READERS 6 /* more than the handle keeps */
#define READS_PER_THREAD 300

typedef struct {
    folio_db *db;
    const char *refs[3];
    int failed;
    char why[256];
} reader_arg;

static void *reader_main(void *p) {
    reader_arg *a = p;
    for (int i = 0; i < READS_PER_THREAD && !a->failed; i++) {
        const char *ref = a->refs[i % 3];
        folio_iter *it = NULL;
        const folio_event *e;
        uint64_t n = 0, stream = 0;
        int rc = folio_history_open(&it, a->db, ref);
        while (rc == FOLIO_OK && (rc = folio_iter_next(&e, it)) == FOLIO_OK) {
            if (n == 0) stream = e->stream;
            if (e->stream != stream || e->version != ++n) {
                snprintf(a->why, sizeof a->why, "%s: event %llu of stream %llu, version %llu",
                         ref, (unsigned long long)n, (unsigned long long)e->stream,
                         (unsigned long long)e->version);
                a->failed = 1;
            }
        }
        folio_iter_free(it);
        if (rc != FOLIO_ITEROVER && !a->failed) {
            snprintf(a->why, sizeof a->why, "%s: %s", ref, folio_errmsg());
            a->failed = 1;
        }
    }
    return NULL;
}

Test(read_txn, threads_sharing_a_handle_share_its_kept_transactions, .timeout = 120) {
    folio_write_result c[3], r;
    c[0] = tmpdb_customer(tmpdb, "One Ltd");
    c[1] = tmpdb_customer(tmpdb, "Two Ltd");
    c[2] = tmpdb_customer(tmpdb, "Three Ltd");
    reader_arg args[READERS];
    pthread_t tids[READERS];
    for (int i = 0; i < READERS; i++) {
        args[i] = (reader_arg){.db = tmpdb, .refs = {c[0].ref, c[1].ref, c[2].ref}};
        cr_assert_eq(pthread_create(&tids[i], NULL, reader_main, &args[i]), 0);
    }
    for (int i = 0; i < 60; i++) /* the snapshots change under the readers */
        cr_assert_eq(folio_note_add(&r, tmpdb, &W, c[i % 3].ref, "meanwhile"), FOLIO_OK);
    for (int i = 0; i < READERS; i++) {
        cr_assert_eq(pthread_join(tids[i], NULL), 0);
        cr_assert_not(args[i].failed, "reader %d: %s", i, args[i].why);
    }
    cr_assert_eq(folio_store__snapshots_held(tmpdb->store), 0);
    for (int i = 0; i < 3; i++) cr_assert_eq(history_ok(tmpdb, c[i].ref), 2 + 20);
}

/* ---- a snapshot ahead of its transaction id (engine/store.c, read_start) ---- */

/* LMDB 0.9's lock file (64-bit glibc): MDB_txninfo begins with magic and format (u32 each),
 * the reader mutex (a pthread_mutex_t of 40 bytes), then mti_txnid, the last published commit
 * id, which a read transaction reads before it copies meta page mti_txnid % 2. The test
 * checks the offset (the magic, and one commit moving it by one) before it relies on it. */
#define LOCK_MAGIC 0xBEEFC0DEu
#define LOCK_TXNID_OFFSET 48u

typedef struct {
    volatile uint64_t *published; /* mti_txnid in the test's mapping of the lock file */
    uint64_t then;                /* what a read that starts again finds published */
    unsigned calls;
} restart_arg;

static void publish_on_restart(void *p) {
    restart_arg *a = p;
    *a->published = a->then;
    a->calls++;
}

/*
 * The interleaving of the threads test's "missing from the log (seq gap)", made one step at a
 * time: commits X - 1 and X append the last two seqs n - 1 and n. A read that read
 * mti_txnid = X - 2 and was preempted before copying meta page (X - 2) % 2 copies commit X
 * there (its meta page), under the id X - 2; a read that begins later, while commit X's meta
 * page is written but not yet published (mti_txnid = X - 1), reads commit X - 1. The log
 * iterator read its head (seq n) in the first and its batch (no seq n) in the second. The
 * first state is made by writing mti_txnid = X - 2 into the lock file, the second by
 * writing X - 1 (what a read that starts again finds then). Without read_start's check the
 * iterator reports seq n missing; with it, the first read starts again and the iterator
 * reads seqs 1 .. n - 1 of commit X - 1, which is all that was published.
 */
Test(read_txn, a_read_whose_snapshot_is_ahead_of_its_id_starts_again) {
    for (uint64_t i = 1; i <= 3; i++) {
        folio_event e = tmpdb_note(i, "before");
        tmpdb_append(tmpdb, &e);
    }
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s-lock", tmpdb_ledger_path());
    int fd = open(lock_path, O_RDWR);
    cr_assert_geq(fd, 0, "%s: %s", lock_path, strerror(errno));
    uint8_t *lock = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(lock, MAP_FAILED);
    cr_assert_eq(*(volatile uint32_t *)lock, LOCK_MAGIC, "not LMDB 0.9's lock file layout");
    volatile uint64_t *published = (volatile uint64_t *)(lock + LOCK_TXNID_OFFSET);
    uint64_t before = *published;
    folio_event e = tmpdb_note(1, "commit X - 1");
    uint64_t n = tmpdb_append(tmpdb, &e) + 1;
    cr_assert_eq(*published, before + 1, "mti_txnid is not at offset %u", LOCK_TXNID_OFFSET);
    e = tmpdb_note(2, "commit X");
    cr_assert_eq(tmpdb_append(tmpdb, &e), n);
    const uint64_t x = *published;
    cr_assert_eq(x, before + 2);
    restart_arg a = {published, x - 1, 0};
    folio_store__on_read_restart(publish_on_restart, &a);
    uint64_t restarts = folio_store__read_restarts(tmpdb->store);

    *published = x - 2; /* the first read: meta page (X - 2) % 2 holds commit X */
    folio_iter *it = NULL;
    int rc = folio_log_open(&it, tmpdb, 0, 0);
    *published = x - 1; /* the iterator's batch: commit X not yet published */
    uint64_t seen = 0;
    const folio_event *ev;
    while (rc == FOLIO_OK && (rc = folio_iter_next(&ev, it)) == FOLIO_OK)
        cr_assert_eq(ev->seq, ++seen);
    char why[512];
    snprintf(why, sizeof why, "%s", rc == FOLIO_ITEROVER ? "" : folio_errmsg());
    folio_iter_free(it);
    *published = x; /* commit X published: the ledger as it is */
    folio_store__on_read_restart(NULL, NULL);
    munmap(lock, 4096);

    cr_assert_eq(rc, FOLIO_ITEROVER, "the iterator failed: %s", why);
    cr_assert_eq(seen, n - 1, "it read %llu events of the %llu commit X - 1 has",
                 (unsigned long long)seen, (unsigned long long)(n - 1));
    cr_assert_eq(a.calls, 1, "the first read started again once (%u)", a.calls);
    cr_assert_eq(folio_store__read_restarts(tmpdb->store), restarts + 1);
    cr_assert_eq(tmpdb_last_seq(tmpdb), n, "and then all of commit X");
}
