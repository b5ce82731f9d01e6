/*
 * tests/engine/check.c - check finds projections that drifted from the log; rebuild folds
 * them again, and an interrupted rebuild finishes on the next try.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../engine/internal.h"

static char dir[64], path[128];
static folio_db *db;

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/folio-chk-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l.db", dir);
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK);
    folio_write_opts w = {.actor = "t"};
    folio_write_result r;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "Customer %02d", i);
        folio_customer_new c = {.name = name, .status = "active", .credit_limit = "100"};
        cr_assert_eq(folio_customer_create(&r, db, &w, &c), FOLIO_OK, "%s", folio_errmsg());
        folio_document_new inv = {.amount = "60.00", .date = "2026-01-05"};
        cr_assert_eq(folio_invoice_issue(&r, db, &w, r.ref, &inv), FOLIO_OK, "%s", folio_errmsg());
    }
}

static void teardown(void) {
    char cmd[200];
    folio_db_close(db);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(check, .init = setup, .fini = teardown);

Test(check, a_consistent_ledger_checks_ok_and_leaves_no_scratch_behind) {
    uint64_t events = 0;
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
    cr_assert_eq(events, st.events);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 2", dir); /* l.db and l.db-lock */
    cr_assert_eq(system(cmd), 0, "scratch files were left beside the ledger");
}

/* A card whose bytes were changed behind the engine's back (same key, other value). */
Test(check, a_projection_value_changed_behind_its_back_is_named) {
    folio_txn t = {0};
    folio_val v;
    uint8_t key[9] = {'c', 0, 0, 0, 0, 0, 0, 0, 3};
    cr_assert_eq(folio_store__write_begin(&t, db->store), FOLIO_OK);
    unsigned dir_dbi = FOLIO_DB_PROJ0;
    for (unsigned i = 0; i < folio_projection__count(); i++)
        if (strcmp(folio_projection__name(i), "directory") == 0) dir_dbi = FOLIO_DB_PROJ0 + i;
    cr_assert_eq(folio_store__get(&v, &t, dir_dbi, key, sizeof key), FOLIO_OK);
    uint8_t *copy = malloc(v.size);
    memcpy(copy, v.data, v.size);
    copy[v.size - 1] ^= 1;
    cr_assert_eq(folio_store__put(&t, dir_dbi, key, sizeof key, copy, v.size, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    free(copy);
    uint64_t events;
    cr_assert_eq(folio_check(&events, db), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "directory") != NULL, "%s", folio_errmsg());
    cr_assert(strstr(folio_errmsg(), "differs") != NULL, "%s", folio_errmsg());
    /* verify checks the log, not projections: it still passes */
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, db), FOLIO_OK);
    /* rebuild mends it */
    cr_assert_eq(folio_rebuild(&events, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
}

Test(check, a_missing_and_an_extra_key_are_named) {
    folio_txn t = {0};
    unsigned rec_dbi = FOLIO_DB_PROJ0;
    for (unsigned i = 0; i < folio_projection__count(); i++)
        if (strcmp(folio_projection__name(i), "receivables") == 0) rec_dbi = FOLIO_DB_PROJ0 + i;
    cr_assert_eq(folio_store__write_begin(&t, db->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, rec_dbi, "zz-extra", 8, "x", 1, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    uint64_t events;
    cr_assert_eq(folio_check(&events, db), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "zz-extra") != NULL, "%s", folio_errmsg());
}

/* A rebuild that fails part-way (here: an injected write failure) leaves the projections
 * marked as behind; the next rebuild (or read-write open) finishes the job. */
Test(check, an_interrupted_rebuild_finishes_on_the_next_try) {
    uint64_t events;
    folio_store__inject_put_failure(200); /* past the state reset, inside the fold */
    int rc = folio_rebuild(&events, db);
    folio_store__inject_put_failure(0);
    cr_assert_eq(rc, FOLIO_ERROR, "the injected failure should stop the rebuild: %s", folio_errmsg());
    folio_stats st;
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_get(&c, db, "CUST-000001", 0, 0), FOLIO_EFORMAT,
                 "projections are behind, not wrong");
    folio_db_close(db);
    db = NULL;
    cr_assert_eq(folio_db_open(&db, path, NULL), FOLIO_OK, "%s", folio_errmsg()); /* catches up */
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
    cr_assert_eq(st.type_counts[FOLIO_EV_INVOICE_ISSUED], 40);
}

static int rebuild_in_batch(folio_db *d, void *arg) {
    uint64_t events;
    *(int *)arg = folio_rebuild(&events, d);
    return FOLIO_OK;
}

/* A rebuild joined to a batch would mark the projections stale inside it and never fold them:
 * it is refused, and the ledger stays readable. */
Test(check, rebuild_is_refused_inside_a_batch) {
    int inner = 0;
    cr_assert_eq(folio_batch_run(db, rebuild_in_batch, &inner, 0), FOLIO_OK);
    cr_assert_eq(inner, FOLIO_EINVAL, "rebuild inside a batch returned %d", inner);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK, "%s", folio_errmsg());
    uint64_t events;
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
}

/* A check that was killed (or crashed on a damaged page) leaves its scratch directory
 * behind: the next check removes those whose process is gone, and no other. */
Test(check, removes_the_scratch_left_by_a_check_whose_process_died) {
    pid_t dead = fork();
    cr_assert_geq(dead, 0);
    if (dead == 0) _exit(0);
    cr_assert_eq(waitpid(dead, NULL, 0), dead);
    char stale[200], alive[200], file[260];
    snprintf(stale, sizeof stale, "%s/.folio-check-%ld-AbCdEf", dir, (long)dead);
    snprintf(alive, sizeof alive, "%s/.folio-check-%ld-GhIjKl", dir, (long)getpid());
    cr_assert_eq(mkdir(stale, 0700), 0);
    cr_assert_eq(mkdir(alive, 0700), 0);
    snprintf(file, sizeof file, "%s/replay.db", stale);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    uint64_t events;
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
    struct stat st;
    cr_assert_neq(stat(stale, &st), 0, "the dead check's scratch is gone");
    cr_assert_eq(stat(alive, &st), 0, "a live process's scratch is left alone");
    rmdir(alive);
}
