/*
 * tests/tools/permissions.c - the CLI's FOLIO_GROUP_READ and FOLIO_ALLOW_SHARED_WRITE.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[64];

static int sh(const char *cmd) {
    char full[1024];
    snprintf(full, sizeof full, "cd %s && umask 022 && F=%s && %s", dir, FOLIO_CLI_PATH, cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static unsigned mode_of(const char *name) {
    char p[128];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert_eq(stat(p, &st), 0, "%s missing", name);
    return (unsigned)(st.st_mode & 07777);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/folio-perm-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

TestSuite(permissions_cli, .init = setup, .fini = teardown);

Test(permissions_cli, group_read_creates_a_ledger_a_group_can_read) {
    cr_assert_eq(sh("FOLIO_GROUP_READ=1 $F create Acme > /dev/null"), 0);
    cr_assert_eq(mode_of("folio.db"), 0640);
    cr_assert_eq(mode_of("folio.db-lock"), 0660);
}

Test(permissions_cli, a_world_writable_ledger_is_refused_with_exit_5_unless_allowed) {
    cr_assert_eq(sh("$F create Acme > /dev/null && chmod 666 folio.db"), 0);
    cr_assert_eq(sh("$F verify 2> err.txt"), 5);
    cr_assert_eq(sh("grep -q 'writable by others' err.txt && test $(wc -l < err.txt) -eq 1"), 0);
    cr_assert_eq(sh("FOLIO_ALLOW_SHARED_WRITE=1 $F verify > /dev/null"), 0);
}
