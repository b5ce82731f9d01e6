/*
 * tests/api/customer_history.c - SPEC section 5: history (every event of a customer, also
 * once deleted), the field-level changes of each event (folio_event_changes_json), updates
 * that record exactly the changed fields, and the card as known at a seq ("show --at-seq").
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_history, .init = tmpdb_setup, .fini = tmpdb_teardown);

static folio_write_result update(const char *ref, const folio_customer_changes *ch) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    int rc = folio_customer_update(&r, tmpdb, &w, ref, ch);
    cr_assert_eq(rc, FOLIO_OK, "update: %s (%s)", folio_strerror(rc), folio_errmsg());
    return r;
}

/* The last event of a customer's history. */
static folio_event last_event(const char *ref) {
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, ref, &n);
    cr_assert_gt(n, 0);
    return h[n - 1];
}

/* Apply one update that must write exactly one customer.updated whose changes are
 * `expected`, and check the result names it. */
static void expect_update(const char *ref, const folio_customer_changes *ch, const char *expected) {
    tmpdb_head before = tmpdb_head_get(tmpdb);
    folio_write_result r = update(ref, ch);
    cr_assert_eq(r.unchanged, 0, "expected %s, got no change", expected);
    cr_assert_eq(r.seq, before.seq + 1);
    folio_event e = last_event(ref);
    cr_assert_eq(e.seq, r.seq);
    cr_assert_eq(e.version, r.version);
    cr_assert_eq(e.type, FOLIO_EV_CUSTOMER_UPDATED);
    tmpdb_assert_json_eq(tmpdb_changes(&e), expected);
}

/* An update that changes nothing: FOLIO_OK, unchanged, nothing appended. */
static void expect_no_change(const char *ref, const folio_customer_changes *ch, const char *what) {
    tmpdb_head before = tmpdb_head_get(tmpdb);
    folio_customer *card = tmpdb_card(tmpdb, ref);
    folio_write_result r = update(ref, ch);
    cr_assert_eq(r.unchanged, 1, "%s: expected no change", what);
    cr_assert_eq(r.version, card->version, "%s", what);
    cr_assert_str_eq(r.ref, ref);
    tmpdb_assert_head_is(tmpdb, &before, what);
}

/* ---- history ---- */

Test(customer_history, history_lists_every_event_of_the_customer_in_version_order) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_result other = tmpdb_customer(tmpdb, "Other");
    folio_write_opts w = {.actor = "bob", .reason = "phoned in", .correlation = "call-1"};
    folio_customer_changes ch = {.name = "Acme Ltd"};
    folio_contact_new ct = {.name = "Jane"};
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, a.ref, &ch));
    tmpdb_contact(tmpdb, other.ref, "Not Acme's");
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, a.ref, &ct));
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "Prefers email"));
    TMPDB_OK(folio_customer_set_owner(&r, tmpdb, &w, a.ref, "carol"));
    tmpdb_set_status(tmpdb, a.ref, "active");
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, a.ref, &n);
    const uint32_t types[] = {FOLIO_EV_CUSTOMER_CREATED, FOLIO_EV_CUSTOMER_CURRENCY_SET,
                              FOLIO_EV_CUSTOMER_UPDATED, FOLIO_EV_CUSTOMER_CONTACT_ADDED,
                              FOLIO_EV_CUSTOMER_NOTE_ADDED, FOLIO_EV_CUSTOMER_OWNER_CHANGED,
                              FOLIO_EV_CUSTOMER_STATUS_CHANGED};
    cr_assert_eq(n, 7);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(h[i].type, types[i], "event %zu", i);
        cr_assert_eq(h[i].version, i + 1);
        cr_assert_eq(h[i].stream, a.id);
        if (i > 0) {
            cr_assert_gt(h[i].seq, h[i - 1].seq);
            cr_assert_geq(h[i].recorded_at_us, h[i - 1].recorded_at_us);
        }
    }
    cr_assert_str_eq(h[2].actor, "bob");
    cr_assert_str_eq(h[2].reason, "phoned in");
    cr_assert_str_eq(h[2].correlation, "call-1");
    cr_assert_str_eq(h[0].actor, TMPDB_ACTOR);
    cr_assert_null(h[0].reason);
    tmpdb_assert_json_eq(tmpdb_payload_json(&h[4]), "{\"text\":\"Prefers email\"}");
}

Test(customer_history, history_of_a_deleted_customer_still_lists_every_event) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    tmpdb_contact(tmpdb, a.ref, "Jane");
    tmpdb_set_status(tmpdb, a.ref, "deleted");
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, a.ref, &n);
    cr_assert_eq(n, 4);
    cr_assert_eq(h[3].type, FOLIO_EV_CUSTOMER_STATUS_CHANGED);
    tmpdb_assert_json_eq(tmpdb_changes(&h[3]), "{\"status\":[\"prospect\",\"deleted\"]}");
    /* After a reopen too. */
    tmpdb_reopen();
    tmpdb_history(tmpdb, a.ref, &n);
    cr_assert_eq(n, 4);
}

Test(customer_history, history_of_an_unknown_ref_is_not_found) {
    folio_iter *it = NULL;
    tmpdb_customer(tmpdb, "Acme");
    cr_assert_eq(folio_history_open(&it, tmpdb, "CUST-000099"), FOLIO_ENOTFOUND);
    cr_assert_null(it);
    cr_assert(strstr(folio_errmsg(), "CUST-000099") != NULL, "%s", folio_errmsg());
    cr_assert_eq(folio_history_open(&it, tmpdb, NULL), FOLIO_EINVAL);
}

Test(customer_history, creation_changes_list_the_fields_given_from_null) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, a.ref, &n);
    tmpdb_assert_json_eq(tmpdb_changes(&h[0]),
                         "{\"name\":[null,\"Acme\"],\"type\":[null,\"business\"],"
                         "\"status\":[null,\"prospect\"]}");
    tmpdb_assert_json_eq(tmpdb_changes(&h[1]), "{\"currency\":[null,\"USD\"]}");

    folio_customer_new c = {.name = "Full", .type = "person", .status = "active",
                            .currency = "EUR", .credit_limit = "5000", .owner = "alice",
                            .external_id = "X-1", .billing = {"1 St", "Town", "RG", "111", "DE"},
                            .shipping = {.city = "Port"}};
    folio_write_result f = tmpdb_customer_new(tmpdb, &c);
    h = tmpdb_history(tmpdb, f.ref, &n);
    tmpdb_assert_json_eq(
        tmpdb_changes(&h[0]),
        "{\"name\":[null,\"Full\"],\"type\":[null,\"person\"],\"status\":[null,\"active\"],"
        "\"owner\":[null,\"alice\"],\"credit_limit\":[null,\"5000.00\"],"
        "\"external_id\":[null,\"X-1\"],\"billing.street\":[null,\"1 St\"],"
        "\"billing.city\":[null,\"Town\"],\"billing.region\":[null,\"RG\"],"
        "\"billing.postcode\":[null,\"111\"],\"billing.country\":[null,\"DE\"],"
        "\"shipping.city\":[null,\"Port\"]}");
    tmpdb_assert_json_eq(tmpdb_changes(&h[1]), "{\"currency\":[null,\"EUR\"]}");
}

/* ---- updates record exactly the changed fields ---- */

Test(customer_history, each_updatable_field_is_recorded_alone_with_old_and_new_values) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    /* From absent to a value. */
    expect_update(a.ref, &(folio_customer_changes){.name = "Acme Ltd"},
                  "{\"name\":[\"Acme\",\"Acme Ltd\"]}");
    expect_update(a.ref, &(folio_customer_changes){.type = "person"},
                  "{\"type\":[\"business\",\"person\"]}");
    expect_update(a.ref, &(folio_customer_changes){.credit_limit = "5000"},
                  "{\"credit_limit\":[null,\"5000.00\"]}");
    expect_update(a.ref, &(folio_customer_changes){.external_id = "ERP-1"},
                  "{\"external_id\":[null,\"ERP-1\"]}");
    const char *parts[] = {"street", "city", "region", "postcode", "country"};
    for (int s = 0; s < 2; s++) {
        const char *side = s ? "shipping" : "billing";
        for (int f = 0; f < 5; f++) {
            folio_customer_changes ch = {0};
            folio_address *addr = s ? &ch.shipping : &ch.billing;
            const char *v = tmpdb_strf("%s %s 1", side, parts[f]);
            const char **slot[] = {&addr->street, &addr->city, &addr->region, &addr->postcode,
                                   &addr->country};
            *slot[f] = v;
            expect_update(a.ref, &ch, tmpdb_strf("{\"%s.%s\":[null,\"%s\"]}", side, parts[f], v));
        }
    }
    /* From a value to another. */
    expect_update(a.ref, &(folio_customer_changes){.type = "business"},
                  "{\"type\":[\"person\",\"business\"]}");
    expect_update(a.ref, &(folio_customer_changes){.credit_limit = "7500.5"},
                  "{\"credit_limit\":[\"5000.00\",\"7500.50\"]}");
    expect_update(a.ref, &(folio_customer_changes){.external_id = "ERP-2"},
                  "{\"external_id\":[\"ERP-1\",\"ERP-2\"]}");
    for (int s = 0; s < 2; s++) {
        const char *side = s ? "shipping" : "billing";
        for (int f = 0; f < 5; f++) {
            folio_customer_changes ch = {0};
            folio_address *addr = s ? &ch.shipping : &ch.billing;
            const char **slot[] = {&addr->street, &addr->city, &addr->region, &addr->postcode,
                                   &addr->country};
            *slot[f] = tmpdb_strf("%s %s 2", side, parts[f]);
            expect_update(a.ref, &ch,
                          tmpdb_strf("{\"%s.%s\":[\"%s %s 1\",\"%s %s 2\"]}", side, parts[f],
                                     side, parts[f], side, parts[f]));
        }
    }
    /* From a value to absent ("" clears an optional field). */
    expect_update(a.ref, &(folio_customer_changes){.credit_limit = ""},
                  "{\"credit_limit\":[\"7500.50\",null]}");
    expect_update(a.ref, &(folio_customer_changes){.external_id = ""},
                  "{\"external_id\":[\"ERP-2\",null]}");
    expect_update(a.ref, &(folio_customer_changes){.billing = {.city = ""}},
                  "{\"billing.city\":[\"billing city 2\",null]}");
    expect_update(a.ref, &(folio_customer_changes){.shipping = {.country = ""}},
                  "{\"shipping.country\":[\"shipping country 2\",null]}");

    folio_customer *k = tmpdb_card(tmpdb, a.ref);
    cr_assert_str_eq(k->name, "Acme Ltd");
    cr_assert_str_eq(k->type, "business");
    cr_assert_null(k->credit_limit);
    cr_assert_null(k->external_id);
    cr_assert_str_eq(k->billing.street, "billing street 2");
    cr_assert_null(k->billing.city);
    cr_assert_str_eq(k->billing.region, "billing region 2");
    cr_assert_str_eq(k->billing.postcode, "billing postcode 2");
    cr_assert_str_eq(k->billing.country, "billing country 2");
    cr_assert_str_eq(k->shipping.street, "shipping street 2");
    cr_assert_str_eq(k->shipping.city, "shipping city 2");
    cr_assert_str_eq(k->shipping.region, "shipping region 2");
    cr_assert_str_eq(k->shipping.postcode, "shipping postcode 2");
    cr_assert_null(k->shipping.country);
    cr_assert_str_eq(k->currency, "USD");
}

Test(customer_history, an_update_of_several_fields_records_only_those_that_change) {
    folio_customer_new c = {.name = "Acme", .credit_limit = "100", .external_id = "X",
                            .billing = {.city = "Paris", .country = "FR"}};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    folio_customer_changes ch = {.name = " Acme ", .type = "business", .credit_limit = "100.0",
                                 .external_id = "Y",
                                 .billing = {.city = "Paris", .country = "BE"},
                                 .shipping = {.street = "Quai 1"}};
    expect_update(a.ref, &ch,
                  "{\"external_id\":[\"X\",\"Y\"],\"billing.country\":[\"FR\",\"BE\"],"
                  "\"shipping.street\":[null,\"Quai 1\"]}");
}

Test(customer_history, an_update_that_changes_nothing_writes_nothing) {
    folio_customer_new c = {.name = "Acme", .credit_limit = "5000", .external_id = "X",
                            .billing = {.city = "Paris"}};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    expect_no_change(a.ref, &(folio_customer_changes){0}, "no field given");
    expect_no_change(a.ref, &(folio_customer_changes){.name = "Acme"}, "same name");
    expect_no_change(a.ref, &(folio_customer_changes){.name = "\tAcme  "}, "same name trimmed");
    expect_no_change(a.ref, &(folio_customer_changes){.type = "business"}, "same type");
    expect_no_change(a.ref, &(folio_customer_changes){.credit_limit = "5000.00"}, "same limit");
    expect_no_change(a.ref, &(folio_customer_changes){.credit_limit = "5000"}, "limit normalised");
    expect_no_change(a.ref, &(folio_customer_changes){.credit_limit = "5000.0"}, "5000.0");
    expect_no_change(a.ref, &(folio_customer_changes){.external_id = "X"}, "same external id");
    expect_no_change(a.ref, &(folio_customer_changes){.billing = {.city = "Paris"}}, "same city");
    expect_no_change(a.ref, &(folio_customer_changes){.shipping = {.city = ""}},
                     "clearing an absent field");
    expect_no_change(a.ref,
                     &(folio_customer_changes){.name = "Acme", .type = "business",
                                               .credit_limit = "5000", .external_id = "X",
                                               .billing = {.city = "Paris", .street = ""}},
                     "everything the same");
    size_t n = 0;
    tmpdb_history(tmpdb, a.ref, &n);
    cr_assert_eq(n, 2, "still only created and currency_set");
}

Test(customer_history, malformed_update_values_are_refused_and_write_nothing) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    folio_customer_changes bad[] = {
        {.type = "company"},
        {.credit_limit = "12.345"},
        {.credit_limit = "-1"},
        {.credit_limit = "ten"},
        {.external_id = "a\tb"},
        {.billing = {.street = "x\xff"}},
        {.shipping = {.country = ""}, .billing = {.city = "\x1f"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL,
                      folio_customer_update(&r, tmpdb, &w, a.ref, &bad[i]));
    /* A name cannot be cleared: rule 1. */
    folio_customer_changes blank = {.name = ""};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 1)",
                  folio_customer_update(&r, tmpdb, &w, a.ref, &blank));
    /* A good change next to a bad one is not applied either. */
    folio_customer_changes mixed = {.name = "New", .type = "company"};
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_customer_update(&r, tmpdb, &w, a.ref, &mixed));
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->name, "Acme");
}

Test(customer_history, credit_limit_is_normalised_to_the_currencys_minor_units) {
    folio_write_result usd = tmpdb_customer(tmpdb, "Dollar");
    folio_customer_new j = {.name = "Yen", .currency = "JPY"};
    folio_customer_new b = {.name = "Dinar", .currency = "BHD"};
    folio_write_result jpy = tmpdb_customer_new(tmpdb, &j), bhd = tmpdb_customer_new(tmpdb, &b);
    expect_update(usd.ref, &(folio_customer_changes){.credit_limit = "5000"},
                  "{\"credit_limit\":[null,\"5000.00\"]}");
    expect_update(jpy.ref, &(folio_customer_changes){.credit_limit = "5000"},
                  "{\"credit_limit\":[null,\"5000\"]}");
    expect_update(bhd.ref, &(folio_customer_changes){.credit_limit = "0.5"},
                  "{\"credit_limit\":[null,\"0.500\"]}");
    expect_update(usd.ref, &(folio_customer_changes){.credit_limit = "0"},
                  "{\"credit_limit\":[\"5000.00\",\"0.00\"]}");
    cr_assert_str_eq(tmpdb_card(tmpdb, usd.ref)->credit_limit, "0.00", "zero is a limit");
}

/* ---- the changes of the other events ---- */

Test(customer_history, status_owner_contact_and_note_events_describe_their_changes) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_set_status(tmpdb, a.ref, "active");
    folio_event e = last_event(a.ref);
    tmpdb_assert_json_eq(tmpdb_changes(&e), "{\"status\":[\"prospect\",\"active\"]}");

    TMPDB_OK(folio_customer_set_owner(&r, tmpdb, &w, a.ref, "alice"));
    e = last_event(a.ref);
    cr_assert_eq(e.type, FOLIO_EV_CUSTOMER_OWNER_CHANGED);
    tmpdb_assert_json_eq(tmpdb_changes(&e), "{\"owner\":[null,\"alice\"]}");
    TMPDB_OK(folio_customer_set_owner(&r, tmpdb, &w, a.ref, "bob"));
    e = last_event(a.ref);
    tmpdb_assert_json_eq(tmpdb_changes(&e), "{\"owner\":[\"alice\",\"bob\"]}");

    folio_contact_new ct = {.name = "Jane", .email = "jane@acme.example", .role = "buyer"};
    TMPDB_OK(folio_contact_add(&r, tmpdb, &w, a.ref, &ct));
    e = last_event(a.ref);
    tmpdb_assert_json_eq(tmpdb_changes(&e),
                         "{\"contacts\":[null,{\"id\":1,\"name\":\"Jane\",\"email\":"
                         "\"jane@acme.example\",\"phone\":null,\"role\":\"buyer\"}]}");
    TMPDB_OK(folio_contact_remove(&r, tmpdb, &w, a.ref, 1));
    e = last_event(a.ref);
    tmpdb_assert_json_eq(tmpdb_changes(&e),
                         "{\"contacts\":[{\"id\":1,\"name\":\"Jane\",\"email\":"
                         "\"jane@acme.example\",\"phone\":null,\"role\":\"buyer\"},null]}");

    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "Called about invoice"));
    e = last_event(a.ref);
    cr_assert_eq(e.type, FOLIO_EV_CUSTOMER_NOTE_ADDED);
    cr_assert_null(tmpdb_changes(&e), "a note changes no field of the card");
}

Test(customer_history, settings_and_document_events_change_no_card_field) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    tmpdb_invoice(tmpdb, a.id, "INV-1", "100.00");
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(log[0].type, FOLIO_EV_LEDGER_CONFIGURED);
    cr_assert_null(tmpdb_changes(&log[0]));
    cr_assert_eq(log[n - 1].type, FOLIO_EV_INVOICE_ISSUED);
    cr_assert_null(tmpdb_changes(&log[n - 1]));
    char *json = (char *)"sentinel";
    cr_assert_eq(folio_event_changes_json(NULL, &log[0]), FOLIO_EINVAL);
    cr_assert_eq(folio_event_changes_json(&json, NULL), FOLIO_EINVAL);
}

Test(customer_history, owner_set_to_the_same_owner_is_unchanged_and_blank_owner_is_invalid) {
    folio_customer_new c = {.name = "Acme", .owner = "alice"};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_set_owner(&r, tmpdb, &w, a.ref, "alice"));
    cr_assert_eq(r.unchanged, 1);
    tmpdb_assert_head_is(tmpdb, &before, "same owner");
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_customer_set_owner(&r, tmpdb, &w, a.ref, ""));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_customer_set_owner(&r, tmpdb, &w, a.ref, NULL));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL,
                  folio_customer_set_owner(&r, tmpdb, &w, a.ref,
                                           tmpdb_repeat('o', FOLIO_FIELD_BYTES_MAX + 1)));
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->owner, "alice");
}

Test(customer_history, notes_are_limited_in_size_and_must_not_be_blank) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, tmpdb_repeat('n', FOLIO_NOTE_BYTES_MAX)));
    cr_assert_eq(r.version, 3);
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL,
                  folio_note_add(&r, tmpdb, &w, a.ref,
                                 tmpdb_repeat('n', FOLIO_NOTE_BYTES_MAX + 1)));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_note_add(&r, tmpdb, &w, a.ref, ""));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_note_add(&r, tmpdb, &w, a.ref, " \n\t "));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_note_add(&r, tmpdb, &w, a.ref, NULL));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_note_add(&r, tmpdb, &w, a.ref, "bad \xff"));
    /* White space is Unicode's too (as a name's): no-break and ideographic spaces, a line
     * separator, a zero-width space; each was written as a note that shows nothing. */
    static const char *const blank[] = {"\xc2\xa0", " \xe3\x80\x80 ", "\xe2\x80\xa8\n",
                                        "\xe2\x80\x8b"};
    for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "blank", folio_note_add(&r, tmpdb, &w, a.ref, blank[i]));
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "\xe3\x80\x80" "call back\xc2\xa0"));
    /* A note may span lines. */
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "line 1\nline 2"));
}

/* ---- the card as known at a seq ---- */

Test(customer_history, show_at_seq_gives_the_name_before_an_update) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    uint64_t created = a.seq;
    folio_write_result u = update(a.ref, &(folio_customer_changes){.name = "Acme Ltd"});
    tmpdb_customer(tmpdb, "Other");
    folio_customer *then = tmpdb_card_at(tmpdb, a.ref, created, 0);
    cr_assert_str_eq(then->name, "Acme");
    cr_assert_eq(then->version, 2);
    folio_customer *at_update = tmpdb_card_at(tmpdb, a.ref, u.seq, 0);
    cr_assert_str_eq(at_update->name, "Acme Ltd");
    cr_assert_eq(at_update->version, 3);
    /* Later events of other customers do not matter; a seq past the head is refused (the
     * answer would change once it is written), naming the head. */
    cr_assert_str_eq(tmpdb_card_at(tmpdb, a.ref, tmpdb_last_seq(tmpdb), 0)->name, "Acme Ltd");
    folio_customer *later = NULL;
    cr_assert_eq(folio_customer_get(&later, tmpdb, a.ref, tmpdb_last_seq(tmpdb) + 1, 0),
                 FOLIO_EINVAL);
    cr_assert_null(later);
    cr_assert(strstr(folio_errmsg(), tmpdb_strf("last seq %llu",
                                                (unsigned long long)tmpdb_last_seq(tmpdb))),
              "%s", folio_errmsg());
    cr_assert_str_eq(tmpdb_card_at(tmpdb, a.ref, 0, 0)->name, "Acme Ltd");
}

Test(customer_history, show_at_seq_gives_the_contacts_before_a_removal) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_contact(tmpdb, a.ref, "Jane");
    tmpdb_contact(tmpdb, a.ref, "John");
    uint64_t both = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_contact_remove(&r, tmpdb, &w, a.ref, 1));
    tmpdb_customer(tmpdb, "Later"); /* so the removal is not the head */
    folio_customer *then = tmpdb_card_at(tmpdb, a.ref, both, 0);
    cr_assert_eq(then->contact_count, 2);
    cr_assert_str_eq(then->contacts[0].name, "Jane");
    cr_assert_str_eq(then->contacts[1].name, "John");
    folio_customer *now = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(now->contact_count, 1);
    cr_assert_str_eq(now->contacts[0].name, "John");
    cr_assert_eq(now->contacts[0].id, 2);
}

Test(customer_history, show_at_a_seq_before_the_customer_existed_is_not_found) {
    tmpdb_customer(tmpdb, "First");
    folio_write_result b = tmpdb_customer(tmpdb, "Second");
    tmpdb_customer(tmpdb, "Third");
    folio_customer *c = NULL;
    cr_assert_eq(folio_customer_get(&c, tmpdb, b.ref, b.seq - 2, 0), FOLIO_ENOTFOUND);
    cr_assert_null(c);
    cr_assert(strstr(folio_errmsg(), b.ref) != NULL, "%s", folio_errmsg());
    cr_assert_eq(folio_customer_get(&c, tmpdb, b.ref, 1, 1), FOLIO_ENOTFOUND);
    /* At the last event of its creation it exists. */
    folio_customer *born = tmpdb_card_at(tmpdb, b.ref, b.seq, 0);
    cr_assert_str_eq(born->name, "Second");
    cr_assert_str_eq(born->currency, "USD");
    cr_assert_eq(born->version, 2);
}

/* A seq between customer.created and customer.currency_set (one transaction) is a card
 * without a currency and so without a balance (this aborted in build_customer() before
 * 749ecf3). */
/* A creation is customer.created then customer.currency_set in one command: a card as known
 * at the first is the card at the end of the command (a customer without a currency never
 * existed for any reader), and says which seq that is. */
Test(customer_history, show_inside_a_creation_answers_at_its_end) {
    tmpdb_customer(tmpdb, "First");
    folio_write_result b = tmpdb_customer(tmpdb, "Second");
    tmpdb_customer(tmpdb, "Third"); /* so the creation is not the head */
    folio_customer *born = tmpdb_card_at(tmpdb, b.ref, b.seq - 1, 0);
    cr_assert_str_eq(born->name, "Second");
    cr_assert_eq(born->version, 2);
    cr_assert_str_eq(born->currency, "USD");
    cr_assert_str_eq(born->balance, "0.00");
    cr_assert_eq(born->at_seq, b.seq, "as known at the creation's last seq");
    cr_assert_eq(tmpdb_card_at(tmpdb, b.ref, b.seq, 0)->at_seq, b.seq);
    cr_assert_eq(tmpdb_card_at(tmpdb, b.ref, 0, 0)->at_seq, tmpdb_last_seq(tmpdb), "now: the head");
    uint64_t first = 0, last = 0;
    cr_assert_eq(folio_command_bounds(&first, &last, tmpdb, b.seq - 1), FOLIO_OK);
    cr_assert_eq(first, b.seq - 1);
    cr_assert_eq(last, b.seq);
}

Test(customer_history, show_at_a_seq_before_deletion_gives_the_live_card) {
    folio_customer_new c = {.name = "Acme", .status = "active"};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    uint64_t alive = tmpdb_last_seq(tmpdb);
    tmpdb_set_status(tmpdb, a.ref, "deleted");
    tmpdb_customer(tmpdb, "Later");
    folio_customer *then = tmpdb_card_at(tmpdb, a.ref, alive, 0);
    cr_assert_str_eq(then->status, "active");
    cr_assert_eq(then->deleted, 0);
    folio_customer *x = NULL;
    cr_assert_eq(folio_customer_get(&x, tmpdb, a.ref, alive + 1, 0), FOLIO_ENOTFOUND);
    cr_assert(strstr(folio_errmsg(), "deleted") != NULL, "%s", folio_errmsg());
    folio_customer *gone = tmpdb_card_at(tmpdb, a.ref, alive + 1, 1);
    cr_assert_eq(gone->deleted, 1);
    cr_assert_eq(gone->deleted_seq, alive + 1);
}

Test(customer_history, show_at_seq_replays_a_merge_on_both_sides) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), r;
    folio_write_opts w = tmpdb_w();
    tmpdb_contact(tmpdb, del.ref, "D1");
    tmpdb_invoice(tmpdb, del.id, "INV-1", "12.34");
    uint64_t before = tmpdb_last_seq(tmpdb);
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 0, 0));
    tmpdb_customer(tmpdb, "Later");
    folio_customer *k = tmpdb_card_at(tmpdb, keep.ref, before, 0);
    cr_assert_eq(k->contact_count, 0);
    cr_assert_str_eq(k->balance, "0.00");
    k = tmpdb_card_at(tmpdb, keep.ref, r.seq, 0);
    cr_assert_eq(k->contact_count, 1);
    cr_assert_str_eq(k->balance, "12.34");
    folio_customer *d = tmpdb_card_at(tmpdb, del.ref, before, 0);
    cr_assert_str_eq(d->balance, "12.34");
    cr_assert_null(d->merged_into);
    d = tmpdb_card_at(tmpdb, del.ref, r.seq, 1);
    cr_assert_str_eq(d->merged_into, keep.ref);
    cr_assert_str_eq(d->balance, "0.00");
    /* The replayed card equals the live one at the head. */
    folio_customer *live = tmpdb_card(tmpdb, keep.ref);
    cr_assert_str_eq(live->balance, k->balance);
    cr_assert_eq(live->version, k->version);
    cr_assert_eq(live->documents, k->documents);
}

Test(customer_history, show_of_an_unknown_ref_is_not_found_and_null_arguments_are_invalid) {
    folio_customer *c = NULL;
    tmpdb_customer(tmpdb, "Acme");
    cr_assert_eq(folio_customer_get(&c, tmpdb, "CUST-000404", 0, 0), FOLIO_ENOTFOUND);
    cr_assert(strstr(folio_errmsg(), "CUST-000404") != NULL, "%s", folio_errmsg());
    cr_assert_eq(folio_customer_get(&c, tmpdb, "CUST-000404", 0, 1), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_customer_get(&c, tmpdb, NULL, 0, 0), FOLIO_EINVAL);
    cr_assert_eq(folio_customer_get(NULL, tmpdb, "CUST-000001", 0, 0), FOLIO_EINVAL);
}

/* Every field of a card, as one line. */
static char *card_sig(const folio_customer *c) {
#define S(x) ((x) ? (x) : "-")
    char *s = tmpdb_strf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s,%s|v%llu d%llu del%d/%llu", S(c->ref),
                         S(c->name), S(c->type), S(c->status), S(c->currency), S(c->owner),
                         S(c->external_id), S(c->credit_limit), S(c->balance),
                         S(c->billing.city), S(c->shipping.country),
                         (unsigned long long)c->version, (unsigned long long)c->documents,
                         c->deleted, (unsigned long long)c->deleted_seq);
    for (size_t i = 0; i < c->contact_count; i++)
        s = tmpdb_strf("%s|c%llu %s %s", s, (unsigned long long)c->contacts[i].id,
                       c->contacts[i].name, S(c->contacts[i].email));
    for (size_t i = 0; i < c->hold_count; i++) s = tmpdb_strf("%s|h %s", s, c->hold_reasons[i]);
#undef S
    return s;
}

/* The card now against the card replayed at the same point (an event of another stream
 * goes after it: at the head, folio_customer_get answers from the stored card). */
static void expect_stored_equals_replayed(const char *ref, const char *after) {
    uint64_t seq = tmpdb_last_seq(tmpdb);
    folio_event other = tmpdb_note(999, "elsewhere");
    tmpdb_append(tmpdb, &other);
    folio_customer *live = tmpdb_card_at(tmpdb, ref, 0, 1);
    folio_customer *replayed = tmpdb_card_at(tmpdb, ref, seq, 1);
    cr_assert_str_eq(card_sig(live), card_sig(replayed), "after %s", after);
}

/* A card read joins the stored card (customer-master events) and the customer's sums that
 * the receivables projection keeps (documents, allocations, notes, holds: docs/FORMAT.md).
 * Together they must give the card that replaying the customer's events gives. */
Test(customer_history, the_stored_card_equals_the_replayed_card_after_every_kind_of_event) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    tmpdb_configure(tmpdb, "past-due", NULL);
    folio_customer_new c = {.name = "Acme", .status = "active", .currency = "EUR",
                            .owner = "alice", .external_id = "X-1", .credit_limit = "900.00"};
    c.billing.city = "Leeds";
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    const char *ref = a.ref;
    expect_stored_equals_replayed(ref, "creation");
    tmpdb_contact(tmpdb, ref, "Jane");
    expect_stored_equals_replayed(ref, "a contact");
    const char *inv = tmpdb_issue_invoice(tmpdb, ref, "250.00", "2026-01-10", "2026-02-09");
    expect_stored_equals_replayed(ref, "an invoice");
    const char *pay = tmpdb_receive_payment(tmpdb, ref, "100.00", "2026-01-20", 0);
    expect_stored_equals_replayed(ref, "a payment");
    tmpdb_allocate(tmpdb, ref, pay, inv, "60.00", "2026-01-21");
    expect_stored_equals_replayed(ref, "an allocation");
    tmpdb_issue_credit_note(tmpdb, ref, "15.00", "2026-01-22");
    expect_stored_equals_replayed(ref, "a credit note");
    tmpdb_issue_refund(tmpdb, ref, pay, "40.00", "2026-01-23");
    expect_stored_equals_replayed(ref, "a refund");
    folio_credit_check_result cc;
    TMPDB_OK(folio_credit_check(&cc, tmpdb, &w, "2026-03-01"));
    cr_assert_eq(cc.placed, 1);
    expect_stored_equals_replayed(ref, "a past-due hold");
    cr_assert_str_eq(tmpdb_holds(tmpdb, ref), "past_due");
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, ref, "called about the invoice"));
    expect_stored_equals_replayed(ref, "a note");
    folio_customer_changes ch = {.name = "Acme Ltd"};
    ch.billing.city = "York";
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, ref, &ch));
    expect_stored_equals_replayed(ref, "an update after documents");
    TMPDB_OK(folio_customer_set_owner(&r, tmpdb, &w, ref, "bob"));
    expect_stored_equals_replayed(ref, "an owner change");
    TMPDB_OK(folio_credit_check(&cc, tmpdb, &w, "2026-01-01"));
    cr_assert_eq(cc.released, 1);
    expect_stored_equals_replayed(ref, "a hold released");
    const char *other = tmpdb_account(tmpdb, "Other", "EUR", NULL);
    tmpdb_issue_invoice(tmpdb, other, "30.00", "2026-01-05", NULL);
    tmpdb_receive_payment(tmpdb, other, "10.00", "2026-01-06", 0);
    TMPDB_OK(folio_customer_merge(&r, tmpdb, &w, ref, other, 0, 0));
    expect_stored_equals_replayed(ref, "a merge, on the kept side");
    expect_stored_equals_replayed(other, "a merge, on the merged-away side");
    cr_assert_str_eq(tmpdb_card_at(tmpdb, other, 0, 1)->balance, "0.00");
    folio_customer *now = tmpdb_card(tmpdb, ref);
    cr_assert_str_eq(now->balance, "195.00"); /* 250 - 100 - 15 + 40 + (30 - 10) merged in */
    cr_assert_eq(now->documents, 6); /* 4, and the 2 open documents moved */
    cr_assert_str_eq(now->name, "Acme Ltd");
    cr_assert_str_eq(now->billing.city, "York");
    cr_assert_eq(now->contact_count, 1);
    uint64_t folded = 0;
    TMPDB_OK(folio_check(&folded, tmpdb));
}
