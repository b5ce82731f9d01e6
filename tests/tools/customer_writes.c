/*
 * tests/tools/customer_writes.c - what every customer write shares: no-ops append nothing,
 * --expect-version and --idempotency-key (SPEC rule 11), global options before or after
 * the command word, and a refused write on a new ledger path leaves no file behind.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"

TestSuite(customer_writes, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static long long version_of(const char *ref) {
    json_t *s = cli_json_ok("--json", "show", ref);
    long long v = cli_jint(s, "version");
    json_decref(s);
    return v;
}

/* ---- no-ops ---- */

Test(customer_writes, the_same_status_again_is_unchanged_and_appends_nothing) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_t *a = cli_json_ok("--json", "status", "CUST-000001", "active");
    uint64_t before = cli_event_count();
    json_t *b = cli_json_ok("--json", "status", "CUST-000001", "active");
    cr_assert(json_is_true(json_object_get(b, "unchanged")), "no unchanged:true");
    cr_assert_eq(cli_event_count(), before, "a no-op appended events");
    cr_assert_eq(cli_jint(b, "seq"), cli_jint(a, "seq"), "a no-op names the last event");
    cr_assert_eq(cli_jint(b, "version"), cli_jint(a, "version"));
    cr_assert_str_eq(cli_jstr(b, "ref"), "CUST-000001");
    json_decref(a);
    json_decref(b);
    /* text: exit 0, says so, and still nothing appended */
    cli_result r = cli("status", "CUST-000001", "active");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "CUST-000001"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "nothing to change"), "%s", r.out);
    cli_result_free(&r);
    cr_assert_eq(cli_event_count(), before);
}

Test(customer_writes, a_prospect_set_to_prospect_is_unchanged) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    uint64_t before = cli_event_count();
    json_t *b = cli_json_ok("--json", "status", "CUST-000001", "prospect");
    cr_assert(json_is_true(json_object_get(b, "unchanged")));
    cr_assert_eq(cli_event_count(), before);
    json_decref(b);
}

Test(customer_writes, same_owner_same_name_same_limit_are_unchanged) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd", "--owner", "carol", "--credit-limit",
                            "100"));
    uint64_t before = cli_event_count();
    const char *const *noops[] = {
        ARGS("--json", "own", "CUST-000001", "carol"),
        ARGS("--json", "update", "CUST-000001", "--name", "Acme Ltd"),
        ARGS("--json", "update", "CUST-000001", "--name", "  Acme Ltd "),
        ARGS("--json", "update", "CUST-000001", "--credit-limit", "100.00"),
        ARGS("--json", "update", "CUST-000001", "--type", "business"),
    };
    for (size_t i = 0; i < sizeof noops / sizeof noops[0]; i++) {
        json_t *w = cli_json_ok_args(noops[i]);
        cr_assert(json_is_true(json_object_get(w, "unchanged")), "no-op %zu is not unchanged", i);
        json_decref(w);
    }
    cr_assert_eq(cli_event_count(), before, "a no-op appended events");
    /* a real change is not unchanged */
    json_t *w = cli_json_ok("--json", "update", "CUST-000001", "--credit-limit", "100.01");
    cr_assert_null(json_object_get(w, "unchanged"));
    cr_assert_eq(cli_event_count(), before + 1);
    json_decref(w);
}

/* ---- --expect-version ---- */

Test(customer_writes, a_matching_expect_version_succeeds) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    long long v = version_of("CUST-000001");
    char vs[32];
    snprintf(vs, sizeof vs, "%lld", v);
    json_t *w = cli_json_ok("--json", "--expect-version", vs, "note", "CUST-000001", "hi");
    cr_assert_eq(cli_jint(w, "version"), v + 1);
    json_decref(w);
    snprintf(vs, sizeof vs, "%lld", v + 1);
    /* after the command word, and as --expect-version=N */
    w = cli_json_ok("status", "CUST-000001", "active", "--expect-version", vs, "--json");
    cr_assert_eq(cli_jint(w, "version"), v + 2);
    json_decref(w);
    char eq[48];
    snprintf(eq, sizeof eq, "--expect-version=%lld", v + 2);
    w = cli_json_ok("--json", "update", "CUST-000001", "--name", "Acme Limited", eq);
    cr_assert_eq(cli_jint(w, "version"), v + 3);
    json_decref(w);
}

Test(customer_writes, a_stale_expect_version_is_a_conflict_and_appends_nothing) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    long long v = version_of("CUST-000001");
    char stale[32], ahead[32];
    snprintf(stale, sizeof stale, "%lld", v - 1);
    snprintf(ahead, sizeof ahead, "%lld", v + 1);
    const char *const *writes[] = {
        ARGS("--expect-version", stale, "note", "CUST-000001", "hi"),
        ARGS("note", "CUST-000001", "hi", "--expect-version", ahead),
        ARGS("update", "CUST-000001", "--name", "New", "--expect-version", stale),
        ARGS("status", "CUST-000001", "active", "--expect-version", stale),
        ARGS("own", "CUST-000001", "bob", "--expect-version", stale),
        ARGS("contact", "add", "CUST-000001", "--name", "Jo", "--expect-version", stale),
        ARGS("--json", "delete", "CUST-000001", "--expect-version", stale),
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        uint64_t before = cli_event_count();
        cli_fails_with(1, SAYS("conflict", "CUST-000001"), writes[i]);
        cr_assert_eq(cli_event_count(), before, "write %zu appended events", i);
    }
    cr_assert_eq(version_of("CUST-000001"), v);
}

Test(customer_writes, a_stale_version_wins_over_a_no_op) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "x"));
    cli_fails_with(1, SAYS("conflict"),
                   ARGS("status", "CUST-000001", "prospect", "--expect-version", "1"));
}

Test(customer_writes, merge_checks_both_expected_versions) {
    json_decref(cli_json_ok("--json", "create", "Keep Ltd"));
    json_decref(cli_json_ok("--json", "create", "Dup Ltd"));
    json_decref(cli_json_ok("--json", "note", "CUST-000002", "x"));
    long long kv = version_of("CUST-000001"), dv = version_of("CUST-000002");
    char k[32], d[32], dstale[32];
    snprintf(k, sizeof k, "%lld", kv);
    snprintf(d, sizeof d, "%lld", dv);
    snprintf(dstale, sizeof dstale, "%lld", dv - 1);
    uint64_t before = cli_event_count();
    cli_fails_with(1, SAYS("conflict", "CUST-000002"),
                   ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000002",
                        "--expect-version", k, "--expect-delete-version", dstale));
    cli_fails_with(1, SAYS("conflict", "CUST-000001"),
                   ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000002",
                        "--expect-version", d, "--expect-delete-version", d));
    cr_assert_eq(cli_event_count(), before);
    json_t *w = cli_json_ok("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002",
                            "--expect-version", k, "--expect-delete-version", d);
    cr_assert_eq(cli_jint(w, "version"), kv + 1);
    json_decref(w);
}

/* ---- --idempotency-key ---- */

Test(customer_writes, a_repeated_key_replays_the_original_result) {
    json_t *a = cli_json_ok("--json", "--idempotency-key", "c1", "create", "Acme Ltd");
    uint64_t after_create = cli_event_count();
    /* a repeat of create is not a duplicate name: it is the same request */
    json_t *b = cli_json_ok("--json", "create", "Acme Ltd", "--idempotency-key", "c1");
    cr_assert(json_is_true(json_object_get(b, "replayed")), "no replayed:true");
    cr_assert_null(json_object_get(a, "replayed"));
    cr_assert_eq(cli_jint(b, "seq"), cli_jint(a, "seq"));
    cr_assert_eq(cli_jint(b, "version"), cli_jint(a, "version"));
    cr_assert_eq(cli_jint(b, "id"), cli_jint(a, "id"));
    cr_assert_str_eq(cli_jstr(b, "ref"), cli_jstr(a, "ref"));
    cr_assert_eq(cli_event_count(), after_create);

    json_t *n1 = cli_json_ok("--json", "--idempotency-key", "n1", "note", "CUST-000001", "hello");
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "later"));
    uint64_t before = cli_event_count();
    /* the repeat comes after another write: still the original seq, nothing appended */
    json_t *n2 = cli_json_ok("--json", "--idempotency-key", "n1", "note", "CUST-000001", "hello");
    cr_assert(json_is_true(json_object_get(n2, "replayed")));
    cr_assert_eq(cli_jint(n2, "seq"), cli_jint(n1, "seq"));
    cr_assert_eq(cli_jint(n2, "version"), cli_jint(n1, "version"));
    cr_assert_eq(cli_event_count(), before);
    /* text says so too */
    cli_result r = cli("--idempotency-key", "n1", "note", "CUST-000001", "hello");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "nothing appended"), "%s", r.out);
    cli_result_free(&r);
    cr_assert_eq(cli_event_count(), before);
    json_decref(a);
    json_decref(b);
    json_decref(n1);
    json_decref(n2);
}

Test(customer_writes, the_same_key_with_different_content_is_refused) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "--idempotency-key", "k", "note", "CUST-000001", "hello"));
    uint64_t before = cli_event_count();
    cli_fails_with(1, SAYS("'k'"), ARGS("--idempotency-key", "k", "note", "CUST-000001", "bye"));
    /* the refusal names its rule, as every rule's does (SPEC section 3) */
    cli_fails_with(1, SAYS("rule 11"), ARGS("--idempotency-key", "k", "note", "CUST-000001", "x"));
    cli_fails_with(1, SAYS("'k'"), ARGS("--idempotency-key", "k", "create", "Other Ltd"));
    cli_fails_with(1, SAYS("'k'"),
                   ARGS("--idempotency-key", "k", "--reason", "why", "note", "CUST-000001",
                        "hello"));
    cr_assert_eq(cli_event_count(), before);
}

Test(customer_writes, a_replayed_status_change_and_merge_name_their_customer) {
    json_decref(cli_json_ok("--json", "create", "Keep Ltd"));
    json_decref(cli_json_ok("--json", "create", "Dup Ltd"));
    json_t *m1 = cli_json_ok("--json", "--idempotency-key", "m", "merge", "--keep", "CUST-000001",
                             "--delete", "CUST-000002");
    uint64_t before = cli_event_count();
    json_t *m2 = cli_json_ok("--json", "--idempotency-key", "m", "merge", "--keep", "CUST-000001",
                             "--delete", "CUST-000002");
    cr_assert(json_is_true(json_object_get(m2, "replayed")));
    cr_assert_str_eq(cli_jstr(m2, "ref"), "CUST-000001");
    cr_assert_eq(cli_jint(m2, "seq"), cli_jint(m1, "seq"));
    cr_assert_eq(cli_jint(m2, "version"), cli_jint(m1, "version"));
    cr_assert_eq(cli_event_count(), before);
    json_decref(m1);
    json_decref(m2);
}

/* Fixed (was a bug): the repeat of `contact add` loses the contact id the original printed:
 *   $ folio --json --idempotency-key c contact add CUST-000001 --name Jo
 *   {"id":1,"ref":"CUST-000001","seq":4,"version":3,"contact_id":1}
 *   $ folio --json --idempotency-key c contact add CUST-000001 --name Jo
 *   {"id":1,"ref":"CUST-000001","seq":4,"version":3,"replayed":true}
 * SPEC rule 11: a repeat "returns the original result". engine/command.c describe_replay
 * never sets item_id. */
Test(customer_writes, a_replayed_contact_add_keeps_its_contact_id) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_t *a = cli_json_ok("--json", "--idempotency-key", "c", "contact", "add", "CUST-000001",
                            "--name", "Jo");
    json_t *b = cli_json_ok("--json", "--idempotency-key", "c", "contact", "add", "CUST-000001",
                            "--name", "Jo");
    cr_assert(json_is_true(json_object_get(b, "replayed")));
    cr_assert_not_null(json_object_get(b, "contact_id"), "the replay has no contact_id");
    cr_assert_eq(cli_jint(b, "contact_id"), cli_jint(a, "contact_id"));
    json_decref(a);
    json_decref(b);
}

/* Fixed (was a bug): an idempotent repeat of a write whose actor, reason and key together pass about
 * 1 KiB exits 4 and calls a sound ledger corrupt:
 *   $ R=$(head -c 1020 /dev/zero | tr '\0' r)
 *   $ folio --actor a --idempotency-key k --reason "$R" create A     # ok
 *   $ folio --actor a --idempotency-key k --reason "$R" create A
 *   folio: corrupt event at seq 3: idempotency key is too long       # exit 4
 *   $ folio verify                                                   # ok
 * engine/command.c describe_replay decodes the envelope into char strbuf[1024], but a reason
 * alone may be FOLIO_REASON_BYTES_MAX (1024) bytes, plus actor, correlation and key. */
Test(customer_writes, a_replay_with_a_long_reason_replays) {
    char reason[1025];
    memset(reason, 'r', 1024);
    reason[1024] = '\0';
    json_t *a = cli_json_ok("--json", "--idempotency-key", "k", "--reason", reason, "create", "A");
    json_t *b = cli_json_ok("--json", "--idempotency-key", "k", "--reason", reason, "create", "A");
    cr_assert(json_is_true(json_object_get(b, "replayed")));
    cr_assert_eq(cli_jint(b, "seq"), cli_jint(a, "seq"));
    json_decref(a);
    json_decref(b);
}

Test(customer_writes, a_replay_with_a_short_reason_replays) {
    char reason[801];
    memset(reason, 'r', 800);
    reason[800] = '\0';
    json_t *a = cli_json_ok("--json", "--idempotency-key", "k", "--reason", reason, "create", "A");
    json_t *b = cli_json_ok("--json", "--idempotency-key", "k", "--reason", reason, "create", "A");
    cr_assert(json_is_true(json_object_get(b, "replayed")));
    cr_assert_eq(cli_jint(b, "seq"), cli_jint(a, "seq"));
    json_decref(a);
    json_decref(b);
}

/* ---- global options after the command word ---- */

Test(customer_writes, global_options_after_the_command_word_work_for_writes) {
    const char *db = cli_path("p.db");
    json_t *w = cli_json_ok("create", "X Co", "--json", "--db", db);
    cr_assert_str_eq(cli_jstr(w, "ref"), "CUST-000001");
    json_decref(w);
    cr_assert(cli_exists(db), "--db after the command word was ignored");
    cr_assert(!cli_exists(cli_path("folio.db")), "wrote ./folio.db instead of --db");
    w = cli_json_ok("note", "CUST-000001", "hello", "--actor", "zed", "--reason", "because",
                    "--db", db, "--json");
    json_decref(w);
    w = cli_json_ok("contact", "add", "CUST-000001", "--json", "--name", "Jo", "--db", db,
                    "--actor", "yan");
    cr_assert_eq(cli_jint(w, "contact_id"), 1);
    json_decref(w);
    char dbeq[4200];
    snprintf(dbeq, sizeof dbeq, "--db=%s", db);
    w = cli_json_ok("status", "CUST-000001", dbeq, "active", "--json");
    json_decref(w);
    json_t *h = cli_json_ok("history", "CUST-000001", "--db", db, "--json");
    cr_assert_eq(json_array_size(h), 5);
    json_t *note = json_array_get(h, 2), *contact = json_array_get(h, 3);
    cr_assert_str_eq(cli_jstr(note, "type"), "customer.note_added");
    cr_assert_str_eq(cli_jstr(note, "actor"), "zed");
    cr_assert_str_eq(cli_jstr(note, "reason"), "because");
    cr_assert_str_eq(cli_jstr(contact, "actor"), "yan");
    cr_assert_str_eq(cli_jstr(json_array_get(h, 4), "type"), "customer.status_changed");
    json_decref(h);
    cr_assert(!cli_exists(cli_path("folio.db")));
}

Test(customer_writes, actor_comes_from_folio_actor_when_not_given) {
    cli_result r = cli_env(ENV("FOLIO_ACTOR=envy"), "--json", "create", "X Co");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    r = cli_env(ENV("FOLIO_ACTOR=envy"), "--json", "--actor", "flag", "note", "CUST-000001", "x");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    cr_assert_str_eq(cli_jstr(json_array_get(h, 0), "actor"), "envy");
    cr_assert_str_eq(cli_jstr(json_array_get(h, 2), "actor"), "flag");
    json_decref(h);
}

/* ---- a refused write on a new ledger path leaves nothing behind ---- */

Test(customer_writes, a_refused_write_on_a_new_path_leaves_no_ledger_file) {
    const char *db = cli_path("fresh.db");
    const char *const *writes[] = {
        ARGS("--db", db, "create", ""),
        ARGS("--db", db, "--json", "create", "   "),
        ARGS("create", "X", "--db", db, "--currency", "XYZ"),
        ARGS("create", "X", "--db", db, "--credit-limit", "12.345"),
        ARGS("create", "X", "--db", db, "--expect-version", "5"),
        ARGS("create", "X", "--db", db, "--bogus"),
        ARGS("--db", db, "status", "CUST-000001", "active"),
        ARGS("--db", db, "note", "CUST-000001", "x"),
        ARGS("--db", db, "contact", "add", "CUST-000001", "--name", "Jo"),
        ARGS("--db", db, "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"),
        ARGS("--db", db, "init", "--base-currency", "XYZ"),
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        cli_result r = cli_run_env(NULL, NULL, writes[i]);
        cr_assert(r.status >= 1 && r.status <= 3, "write %zu exited %d: %s", i, r.status, r.err);
        cli_assert_one_error_line(&r);
        cr_assert(!cli_exists(db), "refused write %zu left %s behind", i, db);
        cr_assert_eq(cli_dir_entries(), 0, "refused write %zu left files behind", i);
        cli_result_free(&r);
    }
    /* the same path then takes a good write */
    json_t *w = cli_json_ok("--json", "--db", db, "create", "X");
    cr_assert_str_eq(cli_jstr(w, "ref"), "CUST-000001");
    json_decref(w);
    cr_assert(cli_exists(db));
}

Test(customer_writes, a_first_write_on_a_new_ledger_creates_default_settings) {
    json_t *w = cli_json_ok("--json", "create", "X");
    json_decref(w);
    cli_result r = cli("--json", "log", "--limit", "1");
    cr_assert_eq(r.status, 0, "%s", r.err);
    json_t *lines = cli_json_lines(r.out);
    json_t *first = json_array_get(lines, 0);
    cr_assert_str_eq(cli_jstr(first, "type"), "ledger.configured");
    json_t *d = json_object_get(first, "data");
    cr_assert_str_eq(cli_jstr(d, "base_currency"), "USD");
    cr_assert_str_eq(cli_jstr(d, "ref_prefix"), "CUST-");
    json_decref(lines);
    cli_result_free(&r);
}

Test(customer_writes, a_refused_write_on_an_existing_ledger_changes_nothing) {
    cli_demo();
    uint64_t events, streams, events2, streams2;
    char head[33], head2[33];
    cli_verify_json(&events, &streams, head);
    cli_result r = cli("create", "Acme Trading Ltd");
    cli_assert_error(&r, 1);
    cli_result_free(&r);
    r = cli("update", "CUST-000001", "--currency", "EUR");
    cli_assert_error(&r, 1);
    cli_result_free(&r);
    cli_verify_json(&events2, &streams2, head2);
    cr_assert_eq(events2, events);
    cr_assert_eq(streams2, streams);
    cr_assert_str_eq(head2, head);
}

/* ---- init ---- */

Test(customer_writes, init_settings_shape_new_customers) {
    json_decref(cli_json_ok("--json", "init", "--base-currency", "EUR", "--ref-prefix", "ACC-",
                            "--credit-control", "none", "--on-hold", "cash-sales"));
    json_t *w = cli_json_ok("--json", "create", "X");
    cr_assert_str_eq(cli_jstr(w, "ref"), "ACC-000001");
    json_t *s = cli_json_ok("--json", "show", "ACC-000001");
    cr_assert_str_eq(cli_jstr(s, "currency"), "EUR");
    json_decref(s);
    json_decref(w);
    /* the same settings again are a no-op */
    uint64_t before = cli_event_count();
    w = cli_json_ok("--json", "init", "--base-currency", "EUR", "--ref-prefix", "ACC-");
    cr_assert(json_is_true(json_object_get(w, "unchanged")));
    json_decref(w);
    cr_assert_eq(cli_event_count(), before);
    /* base currency and prefix are fixed once a customer exists; credit control is not */
    cli_fails_with(1, SAYS("EUR"), ARGS("init", "--base-currency", "USD"));
    cli_fails_with(1, SAYS("ACC-"), ARGS("init", "--ref-prefix", "X-"));
    cr_assert_eq(cli_event_count(), before);
    w = cli_json_ok("--json", "init", "--credit-control", "both");
    cr_assert_null(json_object_get(w, "unchanged"));
    json_decref(w);
    cr_assert_eq(cli_event_count(), before + 1);
}
