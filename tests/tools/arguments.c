/*
 * tests/tools/arguments.c - how commands read their arguments (SPEC section 7): every
 * error is one "folio: " line whatever the arguments hold, an argument that starts with
 * "--" and is no option of the command is a usage error (exit 2, "unknown option"), and a
 * value that really starts with "--" goes after the end-of-options marker "--".
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli_run.h"

TestSuite(arguments, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Run `args`: exit `code`, one "folio: " line on stderr that shows the newline of the
 * argument as the two characters \n, nothing on stdout. */
static void one_escaped_line(int code, const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    cli_assert_error(&r, code);
    cr_assert(strstr(r.err, "\\n") != NULL, "the newline is not shown as \\n: '%s'", r.err);
    cli_result_free(&r);
}

Test(arguments, usage_errors_quoting_a_newline_stay_on_one_line) {
    json_decref(cli_json_ok("--json", "create", "Acme"));
    one_escaped_line(2, ARGS("list", "a\nb"));
    one_escaped_line(2, ARGS("bad\ncmd"));
    one_escaped_line(2, ARGS("--bad\nopt"));
    one_escaped_line(2, ARGS("statement", "CUST-000001", "--format", "a\nb"));
    one_escaped_line(2, ARGS("list", "--status", "x\ny"));
    one_escaped_line(2, ARGS("holds", "a\nb"));
    one_escaped_line(2, ARGS("verify", "--expect-version", "1\n2"));
    one_escaped_line(2, ARGS("show", "CUST-000001", "--at-seq", "1\n2"));
    one_escaped_line(2, ARGS("contact", "remove", "CUST-000001", "1\n2"));
}

Test(arguments, a_missing_file_named_with_a_newline_is_one_line) {
    one_escaped_line(3, ARGS("import", "customers", "no\nsuch.csv"));
    one_escaped_line(3, ARGS("restore", "no\nsuch.jsonl"));
    cr_assert(!cli_exists(cli_path("folio.db")), "a missing file created the ledger");
}

Test(arguments, restore_naming_a_ledger_path_with_a_newline_is_one_line) {
    json_decref(cli_json_ok("--json", "--db", "a\nb.db", "create", "Acme"));
    cli_write_file(cli_path("empty.jsonl"), "", 0);
    one_escaped_line(1, ARGS("--db", "a\nb.db", "restore", "empty.jsonl"));
}
