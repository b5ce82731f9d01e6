/*
 * tests/tools/customer_json.c - the --json shapes of the customer-master commands (SPEC
 * section 7): write results, show, find, list, history, deleted, and log lines. Each shape
 * has every SPEC key; the extra keys the CLI adds are listed here, so a new one is noticed.
 * Money is a decimal string, times are ISO 8601 UTC.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"

TestSuite(customer_json, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

/* SPEC keys, and the extras the CLI adds on top of them. */
static const char *const WRITE_KEYS[] = {"id", "ref", "seq", "version", NULL};
static const char *const WRITE_EXTRA[] = {"contact_id", "unchanged", "replayed", NULL};
static const char *const SHOW_KEYS[] = {"id",      "ref",     "name",         "type",
                                        "status",  "currency", "credit_limit", "owner",
                                        "balance", "on_hold", "hold_reasons", "contacts",
                                        "version", NULL};
/* merged_into is the SPEC's optional key; external_id, billing, shipping, documents extra. */
static const char *const SHOW_EXTRA[] = {"merged_into", "external_id", "billing", "shipping",
                                         "documents",   NULL};
static const char *const CONTACT_KEYS[] = {"id", "name", "email", "phone", "role", NULL};
static const char *const ADDRESS_KEYS[] = {"street", "city", "region", "postcode", "country", NULL};
static const char *const HISTORY_KEYS[] = {"seq", "version", "type", "recorded_at", "actor", "data",
                                           NULL};
/* reason and changes are the SPEC's optional keys; schema, correlation, idempotency_key extra. */
static const char *const HISTORY_EXTRA[] = {"reason", "changes", "schema", "correlation",
                                            "idempotency_key", NULL};
static const char *const DELETED_KEYS[] = {"ref", "name", "deleted_seq", "deleted_at", NULL};
static const char *const DELETED_EXTRA[] = {"merged_into", NULL};

static void check_write(const json_t *w) {
    cli_assert_keys(w, WRITE_KEYS, WRITE_EXTRA, "write result");
    cr_assert_gt(cli_jint(w, "id"), 0);
    cr_assert_gt(cli_jint(w, "seq"), 0);
    cr_assert_gt(cli_jint(w, "version"), 0);
    cr_assert(strncmp(cli_jstr(w, "ref"), "CUST-", 5) == 0, "ref %s", cli_jstr(w, "ref"));
}

/* A string-or-null money field. */
static void check_money_or_null(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_null(v) || (json_is_string(v) && cli_is_money(json_string_value(v))),
              "\"%s\" is not a decimal string or null", key);
}

static void check_show(const json_t *s) {
    cli_assert_keys(s, SHOW_KEYS, SHOW_EXTRA, "show");
    cli_jint(s, "id");
    cli_jstr(s, "ref");
    cli_jstr(s, "name");
    cli_jstr(s, "type");
    cli_jstr(s, "status");
    cli_jstr(s, "currency");
    cli_jint(s, "version");
    check_money_or_null(s, "credit_limit");
    cr_assert(cli_is_money(cli_jstr(s, "balance")), "balance %s", cli_jstr(s, "balance"));
    json_t *owner = json_object_get(s, "owner");
    cr_assert(json_is_null(owner) || json_is_string(owner));
    cr_assert(json_is_boolean(json_object_get(s, "on_hold")));
    json_t *reasons = json_object_get(s, "hold_reasons"), *v;
    size_t i;
    cr_assert(json_is_array(reasons));
    json_array_foreach(reasons, i, v) cr_assert(json_is_string(v));
    cr_assert_eq(json_is_true(json_object_get(s, "on_hold")), json_array_size(reasons) > 0,
                 "on_hold disagrees with hold_reasons");
    json_t *contacts = json_object_get(s, "contacts");
    cr_assert(json_is_array(contacts));
    json_array_foreach(contacts, i, v) {
        cli_assert_keys(v, CONTACT_KEYS, NULL, "contact");
        cr_assert_gt(cli_jint(v, "id"), 0);
        cli_jstr(v, "name");
    }
    const char *addr[] = {"billing", "shipping"};
    for (int k = 0; k < 2; k++)
        cli_assert_keys(json_object_get(s, addr[k]), ADDRESS_KEYS, NULL, addr[k]);
}

static void check_history_item(const json_t *h) {
    cli_assert_keys(h, HISTORY_KEYS, HISTORY_EXTRA, "history item");
    cr_assert_gt(cli_jint(h, "seq"), 0);
    cr_assert_gt(cli_jint(h, "version"), 0);
    cli_jstr(h, "type");
    cli_jstr(h, "actor");
    cr_assert(cli_is_iso_time(cli_jstr(h, "recorded_at")), "recorded_at %s",
              cli_jstr(h, "recorded_at"));
    cr_assert(json_is_object(json_object_get(h, "data")));
    json_t *ch = json_object_get(h, "changes");
    if (ch) {
        cr_assert(json_is_object(ch));
        const char *field;
        json_t *pair;
        json_object_foreach(ch, field, pair) {
            cr_assert(json_is_array(pair) && json_array_size(pair) == 2,
                      "change of %s is not [old, new]", field);
        }
    }
    json_t *reason = json_object_get(h, "reason");
    cr_assert(!reason || json_is_string(reason));
}

/* ---- write results ---- */

Test(customer_json, create_prints_id_ref_seq_version_of_the_last_event) {
    json_t *w = cli_json_ok("--json", "create", "Acme Ltd");
    check_write(w);
    cr_assert_str_eq(cli_jstr(w, "ref"), "CUST-000001");
    cr_assert_eq(cli_jint(w, "id"), 1);
    cr_assert_null(json_object_get(w, "unchanged"));
    cr_assert_null(json_object_get(w, "replayed"));
    cr_assert_null(json_object_get(w, "contact_id"));
    /* "the last event written": the head of the ledger and the customer's version */
    cr_assert_eq((uint64_t)cli_jint(w, "seq"), cli_event_count());
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    cr_assert_eq(cli_jint(w, "seq"), cli_jint(last, "seq"));
    cr_assert_eq(cli_jint(w, "version"), cli_jint(last, "version"));
    cr_assert_eq((size_t)cli_jint(w, "version"), json_array_size(h));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert_eq(cli_jint(s, "version"), cli_jint(w, "version"));
    cr_assert_eq(cli_jint(s, "id"), cli_jint(w, "id"));
    json_decref(s);
    json_decref(h);
    json_decref(w);
}

Test(customer_json, every_write_command_prints_the_write_shape) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "create", "Other Ltd"));
    json_t *prev = cli_json_ok("--json", "show", "CUST-000001");
    long long version = cli_jint(prev, "version");
    json_decref(prev);
    const char *const *writes[] = {
        ARGS("--json", "update", "CUST-000001", "--name", "Acme Limited"),
        ARGS("--json", "status", "CUST-000001", "active"),
        ARGS("--json", "own", "CUST-000001", "carol"),
        ARGS("--json", "note", "CUST-000001", "call back"),
        ARGS("--json", "contact", "add", "CUST-000001", "--name", "Jane"),
        ARGS("--json", "contact", "remove", "CUST-000001", "1"),
        ARGS("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"),
    };
    uint64_t events = cli_event_count();
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        json_t *w = cli_json_ok_args(writes[i]);
        check_write(w);
        cr_assert_str_eq(cli_jstr(w, "ref"), "CUST-000001", "write %zu names another customer", i);
        cr_assert_null(json_object_get(w, "unchanged"), "write %zu", i);
        cr_assert_null(json_object_get(w, "replayed"), "write %zu", i);
        uint64_t now = cli_event_count();
        cr_assert_gt(now, events, "write %zu appended nothing", i);
        cr_assert_eq((uint64_t)cli_jint(w, "seq"), now, "write %zu: seq is not the last event", i);
        cr_assert_eq(cli_jint(w, "version"), version + 1, "write %zu: version", i);
        int is_contact = i == 4 || i == 5;
        cr_assert_eq(json_object_get(w, "contact_id") != NULL, is_contact,
                     "write %zu: contact_id only for contact commands", i);
        version++;
        events = now;
        json_decref(w);
    }
}

Test(customer_json, init_prints_the_write_shape_with_a_null_ref) {
    json_t *w = cli_json_ok("--json", "init", "--base-currency", "EUR");
    cli_assert_keys(w, WRITE_KEYS, WRITE_EXTRA, "init result");
    cr_assert(json_is_null(json_object_get(w, "ref")), "settings have no ref");
    cr_assert_eq(cli_jint(w, "id"), 0);
    cr_assert_eq(cli_jint(w, "seq"), 1);
    json_decref(w);
}

Test(customer_json, contact_add_prints_the_contact_id_shown_on_the_card) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_t *a = cli_json_ok("--json", "contact", "add", "CUST-000001", "--name", "Jane");
    json_t *b = cli_json_ok("--json", "contact", "add", "CUST-000001", "--name", "Tom");
    check_write(a);
    check_write(b);
    long long ida = cli_jint(a, "contact_id"), idb = cli_jint(b, "contact_id");
    cr_assert_neq(ida, idb);
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    json_t *contacts = json_object_get(s, "contacts");
    cr_assert_eq(json_array_size(contacts), 2);
    cr_assert_eq(cli_jint(json_array_get(contacts, 0), "id"), ida);
    cr_assert_str_eq(cli_jstr(json_array_get(contacts, 0), "name"), "Jane");
    cr_assert_eq(cli_jint(json_array_get(contacts, 1), "id"), idb);
    cr_assert_str_eq(cli_jstr(json_array_get(contacts, 1), "name"), "Tom");
    json_decref(s);
    json_decref(a);
    json_decref(b);
}

Test(customer_json, unchanged_and_replayed_are_true_only_when_they_apply) {
    json_t *c = cli_json_ok("--json", "create", "Acme Ltd");
    json_t *u = cli_json_ok("--json", "status", "CUST-000001", "prospect");
    check_write(u);
    cr_assert(json_is_true(json_object_get(u, "unchanged")), "no-op lacks unchanged:true");
    cr_assert_null(json_object_get(u, "replayed"));
    cr_assert_eq(cli_jint(u, "seq"), cli_jint(c, "seq"), "a no-op names the last event");
    cr_assert_eq(cli_jint(u, "version"), cli_jint(c, "version"));
    json_t *k1 = cli_json_ok("--json", "--idempotency-key", "k", "note", "CUST-000001", "x");
    json_t *k2 = cli_json_ok("--json", "--idempotency-key", "k", "note", "CUST-000001", "x");
    cr_assert_null(json_object_get(k1, "replayed"));
    cr_assert(json_is_true(json_object_get(k2, "replayed")), "repeat lacks replayed:true");
    cr_assert_null(json_object_get(k2, "unchanged"));
    json_decref(c);
    json_decref(u);
    json_decref(k1);
    json_decref(k2);
}

/* ---- show, find, list ---- */

Test(customer_json, show_has_the_spec_keys_with_money_as_decimal_strings) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd", "--credit-limit", "2500", "--owner",
                            "carol", "--external-id", "EXT-1", "--billing-city", "Leeds",
                            "--shipping-country", "GB", "--type", "person"));
    json_decref(cli_json_ok("--json", "contact", "add", "CUST-000001", "--name", "Jane", "--email",
                            "jane@acme.example", "--role", "buyer"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    check_show(s);
    cr_assert_eq(cli_jint(s, "id"), 1);
    cr_assert_str_eq(cli_jstr(s, "ref"), "CUST-000001");
    cr_assert_str_eq(cli_jstr(s, "name"), "Acme Ltd");
    cr_assert_str_eq(cli_jstr(s, "type"), "person");
    cr_assert_str_eq(cli_jstr(s, "status"), "prospect");
    cr_assert_str_eq(cli_jstr(s, "currency"), "USD");
    cr_assert_str_eq(cli_jstr(s, "credit_limit"), "2500.00", "credit limit is normalised");
    cr_assert_str_eq(cli_jstr(s, "owner"), "carol");
    cr_assert_str_eq(cli_jstr(s, "balance"), "0.00");
    cr_assert(json_is_false(json_object_get(s, "on_hold")));
    cr_assert_eq(json_array_size(json_object_get(s, "hold_reasons")), 0);
    cr_assert_null(json_object_get(s, "merged_into"), "merged_into only after a merge");
    json_t *ct = json_array_get(json_object_get(s, "contacts"), 0);
    cr_assert_str_eq(cli_jstr(ct, "email"), "jane@acme.example");
    cr_assert_str_eq(cli_jstr(ct, "role"), "buyer");
    cr_assert(json_is_null(json_object_get(ct, "phone")));
    /* extras */
    cr_assert_str_eq(cli_jstr(s, "external_id"), "EXT-1");
    cr_assert_str_eq(cli_jstr(json_object_get(s, "billing"), "city"), "Leeds");
    cr_assert(json_is_null(json_object_get(json_object_get(s, "billing"), "country")));
    cr_assert_str_eq(cli_jstr(json_object_get(s, "shipping"), "country"), "GB");
    cr_assert_eq(cli_jint(s, "documents"), 0);
    json_decref(s);
}

Test(customer_json, show_without_credit_limit_or_owner_prints_null) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    check_show(s);
    cr_assert(json_is_null(json_object_get(s, "credit_limit")));
    cr_assert(json_is_null(json_object_get(s, "owner")));
    cr_assert_str_eq(cli_jstr(s, "type"), "business", "the default type");
    json_decref(s);
}

Test(customer_json, money_follows_the_currency_exponent) {
    json_decref(cli_json_ok("--json", "create", "Yen Co", "--currency", "JPY", "--credit-limit",
                            "5000"));
    json_decref(cli_json_ok("--json", "create", "Dinar Co", "--currency", "BHD", "--credit-limit",
                            "1.5"));
    json_t *y = cli_json_ok("--json", "show", "CUST-000001");
    json_t *b = cli_json_ok("--json", "show", "CUST-000002");
    check_show(y);
    check_show(b);
    cr_assert_str_eq(cli_jstr(y, "currency"), "JPY");
    cr_assert_str_eq(cli_jstr(y, "credit_limit"), "5000");
    cr_assert_str_eq(cli_jstr(y, "balance"), "0");
    cr_assert_str_eq(cli_jstr(b, "credit_limit"), "1.500");
    cr_assert_str_eq(cli_jstr(b, "balance"), "0.000");
    json_decref(y);
    json_decref(b);
}

Test(customer_json, show_of_a_customer_on_hold_names_the_status_reason) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "status", "CUST-000001", "hold"));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    check_show(s);
    cr_assert(json_is_true(json_object_get(s, "on_hold")));
    json_t *r = json_object_get(s, "hold_reasons");
    cr_assert_eq(json_array_size(r), 1);
    cr_assert_str_eq(json_string_value(json_array_get(r, 0)), "status");
    json_decref(s);
    json_decref(cli_json_ok("--json", "status", "CUST-000001", "active"));
    s = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert(json_is_false(json_object_get(s, "on_hold")), "released with the status");
    json_decref(s);
}

Test(customer_json, names_with_quotes_backslashes_and_unicode_round_trip) {
    const char *name = "Caf\xc3\xa9 \"Q\" \\ Ltd";
    json_decref(cli_json_ok("--json", "create", name));
    json_t *s = cli_json_ok("--json", "show", "CUST-000001");
    cr_assert_str_eq(cli_jstr(s, "name"), name);
    json_decref(s);
    json_t *l = cli_json_ok("--json", "list");
    cr_assert_str_eq(cli_jstr(json_array_get(l, 0), "name"), name);
    json_decref(l);
}

Test(customer_json, find_and_list_print_the_same_card_as_show) {
    json_decref(
        cli_json_ok("--json", "create", "Acme Ltd", "--credit-limit", "10", "--owner", "x"));
    json_decref(cli_json_ok("--json", "create", "Beta Ltd", "--status", "active"));
    json_decref(cli_json_ok("--json", "contact", "add", "CUST-000002", "--name", "Jo"));
    json_t *l = cli_json_ok("--json", "list");
    cr_assert(json_is_array(l));
    cr_assert_eq(json_array_size(l), 2);
    size_t i;
    json_t *item;
    json_array_foreach(l, i, item) {
        check_show(item);
        json_t *s = cli_json_ok("--json", "show", cli_jstr(item, "ref"));
        cr_assert(json_equal(item, s), "list item %zu differs from show", i);
        json_t *f = cli_json_ok("--json", "find", cli_jstr(item, "name"));
        cr_assert(json_equal(f, s), "find differs from show for %s", cli_jstr(item, "ref"));
        json_decref(s);
        json_decref(f);
    }
    json_decref(l);
}

Test(customer_json, list_of_a_ledger_without_customers_is_an_empty_array) {
    json_decref(cli_json_ok("--json", "init"));
    json_t *l = cli_json_ok("--json", "list");
    cr_assert(json_is_array(l) && json_array_size(l) == 0);
    json_decref(l);
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert(json_is_array(d) && json_array_size(d) == 0);
    json_decref(d);
}

/* ---- history, log ---- */

Test(customer_json, history_items_have_the_spec_keys_in_seq_order) {
    json_decref(cli_json_ok("--json", "--actor", "ann", "--reason", "met", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "create", "Other"));
    json_decref(cli_json_ok("--json", "note", "CUST-000001", "hello"));
    json_decref(
        cli_json_ok("--json", "--idempotency-key", "k7", "status", "CUST-000001", "active"));
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    cr_assert(json_is_array(h));
    cr_assert_eq(json_array_size(h), 4);
    size_t i;
    json_t *it;
    long long prev_seq = 0;
    const char *prev_at = "";
    json_array_foreach(h, i, it) {
        check_history_item(it);
        cr_assert_eq(cli_jint(it, "version"), (long long)i + 1);
        cr_assert_gt(cli_jint(it, "seq"), prev_seq);
        cr_assert_geq(strcmp(cli_jstr(it, "recorded_at"), prev_at), 0, "recorded_at decreases");
        prev_seq = cli_jint(it, "seq");
        prev_at = cli_jstr(it, "recorded_at");
    }
    json_t *created = json_array_get(h, 0), *note = json_array_get(h, 2);
    json_t *status = json_array_get(h, 3);
    cr_assert_str_eq(cli_jstr(created, "type"), "customer.created");
    cr_assert_str_eq(cli_jstr(created, "actor"), "ann");
    cr_assert_str_eq(cli_jstr(created, "reason"), "met");
    cr_assert_str_eq(cli_jstr(json_array_get(h, 1), "type"), "customer.currency_set");
    cr_assert_str_eq(cli_jstr(note, "type"), "customer.note_added");
    cr_assert_null(json_object_get(note, "reason"), "no --reason, no reason key");
    cr_assert_null(json_object_get(note, "changes"), "a note changes no field");
    cr_assert_str_eq(cli_jstr(json_object_get(note, "data"), "text"), "hello");
    cr_assert_str_eq(cli_jstr(status, "idempotency_key"), "k7");
    json_decref(h);
}

Test(customer_json, log_lines_carry_ref_and_the_history_item) {
    json_decref(cli_json_ok("--json", "create", "Acme Ltd"));
    json_decref(cli_json_ok("--json", "update", "CUST-000001", "--name", "Acme Limited"));
    cli_result r = cli("--json", "log");
    cr_assert_eq(r.status, 0, "log exited %d: %s", r.status, r.err);
    json_t *lines = cli_json_lines(r.out);
    cli_result_free(&r);
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    size_t i, matched = 0;
    json_t *line;
    json_array_foreach(lines, i, line) {
        json_t *ref = json_object_get(line, "ref");
        cr_assert_not_null(ref, "log line without \"ref\"");
        if (cli_jint(line, "stream") == 0) {
            cr_assert(json_is_null(ref), "settings have a null ref");
            continue;
        }
        cr_assert_str_eq(json_string_value(ref), "CUST-000001");
        json_t *item = json_deep_copy(line);
        json_object_del(item, "stream");
        json_object_del(item, "ref");
        cr_assert(json_equal(item, json_array_get(h, matched)),
                  "log line %zu differs from history item %zu", i, matched);
        json_decref(item);
        matched++;
    }
    cr_assert_eq(matched, json_array_size(h));
    json_t *upd = json_array_get(h, json_array_size(h) - 1);
    json_t *name = json_object_get(json_object_get(upd, "changes"), "name");
    cr_assert_str_eq(json_string_value(json_array_get(name, 0)), "Acme Ltd");
    cr_assert_str_eq(json_string_value(json_array_get(name, 1)), "Acme Limited");
    json_decref(h);
    json_decref(lines);
}

/* ---- deleted ---- */

/* The history item of `ref` whose changes set status to "deleted". */
static json_t *deletion_item(const char *ref) {
    json_t *h = cli_json_ok("--json", "history", ref);
    size_t i;
    json_t *it, *found = NULL;
    json_array_foreach(h, i, it) {
        json_t *st = json_object_get(json_object_get(it, "changes"), "status");
        if (st && json_is_string(json_array_get(st, 1)) &&
            strcmp(json_string_value(json_array_get(st, 1)), "deleted") == 0)
            found = json_incref(it);
    }
    json_decref(h);
    cr_assert_not_null(found, "history of %s has no deletion", ref);
    return found;
}

Test(customer_json, deleted_items_have_the_spec_keys_and_match_history) {
    json_decref(cli_json_ok("--json", "create", "Gone Ltd"));
    json_decref(cli_json_ok("--json", "create", "Keep Ltd"));
    json_decref(cli_json_ok("--json", "create", "Dup Ltd"));
    json_decref(cli_json_ok("--json", "delete", "CUST-000001"));
    json_decref(cli_json_ok("--json", "merge", "--keep", "CUST-000002", "--delete", "CUST-000003"));
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert(json_is_array(d));
    cr_assert_eq(json_array_size(d), 2);
    size_t i;
    json_t *it;
    int seen_plain = 0, seen_merged = 0;
    json_array_foreach(d, i, it) {
        cli_assert_keys(it, DELETED_KEYS, DELETED_EXTRA, "deleted item");
        const char *ref = cli_jstr(it, "ref");
        cr_assert(cli_is_iso_time(cli_jstr(it, "deleted_at")), "deleted_at %s",
                  cli_jstr(it, "deleted_at"));
        json_t *del = deletion_item(ref);
        cr_assert_eq(cli_jint(it, "deleted_seq"), cli_jint(del, "seq"), "%s deleted_seq", ref);
        cr_assert_str_eq(cli_jstr(it, "deleted_at"), cli_jstr(del, "recorded_at"));
        json_decref(del);
        if (strcmp(ref, "CUST-000001") == 0) {
            seen_plain = 1;
            cr_assert_str_eq(cli_jstr(it, "name"), "Gone Ltd");
            cr_assert_null(json_object_get(it, "merged_into"), "plain delete has no merged_into");
        } else {
            seen_merged = 1;
            cr_assert_str_eq(ref, "CUST-000003");
            cr_assert_str_eq(cli_jstr(it, "name"), "Dup Ltd");
            cr_assert_str_eq(cli_jstr(it, "merged_into"), "CUST-000002");
        }
    }
    cr_assert(seen_plain && seen_merged);
    json_decref(d);
}
