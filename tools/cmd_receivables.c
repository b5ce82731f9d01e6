/*
 * tools/cmd_receivables.c - invoice, credit-note, pay, allocate, refund, balance, statement,
 * holds, credit-check, admit.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* CUSTOMER AMOUNT [--doc D] [--date D] [--due D]; other options go to `extra`. */
typedef struct {
    const char *ref;
    folio_document_new d;
    const char *from;
    folio_apply applies[FOLIO_ALLOCATIONS_MAX];
    char *apply_text[FOLIO_ALLOCATIONS_MAX];
    size_t apply_count;
    int auto_allocate;
} doc_cli;

static int parse_doc_args(doc_cli *a, cli_ctx *c, const char *cmd, int due_ok, int pay_ok,
                          int from_ok) {
    const char *positional[2] = {NULL, NULL};
    int np = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *v;
        int r;
        if ((r = cli_opt(&a->d.doc, c, &i, "--doc")) || (r = cli_opt(&a->d.date, c, &i, "--date")) ||
            (due_ok && (r = cli_opt(&a->d.due, c, &i, "--due"))) ||
            (from_ok && (r = cli_opt(&a->from, c, &i, "--from")))) {
            if (r < 0) return EXIT_USAGE;
        } else if (pay_ok && (r = cli_opt(&v, c, &i, "--apply"))) {
            if (r < 0) return EXIT_USAGE;
            if (a->apply_count == FOLIO_ALLOCATIONS_MAX)
                return cli_usage("at most %u --apply", FOLIO_ALLOCATIONS_MAX);
            char *copy = strdup(v);
            if (!copy) return cli_usage("out of memory");
            a->apply_text[a->apply_count] = copy;
            /* INVOICE[:AMT]: a document number holds no ':' (letters, digits, - _ . /),
             * so the first one ends it; an empty number is malformed input (exit 2), not
             * a document that is not found (3). */
            char *colon = strchr(copy, ':');
            if (colon) *colon = '\0';
            a->applies[a->apply_count++] = (folio_apply){copy, colon ? colon + 1 : NULL};
            if (!*copy) return cli_usage("--apply takes INVOICE[:AMOUNT], not '%s'", v);
        } else if (pay_ok && cli_flag(c, i, "--auto")) {
            a->auto_allocate = 1;
        } else if (cli_is_option(c, i) && !(c->argv[i][2] >= '0' && c->argv[i][2] <= '9')) {
            return cli_bad_arg(c, i); /* ("--5" is an amount: refused as malformed money) */
        } else if (np < 2) {
            positional[np++] = c->argv[i];
        } else {
            return cli_bad_arg(c, i);
        }
    }
    if (np != 2) return cli_usage("usage: folio %s CUSTOMER AMOUNT [options]", cmd);
    a->ref = positional[0];
    a->d.amount = positional[1];
    if (from_ok && !a->from) return cli_usage("%s needs --from DOC", cmd);
    return 0;
}

static void doc_cli_free(doc_cli *a) {
    for (size_t i = 0; i < a->apply_count; i++) free(a->apply_text[i]);
}

int cmd_invoice(cli_ctx *c) {
    doc_cli a = {0};
    int code = parse_doc_args(&a, c, "invoice", 1, 0, 0);
    if (code) return code;
    CLI_RUN_WRITE(c, "invoice", folio_invoice_issue(&res, db, &w, a.ref, &a.d));
}

int cmd_credit_note(cli_ctx *c) {
    doc_cli a = {0};
    int code = parse_doc_args(&a, c, "credit-note", 0, 0, 0);
    if (code) return code;
    CLI_RUN_WRITE(c, "credit note", folio_credit_note_issue(&res, db, &w, a.ref, &a.d));
}

int cmd_pay(cli_ctx *c) {
    static doc_cli a; /* large: keep it off the stack */
    memset(&a, 0, sizeof a);
    int code = parse_doc_args(&a, c, "pay", 0, 1, 0);
    if (code) {
        doc_cli_free(&a);
        return code;
    }
    folio_db *db = NULL;
    folio_write_result res;
    code = cli_open(&db, c, 1);
    if (code == 0) {
        folio_write_opts w = cli_write_opts(c);
        int rc = folio_payment_receive(&res, db, &w, a.ref, &a.d, a.applies, a.apply_count,
                                       a.auto_allocate);
        code = rc < 0 ? cli_fail(rc, NULL) : cli_report_write(c, &res, "payment");
        code = cli_done(db, c, code);
    }
    doc_cli_free(&a);
    return code;
}

int cmd_refund(cli_ctx *c) {
    doc_cli a = {0};
    int code = parse_doc_args(&a, c, "refund", 0, 0, 1);
    if (code) return code;
    CLI_RUN_WRITE(c, "refund", folio_refund_issue(&res, db, &w, a.ref, a.from, &a.d));
}

int cmd_allocate(cli_ctx *c) {
    const char *ref = NULL, *from = NULL, *to = NULL, *amount = NULL, *date = NULL;
    int auto_allocate = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&from, c, &i, "--from")) || (r = cli_opt(&to, c, &i, "--to")) ||
            (r = cli_opt(&amount, c, &i, "--amount")) || (r = cli_opt(&date, c, &i, "--date"))) {
            if (r < 0) return EXIT_USAGE;
        } else if (cli_flag(c, i, "--auto")) {
            auto_allocate = 1;
        } else if (cli_is_option(c, i) || ref) {
            return cli_bad_arg(c, i);
        } else {
            ref = c->argv[i];
        }
    }
    if (!ref || !from || (!to && !auto_allocate) || (to && auto_allocate))
        return cli_usage("usage: folio allocate CUSTOMER --from DOC --to INVOICE [--amount AMT] "
                         "| allocate CUSTOMER --from DOC --auto");
    CLI_RUN_WRITE(c, "allocated",
              folio_allocate(&res, db, &w, ref, from, to, amount, date, auto_allocate));
}

int cmd_balance(cli_ctx *c) {
    const char *ref;
    int code = cli_operands(&ref, c, 1, 1, "usage: folio balance CUSTOMER");
    if (code) return code;
    folio_db *db = NULL;
    folio_customer *cu = NULL;
    code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_customer_get(&cu, db, ref, 0, 0);
    if (rc < 0) {
        code = cli_fail(rc, NULL);
    } else if (c->json) {
        printf("{\"ref\":");
        cli_json_string(stdout, cu->ref);
        printf(",\"currency\":");
        cli_json_string(stdout, cu->currency ? cu->currency : "");
        printf(",\"balance\":");
        cli_json_string(stdout, cu->balance ? cu->balance : "0");
        printf("}\n");
    } else {
        cli_print_text(stdout, cu->ref);
        printf("  %s ", cu->balance ? cu->balance : "0");
        cli_print_text(stdout, cu->currency ? cu->currency : "");
        putchar('\n');
    }
    folio_customer_free(cu);
    folio_db_close(db);
    return code;
}

static const char *const AGING_NAMES[FOLIO_AGING_BUCKETS] = {"current", "1-30", "31-60",
                                                              "61-90", "90+"};

static void statement_json(const folio_statement *s) {
    printf("{\"ref\":");
    cli_json_string(stdout, s->ref);
    printf(",\"name\":");
    cli_json_string(stdout, s->name);
    printf(",\"currency\":\"%s\",\"as_of\":\"%s\"", s->currency, s->as_of);
    if (s->from) printf(",\"from\":\"%s\",\"opening_balance\":\"%s\"", s->from, s->opening_balance);
    printf(",\"at_seq\":%llu,\"lines\":[", (unsigned long long)s->at_seq);
    for (size_t i = 0; i < s->line_count; i++) {
        const folio_statement_line *l = &s->lines[i];
        printf("%s{\"date\":\"%s\",\"doc\":", i ? "," : "", l->date);
        cli_json_string(stdout, l->doc);
        printf(",\"kind\":\"%s\",\"amount\":\"%s\",\"open\":\"%s\"", l->kind, l->amount, l->open);
        if (l->due) printf(",\"due\":\"%s\",\"days_overdue\":%lld", l->due, (long long)l->days_overdue);
        printf("}");
    }
    printf("],\"total_open\":\"%s\",\"aging\":{", s->total_open);
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++)
        printf("%s\"%s\":\"%s\"", b ? "," : "", AGING_NAMES[b], s->aging[b]);
    printf("}}\n");
}

/* A statement asked --at-seq says so on its face: a printed page of the past that looked
 * like the present would mislead its reader. */
static void statement_text(const folio_statement *s, folio_db *db, uint64_t at_seq_asked) {
    fputs("Statement  ", stdout);
    cli_print_text(stdout, s->ref);
    fputs("  ", stdout);
    cli_print_text(stdout, s->name);
    printf("  (%s)  as of %s", s->currency, s->as_of);
    if (at_seq_asked) {
        fputs(", ", stdout);
        cli_print_as_known(stdout, db, at_seq_asked, s->at_seq, 0);
    }
    printf("\n\n");
    /* Not the balance at the start of the period: what is open as of as_of of the items
     * dated before from (the open-item statement's brought-forward figure), so that it and
     * the lines add up to the total. The label says so; it stands in the OPEN column. */
    if (s->from) {
        char label[80];
        snprintf(label, sizeof label, "brought forward (items before %s still open)", s->from);
        printf("  %-58s %16s\n\n", label, s->opening_balance);
    }
    printf("  %-10s  %-16s %-12s %16s %16s  %-10s  %s\n", "DATE", "DOC", "KIND", "AMOUNT", "OPEN",
           "DUE", "DAYS OVERDUE");
    for (size_t i = 0; i < s->line_count; i++) {
        const folio_statement_line *l = &s->lines[i];
        printf("  %-10s  ", l->date);
        cli_print_cell(stdout, l->doc, 16);
        printf(" %-12s %16s %16s  %-10s  ", l->kind, l->amount, l->open, l->due ? l->due : "");
        if (l->due)
            printf("%lld\n", (long long)l->days_overdue);
        else
            printf("\n");
    }
    printf("\n  %-41s %16s %16s\n\n", "total open", "", s->total_open);
    printf("  aging:");
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++) printf("  %s %s", AGING_NAMES[b], s->aging[b]);
    printf("\n");
}

/* Text on the page: entities, and control characters shown as in the text outputs. */
static void html_text(const char *s) { cli_print_html(stdout, s); }

/* One self-contained printable page: no external resources. */
static void statement_html(const folio_statement *s, folio_db *db, uint64_t at_seq_asked) {
    printf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<title>Statement ");
    html_text(s->ref);
    printf("</title>\n<style>body{font-family:sans-serif;margin:2em;color:#111}"
           "h1{font-size:1.4em;margin:0}table{border-collapse:collapse;width:100%%;margin-top:1em}"
           "th,td{border-bottom:1px solid #ccc;padding:.3em .5em;text-align:left}"
           "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
           ".meta{color:#444;margin-top:.3em}@media print{body{margin:0}}</style></head>\n<body>\n");
    printf("<h1>Statement of account</h1>\n<div class=\"meta\"><strong>");
    html_text(s->name);
    printf("</strong> (");
    html_text(s->ref);
    printf(") &middot; %s &middot; as of %s", s->currency, s->as_of);
    if (s->from) printf(" &middot; from %s", s->from);
    if (at_seq_asked) {
        fputs(" &middot; ", stdout);
        cli_print_as_known(stdout, db, at_seq_asked, s->at_seq, 1);
    }
    printf("</div>\n<table>\n<tr><th>Date</th><th>Document</th><th>Kind</th>"
           "<th class=\"n\">Amount</th><th class=\"n\">Open</th><th>Due</th>"
           "<th class=\"n\">Days overdue</th></tr>\n");
    if (s->from)
        printf("<tr><td colspan=\"4\">Brought forward (items before %s still open)</td>"
               "<td class=\"n\">%s</td><td></td><td></td></tr>\n",
               s->from, s->opening_balance);
    for (size_t i = 0; i < s->line_count; i++) {
        const folio_statement_line *l = &s->lines[i];
        printf("<tr><td>%s</td><td>", l->date);
        html_text(l->doc);
        printf("</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td>"
               "<td class=\"n\">",
               l->kind, l->amount, l->open, l->due ? l->due : "");
        if (l->due) printf("%lld", (long long)l->days_overdue);
        printf("</td></tr>\n");
    }
    printf("<tr><th colspan=\"4\">Total open</th><th class=\"n\">%s</th><th></th><th></th></tr>\n"
           "</table>\n<table>\n<tr>",
           s->total_open);
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++)
        printf("<th class=\"n\">%s</th>", b == 0 ? "Current" : AGING_NAMES[b]);
    printf("</tr>\n<tr>");
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++) printf("<td class=\"n\">%s</td>", s->aging[b]);
    printf("</tr>\n</table>\n</body></html>\n");
}

int cmd_statement(cli_ctx *c) {
    const char *ref = NULL, *as_of = NULL, *from = NULL, *at = NULL, *format = NULL;
    uint64_t at_seq = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&as_of, c, &i, "--as-of")) || (r = cli_opt(&from, c, &i, "--from")) ||
            (r = cli_opt(&at, c, &i, "--at-seq")) || (r = cli_opt(&format, c, &i, "--format"))) {
            if (r < 0) return EXIT_USAGE;
        } else if (cli_is_option(c, i) || ref) {
            return cli_bad_arg(c, i);
        } else {
            ref = c->argv[i];
        }
    }
    if (!ref) return cli_usage("usage: folio statement CUSTOMER [--as-of D] [--from D] [--at-seq N] "
                               "[--format text|json|html]");
    if (at && (cli_parse_u64(&at_seq, at) != 0 || at_seq == 0))
        return cli_usage("--at-seq needs a seq (1 or more), not '%s'", at);
    if (!format) format = c->json ? "json" : "text";
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "html"))
        return cli_usage("--format is text, json or html, not '%s'", format);
    folio_db *db = NULL;
    folio_statement *s = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_statement_get(&s, db, ref, as_of, from, at_seq);
    if (rc < 0)
        code = cli_fail(rc, NULL);
    else if (strcmp(format, "json") == 0)
        statement_json(s);
    else if (strcmp(format, "html") == 0)
        statement_html(s, db, at_seq);
    else
        statement_text(s, db, at_seq);
    folio_statement_free(s);
    folio_db_close(db);
    return code;
}

int cmd_holds(cli_ctx *c) {
    if (c->argc != 1) return cli_bad_arg(c, 1); /* takes none */
    folio_db *db = NULL;
    folio_customer_list *l = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_customer_list_get(&l, db, FOLIO_LIST_ALL, NULL);
    if (rc < 0) {
        code = cli_fail(rc, NULL);
    } else {
        size_t shown = 0;
        if (c->json) putchar('[');
        for (size_t i = 0; i < l->count; i++) {
            const folio_customer *k = l->items[i];
            if (!k->on_hold) continue;
            if (c->json) {
                printf("%s{\"ref\":", shown ? "," : "");
                cli_json_string(stdout, k->ref);
                printf(",\"name\":");
                cli_json_string(stdout, k->name);
                printf(",\"reasons\":[");
                for (size_t r = 0; r < k->hold_count; r++) printf("%s\"%s\"", r ? "," : "", k->hold_reasons[r]);
                printf("]}");
            } else {
                cli_print_cell(stdout, k->ref, 14);
                putchar(' ');
                cli_print_cell(stdout, k->name, 32);
                for (size_t r = 0; r < k->hold_count; r++) {
                    fputs(r ? ", " : " ", stdout);
                    cli_print_text(stdout, k->hold_reasons[r]);
                }
                printf("\n");
            }
            shown++;
        }
        if (c->json)
            printf("]\n");
        else if (!shown)
            printf("(no customer is on hold)\n");
    }
    folio_customer_list_free(l);
    folio_db_close(db);
    return code;
}

int cmd_credit_check(cli_ctx *c) {
    const char *as_of = NULL;
    for (int i = 1; i < c->argc; i++) {
        int r = cli_opt(&as_of, c, &i, "--as-of");
        if (r < 0) return EXIT_USAGE;
        if (!r) return cli_bad_arg(c, i);
    }
    /* Refused before the ledger is opened (folio_credit_check refuses them too). */
    int refused = cli_refuse_write_guards(
        c, "it writes holds of many customers in several transactions, which one key or "
           "version cannot stand for; running it again is safe (it changes only holds that are "
           "out of date)");
    if (refused) return refused;
    folio_db *db = NULL;
    folio_credit_check_result res;
    int code = cli_open(&db, c, 1);
    if (code) return code;
    folio_write_opts w = cli_write_opts(c);
    int rc = folio_credit_check(&res, db, &w, as_of);
    if (rc < 0)
        code = cli_fail(rc, NULL);
    else if (c->json)
        printf("{\"placed\":%llu,\"released\":%llu,\"on_hold\":%llu}\n", (unsigned long long)res.placed,
               (unsigned long long)res.released, (unsigned long long)res.on_hold);
    else
        printf("credit check: %llu hold%s placed, %llu released; %llu customer%s past due\n",
               (unsigned long long)res.placed, res.placed == 1 ? "" : "s",
               (unsigned long long)res.released, (unsigned long long)res.on_hold,
               res.on_hold == 1 ? "" : "s");
    return cli_done(db, c, code);
}

int cmd_admit(cli_ctx *c) {
    const char *ref = NULL, *doc = NULL;
    for (int i = 1; i < c->argc; i++) {
        int r = cli_opt(&doc, c, &i, "--doc");
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        if (cli_is_option(c, i) || ref) return cli_bad_arg(c, i);
        ref = c->argv[i];
    }
    if (!ref || !doc) return cli_usage("usage: folio admit CUSTOMER --doc sales-order|cash-sale");
    folio_db *db = NULL;
    folio_admission a;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_admit(&a, db, ref, doc);
    if (rc < 0) {
        code = cli_fail(rc, NULL);
    } else if (c->json) {
        printf("{\"ref\":");
        cli_json_string(stdout, ref);
        printf(",\"doc\":\"%s\",\"verdict\":\"%s\",\"reasons\":[", doc, a.verdict);
        for (size_t i = 0; i < a.reason_count; i++) printf("%s\"%s\"", i ? "," : "", a.reasons[i]);
        printf("]}\n");
    } else {
        printf("%s %s: %s", ref, doc, a.verdict);
        for (size_t i = 0; i < a.reason_count; i++) printf("%s%s", i ? ", " : " (", a.reasons[i]);
        printf("%s\n", a.reason_count ? ")" : "");
    }
    folio_db_close(db);
    return code;
}
