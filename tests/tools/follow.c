/*
 * tests/tools/follow.c - `folio log --follow`: sees another process's commit, ends cleanly
 * on SIGINT and on a closed pipe.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/folio-follow-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd %s && %s create 'Tail Ltd' >/dev/null", dir, FOLIO_CLI_PATH);
    cr_assert_eq(system(cmd), 0);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

TestSuite(follow, .init = setup, .fini = teardown, .timeout = 30);

static size_t count_lines(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (!needle || strstr(line, needle)) n++;
    fclose(f);
    return n;
}

Test(follow, sees_a_commit_of_another_process_and_ends_on_sigint) {
    char out[128], db[128];
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    snprintf(db, sizeof db, "%s/folio.db", dir);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        FILE *f = freopen(out, "w", stdout);
        if (!f) _exit(99);
        execl(FOLIO_CLI_PATH, "folio", "--db", db, "--json", "log", "--follow", (char *)NULL);
        _exit(98);
    }
    /* Wait until it printed what was there, then commit from another process. */
    for (int i = 0; i < 200 && count_lines(out, NULL) < 3; i++) usleep(20000);
    cr_assert_eq(count_lines(out, NULL), 3, "the existing events (settings, created, currency)");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s --db %s note CUST-000001 'written while tailing' >/dev/null",
             FOLIO_CLI_PATH, db);
    cr_assert_eq(system(cmd), 0);
    for (int i = 0; i < 250 && count_lines(out, "written while tailing") < 1; i++) usleep(20000);
    cr_assert_eq(count_lines(out, "written while tailing"), 1, "the tail did not see the commit");
    cr_assert_eq(kill(pid, SIGINT), 0);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGINT should end it with exit 0");
}

Test(follow, ends_by_itself_when_the_reader_of_its_pipe_goes_away) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cd %s && timeout 10 %s log --follow | head -2 > head.out; "
             "test ${PIPESTATUS[0]} -eq 0", dir, FOLIO_CLI_PATH);
    char full[700];
    snprintf(full, sizeof full, "bash -c '%s'", cmd);
    /* single quotes inside: the command has none */
    cr_assert_eq(system(full), 0, "folio log --follow | head did not end by itself with exit 0");
    char path[128];
    snprintf(path, sizeof path, "%s/head.out", dir);
    cr_assert_eq(count_lines(path, NULL), 2);
}
