/*
 * tests/reliability/fuzz/fuzz_common.h - what the libFuzzer targets share (issue 7, hostile
 * bytes): a per-process scratch directory, whole-file reads and writes, the folio CLI run
 * in-process, and a template ledger that a target copies back before every input.
 *
 * The CLI sources are compiled into the fuzz binaries with -Dmain=folio_cli_main (run.sh),
 * so a target runs `folio ...` as a function call against a scratch ledger. The scratch
 * directory is $FOLIO_FUZZ_SCRATCH/<target>.XXXXXX (default /tmp); it is removed at exit.
 * Static functions only: each target is one translation unit plus the engine and the CLI.
 */
#ifndef FOLIO_FUZZ_COMMON_H
#define FOLIO_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <folio.h>
#include <sanitizer/lsan_interface.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int folio_cli_main(int argc, char **argv); /* tools/main.c compiled with -Dmain=... */

static char fz_dir[512];
static pid_t fz_owner; /* the process that made fz_dir: a forked child must not remove it */

/* Stop the process with a clear message: a broken harness is not a finding. */
static void fz_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fz_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz harness: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void fz_path(char *out, size_t cap, const char *name) {
    int n = snprintf(out, cap, "%s/%s", fz_dir, name);
    if (n < 0 || (size_t)n >= cap) fz_die("path %s/%s too long", fz_dir, name);
}

static void fz_remove_dir(void) {
    static const char *const names[] = {"ledger.db", "ledger.db-lock", "ledger.db.restoring",
                                        "ledger.db.restoring-lock", "input", "template.db",
                                        "template.db-lock", NULL};
    char p[600];
    if (!fz_dir[0] || getpid() != fz_owner) return;
    for (int i = 0; names[i]; i++) {
        fz_path(p, sizeof p, names[i]);
        unlink(p);
    }
    if (rmdir(fz_dir) != 0 && errno != ENOENT)
        fprintf(stderr, "fuzz harness: cannot remove %s: %s\n", fz_dir, strerror(errno));
}

/* Make this process's scratch directory; chdir into it when `enter` (the CLI target, whose
 * relative paths must stay inside it). */
static void fz_scratch_init(const char *target, int enter) {
    const char *base = getenv("FOLIO_FUZZ_SCRATCH");
    if (!base || !*base) base = "/tmp";
    int n = snprintf(fz_dir, sizeof fz_dir, "%s/folio-fuzz-%s.XXXXXX", base, target);
    if (n < 0 || (size_t)n >= sizeof fz_dir) fz_die("scratch path too long");
    if (!mkdtemp(fz_dir)) fz_die("mkdtemp %s: %s", fz_dir, strerror(errno));
    fz_owner = getpid();
    atexit(fz_remove_dir);
    if (enter && chdir(fz_dir) != 0) fz_die("chdir %s: %s", fz_dir, strerror(errno));
    /* The CLI must not ask the password database for a name, nor read a terminal. */
    setenv("FOLIO_ACTOR", "fuzz", 1);
    unsetenv("FOLIO_DB");
    unsetenv("FOLIO_GROUP_READ");
    unsetenv("FOLIO_ALLOW_SHARED_WRITE");
    if (!freopen("/dev/null", "r", stdin)) fz_die("stdin: %s", strerror(errno));
    if (!freopen("/dev/null", "w", stdout)) fz_die("stdout: %s", strerror(errno));
}

static void fz_write(const char *path, const void *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) fz_die("open %s: %s", path, strerror(errno));
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fz_die("write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    if (close(fd) != 0) fz_die("close %s: %s", path, strerror(errno));
}

/* The whole file, malloc'd; *n_out its length. */
static uint8_t *fz_read(const char *path, size_t *n_out) {
    FILE *f = fopen(path, "rb");
    if (!f) fz_die("open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) fz_die("out of memory");
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) fz_die("out of memory");
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) fz_die("read %s", path);
    fclose(f);
    *n_out = n;
    return buf;
}

/* `folio verify` scans in a forked child that ends with exit(). In a fuzz process that
 * exit would reach libFuzzer's exit hook ("fuzz target exited": the child inherits the
 * state of a running input) and this file's scratch cleanup. run.sh links every target with
 * -Wl,--wrap=exit, so exit() comes here: in the process that made the scratch directory it
 * is the real exit; in a forked child it does what exit() would for the child's result
 * (flush stdio, LeakSanitizer's check, which dies on a leak) and then _exit. */
void __real_exit(int status) __attribute__((noreturn));
void __wrap_exit(int status) __attribute__((noreturn));
void __wrap_exit(int status) {
    if (fz_owner == 0 || getpid() == fz_owner) __real_exit(status);
    fflush(NULL);
    __lsan_do_leak_check();
    _exit(status);
}

/* Run `folio ARGS...` in-process (NULL-terminated); returns its exit code. */
static int fz_cli(const char *first, ...) {
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"folio";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        if (argc >= 63) fz_die("too many arguments");
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    return folio_cli_main(argc, argv);
}

static uint8_t *fz_template;
static size_t fz_template_bytes;

/* Build the template ledger once: the demo (settings, a customer with a contact, invoices,
 * a payment, a merge, a hold), two more customers in other currencies, documents on them. */
static void fz_template_init(void) {
    char db[600], lock[600];
    fz_path(db, sizeof db, "template.db");
    fz_path(lock, sizeof lock, "template.db-lock");
    int rc = fz_cli("--db", db, "demo", NULL);
    if (rc) fz_die("template: demo exited %d", rc);
    rc = fz_cli("--db", db, "create", "Kobe Foods", "--currency", "JPY", "--status", "active",
                NULL);
    if (rc) fz_die("template: create exited %d", rc);
    rc = fz_cli("--db", db, "create", "Manama Oil", "--currency", "BHD", NULL);
    if (rc) fz_die("template: create exited %d", rc);
    rc = fz_cli("--db", db, "invoice", "CUST-000003", "12000", "--doc", "INV-J1", "--date",
                "2026-01-15", "--due", "2026-02-15", NULL);
    if (rc) fz_die("template: invoice exited %d", rc);
    rc = fz_cli("--db", db, "pay", "CUST-000003", "5000", "--doc", "PAY-J1", "--date",
                "2026-01-20", "--auto", NULL);
    if (rc) fz_die("template: pay exited %d", rc);
    rc = fz_cli("--db", db, "invoice", "CUST-000004", "10.125", "--doc", "INV-B1", NULL);
    if (rc) fz_die("template: invoice exited %d", rc);
    fz_template = fz_read(db, &fz_template_bytes);
    unlink(db);
    unlink(lock);
}

/* Put the template back at `path` (the ledger must be closed). */
static void fz_template_reset(const char *path) {
    if (!fz_template) fz_die("template not built");
    fz_write(path, fz_template, fz_template_bytes);
}

#endif /* FOLIO_FUZZ_COMMON_H */
