/*
 * tests/api/customer_merge.c - SPEC rule 6: folio_customer_merge(KEEP, DELETE) moves
 * DELETE's contacts (new ids after KEEP's) and balance to KEEP in one transaction; DELETE
 * then reads as deleted, "merged into KEEP". Refusals (rule 6 and 7, missing customers,
 * stale versions on either side) write nothing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_merge, .init = tmpdb_setup, .fini = tmpdb_teardown);

static int merge(folio_write_result *r, const char *keep, const char *del) {
    folio_write_opts w = tmpdb_w();
    return folio_customer_merge(r, tmpdb, &w, keep, del, 0, 0);
}

static uint64_t add_contact(const char *ref, const char *name, const char *email,
                            const char *phone, const char *role) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_contact_new c = {name, email, phone, role};
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, ref, &c));
    return r.item_id;
}

static void remove_contact(const char *ref, uint64_t id) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_contact_remove(&r, tmpdb, &w, ref, id));
}

Test(customer_merge, merge_writes_three_events_in_one_transaction_and_the_result_names_keep) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    tmpdb_head before = tmpdb_head_get(tmpdb);
    memset(&r, 0xab, sizeof r);
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    cr_assert_eq(r.id, keep.id);
    cr_assert_str_eq(r.ref, keep.ref);
    cr_assert_eq(r.seq, before.seq + 3);
    cr_assert_eq(r.version, 3, "KEEP: created, currency_set, merged_from");
    cr_assert_eq(r.replayed, 0);
    cr_assert_eq(r.unchanged, 0);
    cr_assert_eq(tmpdb_last_seq(tmpdb), before.seq + 3);

    size_t n = 0;
    folio_event *ev = tmpdb_read_log(tmpdb, before.seq + 1, 0, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(ev[0].stream, del.id);
    cr_assert_eq(ev[0].type, FOLIO_EV_CUSTOMER_MERGED_INTO);
    cr_assert_eq(ev[1].stream, del.id);
    cr_assert_eq(ev[1].type, FOLIO_EV_CUSTOMER_STATUS_CHANGED);
    cr_assert_eq(ev[2].stream, keep.id);
    cr_assert_eq(ev[2].type, FOLIO_EV_CUSTOMER_MERGED_FROM);
    cr_assert_eq(ev[0].recorded_at_us, ev[2].recorded_at_us, "one transaction");
    cr_assert_eq(ev[1].recorded_at_us, ev[2].recorded_at_us, "one transaction");
    tmpdb_assert_json_eq(tmpdb_payload_json(&ev[0]),
                         tmpdb_strf("{\"target_id\":%llu,\"target_ref\":\"%s\"}",
                                    (unsigned long long)keep.id, keep.ref));
    tmpdb_assert_json_eq(tmpdb_payload_json(&ev[1]), "{\"from\":\"prospect\",\"to\":\"deleted\"}");
    tmpdb_assert_json_eq(tmpdb_payload_json(&ev[2]),
                         tmpdb_strf("{\"source_id\":%llu,\"source_ref\":\"%s\",\"contacts_moved\":0,"
                                    "\"documents\":[],\"balance\":\"0.00\"}",
                                    (unsigned long long)del.id, del.ref));
}

Test(customer_merge, deletes_contacts_join_keep_with_new_ids_after_keeps) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    cr_assert_eq(add_contact(keep.ref, "K1", "k1@keep.example", NULL, NULL), 1);
    cr_assert_eq(add_contact(keep.ref, "K2", NULL, NULL, NULL), 2);
    remove_contact(keep.ref, 2); /* KEEP's next id stays 3 */
    cr_assert_eq(add_contact(del.ref, "D1", "d1@del.example", "+1 555 0101", "buyer"), 1);
    cr_assert_eq(add_contact(del.ref, "D2", NULL, NULL, NULL), 2);
    cr_assert_eq(add_contact(del.ref, "D3", NULL, "+44 20 7946 0000", "accounts"), 3);
    remove_contact(del.ref, 2);

    TMPDB_OK(merge(&r, keep.ref, del.ref));
    folio_customer *k = tmpdb_card(tmpdb, keep.ref);
    cr_assert_eq(k->contact_count, 3);
    cr_assert_eq(k->contacts[0].id, 1);
    cr_assert_str_eq(k->contacts[0].name, "K1");
    cr_assert_str_eq(k->contacts[0].email, "k1@keep.example");
    cr_assert_eq(k->contacts[1].id, 3);
    cr_assert_str_eq(k->contacts[1].name, "D1");
    cr_assert_str_eq(k->contacts[1].email, "d1@del.example");
    cr_assert_str_eq(k->contacts[1].phone, "+1 555 0101");
    cr_assert_str_eq(k->contacts[1].role, "buyer");
    cr_assert_eq(k->contacts[2].id, 4);
    cr_assert_str_eq(k->contacts[2].name, "D3");
    cr_assert_null(k->contacts[2].email);
    cr_assert_str_eq(k->contacts[2].phone, "+44 20 7946 0000");
    cr_assert_str_eq(k->contacts[2].role, "accounts");
    /* The next contact of KEEP continues after the moved ones. */
    cr_assert_eq(add_contact(keep.ref, "K5", NULL, NULL, NULL), 5);
    /* DELETE's card (include_deleted) still lists what it had. */
    folio_customer *d = tmpdb_card_at(tmpdb, del.ref, 0, 1);
    cr_assert_eq(d->contact_count, 2);
}

Test(customer_merge, deletes_balance_moves_to_keep) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    tmpdb_invoice(tmpdb, keep.id, "INV-K", "10.00");
    tmpdb_invoice(tmpdb, del.id, "INV-D1", "100.00");
    tmpdb_invoice(tmpdb, del.id, "INV-D2", "25.50");
    cr_assert_str_eq(tmpdb_card(tmpdb, del.ref)->balance, "125.50");
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    cr_assert_str_eq(tmpdb_card(tmpdb, keep.ref)->balance, "135.50");
    folio_customer *d = tmpdb_card_at(tmpdb, del.ref, 0, 1);
    cr_assert_str_eq(d->balance, "0.00");
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, keep.ref, &n);
    cr_assert_eq(h[n - 1].type, FOLIO_EV_CUSTOMER_MERGED_FROM);
    tmpdb_assert_json_eq(tmpdb_changes(&h[n - 1]),
                         tmpdb_strf("{\"merged_from\":[null,\"%s\"],\"documents_moved_in\":[null,"
                                    "[{\"kind\":\"invoice\",\"doc\":\"INV-D1\"},"
                                    "{\"kind\":\"invoice\",\"doc\":\"INV-D2\"}]],"
                                    "\"balance_moved_in\":[null,\"125.50\"]}",
                                    del.ref));
}

Test(customer_merge, a_customer_with_documents_leaves_by_merge_where_delete_is_refused) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_invoice(tmpdb, del.id, "INV-1", "100.00");
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "merge",
                  folio_customer_set_status(&r, tmpdb, &w, del.ref, "deleted"));
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    folio_customer *d = tmpdb_card_at(tmpdb, del.ref, 0, 1);
    cr_assert_eq(d->deleted, 1);
}

Test(customer_merge, the_merged_away_customer_reads_as_deleted_and_merged_into_keep) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_get(&c, tmpdb, del.ref, 0, 0), FOLIO_ENOTFOUND);
    cr_assert_null(c);
    cr_assert(strstr(folio_errmsg(), tmpdb_strf("merged into %s", keep.ref)) != NULL, "%s",
              folio_errmsg());
    cr_assert(strstr(folio_errmsg(), "deleted") != NULL, "%s", folio_errmsg());
    cr_assert_eq(folio_customer_find(&c, tmpdb, "Delete"), FOLIO_ENOTFOUND);

    folio_customer *d = tmpdb_card_at(tmpdb, del.ref, 0, 1);
    cr_assert_eq(d->deleted, 1);
    cr_assert_str_eq(d->status, "deleted");
    cr_assert_str_eq(d->merged_into, keep.ref);
    cr_assert_eq(d->deleted_seq, r.seq - 1, "the status_changed event deletes it");
    cr_assert_gt(d->deleted_at_us, 0);
    cr_assert_str_eq(d->name, "Delete");

    /* KEEP is not marked in any way. */
    folio_customer *k = tmpdb_card(tmpdb, keep.ref);
    cr_assert_eq(k->deleted, 0);
    cr_assert_null(k->merged_into);

    folio_customer_list *l = tmpdb_list(tmpdb, 0, FOLIO_LIST_ALL, NULL);
    cr_assert_eq(l->count, 1);
    cr_assert_str_eq(l->items[0]->ref, keep.ref);
    l = tmpdb_list(tmpdb, 1, 0, NULL);
    cr_assert_eq(l->count, 1);
    cr_assert_str_eq(l->items[0]->ref, del.ref);
    cr_assert_str_eq(l->items[0]->merged_into, keep.ref);
}

Test(customer_merge, the_merged_away_customers_history_stays_readable) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    tmpdb_contact(tmpdb, del.ref, "D1");
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, del.ref, &n);
    cr_assert_eq(n, 5);
    const uint32_t types[] = {FOLIO_EV_CUSTOMER_CREATED, FOLIO_EV_CUSTOMER_CURRENCY_SET,
                              FOLIO_EV_CUSTOMER_CONTACT_ADDED, FOLIO_EV_CUSTOMER_MERGED_INTO,
                              FOLIO_EV_CUSTOMER_STATUS_CHANGED};
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(h[i].type, types[i], "event %zu", i);
        cr_assert_eq(h[i].version, i + 1);
        cr_assert_eq(h[i].stream, del.id);
    }
    tmpdb_assert_json_eq(tmpdb_changes(&h[3]),
                         tmpdb_strf("{\"merged_into\":[null,\"%s\"]}", keep.ref));
    tmpdb_assert_json_eq(tmpdb_changes(&h[4]), "{\"status\":[\"prospect\",\"deleted\"]}");
}

Test(customer_merge, held_or_inactive_customers_can_be_merged_away) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep"), r;
    folio_customer_new c = {.name = "Held", .status = "active"};
    folio_write_result held = tmpdb_customer_new(tmpdb, &c);
    folio_write_result idle = tmpdb_customer(tmpdb, "Idle");
    tmpdb_set_status(tmpdb, held.ref, "hold");
    tmpdb_set_status(tmpdb, idle.ref, "inactive");
    TMPDB_OK(merge(&r, keep.ref, held.ref));
    TMPDB_OK(merge(&r, keep.ref, idle.ref));
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, held.ref, &n);
    tmpdb_assert_json_eq(tmpdb_payload_json(&h[n - 1]), "{\"from\":\"hold\",\"to\":\"deleted\"}");
    folio_customer *k = tmpdb_card_at(tmpdb, held.ref, 0, 1);
    cr_assert_eq(k->on_hold, 0, "a deleted customer is not on hold");
    /* A held or inactive KEEP takes a merge too. */
    folio_write_result other = tmpdb_customer(tmpdb, "Other");
    tmpdb_set_status(tmpdb, keep.ref, "inactive");
    TMPDB_OK(merge(&r, keep.ref, other.ref));
}

Test(customer_merge, merging_a_customer_into_itself_is_refused_by_rule_6) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 6)", merge(&r, a.ref, a.ref));
}

Test(customer_merge, customers_in_different_currencies_do_not_merge) {
    folio_customer_new e = {.name = "Euro", .currency = "EUR"};
    folio_customer_new u = {.name = "Dollar", .currency = "USD"};
    folio_write_result eur = tmpdb_customer_new(tmpdb, &e), usd = tmpdb_customer_new(tmpdb, &u), r;
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 6)", merge(&r, eur.ref, usd.ref));
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "EUR", merge(&r, usd.ref, eur.ref));
    cr_assert_eq(tmpdb_card(tmpdb, eur.ref)->deleted, 0);
    cr_assert_eq(tmpdb_card(tmpdb, usd.ref)->deleted, 0);
}

Test(customer_merge, a_missing_customer_on_either_side_is_not_found) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, "CUST-000077", merge(&r, a.ref, "CUST-000077"));
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, "CUST-000077", merge(&r, "CUST-000077", a.ref));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, merge(&r, a.ref, NULL));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, merge(&r, "", a.ref));
}

Test(customer_merge, a_deleted_customer_on_either_side_is_refused_by_rule_7) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    folio_write_result gone = tmpdb_customer(tmpdb, "Gone"), r;
    tmpdb_set_status(tmpdb, gone.ref, "deleted");
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 7)", merge(&r, a.ref, gone.ref));
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 7)", merge(&r, gone.ref, a.ref));
    /* Merging the same pair twice: the second time DELETE is already merged away. */
    folio_write_result b = tmpdb_customer(tmpdb, "Beta");
    TMPDB_OK(merge(&r, a.ref, b.ref));
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, tmpdb_strf("merged into %s", a.ref), merge(&r, a.ref, b.ref));
}

Test(customer_merge, a_stale_expected_version_of_keep_is_a_conflict_and_writes_nothing) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    tmpdb_contact(tmpdb, keep.ref, "K1"); /* KEEP at version 3 */
    folio_write_opts w = tmpdb_w();
    w.has_expected_version = 1;
    w.expected_version = 2;
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, keep.ref,
                  folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 0, 0));
    /* Even when DELETE's own expectation (version 2) holds. */
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, NULL,
                  folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 1, 2));
    cr_assert_eq(tmpdb_card(tmpdb, del.ref)->deleted, 0);
    cr_assert_eq(tmpdb_card(tmpdb, keep.ref)->version, 3);
    w.expected_version = 3;
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 0, 0));
    cr_assert_eq(r.version, 4);
}

Test(customer_merge, a_stale_expected_version_of_delete_is_a_conflict_and_writes_nothing) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    tmpdb_contact(tmpdb, del.ref, "D1"); /* DELETE at version 3, KEEP at 2 */
    folio_write_opts w = tmpdb_w();
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, del.ref,
                  folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 1, 2));
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, NULL,
                  folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 1, 4));
    /* Both versions given, KEEP's right and DELETE's stale. */
    w.has_expected_version = 1;
    w.expected_version = 2;
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, NULL,
                  folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 1, 2));
    cr_assert_eq(tmpdb_card(tmpdb, del.ref)->deleted, 0);
    cr_assert_eq(tmpdb_card(tmpdb, keep.ref)->contact_count, 0);
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 1, 3));
    cr_assert_eq(tmpdb_card(tmpdb, keep.ref)->contact_count, 1);
}

Test(customer_merge, merged_contacts_beyond_the_limit_are_refused_and_nothing_moves) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    for (unsigned i = 0; i < FOLIO_CONTACTS_MAX - 1; i++)
        tmpdb_contact(tmpdb, keep.ref, tmpdb_strf("K%u", i));
    tmpdb_contact(tmpdb, del.ref, "D1");
    tmpdb_contact(tmpdb, del.ref, "D2");
    TMPDB_REFUSED(tmpdb, FOLIO_ELIMIT, NULL, merge(&r, keep.ref, del.ref));
    cr_assert_eq(tmpdb_card(tmpdb, keep.ref)->contact_count, FOLIO_CONTACTS_MAX - 1);
    /* Exactly at the limit is fine. */
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_contact_remove(&r, tmpdb, &w, del.ref, 2));
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    folio_customer *k = tmpdb_card(tmpdb, keep.ref);
    cr_assert_eq(k->contact_count, FOLIO_CONTACTS_MAX);
    cr_assert_str_eq(k->contacts[FOLIO_CONTACTS_MAX - 1].name, "D1");
    cr_assert_eq(k->contacts[FOLIO_CONTACTS_MAX - 1].id, FOLIO_CONTACTS_MAX);
}

/* KEEP holds DELETE's documents after a merge, so rule 5 keeps it from being deleted (before
 * e16693f the merge moved the balance but not the documents, and KEEP could be deleted with
 * an open balance). */
Test(customer_merge, a_keep_that_took_over_documents_cannot_be_deleted) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_invoice(tmpdb, del.id, "INV-1", "100.00");
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    cr_assert_str_eq(tmpdb_card(tmpdb, keep.ref)->balance, "100.00");
    cr_assert_gt(tmpdb_card(tmpdb, keep.ref)->documents, 0);
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 5)",
                  folio_customer_set_status(&r, tmpdb, &w, keep.ref, "deleted"));
}

/* Every contact is accepted one by one (each field up to FOLIO_FIELD_BYTES_MAX); a merge
 * moves them as contact_added events of their own, so no single payload has to hold them. */
Test(customer_merge, a_customer_with_many_long_contacts_can_still_be_merged) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    const char *f = tmpdb_repeat('x', FOLIO_FIELD_BYTES_MAX);
    for (unsigned i = 0; i < 70; i++) add_contact(del.ref, f, f, f, f);
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    cr_assert_eq(tmpdb_card(tmpdb, keep.ref)->contact_count, 70);
}

/* A merge lists the open documents it moves in customer.merged_from: at most
 * FOLIO_MERGE_DOCUMENTS_MAX of them (accepted at the limit, refused above it with nothing
 * written, so the user can settle some first). */
static void open_invoices(uint64_t stream, unsigned count) {
    static folio_event batch[FOLIO_MERGE_DOCUMENTS_MAX + 1];
    for (unsigned i = 0; i < count; i++)
        batch[i] = tmpdb_event(stream, FOLIO_EV_INVOICE_ISSUED,
                               "{\"doc\":\"INV-%u\",\"date\":\"2026-11-01\",\"due\":\"2026-12-01\","
                               "\"amount\":\"1.00\"}",
                               i);
    tmpdb_append_batch(tmpdb, batch, count, NULL);
}

Test(customer_merge, a_merge_moves_up_to_the_limit_of_open_documents) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    open_invoices(del.id, FOLIO_MERGE_DOCUMENTS_MAX);
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    cr_assert_str_eq(tmpdb_card(tmpdb, keep.ref)->balance, "1000.00");
}

Test(customer_merge, a_merge_of_more_open_documents_than_the_limit_is_refused) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    open_invoices(del.id, FOLIO_MERGE_DOCUMENTS_MAX + 1);
    TMPDB_REFUSED(tmpdb, FOLIO_ELIMIT, "settle some first", merge(&r, keep.ref, del.ref));
}

Test(customer_merge, merge_survives_a_reopen) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    tmpdb_contact(tmpdb, del.ref, "D1");
    tmpdb_invoice(tmpdb, del.id, "INV-1", "42.00");
    TMPDB_OK(merge(&r, keep.ref, del.ref));
    tmpdb_reopen();
    folio_customer *k = tmpdb_card(tmpdb, keep.ref);
    cr_assert_str_eq(k->balance, "42.00");
    cr_assert_eq(k->contact_count, 1);
    cr_assert_str_eq(tmpdb_card_at(tmpdb, del.ref, 0, 1)->merged_into, keep.ref);
}
