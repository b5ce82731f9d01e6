/*
 * tests/api/open.c - opening and closing a ledger: creation, file mode, must_exist and
 * read_only, files that are not folio ledgers, one handle per file per process.
 * The LMDB environments that are "not folio ledgers" are built with LMDB directly.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmpdb.h"

TestSuite(open, .init = tmpdb_setup_dir, .fini = tmpdb_teardown);

/* Number of entries in a directory, "." and ".." excluded. */
static int dir_entries(const char *path) {
    DIR *d = opendir(path);
    cr_assert_not_null(d, "opendir %s: %s", path, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Open and expect failure with `want`: no handle comes back. */
static void assert_open_fails(const char *path, const folio_open_opts *opts, int want) {
    folio_db *db = (folio_db *)&db; /* poison: must be reset to NULL */
    int rc = folio_db_open(&db, path, opts);
    if (rc == FOLIO_OK) folio_db_close(db);
    cr_assert_eq(rc, want, "open %s: got %s (%s), expected %s", path, folio_strerror(rc),
                 folio_errmsg(), folio_strerror(want));
    cr_assert_null(db, "a failed open must not hand out a handle");
    cr_assert_neq(folio_errmsg()[0], '\0', "a failed open explains itself");
}

/* Build an LMDB environment at `path` (one file) holding the given named databases, each
 * with one key/value. `meta_format` (if not NULL) is stored under "format" in "meta". */
static void make_lmdb(const char *path, const char *const *dbs, size_t db_count,
                      const void *meta_format, size_t meta_format_bytes) {
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
    cr_assert_eq(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    for (size_t i = 0; i < db_count; i++) {
        MDB_dbi dbi;
        cr_assert_eq(mdb_dbi_open(txn, dbs[i], MDB_CREATE, &dbi), 0);
        MDB_val k = {3, "key"}, v = {5, "value"};
        if (strcmp(dbs[i], "meta") == 0 && meta_format) {
            k = (MDB_val){6, "format"};
            v = (MDB_val){meta_format_bytes, (void *)meta_format};
        }
        cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

Test(open, creates_a_missing_ledger_and_its_lock_file_with_mode_0600) {
    umask(0); /* the mode must come from folio, not from the process umask */
    const char *path = tmpdb_ledger_path();
    folio_db *db = tmpdb_open(path, NULL);
    folio_event e = tmpdb_note(1, "hello");
    tmpdb_append(db, &e);
    tmpdb_close(db);
    const char *files[] = {path, tmpdb_path("ledger.db-lock")};
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        cr_assert_eq(stat(files[i], &st), 0, "%s: %s", files[i], strerror(errno));
        cr_assert(S_ISREG(st.st_mode), "%s is a regular file", files[i]);
        cr_assert_eq(st.st_mode & 07777, 0600, "%s has mode %o, expected 0600", files[i],
                     (unsigned)(st.st_mode & 07777));
    }
    cr_assert_eq(dir_entries(tmpdb_dir), 2, "the ledger is exactly PATH and PATH-lock");
}

/* LMDB writes its lock file through a shared mapping: a lock file without blocks on a full
 * disk would kill the process with SIGBUS at the first store. folio gives it its blocks. */
Test(open, the_lock_file_has_its_blocks_allocated) {
    const char *path = tmpdb_path("ledger.db");
    tmpdb_close(tmpdb_open(path, NULL));
    struct stat st;
    cr_assert_eq(stat(tmpdb_strf("%s-lock", path), &st), 0);
    cr_assert_geq(st.st_size, 8192);
    cr_assert_geq((long long)st.st_blocks * 512, 8192, "allocated: %lld blocks",
                  (long long)st.st_blocks);
}

Test(open, a_new_ledger_is_empty_and_verifies) {
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
    cr_assert_eq(st.events, 0);
    cr_assert_eq(st.streams, 0);
    cr_assert_eq(st.last_recorded_at_us, 0);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, 0);
    static const uint8_t zeros[FOLIO_HASH_BYTES];
    cr_assert_eq(memcmp(r.head, zeros, FOLIO_HASH_BYTES), 0, "an empty ledger's head is zeros");
    size_t n = 99;
    tmpdb_read_log(db, 0, 0, &n);
    cr_assert_eq(n, 0);
    folio_iter *it = (folio_iter *)&it;
    cr_assert_eq(folio_stream_open(&it, db, 1, 0, 0), FOLIO_ENOTFOUND);
    cr_assert_null(it);
    cr_assert_eq(tmpdb_stream_version(db, 1), 0);
}

Test(open, read_only_open_of_a_missing_path_fails_and_creates_nothing) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_ENOTFOUND);
    cr_assert_eq(dir_entries(tmpdb_dir), 0, "nothing was created");
}

Test(open, must_exist_open_of_a_missing_path_fails_and_creates_nothing) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.must_exist = 1;
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_ENOTFOUND);
    cr_assert_eq(dir_entries(tmpdb_dir), 0, "nothing was created");
    /* Nor in a directory that does not exist. */
    assert_open_fails(tmpdb_path("no-such-dir/ledger.db"), &o, FOLIO_ENOTFOUND);
    cr_assert_eq(dir_entries(tmpdb_dir), 0, "nothing was created");
}

/* A read-write open that would create the ledger in a directory that does not exist is
 * FOLIO_ENOTFOUND (docs/API.md), naming the path, as the read-only and must-exist opens are:
 * it was FOLIO_ERROR "create: No such file or directory", with no path. */
Test(open, a_write_open_in_a_missing_directory_is_not_found_and_names_the_path) {
    const char *path = tmpdb_path("no-such-dir/ledger.db");
    assert_open_fails(path, NULL, FOLIO_ENOTFOUND);
    cr_assert_not_null(strstr(folio_errmsg(), path), "names %s: %s", path, folio_errmsg());
    cr_assert_eq(dir_entries(tmpdb_dir), 0, "nothing was created");
}

Test(open, must_exist_open_of_an_existing_ledger_sees_its_events) {
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    folio_event e = tmpdb_note(7, "kept");
    uint64_t seq = tmpdb_append(db, &e);
    tmpdb_close(db);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.must_exist = 1;
    db = tmpdb_open(tmpdb_ledger_path(), &o);
    cr_assert_eq(tmpdb_last_seq(db), seq);
    cr_assert_eq(tmpdb_stream_version(db, 7), 1);
    /* must_exist does not make the handle read-only. */
    tmpdb_append(db, &e);
    cr_assert_eq(tmpdb_last_seq(db), seq + 1);
}

Test(open, read_only_handle_reads_and_refuses_appends) {
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    folio_event e = tmpdb_note(3, "before");
    tmpdb_append(db, &e);
    tmpdb_append(db, &e);
    tmpdb_close(db);
    size_t before = 0;
    void *bytes_before = tmpdb_read_file(tmpdb_ledger_path(), &before);

    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    db = tmpdb_open(tmpdb_ledger_path(), &o);
    size_t n = 0;
    folio_event *got = tmpdb_read_log(db, 0, 0, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(got[1].version, 2);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, db), FOLIO_OK, "%s", folio_errmsg());
    uint64_t seq = 0;
    cr_assert_eq(folio_event_append(&seq, db, &e), FOLIO_EINVAL);
    cr_assert_eq(tmpdb_last_seq(db), 2);
    tmpdb_close(db);

    size_t after = 0;
    void *bytes_after = tmpdb_read_file(tmpdb_ledger_path(), &after);
    cr_assert_eq(after, before);
    cr_assert_eq(memcmp(bytes_after, bytes_before, before), 0,
                 "a read-only handle never changes the ledger file");
}

Test(open, refuses_a_file_of_garbage_bytes_and_leaves_it_untouched) {
    /* One page-sized file and one shorter than an LMDB header. */
    static const size_t sizes[] = {8192, 100};
    for (size_t i = 0; i < 2; i++) {
        const char *path = tmpdb_path(i == 0 ? "garbage" : "short");
        char *junk = tmpdb_repeat('x', sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++) junk[j] = (char)(j * 131u + 7u);
        tmpdb_write_file(path, junk, sizes[i]);
        assert_open_fails(path, NULL, FOLIO_EFORMAT);
        size_t n = 0;
        void *now = tmpdb_read_file(path, &n);
        cr_assert_eq(n, sizes[i]);
        cr_assert_eq(memcmp(now, junk, n), 0, "refusing a file must not write to it");
        cr_assert(!exists(tmpdb_strf("%s-lock", path)), "no lock file beside a foreign file");
    }
}

Test(open, refuses_an_empty_file) {
    const char *path = tmpdb_ledger_path();
    tmpdb_write_file(path, "", 0);
    assert_open_fails(path, NULL, FOLIO_EFORMAT);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 0, "the empty file stays empty");
    cr_assert(!exists(tmpdb_path("ledger.db-lock")), "no lock file beside it");
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    assert_open_fails(path, &o, FOLIO_EFORMAT);
}

Test(open, refuses_a_directory) {
    const char *path = tmpdb_path("adir");
    cr_assert_eq(mkdir(path, 0700), 0);
    assert_open_fails(path, NULL, FOLIO_EFORMAT);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.must_exist = 1;
    assert_open_fails(path, &o, FOLIO_EFORMAT);
    cr_assert_eq(dir_entries(path), 0, "nothing was created inside the directory");
}

Test(open, refuses_an_lmdb_file_without_folio_databases) {
    const char *path = tmpdb_path("other.lmdb");
    static const char *const dbs[] = {"accounts", "orders"};
    make_lmdb(path, dbs, 2, NULL, 0);
    assert_open_fails(path, NULL, FOLIO_EFORMAT);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    assert_open_fails(path, &o, FOLIO_EFORMAT);
}

Test(open, refuses_an_lmdb_file_whose_meta_database_has_no_format_record) {
    const char *path = tmpdb_path("other.lmdb");
    static const char *const dbs[] = {"meta", "log", "streams", "idem"};
    make_lmdb(path, dbs, 4, NULL, 0);
    assert_open_fails(path, NULL, FOLIO_EFORMAT);
}

Test(open, refuses_a_ledger_written_by_a_newer_format) {
    /* A real ledger (created as format 2) whose format record is then raised to 4, past
     * the newest this folio reads (3). */
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    folio_event e = tmpdb_note(1, "x");
    tmpdb_append(db, &e);
    tmpdb_close(db);

    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
    cr_assert_eq(mdb_env_open(env, tmpdb_ledger_path(), MDB_NOSUBDIR, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k = {6, "format"}, v;
    cr_assert_eq(mdb_get(txn, meta, &k, &v), 0);
    cr_assert_eq(v.mv_size, 9);
    cr_assert_eq(memcmp(v.mv_data, "folio\x02\0\0\0", 9), 0, "format record is folio + u32 2");
    MDB_val newer = {9, "folio\x04\0\0\0"};
    cr_assert_eq(mdb_put(txn, meta, &k, &newer, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    assert_open_fails(tmpdb_ledger_path(), NULL, FOLIO_EFORMAT);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_EFORMAT);
}

Test(open, refuses_a_second_open_of_the_same_file_in_one_process) {
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    folio_event e = tmpdb_note(1, "first");
    tmpdb_append(db, &e);

    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    cr_assert_eq(symlink(tmpdb_ledger_path(), tmpdb_path("alias.db")), 0);
    const char *spellings[] = {tmpdb_ledger_path(), tmpdb_strf("%s/./ledger.db", tmpdb_dir),
                               tmpdb_path("alias.db")};
    for (size_t i = 0; i < 3; i++) {
        assert_open_fails(spellings[i], NULL, FOLIO_EINVAL);
        assert_open_fails(spellings[i], &ro, FOLIO_EINVAL);
    }

    /* The refused opens did not disturb the first handle (LMDB drops a process's locks when
     * any descriptor of the file is closed). */
    tmpdb_append(db, &e);
    size_t n = 0;
    tmpdb_read_log(db, 0, 0, &n);
    cr_assert_eq(n, 2);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, db), FOLIO_OK, "%s", folio_errmsg());

    /* Once closed, the file may be opened again. */
    tmpdb_close(db);
    db = tmpdb_open(tmpdb_path("alias.db"), NULL);
    cr_assert_eq(tmpdb_last_seq(db), 2);
}

Test(open, two_different_ledgers_may_be_open_at_once) {
    folio_db *a = tmpdb_open(tmpdb_path("a.db"), NULL);
    folio_db *b = tmpdb_open(tmpdb_path("b.db"), NULL);
    folio_event e = tmpdb_note(1, "a");
    tmpdb_append(a, &e);
    tmpdb_append(a, &e);
    tmpdb_append(b, &e);
    cr_assert_eq(tmpdb_last_seq(a), 2);
    cr_assert_eq(tmpdb_last_seq(b), 1);
}

Test(open, rejects_unknown_option_versions_and_out_of_range_map_sizes) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.version = 0;
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_EINVAL);
    o.version = FOLIO_OPEN_OPTS_VERSION + 1;
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_EINVAL);
    o = (folio_open_opts)FOLIO_OPEN_OPTS_INIT;
    o.map_bytes = 256u * 1024u - 1u;
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_EINVAL);
    o.map_bytes = (1ull << 40) + 1u; /* past the largest map folio grows to */
    assert_open_fails(tmpdb_ledger_path(), &o, FOLIO_EINVAL);
    cr_assert_eq(dir_entries(tmpdb_dir), 0, "a refused open creates nothing");
    o.map_bytes = 256u * 1024u; /* the smallest allowed */
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), &o);
    folio_stats st;
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK);
    cr_assert_geq(st.map_bytes, 256u * 1024u);
}

Test(open, reopening_keeps_every_event_and_continues_seq_and_versions) {
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    for (unsigned i = 0; i < 5; i++) {
        folio_event e = tmpdb_event(1 + i % 2, FOLIO_EV_CUSTOMER_NOTE_ADDED, "{\"i\":%u}", i);
        tmpdb_append(db, &e);
    }
    size_t n = 0;
    folio_event *before = tmpdb_read_log(db, 0, 0, &n);
    cr_assert_eq(n, 5);
    folio_verify_report r1, r2;
    cr_assert_eq(folio_verify(&r1, db), FOLIO_OK);
    tmpdb_close(db);

    db = tmpdb_open(tmpdb_ledger_path(), NULL);
    size_t m = 0;
    folio_event *after = tmpdb_read_log(db, 0, 0, &m);
    cr_assert_eq(m, n);
    for (size_t i = 0; i < n; i++) tmpdb_assert_event_eq(&after[i], &before[i]);
    cr_assert_eq(folio_verify(&r2, db), FOLIO_OK);
    cr_assert_eq(memcmp(r1.head, r2.head, FOLIO_HASH_BYTES), 0, "same head hash after reopen");

    folio_event e = tmpdb_note(1, "after reopen");
    uint64_t seq = tmpdb_append(db, &e);
    cr_assert_eq(seq, 6, "seq continues after the last stored event");
    cr_assert_eq(tmpdb_stream_version(db, 1), 4, "stream 1 had versions 1..3");
    size_t k = 0;
    folio_event *last = tmpdb_read_log(db, 6, 6, &k);
    cr_assert_eq(k, 1);
    cr_assert_geq(last[0].recorded_at_us, before[4].recorded_at_us,
                  "recorded_at never decreases across a reopen");
}

/* ---- ledgers written by an older folio (simulated with LMDB directly) ---- */

/* A ledger with `count` customers ("Customer 1" ...), closed; returns its events. */
static uint64_t write_customers(unsigned count) {
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    for (unsigned i = 1; i <= count; i++) tmpdb_customer(db, tmpdb_strf("Customer %u", i));
    uint64_t events = tmpdb_last_seq(db);
    tmpdb_close(db);
    return events;
}

/* Make the ledger look as if an older folio built projection "directory": either with an
 * older code version (its state says version 0) or before it existed at all (no
 * sub-database and no state). See docs/FORMAT.md for the root key "\0proj.<name>". */
static void age_directory_projection(int remove_it) {
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi root, proj;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
    cr_assert_eq(mdb_env_open(env, tmpdb_ledger_path(), MDB_NOSUBDIR, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &root), 0); /* LMDB's main database */
    MDB_val k = {15, "\0proj.directory"}, v;
    cr_assert_eq(mdb_get(txn, root, &k, &v), 0, "the directory projection has a state record");
    cr_assert_eq(v.mv_size, 12, "state: u32 version, u64 last seq");
    if (remove_it) {
        cr_assert_eq(mdb_del(txn, root, &k, NULL), 0);
        cr_assert_eq(mdb_dbi_open(txn, "proj.directory", 0, &proj), 0);
        cr_assert_eq(mdb_drop(txn, proj, 1), 0);
    } else {
        uint8_t state[12];
        memcpy(state, v.mv_data, 12);
        memset(state, 0, 4); /* code version 0: older than any folio */
        MDB_val nv = {12, state};
        cr_assert_eq(mdb_put(txn, root, &k, &nv, 0), 0);
    }
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* The directory finds customers 1 .. count by name (a query that needs the projection). */
static void assert_customers(folio_db *db, unsigned count) {
    for (unsigned i = 1; i <= count; i++) {
        folio_customer *c = NULL;
        int rc = folio_customer_find(&c, db, tmpdb_strf("Customer %u", i));
        cr_assert_eq(rc, FOLIO_OK, "find: %s (%s)", folio_strerror(rc), folio_errmsg());
        folio_customer_free(c);
    }
}

static int find_rc(folio_db *db) {
    folio_customer *c = NULL;
    int rc = folio_customer_find(&c, db, "Customer 1");
    folio_customer_free(c);
    return rc;
}

Test(open, read_only_open_does_not_rebuild_an_outdated_projection_and_a_write_open_does) {
    uint64_t events = write_customers(3);
    age_directory_projection(0);
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), &ro);
    cr_assert_eq(find_rc(db), FOLIO_EFORMAT, "a query that needs the outdated projection says so");
    size_t n = 0;
    tmpdb_read_log(db, 0, 0, &n); /* the log itself reads fine */
    cr_assert_eq(n, events);
    tmpdb_close(db);

    db = tmpdb_open(tmpdb_ledger_path(), NULL); /* a read-write open rebuilds it */
    assert_customers(db, 3);
    tmpdb_close(db);
    db = tmpdb_open(tmpdb_ledger_path(), &ro);
    assert_customers(db, 3);
}

Test(open, write_open_builds_a_projection_the_ledger_never_had) {
    write_customers(4);
    age_directory_projection(1);
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), NULL);
    assert_customers(db, 4);
    tmpdb_customer(db, "Customer 5");
    assert_customers(db, 5);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, db), FOLIO_OK, "%s", folio_errmsg());
    uint64_t events;
    cr_assert_eq(folio_check(&events, db), FOLIO_OK, "%s", folio_errmsg());
}

/* A ledger written before a projection existed has no "proj.<name>" database: a read-only
 * open still succeeds (the log is readable) and only queries that need the projection report
 * FOLIO_EFORMAT until a read-write open builds it. */
Test(open, read_only_open_of_a_ledger_from_before_a_projection_existed_succeeds) {
    uint64_t events = write_customers(2);
    age_directory_projection(1);
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), &ro);
    size_t n = 0;
    tmpdb_read_log(db, 0, 0, &n);
    cr_assert_eq(n, events);
    cr_assert_eq(find_rc(db), FOLIO_EFORMAT);
    folio_stats st; /* the log's own counts need no projection */
    cr_assert_eq(folio_stats_get(&st, db), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(st.type_counts[FOLIO_EV_CUSTOMER_CREATED], 2);
}
