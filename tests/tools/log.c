/*
 * tests/tools/log.c - `folio log [--from SEQ] [--limit N]`: JSON Lines shape, dense seqs,
 * paging, and the actor taken from --actor or FOLIO_ACTOR.
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <string.h>

#include "cli_run.h"

TestSuite(log, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

static json_t *log_json(const char *const *extra) {
    const char *args[16] = {"--json", "log"};
    size_t n = 2;
    for (; extra && *extra; extra++) {
        cr_assert_lt(n + 1, sizeof args / sizeof args[0]);
        args[n++] = *extra;
    }
    args[n] = NULL;
    cli_result r = cli_run_env(NULL, NULL, args);
    cr_assert_eq(r.status, 0, "log exited %d: %s", r.status, r.err);
    cr_assert_eq(r.err_len, 0, "stderr: '%s'", r.err);
    json_t *lines = cli_json_lines(r.out);
    cli_result_free(&r);
    return lines;
}

static uint64_t u64(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v) && json_integer_value(v) >= 0, "'%s' is not a count", key);
    return (uint64_t)json_integer_value(v);
}

Test(log, json_prints_one_complete_object_per_event) {
    cli_demo();
    json_t *lines = log_json(NULL);
    uint64_t events, streams;
    char head[33];
    cli_verify_json(&events, &streams, head);
    cr_assert_eq(json_array_size(lines), events);

    regex_t iso;
    cr_assert_eq(regcomp(&iso,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    json_t *versions = json_object(); /* stream -> last version seen */
    const char *prev_at = "";
    size_t i;
    json_t *e;
    json_array_foreach(lines, i, e) {
        cr_assert_eq(u64(e, "seq"), i + 1, "seqs are not dense from 1 at line %zu", i + 1);
        uint64_t stream = u64(e, "stream"), version = u64(e, "version");
        char key[32];
        snprintf(key, sizeof key, "%llu", (unsigned long long)stream);
        json_int_t last = json_integer_value(json_object_get(versions, key));
        cr_assert_eq(version, (uint64_t)last + 1, "stream %s: version %llu after %lld", key,
                     (unsigned long long)version, (long long)last);
        json_object_set_new(versions, key, json_integer((json_int_t)version));

        json_t *type = json_object_get(e, "type");
        cr_assert(json_is_string(type) && json_string_length(type) > 0, "line %zu: type", i + 1);
        cr_assert_geq(u64(e, "schema"), 1);
        const char *at = json_string_value(json_object_get(e, "recorded_at"));
        cr_assert_not_null(at, "line %zu: no recorded_at string", i + 1);
        cr_assert_eq(regexec(&iso, at, 0, NULL, 0), 0, "recorded_at '%s' is not ISO UTC", at);
        cr_assert_geq(strcmp(at, prev_at), 0, "recorded_at went back: %s after %s", at, prev_at);
        prev_at = at;
        json_t *actor = json_object_get(e, "actor");
        cr_assert(json_is_string(actor) && json_string_length(actor) > 0, "line %zu: actor",
                  i + 1);
        cr_assert(json_is_object(json_object_get(e, "data")), "line %zu: data is not an object",
                  i + 1);
    }
    regfree(&iso);
    json_decref(versions);
    json_decref(lines);
}

Test(log, from_3_limit_2_prints_seqs_3_and_4) {
    cli_demo();
    json_t *all = log_json(NULL);
    cr_assert_geq(json_array_size(all), 5, "the demo should write at least 5 events");
    json_t *page = log_json(ARGS("--from", "3", "--limit", "2"));
    cr_assert_eq(json_array_size(page), 2);
    cr_assert_eq(u64(json_array_get(page, 0), "seq"), 3);
    cr_assert_eq(u64(json_array_get(page, 1), "seq"), 4);
    /* the same events as in the full log */
    cr_assert(json_equal(json_array_get(page, 0), json_array_get(all, 2)));
    cr_assert(json_equal(json_array_get(page, 1), json_array_get(all, 3)));
    json_decref(page);
    page = log_json(ARGS("--limit=2", "--from=3"));
    cr_assert_eq(json_array_size(page), 2);
    cr_assert_eq(u64(json_array_get(page, 0), "seq"), 3);
    cr_assert_eq(u64(json_array_get(page, 1), "seq"), 4);
    json_decref(page);
    json_decref(all);
}

Test(log, from_alone_prints_the_rest_of_the_log) {
    cli_demo();
    json_t *all = log_json(NULL);
    size_t n = json_array_size(all);
    json_t *rest = log_json(ARGS("--from", "2"));
    cr_assert_eq(json_array_size(rest), n - 1);
    cr_assert_eq(u64(json_array_get(rest, 0), "seq"), 2);
    cr_assert_eq(u64(json_array_get(rest, n - 2), "seq"), n);
    json_decref(rest);
    json_decref(all);
}

Test(log, from_past_the_end_prints_nothing) {
    cli_demo();
    uint64_t events, streams;
    char head[33], from[32];
    cli_verify_json(&events, &streams, head);
    snprintf(from, sizeof from, "%llu", (unsigned long long)events + 1);
    json_t *none = log_json(ARGS("--from", from));
    cr_assert_eq(json_array_size(none), 0);
    json_decref(none);
}

Test(log, text_prints_one_line_per_event) {
    cli_demo();
    uint64_t events, streams;
    char head[33];
    cli_verify_json(&events, &streams, head);
    cli_result r = cli("log");
    cr_assert_eq(r.status, 0, "log exited %d: %s", r.status, r.err);
    cr_assert_eq(cli_count_lines(r.out), events);
    cli_result_free(&r);
    r = cli("log", "--from", "2", "--limit", "3");
    cr_assert_eq(r.status, 0, "log exited %d: %s", r.status, r.err);
    cr_assert_eq(cli_count_lines(r.out), 3);
    cli_result_free(&r);
}

/* Every event the demo's user wrote carries that actor; the holds credit control places on
 * its own are written by "credit-control" (SPEC section 4), and there is at least one. */
static void assert_all_actors(const char *want) {
    json_t *lines = log_json(NULL);
    cr_assert_gt(json_array_size(lines), 0);
    size_t i, automatic = 0;
    json_t *e;
    json_array_foreach(lines, i, e) {
        const char *actor = json_string_value(json_object_get(e, "actor"));
        const char *type = json_string_value(json_object_get(e, "type"));
        cr_assert_not_null(actor);
        if (type && strncmp(type, "credit_hold.", 12) == 0) {
            cr_assert_str_eq(actor, "credit-control", "seq %zu: hold written by '%s'", i + 1, actor);
            automatic++;
            continue;
        }
        cr_assert_str_eq(actor, want, "seq %zu: actor '%s', want '%s'", i + 1, actor, want);
    }
    cr_assert_gt(automatic, 0, "the demo's second invoice puts the customer on a credit hold");
    json_decref(lines);
}

Test(log, actor_option_given_to_demo_is_recorded) {
    cli_result r = cli("--actor", "test-auditor", "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    assert_all_actors("test-auditor");
}

Test(log, actor_option_after_the_command_word_is_recorded) {
    cli_result r = cli("demo", "--actor=late-actor");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    assert_all_actors("late-actor");
}

Test(log, folio_actor_env_is_recorded) {
    cli_result r = cli_env(ENV("FOLIO_ACTOR=env-actor"), "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    assert_all_actors("env-actor");
}

Test(log, actor_option_wins_over_folio_actor_env) {
    cli_result r = cli_env(ENV("FOLIO_ACTOR=env-actor"), "--actor", "flag-actor", "demo");
    cr_assert_eq(r.status, 0, "demo exited %d: %s", r.status, r.err);
    cli_result_free(&r);
    assert_all_actors("flag-actor");
}
