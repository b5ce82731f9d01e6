/*
 * tests/tools/text_output.c - what a person reads in the CLI's text output: table columns
 * padded by display width (names in Japanese, with accents, with combining marks), the text
 * history of a merge naming the documents and balance that came over, `folio help COMMAND`,
 * the statement's brought-forward line saying what it is, and control characters a ledger
 * already holds (old ledgers, raw appends) shown as escapes in every text output and never
 * raw in JSON.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../../engine/internal.h"
#include "cli_run.h"

TestSuite(text_output, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void ok(const char *const *args) { json_decref(cli_json_ok_args(args)); }

/* Run `args`, assert exit 0 and an empty stderr; stdout (free it). */
static char *run_ok_args(const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cr_assert_eq(r.status, 0, "%s exits %d: %s", args[0], r.status, r.err);
    cr_assert_eq(r.err_len, 0, "%s says on stderr: %s", args[0], r.err);
    char *out = r.out;
    r.out = NULL;
    cli_result_free(&r);
    return out;
}
#define RUN(...) run_ok_args(ARGS(__VA_ARGS__))

/* The terminal columns the first `bytes` bytes of s take (utf8proc_charwidth). */
static size_t columns(const char *s, size_t bytes) {
    size_t w = 0;
    utf8proc_int32_t cp;
    for (size_t i = 0; i < bytes;) {
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(bytes - i), &cp);
        cr_assert_gt(n, 0, "not UTF-8 at byte %zu of: %s", i, s);
        w += (size_t)utf8proc_charwidth(cp);
        i += (size_t)n;
    }
    return w;
}

/* The display column at which `needle` starts in the line of `text` that starts with
 * `line_start` (asserting both are there). */
static size_t column_of(const char *text, const char *line_start, const char *needle) {
    const char *line = text;
    while (line && strncmp(line, line_start, strlen(line_start)) != 0) {
        line = strchr(line, '\n');
        if (line) line++;
    }
    cr_assert(line && *line, "no line starts with '%s' in:\n%s", line_start, text);
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char *copy = strndup(line, len);
    const char *at = strstr(copy, needle);
    cr_assert_not_null(at, "'%s' is not in the line '%s'", needle, copy);
    size_t col = columns(copy, (size_t)(at - copy));
    free(copy);
    return col;
}

/* Names whose bytes and columns differ: wide East Asian characters (2 columns each, 3 bytes),
 * precomposed accents (1 column, 2 bytes), combining accents (0 columns, 2 bytes). */
static const char *const NAMES[] = {
    "\xe6\x9d\xb1\xe4\xba\xac\xe5\x95\x86\xe4\xba\x8b\xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe", /* 東京商事株式会社 */
    "Caf\xc3\xa9 M\xc3\xbcller", /* Café Müller */
    "Cafe\xcc\x81 Zoe\xcc\x88 & Sons", /* Café Zoë & Sons, decomposed */
    "Plain Trading Ltd"};
#define NAME_COUNT (sizeof NAMES / sizeof NAMES[0])

/* Each table of the text output pads a column by display width, not by bytes: the columns
 * after a name start at the same column on every line (they did not: 東京商事株式会社 is 24
 * bytes in 16 columns, so the columns after it came 8 columns early). */
Test(text_output, table_columns_line_up_by_display_width_not_bytes) {
    char ref[32];
    for (size_t i = 0; i < NAME_COUNT; i++) {
        ok(ARGS("--json", "create", NAMES[i], "--status", "active", "--owner", "alice"));
        snprintf(ref, sizeof ref, "CUST-%06zu", i + 1);
        ok(ARGS("--json", "status", ref, "hold"));
    }
    /* list: STATUS and OWNER */
    char *text = RUN("list");
    size_t status_col = column_of(text, "REF", "STATUS"), owner_col = column_of(text, "REF", "OWNER");
    for (size_t i = 0; i < NAME_COUNT; i++) {
        snprintf(ref, sizeof ref, "CUST-%06zu", i + 1);
        cr_assert_eq(column_of(text, ref, " hold ") + 1, status_col, "list, %s:\n%s", NAMES[i], text);
        cr_assert_eq(column_of(text, ref, "alice"), owner_col, "list, %s:\n%s", NAMES[i], text);
    }
    free(text);
    /* holds: the reasons after the name */
    text = RUN("holds");
    size_t reason_col = column_of(text, "CUST-000004", " status");
    for (size_t i = 0; i < NAME_COUNT; i++) {
        snprintf(ref, sizeof ref, "CUST-%06zu", i + 1);
        cr_assert_eq(column_of(text, ref, " status"), reason_col, "holds, %s:\n%s", NAMES[i], text);
    }
    free(text);
    /* deleted: SEQ, DELETED AT, MERGED INTO (one merged, the others deleted) */
    ok(ARGS("--json", "create", "Keeper", "--status", "active"));
    ok(ARGS("--json", "merge", "--keep", "CUST-000005", "--delete", "CUST-000001"));
    for (size_t i = 1; i < NAME_COUNT; i++) {
        snprintf(ref, sizeof ref, "CUST-%06zu", i + 1);
        ok(ARGS("--json", "status", ref, "active"));
        ok(ARGS("--json", "delete", ref));
    }
    text = RUN("deleted");
    size_t seq_col = column_of(text, "REF", "SEQ"), at_col = column_of(text, "REF", "DELETED AT");
    size_t into_col = column_of(text, "REF", "MERGED INTO");
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert_eq(json_array_size(d), NAME_COUNT);
    for (size_t i = 0; i < NAME_COUNT; i++) {
        json_t *item = json_array_get(d, i);
        const char *r = cli_jstr(item, "ref");
        char seq[32];
        snprintf(seq, sizeof seq, " %lld ", cli_jint(item, "deleted_seq"));
        cr_assert_eq(column_of(text, r, seq) + 1, seq_col, "deleted, %s:\n%s", r, text);
        cr_assert_eq(column_of(text, r, cli_jstr(item, "deleted_at")), at_col, "deleted, %s:\n%s",
                     r, text);
        cr_assert_eq(column_of(text, r, strcmp(r, "CUST-000001") == 0 ? "CUST-000005" : " -") +
                         (strcmp(r, "CUST-000001") == 0 ? 0 : 1),
                     into_col, "deleted, %s:\n%s", r, text);
    }
    json_decref(d);
    free(text);
}

/* The text history of KEEP says which documents came over with the balance, one field line
 * as the other events' lines are (it said only merged_from and balance_moved_in); the JSON
 * history carries them too, in the changes and in the data. */
Test(text_output, the_history_of_a_merge_lists_the_documents_and_balance_that_came_over) {
    ok(ARGS("--json", "create", "Keep Co", "--status", "active"));
    ok(ARGS("--json", "create", "Dup Co", "--status", "active"));
    ok(ARGS("--json", "create", "Empty Co", "--status", "active"));
    ok(ARGS("--json", "invoice", "CUST-000002", "100.00", "--date", "2026-01-05"));
    ok(ARGS("--json", "invoice", "CUST-000002", "50.00", "--date", "2026-01-06"));
    ok(ARGS("--json", "invoice", "CUST-000002", "20.00", "--date", "2026-01-07"));
    ok(ARGS("--json", "credit-note", "CUST-000002", "5.00", "--date", "2026-01-08"));
    ok(ARGS("--json", "pay", "CUST-000002", "20.00", "--apply", "INV-000003", "--date",
            "2026-01-09"));
    ok(ARGS("--json", "pay", "CUST-000002", "30.00", "--date", "2026-01-10"));
    ok(ARGS("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
    ok(ARGS("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000003"));
    char *text = RUN("history", "CUST-000001");
    /* INV-000003 and PAY-000001 are settled: they stay behind */
    cr_assert_not_null(strstr(text, "    merged_from: (none) \u2192 CUST-000002\n"
                                    "    documents_moved_in: (none) \u2192 invoice INV-000001, "
                                    "invoice INV-000002, credit_note CN-000001, payment PAY-000002\n"
                                    "    balance_moved_in: (none) \u2192 115.00\n"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "    merged_from: (none) \u2192 CUST-000003\n"
                                    "    documents_moved_in: (none) \u2192 none\n"
                                    "    balance_moved_in: (none) \u2192 0.00\n"),
                       "%s", text);
    free(text);
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    json_t *merge = NULL, *item;
    size_t i;
    json_array_foreach(h, i, item) {
        if (strcmp(cli_jstr(item, "type"), "customer.merged_from") == 0) {
            merge = item;
            break;
        }
    }
    cr_assert_not_null(merge);
    json_t *want = cli_json("[{\"kind\":\"invoice\",\"doc\":\"INV-000001\"},"
                            "{\"kind\":\"invoice\",\"doc\":\"INV-000002\"},"
                            "{\"kind\":\"credit_note\",\"doc\":\"CN-000001\"},"
                            "{\"kind\":\"payment\",\"doc\":\"PAY-000002\"}]");
    json_t *pair = json_object_get(json_object_get(merge, "changes"), "documents_moved_in");
    cr_assert(json_is_array(pair) && json_is_null(json_array_get(pair, 0)));
    cr_assert(json_equal(json_array_get(pair, 1), want), "changes: %s",
              json_dumps(pair, JSON_COMPACT));
    cr_assert(json_equal(json_object_get(json_object_get(merge, "data"), "documents"), want));
    json_decref(want);
    json_decref(h);
}

/* `folio help COMMAND` prints that command's usage as `folio COMMAND --help` does (it
 * printed every command's); a command that does not exist is a usage error. */
Test(text_output, help_command_prints_that_commands_usage) {
    char *all = RUN("help");
    const char *words[] = {"show", "statement", "import", "credit-check", "help"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char *h = RUN("help", words[i]);
        if (strcmp(words[i], "help") == 0) {
            cr_assert_str_eq(h, all, "help help is the whole usage");
        } else {
            char *own = RUN(words[i], "--help");
            cr_assert_str_eq(h, own, "help %s", words[i]);
            cr_assert_lt(cli_count_lines(h), cli_count_lines(all) / 4, "help %s:\n%s", words[i], h);
            cr_assert_null(strstr(h, "  verify "), "help %s lists other commands:\n%s", words[i], h);
            free(own);
        }
        free(h);
    }
    free(all);
    cli_fails_with(2, SAYS("nosuch"), ARGS("help", "nosuch"));
    cli_fails_with(2, SAYS("help [COMMAND]"), ARGS("help", "show", "list"));
    cr_assert_eq(cli_dir_entries(), 0, "help opens no ledger");
}

/* The statement's --from line is the open-item statement's brought-forward figure (what is
 * still open of the items dated before --from), not the balance at the start of the period:
 * its label says so in text and HTML; the JSON keeps SPEC's name opening_balance. */
Test(text_output, the_statements_brought_forward_line_says_what_it_is) {
    ok(ARGS("--json", "create", "Acme", "--status", "active"));
    ok(ARGS("--json", "invoice", "CUST-000001", "300.00", "--date", "2026-01-05", "--due",
            "2026-02-04"));
    ok(ARGS("--json", "invoice", "CUST-000001", "200.00", "--date", "2026-01-20", "--due",
            "2026-02-19"));
    ok(ARGS("--json", "invoice", "CUST-000001", "50.00", "--date", "2026-02-10", "--due",
            "2026-03-12"));
    /* paid in the period: the first invoice was owed at the start of it, and is not open */
    ok(ARGS("--json", "pay", "CUST-000001", "300.00", "--apply", "INV-000001", "--date",
            "2026-02-15"));
    json_t *j = cli_json_ok("--json", "statement", "CUST-000001", "--as-of", "2026-03-01",
                            "--from", "2026-02-01");
    cr_assert_str_eq(cli_jstr(j, "opening_balance"), "200.00", "not 500.00, the balance then");
    cr_assert_str_eq(cli_jstr(j, "total_open"), "250.00");
    json_decref(j);
    char *text = RUN("statement", "CUST-000001", "--as-of", "2026-03-01", "--from", "2026-02-01");
    const char *line = strstr(text, "brought forward (items before 2026-02-01 still open)");
    cr_assert_not_null(line, "%s", text);
    const char *eol = strchr(line, '\n');
    const char *amount = strstr(line, "200.00");
    cr_assert(amount && amount < eol, "the figure is on the line: %s", text);
    /* it stands in the OPEN column, as the total does */
    size_t open_end = column_of(text, "  DATE", "OPEN") + 4;
    cr_assert_eq(column_of(text, "  brought forward", "200.00") + 6, open_end, "%s", text);
    cr_assert_eq(column_of(text, "  total open", "250.00") + 6, open_end, "%s", text);
    free(text);
    char *html = RUN("statement", "CUST-000001", "--as-of", "2026-03-01", "--from", "2026-02-01",
                     "--format", "html");
    cr_assert_not_null(strstr(html, "Brought forward (items before 2026-02-01 still open)</td>"
                                    "<td class=\"n\">200.00</td>"),
                       "%s", html);
    free(html);
}

/* ---- control characters a ledger already holds ---- */

typedef struct {
    folio_db *db;
    const folio_event *events;
    size_t count;
} plant_args;

static int plant_txn(folio_txn *t, void *arg) {
    const plant_args *a = arg;
    folio_append_result res;
    return folio_log__append_txn(&res, a->db, t, a->events, a->count, NULL, NULL);
}

/* Append one raw event to ./folio.db below the checks of new writes, as a ledger written
 * before the engine refused control characters holds it. */
static void plant(uint64_t stream, uint32_t type, const char *actor, const char *reason,
                  const char *correlation, const char *json) {
    folio_db *db = NULL;
    void *payload = NULL;
    size_t bytes = 0;
    cr_assert_eq(folio_db_open(&db, cli_path("folio.db"), NULL), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(folio_payload_from_json(&payload, &bytes, json), FOLIO_OK, "%s: %s", json,
                 folio_errmsg());
    folio_event e = {.stream = stream, .type = type, .schema = 1, .actor = actor,
                     .reason = reason, .correlation = correlation, .payload = payload,
                     .payload_bytes = bytes};
    plant_args a = {db, &e, 1};
    cr_assert_eq(folio_log__write(db, plant_txn, &a), FOLIO_OK, "%s", folio_errmsg());
    folio_free(payload);
    folio_db_close(db);
}

/* Does s hold a control character (C0 but the line ends, DEL, C1) or U+2028/U+2029 raw? */
static const char *raw_control(const char *s, int newlines_ok) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' && newlines_ok) continue;
        if (*p < 0x20 || *p == 0x7f) return (const char *)p;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return (const char *)p;
        if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) return (const char *)p;
    }
    return NULL;
}

static void assert_text_clean(const char *what, const char *text) {
    const char *bad = raw_control(text, 1);
    cr_assert_null(bad, "%s prints a control character raw at byte %zu:\n%s", what,
                   (size_t)(bad - text), text);
    /* no line of it reads as a forged entry */
    for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        cr_assert(strncmp(line, "seq 99", 6) != 0 && strncmp(line, "CUST-000099", 11) != 0,
                  "%s has a forged line:\n%s", what, text);
}

/* The forged actor: a newline, then what looks like another history entry. */
#define FORGED_ACTOR "mallory\nseq 99  v9  2026-01-01T00:00:00.000000Z  customer.created  by root"
/* ESC (a terminal command), NEL (C1, a line break to some readers), DEL, U+2028, U+2029 */
#define NASTY "\x1b[2J\xc2\x85\x7f\xe2\x80\xa8\xe2\x80\xa9"
#define NASTY_JSON "\\u001b[2J\\u0085\\u007f\\u2028\\u2029"

/* Control characters in event fields a ledger already holds (the actor, reason, correlation
 * of any event; names, owners, contacts, notes, document numbers of raw events) are shown as
 * escapes in every text output (a newline in an actor printed another "seq 99 ..." line
 * in the history; names, owners and notes went out raw in show, list, deleted, holds,
 * statement and the history's field lines) and never raw in JSON (C1, DEL and U+2028/2029
 * went out raw). */
Test(text_output, control_characters_a_ledger_holds_are_escaped_in_every_text_output) {
    ok(ARGS("--json", "create", "Plain Co", "--status", "active"));
    plant(1, FOLIO_EV_CUSTOMER_NOTE_ADDED, FORGED_ACTOR, "why" NASTY, "corr" NASTY,
          "{\"text\":\"note\\nCUST-000099  forged" NASTY_JSON "\"}");
    plant(1, FOLIO_EV_CUSTOMER_UPDATED, "bob" NASTY, NULL, NULL,
          "{\"changes\":{\"name\":[\"Plain Co\",\"Plain\\nCUST-000099 Co" NASTY_JSON "\"]}}");
    plant(1, FOLIO_EV_CUSTOMER_CONTACT_ADDED, "bob", NULL, NULL,
          "{\"id\":1,\"name\":\"Ann\\nCUST-000099" NASTY_JSON "\",\"email\":\"a\\u001b@x\","
          "\"phone\":null,\"role\":\"r\\u0085\"}");
    plant(1, FOLIO_EV_CUSTOMER_OWNER_CHANGED, "bob", NULL, NULL,
          "{\"from\":null,\"to\":\"own\\ner" NASTY_JSON "\"}");
    plant(1, FOLIO_EV_CUSTOMER_STATUS_CHANGED, "bob", NULL, NULL,
          "{\"from\":\"active\",\"to\":\"hold\"}");
    plant(1, FOLIO_EV_INVOICE_ISSUED, "bob", NULL, NULL,
          "{\"doc\":\"INV\\n1" NASTY_JSON "\",\"date\":\"2026-01-05\",\"due\":\"2026-02-04\","
          "\"amount\":\"10.00\"}");
    ok(ARGS("--json", "create", "Gone Co"));
    plant(2, FOLIO_EV_CUSTOMER_UPDATED, "bob", NULL, NULL,
          "{\"changes\":{\"name\":[\"Gone Co\",\"Gone\\nCUST-000099" NASTY_JSON "\"]}}");
    ok(ARGS("--json", "delete", "CUST-000002"));

    struct {
        const char *what;
        const char *const *args;
    } texts[] = {
        {"history", ARGS("history", "CUST-000001")},
        {"history of a deleted customer", ARGS("history", "CUST-000002")},
        {"log", ARGS("log")},
        {"show", ARGS("show", "CUST-000001")},
        {"list", ARGS("list")},
        {"holds", ARGS("holds")},
        {"deleted", ARGS("deleted")},
        {"statement", ARGS("statement", "CUST-000001", "--as-of", "2026-03-01")},
        {"statement html", ARGS("statement", "CUST-000001", "--as-of", "2026-03-01", "--format",
                                "html")},
        {"balance", ARGS("balance", "CUST-000001")},
        {"a write's report", ARGS("note", "CUST-000001", "a plain note")},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *text = run_ok_args(texts[i].args);
        assert_text_clean(texts[i].what, text);
        free(text);
    }
    /* The history shows the escapes: one line per entry, the actor whole on it. */
    char *text = RUN("history", "CUST-000001");
    cr_assert_not_null(strstr(text, "by mallory\\nseq 99  v9  2026-01-01T00:00:00.000000Z  "
                                    "customer.created  by root  (why\\x1b[2J\\u0085\\x7f\\u2028"
                                    "\\u2029)\n"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "    text: note\\nCUST-000099  forged\\x1b[2J\\u0085\\x7f"
                                    "\\u2028\\u2029\n"),
                       "%s", text);
    free(text);
    text = RUN("show", "CUST-000001");
    cr_assert_not_null(strstr(text, "CUST-000001  Plain\\nCUST-000099 Co\\x1b[2J\\u0085\\x7f"
                                    "\\u2028\\u2029\n"),
                       "%s", text);
    free(text);

    /* JSON: escaped, and the same strings once parsed */
    const char *const *jsons[] = {
        ARGS("--json", "history", "CUST-000001"), ARGS("--json", "show", "CUST-000001"),
        ARGS("--json", "list"), ARGS("--json", "deleted"), ARGS("--json", "holds"),
        ARGS("--json", "statement", "CUST-000001", "--as-of", "2026-03-01"),
        ARGS("--json", "log"), ARGS("export")};
    for (size_t i = 0; i < sizeof jsons / sizeof jsons[0]; i++) {
        char *out = run_ok_args(jsons[i]);
        const char *bad = raw_control(out, 1);
        cr_assert_null(bad, "%s %s: raw at byte %zu:\n%s", jsons[i][0], jsons[i][1],
                       (size_t)(bad - out), out);
        free(out);
    }
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    json_t *note = json_array_get(h, 2);
    cr_assert_str_eq(cli_jstr(note, "actor"), FORGED_ACTOR);
    cr_assert_str_eq(cli_jstr(note, "reason"), "why" NASTY);
    cr_assert_str_eq(cli_jstr(note, "correlation"), "corr" NASTY);
    cr_assert_str_eq(cli_jstr(json_object_get(note, "data"), "text"),
                     "note\nCUST-000099  forged" NASTY);
    json_decref(h);
}
