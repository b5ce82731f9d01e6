/*
 * tools/cmd_verify.c - `folio verify`: the integrity walk; exit 4 naming the first bad seq.
 *
 * LMDB keeps no checksums on its pages, and a damaged page can make it read outside the
 * memory map: the reading process dies from SIGSEGV or SIGBUS. So the walk runs in a child
 * process (cli_contain) that opens the ledger itself (no folio handle crosses the fork). It
 * prints its own result; if a signal kills it instead, a second child reads the log event by
 * event with the ordinary iterator from the walk's last progress report, to find the last seq
 * that can be read, and the CLI reports the crash as corruption (exit 4) naming that seq.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

int cli_contain(int *sig_out, int (*fn)(void *arg, cli_mark *mark), void *arg,
                cli_mark *mark) {
    *sig_out = 0;
    cli_mark *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return cli_fail(FOLIO_ERROR, "cannot map shared memory");
    *shared = *mark;
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        munmap(shared, sizeof *shared);
        return cli_fail(FOLIO_ERROR, "cannot start the scan process");
    }
    if (pid == 0) {
        /* exit, not _exit: the child is where the work happened, so a leak checker that
         * runs at exit (LeakSanitizer) must run here; the CLI registers no atexit. */
        exit(fn(arg, shared));
    }
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {}
    *mark = *shared;
    munmap(shared, sizeof *shared);
    if (w < 0) return cli_fail(FOLIO_ERROR, "lost the scan process");
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE && sig != SIGABRT &&
        sig != SIGSYS) {
        /* Not a fault of the read (SIGINT, SIGTERM, SIGKILL, SIGPIPE): die the same way. */
        signal(sig, SIG_DFL);
        raise(sig);
        _exit(128 + sig);
    }
    *sig_out = sig;
    return -1;
}

static void mark_progress(void *payload, const char *what, uint64_t done, uint64_t total) {
    cli_mark *m = payload;
    m->done = done;
    m->total = total;
    if (isatty(STDERR_FILENO)) cli_progress(NULL, what, done, total);
}

static int open_read_only(folio_db **db, const cli_ctx *c) {
    /* Read-only: opening for writing would first bring projections up to date, and on a
     * damaged log that fails before verify can name the bad seq. */
    folio_open_opts opts = FOLIO_OPEN_OPTS_INIT;
    opts.read_only = 1;
    cli_env_opts(&opts);
    int rc = folio_db_open(db, c->db_path, &opts);
    return rc < 0 ? cli_fail(rc, NULL) : 0;
}

/* Does msg name "seq N" (not the start of a longer number)? */
static int names_seq(const char *msg, uint64_t seq) {
    char needle[32];
    size_t n = (size_t)snprintf(needle, sizeof needle, "seq %llu", (unsigned long long)seq);
    for (const char *p = strstr(msg, needle); p; p = strstr(p + 1, needle))
        if (p[n] < '0' || p[n] > '9') return 1;
    return 0;
}

/* The failure on stderr, naming the first bad seq (SPEC section 6) also when the message has
 * none (an index check: a stream-count mismatch, an idempotency record naming no events). */
static int fail_naming_seq(int rc, uint64_t bad_seq) {
    const char *msg = folio_errmsg();
    if (bad_seq == 0 || !msg || names_seq(msg, bad_seq)) return cli_fail(rc, "verify failed");
    char what[64];
    snprintf(what, sizeof what, "verify failed at seq %llu", (unsigned long long)bad_seq);
    return cli_fail(rc, what);
}

/* The child of the walk: what `folio verify` always printed. */
static int verify_scan(void *arg, cli_mark *mark) {
    const cli_ctx *c = arg;
    folio_db *db = NULL;
    folio_verify_report r;
    char hex[2 * FOLIO_HASH_BYTES + 1];
    int code = open_read_only(&db, c);
    if (code) return code;
    folio_set_progress(db, mark_progress, mark);
    int rc = folio_verify(&r, db);
    cli_progress_end();
    folio_hash_hex(hex, r.head);
    if (rc == FOLIO_OK) {
        if (c->json)
            printf("{\"ok\":true,\"events\":%llu,\"streams\":%llu,\"head\":\"%s\"}\n",
                   (unsigned long long)r.events, (unsigned long long)r.streams, hex);
        else
            printf("ok: %llu events in %llu streams, head %s\n", (unsigned long long)r.events,
                   (unsigned long long)r.streams, hex);
    } else if (rc == FOLIO_ECORRUPT) {
        if (c->json) {
            printf("{\"ok\":false,\"events\":%llu,\"bad_seq\":%llu,\"error\":",
                   (unsigned long long)r.events, (unsigned long long)r.bad_seq);
            cli_json_string(stdout, folio_errmsg());
            printf("}\n");
        }
        code = fail_naming_seq(rc, r.bad_seq);
    } else {
        code = cli_fail(rc, "verify");
    }
    folio_db_close(db);
    return code;
}

/* The child that locates a crash: read the log one event at a time from mark->done + 1
 * with the ordinary iterator (one event per iterator, as it reads ahead in batches),
 * recording each seq read. It dies where the walk died, or stops at the end or at a checked
 * failure, which then tells nothing more than the walk's progress. */
static int locate_scan(void *arg, cli_mark *mark) {
    const cli_ctx *c = arg;
    folio_db *db = NULL;
    const folio_event *e;
    if (open_read_only(&db, c)) return EXIT_SYSTEM;
    int rc = FOLIO_OK;
    for (uint64_t seq = mark->done + 1; rc == FOLIO_OK; seq++) {
        folio_iter *it = NULL;
        rc = folio_log_open(&it, db, seq, seq);
        if (rc == FOLIO_OK) rc = folio_iter_next(&e, it);
        if (rc == FOLIO_OK) mark->located = e->seq;
        folio_iter_free(it);
    }
    folio_db_close(db);
    return rc == FOLIO_ITEROVER ? 0 : EXIT_INTEGRITY;
}

int cmd_verify(cli_ctx *c) {
    if (c->argc > 1) return cli_bad_arg(c, 1); /* takes none */
    cli_mark mark = {0, 0, 0};
    int sig = 0;
    int code = cli_contain(&sig, verify_scan, c, &mark);
    if (!sig) return code;
    /* The walk died from a signal: a damaged page. Find the last seq that reads. */
    cli_mark where = {mark.done, mark.total, 0};
    int sig2 = 0;
    cli_contain(&sig2, locate_scan, c, &where);
    uint64_t good = mark.done, bad;
    if (sig2 && where.located > good) good = where.located;
    if (sig2 || !(mark.total && mark.done == mark.total)) {
        bad = good + 1; /* died inside the walk: the next seq is the first not verified */
    } else {
        bad = good; /* every event read: an index check died; name the last event, as the
                       walk names an index defect */
    }
    char msg[160];
    snprintf(msg, sizeof msg, "corruption: the scan crashed (signal %d) after seq %llu", sig,
             (unsigned long long)good);
    if (c->json) {
        printf("{\"ok\":false,\"events\":%llu,\"bad_seq\":%llu,\"signal\":%d,\"error\":",
               (unsigned long long)good, (unsigned long long)bad, sig);
        cli_json_string(stdout, msg);
        printf("}\n");
    }
    cli_error("verify failed: %s", msg);
    return EXIT_INTEGRITY;
}
