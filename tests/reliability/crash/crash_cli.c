/*
 * tests/reliability/crash/crash_cli.c - SIGKILL `folio import customers` and `folio rebuild`
 * mid-way, run them again, and check that they finish the job (issue 7, crash).
 *
 * Usage: crash_cli FOLIO_CLI SCRATCH_DIR [reduced]
 *   reduced               (the sanitizer build) quick mode imports 3000 rows, not 5000
 *   FOLIO_CRASH_SEED=N    replay a run (the seed is printed first)
 *   FOLIO_CRASH_POINTS=N  kill points for each of import and rebuild (default 5; long: 25)
 *   FOLIO_CRASH_ROWS=N    customers in the CSV file (default 5000, reduced 3000; long: 20000)
 *
 * First the CSV file is imported and the ledger rebuilt once without a kill, to measure how
 * long each takes (T). Then, for each kill point:
 *   import:  a fresh ledger; `folio import customers FILE` is killed at a random moment in
 *            [0.05 T, 0.95 T] (every other point kills the second run as well); the rows
 *            committed so far are counted; a final run must exit 0 and say every row was
 *            accepted, as many "already there" as had been committed; then `verify` and
 *            `check` exit 0 and the ledger holds exactly the expected customers: one per CSV
 *            row (ref, name, owner, contact), no duplicate, none missing, and exactly three
 *            events per row.
 *   rebuild: on the measured ledger, `folio rebuild` is killed at a random moment in
 *            [0.05 T, 0.95 T]; a read-only query right after the kill is recorded (it may be
 *            refused while the projections are half rebuilt); then every other point reruns
 *            `folio rebuild` and the others run a write (`folio note` with an idempotency
 *            key), whose read-write open resumes the rebuild: that write is killed once at a
 *            random moment and run again with its key; both must exit 0, then `check` and
 *            `verify` exit 0 and every customer is as imported (plus one note per write).
 *            A run that finishes before its kill is started again with an earlier kill.
 * Ledger contents are read in fresh child processes through the public API (folio.h); the
 * parent never opens a ledger.
 */
#include <folio.h>

#include "crash_util.h"

static uint32_t rows;

static void write_csv(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) crash_fail("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "name,ref,type,owner,email,billing_city\n");
    for (uint32_t i = 0; i < rows; i++)
        fprintf(f, "Import Customer %u,M%06u,%s,owner%u,m%u@example.org,\"City %u, Region\"\n", i,
                i, i % 2 ? "person" : "business", i % 7, i, i % 13);
    if (fclose(f) != 0) crash_fail("cannot write %s", path);
}

/* ---- ledger contents, read in a fresh child process ---- */

/* In a child: events and streams of the ledger (read-only open). Exit 0 and "E S" on fd, or
 * "X rc" when a query failed (e.g. projections behind after a killed rebuild). */
static void count_main(const char *db_path, int fd) {
    folio_db *db = NULL;
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    char line[128];
    int rc = folio_db_open(&db, db_path, &o);
    if (rc == FOLIO_OK) {
        folio_stats st;
        rc = folio_stats_get(&st, db);
        folio_customer *c = NULL;
        if (rc == FOLIO_OK) rc = folio_customer_get(&c, db, "M000000", 0, 0);
        folio_customer_free(c);
        if (rc == FOLIO_OK || rc == FOLIO_ENOTFOUND)
            snprintf(line, sizeof line, "%llu %llu %d\n", (unsigned long long)st.events,
                     (unsigned long long)st.streams, rc);
        else
            snprintf(line, sizeof line, "X %d\n", rc);
        folio_db_close(db);
    } else {
        snprintf(line, sizeof line, "X %d\n", rc);
    }
    if (write(fd, line, strlen(line)) < 0) _exit(3);
    _exit(0);
}

typedef struct {
    int ok;               /* the queries answered */
    int rc;               /* else their error */
    uint64_t events, streams;
} ledger_count;

static ledger_count count_ledger(const char *db_path) {
    int p[2];
    if (pipe(p) < 0) crash_fail("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) crash_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        count_main(db_path, p[1]);
    }
    close(p[1]);
    char buf[256];
    ssize_t n = 0, k;
    while ((k = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0) n += k;
    close(p[0]);
    buf[n > 0 ? n : 0] = '\0';
    if (crash_wait(pid) != 0) crash_fail("counting %s: the child failed", db_path);
    ledger_count c = {0, 0, 0, 0};
    unsigned long long e, s;
    int rc;
    if (sscanf(buf, "%llu %llu %d", &e, &s, &rc) == 3) {
        c.ok = 1;
        c.events = e;
        c.streams = s;
    } else if (sscanf(buf, "X %d", &rc) == 1) {
        c.rc = rc;
    } else {
        crash_fail("counting %s: unexpected answer '%s'", db_path, buf);
    }
    return c;
}

/* In a child: the ledger holds exactly the CSV's customers, each once and as imported, plus
 * `notes` notes on M000000; `rows` * 3 + 1 + notes events. Exits non-zero with a message. */
static void expect_customers_main(const char *db_path, uint64_t notes) {
    folio_db *db = NULL;
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.must_exist = 1;
    int rc = folio_db_open(&db, db_path, &o);
    if (rc != FOLIO_OK) crash_fail("open %s: %s", db_path, folio_errmsg());
    folio_customer_list *list = NULL;
    if ((rc = folio_customer_list_get(&list, db, FOLIO_LIST_ALL, NULL)) != FOLIO_OK)
        crash_fail("list: %s: %s", folio_strerror(rc), folio_errmsg());
    if (list->count != rows)
        crash_fail("%s holds %zu customers, the CSV file has %u rows", db_path, list->count,
                   rows);
    unsigned char *seen = calloc(rows, 1);
    if (!seen) crash_fail("out of memory");
    for (size_t i = 0; i < list->count; i++) {
        const folio_customer *c = list->items[i];
        unsigned k;
        char want[64], owner[32];
        if (sscanf(c->ref, "M%06u", &k) != 1 || k >= rows)
            crash_fail("unexpected customer %s '%s'", c->ref, c->name);
        if (seen[k]++) crash_fail("customer %s is there twice", c->ref);
        snprintf(want, sizeof want, "Import Customer %u", k);
        snprintf(owner, sizeof owner, "owner%u", k % 7);
        if (strcmp(c->name, want) != 0 || !c->owner || strcmp(c->owner, owner) != 0)
            crash_fail("customer %s is '%s' owned by %s, expected '%s' owned by %s", c->ref,
                       c->name, c->owner ? c->owner : "nobody", want, owner);
        if (c->contact_count != 1)
            crash_fail("customer %s has %zu contacts, expected 1", c->ref, c->contact_count);
    }
    free(seen);
    folio_customer_list_free(list);
    folio_stats st;
    if ((rc = folio_stats_get(&st, db)) != FOLIO_OK)
        crash_fail("stats: %s: %s", folio_strerror(rc), folio_errmsg());
    uint64_t want = 1 + 3 * (uint64_t)rows + notes;
    if (st.events != want || st.streams != (uint64_t)rows + 1)
        crash_fail("%s has %llu events in %llu streams, expected %llu in %u", db_path,
                   (unsigned long long)st.events, (unsigned long long)st.streams,
                   (unsigned long long)want, rows + 1);
    folio_db_close(db);
    exit(0);
}

static void expect_customers(const char *db_path, uint64_t notes, const char *what) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) crash_fail("fork: %s", strerror(errno));
    if (pid == 0) expect_customers_main(db_path, notes);
    int rc = crash_wait(pid);
    if (rc != 0) crash_fail("%s: the ledger does not hold exactly the imported customers", what);
}

/* Run `folio --db DB ARGS...` in the background; returns the pid. */
static pid_t spawn_cli(const char *folio, const char *db, const char *out, const char *a1,
                       const char *a2, const char *a3) {
    char *argv[] = {(char *)folio, (char *)"--db", (char *)db, (char *)a1, (char *)a2,
                    (char *)a3, NULL};
    return crash_spawn(argv, out, 1);
}

/* Kill `pid` after `delay_us`; returns 1 if it was killed, 0 if it had finished (exit 0). */
static int kill_after(pid_t pid, int64_t delay_us, const char *what, const char *out) {
    sleep_us(delay_us);
    kill(pid, SIGKILL);
    int st = crash_wait(pid);
    if (st == 128 + SIGKILL) return 1;
    if (st != 0) {
        char *o = crash_slurp(out);
        crash_fail("%s exited %d before the kill: %s", what, st, o);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "reduced") == 0)) {
        fprintf(stderr, "usage: crash_cli FOLIO_CLI SCRATCH_DIR [reduced]\n");
        return 2;
    }
    const char *folio = argv[1];
    const char *dir = argv[2];
    crash_seed_init();
    int long_mode = crash_long_mode();
    uint32_t points = (uint32_t)crash_env_u64("FOLIO_CRASH_POINTS", long_mode ? 25 : 5);
    rows = (uint32_t)crash_env_u64("FOLIO_CRASH_ROWS", long_mode ? 20000 : argc == 4 ? 3000 : 5000);
    if (rows < 10) crash_fail("FOLIO_CRASH_ROWS must be at least 10");
    printf("crash_rebuild_import: seed %" PRIu64 " (FOLIO_CRASH_SEED), %u kill points each, "
           "%u CSV rows, %s mode\n",
           crash_seed, points, rows, long_mode ? "long" : "quick");
    crash_rng r = {crash_seed};
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        crash_fail("mkdir %s: %s", dir, strerror(errno));
    char csv[4096], base[4096], imp[4096], out[4096], note[64];
    snprintf(csv, sizeof csv, "%s/customers.csv", dir);
    snprintf(base, sizeof base, "%s/base.db", dir);
    snprintf(imp, sizeof imp, "%s/import.db", dir);
    snprintf(out, sizeof out, "%s/cli.out", dir);
    write_csv(csv);

    /* measure: an import and a rebuild that are not killed */
    crash_remove_ledger(base);
    int64_t t = now_us();
    int rc = crash_cli(folio, base, out, "import", "customers", csv, (const char *)NULL);
    int64_t t_import = now_us() - t;
    if (rc != 0) crash_fail("the measuring import exited %d: %s", rc, crash_slurp(out));
    t = now_us();
    rc = crash_cli(folio, base, out, "rebuild", (const char *)NULL);
    int64_t t_rebuild = now_us() - t;
    if (rc != 0) crash_fail("the measuring rebuild exited %d: %s", rc, crash_slurp(out));
    expect_customers(base, 0, "the measuring import");
    printf("crash_rebuild_import: import of %u rows takes %.0f ms, rebuild of %u events %.0f "
           "ms\n",
           rows, (double)t_import / 1000, 3 * rows + 1, (double)t_rebuild / 1000);
    fflush(stdout);

    /* import */
    uint32_t import_kills = 0, import_midway = 0, import_finished_early = 0;
    for (uint32_t k = 0; k < points; k++) {
        crash_remove_ledger(imp);
        uint64_t committed = 0;
        int exists = 0;
        int runs = k % 2 ? 2 : 1;
        int64_t window = t_import;
        for (int run = 0; run < runs; run++) {
            int64_t delay = rng_range(&r, window / 20, window * 19 / 20);
            pid_t pid = spawn_cli(folio, imp, out, "import", "customers", csv);
            int killed = kill_after(pid, delay, "import", out);
            if (!killed && run == 0 && window > 20000) { /* finished early: aim earlier */
                crash_remove_ledger(imp);
                window /= 2;
                run--;
                import_finished_early++;
                continue;
            }
            import_kills += killed;
            import_finished_early += !killed;
            ledger_count c = count_ledger(imp);
            if (!c.ok && c.rc == FOLIO_ENOTFOUND) { /* killed before the ledger was created */
                c.ok = 1;
                c.events = c.streams = 0;
            } else {
                exists = 1;
            }
            if (!c.ok) crash_fail("import point %u: a query after the kill failed (%d)", k, c.rc);
            if (c.events > 0 && ((c.events - 1) % 3 != 0 || c.streams != (c.events - 1) / 3 + 1))
                crash_fail("import point %u: %llu events in %llu streams after the kill: a row "
                           "is half there",
                           k, (unsigned long long)c.events, (unsigned long long)c.streams);
            uint64_t now = c.events > 0 ? (c.events - 1) / 3 : 0;
            if (now < committed)
                crash_fail("import point %u: %llu rows after the second kill, %llu before", k,
                           (unsigned long long)now, (unsigned long long)committed);
            committed = now;
            import_midway += killed && now > 0 && now < rows;
            printf("  import point %u run %d: killed after %.0f ms: %llu of %u rows in\n", k,
                   run + 1, (double)delay / 1000, (unsigned long long)now, rows);
        }
        if (exists)
            crash_verify_and_check(folio, imp, out, "import after a kill (before the rerun)");
        rc = crash_cli(folio, imp, out, "import", "customers", csv, (const char *)NULL);
        char *o = crash_slurp(out);
        unsigned long long acc = 0, existing = 0, rej = 0;
        if (rc != 0 || sscanf(o, "%llu rows accepted (%llu already there), %llu rejected", &acc,
                              &existing, &rej) != 3)
            crash_fail("import point %u: the rerun exited %d: %s", k, rc, o);
        if (acc != rows || existing != committed || rej != 0)
            crash_fail("import point %u: the rerun says '%s', expected %u accepted (%llu "
                       "already there), 0 rejected",
                       k, o, rows, (unsigned long long)committed);
        free(o);
        crash_verify_and_check(folio, imp, out, "import rerun");
        expect_customers(imp, 0, "import rerun");
    }

    /* rebuild */
    uint32_t rebuild_kills = 0, rebuild_ro_refused = 0, rebuild_finished_early = 0;
    uint32_t resume_kills = 0;
    uint64_t notes = 0;
    for (uint32_t k = 0; k < points; k++) {
        int64_t window = t_rebuild, delay = 0;
        int killed = 0;
        for (int attempt = 0; attempt < 6 && !killed; attempt++) {
            delay = rng_range(&r, window / 20, window * 19 / 20);
            pid_t pid = spawn_cli(folio, base, out, "rebuild", NULL, NULL);
            killed = kill_after(pid, delay, "rebuild", out);
            rebuild_finished_early += !killed;
            window /= 2; /* finished before the kill: aim earlier */
        }
        rebuild_kills += killed;
        ledger_count c = count_ledger(base);
        rebuild_ro_refused += !c.ok;
        printf("  rebuild point %u: killed after %.0f ms; a read-only query then %s (%d)\n", k,
               (double)delay / 1000, c.ok ? "answers" : "is refused", c.ok ? 0 : c.rc);
        if (k % 2 == 0) {
            rc = crash_cli(folio, base, out, "rebuild", (const char *)NULL);
            if (rc != 0) crash_fail("rebuild point %u: the rerun exited %d: %s", k, rc,
                                    crash_slurp(out));
        } else {
            /* a write, whose open resumes the rebuild; the first try is killed too (inside
             * that resume, or after it); the key makes the second one land exactly once */
            char key[32];
            snprintf(note, sizeof note, "written after killed rebuild %u", k);
            snprintf(key, sizeof key, "note-%u", k);
            char *nargv[] = {(char *)folio, (char *)"--db", base, (char *)"--actor",
                             (char *)"crash", (char *)"--idempotency-key", key, (char *)"note",
                             (char *)"M000000", note, NULL};
            pid_t np = crash_spawn(nargv, out, 1);
            resume_kills += kill_after(np, rng_range(&r, 0, t_rebuild), "note", out);
            rc = crash_cli(folio, base, out, "--actor", "crash", "--idempotency-key", key, "note",
                           "M000000", note, (const char *)NULL);
            if (rc != 0) crash_fail("rebuild point %u: a write after the kill exited %d: %s", k,
                                    rc, crash_slurp(out));
            notes++;
        }
        crash_verify_and_check(folio, base, out, "after a killed rebuild");
        expect_customers(base, notes, "after a killed rebuild");
    }

    printf("crash_rebuild_import: import kills=%u (mid-way: %u, run finished before the kill: "
           "%u) over %u kill points, all rerun to exactly %u customers; rebuild kills=%u "
           "(finished before the kill: %u; read-only query refused right after the kill: %u), "
           "all finished by a rerun or a write (%u of those writes killed once more); "
           "seed=%" PRIu64 "\n",
           import_kills, import_midway, import_finished_early, points, rows, rebuild_kills,
           rebuild_finished_early, rebuild_ro_refused, resume_kills, crash_seed);
    return 0;
}
