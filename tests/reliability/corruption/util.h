/*
 * tests/reliability/corruption/util.h - what the corruption tests share: running the folio
 * CLI and capturing its output, files, and where LMDB keeps the log's events in a ledger.
 */
#ifndef CORRUPTION_UTIL_H
#define CORRUPTION_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_BYTES 4096u

/* Stop the test program with a message (printf-style) on stderr: "FAIL: ...". */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

typedef struct {
    int status;  /* exit code, or 128 + signal */
    int signal;  /* the signal that killed it, else 0 */
    int timeout; /* killed by us after the time limit */
    char *out;   /* stdout, NUL-terminated */
    size_t out_len;
    char *err;   /* stderr, NUL-terminated */
    size_t err_len;
} run_result;

/* Run `cli` with args (NULL-terminated, without argv[0]), stdin /dev/null, at most
 * `timeout_s` seconds. Fails the test if it cannot be started. */
run_result run_cli(const char *cli, const char *const *args, int timeout_s);
void run_free(run_result *r);
#define RUN(cli, t, ...) run_cli((cli), (const char *const[]){__VA_ARGS__, NULL}, (t))

/* Whole file into memory (NUL appended); NULL on error. */
char *read_file(const char *path, size_t *len);
void write_file(const char *path, const void *data, size_t len);
void copy_file(const char *from, const char *to);
/* Remove path and path-lock. */
void remove_ledger(const char *path);

/* Build a ledger at `path` with the CLI: `demo`, then `customers` customers and `docs`
 * documents (invoices, payments, credit notes) through `import`, and a few dozen single
 * commands (notes, contacts, status changes, a merge, allocations, a refund, credit-check).
 * Fails the test on any error. Returns the refs of every customer (NULL-terminated). */
char **build_ledger(const char *cli, const char *dir, const char *path, unsigned customers,
                    unsigned docs);

/* Where the log's events live in a ledger file, found through LMDB itself (read-only, no
 * lock file): for each seq the file offset of its leaf node and whether its frame sits on an
 * overflow page; and the pages that hold any byte of an event. */
typedef struct {
    uint64_t events;
    uint64_t *node_off;  /* [seq - 1]: file offset of the leaf node (the key lies at +8) */
    uint8_t *big;        /* [seq - 1]: frame on overflow pages */
    uint32_t *frame_len; /* [seq - 1] */
    uint64_t *data_off;  /* [seq - 1]: file offset of the frame's first byte */
    uint64_t *pages;     /* sorted, distinct page numbers holding event bytes */
    size_t page_count;
    uint64_t last_pgno;  /* LMDB's last used page */
    uint64_t file_bytes;
} log_map;
void log_map_read(log_map *m, const char *path);
void log_map_free(log_map *m);

#endif
