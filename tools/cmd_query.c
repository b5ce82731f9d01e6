/*
 * tools/cmd_query.c - reading the customer master: show, find, list, history, deleted.
 * Human text by default, the SPEC's JSON shapes with --json.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void json_str_or_null(const char *s) {
    if (s)
        cli_json_string(stdout, s);
    else
        fputs("null", stdout);
}

static void json_address(const folio_address *a) {
    printf("{\"street\":");
    json_str_or_null(a->street);
    printf(",\"city\":");
    json_str_or_null(a->city);
    printf(",\"region\":");
    json_str_or_null(a->region);
    printf(",\"postcode\":");
    json_str_or_null(a->postcode);
    printf(",\"country\":");
    json_str_or_null(a->country);
    printf("}");
}

/* The show shape of SPEC section 7, plus external_id, addresses and documents. */
static void json_customer(const folio_customer *c) {
    printf("{\"id\":%llu,\"ref\":", (unsigned long long)c->id);
    cli_json_string(stdout, c->ref);
    printf(",\"name\":");
    cli_json_string(stdout, c->name);
    printf(",\"type\":");
    json_str_or_null(c->type);
    printf(",\"status\":");
    json_str_or_null(c->status);
    printf(",\"currency\":");
    json_str_or_null(c->currency);
    printf(",\"credit_limit\":");
    json_str_or_null(c->credit_limit);
    printf(",\"owner\":");
    json_str_or_null(c->owner);
    printf(",\"balance\":");
    json_str_or_null(c->balance);
    printf(",\"on_hold\":%s,\"hold_reasons\":[", c->on_hold ? "true" : "false");
    for (size_t i = 0; i < c->hold_count; i++) {
        if (i) putchar(',');
        cli_json_string(stdout, c->hold_reasons[i]);
    }
    printf("],\"contacts\":[");
    for (size_t i = 0; i < c->contact_count; i++) {
        const folio_contact *k = &c->contacts[i];
        printf("%s{\"id\":%llu,\"name\":", i ? "," : "", (unsigned long long)k->id);
        json_str_or_null(k->name);
        printf(",\"email\":");
        json_str_or_null(k->email);
        printf(",\"phone\":");
        json_str_or_null(k->phone);
        printf(",\"role\":");
        json_str_or_null(k->role);
        printf("}");
    }
    printf("],\"version\":%llu,\"external_id\":", (unsigned long long)c->version);
    json_str_or_null(c->external_id);
    printf(",\"billing\":");
    json_address(&c->billing);
    printf(",\"shipping\":");
    json_address(&c->shipping);
    printf(",\"documents\":%llu", (unsigned long long)c->documents);
    if (c->at_seq) printf(",\"at_seq\":%llu", (unsigned long long)c->at_seq); /* show --at-seq */
    if (c->merged_into) {
        printf(",\"merged_into\":");
        cli_json_string(stdout, c->merged_into);
    }
    printf("}");
}

/* One line of the card: the label, then the value as cli_print_text shows it. */
static void card_line(const char *label, const char *value) {
    printf("  %-13s ", label);
    cli_print_text(stdout, value);
    putchar('\n');
}

static void text_address(const char *label, const folio_address *a) {
    const char *parts[] = {a->street, a->city, a->region, a->postcode, a->country};
    int any = 0;
    printf("  %-13s ", label);
    for (int i = 0; i < 5; i++) {
        if (!parts[i]) continue;
        /* a street's lines read as ", " on the one line of the card (empty ones left out) */
        for (const char *p = parts[i]; *p;) {
            size_t n = strcspn(p, "\r\n");
            if (n) {
                fputs(any ? ", " : "", stdout);
                cli_print_text_n(stdout, p, n);
                any = 1;
            }
            p += n;
            while (*p == '\r' || *p == '\n') p++;
        }
    }
    printf("%s\n", any ? "" : "-");
}

static void text_customer(const folio_customer *c) {
#define OR_DASH(s) ((s) ? (s) : "-")
    cli_print_text(stdout, c->ref);
    fputs("  ", stdout);
    cli_print_text(stdout, c->name);
    putchar('\n');
    printf("  %-13s %llu\n", "id", (unsigned long long)c->id);
    card_line("type", OR_DASH(c->type));
    card_line("status", OR_DASH(c->status));
    card_line("currency", OR_DASH(c->currency));
    card_line("credit limit", c->credit_limit ? c->credit_limit : "none");
    card_line("balance", OR_DASH(c->balance));
    card_line("owner", OR_DASH(c->owner));
    printf("  %-13s %s", "on hold", c->on_hold ? "yes (" : "no");
    for (size_t i = 0; i < c->hold_count; i++) {
        fputs(i ? ", " : "", stdout);
        cli_print_text(stdout, c->hold_reasons[i]);
    }
    printf("%s\n", c->on_hold ? ")" : "");
    card_line("external id", OR_DASH(c->external_id));
    text_address("billing", &c->billing);
    text_address("shipping", &c->shipping);
    if (c->contact_count == 0) printf("  %-13s -\n", "contacts");
    for (size_t i = 0; i < c->contact_count; i++) {
        const folio_contact *k = &c->contacts[i];
        printf("  %-13s #%llu ", i ? "" : "contacts", (unsigned long long)k->id);
        cli_print_text(stdout, OR_DASH(k->name));
        if (k->role) {
            fputs(" (", stdout);
            cli_print_text(stdout, k->role);
            putchar(')');
        }
        if (k->email) {
            fputs(" <", stdout);
            cli_print_text(stdout, k->email);
            putchar('>');
        }
        if (k->phone) {
            putchar(' ');
            cli_print_text(stdout, k->phone);
        }
        printf("\n");
    }
    printf("  %-13s %llu\n", "version", (unsigned long long)c->version);
    if (c->merged_into) card_line("merged into", c->merged_into);
#undef OR_DASH
}

/* Print one card (or the error) and release everything: the tail of show and find. A card
 * asked --at-seq (at_seq_asked) says so on its face, as a statement does. */
static int print_card(const cli_ctx *c, folio_db *db, int rc, folio_customer *cu,
                      uint64_t at_seq_asked) {
    int code = 0;
    if (rc < 0) {
        code = cli_fail(rc, NULL);
    } else if (c->json) {
        json_customer(cu);
        putchar('\n');
    } else {
        text_customer(cu);
        if (at_seq_asked) {
            fputs("  ", stdout);
            cli_print_as_known(stdout, db, at_seq_asked, cu->at_seq, 0);
            putchar('\n');
        }
    }
    folio_customer_free(cu);
    folio_db_close(db);
    return code;
}

int cmd_show(cli_ctx *c) {
    const char *ref = NULL, *at = NULL;
    uint64_t at_seq = 0;
    for (int i = 1; i < c->argc; i++) {
        int r = cli_opt(&at, c, &i, "--at-seq");
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        if (cli_is_option(c, i) || ref) return cli_bad_arg(c, i);
        ref = c->argv[i];
    }
    if (!ref) return cli_usage("usage: folio show CUSTOMER [--at-seq N]");
    if (at && (cli_parse_u64(&at_seq, at) != 0 || at_seq == 0))
        return cli_usage("--at-seq needs a seq (1 or more), not '%s'", at);
    folio_db *db = NULL;
    folio_customer *cu = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_customer_get(&cu, db, ref, at_seq, 0); /* before cu is read */
    if (rc == FOLIO_OK && !at_seq) cu->at_seq = 0; /* the JSON says "at_seq" only when asked */
    return print_card(c, db, rc, cu, at_seq);
}

int cmd_find(cli_ctx *c) {
    const char *name;
    static const char usage[] = "usage: folio find NAME (quote a name with spaces)";
    int code = cli_operands(&name, c, 1, 1, usage);
    if (code) return code;
    if (!name[strspn(name, " \t\n\r\v\f")]) return cli_usage("%s", usage);
    folio_db *db = NULL;
    folio_customer *cu = NULL;
    code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_customer_find(&cu, db, name); /* before cu is read */
    return print_card(c, db, rc, cu, 0);
}

static void print_list(const cli_ctx *c, const folio_customer_list *l, int deleted) {
    if (c->json) {
        putchar('[');
        for (size_t i = 0; i < l->count; i++) {
            const folio_customer *k = l->items[i];
            if (i) putchar(',');
            if (!deleted) {
                json_customer(k);
                continue;
            }
            char when[40];
            cli_format_time(when, k->deleted_at_us);
            printf("{\"ref\":");
            cli_json_string(stdout, k->ref);
            printf(",\"name\":");
            cli_json_string(stdout, k->name);
            printf(",\"deleted_seq\":%llu,\"deleted_at\":\"%s\"", (unsigned long long)k->deleted_seq,
                   when);
            if (k->merged_into) {
                printf(",\"merged_into\":");
                cli_json_string(stdout, k->merged_into);
            }
            putchar('}');
        }
        printf("]\n");
        return;
    }
    if (l->count == 0) {
        printf("(none)\n");
        return;
    }
    /* Columns are padded by display width (cli_print_cell), not bytes: a name in Japanese
     * or with combining accents keeps the columns after it in line. */
    if (deleted)
        printf("%-14s %-32s %-8s %-28s %s\n", "REF", "NAME", "SEQ", "DELETED AT", "MERGED INTO");
    else
        printf("%-14s %-32s %-9s %-4s %16s  %s\n", "REF", "NAME", "STATUS", "CUR", "BALANCE", "OWNER");
    for (size_t i = 0; i < l->count; i++) {
        const folio_customer *k = l->items[i];
        cli_print_cell(stdout, k->ref, 14);
        putchar(' ');
        cli_print_cell(stdout, k->name, 32);
        putchar(' ');
        if (deleted) {
            char when[40];
            cli_format_time(when, k->deleted_at_us);
            printf("%-8llu %-28s ", (unsigned long long)k->deleted_seq, when);
            cli_print_text(stdout, k->merged_into ? k->merged_into : "-");
        } else {
            cli_print_cell(stdout, k->status, 9);
            putchar(' ');
            cli_print_cell(stdout, k->currency, 4);
            putchar(' ');
            cli_print_cell(stdout, k->balance, -16);
            fputs("  ", stdout);
            cli_print_text(stdout, k->owner ? k->owner : "-");
        }
        putchar('\n');
    }
}

static int parse_statuses(unsigned *out, const char *list) {
    static const struct { const char *name; unsigned bit; } names[] = {
        {"prospect", FOLIO_LIST_PROSPECT}, {"active", FOLIO_LIST_ACTIVE},
        {"hold", FOLIO_LIST_HOLD}, {"inactive", FOLIO_LIST_INACTIVE}};
    *out = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t i;
        for (i = 0; i < 4; i++)
            if (strlen(names[i].name) == n && strncmp(p, names[i].name, n) == 0) break;
        if (i == 4) {
            if (n == 7 && strncmp(p, "deleted", 7) == 0)
                return cli_usage("list never shows deleted customers: use 'folio deleted'");
            return cli_usage("--status takes prospect, active, hold, inactive (comma-separated), "
                             "not '%.*s'", (int)n, p);
        }
        *out |= names[i].bit;
        p += n;
        if (*p == ',') p++;
    }
    if (*out == 0) return cli_usage("--status needs at least one status");
    return 0;
}

int cmd_list(cli_ctx *c) {
    const char *status = NULL, *pattern = NULL;
    unsigned statuses = 0;
    int all = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if (cli_flag(c, i, "--all")) {
            all = 1;
        } else if ((r = cli_opt(&status, c, &i, "--status")) ||
                   (r = cli_opt(&pattern, c, &i, "--name"))) {
            if (r < 0) return EXIT_USAGE;
        } else {
            return cli_bad_arg(c, i);
        }
    }
    /* --all is every status: with --status it would say two things (it overrode --status) */
    if (all && status)
        return cli_usage("list: --all and --status exclude each other (--all lists every "
                         "status, inactive too; --status lists those it names)");
    if (status) {
        int code = parse_statuses(&statuses, status);
        if (code) return code;
    }
    if (all) statuses = FOLIO_LIST_ALL;
    folio_db *db = NULL;
    folio_customer_list *l = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_customer_list_get(&l, db, statuses, pattern);
    if (rc < 0)
        code = cli_fail(rc, NULL);
    else
        print_list(c, l, 0);
    folio_customer_list_free(l);
    folio_db_close(db);
    return code;
}

int cmd_deleted(cli_ctx *c) {
    const char *pattern = NULL;
    for (int i = 1; i < c->argc; i++) {
        int r = cli_opt(&pattern, c, &i, "--name");
        if (r < 0) return EXIT_USAGE;
        if (!r) return cli_bad_arg(c, i);
    }
    folio_db *db = NULL;
    folio_customer_list *l = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_deleted_list_get(&l, db, pattern);
    if (rc < 0)
        code = cli_fail(rc, NULL);
    else
        print_list(c, l, 1);
    folio_customer_list_free(l);
    folio_db_close(db);
    return code;
}

int cmd_history(cli_ctx *c) {
    const char *ref;
    int code = cli_operands(&ref, c, 1, 1, "usage: folio history CUSTOMER");
    if (code) return code;
    folio_db *db = NULL;
    folio_iter *it = NULL;
    const folio_event *e;
    code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_history_open(&it, db, ref);
    if (rc == FOLIO_OK && c->json) putchar('[');
    size_t n = 0;
    while (rc == FOLIO_OK && (rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        if (c->json && n) putchar(',');
        rc = cli_print_history_item(stdout, e, c->json, 0, NULL, NULL);
        n++;
    }
    if (rc == FOLIO_ITEROVER) {
        rc = FOLIO_OK;
        if (c->json) printf("]\n");
    }
    if (rc < 0) code = cli_fail(rc, "history");
    folio_iter_free(it);
    folio_db_close(db);
    return code;
}
