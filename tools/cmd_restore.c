/*
 * tools/cmd_restore.c - `folio export [--from SEQ]` and `folio restore FILE`.
 * export: JSON Lines, one event a line with every field, then one line for each key taken by
 * a keyed request that changed nothing ("answer_seq"; docs/EXPORT.md).
 * restore: the lines of an export, into a ledger that does not exist yet or has no event.
 * The file is treated as hostile: lines are capped, JSON is parsed by jansson, every field is
 * checked, and each event's chain hash must come out as exported. The events are written
 * into a new ledger file beside the target, which replaces the target only when every line
 * went in: a bad line stops the restore with its line number and leaves the target as it was.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define LINE_BYTES_MAX (1024u * 1024u) /* an event is at most 64 KiB: as JSON, well under */
#define RESTORE_BATCH 1000u

int cmd_export(cli_ctx *c) {
    for (int i = 1; i < c->argc; i++) {
        const char *v;
        int r = cli_opt(&v, c, &i, "--from");
        if (r < 0) return EXIT_USAGE;
        if (!r) return cli_bad_arg(c, i);
    }
    c->export_mode = 1;
    cli_opt_reset(); /* log reads the same --from again */
    return cmd_log(c);
}

typedef struct {
    folio_restore_item item;
    folio_idem_answer answer; /* an answer line: a key taken by a request that changed nothing */
    json_t *json;             /* keeps the strings alive */
    uint8_t *payload;
    uint8_t request[16], chain[16];
} pending;

enum { LINE_EVENT = 0, LINE_ANSWER = 1 };

static int unhex(uint8_t *out, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static const char *opt_str(json_t *o, const char *key, int *bad) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) *bad = 1;
    return json_string_value(v);
}

/* An answer line: exactly answer_seq, idempotency_key and request_hash. */
static int parse_answer(pending *p, json_t *o, const char **why) {
    int bad = 0;
    json_t *seq = json_object_get(o, "answer_seq");
    const char *key = opt_str(o, "idempotency_key", &bad), *hash = opt_str(o, "request_hash", &bad);
    if (bad || !key || !hash || !json_is_integer(seq) || json_integer_value(seq) < 1 ||
        json_object_size(o) != 3 || strlen(hash) != 32 || unhex(p->request, hash, 16) < 0) {
        *why = "an answer line holds exactly answer_seq (a seq), idempotency_key (a string) and "
               "request_hash (32 hex digits)";
        return -1;
    }
    p->answer = (folio_idem_answer){key, p->request, (uint64_t)json_integer_value(seq)};
    return LINE_ANSWER;
}

/* Turn one line into an item (LINE_EVENT) or an answer (LINE_ANSWER); returns -1 after
 * setting *why. */
static int parse_line(pending *p, const char *line, const char **why) {
    json_error_t err;
    static char msg[256];
    int bad = 0;
    memset(p, 0, sizeof *p);
    p->json = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    if (!p->json || !json_is_object(p->json)) {
        snprintf(msg, sizeof msg, "not a JSON object (%s)", p->json ? "other value" : err.text);
        *why = msg;
        return -1;
    }
    json_t *o = p->json;
    if (json_object_get(o, "answer_seq")) return parse_answer(p, o, why);
    folio_event *e = &p->item.event;
    json_t *seq = json_object_get(o, "seq"), *stream = json_object_get(o, "stream"),
           *version = json_object_get(o, "version"), *schema = json_object_get(o, "schema"),
           *rec = json_object_get(o, "recorded_at_us"), *data = json_object_get(o, "data");
    const char *type = opt_str(o, "type", &bad), *payload = opt_str(o, "payload", &bad),
               *chain = opt_str(o, "chain", &bad), *req = opt_str(o, "request_hash", &bad);
    e->actor = opt_str(o, "actor", &bad);
    e->reason = opt_str(o, "reason", &bad);
    e->correlation = opt_str(o, "correlation", &bad);
    e->idempotency_key = opt_str(o, "idempotency_key", &bad);
    if (bad || !json_is_integer(seq) || !json_is_integer(stream) || !json_is_integer(version) ||
        !json_is_integer(schema) || !json_is_integer(rec) || !type || !payload || !chain ||
        !e->actor || json_integer_value(seq) < 1 || json_integer_value(stream) < 0 ||
        json_integer_value(version) < 1 || json_integer_value(schema) < 1 ||
        json_integer_value(schema) > UINT32_MAX || json_integer_value(rec) < 0) {
        *why = "missing or malformed field (seq, stream, version, type, schema, recorded_at_us, "
               "actor, payload, chain)";
        return -1;
    }
    e->seq = (uint64_t)json_integer_value(seq);
    e->stream = (uint64_t)json_integer_value(stream);
    e->version = (uint64_t)json_integer_value(version);
    e->schema = (uint32_t)json_integer_value(schema);
    e->recorded_at_us = json_integer_value(rec);
    if (folio_event_type_parse(&e->type, type) != FOLIO_OK) {
        *why = "unknown event type";
        return -1;
    }
    size_t hexlen = strlen(payload);
    if (hexlen == 0 || hexlen % 2 || hexlen / 2 > FOLIO_PAYLOAD_BYTES_MAX ||
        !(p->payload = malloc(hexlen / 2)) || unhex(p->payload, payload, hexlen / 2) < 0) {
        *why = "payload is not msgpack in hex";
        return -1;
    }
    e->payload = p->payload;
    e->payload_bytes = hexlen / 2;
    if (strlen(chain) != 32 || unhex(p->chain, chain, 16) < 0) {
        *why = "chain is not 32 hex digits";
        return -1;
    }
    p->item.chain = p->chain;
    if (req) {
        if (strlen(req) != 32 || unhex(p->request, req, 16) < 0) {
            *why = "request_hash is not 32 hex digits";
            return -1;
        }
        p->item.request_hash = p->request;
    }
    json_t *follows = json_object_get(o, "command_follows"); /* absent: ends its command */
    if (follows && (!json_is_integer(follows) || json_integer_value(follows) < 1 ||
                    json_integer_value(follows) > UINT32_MAX)) {
        *why = "command_follows is not a count of events (1 to 4294967295)";
        return -1;
    }
    if (follows) p->item.command_follows = (uint32_t)json_integer_value(follows);
    /* "data" is what people read: it must say what the payload says. */
    char *rendered = NULL;
    json_t *parsed = NULL;
    if (folio_payload_to_json(&rendered, p->payload, e->payload_bytes) == FOLIO_OK)
        parsed = json_loads(rendered, 0, NULL);
    folio_free(rendered);
    int same = parsed && data && json_equal(parsed, data);
    json_decref(parsed);
    if (!same) {
        *why = "\"data\" does not match \"payload\"";
        return -1;
    }
    return LINE_EVENT;
}

/* Move a parsed line to another slot: its item points into the slot's own arrays. */
static void pending_move(pending *dst, pending *src) {
    *dst = *src;
    if (src->item.chain) dst->item.chain = dst->chain;
    if (src->item.request_hash) dst->item.request_hash = dst->request;
    if (src->answer.request_hash) dst->answer.request_hash = dst->request;
    memset(src, 0, sizeof *src);
}

static void pending_free(pending *p) {
    json_decref(p->json);
    free(p->payload);
    memset(p, 0, sizeof *p);
}

/* getline with a cap: a line longer than `max` bytes is not read whole (a hostile file with
 * a line of gigabytes must not take the memory first). Returns the length, -1 at the end of
 * the input, or -2 for a line past `max` (the rest of it left unread). */
static ssize_t read_line(char **line, size_t *cap, FILE *in, size_t max) {
    size_t len = 0;
    int ch;
    while ((ch = getc_unlocked(in)) != EOF) {
        if (len + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 4096;
            char *nl = realloc(*line, ncap);
            if (!nl) return -2;
            *line = nl;
            *cap = ncap;
        }
        (*line)[len++] = (char)ch;
        if (ch == '\n') break;
        if (len > max) return -2;
    }
    if (len == 0 && ch == EOF) return -1;
    (*line)[len] = '\0';
    return (ssize_t)len;
}

/* Write a batch of lines of one kind; returns the exit code (0: written). */
static int write_batch(folio_db *db, pending *batch, size_t n, int kind, uint64_t first_line) {
    static folio_restore_item items[RESTORE_BATCH];
    static folio_idem_answer answers[RESTORE_BATCH];
    int rc, code = 0;
    for (size_t i = 0; i < n; i++) {
        items[i] = batch[i].item;
        answers[i] = batch[i].answer;
    }
    rc = kind == LINE_EVENT ? folio_restore_append(db, items, n)
                            : folio_restore_answers(db, answers, n);
    if (rc < 0) {
        /* The message names the seq of the event that failed. */
        cli_error("restore: lines %llu-%llu: %s", (unsigned long long)first_line,
                  (unsigned long long)(first_line + n - 1), folio_errmsg());
        code = cli_exit_code(rc); /* EFULL/ERROR stay 5: the disk, not the file */
        if (rc == FOLIO_EFORMAT || rc == FOLIO_ENOTFOUND || rc == FOLIO_EINVAL)
            code = EXIT_USAGE;
        /* into an empty ledger, a seq or version that does not follow is a line missing or
         * added: a damaged export, as a chain hash that does not match is */
        if (rc == FOLIO_ECONFLICT) code = EXIT_INTEGRITY;
    }
    for (size_t i = 0; i < n; i++) pending_free(&batch[i]);
    return code;
}

static void remove_ledger(const char *path) {
    char lock[4400];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(path);
    unlink(lock);
}

int cmd_restore(cli_ctx *c) {
    const char *file;
    int r0 = cli_operands(&file, c, 1, 1, "usage: folio restore FILE (an export; - reads stdin)");
    if (r0) return r0;
    int refused = cli_refuse_write_guards(
        c, "it writes the exported events as they were, their keys included, into an empty "
           "ledger");
    if (refused) return refused;
    char tmp[4200], tmp_lock[4400], lock[4400];
    struct stat st;
    folio_db *db = NULL;
    int code = 0;

    /* The target: missing, or a ledger without events. */
    if (stat(c->db_path, &st) == 0) {
        folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
        folio_stats s;
        ro.read_only = 1;
        cli_env_opts(&ro);
        int rc = folio_db_open(&db, c->db_path, &ro);
        if (rc == FOLIO_OK) rc = folio_stats_get(&s, db);
        folio_db_close(db);
        db = NULL;
        if (rc < 0 && rc != FOLIO_EFORMAT) return cli_fail(rc, NULL);
        if (rc == FOLIO_EFORMAT || s.events > 0) {
            cli_error("restore goes into a new or empty ledger; %s is not empty", c->db_path);
            return EXIT_RULE;
        }
    }
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!in) {
        cli_error("cannot read %s: %s", file, strerror(errno));
        return EXIT_NOTFOUND;
    }
    snprintf(tmp, sizeof tmp, "%s.restoring", c->db_path);
    snprintf(tmp_lock, sizeof tmp_lock, "%s-lock", tmp);
    snprintf(lock, sizeof lock, "%s-lock", c->db_path);
    if (stat(tmp, &st) == 0) {
        cli_error("%s exists: another restore is running or was killed (remove it)", tmp);
        if (in != stdin) fclose(in);
        return EXIT_RULE;
    }
    folio_open_opts create = FOLIO_OPEN_OPTS_INIT;
    cli_env_opts(&create);
    int rc = folio_db_open(&db, tmp, &create);
    if (rc < 0) {
        if (in != stdin) fclose(in);
        code = cli_fail(rc, NULL);
        remove_ledger(tmp); /* this process made it (it did not exist): a retry must not trip */
        return code;
    }
    static pending batch[RESTORE_BATCH];
    pending cur;
    size_t n = 0, cap = 0;
    int kind = LINE_EVENT; /* of the lines in batch: events, or answers after them */
    uint64_t line_no = 0, first_line = 1, events = 0;
    char *line = NULL;
    ssize_t len;
    while (code == 0) {
        len = read_line(&line, &cap, in, LINE_BYTES_MAX);
        if (len >= 0 || len == -2) {
            line_no++;
            const char *why = NULL;
            if (len == -2) {
                cli_error("restore: line %llu: longer than %u bytes", (unsigned long long)line_no,
                          LINE_BYTES_MAX);
                code = EXIT_USAGE;
                break;
            }
            int k = parse_line(&cur, line, &why);
            if (k < 0) {
                cli_error("restore: line %llu: %s", (unsigned long long)line_no, why);
                pending_free(&cur);
                code = EXIT_USAGE;
                break;
            }
            if (n > 0 && k != kind) { /* the lines before go in first, in order */
                if (kind == LINE_EVENT) events += n;
                code = write_batch(db, batch, n, kind, first_line);
                n = 0;
                if (code) {
                    pending_free(&cur);
                    break;
                }
            }
            if (n == 0) {
                first_line = line_no;
                kind = k;
            }
            pending_move(&batch[n++], &cur);
        }
        if (n > 0 && (n == RESTORE_BATCH || len < 0)) {
            if (kind == LINE_EVENT) events += n;
            code = write_batch(db, batch, n, kind, first_line);
            n = 0;
            if (isatty(STDERR_FILENO)) cli_progress(NULL, "restore", events, 0);
        }
        if (len < 0) break;
    }
    for (size_t i = 0; i < n; i++) pending_free(&batch[i]);
    cli_progress_end();
    free(line);
    if (in != stdin) fclose(in);
    folio_verify_report vr;
    if (code == 0 && (rc = folio_verify(&vr, db)) < 0) code = cli_fail(rc, "restore: verify");
    folio_db_close(db);
    if (code != 0) {
        remove_ledger(tmp);
        return code;
    }
    /* Every line went in and the result verifies: move it into place, unless someone wrote
     * to the target meanwhile (it must still be missing or empty). */
    if (stat(c->db_path, &st) == 0) {
        folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
        folio_stats s2;
        ro.read_only = 1;
        cli_env_opts(&ro);
        folio_db *t2 = NULL;
        int r2 = folio_db_open(&t2, c->db_path, &ro);
        if (r2 == FOLIO_OK) r2 = folio_stats_get(&s2, t2);
        folio_db_close(t2);
        if (r2 < 0 || s2.events > 0) {
            cli_error("restore: %s got events while restoring; the restored ledger is left at %s",
                      c->db_path, tmp);
            return EXIT_RULE;
        }
    }
    if (rename(tmp, c->db_path) != 0 || rename(tmp_lock, lock) != 0) {
        cli_error("restore: cannot move %s into place: %s", tmp, strerror(errno));
        return EXIT_SYSTEM;
    }
    char head[33];
    folio_hash_hex(head, vr.head);
    if (c->json)
        printf("{\"ok\":true,\"events\":%llu,\"head\":\"%s\"}\n", (unsigned long long)events, head);
    else
        printf("restored %llu events into %s, head %s\n", (unsigned long long)events, c->db_path,
               head);
    return 0;
}
