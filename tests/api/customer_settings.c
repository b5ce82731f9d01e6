/*
 * tests/api/customer_settings.c - ledger settings (SPEC section 4): folio_ledger_init and
 * folio_settings_get; the first customer on an unconfigured ledger records the defaults
 * first; base currency and ref prefix are fixed once a customer exists, credit control and
 * the on-hold policy are not; invalid values are malformed input.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_settings, .init = tmpdb_setup, .fini = tmpdb_teardown);

static int init(folio_write_result *r, const folio_settings_new *s) {
    folio_write_opts w = tmpdb_w();
    return folio_ledger_init(r, tmpdb, &w, s);
}

static folio_settings settings(void) {
    folio_settings s;
    memset(&s, 0xab, sizeof s);
    TMPDB_OK(folio_settings_get(&s, tmpdb));
    return s;
}

static void assert_settings(const char *cur, const char *prefix, const char *cc,
                            const char *hold) {
    folio_settings s = settings();
    cr_assert_str_eq(s.base_currency, cur);
    cr_assert_str_eq(s.ref_prefix, prefix);
    cr_assert_str_eq(s.credit_control, cc);
    cr_assert_str_eq(s.on_hold_policy, hold);
}

Test(customer_settings, a_new_ledger_reads_the_defaults_and_is_not_configured) {
    folio_settings s = settings();
    cr_assert_eq(s.configured, 0);
    assert_settings("USD", "CUST-", "none", "allow-nothing");
    cr_assert_eq(tmpdb_last_seq(tmpdb), 0, "reading settings writes nothing");
    cr_assert_eq(folio_settings_get(NULL, tmpdb), FOLIO_EINVAL);
}

Test(customer_settings, the_first_customer_records_the_default_settings_first) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    cr_assert_eq(a.seq, 3);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(log[0].type, FOLIO_EV_LEDGER_CONFIGURED);
    cr_assert_eq(log[0].stream, 0);
    cr_assert_eq(log[0].version, 1);
    tmpdb_assert_json_eq(tmpdb_payload_json(&log[0]),
                         "{\"base_currency\":\"USD\",\"ref_prefix\":\"CUST-\","
                         "\"credit_control\":\"none\",\"on_hold_policy\":\"allow-nothing\"}");
    cr_assert_eq(log[1].type, FOLIO_EV_CUSTOMER_CREATED);
    cr_assert_eq(log[2].type, FOLIO_EV_CUSTOMER_CURRENCY_SET);
    cr_assert_eq(log[0].recorded_at_us, log[2].recorded_at_us, "one transaction");
    cr_assert_str_eq(log[0].actor, TMPDB_ACTOR);
    cr_assert_eq(settings().configured, 1);
    /* Only the first one. */
    folio_write_result b = tmpdb_customer(tmpdb, "Beta");
    cr_assert_eq(b.seq, 5);
    cr_assert_eq(tmpdb_stream_version(tmpdb, 0), 1);
}

Test(customer_settings, init_on_a_new_ledger_records_every_setting_once) {
    folio_write_result r;
    folio_settings_new s = {.base_currency = "EUR", .on_hold_policy = "cash-sales"};
    memset(&r, 0xab, sizeof r);
    TMPDB_OK(init(&r, &s));
    cr_assert_eq(r.id, 0);
    cr_assert_str_eq(r.ref, "");
    cr_assert_eq(r.seq, 1);
    cr_assert_eq(r.version, 1);
    cr_assert_eq(r.replayed, 0);
    cr_assert_eq(r.unchanged, 0);
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, 0, 0, &n);
    cr_assert_eq(n, 1);
    tmpdb_assert_json_eq(tmpdb_payload_json(&log[0]),
                         "{\"base_currency\":\"EUR\",\"ref_prefix\":\"CUST-\","
                         "\"credit_control\":\"none\",\"on_hold_policy\":\"cash-sales\"}");
    assert_settings("EUR", "CUST-", "none", "cash-sales");
    cr_assert_eq(settings().configured, 1);
    /* The first customer does not record the settings again. */
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    cr_assert_eq(a.seq, 3);
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->currency, "EUR");
}

Test(customer_settings, init_with_nothing_given_on_a_new_ledger_records_the_defaults) {
    folio_write_result r;
    folio_settings_new s = {0};
    TMPDB_OK(init(&r, &s));
    cr_assert_eq(r.unchanged, 0);
    cr_assert_eq(tmpdb_last_seq(tmpdb), 1);
    cr_assert_eq(settings().configured, 1);
    /* Again: nothing to change. */
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(init(&r, &s));
    cr_assert_eq(r.unchanged, 1);
    tmpdb_assert_head_is(tmpdb, &before, "init without change");
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, init(&r, NULL));
}

Test(customer_settings, the_ref_prefix_chosen_before_the_first_customer_is_used) {
    folio_write_result r;
    folio_settings_new s = {.ref_prefix = "C-"};
    TMPDB_OK(init(&r, &s));
    s.ref_prefix = "ACME/"; /* and changed again, still before any customer */
    TMPDB_OK(init(&r, &s));
    cr_assert_str_eq(tmpdb_customer(tmpdb, "Acme").ref, "ACME/000001");
    cr_assert_str_eq(tmpdb_customer(tmpdb, "Beta").ref, "ACME/000002");
}

Test(customer_settings, base_currency_and_ref_prefix_are_fixed_once_a_customer_exists) {
    folio_write_result r;
    tmpdb_customer(tmpdb, "Acme");
    folio_settings_new cur = {.base_currency = "EUR"}, pre = {.ref_prefix = "NEW-"};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "base_currency", init(&r, &cur));
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "USD", init(&r, &cur));
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "ref_prefix", init(&r, &pre));
    /* A fixed one next to a free one: neither is applied. */
    folio_settings_new both = {.ref_prefix = "NEW-", .credit_control = "limit"};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "fixed", init(&r, &both));
    assert_settings("USD", "CUST-", "none", "allow-nothing");
    /* Giving the current values is no change. */
    folio_settings_new same = {.base_currency = "USD", .ref_prefix = "CUST-"};
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(init(&r, &same));
    cr_assert_eq(r.unchanged, 1);
    tmpdb_assert_head_is(tmpdb, &before, "same fixed values");
}

Test(customer_settings, they_stay_fixed_after_the_only_customer_is_deleted) {
    folio_write_result r, a = tmpdb_customer(tmpdb, "Acme");
    tmpdb_set_status(tmpdb, a.ref, "deleted");
    folio_settings_new cur = {.base_currency = "EUR"};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "fixed", init(&r, &cur));
}

Test(customer_settings, credit_control_and_on_hold_policy_can_change_at_any_time) {
    folio_write_result r;
    tmpdb_customer(tmpdb, "Acme");
    tmpdb_head before = tmpdb_head_get(tmpdb);
    folio_settings_new cc = {.credit_control = "both"};
    TMPDB_OK(init(&r, &cc));
    cr_assert_eq(r.unchanged, 0);
    cr_assert_eq(r.seq, before.seq + 1);
    cr_assert_eq(r.version, 2, "the second ledger.configured");
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, r.seq, r.seq, &n);
    cr_assert_eq(log[0].type, FOLIO_EV_LEDGER_CONFIGURED);
    /* every ledger.configured carries all four settings (SPEC section 2), not only the
     * one that changed */
    tmpdb_assert_json_eq(tmpdb_payload_json(&log[0]),
                         "{\"base_currency\":\"USD\",\"ref_prefix\":\"CUST-\","
                         "\"credit_control\":\"both\",\"on_hold_policy\":\"allow-nothing\"}");
    assert_settings("USD", "CUST-", "both", "allow-nothing");

    const char *policies[] = {"pending-orders", "cash-sales", "pending-orders-and-cash-sales",
                              "allow-nothing"};
    for (size_t i = 0; i < 4; i++) {
        folio_settings_new s = {.on_hold_policy = policies[i]};
        TMPDB_OK(init(&r, &s));
        cr_assert_eq(r.unchanged, 0);
        assert_settings("USD", "CUST-", "both", policies[i]);
    }
    const char *controls[] = {"none", "limit", "past-due"};
    for (size_t i = 0; i < 3; i++) {
        folio_settings_new s = {.credit_control = controls[i]};
        TMPDB_OK(init(&r, &s));
        assert_settings("USD", "CUST-", controls[i], "allow-nothing");
    }
    /* Setting the current value again is no change. */
    folio_settings_new same = {.credit_control = "past-due", .on_hold_policy = "allow-nothing"};
    before = tmpdb_head_get(tmpdb);
    TMPDB_OK(init(&r, &same));
    cr_assert_eq(r.unchanged, 1);
    tmpdb_assert_head_is(tmpdb, &before, "same free values");
    /* The settings survive a reopen. */
    tmpdb_reopen();
    assert_settings("USD", "CUST-", "past-due", "allow-nothing");
}

/* Ledgers written before session 8 hold later ledger.configured events with only the
 * settings that changed: the fold keeps the others as they were. */
Test(customer_settings, an_older_partial_ledger_configured_keeps_the_other_settings) {
    folio_write_result r;
    folio_settings_new all = {"EUR", "ACC-", "limit", "cash-sales"};
    TMPDB_OK(init(&r, &all));
    folio_event e = tmpdb_event(0, FOLIO_EV_LEDGER_CONFIGURED, "{\"credit_control\":\"both\"}");
    tmpdb_append(tmpdb, &e);
    assert_settings("EUR", "ACC-", "both", "cash-sales");
    uint64_t events;
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    assert_settings("EUR", "ACC-", "both", "cash-sales");
    folio_settings_new hold = {.on_hold_policy = "pending-orders"};
    TMPDB_OK(init(&r, &hold));
    size_t n = 0;
    folio_event *log = tmpdb_read_log(tmpdb, r.seq, r.seq, &n);
    tmpdb_assert_json_eq(tmpdb_payload_json(&log[0]),
                         "{\"base_currency\":\"EUR\",\"ref_prefix\":\"ACC-\","
                         "\"credit_control\":\"both\",\"on_hold_policy\":\"pending-orders\"}");
}

Test(customer_settings, invalid_setting_values_are_refused_as_invalid) {
    folio_write_result r;
    tmpdb_customer(tmpdb, "Acme");
    folio_settings_new bad[] = {
        {.base_currency = "usd"},
        {.base_currency = "EURO"},
        {.base_currency = "ZZZ"},
        {.base_currency = ""},
        {.ref_prefix = "CU ST-"},
        {.ref_prefix = "CÜST-"},
        {.ref_prefix = ""},
        {.ref_prefix = "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJX"}, /* 41 */
        {.credit_control = "always"},
        {.credit_control = "Limit"},
        {.credit_control = ""},
        {.on_hold_policy = "deny"},
        {.on_hold_policy = "cash_sales"},
        {.credit_control = "limit", .on_hold_policy = "nope"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, init(&r, &bad[i]));
    assert_settings("USD", "CUST-", "none", "allow-nothing");
    folio_write_opts noactor = {0};
    folio_settings_new ok = {.credit_control = "limit"};
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, NULL, folio_ledger_init(&r, tmpdb, &noactor, &ok));
}

Test(customer_settings, a_ref_prefix_of_40_characters_fits_before_the_first_customer) {
    folio_write_result r;
    const char *p40 = "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ";
    folio_settings_new s = {.ref_prefix = p40};
    TMPDB_OK(init(&r, &s));
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    cr_assert_str_eq(a.ref, tmpdb_strf("%s000001", p40));
}
