/*
 * tools/cli_util.c - error reporting, opening the ledger, parsing and printing helpers.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#include "cli.h"

int cli_exit_code(int rc) {
    switch (rc) {
    case FOLIO_OK: return 0;
    case FOLIO_ECONFLICT:
    case FOLIO_ERULE:
    case FOLIO_EEXISTS:
    case FOLIO_ELIMIT: return EXIT_RULE;
    case FOLIO_EINVAL: return EXIT_USAGE;
    case FOLIO_ENOTFOUND: return EXIT_NOTFOUND;
    case FOLIO_ECORRUPT: return EXIT_INTEGRITY;
    default: return EXIT_SYSTEM; /* FOLIO_ERROR, FOLIO_EFULL, FOLIO_EFORMAT */
    }
}

/* The message is formatted first and then printed through cli_print_text, so whatever its
 * arguments quote (a file name, a command-line argument, a message of the engine) cannot
 * break it over two lines. */
static void verror(const char *fmt, va_list ap) {
    char small[512], *big = NULL;
    const char *text = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        text = "(the message could not be formatted)";
    } else if ((size_t)n >= sizeof small) {
        big = malloc((size_t)n + 1); /* out of memory: the message cut short is one line too */
        if (big && vsnprintf(big, (size_t)n + 1, fmt, again) == n) text = big;
    }
    va_end(again);
    fputs("folio: ", stderr);
    cli_print_text(stderr, text);
    fputc('\n', stderr);
    free(big);
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
}

int cli_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_fail(int rc, const char *what) {
    const char *detail = folio_errmsg();
    if (!detail || !*detail) detail = folio_strerror(rc);
    fputs("folio: ", stderr);
    if (what) fprintf(stderr, "%s: ", what);
    cli_print_text(stderr, detail); /* one line, whatever the message quotes */
    fputc('\n', stderr);
    return cli_exit_code(rc);
}

void cli_env_opts(folio_open_opts *opts) {
    /* FOLIO_GROUP_READ=1: new ledgers readable by the group (data 0640, lock 0660);
     * FOLIO_ALLOW_SHARED_WRITE=1: accept a ledger file that group or others may write. */
    const char *g = getenv("FOLIO_GROUP_READ"), *sw = getenv("FOLIO_ALLOW_SHARED_WRITE");
    opts->group_read = g && strcmp(g, "1") == 0;
    opts->allow_shared_write = sw && strcmp(sw, "1") == 0;
}

int cli_open(folio_db **db, cli_ctx *c, int write) {
    folio_open_opts opts = FOLIO_OPEN_OPTS_INIT;
    struct stat st;
    opts.must_exist = !write;
    cli_env_opts(&opts);
    c->created_ledger = write && stat(c->db_path, &st) != 0 && errno == ENOENT;
    int rc = folio_db_open(db, c->db_path, &opts);
    if (rc == FOLIO_OK) return 0;
    return cli_fail(rc, NULL);
}

int cli_done(folio_db *db, cli_ctx *c, int code) {
    int empty = 0;
    if (db && (code != 0 || c->discard_new_ledger) && c->created_ledger) {
        folio_iter *it = NULL;
        const folio_event *e;
        empty = folio_log_open(&it, db, 1, 0) == FOLIO_OK && folio_iter_next(&e, it) == FOLIO_ITEROVER;
        folio_iter_free(it);
    }
    folio_db_close(db);
    if (empty) {
        char lock[4200];
        snprintf(lock, sizeof lock, "%s-lock", c->db_path);
        unlink(c->db_path);
        unlink(lock);
    }
    return code;
}

int cli_parse_u64(uint64_t *out, const char *s) {
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* The options (and flags) seen so far in this run (one command per process). An option
 * given twice is a usage error, not the last one winning: 'merge --keep A --delete B
 * --delete C' must not merge C and leave B. Only --apply is a list. A flag given twice is
 * refused alike ('--all --all'), so that no repeat means anything. */
static char opts_seen[64][32]; /* copies: some names are built in a buffer (--billing-...) */
static unsigned opts_seen_count;

static int seen(const char *name) {
    for (unsigned k = 0; k < opts_seen_count; k++)
        if (strcmp(opts_seen[k], name) == 0) return 1;
    return 0;
}

static int seen_before(const char *name) {
    if (strcmp(name, "--apply") == 0) return 0;
    if (seen(name)) return 1;
    if (opts_seen_count < sizeof opts_seen / sizeof opts_seen[0] && strlen(name) < sizeof opts_seen[0])
        strcpy(opts_seen[opts_seen_count++], name);
    return 0;
}

int cli_refuse_write_guards(const cli_ctx *c, const char *why) {
    if (!c->idempotency_key && !c->has_expect_version) return 0;
    return cli_usage("%s takes no --idempotency-key or --expect-version: %s", c->argv[0], why);
}

void cli_opt_reset(void) { opts_seen_count = 0; }

int cli_opt(const char **value, const cli_ctx *c, int *i, const char *name) {
    const char *a = c->argv[*i];
    size_t n = strlen(name);
    if (*i >= c->operands_at) return 0; /* after "--": a value, whatever it looks like */
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] != '=' && a[n] != '\0') return 0;
    if (seen_before(name)) {
        cli_usage("%s is given more than once", name);
        return -1;
    }
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (*i + 1 >= c->argc) {
        cli_usage("%s needs a value", name);
        return -1;
    }
    *value = c->argv[++*i];
    return 1;
}

int cli_flag(const cli_ctx *c, int i, const char *name) {
    if (i >= c->operands_at || strcmp(c->argv[i], name) != 0) return 0;
    return !seen_before(name); /* a repeat is not taken: cli_bad_arg refuses it */
}

int cli_is_option(const cli_ctx *c, int i) {
    const char *a = c->argv[i];
    return i < c->operands_at && a[0] == '-' && a[1] == '-' && a[2] != '\0';
}

int cli_bad_arg(const cli_ctx *c, int i) {
    if (cli_is_option(c, i) && seen(c->argv[i])) /* a flag again (cli_flag did not take it) */
        return cli_usage("%s is given more than once", c->argv[i]);
    if (cli_is_option(c, i))
        return cli_usage("%s: unknown option '%s' (a value that starts with '--' goes after "
                         "'--', the end of the options)",
                         c->argv[0], c->argv[i]);
    return cli_usage("%s: unexpected argument '%s'", c->argv[0], c->argv[i]);
}

int cli_operands(const char **out, const cli_ctx *c, int first, int count, const char *usage) {
    int n = 0;
    for (int i = first; i < c->argc; i++) {
        if (cli_is_option(c, i)) return cli_bad_arg(c, i);
        if (n < count) out[n] = c->argv[i];
        n++;
    }
    if (n != count) return cli_usage("%s", usage);
    return 0;
}

void cli_format_time(char out[40], int64_t us) {
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%06lldZ", (long long)(us % 1000000));
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p) {
    unsigned char c = p[0];
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4)) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))) return 0;
    return n;
}

/* The code point of the valid UTF-8 sequence of n bytes at p (utf8_len said n). */
static uint32_t utf8_cp(const unsigned char *p, size_t n) {
    if (n == 1) return p[0];
    uint32_t cp = p[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3fu);
    return cp;
}

/* Code points that are valid in a JSON string but that a reader may take for the end of a
 * line or for a terminal command: DEL, the C1 controls (U+0080-U+009F: NEL, CSI, ...) and the
 * line and paragraph separators U+2028 and U+2029 (line breaks to JavaScript before ES2019
 * and to some viewers). JSON output writes them as \u escapes, text output likewise. */
static int cp_needs_u_escape(uint32_t cp) {
    return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) { /* not UTF-8: the replacement character keeps the output valid JSON */
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        uint32_t cp = utf8_cp(p, n);
        if (cp_needs_u_escape(cp)) {
            fprintf(f, "\\u%04x", (unsigned)cp);
        } else if (n > 1) {
            fwrite(p, 1, n, f);
        } else {
            switch (*p) {
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default:
                if (*p < 0x20)
                    fprintf(f, "\\u%04x", *p);
                else
                    fputc(*p, f);
            }
        }
        p += n;
    }
    fputc('"', f);
}

void cli_print_json(FILE *f, const char *json) {
    for (const unsigned char *p = (const unsigned char *)json; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) { /* folio and jansson write UTF-8 only; should one not: still JSON */
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        uint32_t cp = utf8_cp(p, n);
        if (cp_needs_u_escape(cp)) /* only inside a string, where the escape means the same */
            fprintf(f, "\\u%04x", (unsigned)cp);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

/* Text as people read it on one line: what cli_print_text, cli_print_html and the table cells
 * print. Control characters (C0, DEL, C1) and U+2028/U+2029 become visible escapes (a
 * backslash and n, t or r; x1b, x7f; u0085, u2028): a newline in an actor or a name must not
 * make a line that reads as another entry, nor an escape sequence reach the terminal. A byte
 * that is not UTF-8 is shown as x and its hex digits too (alone, 0x9b is CSI to an 8-bit
 * terminal). With html, & < > " become entities. At most `bytes` bytes of s; f may be NULL
 * (nothing is printed). Returns the display width in terminal columns: utf8proc_charwidth
 * (2 for a wide East Asian character, 0 for a combining mark), an escape as wide as it is
 * long. */
static size_t text_walk(FILE *f, const char *s, size_t bytes, int html) {
    size_t width = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + bytes;
    while (p < end && *p) {
        size_t n = utf8_len(p);
        if (n > (size_t)(end - p)) n = 0; /* cut short by `bytes`: not a whole sequence */
        char esc[16] = "";
        uint32_t cp = n ? utf8_cp(p, n) : 0;
        if (n == 0) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            n = 1;
        } else if (cp == '\n') {
            strcpy(esc, "\\n");
        } else if (cp == '\t') {
            strcpy(esc, "\\t");
        } else if (cp == '\r') {
            strcpy(esc, "\\r");
        } else if (cp < 0x20 || cp == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
        } else if (cp_needs_u_escape(cp)) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        }
        if (esc[0]) {
            if (f) fputs(esc, f);
            width += strlen(esc);
        } else if (html && (cp == '&' || cp == '<' || cp == '>' || cp == '"')) {
            if (f) fputs(cp == '&' ? "&amp;" : cp == '<' ? "&lt;" : cp == '>' ? "&gt;" : "&quot;", f);
            width++;
        } else {
            if (f) fwrite(p, 1, n, f);
            int w = utf8proc_charwidth((utf8proc_int32_t)cp);
            width += w > 0 ? (size_t)w : 0;
        }
        p += n;
    }
    return width;
}

void cli_print_text(FILE *f, const char *s) { text_walk(f, s, strlen(s), 0); }

void cli_print_text_n(FILE *f, const char *s, size_t bytes) { text_walk(f, s, bytes, 0); }

void cli_print_html(FILE *f, const char *s) { text_walk(f, s, strlen(s), 1); }

size_t cli_text_width(const char *s) { return text_walk(NULL, s, strlen(s), 0); }

void cli_print_cell(FILE *f, const char *s, int width) {
    if (!s) s = "-";
    size_t used = cli_text_width(s), w = width < 0 ? (size_t)(-(long)width) : (size_t)width;
    if (width < 0) /* right-aligned */
        for (size_t i = used; i < w; i++) fputc(' ', f);
    cli_print_text(f, s);
    if (width > 0)
        for (size_t i = used; i < w; i++) fputc(' ', f);
}

/* A JSON value as people read it: strings bare, null as "(none)", others compact JSON. */
static void text_value(FILE *f, json_t *v) {
    if (!v || json_is_null(v)) {
        fputs("(none)", f);
    } else if (json_is_string(v)) {
        cli_print_text(f, json_string_value(v));
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cli_print_json(f, s ? s : "?");
        free(s);
    }
}

/* The documents a merge moved in ([{"kind","doc"},...]) as people read them: "invoice
 * INV-000003, payment PAY-000001", or "none". Anything else as text_value shows it. */
static void text_documents(FILE *f, json_t *v) {
    size_t i;
    json_t *d;
    if (!json_is_array(v)) {
        text_value(f, v);
        return;
    }
    json_array_foreach(v, i, d) {
        json_t *kind = json_object_get(d, "kind"), *doc = json_object_get(d, "doc");
        if (!json_is_string(kind) || !json_is_string(doc) || json_object_size(d) != 2) {
            text_value(f, v);
            return;
        }
    }
    if (json_array_size(v) == 0) fputs("none", f);
    json_array_foreach(v, i, d) {
        if (i) fputs(", ", f);
        cli_print_text(f, json_string_value(json_object_get(d, "kind")));
        fputc(' ', f);
        cli_print_text(f, json_string_value(json_object_get(d, "doc")));
    }
}

void cli_hex(FILE *f, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", p[i]);
}

int cli_print_history_item(FILE *f, const folio_event *e, int json, int with_stream,
                           const char *ref, const folio_iter *export_from) {
    char when[40], *data = NULL, *changes = NULL;
    int rc = folio_payload_to_json(&data, e->payload, e->payload_bytes);
    if (rc == FOLIO_OK) rc = folio_event_changes_json(&changes, e);
    if (rc < 0) {
        folio_free(data);
        return rc;
    }
    cli_format_time(when, e->recorded_at_us);
    const char *type = folio_event_type_name(e->type);
    char unknown[32];
    if (!type) {
        snprintf(unknown, sizeof unknown, "unknown.%u", e->type);
        type = unknown;
    }
    if (json) {
        fprintf(f, "{\"seq\":%llu,", (unsigned long long)e->seq);
        if (with_stream) {
            fprintf(f, "\"stream\":%llu,\"ref\":", (unsigned long long)e->stream);
            if (ref)
                cli_json_string(f, ref);
            else
                fputs("null", f);
            fputc(',', f);
        }
        fprintf(f, "\"version\":%llu,\"type\":", (unsigned long long)e->version);
        cli_json_string(f, type);
        fprintf(f, ",\"schema\":%u,\"recorded_at\":\"%s\",\"actor\":", e->schema, when);
        cli_json_string(f, e->actor);
        if (e->reason) {
            fputs(",\"reason\":", f);
            cli_json_string(f, e->reason);
        }
        if (e->correlation) {
            fputs(",\"correlation\":", f);
            cli_json_string(f, e->correlation);
        }
        if (e->idempotency_key) {
            fputs(",\"idempotency_key\":", f);
            cli_json_string(f, e->idempotency_key);
        }
        if (changes) {
            fputs(",\"changes\":", f);
            cli_print_json(f, changes);
        }
        fputs(",\"data\":", f);
        cli_print_json(f, data);
        if (export_from) { /* what restore needs to rebuild the event byte for byte */
            uint8_t h[16];
            fprintf(f, ",\"recorded_at_us\":%lld", (long long)e->recorded_at_us);
            if (folio_iter_request_hash(h, export_from)) {
                fputs(",\"request_hash\":\"", f);
                cli_hex(f, h, sizeof h);
                fputc('"', f);
            }
            fputs(",\"payload\":\"", f);
            cli_hex(f, e->payload, e->payload_bytes);
            folio_iter_chain(h, export_from);
            fputs("\",\"chain\":\"", f);
            cli_hex(f, h, sizeof h);
            fputc('"', f);
            uint32_t follows = folio_iter_command_follows(export_from);
            if (follows) fprintf(f, ",\"command_follows\":%u", follows);
        }
        fputc('}', f);
        if (with_stream) fputc('\n', f);
    } else if (with_stream) {
        fprintf(f, "%6llu  %s  ", (unsigned long long)e->seq, when);
        cli_print_cell(f, ref ? ref : (e->stream ? "?" : "ledger"), 12);
        fprintf(f, " v%-4llu %-24s ", (unsigned long long)e->version, type);
        cli_print_text(f, e->actor);
        if (e->reason) {
            fputs(" (", f);
            cli_print_text(f, e->reason);
            fputc(')', f);
        }
        fputs("  ", f);
        cli_print_json(f, data); /* JSON: its strings escaped, C1 and U+2028/9 too */
        fputc('\n', f);
    } else {
        fprintf(f, "seq %llu  v%llu  %s  %s  by ", (unsigned long long)e->seq,
                (unsigned long long)e->version, when, type);
        cli_print_text(f, e->actor);
        if (e->reason) {
            fputs("  (", f);
            cli_print_text(f, e->reason);
            fputc(')', f);
        }
        fputc('\n', f);
        json_t *ch = changes ? json_loads(changes, 0, NULL) : NULL;
        const char *field;
        json_t *pair;
        if (ch) {
            json_object_foreach(ch, field, pair) {
                int docs = strcmp(field, "documents_moved_in") == 0; /* a merge's list */
                fputs("    ", f);
                cli_print_text(f, field); /* a key of customer.updated's map: any string */
                fputs(": ", f);
                text_value(f, json_array_get(pair, 0));
                fputs(" \u2192 ", f);
                if (docs)
                    text_documents(f, json_array_get(pair, 1));
                else
                    text_value(f, json_array_get(pair, 1));
                fputc('\n', f);
            }
            json_decref(ch);
        } else if ((ch = json_loads(data, 0, NULL)) != NULL) {
            json_object_foreach(ch, field, pair) { /* events that change no field: their data */
                fputs("    ", f);
                cli_print_text(f, field);
                fputs(": ", f);
                text_value(f, pair);
                fputc('\n', f);
            }
            json_decref(ch);
        }
    }
    folio_free(changes);
    folio_free(data);
    return FOLIO_OK;
}

folio_write_opts cli_write_opts(const cli_ctx *c) {
    folio_write_opts w = {c->actor, c->reason, NULL, c->idempotency_key, c->has_expect_version,
                          c->expect_version};
    return w;
}

int cli_report_write(const cli_ctx *c, const folio_write_result *r, const char *what) {
    if (c->json) {
        printf("{\"id\":%llu,\"ref\":", (unsigned long long)r->id);
        if (r->ref[0])
            cli_json_string(stdout, r->ref);
        else
            fputs("null", stdout);
        printf(",\"seq\":%llu,\"version\":%llu", (unsigned long long)r->seq,
               (unsigned long long)r->version);
        if (r->doc[0]) {
            fputs(",\"doc\":", stdout);
            cli_json_string(stdout, r->doc);
        }
        if (r->item_id) printf(",\"contact_id\":%llu", (unsigned long long)r->item_id);
        if (r->unchanged) fputs(",\"unchanged\":true", stdout);
        if (r->replayed) fputs(",\"replayed\":true", stdout);
        fputs("}\n", stdout);
        return 0;
    }
    /* `what` may quote an argument (merge's --delete, own's USER): one line whatever it holds */
    cli_print_text(stdout, r->ref[0] ? r->ref : "ledger");
    fputs(": ", stdout);
    if (r->unchanged) {
        fputs("nothing to change (", stdout);
        cli_print_text(stdout, what);
        fputs(")\n", stdout);
        return 0;
    }
    cli_print_text(stdout, what);
    if (r->doc[0]) {
        putchar(' ');
        cli_print_text(stdout, r->doc);
    }
    printf("%s (seq %llu, version %llu)\n",
           r->replayed ? ", already done earlier: nothing appended" : "",
           (unsigned long long)r->seq, (unsigned long long)r->version);
    return 0;
}

/* ---- progress on a terminal ---- */

static struct {
    int shown;
    struct timespec start;
} progress;

static double seconds_since(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void cli_progress(void *payload, const char *what, uint64_t done, uint64_t total) {
    (void)payload;
    if (!progress.shown) clock_gettime(CLOCK_MONOTONIC, &progress.start);
    double secs = seconds_since(&progress.start);
    double rate = secs > 0 ? (double)done / secs : 0;
    fprintf(stderr, "\r%s: %llu", what, (unsigned long long)done);
    if (total) fprintf(stderr, " of %llu events (%.0f%%)", (unsigned long long)total,
                       100.0 * (double)done / (double)total);
    else fprintf(stderr, " events");
    fprintf(stderr, "  %.0f/s", rate);
    if (total && rate > 0 && done < total)
        fprintf(stderr, "  ETA %.0fs", (double)(total - done) / rate);
    fputs("   ", stderr);
    progress.shown = 1;
}

void cli_progress_attach(folio_db *db) {
    if (isatty(STDERR_FILENO)) folio_set_progress(db, cli_progress, NULL);
}

void cli_progress_end(void) {
    if (progress.shown) fputc('\n', stderr);
    progress.shown = 0;
}

void cli_print_as_known(FILE *f, folio_db *db, uint64_t asked, uint64_t at, int html) {
    uint64_t first = 0, last = 0;
    fprintf(f, "as known at seq %llu", (unsigned long long)at);
    /* a seq inside a command is answered at its end: say so, and which command it was */
    if (at != asked && folio_command_bounds(&first, &last, db, asked) == FOLIO_OK && last == at)
        fprintf(f, " (seq %llu lies inside the command of seqs %llu%s%llu)",
                (unsigned long long)asked, (unsigned long long)first, html ? "&ndash;" : "\u2013",
                (unsigned long long)last);
}
