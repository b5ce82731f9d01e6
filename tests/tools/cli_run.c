/*
 * tests/tools/cli_run.c - spawn the folio CLI (fork/exec, stdin /dev/null), capture stdout and
 * stderr through pipes read with poll(), and small helpers shared by the CLI tests.
 */
#include "cli_run.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CLI_TIMEOUT_MS 60000

char cli_dir[64];

void cli_tmpdir_setup(void) {
    char tmpl[] = "/tmp/folio-cli-XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
    snprintf(cli_dir, sizeof cli_dir, "%s", tmpl);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void cli_tmpdir_teardown(void) {
    if (cli_dir[0] && strncmp(cli_dir, "/tmp/folio-cli-", 15) == 0)
        nftw(cli_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    cli_dir[0] = '\0';
}

const char *cli_path(const char *name) {
    static char bufs[8][PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, PATH_MAX, "%s/%s", cli_dir, name);
    return b;
}

/* ---- running the CLI ---- */

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const char *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        b->data = realloc(b->data, cap);
        cr_assert_not_null(b->data, "out of memory");
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int env_name_is(const char *entry, const char *name) {
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* The parent's environment minus FOLIO_DB, FOLIO_ACTOR and whatever `extra` sets, plus
 * `extra`. The strings are borrowed; only the array is allocated. */
static char **build_env(const char *const *extra) {
    size_t n = 0, k = 0;
    for (char **e = environ; e && *e; e++) n++;
    for (const char *const *x = extra; x && *x; x++) n++;
    char **envp = calloc(n + 1, sizeof *envp);
    cr_assert_not_null(envp);
    for (char **e = environ; e && *e; e++) {
        int drop = env_name_is(*e, "FOLIO_DB") || env_name_is(*e, "FOLIO_ACTOR");
        for (const char *const *x = extra; x && *x && !drop; x++) {
            const char *eq = strchr(*x, '=');
            size_t len = eq ? (size_t)(eq - *x) : strlen(*x);
            drop = strncmp(*e, *x, len) == 0 && (*e)[len] == '=';
        }
        if (!drop) envp[k++] = *e;
    }
    for (const char *const *x = extra; x && *x; x++) envp[k++] = (char *)*x;
    envp[k] = NULL;
    return envp;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static cli_result run_cli(const char *cwd, const char *const *env, const char *stdin_path,
                          const char *const *args) {
    size_t argc = 0;
    while (args[argc]) argc++;
    char **argv = calloc(argc + 2, sizeof *argv);
    cr_assert_not_null(argv);
    argv[0] = (char *)FOLIO_CLI_PATH;
    for (size_t i = 0; i < argc; i++) argv[i + 1] = (char *)args[i];
    char **envp = build_env(env);
    const char *wd = cwd ? cwd : cli_dir;

    int outp[2], errp[2];
    cr_assert_eq(pipe2(outp, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
    cr_assert_eq(pipe2(errp, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        int in = open(stdin_path, O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0 ||
            chdir(wd) != 0)
            _exit(126);
        umask(022);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);

    buf out = {0}, err = {0};
    buf_add(&out, "", 0);
    buf_add(&err, "", 0);
    struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    buf *dst[2] = {&out, &err};
    int open_fds = 2, timed_out = 0;
    int64_t deadline = now_ms() + CLI_TIMEOUT_MS;
    while (open_fds > 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int n = poll(fds, 2, (int)left);
        if (n < 0) {
            if (errno == EINTR) continue;
            cr_assert_fail("poll: %s", strerror(errno));
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char chunk[8192];
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else {
                buf_add(dst[i], chunk, (size_t)got);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (timed_out) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    free(argv);
    free(envp);
    cr_assert(!timed_out, "folio ran over %d ms; stderr so far: %s", CLI_TIMEOUT_MS, err.data);

    cli_result r = {0};
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    cr_assert_lt(r.status, 126, "could not run %s in %s (status %d)", FOLIO_CLI_PATH, wd,
                 r.status);
    r.out = out.data;
    r.out_len = out.len;
    r.err = err.data;
    r.err_len = err.len;
    return r;
}

cli_result cli_run_env(const char *cwd, const char *const *env, const char *const *args) {
    return run_cli(cwd, env, "/dev/null", args);
}

cli_result cli_run_stdin(const char *stdin_path, const char *const *args) {
    cr_assert(cli_exists(stdin_path), "no file %s to give as stdin", stdin_path);
    return run_cli(NULL, NULL, stdin_path, args);
}

void cli_result_free(cli_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* ---- assertions on error output ---- */

void cli_assert_one_error_line(const cli_result *r) {
    cr_assert_gt(r->err_len, strlen("folio: x"), "expected an error line, stderr is '%s'",
                 r->err);
    cr_assert_eq(strncmp(r->err, "folio: ", 7), 0, "stderr does not start 'folio: ': '%s'",
                 r->err);
    cr_assert_eq(r->err[r->err_len - 1], '\n', "stderr does not end in a newline: '%s'",
                 r->err);
    cr_assert_eq(cli_count_lines(r->err), 1, "stderr is not one line: '%s'", r->err);
}

void cli_assert_error(const cli_result *r, int code) {
    cr_assert_eq(r->status, code, "exit %d, expected %d; stderr: '%s'", r->status, code,
                 r->err);
    cli_assert_one_error_line(r);
    cr_assert_eq(r->out_len, 0, "stdout should be empty, is '%s'", r->out);
}

/* ---- small helpers ---- */

size_t cli_count_lines(const char *s) {
    size_t n = 0;
    const char *p = s;
    for (; *p; p++)
        if (*p == '\n') n++;
    if (p > s && p[-1] != '\n') n++;
    return n;
}

size_t cli_dir_entries(void) {
    DIR *d = opendir(cli_dir);
    cr_assert_not_null(d, "opendir %s: %s", cli_dir, strerror(errno));
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

int cli_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

char *cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    buf_add(&b, "", 0);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, got);
    fclose(f);
    *len = b.len;
    return b.data;
}

void cli_write_file(const char *path, const void *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, len, f), len, "fwrite %s", path);
    cr_assert_eq(fclose(f), 0, "fclose %s", path);
}

json_t *cli_json(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "not JSON (%s at %d:%d): '%s'", e.text, e.line, e.column, text);
    return j;
}

json_t *cli_json_lines(const char *text) {
    json_t *arr = json_array();
    size_t len = strlen(text);
    cr_assert(len == 0 || text[len - 1] == '\n', "output does not end in a newline");
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        cr_assert_gt(n, 0, "empty line in JSON Lines output");
        json_error_t e;
        json_t *j = json_loadb(p, n, 0, &e);
        cr_assert_not_null(j, "line is not JSON (%s): '%.*s'", e.text, (int)n, p);
        cr_assert(json_is_object(j), "line is not a JSON object: '%.*s'", (int)n, p);
        json_array_append_new(arr, j);
        p = nl + 1;
    }
    return arr;
}

void cli_demo(void) {
    cli_result r = cli("demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
}

void cli_verify_json(uint64_t *events, uint64_t *streams, char head[33]) {
    cli_result r = cli("--json", "verify");
    cr_assert_eq(r.status, 0, "verify exited %d: %s", r.status, r.err);
    json_t *j = cli_json(r.out);
    json_t *ev = json_object_get(j, "events"), *st = json_object_get(j, "streams");
    json_t *hd = json_object_get(j, "head");
    cr_assert(json_is_integer(ev) && json_is_integer(st) && json_is_string(hd), "shape: %s",
              r.out);
    *events = (uint64_t)json_integer_value(ev);
    *streams = (uint64_t)json_integer_value(st);
    snprintf(head, 33, "%s", json_string_value(hd));
    json_decref(j);
    cli_result_free(&r);
}

int cli_has_line_word(const char *text, const char *word) {
    size_t n = strlen(word);
    for (const char *line = text; line && *line;) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '\n' || !p[n]))
            return 1;
        line = strchr(line, '\n');
        if (line) line++;
    }
    return 0;
}

int cli_mentions_seq(const char *text, uint64_t seq) {
    char needle[40];
    int n = snprintf(needle, sizeof needle, "seq %llu", (unsigned long long)seq);
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        if (p[n] < '0' || p[n] > '9') return 1;
    return 0;
}

/* ---- helpers for the customer-master suites ---- */

static void args_text(char *out, size_t cap, const char *const *args) {
    size_t n = 0;
    out[0] = '\0';
    for (const char *const *a = args; *a && n + 1 < cap; a++) {
        int k = snprintf(out + n, cap - n, "%s%s", n ? " " : "", *a);
        if (k < 0) break;
        n += (size_t)k;
    }
}

json_t *cli_json_ok_args(const char *const *args) {
    char what[512];
    args_text(what, sizeof what, args);
    cli_result r = cli_run_env(NULL, NULL, args);
    cr_assert_eq(r.status, 0, "'folio %s' exited %d: %s", what, r.status, r.err);
    cr_assert_eq(r.err_len, 0, "'folio %s' wrote to stderr: '%s'", what, r.err);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    cr_assert_not_null(j, "'folio %s' printed no JSON (%s): '%s'", what, e.text, r.out);
    cli_result_free(&r);
    return j;
}

void cli_assert_error_says(const cli_result *r, int code, const char *const *needles) {
    cli_assert_error(r, code);
    for (const char *const *n = needles; n && *n; n++)
        cr_assert_not_null(strstr(r->err, *n), "error does not say '%s': '%s'", *n, r->err);
}

void cli_fails_with(int code, const char *const *needles, const char *const *args) {
    cli_result r = cli_run_env(NULL, NULL, args);
    char what[512];
    args_text(what, sizeof what, args);
    cr_assert_eq(r.status, code, "'folio %s' exited %d, expected %d; stderr '%s', stdout '%s'",
                 what, r.status, code, r.err, r.out);
    cli_assert_error_says(&r, code, needles);
    cli_result_free(&r);
}

static int in_list(const char *key, const char *const *list) {
    for (const char *const *k = list; k && *k; k++)
        if (strcmp(*k, key) == 0) return 1;
    return 0;
}

void cli_assert_keys(const json_t *obj, const char *const *required, const char *const *optional,
                     const char *what) {
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_assert(json_is_object(obj), "%s is not a JSON object: %s", what, text);
    for (const char *const *k = required; k && *k; k++)
        cr_assert_not_null(json_object_get(obj, *k), "%s lacks \"%s\": %s", what, *k, text);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        (void)v;
        cr_assert(in_list(key, required) || in_list(key, optional),
                  "%s has unexpected key \"%s\": %s", what, key, text);
    }
    free(text);
}

int cli_is_money(const char *s) {
    if (!s) return 0;
    if (*s == '-') s++;
    const char *p = s;
    while (*p >= '0' && *p <= '9') p++;
    if (p == s) return 0;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == f) return 0;
    }
    return *p == '\0';
}

int cli_is_iso_time(const char *s) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (!s) return 0;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return 0;
    }
    const char *p = s + sizeof shape - 1;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9') p++;
        if (p == f) return 0;
    }
    return p[0] == 'Z' && p[1] == '\0';
}

uint64_t cli_event_count(void) {
    uint64_t events, streams;
    char head[33];
    cli_verify_json(&events, &streams, head);
    return events;
}

long long cli_jint(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
    return json_integer_value(v);
}

const char *cli_jstr(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_string(v), "\"%s\" is not a string", key);
    return json_string_value(v);
}
