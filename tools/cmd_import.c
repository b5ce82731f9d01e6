/*
 * tools/cmd_import.c - `folio import customers|documents FILE [--dry-run] [--on-existing ...]`.
 * CSV (RFC 4180) is parsed by Debian's libcsv in strict mode, streamed in 64 KiB chunks
 * (bounded memory whatever the file size). A header row maps columns by name; unknown or
 * missing required columns stop the import before anything is written. Each row becomes one
 * command (folio_customer_upsert / folio_document_import), validated by the same rules as the
 * CLI command it stands for; rows go in batches of IMPORT_BATCH_ROWS, one durable commit per
 * batch, and a bad row is reported with the physical line it starts on and never stops the
 * good ones. A re-run imports nothing twice: customers are found by ref, external id or name,
 * documents by their number. --dry-run checks everything and writes nothing: the whole file
 * goes in as the real run would, batch by batch, but every batch joins one write transaction
 * that is thrown away at the end, so a row sees the rows before it as in the real run (a
 * duplicate of row 5 at row 1050 is caught) and the dry run answers what the real run would.
 * The cost: that transaction holds the ledger's write lock for the whole dry run (other
 * writers wait), and LMDB keeps the pages it changed in memory (about what the real run
 * would write, at most its limit of dirty pages, 512 MiB, past which it spills them into
 * free space of the file, uncommitted). If the map fills up, the dry run grows it and runs
 * again from the start: its input is read again (a pipe is copied to a temporary file first)
 * and the bad rows' report is kept in a temporary file until the dry run has ended.
 * A row that is not valid CSV (a stray quote, a NUL byte) is reported with its line, the
 * parser starts afresh on the next line, and the import goes on.
 * Every bad row is reported, and none is kept: a batch's errors are written as soon as the
 * batch has committed (or, in a dry run, been checked), so memory does not grow with the file
 * and a batch that runs twice (the map grew) reports once. Text: one stderr line each, the
 * summary at the end. --json: one object on one line, its "errors" array streamed first and
 * the counts after it; once it has begun it is always finished, even when a later batch
 * fails (then with "stopped", and the failure on stderr).
 */
#include <csv.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define IMPORT_BATCH_ROWS 1000u
#define IMPORT_COLUMNS_MAX 32u
#define CHUNK_BYTES (64u * 1024u)
/* A row longer than this stops the import (an unterminated quote would otherwise make the
 * rest of a hostile file one field, held in memory by the parser). */
#define ROW_BYTES_MAX (1024u * 1024u)

enum { KIND_CUSTOMERS, KIND_DOCUMENTS };

static const char *const CUSTOMER_COLUMNS[] = {
    "name", "ref", "type", "status", "currency", "credit_limit", "owner", "external_id", "email",
    "phone", "billing_street", "billing_city", "billing_region", "billing_postcode",
    "billing_country", "shipping_street", "shipping_city", "shipping_region",
    "shipping_postcode", "shipping_country", NULL};
static const char *const DOCUMENT_COLUMNS[] = {"kind", "customer", "doc", "date", "due", "amount",
                                               NULL};

typedef struct {
    uint64_t line;
    char *f[IMPORT_COLUMNS_MAX]; /* by column index of the header; NULL = empty */
    size_t n;
    char *error; /* a row that could not be parsed into fields */
} row;

typedef struct {
    cli_ctx *c;
    folio_db *db;
    int kind, dry_run;
    folio_on_existing on_existing;
    FILE *in;         /* the CSV (a dry run's pipe: a temporary copy of it) */
    const char *file; /* its name, for messages */
    FILE *spool;      /* dry run: the bad rows' report until the dry run has ended */
    off_t in_start;   /* dry run: where the input began */
    unsigned runs;    /* dry run: times its batch ran (the map grew: again from the start) */
    int said;         /* the failure is on stderr already */
    /* Everything from here on is the state of one pass over the file (importer_restart). */
    /* header: for each CSV column, the index of the known column it is */
    int have_header;
    int col[IMPORT_COLUMNS_MAX];
    size_t ncols;
    /* the row being parsed */
    row cur;
    int in_row;
    uint64_t line, next_row_line, row_first_line; /* row_first_line: 0 = no row under way */
    size_t row_bytes; /* bytes fed to the parser since the last row ended */
    int fatal;
    char fatal_msg[256];
    /* rows waiting for their batch */
    row batch[IMPORT_BATCH_ROWS];
    size_t pending;
    /* results */
    uint64_t accepted, rejected, existing;
    uint64_t batch_accepted, batch_rejected, batch_existing;
    struct {
        uint64_t line;
        char *msg;
    } batch_errors[IMPORT_BATCH_ROWS]; /* a row has at most one */
    size_t nbatch_errors;
    uint64_t reported;   /* errors written so far (the batches that committed) */
    int json_begun;      /* --json: "{\"errors\":[" is out, the object must be finished */
    int flush_rc; /* a batch that failed as a whole (storage) */
} importer;

static int flush(importer *im);

static const char *const *columns_of(int kind) {
    return kind == KIND_CUSTOMERS ? CUSTOMER_COLUMNS : DOCUMENT_COLUMNS;
}

static int column_index(int kind, const char *name) {
    const char *const *cols = columns_of(kind);
    for (int i = 0; cols[i]; i++)
        if (strcmp(cols[i], name) == 0) return i;
    return -1;
}

static void row_free(row *r) {
    for (size_t i = 0; i < IMPORT_COLUMNS_MAX; i++) free(r->f[i]);
    free(r->error);
    memset(r, 0, sizeof *r);
}

static void on_field(void *data, size_t len, void *arg) {
    importer *im = arg;
    if (!im->in_row) {
        im->in_row = 1;
        im->cur.line = im->row_first_line ? im->row_first_line : im->next_row_line;
    }
    if (im->cur.n >= IMPORT_COLUMNS_MAX) {
        im->cur.n++;
        return;
    }
    im->cur.f[im->cur.n++] = data ? strndup(data, len) : NULL;
}

static void take_header(importer *im) {
    int seen[IMPORT_COLUMNS_MAX] = {0};
    if (im->cur.n > IMPORT_COLUMNS_MAX) {
        snprintf(im->fatal_msg, sizeof im->fatal_msg, "the header has more than %u columns",
                 IMPORT_COLUMNS_MAX);
        im->fatal = 1;
        return;
    }
    for (size_t i = 0; i < im->cur.n; i++) {
        const char *name = im->cur.f[i] ? im->cur.f[i] : "";
        int k = column_index(im->kind, name);
        if (k < 0) {
            snprintf(im->fatal_msg, sizeof im->fatal_msg, "line %llu: unknown column '%s'",
                     (unsigned long long)im->cur.line, name);
            im->fatal = 1;
            return;
        }
        if (seen[k]++) {
            snprintf(im->fatal_msg, sizeof im->fatal_msg, "line %llu: column '%s' appears twice",
                     (unsigned long long)im->cur.line, name);
            im->fatal = 1;
            return;
        }
        im->col[i] = k;
    }
    /* required columns */
    const char *required[4] = {NULL};
    if (im->kind == KIND_CUSTOMERS)
        required[0] = "name";
    else
        required[0] = "kind", required[1] = "customer", required[2] = "amount", required[3] = "doc";
    for (int r = 0; r < 4 && required[r]; r++) {
        if (!seen[column_index(im->kind, required[r])]) {
            snprintf(im->fatal_msg, sizeof im->fatal_msg, "the header lacks the required column '%s'",
                     required[r]);
            im->fatal = 1;
            return;
        }
    }
    im->ncols = im->cur.n;
    im->have_header = 1;
}

static void on_row(int term, void *arg) {
    importer *im = arg;
    (void)term;
    im->in_row = 0;
    im->row_first_line = 0;
    im->next_row_line = im->line + 1;
    im->row_bytes = 0;
    if (im->fatal) {
        row_free(&im->cur);
        return;
    }
    if (!im->have_header) {
        take_header(im);
        row_free(&im->cur);
        return;
    }
    if (im->pending >= IMPORT_BATCH_ROWS) { /* a batch failed to commit: stop taking rows */
        row_free(&im->cur);
        return;
    }
    row *r = &im->batch[im->pending++];
    *r = im->cur;
    memset(&im->cur, 0, sizeof im->cur);
    if (r->n != im->ncols) {
        char msg[96];
        for (size_t i = 0; i < IMPORT_COLUMNS_MAX; i++) { /* fields out of place: drop them */
            free(r->f[i]);
            r->f[i] = NULL;
        }
        snprintf(msg, sizeof msg, "expected %zu fields, found %zu", im->ncols, r->n);
        r->error = strdup(msg);
        return;
    }
    /* Re-key the fields by known column. */
    char *by_col[IMPORT_COLUMNS_MAX] = {NULL};
    for (size_t i = 0; i < r->n; i++) by_col[im->col[i]] = r->f[i];
    memcpy(r->f, by_col, sizeof by_col);
}

/* After every row: a full batch goes in (rows can end several to a chunk). */
static void on_row_then_flush(int term, void *arg) {
    importer *im = arg;
    on_row(term, arg);
    if (im->pending >= IMPORT_BATCH_ROWS && im->flush_rc == FOLIO_OK) im->flush_rc = flush(im);
}

static const char *field(const row *r, int kind, const char *name) {
    int k = column_index(kind, name);
    return k < 0 ? NULL : r->f[k];
}

static void record_error(importer *im, uint64_t line, const char *msg) {
    im->batch_rejected++;
    if (im->nbatch_errors < IMPORT_BATCH_ROWS) {
        im->batch_errors[im->nbatch_errors].line = line;
        im->batch_errors[im->nbatch_errors].msg = strdup(msg);
        im->nbatch_errors++;
    }
}

/* --json: begin the summary object with its "errors" array (once). */
static void json_begin(importer *im) {
    if (im->json_begun) return;
    fputs("{\"errors\":[", stdout);
    im->json_begun = 1;
}

/* --json: end the errors array and the object with the counts (after json_begin); `stopped`
 * (or NULL) says why the import stopped before the end of the file. */
static void json_finish(importer *im, const char *stopped) {
    printf("],\"accepted\":%llu,\"rejected\":%llu,\"existing\":%llu,\"dry_run\":%s",
           (unsigned long long)im->accepted, (unsigned long long)im->rejected,
           (unsigned long long)im->existing, im->dry_run ? "true" : "false");
    if (stopped) {
        printf(",\"stopped\":");
        cli_json_string(stdout, stopped);
    }
    printf("}\n");
}

/* Write the bad rows of a batch that went in (or was checked): in file order, each once. A
 * dry run keeps them in its spool until it has ended (spool_out). */
static void report_batch_errors(importer *im) {
    if (im->nbatch_errors == 0) return;
    FILE *out = im->spool ? im->spool : im->c->json ? stdout : stderr;
    if (!im->c->json && !im->spool) cli_progress_end(); /* a progress line: end it first */
    for (size_t i = 0; i < im->nbatch_errors; i++) {
        unsigned long long line = (unsigned long long)im->batch_errors[i].line;
        const char *msg = im->batch_errors[i].msg ? im->batch_errors[i].msg : "out of memory";
        if (im->c->json) {
            if (!im->spool) json_begin(im);
            fprintf(out, "%s{\"line\":%llu,\"message\":", im->reported ? "," : "", line);
            cli_json_string(out, msg);
            fputc('}', out);
        } else {
            fprintf(out, "folio: line %llu: ", line);
            cli_print_text(out, msg); /* one line, whatever the row held */
            fputc('\n', out);
        }
        im->reported++;
    }
    fflush(out);
}

/* Dry run, once it has ended: write out the bad rows kept in the spool (as
 * report_batch_errors writes them in a real run). */
static int spool_out(importer *im) {
    char buf[8192];
    size_t n;
    if (im->reported == 0 || !im->spool) return FOLIO_OK;
    FILE *out = im->c->json ? stdout : stderr;
    if (im->c->json) json_begin(im);
    else cli_progress_end();
    if (fflush(im->spool) != 0 || fseek(im->spool, 0, SEEK_SET) != 0)
        return FOLIO_ERROR;
    while ((n = fread(buf, 1, sizeof buf, im->spool)) > 0) fwrite(buf, 1, n, out);
    fflush(out);
    return ferror(im->spool) ? FOLIO_ERROR : FOLIO_OK;
}

static void clear_batch_results(importer *im) {
    for (size_t i = 0; i < im->nbatch_errors; i++) free(im->batch_errors[i].msg);
    im->nbatch_errors = 0;
    im->batch_accepted = im->batch_rejected = im->batch_existing = 0;
}

/* One batch: every pending row as its own write in the batch's transaction
 * (folio_batch_run runs this). */
static int run_rows(folio_db *db, void *arg) {
    importer *im = arg;
    folio_write_opts w = cli_write_opts(im->c);
    w.idempotency_key = NULL; /* cmd_import refuses both: rows are found again by ref, */
    w.has_expected_version = 0; /* external id, name or number */
    clear_batch_results(im); /* the batch may run twice (the map grew) */
    for (size_t i = 0; i < im->pending; i++) {
        const row *r = &im->batch[i];
        folio_write_result res;
        int rc;
        if (r->error) {
            record_error(im, r->line, r->error);
            continue;
        }
        if (im->kind == KIND_CUSTOMERS) {
#define F(name) field(r, KIND_CUSTOMERS, name)
            folio_customer_new cu = {
                .name = F("name"), .ref = F("ref"), .type = F("type"), .status = F("status"),
                .currency = F("currency"), .credit_limit = F("credit_limit"), .owner = F("owner"),
                .external_id = F("external_id"),
                .billing = {F("billing_street"), F("billing_city"), F("billing_region"),
                            F("billing_postcode"), F("billing_country")},
                .shipping = {F("shipping_street"), F("shipping_city"), F("shipping_region"),
                             F("shipping_postcode"), F("shipping_country")}};
            folio_contact_new contact = {F("name"), F("email"), F("phone"), "main"};
            int with_contact = F("email") || F("phone");
#undef F
            rc = folio_customer_upsert(&res, db, &w, &cu, with_contact ? &contact : NULL,
                                       im->on_existing);
        } else {
#define F(name) field(r, KIND_DOCUMENTS, name)
            folio_document_new d = {.amount = F("amount"), .doc = F("doc"), .date = F("date"),
                                    .due = F("due")};
            if (!F("kind") || !F("customer")) {
                record_error(im, r->line, "kind and customer are required");
                continue;
            }
            rc = folio_document_import(&res, db, &w, F("kind"), F("customer"), &d);
#undef F
        }
        if (rc == FOLIO_EFULL) return rc; /* the map is full: the batch grows it, runs again */
        if (rc < 0) {
            record_error(im, r->line, folio_errmsg());
        } else {
            im->batch_accepted++;
            if (res.existed) im->batch_existing++;
        }
    }
    return FOLIO_OK;
}

static int flush(importer *im) {
    int rc = FOLIO_OK;
    if (im->pending == 0) return FOLIO_OK;
    /* A dry run's batches all join the one transaction it runs in (dry_run_all). */
    rc = im->dry_run ? run_rows(im->db, im) : folio_batch_run(im->db, run_rows, im, 0);
    if (rc == FOLIO_OK) {
        im->accepted += im->batch_accepted;
        im->rejected += im->batch_rejected;
        im->existing += im->batch_existing;
        report_batch_errors(im);
    }
    clear_batch_results(im);
    for (size_t i = 0; i < im->pending; i++) row_free(&im->batch[i]);
    im->pending = 0;
    if (isatty(STDERR_FILENO)) cli_progress(NULL, "import", im->accepted + im->rejected, 0);
    return rc;
}

/* One pass over the CSV: the header, then every row into its batch (flush), and the rows
 * left at the end. Returns FOLIO_OK (a stop for bad CSV or a bad header is im->fatal) or the
 * failure of a batch. */
static int read_file(importer *im) {
    FILE *in = im->in;
    const char *file = im->file;
    im->next_row_line = 1;
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL);
    char *chunk = malloc(CHUNK_BYTES);
    int rc = chunk ? FOLIO_OK : FOLIO_ERROR, first = 1;
    im->line = 1;
    size_t have = 0, used = 0;
    for (;;) {
        /* Next piece: up to and including a newline, or what the buffer holds. Lengths are
         * known (a NUL byte cannot hide the rest of a line). */
        if (used == have) {
            have = fread(chunk, 1, CHUNK_BYTES, in);
            used = 0;
            if (have == 0) break;
        }
        char *nl = memchr(chunk + used, '\n', have - used);
        char *cr = memchr(chunk + used, '\r', (nl ? (size_t)(nl - chunk) : have) - used);
        if (cr && cr + 1 < chunk + have && cr[1] != '\n') nl = cr; /* a lone CR ends a line too */
        size_t len = nl ? (size_t)(nl - (chunk + used)) + 1 : have - used;
        char *piece = chunk + used;
        used += len;
        size_t off = 0;
        if (first && len >= 3 && memcmp(piece, "\xEF\xBB\xBF", 3) == 0) off = 3; /* a BOM */
        first = 0;
        int whole_line = nl != NULL;
        /* A row starts on the first line with content since the last one ended (blank lines
         * and lines of spaces or tabs between rows are skipped by the parser). */
        if (!im->row_first_line && strspn(piece + off, " \t\r\n") < len - off)
            im->row_first_line = im->line;
        im->row_bytes += len - off;
        if (im->row_bytes > ROW_BYTES_MAX) {
            snprintf(im->fatal_msg, sizeof im->fatal_msg,
                     "line %llu: a row longer than %u bytes (an unterminated quote?): stopped",
                     (unsigned long long)(im->row_first_line ? im->row_first_line : im->line),
                     ROW_BYTES_MAX);
            im->fatal = 1;
            break;
        }
        const char *bad = memchr(piece + off, '\0', len - off) ? "holds a NUL byte" : NULL;
        if (!bad && csv_parse(&p, piece + off, len - off, on_field, on_row_then_flush, im) != len - off)
            bad = csv_strerror(csv_error(&p));
        if (bad && !im->have_header) {
            snprintf(im->fatal_msg, sizeof im->fatal_msg, "line %llu: the header %s",
                     (unsigned long long)im->line, bad);
            im->fatal = 1;
        } else if (bad) {
            /* A row that is not CSV: report it, drop the rest of its line, and start the
             * parser afresh on the next line (a bad row never stops the good ones). */
            row *r = &im->batch[im->pending++];
            uint64_t line = im->row_first_line ? im->row_first_line : im->line;
            row_free(&im->cur);
            memset(r, 0, sizeof *r);
            r->line = line;
            char msg[128];
            snprintf(msg, sizeof msg, "not valid CSV: %s", bad);
            r->error = strdup(msg);
            csv_free(&p);
            csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL);
            im->in_row = 0;
            im->row_first_line = 0;
            im->row_bytes = 0;
            im->next_row_line = im->line + 1;
            if (im->pending >= IMPORT_BATCH_ROWS && im->flush_rc == FOLIO_OK) im->flush_rc = flush(im);
            if (!whole_line) { /* skip to the end of this physical line */
                char *end;
                while (!(end = memchr(chunk + used, '\n', have - used)) &&
                       !(end = memchr(chunk + used, '\r', have - used))) {
                    have = fread(chunk, 1, CHUNK_BYTES, in);
                    used = 0;
                    if (have == 0) break;
                }
                if (end) used = (size_t)(end - chunk) + 1;
                whole_line = end != NULL;
            }
        }
        if (whole_line) im->line++;
        rc = im->flush_rc;
        if (rc != FOLIO_OK || im->fatal) break;
    }
    if (ferror(in)) {
        snprintf(im->fatal_msg, sizeof im->fatal_msg, "cannot read %s: %s", file, strerror(errno));
        im->fatal = 1;
    }
    if (!im->fatal && rc == FOLIO_OK && csv_fini(&p, on_field, on_row_then_flush, im) != 0) {
        /* An unterminated quote (strict mode reports it only now): the last row is bad. */
        if (!im->have_header) {
            snprintf(im->fatal_msg, sizeof im->fatal_msg,
                     "line %llu: unterminated quoted field in the header",
                     (unsigned long long)im->next_row_line);
            im->fatal = 1;
        } else {
            row *r = &im->batch[im->pending++];
            uint64_t line = im->in_row ? im->cur.line
                            : im->row_first_line ? im->row_first_line : im->next_row_line;
            row_free(&im->cur);
            memset(r, 0, sizeof *r);
            r->line = line;
            r->error = strdup("unterminated quoted field at the end of the file");
        }
    }
    if (rc == FOLIO_OK && !im->fatal && !im->have_header) {
        snprintf(im->fatal_msg, sizeof im->fatal_msg, "the file has no header row");
        im->fatal = 1;
    }
    if (rc == FOLIO_OK) rc = im->flush_rc;
    if (rc == FOLIO_OK && (!im->fatal || im->have_header)) rc = flush(im); /* rows before a stop */
    cli_progress_end();
    csv_free(&p);
    free(chunk);
    row_free(&im->cur);
    for (size_t i = 0; i < im->pending; i++) row_free(&im->batch[i]);
    im->pending = 0;
    return rc;
}

/* Dry run: forget a pass that the map's growth cut short (folio_batch_run runs the batch
 * again from the start): the input from its beginning, an empty spool, no rows seen. */
static int importer_restart(importer *im) {
    if (fseeko(im->in, im->in_start, SEEK_SET) != 0) return FOLIO_ERROR;
    clearerr(im->in);
    if (fflush(im->spool) != 0 || ftruncate(fileno(im->spool), 0) != 0) return FOLIO_ERROR;
    rewind(im->spool);
    size_t from = offsetof(importer, have_header);
    memset((char *)im + from, 0, sizeof *im - from); /* read_file freed what it held */
    return FOLIO_OK;
}

/* Dry run: the whole file as one batch that is thrown away (folio_batch_run with dry_run),
 * so every row sees the rows before it, as in the real run's committed batches. */
static int dry_run_all(folio_db *db, void *arg) {
    importer *im = arg;
    (void)db;
    if (im->runs++ > 0 && importer_restart(im) != FOLIO_OK) {
        cli_error("import: cannot read %s again for the dry run: %s", im->file, strerror(errno));
        im->said = 1;
        return FOLIO_ERROR;
    }
    return read_file(im);
}

/* An unnamed temporary file in $TMPDIR (else /tmp), gone when closed or at exit: tmpfile()
 * ignores $TMPDIR, and a piped dry run may copy a large file there. NULL (errno set, a
 * one-line error printed) when it cannot be made. */
static FILE *dry_run_tmpfile(void) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char path[4096];
    int fd = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/folio-import-XXXXXX", dir) < sizeof path)
        fd = mkstemp(path);
    else
        errno = ENAMETOOLONG;
    FILE *f = NULL;
    if (fd >= 0) {
        unlink(path);
        if (!(f = fdopen(fd, "w+b"))) close(fd);
    }
    if (!f)
        cli_error("import: cannot create a temporary file in %s for the dry run: %s", dir,
                  strerror(errno));
    return f;
}

/* Dry run: a spool for the bad rows' report and an input that can be read again from the
 * start (a pipe is copied to a temporary file). 0, or the exit code after printing. */
static int dry_run_prepare(importer *im) {
    char buf[8192];
    size_t n;
    if (!(im->spool = dry_run_tmpfile())) return EXIT_SYSTEM;
    im->in_start = ftello(im->in);
    if (im->in_start >= 0 && fseeko(im->in, im->in_start, SEEK_SET) == 0) return 0;
    FILE *copy = dry_run_tmpfile();
    if (!copy) return EXIT_SYSTEM;
    while ((n = fread(buf, 1, sizeof buf, im->in)) > 0)
        if (fwrite(buf, 1, n, copy) != n) break;
    if (ferror(im->in) || ferror(copy) || fflush(copy) != 0) {
        cli_error("import: cannot copy %s for the dry run: %s", im->file, strerror(errno));
        fclose(copy);
        return EXIT_SYSTEM;
    }
    if (im->in != stdin) fclose(im->in);
    im->in = copy;
    im->in_start = 0;
    rewind(copy);
    return 0;
}

int cmd_import(cli_ctx *c) {
    const char *what = NULL, *file = NULL, *on_existing = NULL;
    int dry_run = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if (cli_flag(c, i, "--dry-run")) {
            dry_run = 1;
        } else if ((r = cli_opt(&on_existing, c, &i, "--on-existing")) != 0) {
            if (r < 0) return EXIT_USAGE;
        } else if (cli_is_option(c, i) || file) {
            return cli_bad_arg(c, i);
        } else if (!what) {
            what = c->argv[i];
        } else {
            file = c->argv[i];
        }
    }
    if (!what || !file || (strcmp(what, "customers") && strcmp(what, "documents")))
        return cli_usage("usage: folio import customers|documents FILE [--dry-run] "
                         "[--on-existing skip|update|error]");
    int refused = cli_refuse_write_guards(
        c, "its rows write to many customers, and it has its own idempotency, row by row (a row "
           "is found again by its ref, external id, name or document number, so a re-run "
           "imports nothing twice)");
    if (refused) return refused;
    importer *im = calloc(1, sizeof *im);
    if (!im) return cli_fail(FOLIO_ERROR, "import: out of memory");
    im->c = c;
    im->kind = strcmp(what, "customers") == 0 ? KIND_CUSTOMERS : KIND_DOCUMENTS;
    im->dry_run = dry_run;
    if (on_existing) {
        if (im->kind != KIND_CUSTOMERS) {
            free(im);
            return cli_usage("--on-existing is for customers");
        }
        if (strcmp(on_existing, "skip") == 0) im->on_existing = FOLIO_ON_EXISTING_SKIP;
        else if (strcmp(on_existing, "update") == 0) im->on_existing = FOLIO_ON_EXISTING_UPDATE;
        else if (strcmp(on_existing, "error") == 0) im->on_existing = FOLIO_ON_EXISTING_ERROR;
        else {
            free(im);
            return cli_usage("--on-existing is skip, update or error, not '%s'", on_existing);
        }
    }
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!in) {
        cli_error("cannot read %s: %s", file, strerror(errno));
        free(im);
        return EXIT_NOTFOUND;
    }
    im->in = in;
    im->file = file;
    int code = dry_run ? dry_run_prepare(im) : 0, rc = FOLIO_OK;
    if (!code) code = cli_open(&im->db, c, 1);
    if (!code && dry_run) {
        rc = folio_batch_run(im->db, dry_run_all, im, 1); /* thrown away, whatever it wrote */
        if (rc == FOLIO_OK && spool_out(im) != FOLIO_OK) {
            cli_error("import: cannot read the dry run's report back: %s", strerror(errno));
            im->said = 1;
            rc = FOLIO_ERROR;
        }
    } else if (!code) {
        rc = read_file(im);
    }
    if (im->in != stdin) fclose(im->in);
    if (im->spool) fclose(im->spool);
    if (code) {
        free(im);
        return code;
    }

    if (rc < 0) {
        /* A batch failed as a whole (storage): the batches before it went in. A JSON summary
         * that has begun (bad rows of those batches) is finished, saying where it stopped. */
        if (im->json_begun) {
            char stopped[sizeof im->fatal_msg];
            const char *why = folio_errmsg();
            snprintf(stopped, sizeof stopped, "%s", why && *why ? why : folio_strerror(rc));
            json_finish(im, stopped);
        }
        code = im->said ? cli_exit_code(rc) : cli_fail(rc, "import");
    } else if (im->fatal && !im->have_header) {
        fputs("folio: import: ", stderr);
        cli_print_text(stderr, im->fatal_msg); /* it may quote a header cell */
        fputc('\n', stderr);
        code = EXIT_USAGE;
    } else {
        if (c->json) {
            json_begin(im);
            json_finish(im, im->fatal ? im->fatal_msg : NULL);
        } else {
            printf("%s%llu rows accepted (%llu already there), %llu rejected\n",
                   dry_run ? "dry run, nothing written: " : "", (unsigned long long)im->accepted,
                   (unsigned long long)im->existing, (unsigned long long)im->rejected);
        }
        if (im->fatal) {
            /* A CSV syntax error cannot be skipped: what came before it went in (a re-run
             * after the fix imports nothing twice), nothing after it did. */
            fputs("folio: import: ", stderr);
            cli_print_text(stderr, im->fatal_msg);
            fprintf(stderr, "; the rows before it were %s\n", dry_run ? "checked" : "imported");
            code = EXIT_USAGE;
        } else {
            code = im->rejected ? EXIT_RULE : 0;
        }
    }
    if (dry_run) c->discard_new_ledger = 1; /* a dry run leaves no new file behind */
    code = cli_done(im->db, c, code);
    free(im);
    return code;
}
