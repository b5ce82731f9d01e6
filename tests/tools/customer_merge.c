/*
 * tests/tools/customer_merge.c - merge --keep A --delete B (SPEC rule 6), delete (rule 5),
 * the deleted-customer lookup (`deleted [--name PATTERN]`), and what stays readable.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"

TestSuite(customer_merge, .init = cli_tmpdir_setup, .fini = cli_tmpdir_teardown);

#define SAYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void ok(const char *const *args) {
    json_decref(cli_json_ok_args(args));
}

/* KEEP "Acme Trading Ltd" with contacts Jane, Raj; DELETE "ACME Trading" with Tom. */
static void two_with_contacts(void) {
    ok(ARGS("--json", "create", "Acme Trading Ltd", "--status", "active"));
    ok(ARGS("--json", "create", "ACME Trading"));
    ok(ARGS("--json", "contact", "add", "CUST-000001", "--name", "Jane", "--email",
            "jane@a.example"));
    ok(ARGS("--json", "contact", "add", "CUST-000001", "--name", "Raj"));
    ok(ARGS("--json", "contact", "add", "CUST-000002", "--name", "Tom", "--role", "accounts",
            "--phone", "+44 1"));
}

/* The one item of a history whose type is `type` (asserting there is exactly one). */
static json_t *only_item(json_t *history, const char *type) {
    size_t i, n = 0;
    json_t *it, *found = NULL;
    json_array_foreach(history, i, it) {
        if (strcmp(cli_jstr(it, "type"), type) == 0) {
            found = it;
            n++;
        }
    }
    cr_assert_eq(n, 1, "%zu %s events in the history, expected one", n, type);
    return found;
}

static json_t *find_by(json_t *arr, const char *key, const char *value) {
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        json_t *v = json_object_get(it, key);
        if (json_is_string(v) && strcmp(json_string_value(v), value) == 0) return it;
    }
    return NULL;
}

Test(customer_merge, keep_gets_the_contacts_with_new_ids_and_delete_is_gone) {
    two_with_contacts();
    json_t *dup = cli_json_ok("--json", "show", "CUST-000002");
    long long tom_old_id = cli_jint(json_array_get(json_object_get(dup, "contacts"), 0), "id");
    json_decref(dup);
    json_t *keep_before = cli_json_ok("--json", "show", "CUST-000001");
    json_t *w = cli_json_ok("--json", "--reason", "same company", "merge", "--keep", "CUST-000001",
                            "--delete", "CUST-000002");
    cr_assert_str_eq(cli_jstr(w, "ref"), "CUST-000001", "the result names the keeper");
    cr_assert_gt(cli_jint(w, "version"), cli_jint(keep_before, "version"));
    cr_assert_eq((uint64_t)cli_jint(w, "seq"), cli_event_count());
    json_t *hk = cli_json_ok("--json", "history", "CUST-000001");
    json_t *hlast = json_array_get(hk, json_array_size(hk) - 1);
    cr_assert_eq(cli_jint(w, "version"), cli_jint(hlast, "version"), "the result names A's head");
    cr_assert_eq(cli_jint(w, "seq"), cli_jint(hlast, "seq"));
    json_decref(hk);

    json_t *keep = cli_json_ok("--json", "show", "CUST-000001");
    json_t *contacts = json_object_get(keep, "contacts");
    cr_assert_eq(json_array_size(contacts), 3);
    json_t *jane = find_by(contacts, "name", "Jane"), *raj = find_by(contacts, "name", "Raj");
    json_t *tom = find_by(contacts, "name", "Tom");
    cr_assert(jane && raj && tom, "contacts after merge are not Jane, Raj and Tom");
    cr_assert_str_eq(cli_jstr(jane, "email"), "jane@a.example");
    cr_assert_str_eq(cli_jstr(tom, "role"), "accounts", "the moved contact keeps its fields");
    cr_assert_str_eq(cli_jstr(tom, "phone"), "+44 1");
    long long ids[3] = {cli_jint(jane, "id"), cli_jint(raj, "id"), cli_jint(tom, "id")};
    cr_assert(ids[0] != ids[1] && ids[0] != ids[2] && ids[1] != ids[2], "contact ids collide");
    cr_assert_gt(ids[2], ids[1], "the moved contact gets a new id after the keeper's");
    cr_assert_eq(tom_old_id, 1, "Tom was contact 1 of the duplicate");
    cr_assert_neq(ids[2], tom_old_id, "Tom kept the id that Jane has");
    cr_assert_str_eq(cli_jstr(keep, "name"), "Acme Trading Ltd");
    cr_assert_str_eq(cli_jstr(keep, "status"), "active");
    cr_assert_null(json_object_get(keep, "merged_into"));
    json_decref(keep);

    /* the deleted side */
    cli_fails_with(3, SAYS("CUST-000002", "merged into CUST-000001"), ARGS("show", "CUST-000002"));
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert_eq(json_array_size(d), 1);
    json_t *gone = json_array_get(d, 0);
    cr_assert_str_eq(cli_jstr(gone, "ref"), "CUST-000002");
    cr_assert_str_eq(cli_jstr(gone, "name"), "ACME Trading");
    cr_assert_str_eq(cli_jstr(gone, "merged_into"), "CUST-000001");
    cr_assert_lt(cli_jint(gone, "deleted_seq"), cli_jint(w, "seq") + 1);
    json_decref(d);
    json_t *l = cli_json_ok("--json", "list", "--all");
    cr_assert_eq(json_array_size(l), 1);
    cr_assert_null(find_by(l, "ref", "CUST-000002"));
    json_decref(l);
    json_decref(keep_before);
    json_decref(w);
}

Test(customer_merge, both_histories_record_the_merge) {
    two_with_contacts();
    json_t *w = cli_json_ok("--json", "--actor", "mo", "--reason", "same company", "merge",
                            "--keep", "CUST-000001", "--delete", "CUST-000002");
    json_t *hk = cli_json_ok("--json", "history", "CUST-000001");
    json_t *last = only_item(hk, "customer.merged_from");
    cr_assert_leq(cli_jint(last, "seq"), cli_jint(w, "seq"));
    cr_assert_str_eq(cli_jstr(last, "actor"), "mo");
    cr_assert_str_eq(cli_jstr(last, "reason"), "same company");
    cr_assert_str_eq(cli_jstr(json_object_get(last, "data"), "source_ref"), "CUST-000002");

    json_t *hd = cli_json_ok("--json", "history", "CUST-000002");
    size_t n = json_array_size(hd);
    cr_assert_geq(n, 2);
    json_t *into = json_array_get(hd, n - 2), *status = json_array_get(hd, n - 1);
    cr_assert_str_eq(cli_jstr(into, "type"), "customer.merged_into");
    json_t *want = cli_json("{\"merged_into\":[null,\"CUST-000001\"]}");
    cr_assert(json_equal(json_object_get(into, "changes"), want));
    json_decref(want);
    want = cli_json("{\"status\":[\"prospect\",\"deleted\"]}");
    cr_assert(json_equal(json_object_get(status, "changes"), want));
    json_decref(want);
    cr_assert_str_eq(cli_jstr(status, "reason"), "same company");
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(cli_jint(json_array_get(hd, i), "version"), (long long)i + 1);
    /* deleted_seq of the lookup is the seq of the status change */
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert_eq(cli_jint(json_array_get(d, 0), "deleted_seq"), cli_jint(status, "seq"));
    json_decref(d);
    json_decref(hk);
    json_decref(hd);
    json_decref(w);
}

Test(customer_merge, show_at_a_seq_before_the_merge_still_shows_the_old_card) {
    two_with_contacts();
    json_t *before = cli_json_ok("--json", "show", "CUST-000002");
    char at[32];
    snprintf(at, sizeof at, "%llu", (unsigned long long)cli_event_count());
    ok(ARGS("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
    json_t *then = cli_json_ok("--json", "show", "CUST-000002", "--at-seq", at);
    cr_assert_eq(cli_jint(then, "at_seq"), atoll(at), "as known at the seq asked");
    json_object_del(then, "at_seq");
    cr_assert(json_equal(then, before), "the card as known before the merge changed");
    json_t *keep_then = cli_json_ok("--json", "show", "CUST-000001", "--at-seq", at);
    cr_assert_eq(json_array_size(json_object_get(keep_then, "contacts")), 2);
    json_decref(keep_then);
    json_decref(then);
    json_decref(before);
}

Test(customer_merge, the_deleted_name_can_be_reused_but_never_the_ref) {
    two_with_contacts();
    ok(ARGS("--json", "merge", "--keep", "CUST-000001", "--delete", "CUST-000002"));
    ok(ARGS("--json", "create", "Plain Gone"));
    ok(ARGS("--json", "delete", "CUST-000003"));
    json_t *a = cli_json_ok("--json", "create", "ACME Trading");
    json_t *b = cli_json_ok("--json", "create", "Plain Gone");
    cr_assert_str_eq(cli_jstr(a, "ref"), "CUST-000004", "a new ref, not the merged one");
    cr_assert_str_eq(cli_jstr(b, "ref"), "CUST-000005");
    json_t *f = cli_json_ok("--json", "find", "ACME Trading");
    cr_assert_str_eq(cli_jstr(f, "ref"), "CUST-000004");
    json_decref(f);
    /* now taken again */
    cli_fails_with(1, SAYS("rule 2"), ARGS("create", "ACME Trading"));
    /* the lookup still lists the old ones under the same names */
    json_t *d = cli_json_ok("--json", "deleted", "--name", "ACME Trading");
    cr_assert_eq(json_array_size(d), 1);
    cr_assert_str_eq(cli_jstr(json_array_get(d, 0), "ref"), "CUST-000002");
    json_decref(d);
    cli_fails_with(1, SAYS("CUST-000002"), ARGS("create", "Z", "--ref", "CUST-000002"));
    json_decref(a);
    json_decref(b);
}

Test(customer_merge, deleted_name_patterns_are_wildcards_and_case_insensitive) {
    const char *names[] = {"Acme Trading", "Acme Tradings", "Beta Corp", "Caf\xc3\xa9 Noir"};
    for (int i = 0; i < 4; i++) {
        json_t *w = cli_json_ok("--json", "create", names[i]);
        ok(ARGS("--json", "delete", cli_jstr(w, "ref")));
        json_decref(w);
    }
    ok(ARGS("--json", "create", "Acme Live"));
    static const struct {
        const char *pattern;
        size_t count;
    } cases[] = {
        {"acme trading", 1},   {"ACME TRADING", 1}, {"acme*", 2},         {"*TRAD*", 2},
        {"acme?trading", 1},   {"acme trading?", 1}, {"acme trading*", 2}, {"*", 4},
        {"beta", 0},           {"beta corp", 1},     {"?eta ?orp", 1},     {"acme live", 0},
        {"CAF\xc3\x89*", 1},   {"caf? noir", 1},     {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = cli_json_ok("--json", "deleted", "--name", cases[i].pattern);
        cr_assert(json_is_array(d));
        cr_assert_eq(json_array_size(d), cases[i].count, "deleted --name '%s' found %zu, not %zu",
                     cases[i].pattern, json_array_size(d), cases[i].count);
        json_decref(d);
    }
    json_t *all = cli_json_ok("--json", "deleted");
    cr_assert_eq(json_array_size(all), 4, "no pattern lists every deleted customer");
    json_decref(all);
}

Test(customer_merge, merge_needs_two_live_customers_of_one_currency) {
    ok(ARGS("--json", "create", "A"));
    ok(ARGS("--json", "create", "B"));
    ok(ARGS("--json", "create", "E", "--currency", "EUR"));
    ok(ARGS("--json", "create", "G"));
    ok(ARGS("--json", "delete", "CUST-000004"));
    uint64_t before = cli_event_count();
    cli_fails_with(1, SAYS("rule 6", "itself"),
                   ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000001"));
    cli_fails_with(1, SAYS("rule 6", "USD", "EUR"),
                   ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000003"));
    cli_fails_with(1, SAYS("rule 6", "USD", "EUR"),
                   ARGS("merge", "--keep", "CUST-000003", "--delete", "CUST-000001"));
    cli_fails_with(1, SAYS("CUST-000004", "deleted"),
                   ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000004"));
    cli_fails_with(1, SAYS("CUST-000004", "deleted"),
                   ARGS("merge", "--keep", "CUST-000004", "--delete", "CUST-000001"));
    cli_fails_with(3, SAYS("CUST-000099"),
                   ARGS("merge", "--keep", "CUST-000001", "--delete", "CUST-000099"));
    cli_fails_with(2, NULL, ARGS("merge", "--keep", "CUST-000001"));
    cli_fails_with(2, NULL, ARGS("merge", "--delete", "CUST-000001"));
    cli_fails_with(2, NULL, ARGS("merge", "CUST-000001", "CUST-000002"));
    cr_assert_eq(cli_event_count(), before);
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert_eq(json_array_size(d), 1, "a refused merge deleted someone");
    json_decref(d);
}

Test(customer_merge, delete_with_documents_is_refused_but_merge_moves_them) {
    cli_demo(); /* CUST-000001 "Acme Trading Ltd": an invoice and a payment */
    json_t *acme = cli_json_ok("--json", "show", "CUST-000001");
    cli_fails_with(1, SAYS("merge", "rule 5"), ARGS("delete", "CUST-000001"));
    json_t *w = cli_json_ok("--json", "create", "Acme Group");
    const char *keep = cli_jstr(w, "ref");
    json_t *m = cli_json_ok("--json", "merge", "--keep", keep, "--delete", "CUST-000001");
    cr_assert_str_eq(cli_jstr(m, "ref"), keep);
    json_t *k = cli_json_ok("--json", "show", keep);
    cr_assert_str_eq(cli_jstr(k, "balance"), cli_jstr(acme, "balance"), "the balance moved");
    cr_assert_str_neq(cli_jstr(k, "balance"), "0.00", "the demo customer owes something");
    cr_assert_eq(json_array_size(json_object_get(k, "contacts")),
                 json_array_size(json_object_get(acme, "contacts")));
    cli_fails_with(3, SAYS("merged into", keep), ARGS("show", "CUST-000001"));
    json_t *d = cli_json_ok("--json", "deleted", "--name", "acme trading ltd");
    cr_assert_eq(json_array_size(d), 1);
    cr_assert_str_eq(cli_jstr(json_array_get(d, 0), "merged_into"), keep);
    json_decref(d);
    /* its history is still there, from its creation to the merge */
    json_t *h = cli_json_ok("--json", "history", "CUST-000001");
    cr_assert_str_eq(cli_jstr(json_array_get(h, 0), "type"), "customer.created");
    cr_assert_gt(json_array_size(h), (size_t)cli_jint(acme, "version"));
    json_decref(h);
    json_decref(k);
    json_decref(m);
    json_decref(w);
    json_decref(acme);
}

Test(customer_merge, a_customer_without_documents_can_be_deleted_from_any_live_status) {
    const char *from[] = {"prospect", "active", "inactive"};
    for (int i = 0; i < 3; i++) {
        json_t *w = cli_json_ok("--json", "create", from[i]);
        const char *ref = cli_jstr(w, "ref");
        if (i) ok(ARGS("--json", "status", ref, from[i]));
        json_t *d = cli_json_ok("--json", "delete", ref);
        cr_assert_null(json_object_get(d, "unchanged"));
        json_decref(d);
        json_t *h = cli_json_ok("--json", "history", ref);
        json_t *last = json_array_get(h, json_array_size(h) - 1);
        json_t *st = json_object_get(json_object_get(last, "changes"), "status");
        cr_assert_str_eq(json_string_value(json_array_get(st, 0)), from[i]);
        cr_assert_str_eq(json_string_value(json_array_get(st, 1)), "deleted");
        json_decref(h);
        json_decref(w);
    }
    json_t *d = cli_json_ok("--json", "deleted");
    cr_assert_eq(json_array_size(d), 3);
    json_decref(d);
}

/* Rule 5 after a merge: the keeper now holds the merged customer's open documents, so it
 * cannot be deleted either (before 749ecf3/e16693f merge moved the balance but no documents,
 * and the keeper could then be deleted with that balance on it). */
Test(customer_merge, a_keeper_that_received_documents_cannot_be_deleted) {
    cli_demo();
    json_t *w = cli_json_ok("--json", "create", "Acme Group");
    const char *keep = cli_jstr(w, "ref");
    json_t *m = cli_json_ok("--json", "merge", "--keep", keep, "--delete", "CUST-000001");
    json_t *k = cli_json_ok("--json", "show", keep);
    cr_assert_gt(cli_jint(k, "documents"), 0, "no documents moved to the keeper");
    json_t *h = cli_json_ok("--json", "history", keep);
    json_t *last = only_item(h, "customer.merged_from");
    cr_assert_leq(cli_jint(last, "seq"), cli_jint(m, "seq"));
    json_t *moved = json_object_get(json_object_get(last, "data"), "documents");
    cr_assert(json_is_array(moved));
    cr_assert_eq((long long)json_array_size(moved), cli_jint(k, "documents"),
                 "merged_from lists another number of documents than the card counts");
    uint64_t before = cli_event_count();
    cli_fails_with(1, SAYS("rule 5", "merge"), ARGS("delete", keep));
    cr_assert_eq(cli_event_count(), before);
    json_decref(h);
    json_decref(k);
    json_decref(m);
    json_decref(w);
}
