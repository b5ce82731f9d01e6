/*
 * tests/reliability/corruption/bitflip.c - flip single bits in copies of a ledger and classify
 * what folio makes of each (issue 7, corruption).
 *
 * A ledger is built with the CLI (demo, imported customers and documents, single commands).
 * For each flip: copy the pristine ledger, flip one bit - half of the flips in a page that
 * holds event bytes (found through LMDB: leaf and overflow pages of the log), half anywhere in
 * the used part of the file (LMDB's pages 0 .. last) - then run `folio verify`; if it passes,
 * `folio check`; if that passes too, every read command whose output was recorded on the
 * pristine copy (`--json` show, statement --as-of, history of every customer; log; list
 * --all), comparing exit code and stdout. Each flip is one of:
 *   detected by open     verify exits 4 or 5 with a message from the open (not "verify failed")
 *   detected by verify   verify exits 4 naming a seq, or reports a crashed scan
 *   detected by check    check exits 4 or 5
 *   detected by a read   verify and check pass, but a read command exits 4 or 5
 *   harmless             every exit code and output equals the pristine copy's
 *   silent wrong answer  verify and check pass and a read command answers differently
 *                        (exit code or output) without reporting corruption - must be 0
 *   crash (verify)       `folio verify` killed by a signal or hung - must be 0
 *   crash (other)        check or a read command killed by a signal or hung - reported
 *   other error          check exits other than 0, 4 or 5 - reported
 * A flip that leaves every answer identical is then given one write (`note`) followed by
 * verify and check, since a damaged free list can make LMDB reuse a live page:
 *   detected by a write  the note exits 4 or 5
 *   LATENT               the note succeeds but verify or check then fail, or something
 *                        crashes: damage the reads did not show, surfaced by a write - reported
 *   harmless             otherwise
 * A flip inside an event's frame bytes must make verify exit 4 naming that event's seq in
 * "bad_seq" ("EVENT FLIP NOT NAMED" otherwise).
 * Exit 1 if a silent wrong answer, a verify crash or an unnamed event flip happened.
 *
 * Usage: bitflip FOLIO_CLI SCRATCH_DIR
 * Environment: FOLIO_LONG=1 (1,000 flips on a larger ledger; default 150 flips);
 *   FOLIO_BITFLIP_FLIPS=K, FOLIO_BITFLIP_SEED=S (default: from the clock; always printed),
 *   FOLIO_BITFLIP_ONLY=I (replay only flip I of that seed), FOLIO_BITFLIP_VERBOSE=1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum {
    C_OPEN, C_VERIFY, C_CHECK, C_READ, C_HARMLESS, C_SILENT, C_CRASH_VERIFY, C_CRASH_OTHER,
    C_OTHER, C_WRITE, C_LATENT, C_MISNAMED, C_COUNT
};
static const char *const CLASS_NAME[C_COUNT] = {
    "detected by open", "detected by verify", "detected by check", "detected by a read",
    "harmless", "SILENT WRONG ANSWER", "crash (verify)", "crash (other command)",
    "other error exit", "detected by a write", "LATENT (after a write)",
    "EVENT FLIP NOT NAMED"};

typedef struct {
    char *args[8];
    int status;
    char *out;
    size_t out_len;
} probe;

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || *end) fail("%s='%s' is not a number", name, v);
    return x;
}

static run_result run_probe(const char *cli, const char *db, const probe *p) {
    const char *args[12] = {"--db", db};
    size_t n = 2;
    for (size_t i = 0; p->args[i]; i++) args[n++] = p->args[i];
    args[n] = NULL;
    return run_cli(cli, args, 60);
}

static void flip_bit(const char *path, uint64_t off, unsigned bit) {
    int fd = open(path, O_RDWR);
    unsigned char b;
    if (fd < 0) fail("open %s: %s", path, strerror(errno));
    if (pread(fd, &b, 1, (off_t)off) != 1) fail("pread %s at %llu", path, (unsigned long long)off);
    b ^= (unsigned char)(1u << bit);
    if (pwrite(fd, &b, 1, (off_t)off) != 1) fail("pwrite %s: %s", path, strerror(errno));
    if (close(fd)) fail("close %s: %s", path, strerror(errno));
}

static const char *first_line(const char *s, char *buf, size_t cap) {
    size_t n = strcspn(s, "\n");
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

/* Remove the scratch directories a crashed `folio check` left beside the ledger (each holds
 * a scratch ledger); returns how many there were. */
static unsigned remove_check_leftovers(const char *dir) {
    unsigned n = 0;
    DIR *d = opendir(dir);
    if (!d) fail("opendir %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".folio-check-", 13) != 0) continue;
        char sub[4200], file[4500];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        if (s) {
            struct dirent *f;
            while ((f = readdir(s)) != NULL) {
                if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0) continue;
                snprintf(file, sizeof file, "%s/%s", sub, f->d_name);
                unlink(file);
            }
            closedir(s);
        }
        if (rmdir(sub)) fail("cannot remove %s: %s", sub, strerror(errno));
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 3) fail("usage: bitflip FOLIO_CLI SCRATCH_DIR");
    const char *cli = argv[1], *dir = argv[2];
    int is_long = getenv("FOLIO_LONG") && strcmp(getenv("FOLIO_LONG"), "1") == 0;
    uint64_t flips = env_u64("FOLIO_BITFLIP_FLIPS", is_long ? 1000 : 150);
    uint64_t seed = env_u64("FOLIO_BITFLIP_SEED", (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20));
    uint64_t only = env_u64("FOLIO_BITFLIP_ONLY", UINT64_MAX);
    int verbose = getenv("FOLIO_BITFLIP_VERBOSE") != NULL;
    unsigned customers = is_long ? 30 : 6, docs = is_long ? 15000 : 2500;
    char pristine[4200], work[4200], msg[300];
    mkdir(dir, 0700);
    snprintf(pristine, sizeof pristine, "%s/pristine.db", dir);
    snprintf(work, sizeof work, "%s/flip.db", dir);

    double t0 = now_s();
    char **refs = build_ledger(cli, dir, pristine, customers, docs);
    size_t nrefs = 0;
    while (refs[nrefs]) nrefs++;
    /* the probes and their answers on the pristine copy */
    size_t nprobes = 3 * nrefs + 2;
    probe *probes = calloc(nprobes, sizeof *probes);
    if (!probes) fail("out of memory");
    for (size_t i = 0; i < nrefs; i++) {
        probes[3 * i] = (probe){{"--json", "show", refs[i]}, 0, NULL, 0};
        probes[3 * i + 1] = (probe){{"--json", "statement", refs[i], "--as-of", "2027-01-31"}, 0, NULL, 0};
        probes[3 * i + 2] = (probe){{"--json", "history", refs[i]}, 0, NULL, 0};
    }
    probes[3 * nrefs] = (probe){{"--json", "log"}, 0, NULL, 0};
    probes[3 * nrefs + 1] = (probe){{"--json", "list", "--all"}, 0, NULL, 0};
    run_result r = RUN(cli, 300, "--db", pristine, "verify");
    if (r.status != 0) fail("pristine verify exited %d: %s", r.status, r.err);
    printf("pristine: %s", r.out);
    run_free(&r);
    r = RUN(cli, 300, "--db", pristine, "check");
    if (r.status != 0) fail("pristine check exited %d: %s", r.status, r.err);
    run_free(&r);
    size_t shown_ok = 0;
    for (size_t i = 0; i < nprobes; i++) {
        r = run_probe(cli, pristine, &probes[i]);
        if (r.signal || r.timeout) fail("pristine %s %s crashed", probes[i].args[1], probes[i].args[2]);
        probes[i].status = r.status;
        probes[i].out = r.out;
        probes[i].out_len = r.out_len;
        shown_ok += r.status == 0;
        free(r.err);
    }
    if (shown_ok < nprobes - 3) fail("only %zu of %zu pristine probes succeeded", shown_ok, nprobes);

    log_map m;
    log_map_read(&m, pristine);
    uint64_t used = (m.last_pgno + 1) * PAGE_BYTES;
    printf("ledger: %llu events, %llu bytes (%llu used: %llu pages, %zu of them hold event "
           "bytes), %zu customers, %zu probes per flip; built in %.1f s\n",
           (unsigned long long)m.events, (unsigned long long)m.file_bytes,
           (unsigned long long)used, (unsigned long long)(m.last_pgno + 1), m.page_count, nrefs,
           nprobes + 2, now_s() - t0);
    printf("seed %llu (FOLIO_BITFLIP_SEED=%llu to replay), %llu flips%s\n",
           (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)flips,
           is_long ? " (long mode)" : "");
    fflush(stdout);

    uint64_t count[C_COUNT][2] = {{0}}; /* [class][0: event page, 1: anywhere] */
    unsigned leftovers = remove_check_leftovers(dir);
    uint64_t frame_flips = 0;
    double t1 = now_s();
    for (uint64_t i = 0; i < flips; i++) {
        if (only != UINT64_MAX && i != only) continue;
        uint64_t x = seed ^ (i * 0xd1342543de82ef95ull);
        splitmix(&x);
        int anywhere = (int)(splitmix(&x) & 1);
        uint64_t off;
        if (!anywhere && m.page_count) {
            uint64_t page = m.pages[splitmix(&x) % m.page_count];
            off = page * PAGE_BYTES + splitmix(&x) % PAGE_BYTES;
        } else {
            anywhere = 1;
            off = splitmix(&x) % used;
        }
        unsigned bit = (unsigned)(splitmix(&x) % 8);
        remove_ledger(work);
        copy_file(pristine, work);
        flip_bit(work, off, bit);

        uint64_t in_seq = 0; /* the event whose frame holds the flipped byte */
        for (uint64_t s = 0; s < m.events && !in_seq; s++)
            if (off >= m.data_off[s] && off < m.data_off[s] + m.frame_len[s]) in_seq = s + 1;
        if (in_seq) frame_flips++;

        int cls = C_HARMLESS;
        msg[0] = 0;
        char line[200];
        r = RUN(cli, 60, "--db", work, "--json", "verify");
        if (in_seq) {
            const char *b = strstr(r.out, "\"bad_seq\":");
            uint64_t named = b ? strtoull(b + 10, NULL, 10) : 0;
            if (r.status != 4 || named != in_seq) {
                cls = C_MISNAMED;
                snprintf(msg, sizeof msg, "flip in the frame of seq %llu: verify exit %d, bad_seq %llu",
                         (unsigned long long)in_seq, r.status, (unsigned long long)named);
            }
        }
        if (cls == C_MISNAMED) { /* reported above */
        } else if (r.signal || r.timeout) {
            cls = C_CRASH_VERIFY;
            snprintf(msg, sizeof msg, "verify %s %d", r.timeout ? "hung" : "killed by signal",
                     r.signal);
        } else if (r.status == 4 || r.status == 5) {
            cls = strstr(r.err, "verify failed") ? C_VERIFY : C_OPEN;
            snprintf(msg, sizeof msg, "verify exit %d: %s", r.status, first_line(r.err, line, sizeof line));
        } else if (r.status != 0) {
            cls = C_OTHER;
            snprintf(msg, sizeof msg, "verify exit %d: %s", r.status, first_line(r.err, line, sizeof line));
        }
        run_free(&r);
        if (cls == C_HARMLESS) {
            r = RUN(cli, 60, "--db", work, "check");
            if (r.signal || r.timeout) {
                cls = C_CRASH_OTHER;
                snprintf(msg, sizeof msg, "check %s %d", r.timeout ? "hung" : "killed by signal",
                         r.signal);
            } else if (r.status == 4 || r.status == 5) {
                cls = C_CHECK;
                snprintf(msg, sizeof msg, "check exit %d: %s", r.status, first_line(r.err, line, sizeof line));
            } else if (r.status != 0) {
                cls = C_OTHER;
                snprintf(msg, sizeof msg, "check exit %d: %s", r.status, first_line(r.err, line, sizeof line));
            }
            run_free(&r);
        }
        for (size_t p = 0; cls == C_HARMLESS && p < nprobes; p++) {
            r = run_probe(cli, work, &probes[p]);
            const char *what = probes[p].args[1], *arg = probes[p].args[2] ? probes[p].args[2] : "";
            if (r.signal || r.timeout) {
                cls = C_CRASH_OTHER;
                snprintf(msg, sizeof msg, "%s %s %s %d", what, arg,
                         r.timeout ? "hung" : "killed by signal", r.signal);
            } else if (r.status != probes[p].status || r.out_len != probes[p].out_len ||
                       memcmp(r.out, probes[p].out, r.out_len) != 0) {
                cls = (r.status == 4 || r.status == 5) && probes[p].status == 0 ? C_READ : C_SILENT;
                snprintf(msg, sizeof msg, "%s %s exit %d (pristine %d)%s: %s", what, arg, r.status,
                         probes[p].status, r.status == probes[p].status ? ", output differs" : "",
                         first_line(r.err, line, sizeof line));
            }
            run_free(&r);
        }
        if (cls == C_HARMLESS) {
            r = RUN(cli, 60, "--db", work, "--actor", "bitflip", "note", "K-0001", "after the flip");
            if (r.status == 4 || r.status == 5) {
                cls = C_WRITE;
                snprintf(msg, sizeof msg, "note exit %d: %s", r.status, first_line(r.err, line, sizeof line));
            } else if (r.status != 0) {
                cls = C_LATENT;
                snprintf(msg, sizeof msg, "note %s %d: %s", r.signal ? "killed by signal" : "exit",
                         r.signal ? r.signal : r.status, first_line(r.err, line, sizeof line));
            }
            run_free(&r);
            const char *after[] = {"verify", "check"};
            for (int a = 0; a < 2 && cls == C_HARMLESS; a++) {
                r = RUN(cli, 60, "--db", work, after[a]);
                if (r.status != 0) {
                    cls = C_LATENT;
                    snprintf(msg, sizeof msg, "note ok, then %s %s %d: %s", after[a],
                             r.signal ? "killed by signal" : "exit", r.signal ? r.signal : r.status,
                             first_line(r.err, line, sizeof line));
                }
                run_free(&r);
            }
        }
        unsigned left = remove_check_leftovers(dir);
        leftovers += left;
        if (left) {
            size_t n = strlen(msg);
            snprintf(msg + n, sizeof msg - n, " (left %u .folio-check-* scratch dir)", left);
        }
        count[cls][anywhere]++;
        if (verbose || (cls != C_HARMLESS && cls != C_VERIFY && cls != C_OPEN && cls != C_CHECK &&
                        cls != C_WRITE))
            printf("flip %llu (seed %llu): offset %llu (page %llu +%llu) bit %u, %s: %s -> %s\n",
                   (unsigned long long)i, (unsigned long long)seed, (unsigned long long)off,
                   (unsigned long long)(off / PAGE_BYTES), (unsigned long long)(off % PAGE_BYTES),
                   bit, anywhere ? "anywhere" : "event page", msg[0] ? msg : "all identical",
                   CLASS_NAME[cls]);
        if ((i + 1) % 100 == 0 && only == UINT64_MAX) {
            uint64_t det = 0, harmless = count[C_HARMLESS][0] + count[C_HARMLESS][1];
            for (int c = C_OPEN; c <= C_READ; c++) det += count[c][0] + count[c][1];
            det += count[C_WRITE][0] + count[C_WRITE][1];
            printf("... %llu flips: %llu detected, %llu harmless, %llu other (%.0f s)\n",
                   (unsigned long long)(i + 1), (unsigned long long)det,
                   (unsigned long long)harmless, (unsigned long long)(i + 1 - det - harmless),
                   now_s() - t1);
        }
        fflush(stdout);
    }
    double secs = now_s() - t1;
    uint64_t tot[2] = {0, 0};
    for (int c = 0; c < C_COUNT; c++) tot[0] += count[c][0], tot[1] += count[c][1];
    printf("\n%-24s %8s %12s %10s\n", "class", "flips", "event page", "anywhere");
    for (int c = 0; c < C_COUNT; c++)
        printf("%-24s %8llu %12llu %10llu\n", CLASS_NAME[c],
               (unsigned long long)(count[c][0] + count[c][1]), (unsigned long long)count[c][0],
               (unsigned long long)count[c][1]);
    printf("%-24s %8llu %12llu %10llu\n", "total", (unsigned long long)(tot[0] + tot[1]),
           (unsigned long long)tot[0], (unsigned long long)tot[1]);
    printf("%llu flips fell inside an event's frame; verify named the right seq for %llu\n",
           (unsigned long long)frame_flips,
           (unsigned long long)(frame_flips - count[C_MISNAMED][0] - count[C_MISNAMED][1]));
    if (leftovers)
        printf("%u scratch directories (.folio-check-*) were left behind by crashed checks\n",
               leftovers);
    printf("%.1f s for the flips (%.0f ms per flip)\n", secs,
           tot[0] + tot[1] ? 1000.0 * secs / (double)(tot[0] + tot[1]) : 0.0);

    int bad = 0;
    if (count[C_SILENT][0] + count[C_SILENT][1]) {
        fprintf(stderr, "FAIL: %llu silent wrong answers (seed %llu; the flips are listed above)\n",
                (unsigned long long)(count[C_SILENT][0] + count[C_SILENT][1]), (unsigned long long)seed);
        bad = 1;
    }
    if (count[C_CRASH_VERIFY][0] + count[C_CRASH_VERIFY][1]) {
        fprintf(stderr, "FAIL: folio verify crashed or hung on %llu flips (seed %llu)\n",
                (unsigned long long)(count[C_CRASH_VERIFY][0] + count[C_CRASH_VERIFY][1]),
                (unsigned long long)seed);
        bad = 1;
    }
    if (count[C_MISNAMED][0] + count[C_MISNAMED][1]) {
        fprintf(stderr, "FAIL: %llu flips inside an event were not named by seq (seed %llu)\n",
                (unsigned long long)(count[C_MISNAMED][0] + count[C_MISNAMED][1]),
                (unsigned long long)seed);
        bad = 1;
    }
    remove_ledger(work);
    log_map_free(&m);
    for (size_t i = 0; i < nprobes; i++) free(probes[i].out);
    free(probes);
    for (size_t i = 0; i < nrefs; i++) free(refs[i]);
    free(refs);
    if (!bad)
        printf("PASS: no silent wrong answer, verify never crashed, every flip inside an event "
               "was named by its seq\n");
    return bad;
}
