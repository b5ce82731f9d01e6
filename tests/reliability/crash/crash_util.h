/*
 * tests/reliability/crash/crash_util.h - small helpers shared by the crash harnesses
 * (issue 7, crash): a seeded random generator, clocks, running the `folio` CLI as a child
 * process (with its output captured), and the failure report.
 *
 * Header-only (static functions): each harness is one executable. The harnesses never hold
 * a folio_db across fork(): the parent process opens no ledger at all; every look at a
 * ledger happens in a fresh child process (a forked child that opens it, or the CLI).
 */
#ifndef CRASH_UTIL_H
#define CRASH_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The seed of the run, printed at the start and in every failure message. */
static uint64_t crash_seed;

/* Print a failure (with the seed, so it can be replayed) and stop the whole harness. */
static void crash_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void crash_fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  (reproduce with FOLIO_CRASH_SEED=%" PRIu64 ")\n", crash_seed);
    fflush(stderr);
    exit(1);
}

/* ---- random numbers: splitmix64, enough for test plans ---- */
typedef struct {
    uint64_t s;
} crash_rng;

static uint64_t rng_next(crash_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint64_t rng_below(crash_rng *r, uint64_t n) { return rng_next(r) % n; }

/* Uniform in [lo, hi]. */
static int64_t rng_range(crash_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo + 1));
}

/* The seed: FOLIO_CRASH_SEED if set, else from the clock and the pid. */
static uint64_t crash_seed_init(void) {
    const char *s = getenv("FOLIO_CRASH_SEED");
    if (s && *s) {
        crash_seed = strtoull(s, NULL, 10);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        crash_seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
                     ((uint64_t)getpid() << 20);
        crash_seed %= 1000000000000ull;
    }
    return crash_seed;
}

/* FOLIO_LONG=1 selects the long mode. */
static int crash_long_mode(void) {
    const char *s = getenv("FOLIO_LONG");
    return s && strcmp(s, "1") == 0;
}

/* An unsigned number from the environment, or `def`. */
static uint64_t crash_env_u64(const char *name, uint64_t def) {
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : def;
}

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us) {
    if (us <= 0) return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ---- child processes ---- */

/* Start `argv[0]` with stdout (and stderr when `err_to_out`) sent to the file `out_path`
 * (NULL: /dev/null). Returns the pid; fails the harness if fork fails. */
static pid_t crash_spawn(char *const argv[], const char *out_path, int err_to_out) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) crash_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(126);
        if (dup2(fd, 1) < 0) _exit(126);
        if (err_to_out && dup2(fd, 2) < 0) _exit(126);
        close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Wait for `pid`; returns its exit code, or 128 + signal. */
static int crash_wait(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) crash_fail("waitpid: %s", strerror(errno));
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 255;
}

/* Read a whole (small) file into a malloc'd NUL-terminated string; "" when missing. */
static char *crash_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    if (!s) crash_fail("out of memory");
    if (f) {
        size_t k;
        while ((k = fread(s + n, 1, cap - n - 1, f)) > 0) {
            n += k;
            if (cap - n - 1 == 0) {
                cap *= 2;
                char *t = realloc(s, cap);
                if (!t) crash_fail("out of memory");
                s = t;
            }
        }
        fclose(f);
    }
    s[n] = '\0';
    return s;
}

/* Run the CLI to completion: `folio --db DB args...` (NULL-terminated list). Its stdout and
 * stderr go to `out_path` (NULL: discarded). Returns the exit code. */
static int crash_cli(const char *folio, const char *db, const char *out_path, ...) {
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)folio;
    argv[n++] = (char *)"--db";
    argv[n++] = (char *)db;
    va_list ap;
    va_start(ap, out_path);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31) argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return crash_wait(crash_spawn(argv, out_path, 1));
}

/* `folio verify` and `folio check` must both exit 0; `what` says when (for the message). */
static void crash_verify_and_check(const char *folio, const char *db, const char *scratch_out,
                                   const char *what) {
    int rc = crash_cli(folio, db, scratch_out, "verify", (const char *)NULL);
    if (rc != 0) {
        char *o = crash_slurp(scratch_out);
        crash_fail("%s: `folio verify` exited %d: %s", what, rc, o);
    }
    rc = crash_cli(folio, db, scratch_out, "check", (const char *)NULL);
    if (rc != 0) {
        char *o = crash_slurp(scratch_out);
        crash_fail("%s: `folio check` exited %d: %s", what, rc, o);
    }
}

/* Remove a ledger (PATH and PATH-lock). */
static void crash_remove_ledger(const char *db) {
    char lock[4096];
    int n = snprintf(lock, sizeof lock, "%s-lock", db);
    if (n < 0 || (size_t)n >= sizeof lock) crash_fail("ledger path too long: %s", db);
    unlink(db);
    unlink(lock);
}

#endif /* CRASH_UTIL_H */
