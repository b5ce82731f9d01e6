/*
 * tests/tools/customer_lifecycle.c - one customer's life through the CLI: create with
 * addresses, credit limit and owner; activate; a contact; rename and move; new owner; a
 * note; hold, active, inactive. Then history has every event in order with versions 1..n,
 * the field-level changes of each, and who did it and why; show --at-seq answers as known
 * at each seq (SPEC section 5).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"

TestSuite(customer_lifecycle, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define REF "CUST-000001"

/* One step: its command, and the history item it must add. `changes` is the JSON the item's
 * "changes" must equal (NULL: no "changes" key). */
typedef struct {
    const char *const *args;
    const char *type;
    const char *actor;
    const char *reason; /* NULL: no "reason" key */
    const char *changes;
} step;

static const step steps[] = {
    {ARGS("--json", "--actor", "alice", "--reason", "trade show", "create", "Globex Corp",
          "--type", "business", "--credit-limit", "2500", "--owner", "carol",
          "--billing-street", "1 Main St", "--billing-city", "Springfield", "--billing-region",
          "IL", "--billing-postcode", "62701", "--billing-country", "US", "--shipping-city",
          "Shelbyville", "--external-id", "EXT-9"),
     "customer.created", "alice", "trade show",
     "{\"name\":[null,\"Globex Corp\"],\"type\":[null,\"business\"],"
     "\"status\":[null,\"prospect\"],\"owner\":[null,\"carol\"],"
     "\"credit_limit\":[null,\"2500.00\"],\"external_id\":[null,\"EXT-9\"],"
     "\"billing.street\":[null,\"1 Main St\"],\"billing.city\":[null,\"Springfield\"],"
     "\"billing.region\":[null,\"IL\"],\"billing.postcode\":[null,\"62701\"],"
     "\"billing.country\":[null,\"US\"],\"shipping.city\":[null,\"Shelbyville\"]}"},
    {NULL, "customer.currency_set", "alice", "trade show", "{\"currency\":[null,\"USD\"]}"},
    {ARGS("--json", "--actor", "bob", "status", REF, "active"), "customer.status_changed", "bob",
     NULL, "{\"status\":[\"prospect\",\"active\"]}"},
    {ARGS("--json", "--actor", "bob", "contact", "add", REF, "--name", "Hank Scorpio", "--email",
          "hank@globex.example", "--phone", "+1 555 0100", "--role", "ceo"),
     "customer.contact_added", "bob", NULL,
     "{\"contacts\":[null,{\"id\":1,\"name\":\"Hank Scorpio\",\"email\":\"hank@globex.example\","
     "\"phone\":\"+1 555 0100\",\"role\":\"ceo\"}]}"},
    {ARGS("update", REF, "--name", "Globex Corporation", "--billing-city", "Capital City",
          "--json", "--actor", "carol", "--reason", "renamed after the merger"),
     "customer.updated", "carol", "renamed after the merger",
     "{\"name\":[\"Globex Corp\",\"Globex Corporation\"],"
     "\"billing.city\":[\"Springfield\",\"Capital City\"]}"},
    {ARGS("--json", "--actor", "dave", "own", REF, "dave"), "customer.owner_changed", "dave", NULL,
     "{\"owner\":[\"carol\",\"dave\"]}"},
    {ARGS("--json", "--actor", "dave", "note", REF, "call on Mondays"), "customer.note_added",
     "dave", NULL, NULL},
    {ARGS("--json", "--actor", "erin", "--reason", "cheque bounced", "status", REF, "hold"),
     "customer.status_changed", "erin", "cheque bounced", "{\"status\":[\"active\",\"hold\"]}"},
    {ARGS("--json", "--actor", "erin", "status", REF, "active"), "customer.status_changed", "erin",
     NULL, "{\"status\":[\"hold\",\"active\"]}"},
    {ARGS("--json", "--actor", "frank", "--reason", "closed", "status", REF, "inactive"),
     "customer.status_changed", "frank", "closed", "{\"status\":[\"active\",\"inactive\"]}"},
};
#define STEPS (sizeof steps / sizeof steps[0])

/* Run every step; fills seqs[i] with the seq each step's result (or the history) names. */
static void live(long long seqs[STEPS]) {
    long long last_version = 0;
    for (size_t i = 0; i < STEPS; i++) {
        if (!steps[i].args) continue;
        json_t *w = cli_json_ok_args(steps[i].args);
        cr_assert_str_eq(cli_jstr(w, "ref"), REF, "step %zu", i);
        cr_assert_gt(cli_jint(w, "version"), last_version, "step %zu", i);
        last_version = cli_jint(w, "version");
        seqs[i] = cli_jint(w, "seq");
        json_decref(w);
    }
}

Test(customer_lifecycle, history_has_every_event_in_order_with_changes_actor_and_reason) {
    long long seqs[STEPS] = {0};
    live(seqs);
    json_t *h = cli_json_ok("--json", "history", REF);
    cr_assert(json_is_array(h));
    cr_assert_eq(json_array_size(h), STEPS, "history has %zu events, expected %zu",
                 json_array_size(h), STEPS);
    long long prev_seq = 0;
    for (size_t i = 0; i < STEPS; i++) {
        const step *s = &steps[i];
        json_t *it = json_array_get(h, i);
        cr_assert_eq(cli_jint(it, "version"), (long long)i + 1, "item %zu", i);
        cr_assert_gt(cli_jint(it, "seq"), prev_seq, "item %zu out of order", i);
        prev_seq = cli_jint(it, "seq");
        if (s->args && (i + 1 == STEPS || steps[i + 1].args))
            cr_assert_eq(cli_jint(it, "seq"), seqs[i], "item %zu: the write printed another seq",
                         i);
        cr_assert_str_eq(cli_jstr(it, "type"), s->type, "item %zu", i);
        cr_assert_str_eq(cli_jstr(it, "actor"), s->actor, "item %zu", i);
        json_t *reason = json_object_get(it, "reason");
        if (s->reason)
            cr_assert_str_eq(json_string_value(reason), s->reason, "item %zu reason", i);
        else
            cr_assert_null(reason, "item %zu has a reason it was not given", i);
        json_t *changes = json_object_get(it, "changes");
        if (s->changes) {
            json_t *want = cli_json(s->changes);
            char *got = json_dumps(changes, JSON_COMPACT | JSON_ENCODE_ANY);
            cr_assert(json_equal(changes, want), "item %zu (%s) changes: %s, expected %s", i,
                      s->type, got ? got : "(none)", s->changes);
            free(got);
            json_decref(want);
        } else {
            cr_assert_null(changes, "item %zu has changes", i);
        }
    }
    /* the step after create is the same write: create prints its last event */
    cr_assert_eq(cli_jint(json_array_get(h, 1), "seq"), seqs[0]);
    json_t *note = json_array_get(h, 6);
    cr_assert_str_eq(cli_jstr(json_object_get(note, "data"), "text"), "call on Mondays");
    json_decref(h);

    json_t *card = cli_json_ok("--json", "show", REF);
    cr_assert_str_eq(cli_jstr(card, "name"), "Globex Corporation");
    cr_assert_str_eq(cli_jstr(card, "status"), "inactive");
    cr_assert_str_eq(cli_jstr(card, "owner"), "dave");
    cr_assert_str_eq(cli_jstr(card, "credit_limit"), "2500.00");
    cr_assert_eq(cli_jint(card, "version"), (long long)STEPS);
    json_t *bill = json_object_get(card, "billing");
    cr_assert_str_eq(cli_jstr(bill, "city"), "Capital City");
    cr_assert_str_eq(cli_jstr(bill, "street"), "1 Main St", "untouched fields stay");
    cr_assert_str_eq(cli_jstr(json_object_get(card, "shipping"), "city"), "Shelbyville");
    cr_assert_eq(json_array_size(json_object_get(card, "contacts")), 1);
    json_decref(card);
}

Test(customer_lifecycle, text_history_shows_each_change_as_old_arrow_new) {
    long long seqs[STEPS];
    live(seqs);
    cli_result r = cli("history", REF);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "name: Globex Corp \u2192 Globex Corporation"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "owner: carol \u2192 dave"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "status: active \u2192 inactive"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "call on Mondays"), "the note's text: %s", r.out);
    cr_assert_not_null(strstr(r.out, "renamed after the merger"), "the reason: %s", r.out);
    cr_assert(cli_mentions_seq(r.out, (uint64_t)seqs[STEPS - 1]), "%s", r.out);
    cli_result_free(&r);
}

Test(customer_lifecycle, show_at_seq_answers_as_known_then) {
    long long seqs[STEPS];
    live(seqs);
    json_t *h = cli_json_ok("--json", "history", REF);
    /* from the currency event on, every seq of the history gives that version's card */
    for (size_t i = 1; i < STEPS; i++) {
        json_t *it = json_array_get(h, i);
        char at[32];
        snprintf(at, sizeof at, "%lld", cli_jint(it, "seq"));
        json_t *c = cli_json_ok("--json", "show", REF, "--at-seq", at);
        cr_assert_eq(cli_jint(c, "version"), cli_jint(it, "version"), "at seq %s", at);
        const char *want_name = i < 4 ? "Globex Corp" : "Globex Corporation";
        cr_assert_str_eq(cli_jstr(c, "name"), want_name, "at seq %s", at);
        const char *want_status = i < 2 ? "prospect" : i == 7 ? "hold" : i == 9 ? "inactive"
                                                                                : "active";
        cr_assert_str_eq(cli_jstr(c, "status"), want_status, "at seq %s", at);
        cr_assert_eq(json_array_size(json_object_get(c, "contacts")), i < 3 ? 0 : 1, "at seq %s",
                     at);
        cr_assert_str_eq(cli_jstr(c, "owner"), i < 5 ? "carol" : "dave", "at seq %s", at);
        cr_assert_eq(json_is_true(json_object_get(c, "on_hold")), i == 7, "at seq %s", at);
        json_decref(c);
    }
    /* the old name, at the seq just before the rename */
    char before_rename[32];
    snprintf(before_rename, sizeof before_rename, "%lld",
             cli_jint(json_array_get(h, 4), "seq") - 1);
    json_t *old = cli_json_ok("--json", "show", REF, "--at-seq", before_rename);
    cr_assert_str_eq(cli_jstr(old, "name"), "Globex Corp");
    cr_assert_str_eq(cli_jstr(json_object_get(old, "billing"), "city"), "Springfield");
    json_decref(old);
    /* --at-seq at the head is today's card */
    char head[32];
    snprintf(head, sizeof head, "%llu", (unsigned long long)cli_event_count());
    json_t *now = cli_json_ok("--json", "show", REF, "--at-seq", head);
    json_t *cur = cli_json_ok("--json", "show", REF);
    /* the card asked --at-seq says which seq it is as known at; the rest is the same */
    cr_assert_eq(cli_jint(now, "at_seq"), (long long)cli_event_count());
    json_object_del(now, "at_seq");
    cr_assert(json_equal(now, cur));
    json_decref(now);
    json_decref(cur);
    json_decref(h);
}

/* show --at-seq at the customer.created event, one seq before the customer.currency_set
 * written in the same transaction (this aborted in build_customer before 749ecf3). */
Test(customer_lifecycle, show_at_the_created_seq_does_not_crash) {
    json_t *w = cli_json_ok("--json", "create", "Acme Ltd");
    json_t *h = cli_json_ok("--json", "history", cli_jstr(w, "ref"));
    char at[32];
    snprintf(at, sizeof at, "%lld", cli_jint(json_array_get(h, 0), "seq"));
    cli_result r = cli("--json", "show", cli_jstr(w, "ref"), "--at-seq", at);
    cr_assert_lt(r.status, 128, "show --at-seq %s died with signal %d: %s", at, r.status - 128,
                 r.err);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    json_t *c = cli_json(r.out);
    cr_assert_str_eq(cli_jstr(c, "name"), "Acme Ltd");
    json_decref(c);
    cli_result_free(&r);
    json_decref(h);
    json_decref(w);
}

Test(customer_lifecycle, a_renamed_customers_old_name_is_free_and_not_found) {
    json_decref(cli_json_ok("--json", "create", "Old Name"));
    json_decref(cli_json_ok("--json", "update", REF, "--name", "New Name"));
    cli_result r = cli("find", "Old Name");
    cli_assert_error(&r, 3);
    cli_result_free(&r);
    json_t *f = cli_json_ok("--json", "find", "New Name");
    cr_assert_str_eq(cli_jstr(f, "ref"), REF);
    json_decref(f);
    json_t *w = cli_json_ok("--json", "create", "Old Name");
    cr_assert_str_eq(cli_jstr(w, "ref"), "CUST-000002");
    json_decref(w);
}

Test(customer_lifecycle, contact_remove_takes_the_contact_off_the_card) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "contact", "add", REF, "--name", "Jo"));
    json_decref(cli_json_ok("--json", "contact", "add", REF, "--name", "Al"));
    json_t *w = cli_json_ok("--json", "contact", "remove", REF, "1");
    cr_assert_eq(cli_jint(w, "contact_id"), 1);
    json_decref(w);
    json_t *s = cli_json_ok("--json", "show", REF);
    json_t *c = json_object_get(s, "contacts");
    cr_assert_eq(json_array_size(c), 1);
    cr_assert_eq(cli_jint(json_array_get(c, 0), "id"), 2);
    cr_assert_str_eq(cli_jstr(json_array_get(c, 0), "name"), "Al");
    json_decref(s);
    /* ids are not reused */
    w = cli_json_ok("--json", "contact", "add", REF, "--name", "Bo");
    cr_assert_eq(cli_jint(w, "contact_id"), 3);
    json_decref(w);
    json_t *h = cli_json_ok("--json", "history", REF);
    json_t *rm = json_array_get(h, 4);
    cr_assert_str_eq(cli_jstr(rm, "type"), "customer.contact_removed");
    json_t *pair = json_object_get(json_object_get(rm, "changes"), "contacts");
    cr_assert_str_eq(cli_jstr(json_array_get(pair, 0), "name"), "Jo");
    cr_assert(json_is_null(json_array_get(pair, 1)));
    json_decref(h);
}

Test(customer_lifecycle, clearing_a_field_records_the_old_value) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd", "--credit-limit", "10",
                            "--billing-city", "Leeds"));
    json_decref(cli_json_ok("--json", "update", REF, "--credit-limit", "", "--billing-city", ""));
    json_t *s = cli_json_ok("--json", "show", REF);
    cr_assert(json_is_null(json_object_get(s, "credit_limit")));
    cr_assert(json_is_null(json_object_get(json_object_get(s, "billing"), "city")));
    json_decref(s);
    json_t *h = cli_json_ok("--json", "history", REF);
    json_t *ch = json_object_get(json_array_get(h, 2), "changes");
    json_t *want =
        cli_json("{\"credit_limit\":[\"10.00\",null],\"billing.city\":[\"Leeds\",null]}");
    cr_assert(json_equal(ch, want));
    json_decref(want);
    json_decref(h);
}
