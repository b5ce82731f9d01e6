/*
 * tests/api/customer_contacts.c - contacts of a customer: ids per customer from 1, never
 * reused after a removal; removing an unknown id is not found; at most FOLIO_CONTACTS_MAX.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_contacts, .init = tmpdb_setup, .fini = tmpdb_teardown);

static int remove_contact(folio_write_result *r, const char *ref, uint64_t id) {
    folio_write_opts w = tmpdb_w();
    return folio_contact_remove(r, tmpdb, &w, ref, id);
}

Test(customer_contacts, a_contact_keeps_every_field_and_the_result_gives_its_id) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    folio_contact_new c = {.name = "Jane Doe", .email = "jane@acme.example",
                           .phone = "+1 555 0100", .role = "Accounts payable"};
    memset(&r, 0xab, sizeof r);
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, a.ref, &c));
    cr_assert_eq(r.item_id, 1);
    cr_assert_eq(r.id, a.id);
    cr_assert_str_eq(r.ref, a.ref);
    cr_assert_eq(r.version, 3);
    cr_assert_eq(r.seq, a.seq + 1);
    cr_assert_eq(r.replayed, 0);
    cr_assert_eq(r.unchanged, 0);
    folio_customer *k = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(k->contact_count, 1);
    cr_assert_eq(k->contacts[0].id, 1);
    cr_assert_str_eq(k->contacts[0].name, "Jane Doe");
    cr_assert_str_eq(k->contacts[0].email, "jane@acme.example");
    cr_assert_str_eq(k->contacts[0].phone, "+1 555 0100");
    cr_assert_str_eq(k->contacts[0].role, "Accounts payable");
    folio_contact_new bare = {.name = "Bob", .email = ""};
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, a.ref, &bare));
    k = tmpdb_card(tmpdb, a.ref);
    cr_assert_null(k->contacts[1].email);
    cr_assert_null(k->contacts[1].phone);
    cr_assert_null(k->contacts[1].role);
}

Test(customer_contacts, contact_ids_start_at_1_for_each_customer) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), b = tmpdb_customer(tmpdb, "Beta");
    cr_assert_eq(tmpdb_contact(tmpdb, a.ref, "A1"), 1);
    cr_assert_eq(tmpdb_contact(tmpdb, a.ref, "A2"), 2);
    cr_assert_eq(tmpdb_contact(tmpdb, b.ref, "B1"), 1);
    cr_assert_eq(tmpdb_contact(tmpdb, a.ref, "A3"), 3);
    cr_assert_eq(tmpdb_contact(tmpdb, b.ref, "B2"), 2);
}

Test(customer_contacts, contact_ids_are_never_reused_after_a_removal) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    tmpdb_contact(tmpdb, a.ref, "One");
    tmpdb_contact(tmpdb, a.ref, "Two");
    tmpdb_contact(tmpdb, a.ref, "Three");
    TMPDB_OK(remove_contact(&r, a.ref, 3));
    cr_assert_eq(r.item_id, 3);
    cr_assert_eq(tmpdb_contact(tmpdb, a.ref, "Four"), 4, "3 is not handed out again");
    TMPDB_OK(remove_contact(&r, a.ref, 1));
    TMPDB_OK(remove_contact(&r, a.ref, 4));
    cr_assert_eq(tmpdb_contact(tmpdb, a.ref, "Five"), 5);
    folio_customer *k = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(k->contact_count, 2);
    cr_assert_eq(k->contacts[0].id, 2);
    cr_assert_str_eq(k->contacts[0].name, "Two");
    cr_assert_eq(k->contacts[1].id, 5);
    cr_assert_str_eq(k->contacts[1].name, "Five");
    /* Nor after a reopen (the card is rebuilt from the projection as stored). */
    tmpdb_reopen();
    cr_assert_eq(tmpdb_contact(tmpdb, a.ref, "Six"), 6);
}

Test(customer_contacts, removing_an_unknown_or_removed_contact_is_not_found) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), b = tmpdb_customer(tmpdb, "Beta"), r;
    tmpdb_contact(tmpdb, a.ref, "One");
    tmpdb_contact(tmpdb, b.ref, "B1");
    tmpdb_contact(tmpdb, b.ref, "B2");
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, "contact 2", remove_contact(&r, a.ref, 2));
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, NULL, remove_contact(&r, a.ref, 0));
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, NULL, remove_contact(&r, a.ref, UINT64_MAX));
    TMPDB_OK(remove_contact(&r, a.ref, 1));
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, NULL, remove_contact(&r, a.ref, 1));
    cr_assert_eq(tmpdb_card(tmpdb, b.ref)->contact_count, 2, "other customers are untouched");
}

Test(customer_contacts, a_contact_needs_a_name_and_fields_within_limits) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    const char *long_field = tmpdb_repeat('x', FOLIO_FIELD_BYTES_MAX + 1);
    folio_contact_new bad[] = {
        {.name = NULL, .email = "a@b"},
        {.name = ""},
        {.name = long_field},
        {.name = "N", .email = long_field},
        {.name = "N", .phone = long_field},
        {.name = "N", .role = long_field},
        {.name = "N", .email = "a\nb"},
        {.name = "N", .phone = "\xff"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_contact_add(&r, tmpdb, &w, a.ref, &bad[i]));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_contact_add(&r, tmpdb, &w, a.ref, NULL));
    const char *max = tmpdb_repeat('m', FOLIO_FIELD_BYTES_MAX);
    folio_contact_new ok = {max, max, max, max};
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, a.ref, &ok));
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->contacts[0].role, max);
}

Test(customer_contacts, up_to_256_contacts_are_accepted_and_the_257th_is_refused) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    for (unsigned i = 1; i <= FOLIO_CONTACTS_MAX; i++)
        cr_assert_eq(tmpdb_contact(tmpdb, a.ref, tmpdb_strf("Contact %u", i)), i);
    folio_customer *k = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(k->contact_count, FOLIO_CONTACTS_MAX);
    cr_assert_eq(k->contacts[FOLIO_CONTACTS_MAX - 1].id, FOLIO_CONTACTS_MAX);
    for (size_t i = 1; i < k->contact_count; i++)
        cr_assert_lt(k->contacts[i - 1].id, k->contacts[i].id, "in id order");
    folio_contact_new one_more = {.name = "Contact 257"};
    TMPDB_REFUSED(tmpdb, FOLIO_ELIMIT, "256", folio_contact_add(&r, tmpdb, &w, a.ref, &one_more));
    /* After a removal there is room again, under a new id. */
    TMPDB_OK(remove_contact(&r, a.ref, 10));
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, a.ref, &one_more));
    cr_assert_eq(r.item_id, FOLIO_CONTACTS_MAX + 1);
    cr_assert_eq(tmpdb_card(tmpdb, a.ref)->contact_count, FOLIO_CONTACTS_MAX);
    /* And a full card survives a reopen and a replay at a seq. */
    uint64_t full = tmpdb_last_seq(tmpdb);
    tmpdb_reopen();
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "after")); /* so `full` is replayed */
    cr_assert_eq(tmpdb_card_at(tmpdb, a.ref, full - 1, 0)->contact_count, FOLIO_CONTACTS_MAX - 1);
    cr_assert_eq(tmpdb_card_at(tmpdb, a.ref, full, 0)->contact_count, FOLIO_CONTACTS_MAX);
}

/* An upsert's contact is checked as folio_contact_add checks one, before anything is staged:
 * a contact without a name was staged, refused by the directory fold during the append, and
 * in a batch (as an import runs its rows) that refusal spoiled every other row with it. */
static int upsert_rows(folio_db *db, void *arg) {
    int *rcs = arg;
    folio_write_opts w = tmpdb_w();
    folio_write_result r;
    folio_customer_new first = {.name = "First"}, second = {.name = "Second"},
                       third = {.name = "Third"};
    folio_contact_new nameless = {.name = "", .email = "ap@second.example"};
    rcs[0] = folio_customer_upsert(&r, db, &w, &first, NULL, FOLIO_ON_EXISTING_SKIP);
    rcs[1] = folio_customer_upsert(&r, db, &w, &second, &nameless, FOLIO_ON_EXISTING_SKIP);
    rcs[2] = folio_customer_upsert(&r, db, &w, &third, NULL, FOLIO_ON_EXISTING_SKIP);
    return FOLIO_OK;
}

Test(customer_contacts, an_upsert_contact_without_a_name_is_refused_and_spoils_no_batch) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_customer_new c = {.name = "Acme"};
    folio_contact_new no_name[] = {{.name = "", .email = "a@b"}, {.name = NULL, .phone = "1"}};
    for (size_t i = 0; i < sizeof no_name / sizeof no_name[0]; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "a contact needs a name",
                      folio_customer_upsert(&r, tmpdb, &w, &c, &no_name[i],
                                            FOLIO_ON_EXISTING_SKIP));
    int rcs[3];
    TMPDB_OK(folio_batch_run(tmpdb, upsert_rows, rcs, 0));
    cr_assert_eq(rcs[0], FOLIO_OK);
    cr_assert_eq(rcs[1], FOLIO_EINVAL, "%d: %s", rcs[1], folio_errmsg());
    cr_assert_eq(rcs[2], FOLIO_OK, "the row after it: %d", rcs[2]);
    cr_assert_eq(tmpdb_list(tmpdb, 0, 0, NULL)->count, 2, "First and Third were committed");
    /* A named contact still comes with a new customer. */
    folio_contact_new named = {.name = "Pat", .email = "pat@acme.example"};
    TMPDB_OK(folio_customer_upsert(&r, tmpdb, &w, &c, &named, FOLIO_ON_EXISTING_SKIP));
    cr_assert_eq(r.item_id, 1);
    cr_assert_str_eq(tmpdb_card(tmpdb, r.ref)->contacts[0].email, "pat@acme.example");
}
