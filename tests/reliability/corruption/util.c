/*
 * tests/reliability/corruption/util.c - see util.h.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const char *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) fail("out of memory");
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

run_result run_cli(const char *cli, const char *const *args, int timeout_s) {
    run_result r = {0};
    int po[2], pe[2];
    if (pipe(po) || pipe(pe)) fail("pipe: %s", strerror(errno));
    size_t n = 0;
    while (args[n]) n++;
    const char **argv = calloc(n + 2, sizeof *argv);
    if (!argv) fail("out of memory");
    argv[0] = cli;
    for (size_t i = 0; i < n; i++) argv[i + 1] = args[i];
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0) _exit(126);
        close(po[0]);
        close(pe[0]);
        execv(cli, (char *const *)argv);
        _exit(127);
    }
    free(argv);
    close(po[1]);
    close(pe[1]);
    buf out = {0}, err = {0};
    buf_add(&out, "", 0);
    buf_add(&err, "", 0);
    double deadline = now_s() + timeout_s;
    int open_fds = 2;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    while (open_fds > 0) {
        double left = deadline - now_s();
        if (left <= 0) {
            kill(pid, SIGKILL);
            r.timeout = 1;
            break;
        }
        int k = poll(fds, 2, (int)(left * 1000) + 1);
        if (k < 0 && errno != EINTR) fail("poll: %s", strerror(errno));
        for (int i = 0; i < 2 && k > 0; i++) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            char tmp[65536];
            ssize_t got = read(fds[i].fd, tmp, sizeof tmp);
            if (got > 0) {
                buf_add(i == 0 ? &out : &err, tmp, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail("waitpid: %s", strerror(errno));
    if (WIFEXITED(status)) {
        r.status = WEXITSTATUS(status);
    } else {
        r.signal = WTERMSIG(status);
        r.status = 128 + r.signal;
    }
    if (r.timeout) r.signal = 0;
    r.out = out.data;
    r.out_len = out.len;
    r.err = err.data;
    r.err_len = err.len;
    return r;
}

void run_free(run_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    buf_add(&b, "", 0);
    char tmp[65536];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0) buf_add(&b, tmp, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b.data);
        return NULL;
    }
    if (len) *len = b.len;
    return b.data;
}

void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) fail("cannot create %s: %s", path, strerror(errno));
    if (len && fwrite(data, 1, len, f) != len) fail("cannot write %s", path);
    if (fclose(f)) fail("cannot close %s: %s", path, strerror(errno));
}

void copy_file(const char *from, const char *to) {
    size_t len;
    char *d = read_file(from, &len);
    if (!d) fail("cannot read %s: %s", from, strerror(errno));
    write_file(to, d, len);
    free(d);
}

void remove_ledger(const char *path) {
    char lock[4200];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(path);
    unlink(lock);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define MDB_CHECK(call)                                                                   \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        if (rc_) fail("%s: %s", #call, mdb_strerror(rc_));                                \
    } while (0)

void log_map_read(log_map *m, const char *path) {
    memset(m, 0, sizeof *m);
    struct stat st;
    if (stat(path, &st)) fail("stat %s: %s", path, strerror(errno));
    m->file_bytes = (uint64_t)st.st_size;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_envinfo info;
    MDB_CHECK(mdb_env_create(&env));
    MDB_CHECK(mdb_env_set_maxdbs(env, 64));
    MDB_CHECK(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600));
    MDB_CHECK(mdb_env_info(env, &info));
    m->last_pgno = (uint64_t)info.me_last_pgno;
    const char *base = NULL; /* the map's address, from the first leaf page's own number */
    MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    MDB_CHECK(mdb_dbi_open(txn, "log", 0, &dbi));
    MDB_stat ds;
    MDB_CHECK(mdb_stat(txn, dbi, &ds));
    size_t cap = ds.ms_entries + 1;
    m->node_off = calloc(cap, sizeof *m->node_off);
    m->big = calloc(cap, 1);
    m->frame_len = calloc(cap, sizeof *m->frame_len);
    m->data_off = calloc(cap, sizeof *m->data_off);
    size_t pcap = 1024, pn = 0;
    m->pages = malloc(pcap * sizeof *m->pages);
    if (!m->node_off || !m->big || !m->frame_len || !m->data_off || !m->pages) fail("out of memory");
    MDB_CHECK(mdb_cursor_open(txn, dbi, &cur));
    int rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (m->events >= cap) fail("log has more entries than mdb_stat said");
        const char *node = (const char *)k.mv_data - 8;
        if (!base) {
            const char *page = (const char *)((uintptr_t)node & ~(uintptr_t)(PAGE_BYTES - 1));
            uint64_t pgno;
            memcpy(&pgno, page, 8); /* MDB_page starts with its page number */
            base = page - pgno * PAGE_BYTES;
        }
        uint64_t i = m->events++;
        m->node_off[i] = (uint64_t)(node - base);
        uint16_t flags;
        memcpy(&flags, node + 4, 2);
        m->big[i] = (flags & 1) != 0; /* F_BIGDATA */
        m->frame_len[i] = (uint32_t)v.mv_size;
        m->data_off[i] = (uint64_t)((const char *)v.mv_data - base);
        uint64_t first = (uint64_t)(node - base) / PAGE_BYTES;
        uint64_t last = (uint64_t)((const char *)v.mv_data + v.mv_size - 1 - base) / PAGE_BYTES;
        if (m->big[i]) { /* the leaf page, then the overflow pages */
            first = (uint64_t)((const char *)v.mv_data - base) / PAGE_BYTES;
            if (pn + 1 > pcap) m->pages = realloc(m->pages, (pcap *= 2) * sizeof *m->pages);
            m->pages[pn++] = (uint64_t)(node - base) / PAGE_BYTES;
        }
        for (uint64_t p = first; p <= last; p++) {
            if (pn + 1 > pcap) m->pages = realloc(m->pages, (pcap *= 2) * sizeof *m->pages);
            if (!m->pages) fail("out of memory");
            m->pages[pn++] = p;
        }
    }
    if (rc != MDB_NOTFOUND) fail("reading the log of %s: %s", path, mdb_strerror(rc));
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    qsort(m->pages, pn, sizeof *m->pages, cmp_u64);
    size_t w = 0;
    for (size_t i = 0; i < pn; i++)
        if (w == 0 || m->pages[w - 1] != m->pages[i]) m->pages[w++] = m->pages[i];
    m->page_count = w;
}

void log_map_free(log_map *m) {
    free(m->node_off);
    free(m->big);
    free(m->frame_len);
    free(m->data_off);
    free(m->pages);
    memset(m, 0, sizeof *m);
}

static void cli_ok(const char *cli, const char *const *args) {
    run_result r = run_cli(cli, args, 120);
    if (r.status != 0) {
        fprintf(stderr, "FAIL: command:");
        for (size_t i = 0; args[i]; i++) fprintf(stderr, " %s", args[i]);
        fputc('\n', stderr);
        fail("exited %d: %s%s", r.status, r.err, r.timeout ? " (timed out)" : "");
    }
    run_free(&r);
}
#define CLI_OK(cli, ...) cli_ok((cli), (const char *const[]){__VA_ARGS__, NULL})

char **build_ledger(const char *cli, const char *dir, const char *path, unsigned customers,
                    unsigned docs) {
    char csv[4200], line[512], ref[32], ref2[32], amount[32];
    remove_ledger(path);
    CLI_OK(cli, "--db", path, "--actor", "setup", "demo");
    char **refs = calloc(customers + 2, sizeof *refs);
    if (!refs) fail("out of memory");
    refs[0] = strdup("CUST-000001");
    /* customers */
    buf b = {0};
    buf_add(&b, "", 0);
    const char *hdr = "name,ref,type,status,currency,credit_limit,owner,email,billing_city\n";
    buf_add(&b, hdr, strlen(hdr));
    for (unsigned i = 0; i < customers; i++) {
        snprintf(ref, sizeof ref, "K-%04u", i + 1);
        refs[i + 1] = strdup(ref);
        snprintf(line, sizeof line, "Customer %u Ltd,%s,%s,active,%s,%s,%s,c%u@example.com,City %u\n",
                 i + 1, ref, i % 3 ? "business" : "person", i % 4 ? "USD" : "EUR",
                 i % 5 ? "100000.00" : "", i % 2 ? "alice" : "bob", i + 1, i % 7);
        buf_add(&b, line, strlen(line));
    }
    snprintf(csv, sizeof csv, "%s/customers.csv", dir);
    write_file(csv, b.data, b.len);
    CLI_OK(cli, "--db", path, "--actor", "import", "import", "customers", csv);
    /* documents: per customer invoice, payment, credit note in turn */
    b.len = 0;
    hdr = "kind,customer,doc,amount,date,due\n";
    buf_add(&b, hdr, strlen(hdr));
    for (unsigned i = 0; i < docs; i++) {
        unsigned c = i % customers;
        const char *kind = i / customers % 3 == 2 ? "payment" : i / customers % 3 == 1 ? "credit_note" : "invoice";
        snprintf(amount, sizeof amount, "%u.%02u", 10 + (i * 37) % 900, (i * 13) % 100);
        snprintf(line, sizeof line, "%s,K-%04u,D-%06u,%s,2026-%02u-%02u,%s\n", kind, c + 1, i + 1,
                 kind[0] == 'c' ? "1.00" : amount, 1 + i * 11 / (docs + 1), 1 + i % 28,
                 kind[0] == 'i' ? "2026-12-31" : "");
        buf_add(&b, line, strlen(line));
    }
    snprintf(csv, sizeof csv, "%s/documents.csv", dir);
    write_file(csv, b.data, b.len);
    CLI_OK(cli, "--db", path, "--actor", "import", "import", "documents", csv);
    free(b.data);
    /* single commands */
    for (unsigned i = 0; i < customers && i < 12; i++) {
        snprintf(ref, sizeof ref, "K-%04u", i + 1);
        snprintf(line, sizeof line, "note %u: call back on Tuesday", i);
        CLI_OK(cli, "--db", path, "--actor", "carol", "note", ref, line);
        snprintf(line, sizeof line, "Contact %u", i);
        CLI_OK(cli, "--db", path, "--actor", "carol", "contact", "add", ref, "--name", line,
               "--email", "x@example.com", "--role", "buyer");
        CLI_OK(cli, "--db", path, "--actor", "dave", "--reason", "paid in full", "pay", ref,
               "50.00", "--auto");
    }
    if (customers >= 6) {
        CLI_OK(cli, "--db", path, "--actor", "erin", "update", "K-0002", "--name",
               "Customer 2 Renamed", "--credit-limit", "2500.00");
        CLI_OK(cli, "--db", path, "--actor", "erin", "status", "K-0003", "hold");
        CLI_OK(cli, "--db", path, "--actor", "erin", "own", "K-0003", "frank");
        if (docs >= 3 * customers) { /* D-(2 * customers + 1) is a payment of K-0001 */
            snprintf(ref2, sizeof ref2, "D-%06u", 2 * customers + 1);
            CLI_OK(cli, "--db", path, "--actor", "erin", "refund", "K-0001", "1.00", "--from",
                   ref2);
        }
        CLI_OK(cli, "--db", path, "--actor", "erin", "merge", "--keep", "K-0001", "--delete",
               "K-0005"); /* both in EUR */
    }
    return refs;
}
