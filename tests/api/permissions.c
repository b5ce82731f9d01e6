/*
 * tests/api/permissions.c - ledger files are 0600; a reading group gets data 0640 and lock
 * 0660 on request; a data file that group or others may write is refused unless allowed.
 */
#include <criterion/criterion.h>
#include <folio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128], lock[160];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/folio-perm-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/l.db", dir);
    snprintf(lock, sizeof lock, "%s-lock", path);
    umask(022);
}

static void teardown(void) {
    unlink(path);
    unlink(lock);
    rmdir(dir);
}

static unsigned mode_of(const char *p) {
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "%s missing", p);
    return (unsigned)(st.st_mode & 07777);
}

static int open_with(folio_db **db, int group_read, int allow_shared_write) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.group_read = group_read;
    o.allow_shared_write = allow_shared_write;
    return folio_db_open(db, path, &o);
}

TestSuite(permissions, .init = setup, .fini = teardown);

Test(permissions, a_new_ledger_and_its_lock_are_0600) {
    folio_db *db = NULL;
    cr_assert_eq(open_with(&db, 0, 0), FOLIO_OK, "%s", folio_errmsg());
    folio_db_close(db);
    cr_assert_eq(mode_of(path), 0600);
    cr_assert_eq(mode_of(lock), 0600);
}

Test(permissions, group_read_makes_data_0640_and_lock_0660) {
    folio_db *db = NULL;
    cr_assert_eq(open_with(&db, 1, 0), FOLIO_OK, "%s", folio_errmsg());
    folio_db_close(db);
    cr_assert_eq(mode_of(path), 0640);
    cr_assert_eq(mode_of(lock), 0660);
    /* 0640 is not writable by the group: it opens again without any override */
    cr_assert_eq(open_with(&db, 0, 0), FOLIO_OK, "%s", folio_errmsg());
    folio_db_close(db);
}

Test(permissions, a_ledger_writable_by_group_or_others_is_refused_unless_allowed) {
    folio_db *db = NULL;
    cr_assert_eq(open_with(&db, 0, 0), FOLIO_OK);
    folio_db_close(db);
    const unsigned bad[] = {0660, 0606, 0666};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(chmod(path, bad[i]), 0);
        db = NULL;
        cr_assert_eq(open_with(&db, 0, 0), FOLIO_ERROR, "mode %04o was accepted", bad[i]);
        cr_assert_null(db);
        cr_assert(strstr(folio_errmsg(), "writable") != NULL, "%s", folio_errmsg());
        folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
        ro.read_only = 1;
        cr_assert_eq(folio_db_open(&db, path, &ro), FOLIO_ERROR, "read-only opens check too");
        cr_assert_eq(open_with(&db, 0, 1), FOLIO_OK, "the override opens it: %s", folio_errmsg());
        folio_db_close(db);
        cr_assert_eq(mode_of(path), bad[i], "opening must not change the mode");
    }
}
