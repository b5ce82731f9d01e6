/*
 * tools/main.c - the folio command line: global options, then one command.
 * Global options may stand before or after the command word (SPEC section 7).
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(cli_ctx *);
    const char *help;
} commands[] = {
    {"init", cmd_init, "ledger settings [--base-currency C] [--ref-prefix P] [--credit-control M] [--on-hold P]"},
    {"create", cmd_create, "create a customer: NAME [--type T] [--status S] [--currency C] ..."},
    {"update", cmd_update, "change a customer: CUSTOMER [--name N] [--type T] [--credit-limit A] ..."},
    {"status", cmd_status, "CUSTOMER prospect|active|hold|inactive|deleted"},
    {"delete", cmd_delete, "CUSTOMER (same as status deleted)"},
    {"own", cmd_own, "CUSTOMER USER: take ownership"},
    {"contact", cmd_contact, "add CUSTOMER --name N [--email E] [--phone P] [--role R] | remove CUSTOMER ID"},
    {"note", cmd_note, "CUSTOMER TEXT"},
    {"merge", cmd_merge, "--keep CUSTOMER --delete CUSTOMER"},
    {"show", cmd_show, "the customer card: CUSTOMER [--at-seq N]"},
    {"find", cmd_find, "exact-match lookup: NAME"},
    {"list", cmd_list, "customers [--status S[,S]] [--name PATTERN] [--all]"},
    {"history", cmd_history, "every event of a customer, with field-level changes"},
    {"deleted", cmd_deleted, "the deleted-document lookup [--name PATTERN]"},
    {"invoice", cmd_invoice, "CUSTOMER AMOUNT [--doc D] [--date D] [--due D]"},
    {"credit-note", cmd_credit_note, "CUSTOMER AMOUNT [--doc D] [--date D]"},
    {"pay", cmd_pay, "CUSTOMER AMOUNT [--doc D] [--date D] [--apply INVOICE[:AMT]]... [--auto]"},
    {"allocate", cmd_allocate, "CUSTOMER --from DOC --to INVOICE [--amount AMT] | --from DOC --auto"},
    {"refund", cmd_refund, "CUSTOMER AMOUNT --from DOC [--doc D] [--date D]"},
    {"balance", cmd_balance, "CUSTOMER"},
    {"statement", cmd_statement, "CUSTOMER [--as-of D] [--from D] [--at-seq N] [--format text|json|html]"},
    {"holds", cmd_holds, "customers on hold, with reasons"},
    {"credit-check", cmd_credit_check, "[--as-of D]: place and release past-due holds"},
    {"admit", cmd_admit, "CUSTOMER --doc sales-order|cash-sale"},
    {"verify", cmd_verify, "walk the log, recompute every chain hash, print the head hash"},
    {"log", cmd_log, "print events in seq order [--from SEQ] [--limit N] [--follow]"},
    {"import", cmd_import, "customers|documents FILE.csv [--dry-run] [--on-existing skip|update|error]"},
    {"export", cmd_export, "every event as JSON Lines, every field [--from SEQ]"},
    {"restore", cmd_restore, "FILE: an export into a new or empty ledger (same head hash)"},
    {"rebuild", cmd_rebuild, "drop every projection and fold the log again"},
    {"check", cmd_check, "fold the log into scratch space and compare with every projection"},
    {"stats", cmd_stats, "ledger statistics: events, streams, size, events per type"},
    {"demo", cmd_demo, "write a small demo ledger (idempotent: a re-run appends nothing)"},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

#define GLOBAL_USAGE                                                                        \
    "usage: folio [--db PATH] [--json] [--actor NAME] [--reason TEXT]\n"                     \
    "             [--expect-version N] [--idempotency-key K] "

static void usage(FILE *f) {
    fprintf(f, GLOBAL_USAGE "COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nThe ledger is --db PATH, else $FOLIO_DB, else ./folio.db.\n"
               "folio help COMMAND, or folio COMMAND --help (or -h, its only argument),\n"
               "prints that command's line.\n"
               "After --, every argument is an operand (a value that starts with --).\n"
               "Exit codes: 0 ok, 1 rejected, 2 usage, 3 not found, 4 integrity, 5 storage.\n");
}

/* `folio COMMAND --help` (or -h): the global usage with that command's line. */
static void command_usage(FILE *f, size_t k) {
    fprintf(f, GLOBAL_USAGE "%s [ARGS]\n\n  %-12s %s\n", commands[k].name, commands[k].name,
            commands[k].help);
}

/* Does the command ask for help: --help or -h as its only argument, not after "--"? Only
 * there: anywhere else either may be a value the user meant ('note CUST-000001 -h' is a
 * note, 'update CUST-000001 --name --help' a name) or a mistake that must stay one (exit 2),
 * not a help that exits 0 having written nothing. */
static int wants_help(const cli_ctx *c) {
    return c->argc == 2 && c->operands_at > 1 &&
           (strcmp(c->argv[1], "--help") == 0 || strcmp(c->argv[1], "-h") == 0);
}

/* `folio help`: every command; `folio help COMMAND`: that command's usage, as `folio COMMAND
 * --help` prints it (exit 0); a command that does not exist is a usage error (exit 2). */
static int help(const cli_ctx *c) {
    if (c->argc > 2) return cli_usage("usage: folio help [COMMAND]");
    if (c->argc == 1 || strcmp(c->argv[1], "help") == 0) {
        usage(stdout);
    } else {
        size_t k = 0;
        while (k < COMMAND_COUNT && strcmp(c->argv[1], commands[k].name) != 0) k++;
        if (k == COMMAND_COUNT)
            return cli_usage("help: no command '%s' (try 'folio help')", c->argv[1]);
        command_usage(stdout, k);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EXIT_SYSTEM;
}

static const char *default_actor(void) {
    const char *a = getenv("FOLIO_ACTOR");
    if (a && *a) return a;
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
    return "unknown";
}

/* Take the global options out of argv wherever they stand; what is left is the command
 * word and its arguments, in their order. After "--" nothing is taken, and the command takes
 * what follows as operands, never options (c->operands_at). */
static int parse_globals(cli_ctx *c, int argc, char **argv) {
    c->argv = calloc((size_t)argc + 1, sizeof *c->argv);
    if (!c->argv) return cli_fail(FOLIO_ERROR, "out of memory");
    cli_ctx all = {.argc = argc, .argv = argv, .operands_at = argc};
    c->operands_at = argc; /* no "--": any argument may be an option */
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "--") == 0) { /* the rest are operands of the command */
            c->operands_at = c->argc;
            while (++i < argc) c->argv[c->argc++] = argv[i];
            break;
        }
        if (cli_flag(&all, i, "--json")) {
            c->json = 1;
        } else if (strcmp(argv[i], "--json") == 0) { /* a flag twice, as for every command */
            return cli_usage("--json is given more than once");
        } else if ((r = cli_opt(&v, &all, &i, "--db")) != 0) {
            if (r < 0) return EXIT_USAGE;
            if (!*v) return cli_usage("--db needs a path");
            if (strncmp(v, "--", 2) == 0)
                return cli_usage("--db needs a path, not the option '%s'", v);
            c->db_path = v;
        } else if ((r = cli_opt(&v, &all, &i, "--actor")) != 0) {
            if (r < 0) return EXIT_USAGE;
            c->actor = v;
        } else if ((r = cli_opt(&v, &all, &i, "--reason")) != 0) {
            if (r < 0) return EXIT_USAGE;
            c->reason = v;
        } else if ((r = cli_opt(&v, &all, &i, "--idempotency-key")) != 0) {
            if (r < 0) return EXIT_USAGE;
            c->idempotency_key = v;
        } else if ((r = cli_opt(&v, &all, &i, "--expect-version")) != 0) {
            if (r < 0) return EXIT_USAGE;
            if (cli_parse_u64(&c->expect_version, v) != 0)
                return cli_usage("--expect-version needs a whole number, not '%s'", v);
            c->has_expect_version = 1;
        } else {
            c->argv[c->argc++] = argv[i];
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    cli_ctx c = {0};
    cli_opt_reset(); /* one command per run; a harness may run main more than once */
    int code = parse_globals(&c, argc, argv);
    if (code != 0) {
        free(c.argv);
        return code;
    }
    if (!c.db_path) c.db_path = getenv("FOLIO_DB");
    if (!c.db_path || !*c.db_path) c.db_path = "./folio.db";
    if (!c.actor) c.actor = default_actor();
    if (c.argc == 0) {
        free(c.argv);
        return cli_usage("no command given (try 'folio help')");
    }
    const char *word = c.argv[0];
    if (strcmp(word, "help") == 0 || strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
        code = help(&c);
        free(c.argv);
        return code;
    }
    if (strcmp(word, "--version") == 0 || strcmp(word, "version") == 0) {
        printf("folio %s\n", FOLIO_VERSION_STRING);
        free(c.argv);
        return 0;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(word, commands[i].name) == 0) {
            if (wants_help(&c)) {
                command_usage(stdout, i);
                free(c.argv);
                return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EXIT_SYSTEM;
            }
            code = commands[i].run(&c);
            free(c.argv);
            if ((fflush(stdout) != 0 || ferror(stdout)) && code == 0) {
                cli_error("cannot write the output: %s", strerror(errno));
                code = EXIT_SYSTEM;
            }
            return code;
        }
    }
    if (strncmp(word, "--", 2) == 0)
        code = cli_usage("unknown option '%s' (try 'folio help')", word);
    else
        code = cli_usage("unknown command '%s' (try 'folio help')", word);
    free(c.argv);
    return code;
}
