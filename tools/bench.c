/*
 * tools/bench.c - folio-bench: figures for folio through the public API, printed as one
 * JSON object.
 *
 *   folio-bench [--dir DIR] [--scale F] [--engine] [--keep]
 *
 * Default: the command path of the performance issue (W1a single durable creations, W1b
 * creations and Zipf-distributed invoices and payments in durable batches of 1,000 commands,
 * W2 verify and rebuild, W3 histories, W4 statements, W5 eight threads of single durable
 * commands). --engine: raw appends below the rules, as described next.
 *
 * w1_single: durable appends of one event each (one LMDB commit, two fsyncs, per event).
 * w1_batch:  appends in durable batches of 1,000 events over 10,000 streams. Device bytes
 *            per event from the block device's sector counter (as the peer harness counts;
 *            device-wide), and /proc/self/io write_bytes, which on kernels with large page
 *            cache folios counts a whole folio for each 4 KiB page dirtied (an over-count).
 * w2_verify: the full integrity walk.  w3_history: 1,000 random stream reads, decoded.
 */
#include <folio.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 42;
static uint64_t rng(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t io_write_bytes(void) {
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %llu", &v) == 1) break;
    fclose(f);
    return v;
}

/* Sectors written by the device holding `path` (field 7 of /sys/dev/block/M:m/stat), as the
 * peer harness measures it. Device-wide: other writers on the machine add to it. */
static uint64_t device_write_bytes(const char *path) {
    struct stat st;
    char sys[96];
    unsigned long long f[7] = {0};
    if (stat(path, &st) != 0) return 0;
    snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/stat", major(st.st_dev), minor(st.st_dev));
    FILE *fp = fopen(sys, "r");
    if (!fp) return 0;
    int n = fscanf(fp, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4],
                   &f[5], &f[6]);
    fclose(fp);
    return n == 7 ? f[6] * 512ull : 0;
}

/* The device's price of a durable write, which bounds every durable path: the mean time of
 * `pages` 4 KiB overwrites of a written 16 MiB file followed by one fdatasync, the pages
 * either adjacent or scattered over the file (as an LMDB commit's pages are: it reuses
 * freed pages lowest-numbered first, wherever they are). -1 if the probe cannot run. */
static double device_sync_us(const char *dir, int pages, int scattered) {
    enum { PROBE_PAGES = 4096, ROUNDS = 100 };
    static char page[4096];
    char path[4096];
    snprintf(path, sizeof path, "%s/device-probe", dir);
    FILE *f = fopen(path, "w+b");
    if (!f) return -1;
    int fd = fileno(f);
    memset(page, 0xa5, sizeof page);
    double us = -1;
    for (int i = 0; i < PROBE_PAGES; i++)
        if (pwrite(fd, page, sizeof page, (off_t)i * 4096) != (ssize_t)sizeof page) goto out;
    if (fsync(fd) != 0) goto out;
    uint64_t x = 7;
    double t0 = now_s();
    for (int r = 0; r < ROUNDS; r++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        off_t base = (off_t)((x >> 33) % (PROBE_PAGES - (uint64_t)pages));
        for (int p = 0; p < pages; p++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            off_t pg = scattered ? (off_t)((x >> 33) % PROBE_PAGES) : base + p;
            if (pwrite(fd, page, sizeof page, pg * 4096) != (ssize_t)sizeof page) goto out;
        }
        if (fdatasync(fd) != 0) goto out;
    }
    us = (now_s() - t0) * 1e6 / ROUNDS;
out:
    fclose(f);
    remove(path);
    return us;
}

/* Resident anonymous memory now (heap and stacks, not the mapped ledger), KiB; the largest
 * value seen by anon_sample() is reported, to show the heap is bounded while peak RSS
 * counts every page of the ledger the process touched. */
static double anon_max_kib;
static void anon_sample(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    unsigned long long v;
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %llu", &v) == 1 && (double)v > anon_max_kib)
            anon_max_kib = (double)v;
    fclose(f);
}

static void anon_progress(void *payload, const char *what, uint64_t done, uint64_t total) {
    (void)payload, (void)what, (void)done, (void)total;
    anon_sample();
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* The figures of one run: printed as one JSON object, and as a table when stdout is a
 * terminal. `decimals` is how many the figure is printed with. */
typedef struct {
    const char *key;
    double value;
    int decimals;
    const char *what; /* the table's wording */
} metric;

static void report(const metric *m, size_t n) {
    printf("{");
    for (size_t i = 0; i < n; i++)
        printf("%s\"%s\":%.*f", i ? "," : "", m[i].key, m[i].decimals, m[i].value);
    printf("}\n");
    if (!isatty(STDOUT_FILENO)) return;
    printf("\n%-44s %16s\n", "figure", "value");
    for (size_t i = 0; i < n; i++)
        printf("%-44s %16.*f\n", m[i].what, m[i].decimals, m[i].value);
}

static int keep; /* --keep: leave the ledgers in DIR for inspection (mdb_stat, folio stats) */

static void remove_ledgers(char *p1, char *p2) {
    if (keep) {
        fprintf(stderr, "folio-bench: kept %s and %s\n", p1, p2);
        return;
    }
    unlink(p1);
    unlink(p2);
    strcat(p1, "-lock");
    strcat(p2, "-lock");
    unlink(p1);
    unlink(p2);
}

static void die(const char *what) {
    fprintf(stderr, "folio-bench: %s: %s\n", what, folio_errmsg());
    exit(1);
}

#define PAYLOADS 64

static int engine_main(const char *dir, double scale) {
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/single.db", dir);
    snprintf(p2, sizeof p2, "%s/batch.db", dir);

    /* ~75-byte payloads like the peer harness's documents. */
    void *payload[PAYLOADS];
    size_t payload_bytes[PAYLOADS];
    for (int i = 0; i < PAYLOADS; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"doc\":\"INV-%07d\",\"date\":\"2026-11-%02d\",\"due\":\"2026-12-%02d\","
                 "\"amount\":\"%d.%02d\"}",
                 i * 7919 % 10000000, 1 + i % 28, 1 + i % 28, 1 + i * 31 % 2000, i % 100);
        if (folio_payload_from_json(&payload[i], &payload_bytes[i], json)) die("payload");
    }

    /* W1a: single durable appends. */
    size_t n_single = (size_t)(2000 * scale);
    if (n_single < 10) n_single = 10;
    double *lat = malloc(n_single * sizeof *lat);
    folio_db *db = NULL;
    if (folio_db_open(&db, p1, NULL)) die("open");
    double t0 = now_s();
    for (size_t i = 0; i < n_single; i++) {
        folio_event e = {.stream = 1 + i % 1000, .type = FOLIO_EV_INVOICE_ISSUED, .schema = 1,
                         .actor = "bench", .payload = payload[i % PAYLOADS],
                         .payload_bytes = payload_bytes[i % PAYLOADS]};
        uint64_t seq;
        double a = now_s();
        if (folio_event_append(&seq, db, &e)) die("append");
        lat[i] = (now_s() - a) * 1e6;
    }
    double single_rate = (double)n_single / (now_s() - t0);
    double single_p50 = pct(lat, n_single, 0.50), single_p99 = pct(lat, n_single, 0.99);
    folio_db_close(db);
    free(lat);

    /* W1b: batches of 1,000 over 10,000 streams. */
    size_t n_batch = (size_t)(1000000 * scale) / 1000 * 1000;
    if (n_batch < 1000) n_batch = 1000;
    const uint64_t streams = 10000;
    folio_event *ev = malloc(1000 * sizeof *ev);
    if (folio_db_open(&db, p2, NULL)) die("open");
    uint64_t io0 = io_write_bytes(), dev0 = device_write_bytes(p2);
    t0 = now_s();
    for (size_t done = 0; done < n_batch; done += 1000) {
        for (size_t i = 0; i < 1000; i++) {
            size_t k = (size_t)(rng() % PAYLOADS);
            ev[i] = (folio_event){.stream = 1 + rng() % streams, .type = FOLIO_EV_INVOICE_ISSUED,
                                  .schema = 1, .actor = "bench", .payload = payload[k],
                                  .payload_bytes = payload_bytes[k]};
        }
        folio_batch b = {ev, 1000, NULL, 0, NULL};
        folio_append_result r;
        if (folio_append(&r, db, &b)) die("append batch");
    }
    double batch_rate = (double)n_batch / (now_s() - t0);
    double dev_bytes = (double)(device_write_bytes(p2) - dev0) / (double)n_batch;
    double io_bytes = (double)(io_write_bytes() - io0) / (double)n_batch;

    /* W2: verify. */
    folio_verify_report rep;
    t0 = now_s();
    if (folio_verify(&rep, db)) die("verify");
    double verify_rate = (double)rep.events / (now_s() - t0);

    /* W3: history of 1,000 random streams. */
    double hl[1000];
    uint64_t hist_events = 0;
    t0 = now_s();
    for (int i = 0; i < 1000; i++) {
        folio_iter *it = NULL;
        const folio_event *e;
        double a = now_s();
        int rc = folio_stream_open(&it, db, 1 + rng() % streams, 0, 0);
        if (rc != FOLIO_OK && rc != FOLIO_ENOTFOUND) die("stream"); /* tiny scales miss some */
        while (rc == FOLIO_OK && folio_iter_next(&e, it) == FOLIO_OK) hist_events++;
        folio_iter_free(it);
        hl[i] = (now_s() - a) * 1e6;
    }
    double hist_rate = (double)hist_events / (now_s() - t0);
    folio_stats st;
    if (folio_stats_get(&st, db)) die("stats");
    folio_db_close(db);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    const metric m[] = {
        {"engine_w1_single_events", (double)n_single, 0, "W1 single: events appended"},
        {"w1_single_events_per_s", single_rate, 0, "W1 single durable appends/s"},
        {"w1_single_p50_us", single_p50, 1, "W1 single p50 us"},
        {"w1_single_p99_us", single_p99, 1, "W1 single p99 us"},
        {"w1_batch_events", (double)n_batch, 0, "W1 batched: events appended"},
        {"w1_batch_events_per_s", batch_rate, 0, "W1 batched appends/s (1,000 per commit)"},
        {"w1_batch_device_bytes_per_event", dev_bytes, 0, "W1 batched device bytes/event"},
        {"w1_batch_write_bytes_per_event", io_bytes, 0, "W1 batched /proc write_bytes/event"},
        {"w2_verify_events_per_s", verify_rate, 0, "W2 verify events/s"},
        {"w3_history_p50_us", pct(hl, 1000, 0.50), 1, "W3 history p50 us"},
        {"w3_history_p99_us", pct(hl, 1000, 0.99), 1, "W3 history p99 us"},
        {"w3_history_events_per_s", hist_rate, 0, "W3 history events/s"},
        {"disk_bytes_per_event", (double)st.file_bytes / (double)st.events, 1,
         "disk bytes/event"},
        {"disk_used_bytes_per_event", (double)st.used_bytes / (double)st.events, 1,
         "disk bytes in use/event"},
        {"peak_rss_kib", (double)ru.ru_maxrss, 0, "peak RSS KiB"},
    };
    report(m, sizeof m / sizeof m[0]);
    for (int i = 0; i < PAYLOADS; i++) folio_free(payload[i]);
    free(ev);
    remove_ledgers(p1, p2);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * The command path (the performance issue's workload): real rules, projections, chain.
 * ------------------------------------------------------------------------------------- */

typedef struct {
    double *cdf;
    uint32_t n, mul;
} zipf;

static uint32_t gcd32(uint32_t a, uint32_t b) {
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* As the peer harness: Zipf(s) over ranks, ranks scattered over ids by a fixed bijection. */
static void zipf_init(zipf *z, uint32_t n, double s) {
    z->n = n;
    z->cdf = malloc(n * sizeof *z->cdf);
    double h = 0;
    for (uint32_t r = 0; r < n; r++) {
        h += pow((double)(r + 1), -s);
        z->cdf[r] = h;
    }
    for (uint32_t r = 0; r < n; r++) z->cdf[r] /= h;
    z->mul = 48271 % n;
    if (z->mul == 0) z->mul = 1;
    while (gcd32(z->mul, n) != 1) z->mul++;
}

static uint32_t zipf_pick(zipf *z) {
    double u = (double)(rng() >> 11) * 0x1.0p-53;
    uint32_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return (uint32_t)(((uint64_t)lo * z->mul) % z->n) + 1;
}

/* v in decimal, zero-padded to at least `width` digits, then a NUL; returns the digits
 * written. The W1b loop formats three arguments per command: with snprintf that was ~8% of
 * the instructions measured around folio_batch_run, which are the benchmark's, not folio's. */
static size_t put_digits(char *out, uint64_t v, size_t width) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width) tmp[n++] = '0';
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

static void ref_of(char *out, uint32_t id) {
    memcpy(out, "CUST-", 5);
    put_digits(out + 5, id, 6);
}

typedef struct {
    uint32_t customers;
    uint64_t docs, done_customers, done_docs;
    zipf z;
    uint64_t refused;
    /* where the batch started: folio_batch_run runs the batch again from the start when the
     * map had to grow, so the batch must be able to start over */
    uint64_t start_customers, start_docs, start_rng, start_refused;
} w1b_state;

#define COMMANDS_PER_BATCH 1000u

static int w1b_batch(folio_db *db, void *arg) {
    w1b_state *st = arg;
    folio_write_opts w = {.actor = "bench"};
    folio_write_result r;
    st->done_customers = st->start_customers;
    st->done_docs = st->start_docs;
    st->refused = st->start_refused;
    rng_state = st->start_rng;
    for (unsigned k = 0; k < COMMANDS_PER_BATCH; k++) {
        int rc;
        if (st->done_customers < st->customers) {
            char name[40];
            memcpy(name, "cust-", 5);
            put_digits(name + 5, st->done_customers + 1, 10);
            folio_customer_new c = {.name = name, .status = "active", .currency = "USD"};
            rc = folio_customer_create(&r, db, &w, &c);
            st->done_customers++;
        } else if (st->done_docs < st->docs) {
            char ref[32], amount[32];
            ref_of(ref, zipf_pick(&st->z));
            uint64_t x = rng();
            int invoice = (x % 10) < 6;
            int64_t minor = 100 + (int64_t)((x >> 8) % (invoice ? 200000 : 150000));
            size_t units = put_digits(amount, (uint64_t)(minor / 100), 1);
            amount[units] = '.';
            put_digits(amount + units + 1, (uint64_t)(minor % 100), 2);
            folio_document_new d = {.amount = amount, .date = "2026-01-01", .due = "2026-01-31"};
            rc = invoice ? folio_invoice_issue(&r, db, &w, ref, &d)
                         : folio_payment_receive(&r, db, &w, ref, &d, NULL, 0, 0);
            st->done_docs++;
        } else {
            break;
        }
        if (rc < 0 && st->refused++ == 0)
            fprintf(stderr, "folio-bench: first refused command: %s\n", folio_errmsg());
    }
    return FOLIO_OK;
}

typedef struct {
    folio_db *db;
    uint32_t customers;
    double seconds;
    uint64_t commands;
    double *lat;
    size_t nlat, cap;
    uint64_t seed;
} w5_thread;

static void *w5_run(void *arg) {
    w5_thread *t = arg;
    folio_write_opts w = {.actor = "bench-thread"};
    double end = now_s() + t->seconds;
    uint64_t s = t->seed;
    while (now_s() < end) {
        char ref[32];
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ref_of(ref, (uint32_t)((s >> 33) % t->customers) + 1);
        folio_document_new d = {.amount = "10.00", .date = "2026-01-02", .due = "2026-02-01"};
        folio_write_result r;
        double a = now_s();
        if (folio_invoice_issue(&r, t->db, &w, ref, &d) != FOLIO_OK) continue;
        double us = (now_s() - a) * 1e6;
        if (t->nlat == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4096;
            t->lat = realloc(t->lat, t->cap * sizeof *t->lat);
        }
        t->lat[t->nlat++] = us;
        t->commands++;
    }
    return NULL;
}

static int commands_main(const char *dir, double scale) {
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/w1a.db", dir);
    snprintf(p2, sizeof p2, "%s/w1b.db", dir);
    folio_db *db = NULL;
    folio_write_opts w = {.actor = "bench"};
    folio_write_result r;

    /* The device's own figures first, while nothing else of ours writes. */
    double sync1 = device_sync_us(dir, 1, 0), sync8c = device_sync_us(dir, 8, 0),
           sync8s = device_sync_us(dir, 8, 1);

    /* W1a: single durable creations. */
    size_t n1 = (size_t)(20000 * scale);
    if (n1 < 10) n1 = 10;
    double *lat = malloc(n1 * sizeof *lat);
    if (folio_db_open(&db, p1, NULL)) die("open");
    uint64_t dev1 = device_write_bytes(p1);
    double t0 = now_s();
    for (size_t i = 0; i < n1; i++) {
        char name[40];
        snprintf(name, sizeof name, "cust-%010zu", i + 1);
        folio_customer_new c = {.name = name, .status = "active", .currency = "USD"};
        double a = now_s();
        if (folio_customer_create(&r, db, &w, &c)) die("create");
        lat[i] = (now_s() - a) * 1e6;
    }
    double w1a_rate = (double)n1 / (now_s() - t0);
    double w1a_p50 = pct(lat, n1, 0.50), w1a_p99 = pct(lat, n1, 0.99);
    double w1a_dev = (double)(device_write_bytes(p1) - dev1) / (double)n1;
    folio_db_close(db);
    free(lat);

    /* W1b: creations then documents, 1,000 commands per durable batch. */
    w1b_state st = {0};
    st.customers = (uint32_t)(100000 * scale);
    if (st.customers < 100) st.customers = 100;
    st.docs = (uint64_t)(1000000 * scale);
    zipf_init(&st.z, st.customers, 0.99);
    if (folio_db_open(&db, p2, NULL)) die("open");
    uint64_t io0 = io_write_bytes(), dev0 = device_write_bytes(p2);
    t0 = now_s();
    while (st.done_customers < st.customers || st.done_docs < st.docs) {
        st.start_customers = st.done_customers;
        st.start_docs = st.done_docs;
        st.start_refused = st.refused;
        st.start_rng = rng_state;
        if (folio_batch_run(db, w1b_batch, &st, 0)) die("batch");
        if (st.done_docs % 100000 == 0) anon_sample();
    }
    double w1b_secs = now_s() - t0;
    uint64_t commands = st.customers + st.docs;
    double w1b_rate = (double)commands / w1b_secs;
    double dev_bytes = (double)(device_write_bytes(p2) - dev0) / (double)commands;
    double io_bytes = (double)(io_write_bytes() - io0) / (double)commands;

    /* W2: verify and rebuild. */
    folio_verify_report vr;
    t0 = now_s();
    folio_set_progress(db, anon_progress, NULL); /* every 65,536 events of W2 */
    if (folio_verify(&vr, db)) die("verify");
    double verify_rate = (double)vr.events / (now_s() - t0);
    uint64_t rebuilt = 0;
    t0 = now_s();
    if (folio_rebuild(&rebuilt, db)) die("rebuild");
    double rebuild_rate = (double)rebuilt / (now_s() - t0);

    /* W3 and W4: histories and statements of 1,000 random customers. */
    double hl[1000], sl[1000];
    uint64_t hist_events = 0;
    double hist_secs = 0;
    for (int i = 0; i < 1000; i++) {
        char ref[32];
        ref_of(ref, (uint32_t)(rng() % st.customers) + 1);
        folio_iter *it = NULL;
        const folio_event *e;
        double a = now_s();
        if (folio_history_open(&it, db, ref)) die("history");
        while (folio_iter_next(&e, it) == FOLIO_OK) hist_events++;
        folio_iter_free(it);
        hl[i] = (now_s() - a) * 1e6;
        hist_secs += hl[i] / 1e6;
        folio_statement *s = NULL;
        a = now_s();
        if (folio_statement_get(&s, db, ref, "2026-12-31", NULL, 0)) die("statement");
        sl[i] = (now_s() - a) * 1e6;
        folio_statement_free(s);
    }

    /* W5: 8 threads of single durable commands. */
    double w5_secs = 10 * scale < 2 ? 2 : 10 * scale;
    w5_thread th[8];
    pthread_t tid[8];
    for (int i = 0; i < 8; i++) {
        th[i] = (w5_thread){.db = db, .customers = st.customers, .seconds = w5_secs,
                            .seed = 1000 + (uint64_t)i};
        pthread_create(&tid[i], NULL, w5_run, &th[i]);
    }
    uint64_t w5_commands = 0;
    size_t all = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
        w5_commands += th[i].commands;
        all += th[i].nlat;
    }
    double *w5lat = malloc((all ? all : 1) * sizeof *w5lat);
    size_t k = 0;
    for (int i = 0; i < 8; i++) {
        memcpy(w5lat + k, th[i].lat, th[i].nlat * sizeof *w5lat);
        k += th[i].nlat;
        free(th[i].lat);
    }
    anon_sample();
    folio_stats fs;
    if (folio_stats_get(&fs, db)) die("stats");
    folio_db_close(db);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const metric m[] = {
        {"scale", scale, 3, "scale"},
        {"device_sync_1_page_us", sync1, 1, "device: 1 page + fdatasync, us"},
        {"device_sync_8_adjacent_us", sync8c, 1, "device: 8 adjacent pages + fdatasync, us"},
        {"device_sync_8_scattered_us", sync8s, 1, "device: 8 scattered pages + fdatasync, us"},
        {"w1_single_events_per_s", w1a_rate, 0, "W1a single durable commands/s"},
        {"w1_single_p50_us", w1a_p50, 1, "W1a p50 us"},
        {"w1_single_p99_us", w1a_p99, 1, "W1a p99 us"},
        {"w1_single_device_bytes_per_event", w1a_dev, 0, "W1a device bytes/command"},
        {"w1_batch_events_per_s", w1b_rate, 0, "W1b commands/s (1,000 per commit)"},
        {"w1_batch_device_bytes_per_event", dev_bytes, 0, "W1b device bytes/command"},
        {"w1_batch_write_bytes_per_event", io_bytes, 0, "W1b /proc write_bytes/command"},
        {"w1_batch_refused", (double)st.refused, 0, "W1b commands refused"},
        {"w2_verify_events_per_s", verify_rate, 0, "W2 verify events/s"},
        {"w2_rebuild_events_per_s", rebuild_rate, 0, "W2 rebuild events/s"},
        {"w3_history_p50_us", pct(hl, 1000, 0.5), 1, "W3 history p50 us"},
        {"w3_history_p99_us", pct(hl, 1000, 0.99), 1, "W3 history p99 us"},
        {"w3_history_events_per_s", hist_secs > 0 ? (double)hist_events / hist_secs : 0, 0,
         "W3 history events/s"},
        {"w4_statement_p50_us", pct(sl, 1000, 0.5), 1, "W4 statement p50 us"},
        {"w4_statement_p99_us", pct(sl, 1000, 0.99), 1, "W4 statement p99 us"},
        {"w5_commands_per_s", (double)w5_commands / w5_secs, 0, "W5 8 threads, commands/s"},
        {"w5_p50_us", all ? pct(w5lat, all, 0.5) : 0, 1, "W5 p50 us"},
        {"w5_p99_us", all ? pct(w5lat, all, 0.99) : 0, 1, "W5 p99 us"},
        {"disk_bytes_per_event", (double)fs.file_bytes / (double)fs.events, 1,
         "disk bytes/event"},
        {"disk_used_bytes_per_event", (double)fs.used_bytes / (double)fs.events, 1,
         "disk bytes in use/event (less free pages)"},
        {"peak_rss_kib", (double)ru.ru_maxrss, 0, "peak RSS KiB"},
        {"peak_anon_rss_kib", anon_max_kib, 0, "largest anonymous RSS seen, KiB"},
    };
    report(m, sizeof m / sizeof m[0]);
    free(w5lat);
    free(st.z.cdf);
    remove_ledgers(p1, p2);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    double scale = 1.0;
    int engine = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (strcmp(argv[i], "--engine") == 0)
            engine = 1;
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: folio-bench [--dir DIR] [--scale F] [--engine] [--keep]\n");
            return 2;
        }
    }
    char tmpl[] = "./folio-bench.XXXXXX";
    int made = 0;
    if (!dir) {
        dir = mkdtemp(tmpl);
        made = 1;
    }
    if (!dir || scale <= 0) return 2;
    int rc = engine ? engine_main(dir, scale) : commands_main(dir, scale);
    if (made && !keep) rmdir(dir);
    return rc;
}
