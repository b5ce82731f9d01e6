/*
 * tests/reliability/corruption/contain_unit.c - the CLI's containment helper cli_contain()
 * (tools/cmd_verify.c) on its own: a child killed by a fault signal is reported with the
 * signal and the progress it shared; a normal exit code passes through; output buffered
 * before the fork is written once; a signal that is not a fault (SIGTERM) kills the caller
 * too, as if there were no child.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static int failures;
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL (%s:%d): ", __FILE__, __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static int segv_after_progress(void *arg, cli_mark *m) {
    (void)arg;
    m->done = 41;
    m->total = 100;
    m->located = 7;
    raise(SIGSEGV);
    return 0;
}

static int bus_error(void *arg, cli_mark *m) {
    (void)arg;
    (void)m;
    raise(SIGBUS);
    return 0;
}

static int aborts(void *arg, cli_mark *m) {
    (void)arg;
    m->done = 3;
    abort();
}

static int exits_3(void *arg, cli_mark *m) {
    m->done = *(const uint64_t *)arg + 1;
    return 3;
}

static int sees_mark(void *arg, cli_mark *m) {
    (void)arg;
    return m->done == 12 && m->total == 34 && m->located == 56 ? 0 : 9;
}

static int terminated(void *arg, cli_mark *m) {
    (void)arg;
    (void)m;
    raise(SIGTERM);
    return 0;
}

int main(void) {
    int sig = -1;
    cli_mark m = {0, 0, 0};
    int r = cli_contain(&sig, segv_after_progress, NULL, &m);
    CHECK(r == -1 && sig == SIGSEGV, "SIGSEGV child: returned %d, signal %d", r, sig);
    CHECK(m.done == 41 && m.total == 100 && m.located == 7,
          "the child's progress did not come back: %llu/%llu/%llu", (unsigned long long)m.done,
          (unsigned long long)m.total, (unsigned long long)m.located);

    r = cli_contain(&sig, bus_error, NULL, &m);
    CHECK(r == -1 && sig == SIGBUS, "SIGBUS child: returned %d, signal %d", r, sig);

    m = (cli_mark){0, 0, 0};
    r = cli_contain(&sig, aborts, NULL, &m);
    CHECK(r == -1 && sig == SIGABRT && m.done == 3, "abort(): returned %d, signal %d", r, sig);

    uint64_t arg = 99;
    r = cli_contain(&sig, exits_3, &arg, &m);
    CHECK(r == 3 && sig == 0 && m.done == 100, "exit 3: returned %d, signal %d, done %llu", r,
          sig, (unsigned long long)m.done);

    m = (cli_mark){12, 34, 56};
    r = cli_contain(&sig, sees_mark, NULL, &m);
    CHECK(r == 0 && sig == 0, "the child did not see the caller's mark: returned %d", r);

    /* SIGTERM in the child kills the caller with SIGTERM; and text the caller had buffered
     * before the call is written once, not once per process. */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        printf("buffered-once;");
        int s2 = 0;
        cli_mark m2 = {0, 0, 0};
        cli_contain(&s2, terminated, NULL, &m2);
        printf("survived;");
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    char out[256] = {0};
    size_t n = 0;
    ssize_t got;
    while (n < sizeof out - 1 && (got = read(p[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)got;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "SIGTERM child: the caller ended with status %#x",
          st);
    CHECK(strcmp(out, "buffered-once;") == 0, "output before the call: '%s'", out);

    if (failures) return 1;
    printf("PASS: cli_contain (6 cases)\n");
    return 0;
}
