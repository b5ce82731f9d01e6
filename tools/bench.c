/*
 * tools/bench.c - folio-bench: figures for the event log through the public API.
 * Prints one JSON object. This is the engine-level benchmark of the foundation: raw event
 * appends (no customer rules yet), verify, and stream reads. The full workload of the
 * performance issue (W1-W5 with the real command path) will extend it.
 *
 *   folio-bench [--dir DIR] [--scale F]
 *
 * w1_single: durable appends of one event each (one LMDB commit, two fsyncs, per event).
 * w1_batch:  appends in durable batches of 1,000 events over 10,000 streams. Device bytes
 *            per event from the block device's sector counter (as the peer harness counts;
 *            device-wide), and /proc/self/io write_bytes, which on kernels with large page
 *            cache folios counts a whole folio for each 4 KiB page dirtied (an over-count).
 * w2_verify: the full integrity walk.  w3_history: 1,000 random stream reads, decoded.
 */
#include <folio.h>
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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void die(const char *what) {
    fprintf(stderr, "folio-bench: %s: %s\n", what, folio_errmsg());
    exit(1);
}

#define PAYLOADS 64

int main(int argc, char **argv) {
    const char *dir = NULL;
    double scale = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            scale = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: folio-bench [--dir DIR] [--scale F]\n");
            return 2;
        }
    }
    char tmpl[] = "./folio-bench.XXXXXX";
    if (!dir) dir = mkdtemp(tmpl);
    if (!dir || scale <= 0) return 2;
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

    printf("{\"w1_single_events\":%zu,\"w1_single_events_per_s\":%.0f,\"w1_single_p50_us\":%.1f,"
           "\"w1_single_p99_us\":%.1f,\"w1_batch_events\":%zu,\"w1_batch_events_per_s\":%.0f,"
           "\"w1_batch_device_bytes_per_event\":%.0f,\"w1_batch_write_bytes_per_event\":%.0f,"
           "\"w2_verify_events_per_s\":%.0f,"
           "\"w3_history_p50_us\":%.1f,\"w3_history_p99_us\":%.1f,"
           "\"w3_history_events_per_s\":%.0f,\"disk_bytes_per_event\":%.1f,"
           "\"peak_rss_kib\":%ld}\n",
           n_single, single_rate, single_p50, single_p99, n_batch, batch_rate, dev_bytes, io_bytes,
           verify_rate, pct(hl, 1000, 0.50), pct(hl, 1000, 0.99), hist_rate,
           (double)st.file_bytes / (double)st.events, ru.ru_maxrss);
    for (int i = 0; i < PAYLOADS; i++) folio_free(payload[i]);
    free(ev);
    unlink(p1);
    unlink(p2);
    strcat(p1, "-lock");
    strcat(p2, "-lock");
    unlink(p1);
    unlink(p2);
    if (strcmp(dir, tmpl) == 0) rmdir(dir);
    return 0;
}
