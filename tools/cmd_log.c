/*
 * tools/cmd_log.c - `folio log [--from SEQ] [--limit N] [--follow]`: events in seq order, one
 * a line. --follow keeps printing events that other processes commit, polling with back-off
 * (10 ms up to 500 ms; LMDB readers never block the writer), until SIGINT, SIGTERM or a closed
 * pipe (`folio log --follow | head -3` ends by itself), each of which ends it with exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop_following;

/* Export: the keys of keyed requests that changed nothing (folio_idem_answers), one line
 * each after the events, for the events exported (docs/EXPORT.md, "Answers"). */
typedef struct {
    uint64_t from, to;
} answer_range;

static int print_answer(void *payload, const folio_idem_answer *a) {
    const answer_range *r = payload;
    if (a->seq < r->from || a->seq > r->to) return 0;
    printf("{\"answer_seq\":%llu,\"idempotency_key\":", (unsigned long long)a->seq);
    cli_json_string(stdout, a->idempotency_key);
    fputs(",\"request_hash\":\"", stdout);
    cli_hex(stdout, a->request_hash, FOLIO_HASH_BYTES);
    fputs("\"}\n", stdout);
    return 0;
}

static void on_stop(int sig) {
    (void)sig;
    stop_following = 1;
}

/* Print events from `from` on; returns the next seq to read, or 0 after an error (code set). */
static uint64_t print_from(folio_db *db, const cli_ctx *c, uint64_t from, uint64_t *left,
                           int *code) {
    folio_iter *it = NULL;
    const folio_event *e;
    uint64_t next = from, ref_stream = UINT64_MAX;
    char ref[FOLIO_REF_BYTES_MAX + 1] = "";
    int have_ref = 0;
    int rc = folio_log_open(&it, db, from, 0);
    while (rc == FOLIO_OK && (*left == 0 || *left > 1) && !stop_following) {
        rc = folio_iter_next(&e, it);
        if (rc != FOLIO_OK) break;
        if (e->stream != ref_stream) { /* one lookup per run of events of one stream */
            ref_stream = e->stream;
            int r = folio_customer_ref(ref, db, e->stream);
            if (r < 0 && r != FOLIO_ENOTFOUND && r != FOLIO_EFORMAT) {
                rc = r;
                break;
            }
            have_ref = r == FOLIO_OK;
        }
        rc = cli_print_history_item(stdout, e, c->json || c->export_mode, 1, have_ref ? ref : NULL,
                                    c->export_mode ? it : NULL);
        next = e->seq + 1;
        if (c->export_mode && (e->seq & 65535u) == 0 && isatty(STDERR_FILENO))
            cli_progress(NULL, "export", e->seq, 0);
        if (*left) (*left)--;
    }
    folio_iter_free(it);
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
    if (rc < 0) {
        *code = cli_fail(rc, "log");
        return 0;
    }
    return next;
}

int cmd_log(cli_ctx *c) {
    uint64_t from = 1, limit = 0;
    int follow = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *v;
        int r;
        if (cli_flag(c, i, "--follow")) {
            follow = 1;
        } else if ((r = cli_opt(&v, c, &i, "--from")) != 0) {
            if (r < 0) return EXIT_USAGE;
            if (cli_parse_u64(&from, v) != 0 || from == 0)
                return cli_usage("--from needs a seq (1 or more), not '%s'", v);
        } else if ((r = cli_opt(&v, c, &i, "--limit")) != 0) {
            if (r < 0) return EXIT_USAGE;
            if (cli_parse_u64(&limit, v) != 0 || limit == 0)
                return cli_usage("--limit needs a number of events (1 or more), not '%s'", v);
        } else {
            return cli_bad_arg(c, i);
        }
    }
    folio_db *db = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    /* `left` counts down from limit + 1 so that 0 can mean "no limit". */
    uint64_t left = limit ? limit + 1 : 0;
    if (follow) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN); /* a closed pipe shows up as a write error: stop quietly */
    }
    uint64_t next = print_from(db, c, from, &left, &code);
    if (c->export_mode && next > from) {
        answer_range range = {from, next - 1};
        int rc = folio_idem_answers(db, print_answer, &range);
        if (rc != FOLIO_OK) code = cli_fail(rc, "export");
    }
    long wait_ms = 10;
    while (follow && next && !stop_following && left != 1) {
        if (fflush(stdout) != 0 || ferror(stdout)) break; /* the reader went away */
        /* Wait, but wake at once if stdout's reader goes away (a pipe reports POLLERR). */
        struct pollfd out = {STDOUT_FILENO, 0, 0};
        if (poll(&out, 1, (int)wait_ms) > 0 && (out.revents & (POLLERR | POLLHUP))) break;
        uint64_t after = print_from(db, c, next, &left, &code);
        wait_ms = after != next ? 10 : (wait_ms * 2 > 500 ? 500 : wait_ms * 2);
        next = after;
    }
    if (c->export_mode) cli_progress_end();
    folio_db_close(db);
    if (follow && code == 0) {
        clearerr(stdout);
        if (fflush(stdout) != 0 && errno == EPIPE) return 0;
    }
    return code;
}
