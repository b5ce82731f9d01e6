/*
 * tests/tools/stats.c - `folio stats`: events, streams, head and per-type counts agree with
 * the log, in text and JSON.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"

TestSuite(stats, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

/* type name -> count, from `log --json` */
static json_t *type_counts_from_log(void) {
    cli_result r = cli("--json", "log");
    cr_assert_eq(r.status, 0, "log exited %d: %s", r.status, r.err);
    json_t *lines = cli_json_lines(r.out), *counts = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(lines, i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        cr_assert_not_null(type);
        json_int_t n = json_integer_value(json_object_get(counts, type));
        json_object_set_new(counts, type, json_integer(n + 1));
    }
    json_decref(lines);
    cli_result_free(&r);
    return counts;
}

/* Is there a line "<key><spaces><value>" (after optional leading spaces)? */
static int has_kv_line(const char *text, const char *key, const char *value) {
    for (const char *line = text; line && *line;) {
        const char *p = line, *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        while (*p == ' ') p++;
        size_t k = strlen(key), v = strlen(value);
        if (strncmp(p, key, k) == 0 && p[k] == ' ') {
            const char *q = p + k;
            while (*q == ' ') q++;
            if ((size_t)(q - line) + v == len && strncmp(q, value, v) == 0) return 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

Test(stats, text_lists_events_streams_head_and_per_type_counts) {
    cli_demo();
    uint64_t events, streams;
    char head[33], n[32];
    cli_verify_json(&events, &streams, head);
    json_t *counts = type_counts_from_log();
    cr_assert_gt(json_object_size(counts), 1);

    cli_result r = cli("stats");
    cr_assert_eq(r.status, 0, "stats exited %d: %s", r.status, r.err);
    cr_assert_eq(r.err_len, 0);
    snprintf(n, sizeof n, "%llu", (unsigned long long)events);
    cr_assert(has_kv_line(r.out, "events", n), "no 'events %s' line:\n%s", n, r.out);
    snprintf(n, sizeof n, "%llu", (unsigned long long)streams);
    cr_assert(has_kv_line(r.out, "streams", n), "no 'streams %s' line:\n%s", n, r.out);
    cr_assert(has_kv_line(r.out, "head", head), "no 'head %s' line:\n%s", head, r.out);
    const char *type;
    json_t *count;
    json_object_foreach(counts, type, count) {
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(count));
        cr_assert(has_kv_line(r.out, type, n), "no '%s %s' line:\n%s", type, n, r.out);
    }
    json_decref(counts);
    cli_result_free(&r);
}

Test(stats, json_type_counts_match_the_log) {
    cli_demo();
    json_t *counts = type_counts_from_log();
    cli_result r = cli("stats", "--json");
    cr_assert_eq(r.status, 0, "stats exited %d: %s", r.status, r.err);
    json_t *j = cli_json(r.out);
    json_t *types = json_object_get(j, "types");
    cr_assert(json_is_object(types), "no 'types' object: %s", r.out);
    cr_assert(json_equal(types, counts), "types %s differ from the log's counts",
              json_dumps(types, JSON_COMPACT));
    json_decref(j);
    json_decref(counts);
    cli_result_free(&r);
}
