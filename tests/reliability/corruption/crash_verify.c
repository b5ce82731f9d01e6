/*
 * tests/reliability/corruption/crash_verify.c - `folio verify` and `folio check` contain a
 * scan that a damaged LMDB page kills with a signal (issue 7, corruption).
 *
 * The damage: one leaf node of the log is made to say its value lives on an overflow page
 * (F_BIGDATA), that the page is LMDB's last one, and that the value is 65,536 bytes long.
 * LMDB checks only that the page number is in range, so any reader of that seq reads 60 KiB
 * past the end of the file through the memory map and dies from SIGBUS (or SIGSEGV).
 *
 * Checked: (1) the premise - an unprotected folio_verify() in a child process really dies
 * from a signal (so without containment the CLI would crash and this test would fail);
 * (2) `folio verify` exits 4 with one stderr line "folio: verify failed: corruption: the
 * scan crashed (signal N) after seq S-1", where S is the damaged seq; (3) `--json` prints
 * {"ok":false,"events":S-1,"bad_seq":S,"signal":N,"error":...}; (3b) `folio check`, whose
 * replay reads the same seq, exits 4 with one line saying its scan crashed; (4) the pristine
 * copy still verifies. What the other commands do on the damaged copy is printed (not
 * asserted).
 *
 * Usage: crash_verify FOLIO_CLI SCRATCH_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <folio.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static void patch(const char *path, uint64_t off, const void *bytes, size_t n) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) fail("open %s: %s", path, strerror(errno));
    if (pwrite(fd, bytes, n, (off_t)off) != (ssize_t)n) fail("pwrite %s: %s", path, strerror(errno));
    if (close(fd)) fail("close %s: %s", path, strerror(errno));
}

/* folio_verify() on `path` in a child, without any protection. Returns the signal that
 * killed it, or 0 (and *exit_out) if it ended normally. */
static int unprotected_verify(const char *path, int *exit_out) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", strerror(errno));
    if (pid == 0) {
        folio_db *db = NULL;
        folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
        o.read_only = 1;
        if (folio_db_open(&db, path, &o) < 0) _exit(5);
        folio_verify_report r;
        int rc = folio_verify(&r, db);
        folio_db_close(db);
        _exit(rc == FOLIO_OK ? 0 : rc == FOLIO_ECORRUPT ? 4 : 5);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) fail("waitpid: %s", strerror(errno));
    *exit_out = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) fail("usage: crash_verify FOLIO_CLI SCRATCH_DIR");
    const char *cli = argv[1], *dir = argv[2];
    char pristine[4200], damaged[4200], expect[512];
    mkdir(dir, 0700);
    snprintf(pristine, sizeof pristine, "%s/pristine.db", dir);
    snprintf(damaged, sizeof damaged, "%s/damaged.db", dir);
    char **refs = build_ledger(cli, dir, pristine, 30, 300);
    for (char **r = refs; *r; r++) free(*r);
    free(refs);

    log_map m;
    log_map_read(&m, pristine);
    printf("ledger: %llu events, %llu bytes, last page %llu, %zu pages hold events\n",
           (unsigned long long)m.events, (unsigned long long)m.file_bytes,
           (unsigned long long)m.last_pgno, m.page_count);
    /* a seq in the middle whose frame is inline in its leaf node */
    uint64_t seq = 0;
    for (uint64_t s = m.events / 2; s <= m.events && !seq; s++)
        if (!m.big[s - 1]) seq = s;
    if (!seq) fail("no inline frame in the second half of the log");
    uint64_t node = m.node_off[seq - 1];
    if (m.last_pgno * PAGE_BYTES + 16 + 65536 <= m.file_bytes)
        fail("premise: the file (%llu bytes) extends 64 KiB past LMDB's last page %llu",
             (unsigned long long)m.file_bytes, (unsigned long long)m.last_pgno);

    copy_file(pristine, damaged);
    uint16_t size_lo = 0, size_hi = 1, flags = 1; /* 65,536 bytes, F_BIGDATA */
    uint64_t pgno = m.last_pgno;
    patch(damaged, node + 0, &size_lo, 2);
    patch(damaged, node + 2, &size_hi, 2);
    patch(damaged, node + 4, &flags, 2);
    patch(damaged, node + 16, &pgno, 8); /* after the 8-byte header and the 8-byte key */
    printf("damaged seq %llu: leaf node at file offset %llu now says 65536 bytes on page %llu\n",
           (unsigned long long)seq, (unsigned long long)node, (unsigned long long)pgno);
    log_map_free(&m);

    /* (1) the premise: an unprotected scan dies from a signal */
    int code = 0;
    int sig = unprotected_verify(damaged, &code);
    if (!sig)
        fail("premise: unprotected folio_verify() on the damaged copy did not die from a signal "
             "(exit %d); the damage does not crash LMDB here", code);
    printf("unprotected folio_verify(): killed by signal %d (%s)\n", sig, strsignal(sig));

    /* (2) text */
    run_result r = RUN(cli, 60, "--db", damaged, "verify");
    if (r.signal) fail("folio verify was killed by signal %d: not contained", r.signal);
    if (r.status != 4) fail("folio verify exited %d, expected 4; stderr: %s", r.status, r.err);
    if (r.out_len) fail("folio verify printed on stdout: %s", r.out);
    snprintf(expect, sizeof expect,
             "folio: verify failed: corruption: the scan crashed (signal %d) after seq %llu\n",
             sig, (unsigned long long)(seq - 1));
    if (strcmp(r.err, expect) != 0) fail("stderr\n  '%s'\nexpected\n  '%s'", r.err, expect);
    printf("folio verify: exit 4, %s", r.err);
    run_free(&r);

    /* (3) JSON */
    r = RUN(cli, 60, "--db", damaged, "--json", "verify");
    if (r.status != 4) fail("folio --json verify exited %d, expected 4; stderr: %s", r.status, r.err);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    if (!j) fail("--json verify printed no JSON: '%s'", r.out);
    json_t *ok = json_object_get(j, "ok"), *ev = json_object_get(j, "events");
    json_t *bad = json_object_get(j, "bad_seq"), *er = json_object_get(j, "error");
    json_t *sg = json_object_get(j, "signal");
    if (!json_is_false(ok)) fail("ok is not false: %s", r.out);
    if (!json_is_integer(ev) || (uint64_t)json_integer_value(ev) != seq - 1)
        fail("events is not %llu: %s", (unsigned long long)(seq - 1), r.out);
    if (!json_is_integer(bad) || (uint64_t)json_integer_value(bad) != seq)
        fail("bad_seq is not %llu: %s", (unsigned long long)seq, r.out);
    if (!json_is_integer(sg) || json_integer_value(sg) != sig) fail("signal is not %d: %s", sig, r.out);
    if (!json_is_string(er) || !strstr(json_string_value(er), "the scan crashed"))
        fail("error does not say the scan crashed: %s", r.out);
    if (strchr(r.out, '\n') != r.out + r.out_len - 1) fail("JSON is not one line: %s", r.out);
    printf("folio --json verify: exit 4, %s", r.out);
    json_decref(j);
    run_free(&r);

    /* (3b) check replays the same log: its crash is contained the same way */
    r = RUN(cli, 60, "--db", damaged, "check");
    if (r.signal) fail("folio check was killed by signal %d: not contained", r.signal);
    if (r.status != 4) fail("folio check exited %d, expected 4; stderr: %s", r.status, r.err);
    if (!strstr(r.err, "folio: check failed: corruption: the scan crashed") ||
        strchr(r.err, '\n') != r.err + r.err_len - 1)
        fail("folio check did not say, in one line, that its scan crashed: %s", r.err);
    printf("folio check: exit 4, %s", r.err);
    run_free(&r);

    /* (4) the pristine copy verifies, through the same child process */
    r = RUN(cli, 60, "--db", pristine, "verify");
    if (r.status != 0 || strncmp(r.out, "ok: ", 4) != 0)
        fail("pristine verify exited %d: %s%s", r.status, r.out, r.err);
    run_free(&r);

    /* what the other commands do on the damaged copy (reported, not asserted) */
    const char *others[][3] = {{"log", NULL, NULL}, {"check", NULL, NULL},
                               {"show", "K-0015", NULL}, {"stats", NULL, NULL}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        r = run_cli(cli, (const char *const[]){"--db", damaged, others[i][0], others[i][1], NULL}, 60);
        const char *nl = strchr(r.err, '\n');
        printf("  on the damaged copy: folio %s %s -> %s %d%s%.*s\n", others[i][0],
               others[i][1] ? others[i][1] : "", r.signal ? "killed by signal" : "exit",
               r.signal ? r.signal : r.status, r.err_len ? ": " : "",
               (int)(nl ? (size_t)(nl - r.err) : r.err_len), r.err);
        run_free(&r);
    }
    printf("PASS: verify contains a crashing scan\n");
    return 0;
}
