/*
 * tests/api/customer_status.c - SPEC rule 4: the status table, checked pair by pair for all
 * 25 (from, to) pairs of the five statuses; the same status again is a no-op; a new customer
 * starts as prospect or active; a held customer is on hold for reason "status".
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_status, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const char *const STATUSES[] = {"prospect", "active", "hold", "inactive", "deleted"};
#define STATUS_COUNT 5u

/* SPEC rule 4, written out independently of the engine's table. */
static int allowed(const char *from, const char *to) {
    static const char *const table[][2] = {
        {"prospect", "active"}, {"prospect", "hold"},    {"prospect", "inactive"},
        {"prospect", "deleted"}, {"active", "hold"},     {"active", "inactive"},
        {"active", "deleted"},   {"hold", "active"},     {"hold", "inactive"},
        {"inactive", "active"},  {"inactive", "deleted"}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i][0], from) == 0 && strcmp(table[i][1], to) == 0) return 1;
    return 0;
}

/* A fresh customer in status `status`, reached by allowed steps. */
static folio_write_result customer_in(const char *status, const char *name) {
    folio_customer_new c = {.name = name};
    if (strcmp(status, "active") == 0 || strcmp(status, "hold") == 0) c.status = "active";
    folio_write_result r = tmpdb_customer_new(tmpdb, &c);
    if (strcmp(status, "hold") == 0 || strcmp(status, "inactive") == 0 ||
        strcmp(status, "deleted") == 0)
        tmpdb_set_status(tmpdb, r.ref, status);
    folio_customer *k = tmpdb_card_at(tmpdb, r.ref, 0, 1);
    cr_assert_str_eq(k->status, status);
    return r;
}

/* Try every target status from `from`, each on a customer of its own. */
static void check_all_targets_from(const char *from) {
    folio_write_opts w = tmpdb_w();
    for (size_t t = 0; t < STATUS_COUNT; t++) {
        const char *to = STATUSES[t];
        folio_write_result c = customer_in(from, tmpdb_strf("%s to %s", from, to)), r;
        folio_customer *before = tmpdb_card_at(tmpdb, c.ref, 0, 1);
        tmpdb_head head = tmpdb_head_get(tmpdb);
        const char *pair = tmpdb_strf("%s -> %s", from, to);

        if (strcmp(from, "deleted") == 0) {
            /* Final: rule 7 refuses any write, the same status included. */
            TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 7)",
                          folio_customer_set_status(&r, tmpdb, &w, c.ref, to));
        } else if (strcmp(from, to) == 0) {
            memset(&r, 0xab, sizeof r);
            int rc = folio_customer_set_status(&r, tmpdb, &w, c.ref, to);
            cr_assert_eq(rc, FOLIO_OK, "%s: %s (%s)", pair, folio_strerror(rc), folio_errmsg());
            cr_assert_eq(r.unchanged, 1, "%s: the same status again is unchanged", pair);
            cr_assert_eq(r.replayed, 0);
            cr_assert_eq(r.id, c.id);
            cr_assert_str_eq(r.ref, c.ref);
            cr_assert_eq(r.version, before->version, "%s: version stays", pair);
            tmpdb_assert_head_is(tmpdb, &head, pair);
        } else if (allowed(from, to)) {
            int rc = folio_customer_set_status(&r, tmpdb, &w, c.ref, to);
            cr_assert_eq(rc, FOLIO_OK, "%s is allowed: %s (%s)", pair, folio_strerror(rc),
                         folio_errmsg());
            cr_assert_eq(r.unchanged, 0);
            cr_assert_eq(r.version, before->version + 1, "%s: one event", pair);
            cr_assert_eq(r.seq, head.seq + 1, "%s: one event", pair);
            size_t n = 0;
            folio_event *h = tmpdb_history(tmpdb, c.ref, &n);
            cr_assert_eq(h[n - 1].type, FOLIO_EV_CUSTOMER_STATUS_CHANGED);
            tmpdb_assert_json_eq(tmpdb_payload_json(&h[n - 1]),
                                 tmpdb_strf("{\"from\":\"%s\",\"to\":\"%s\"}", from, to));
            folio_customer *k = tmpdb_card_at(tmpdb, c.ref, 0, 1);
            cr_assert_str_eq(k->status, to, "%s", pair);
            cr_assert_eq(k->deleted, strcmp(to, "deleted") == 0, "%s", pair);
        } else {
            TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 4)",
                          folio_customer_set_status(&r, tmpdb, &w, c.ref, to));
            cr_assert_eq(folio_customer_set_status(&r, tmpdb, &w, c.ref, to), FOLIO_ERULE);
            cr_assert(strstr(folio_errmsg(), from) && strstr(folio_errmsg(), to),
                      "%s: the message names both statuses: %s", pair, folio_errmsg());
            cr_assert_str_eq(tmpdb_card(tmpdb, c.ref)->status, from, "%s", pair);
        }
    }
}

Test(customer_status, from_prospect_active_hold_inactive_and_deleted_are_allowed) {
    check_all_targets_from("prospect");
}

Test(customer_status, from_active_hold_inactive_and_deleted_are_allowed_but_not_prospect) {
    check_all_targets_from("active");
}

Test(customer_status, from_hold_only_active_and_inactive_are_allowed) {
    check_all_targets_from("hold");
}

Test(customer_status, from_inactive_only_active_and_deleted_are_allowed) {
    check_all_targets_from("inactive");
}

Test(customer_status, from_deleted_nothing_is_allowed_not_even_deleted_again) {
    check_all_targets_from("deleted");
}

Test(customer_status, the_table_has_exactly_eleven_allowed_changes) {
    unsigned n = 0;
    for (size_t f = 0; f < STATUS_COUNT; f++)
        for (size_t t = 0; t < STATUS_COUNT; t++) n += allowed(STATUSES[f], STATUSES[t]);
    cr_assert_eq(n, 11);
}

Test(customer_status, a_new_customer_starts_as_prospect_or_active_only) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_customer_new p = {.name = "P"}, a = {.name = "A", .status = "active"};
    cr_assert_str_eq(tmpdb_card(tmpdb, tmpdb_customer_new(tmpdb, &p).ref)->status, "prospect");
    cr_assert_str_eq(tmpdb_card(tmpdb, tmpdb_customer_new(tmpdb, &a).ref)->status, "active");
    const char *refused[] = {"hold", "inactive", "deleted"};
    for (size_t i = 0; i < 3; i++) {
        folio_customer_new c = {.name = "X", .status = refused[i]};
        tmpdb_head before = tmpdb_head_get(tmpdb);
        int rc = folio_customer_create(&r, tmpdb, &w, &c);
        cr_assert(rc == FOLIO_EINVAL || rc == FOLIO_ERULE, "%s: %s", refused[i],
                  folio_strerror(rc));
        cr_assert(strstr(folio_errmsg(), "rule 4") != NULL, "%s", folio_errmsg());
        tmpdb_assert_head_is(tmpdb, &before, refused[i]);
    }
    folio_customer_new bogus = {.name = "X", .status = "Active"};
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_customer_create(&r, tmpdb, &w, &bogus));
}

/* Fixed (was a bug): a creation status other than prospect/active is refused with FOLIO_EINVAL
 * although the message names rule 4 (engine/customer.c create_fn); every other rule refusal
 * is FOLIO_ERULE, and the CLI turns EINVAL into exit 2 (usage) instead of exit 1 (rule).
 * Disabled until the code and the message agree. */
Test(customer_status, a_creation_status_other_than_prospect_or_active_is_a_rule_4_refusal) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    tmpdb_customer(tmpdb, "Someone");
    folio_customer_new c = {.name = "X", .status = "hold"};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 4)", folio_customer_create(&r, tmpdb, &w, &c));
}

Test(customer_status, an_unknown_status_is_refused_as_invalid) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    const char *bad[] = {"frozen", "", "Active", "ACTIVE", "active "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL,
                      folio_customer_set_status(&r, tmpdb, &w, a.ref, bad[i]));
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_customer_set_status(&r, tmpdb, &w, a.ref, NULL));
}

Test(customer_status, a_held_customer_is_on_hold_for_reason_status_until_released) {
    folio_customer_new c = {.name = "Acme", .status = "active"};
    folio_write_result a = tmpdb_customer_new(tmpdb, &c);
    cr_assert_eq(tmpdb_card(tmpdb, a.ref)->on_hold, 0);
    tmpdb_set_status(tmpdb, a.ref, "hold");
    folio_customer *k = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(k->on_hold, 1);
    cr_assert_eq(k->hold_count, 1);
    cr_assert_str_eq(k->hold_reasons[0], "status");
    tmpdb_set_status(tmpdb, a.ref, "active");
    k = tmpdb_card(tmpdb, a.ref);
    cr_assert_eq(k->on_hold, 0);
    cr_assert_eq(k->hold_count, 0);
}

Test(customer_status, the_same_status_again_with_an_idempotency_key_records_nothing) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    w.idempotency_key = "same-status";
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_set_status(&r, tmpdb, &w, a.ref, "prospect"));
    cr_assert_eq(r.unchanged, 1);
    tmpdb_assert_head_is(tmpdb, &before, "same status with a key");
}

Test(customer_status, status_changes_survive_a_reopen) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    tmpdb_set_status(tmpdb, a.ref, "active");
    tmpdb_set_status(tmpdb, a.ref, "inactive");
    tmpdb_reopen();
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->status, "inactive");
    tmpdb_set_status(tmpdb, a.ref, "active");
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->status, "active");
}
