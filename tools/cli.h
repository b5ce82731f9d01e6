/*
 * tools/cli.h - what the folio CLI's commands share. The CLI uses only <folio.h>.
 * Exit codes (SPEC section 7): 0 ok, 1 rejected by a rule or a conflict, 2 usage or
 * malformed input, 3 not found, 4 integrity failure, 5 storage or system error.
 */
#ifndef FOLIO_CLI_H
#define FOLIO_CLI_H

#include <folio.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_RULE = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_INTEGRITY = 4, EXIT_SYSTEM = 5 };

typedef struct {
    const char *db_path;         /* --db, FOLIO_DB, else ./folio.db */
    int json;                    /* --json */
    const char *actor;           /* --actor, FOLIO_ACTOR, else the login name */
    const char *reason;          /* --reason */
    int has_expect_version;      /* --expect-version N */
    uint64_t expect_version;
    const char *idempotency_key; /* --idempotency-key K */
    int argc;                    /* the command word and its own arguments */
    char **argv;
    int operands_at;             /* argv[i], i >= operands_at, came after "--": never options */
    int created_ledger;          /* this run created the ledger file (cli_open) */
    int export_mode;             /* log prints the export shape (folio export) */
    int discard_new_ledger;      /* cli_done removes a ledger this run created if it is empty */
} cli_ctx;

/* Print "folio: <message>" on stderr as one line: control characters in the message (it may
 * quote arguments, file names, the engine's messages) are shown as cli_print_text shows them. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_error, then return the exit code for a usage error. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For a write that cannot honour --idempotency-key or --expect-version: refuse them (a
 * usage error saying `why`; the caller would believe they held), else 0. */
int cli_refuse_write_guards(const cli_ctx *c, const char *why);
/* Print "folio: <what>: <detail of rc>" on stderr and return the exit code for rc. */
int cli_fail(int rc, const char *what);
int cli_exit_code(int rc);

/* Open the ledger. write = 0: it must exist (exit 3 naming the path otherwise). Returns an
 * exit code (0 on success) after printing any error. */
int cli_open(folio_db **db, cli_ctx *c, int write);
/* The open options the environment sets (FOLIO_GROUP_READ, FOLIO_ALLOW_SHARED_WRITE). */
void cli_env_opts(folio_open_opts *opts);
/* Close the ledger and return `code`. A ledger this run created is removed again when the
 * command failed and it holds no event: a rejected command changes nothing. */
int cli_done(folio_db *db, cli_ctx *c, int code);

/* Parse a whole unsigned decimal number (no sign, no junk, no overflow). */
int cli_parse_u64(uint64_t *out, const char *s);
/* Fetch the value of an option at argv[*i] ("--name VALUE" or "--name=VALUE"); advances *i.
 * Returns 1 if argv[*i] is that option, 0 if not (an argument after "--" never is), -1
 * (after printing) if its value is missing. */
int cli_opt(const char **value, const cli_ctx *c, int *i, const char *name);
/* cli_opt refuses an option given twice (only --apply may repeat): a parser that reads the
 * same arguments again (export, then log) forgets the options seen first. */
void cli_opt_reset(void);
/* Is argv[i] the flag `name` ("--all")? Not after "--", and not a second time: a flag given
 * twice is not taken, so the parser ends in cli_bad_arg, which refuses it ("--all is given
 * more than once"). */
int cli_flag(const cli_ctx *c, int i, const char *name);
/* Does argv[i] look like an option: "--" and more, before the end-of-options marker "--"? */
int cli_is_option(const cli_ctx *c, int i);
/* The usage error for argv[i], an argument the command has no place for: "given more than
 * once" for a flag taken before, "unknown option" if it looks like one, else "unexpected
 * argument". Names the command (argv[0]). */
int cli_bad_arg(const cli_ctx *c, int i);
/* Take exactly `count` operands from argv[first..] into out[]: an unknown option or another
 * number of operands is a usage error (`usage` is printed for a wrong count). Returns 0 or
 * the exit code after printing. The shared parser of the commands without options. */
int cli_operands(const char **out, const cli_ctx *c, int first, int count, const char *usage);

/* "2026-11-23T23:14:05.123456Z" */
void cli_format_time(char out[40], int64_t us);
/* A JSON string: control characters (C0, DEL, C1) and U+2028/U+2029 escaped (\n, \u001b,
 * \u0085, \u2028), invalid UTF-8 replaced by U+FFFD. */
void cli_json_string(FILE *f, const char *s);
/* JSON text made by folio or jansson (a payload, the changes), with DEL, C1 and U+2028/U+2029
 * written as \u escapes as cli_json_string writes them: the same JSON value. */
void cli_print_json(FILE *f, const char *json);
/* Bytes as lowercase hex, two digits each (hashes in event lines and exports). */
void cli_hex(FILE *f, const uint8_t *p, size_t n);
/* Text on one line, as every text output prints what a ledger holds (names, actors, reasons,
 * notes, refs): control characters are shown as escapes, \n \t \r, \xNN for the rest of C0,
 * DEL and bytes that are not UTF-8, \uNNNN for C1 (U+0080-U+009F) and U+2028/U+2029, so that
 * nothing a ledger holds can start a line or reach the terminal as a command. */
void cli_print_text(FILE *f, const char *s);
/* cli_print_text of at most `bytes` bytes of s. */
void cli_print_text_n(FILE *f, const char *s, size_t bytes);
/* cli_print_text for an HTML page: & < > " as entities too. */
void cli_print_html(FILE *f, const char *s);
/* The terminal columns cli_print_text(s) takes: wide East Asian characters count 2,
 * combining marks 0 (utf8proc_charwidth), an escape its length. */
size_t cli_text_width(const char *s);
/* A column of a text table: s (NULL: "-") as cli_print_text prints it, padded with spaces to
 * `width` display columns (not bytes), after it (width > 0, left-aligned) or before it
 * (width < 0, right-aligned in -width columns). A wider s is printed whole, unpadded. */
void cli_print_cell(FILE *f, const char *s, int width);
/* "as known at seq AT" for a report asked --at-seq ASKED, and when AT is later (ASKED lies
 * inside a command, answered at its end) " (seq ASKED lies inside the command of seqs
 * FIRST-AT)"; html: the dash as an entity. */
void cli_print_as_known(FILE *f, folio_db *db, uint64_t asked, uint64_t at, int html);
/* Print one event in the history item shape ({"seq","version","type","recorded_at","actor",
 * "reason"?,"changes"?,"data"}); with_stream adds "stream" and "ref" and ends the line (log
 * and export); export_from (the iterator that returned e) adds what restore needs:
 * "recorded_at_us", "request_hash"?, "payload" (msgpack, hex) and "chain" (hex). Text: a block
 * with one line per changed field, or one line with the stream. */
int cli_print_history_item(FILE *f, const folio_event *e, int json, int with_stream,
                           const char *ref, const folio_iter *export_from);

/* The options of a write, from the global options. */
folio_write_opts cli_write_opts(const cli_ctx *c);
/* Print a write's result: {"id","ref","seq","version"} (+ "doc", "contact_id", "unchanged",
 * "replayed") with --json, else one line naming the customer and `what` was done. */
int cli_report_write(const cli_ctx *c, const folio_write_result *r, const char *what);

/* Open the ledger for writing, run `call` (which fills `res` using `db` and `w`), report
 * it, and close: the body of every write command. */
#define CLI_RUN_WRITE(ctx, what, call)                                                      \
    do {                                                                                    \
        folio_db *db = NULL;                                                                \
        folio_write_result res;                                                             \
        int code_ = cli_open(&db, (ctx), 1);                                                \
        if (code_) return code_;                                                            \
        folio_write_opts w = cli_write_opts(ctx);                                           \
        int rc_ = (call);                                                                   \
        code_ = rc_ < 0 ? cli_fail(rc_, NULL) : cli_report_write((ctx), &res, (what));      \
        return cli_done(db, (ctx), code_);                                                  \
    } while (0)

/* A progress line with rate and ETA on stderr, only when stderr is a terminal. */
void cli_progress_attach(folio_db *db);
void cli_progress(void *payload, const char *what, uint64_t done, uint64_t total);
void cli_progress_end(void);

/* What a contained child reports back through shared memory (read after it ends). */
typedef struct {
    uint64_t done;    /* events a long operation has done (its progress callback) */
    uint64_t total;   /* events it has in all (0 if unknown) */
    uint64_t located; /* the last seq a locating pass read */
} cli_mark;
/* Run fn(arg, mark) in a child process, so that a damaged page that kills the reader with a
 * signal cannot kill the CLI; *mark is shared with the child and copied back. Returns fn's
 * exit code; or -1 with *sig_out set when a fault signal (SEGV, BUS, ILL, FPE, ABRT, SYS)
 * killed it; any other signal kills the CLI too. The caller must not hold a folio handle.
 * The child ends with exit(): atexit handlers run in it too. */
int cli_contain(int *sig_out, int (*fn)(void *arg, cli_mark *mark), void *arg,
                cli_mark *mark);

int cmd_verify(cli_ctx *c);
int cmd_log(cli_ctx *c);
int cmd_stats(cli_ctx *c);
int cmd_demo(cli_ctx *c);
int cmd_init(cli_ctx *c);
int cmd_create(cli_ctx *c);
int cmd_update(cli_ctx *c);
int cmd_status(cli_ctx *c);
int cmd_delete(cli_ctx *c);
int cmd_own(cli_ctx *c);
int cmd_contact(cli_ctx *c);
int cmd_note(cli_ctx *c);
int cmd_merge(cli_ctx *c);
int cmd_show(cli_ctx *c);
int cmd_find(cli_ctx *c);
int cmd_list(cli_ctx *c);
int cmd_history(cli_ctx *c);
int cmd_deleted(cli_ctx *c);
int cmd_invoice(cli_ctx *c);
int cmd_credit_note(cli_ctx *c);
int cmd_pay(cli_ctx *c);
int cmd_allocate(cli_ctx *c);
int cmd_refund(cli_ctx *c);
int cmd_balance(cli_ctx *c);
int cmd_statement(cli_ctx *c);
int cmd_holds(cli_ctx *c);
int cmd_credit_check(cli_ctx *c);
int cmd_admit(cli_ctx *c);
int cmd_rebuild(cli_ctx *c);
int cmd_check(cli_ctx *c);
int cmd_export(cli_ctx *c);
int cmd_restore(cli_ctx *c);
int cmd_import(cli_ctx *c);

#endif
