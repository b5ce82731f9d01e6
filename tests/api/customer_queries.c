/*
 * tests/api/customer_queries.c - reading the customer master (SPEC sections 4, 5 and rule 7):
 * show (folio_customer_get), find (exact name), list (status filter, wildcard pattern, name
 * order), the deleted-document lookup, wildcard matching, and refs by id.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_queries, .init = tmpdb_setup, .fini = tmpdb_teardown);

static folio_write_result customer_in(const char *name, const char *status) {
    folio_customer_new c = {.name = name};
    if (strcmp(status, "active") == 0 || strcmp(status, "hold") == 0) c.status = "active";
    folio_write_result r = tmpdb_customer_new(tmpdb, &c);
    if (strcmp(status, "hold") == 0 || strcmp(status, "inactive") == 0 ||
        strcmp(status, "deleted") == 0)
        tmpdb_set_status(tmpdb, r.ref, status);
    return r;
}

/* Assert the names of a list, in order ("" separated by '|'). */
static void assert_names(const folio_customer_list *l, const char *expected) {
    char got[4096] = "";
    size_t at = 0;
    for (size_t i = 0; i < l->count; i++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s", i ? "|" : "", l->items[i]->name);
    cr_assert_str_eq(got, expected);
}

/* ---- show ---- */

Test(customer_queries, show_of_a_deleted_customer_is_not_found_saying_it_was_deleted) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    tmpdb_set_status(tmpdb, a.ref, "deleted");
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_get(&c, tmpdb, a.ref, 0, 0), FOLIO_ENOTFOUND);
    cr_assert_null(c);
    cr_assert(strstr(folio_errmsg(), "deleted") != NULL, "%s", folio_errmsg());
    cr_assert(strstr(folio_errmsg(), a.ref) != NULL, "%s", folio_errmsg());
    cr_assert(strstr(folio_errmsg(), "merged") == NULL, "%s", folio_errmsg());
    folio_customer *k = tmpdb_card_at(tmpdb, a.ref, 0, 1);
    cr_assert_eq(k->deleted, 1);
    cr_assert_eq(k->deleted_seq, tmpdb_last_seq(tmpdb));
    cr_assert_gt(k->deleted_at_us, 0);
    cr_assert_null(k->merged_into);
    cr_assert_str_eq(k->name, "Acme");
}

Test(customer_queries, a_live_card_reports_no_deletion) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    folio_customer *k = tmpdb_card_at(tmpdb, a.ref, 0, 1);
    cr_assert_eq(k->deleted, 0);
    cr_assert_eq(k->deleted_seq, 0);
    cr_assert_eq(k->deleted_at_us, 0);
    cr_assert_null(k->merged_into);
}

Test(customer_queries, the_card_counts_documents_and_balance_from_raw_document_events) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    tmpdb_invoice(tmpdb, a.id, "INV-1", "100.00");
    tmpdb_invoice(tmpdb, a.id, "INV-2", "0.01");
    folio_customer *k = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(k->documents, 2);
    cr_assert_str_eq(k->balance, "100.01");
    cr_assert_eq(k->version, 4);
}

/* A customer.created appended through the raw API without its customer.currency_set (nothing
 * in folio_append forbids it) is a card with no currency; show and list must not abort on it
 * (they did in build_customer() before 749ecf3). */
Test(customer_queries, a_raw_customer_without_a_currency_can_be_shown_and_listed) {
    tmpdb_customer(tmpdb, "Acme");
    folio_event e = tmpdb_event(50, FOLIO_EV_CUSTOMER_CREATED,
                                "{\"ref\":\"RAW-1\",\"name\":\"Raw\",\"type\":\"business\","
                                "\"status\":\"prospect\"}");
    tmpdb_append(tmpdb, &e);
    folio_customer *k = tmpdb_card(tmpdb, "RAW-1");
    cr_assert_null(k->currency);
    cr_assert_eq(tmpdb_list(tmpdb, 0, 0, NULL)->count, 2);
}

/* ---- find ---- */

Test(customer_queries, find_matches_the_exact_name_after_trimming) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme Ltd");
    tmpdb_customer(tmpdb, "acme ltd");
    folio_customer *c = NULL;
    TMPDB_OK(folio_customer_find(&c, tmpdb, "Acme Ltd"));
    cr_assert_str_eq(c->ref, a.ref);
    folio_customer_free(c);
    TMPDB_OK(folio_customer_find(&c, tmpdb, "  Acme Ltd\t"));
    cr_assert_str_eq(c->ref, a.ref);
    folio_customer_free(c);
    TMPDB_OK(folio_customer_find(&c, tmpdb, "acme ltd"));
    cr_assert_str_neq(c->ref, a.ref, "case matters");
    folio_customer_free(c);
    const char *misses[] = {"ACME LTD", "Acme", "Acme Ltd.", "Acme  Ltd", "Acme*"};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        c = NULL;
        cr_assert_eq(folio_customer_find(&c, tmpdb, misses[i]), FOLIO_ENOTFOUND, "'%s'",
                     misses[i]);
        cr_assert_null(c);
    }
    cr_assert_eq(folio_customer_find(&c, tmpdb, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_customer_find(&c, tmpdb, ""), FOLIO_EINVAL, "a blank name is no query");
    cr_assert_eq(folio_customer_find(&c, tmpdb, " \t"), FOLIO_EINVAL);
}

/* Fixed (was a bug): create trims all ASCII whitespace (space, \t, \n, \r, \v, \f) from a name
 * (check_name in engine/customer.c) but find trims only spaces and tabs
 * (folio_customer_find in engine/customer_query.c), so the name a customer was created with
 * does not find it: create "Acme\n" -> card "Acme"; find("Acme\n") -> FOLIO_ENOTFOUND.
 * Disabled until both trim the same set. */
Test(customer_queries, find_trims_the_same_whitespace_as_create) {
    tmpdb_customer(tmpdb, "Acme\n");
    folio_customer *c = NULL;
    TMPDB_OK(folio_customer_find(&c, tmpdb, "Acme\n"));
    folio_customer_free(c);
    TMPDB_OK(folio_customer_find(&c, tmpdb, "\r\nAcme\f"));
    folio_customer_free(c);
}

Test(customer_queries, find_does_not_see_deleted_or_merged_customers_but_sees_inactive_ones) {
    folio_write_result a = customer_in("Deleted", "deleted");
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result gone = tmpdb_customer(tmpdb, "Merged"), r;
    folio_write_result idle = customer_in("Idle", "inactive");
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep.ref, gone.ref, 0, 0));
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_find(&c, tmpdb, "Deleted"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_customer_find(&c, tmpdb, "Merged"), FOLIO_ENOTFOUND);
    TMPDB_OK(folio_customer_find(&c, tmpdb, "Idle"));
    cr_assert_str_eq(c->ref, idle.ref);
    folio_customer_free(c);
    /* A new customer with the deleted one's name is the one found. */
    folio_write_result again = tmpdb_customer(tmpdb, "Deleted");
    TMPDB_OK(folio_customer_find(&c, tmpdb, "Deleted"));
    cr_assert_str_eq(c->ref, again.ref);
    cr_assert_str_neq(c->ref, a.ref);
    folio_customer_free(c);
}

Test(customer_queries, find_follows_a_rename) {
    folio_write_result a = tmpdb_customer(tmpdb, "Old Name"), r;
    folio_write_opts w = tmpdb_w();
    folio_customer_changes ch = {.name = "New Name"};
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, a.ref, &ch));
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_find(&c, tmpdb, "Old Name"), FOLIO_ENOTFOUND);
    TMPDB_OK(folio_customer_find(&c, tmpdb, "New Name"));
    cr_assert_str_eq(c->ref, a.ref);
    folio_customer_free(c);
}

/* ---- list ---- */

Test(customer_queries, list_hides_inactive_by_default_and_never_shows_deleted) {
    customer_in("Delta", "deleted");
    customer_in("Bravo", "active");
    customer_in("Echo", "inactive");
    customer_in("Alpha", "prospect");
    customer_in("Charlie", "hold");
    folio_write_result keep = tmpdb_customer(tmpdb, "Foxtrot");
    folio_write_result gone = tmpdb_customer(tmpdb, "Golf"), r;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep.ref, gone.ref, 0, 0));

    assert_names(tmpdb_list(tmpdb, 0, 0, NULL), "Alpha|Bravo|Charlie|Foxtrot");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_DEFAULT, NULL), "Alpha|Bravo|Charlie|Foxtrot");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_ALL, NULL), "Alpha|Bravo|Charlie|Echo|Foxtrot");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_PROSPECT, NULL), "Alpha|Foxtrot");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_ACTIVE, NULL), "Bravo");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_HOLD, NULL), "Charlie");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_INACTIVE, NULL), "Echo");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_INACTIVE | FOLIO_LIST_HOLD, NULL), "Charlie|Echo");
}

Test(customer_queries, list_items_are_full_cards) {
    folio_customer_new c = {.name = "Acme", .status = "active", .credit_limit = "10",
                            .owner = "alice"};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    tmpdb_contact(tmpdb, a.ref, "Jane");
    tmpdb_set_status(tmpdb, a.ref, "hold");
    folio_customer_list *l = tmpdb_list(tmpdb, 0, 0, NULL);
    cr_assert_eq(l->count, 1);
    folio_customer *k = l->items[0];
    cr_assert_str_eq(k->ref, a.ref);
    cr_assert_str_eq(k->status, "hold");
    cr_assert_str_eq(k->credit_limit, "10.00");
    cr_assert_str_eq(k->owner, "alice");
    cr_assert_eq(k->contact_count, 1);
    cr_assert_str_eq(k->contacts[0].name, "Jane");
    cr_assert_eq(k->on_hold, 1);
    cr_assert_eq(k->version, 4);
}

Test(customer_queries, list_is_in_name_order_not_creation_order) {
    const char *names[] = {"Mike", "Alpha", "Zulu", "Bravo", "Alphabet", "Alp"};
    for (size_t i = 0; i < 6; i++) tmpdb_customer(tmpdb, names[i]);
    assert_names(tmpdb_list(tmpdb, 0, 0, NULL), "Alp|Alpha|Alphabet|Bravo|Mike|Zulu");
    /* A rename moves a customer to its new place. */
    folio_customer *c = NULL;
    TMPDB_OK(folio_customer_find(&c, tmpdb, "Zulu"));
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_customer_changes ch = {.name = "Able"};
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, c->ref, &ch));
    folio_customer_free(c);
    assert_names(tmpdb_list(tmpdb, 0, 0, NULL), "Able|Alp|Alpha|Alphabet|Bravo|Mike");
}

Test(customer_queries, list_pattern_takes_star_and_question_mark_ignoring_case) {
    const char *names[] = {"Acme Ltd", "ACME Holdings", "Beta Corp", "Zeta Inc", "Acme",
                           "Theta"};
    for (size_t i = 0; i < 6; i++) tmpdb_customer(tmpdb, names[i]);
    assert_names(tmpdb_list(tmpdb, 0, 0, "ACME*"), "ACME Holdings|Acme|Acme Ltd");
    assert_names(tmpdb_list(tmpdb, 0, 0, "acme"), "Acme");
    assert_names(tmpdb_list(tmpdb, 0, 0, "?eta*"), "Beta Corp|Zeta Inc");
    assert_names(tmpdb_list(tmpdb, 0, 0, "*eta*"), "Beta Corp|Theta|Zeta Inc");
    assert_names(tmpdb_list(tmpdb, 0, 0, "*"),
                 "ACME Holdings|Acme|Acme Ltd|Beta Corp|Theta|Zeta Inc");
    assert_names(tmpdb_list(tmpdb, 0, 0, "????"), "Acme");
    assert_names(tmpdb_list(tmpdb, 0, 0, "*l?d"), "Acme Ltd");
    assert_names(tmpdb_list(tmpdb, 0, 0, "nothing*"), "");
    assert_names(tmpdb_list(tmpdb, 0, 0, ""), "");
    /* Pattern and status filter together. */
    folio_customer *c = NULL;
    TMPDB_OK(folio_customer_find(&c, tmpdb, "Acme"));
    tmpdb_set_status(tmpdb, c->ref, "inactive");
    folio_customer_free(c);
    assert_names(tmpdb_list(tmpdb, 0, 0, "acme*"), "ACME Holdings|Acme Ltd");
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_INACTIVE, "acme*"), "Acme");
}

Test(customer_queries, list_pattern_folds_unicode_case) {
    tmpdb_customer(tmpdb, "Zo\xc3\xab Ltd");        /* Zoë Ltd */
    tmpdb_customer(tmpdb, "\xc3\x84rger GmbH");     /* Ärger GmbH */
    tmpdb_customer(tmpdb, "\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1"); /* Σοφία */
    assert_names(tmpdb_list(tmpdb, 0, 0, "ZO\xc3\x8b*"), "Zo\xc3\xab Ltd");      /* ZOË* */
    assert_names(tmpdb_list(tmpdb, 0, 0, "zo?*"), "Zo\xc3\xab Ltd"); /* ? is one character */
    assert_names(tmpdb_list(tmpdb, 0, 0, "\xc3\xa4*"), "\xc3\x84rger GmbH");     /* ä* */
    assert_names(tmpdb_list(tmpdb, 0, 0, "\xcf\x83\xce\xbf\xcf\x86*"),           /* σοφ* */
                 "\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1");
    /* A decomposed pattern (e + combining diaeresis) matches the composed name. */
    assert_names(tmpdb_list(tmpdb, 0, 0, "zoe\xcc\x88 ltd"), "Zo\xc3\xab Ltd");
}

Test(customer_queries, list_on_an_empty_ledger_is_empty) {
    folio_customer_list *l = tmpdb_list(tmpdb, 0, 0, NULL);
    cr_assert_eq(l->count, 0);
    l = tmpdb_list(tmpdb, 1, 0, NULL);
    cr_assert_eq(l->count, 0);
    cr_assert_eq(folio_customer_list_get(NULL, tmpdb, 0, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_deleted_list_get(NULL, tmpdb, NULL), FOLIO_EINVAL);
    folio_customer_list_free(NULL);
}

/* ---- the deleted-document lookup ---- */

Test(customer_queries, deleted_lists_deleted_and_merged_customers_in_order_of_deletion) {
    folio_write_result a = tmpdb_customer(tmpdb, "Zebra Ltd");
    folio_write_result b = tmpdb_customer(tmpdb, "Acme Ltd");
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result c = tmpdb_customer(tmpdb, "Middle Co"), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_set_status(tmpdb, a.ref, "deleted");
    uint64_t a_seq = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep.ref, c.ref, 0, 0));
    tmpdb_set_status(tmpdb, b.ref, "active");
    tmpdb_set_status(tmpdb, b.ref, "deleted");
    uint64_t b_seq = tmpdb_last_seq(tmpdb);

    folio_customer_list *l = tmpdb_list(tmpdb, 1, 0, NULL);
    assert_names(l, "Zebra Ltd|Middle Co|Acme Ltd");
    cr_assert_str_eq(l->items[0]->ref, a.ref);
    cr_assert_eq(l->items[0]->deleted_seq, a_seq);
    cr_assert_null(l->items[0]->merged_into);
    cr_assert_str_eq(l->items[1]->ref, c.ref);
    cr_assert_eq(l->items[1]->deleted_seq, r.seq - 1);
    cr_assert_str_eq(l->items[1]->merged_into, keep.ref);
    cr_assert_str_eq(l->items[2]->ref, b.ref);
    cr_assert_eq(l->items[2]->deleted_seq, b_seq);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(l->items[i]->deleted, 1);
        cr_assert_str_eq(l->items[i]->status, "deleted");
        cr_assert_gt(l->items[i]->deleted_at_us, 0);
        if (i) cr_assert_geq(l->items[i]->deleted_at_us, l->items[i - 1]->deleted_at_us);
    }
    /* Deleted customers are in no ordinary list. */
    assert_names(tmpdb_list(tmpdb, 0, FOLIO_LIST_ALL, NULL), "Keep");
}

Test(customer_queries, deleted_pattern_takes_wildcards_ignoring_case_unicode_included) {
    const char *names[] = {"Acme Ltd", "Beta Corp", "Zeta Inc", "Zo\xc3\xab Ltd", "acme two"};
    for (size_t i = 0; i < 5; i++)
        tmpdb_set_status(tmpdb, tmpdb_customer(tmpdb, names[i]).ref, "deleted");
    tmpdb_customer(tmpdb, "Acme Live"); /* not deleted: never in this lookup */
    assert_names(tmpdb_list(tmpdb, 1, 0, "ACME*"), "Acme Ltd|acme two");
    assert_names(tmpdb_list(tmpdb, 1, 0, "?eta*"), "Beta Corp|Zeta Inc");
    assert_names(tmpdb_list(tmpdb, 1, 0, "ZO\xc3\x8b*"), "Zo\xc3\xab Ltd");
    assert_names(tmpdb_list(tmpdb, 1, 0, "zo\xc3\xab ltd"), "Zo\xc3\xab Ltd");
    assert_names(tmpdb_list(tmpdb, 1, 0, "*ltd"), "Acme Ltd|Zo\xc3\xab Ltd");
    assert_names(tmpdb_list(tmpdb, 1, 0, "Acme"), "");
}

Test(customer_queries, a_name_reused_after_deletion_appears_once_live_and_once_deleted) {
    folio_write_result old = tmpdb_customer(tmpdb, "Acme");
    tmpdb_set_status(tmpdb, old.ref, "deleted");
    folio_write_result now = tmpdb_customer(tmpdb, "Acme");
    folio_customer_list *live = tmpdb_list(tmpdb, 0, 0, "acme");
    folio_customer_list *dead = tmpdb_list(tmpdb, 1, 0, "acme");
    cr_assert_eq(live->count, 1);
    cr_assert_str_eq(live->items[0]->ref, now.ref);
    cr_assert_eq(dead->count, 1);
    cr_assert_str_eq(dead->items[0]->ref, old.ref);
}

/* ---- wildcard matching and refs ---- */

Test(customer_queries, name_matching_handles_stars_question_marks_and_case) {
    cr_assert(folio_name_matches("*", ""));
    cr_assert(folio_name_matches("*", "anything"));
    cr_assert(folio_name_matches("a*b*c", "aXXbYYc"));
    cr_assert(folio_name_matches("a*b*c", "abc"));
    cr_assert(!folio_name_matches("a*b*c", "acb"));
    cr_assert(folio_name_matches("*a*a*", "banana"));
    cr_assert(folio_name_matches("**x", "x"));
    cr_assert(folio_name_matches("?", "\xc3\xab"), "? is one code point, not one byte");
    cr_assert(!folio_name_matches("??", "\xc3\xab"));
    cr_assert(folio_name_matches("STRASSE", "strasse"));
    cr_assert(folio_name_matches("stra\xc3\x9f" "e", "STRASSE"),
              "full case folding: \xc3\x9f = ss");
    cr_assert(!folio_name_matches("abc", "abcd"));
    cr_assert(!folio_name_matches("abc", "ab"));
    cr_assert(!folio_name_matches(NULL, "x"));
    cr_assert(!folio_name_matches("x", NULL));
    cr_assert(!folio_name_matches("*", "bad \xff"), "invalid UTF-8 never matches");
}

Test(customer_queries, customer_ref_names_any_customer_by_id_deleted_ones_included) {
    char ref[FOLIO_REF_BYTES_MAX + 1];
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    folio_write_result b = tmpdb_customer(tmpdb, "Beta");
    tmpdb_set_status(tmpdb, b.ref, "deleted");
    TMPDB_OK(folio_customer_ref(ref, tmpdb, a.id));
    cr_assert_str_eq(ref, a.ref);
    TMPDB_OK(folio_customer_ref(ref, tmpdb, b.id));
    cr_assert_str_eq(ref, b.ref);
    cr_assert_eq(folio_customer_ref(ref, tmpdb, 0), FOLIO_ENOTFOUND, "stream 0 is the ledger's");
    cr_assert_eq(folio_customer_ref(ref, tmpdb, 99), FOLIO_ENOTFOUND);
}

Test(customer_queries, the_customer_master_survives_a_reopen_and_a_read_only_open) {
    folio_customer_new c = {.name = "Acme", .currency = "EUR", .credit_limit = "1"};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    folio_write_result b = tmpdb_customer(tmpdb, "Beta");
    tmpdb_contact(tmpdb, a.ref, "Jane");
    tmpdb_set_status(tmpdb, b.ref, "deleted");
    tmpdb_close(tmpdb);
    folio_open_opts ro = FOLIO_OPEN_OPTS_INIT;
    ro.read_only = 1;
    folio_db *db = tmpdb_open(tmpdb_ledger_path(), &ro);
    folio_customer *k = tmpdb_card(db, a.ref);
    cr_assert_str_eq(k->currency, "EUR");
    cr_assert_str_eq(k->credit_limit, "1.00");
    cr_assert_eq(k->contact_count, 1);
    assert_names(tmpdb_list(db, 0, 0, NULL), "Acme");
    assert_names(tmpdb_list(db, 1, 0, NULL), "Beta");
    /* Writes are refused on a read-only handle, and nothing changes. */
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    cr_assert_lt(folio_note_add(&r, db, &w, a.ref, "x"), 0);
    tmpdb_close(db);
    tmpdb = tmpdb_open(tmpdb_ledger_path(), NULL);
    cr_assert_eq(tmpdb_card(tmpdb, a.ref)->version, 3);
}
