/*
 * tests/tools/cli_run.h - run the built `folio` binary and capture what it says.
 *
 * Every test of this folder works in its own temporary directory (cli_tmpdir_setup /
 * cli_tmpdir_teardown as the suite's .init/.fini); the CLI runs with that directory as its
 * working directory, stdin from /dev/null, umask 022, and an environment without
 * FOLIO_DB and FOLIO_ACTOR unless the test sets them.
 */
#ifndef FOLIO_TESTS_CLI_RUN_H
#define FOLIO_TESTS_CLI_RUN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int status; /* exit code; 128 + signal when killed by a signal */
    char *out;  /* stdout, NUL-terminated */
    size_t out_len;
    char *err;  /* stderr, NUL-terminated */
    size_t err_len;
} cli_result;

/* The test's temporary directory ("/tmp/folio-cli-XXXXXX"). */
extern char cli_dir[];

void cli_tmpdir_setup(void);
void cli_tmpdir_teardown(void);

/*
 * Run FOLIO_CLI_PATH with `args` (NULL-terminated, without argv[0]) in `cwd` (NULL = the
 * test's directory). `env` is NULL or a NULL-terminated list of "NAME=VALUE" added to the
 * environment. Aborts the test (cr_assert) if the CLI cannot be run or runs over 60 s.
 * Release the result with cli_result_free().
 */
cli_result cli_run_env(const char *cwd, const char *const *env, const char *const *args);
void cli_result_free(cli_result *r);
/* As cli_run_env in the test's directory, with stdin read from the file `stdin_path`. */
cli_result cli_run_stdin(const char *stdin_path, const char *const *args);

/* cli(r, "--json", "verify") / cli_env(r, ENV("FOLIO_DB=x"), "verify"): in the test's dir. */
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define cli(...) cli_run_env(NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define cli_env(env, ...) cli_run_env(NULL, (env), (const char *const[]){__VA_ARGS__, NULL})
#define cli_noargs() cli_run_env(NULL, NULL, (const char *const[]){NULL})

/* "<cli_dir>/<name>" in a static rotating buffer (valid for the next 7 calls). */
const char *cli_path(const char *name);

/* Assert: stderr is exactly one line starting "folio: " (the SPEC's error shape). */
void cli_assert_one_error_line(const cli_result *r);
/* Assert: exit status `code` and one "folio: " line on stderr, nothing on stdout. */
void cli_assert_error(const cli_result *r, int code);

/* Number of '\n'-terminated lines in s (a last line without '\n' counts too). */
size_t cli_count_lines(const char *s);
/* Entries in cli_dir other than "." and "..". */
size_t cli_dir_entries(void);
/* Does `path` exist (lstat)? */
int cli_exists(const char *path);

/* Whole file into a malloc'd buffer (NUL-terminated; *len = byte count). NULL if unreadable. */
char *cli_read_file(const char *path, size_t *len);
void cli_write_file(const char *path, const void *bytes, size_t len);

/* Parse one JSON document (asserting it parses). Release with json_decref. */
json_t *cli_json(const char *text);
/* Parse stdout of `log --json`: a JSON array of the per-line objects (asserting each line
 * is a JSON object). */
json_t *cli_json_lines(const char *text);

/* Run `demo` in the test's directory (default ledger ./folio.db), asserting exit 0. */
void cli_demo(void);
/* `--json verify` on the default ledger: asserts exit 0 and fills events/streams/head. */
void cli_verify_json(uint64_t *events, uint64_t *streams, char head[33]);

/* Does a line of `text` start (after spaces) with `word` followed by a space or its end? */
int cli_has_line_word(const char *text, const char *word);
/* Does `text` contain "seq N" not followed by another digit? */
int cli_mentions_seq(const char *text, uint64_t seq);

/* ---- helpers for the customer-master suites (tests/tools/customer_*.c) ---- */

/* Run `args`, assert exit 0 and an empty stderr, and parse stdout as one JSON document.
 * Release with json_decref. */
json_t *cli_json_ok_args(const char *const *args);
#define cli_json_ok(...) cli_json_ok_args((const char *const[]){__VA_ARGS__, NULL})

/* Assert: exit `code`, one "folio: " line on stderr, nothing on stdout, and the line holds
 * every string of the NULL-terminated list `needles`. */
void cli_assert_error_says(const cli_result *r, int code, const char *const *needles);
/* Run `args` and assert as cli_assert_error_says; frees the result. */
void cli_fails_with(int code, const char *const *needles, const char *const *args);

/* Assert: `obj` is a JSON object with every key of `required` and no key outside `required`
 * and `optional` (both NULL-terminated; `optional` may be NULL). `what` names it in failures. */
void cli_assert_keys(const json_t *obj, const char *const *required, const char *const *optional,
                     const char *what);

/* Is `s` a decimal money string ("-?digits[.digits]")? */
int cli_is_money(const char *s);
/* Is `s` an ISO 8601 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"? */
int cli_is_iso_time(const char *s);

/* Events in the default ledger (./folio.db), from `--json verify`. */
uint64_t cli_event_count(void);

/* Integer / string member of a JSON object, asserting its type. */
long long cli_jint(const json_t *obj, const char *key);
const char *cli_jstr(const json_t *obj, const char *key);

#endif
