/*
 * tests/tools/text_output.c - what a person reads in the CLI's text output:
 * `folio help COMMAND`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

