/*
 * tests/api/errors.c - error reporting: folio_strerror() for every code, folio_errmsg(),
 * and NULL arguments answered with FOLIO_EINVAL instead of a crash.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tmpdb.h"

#define ERRMSG_COPY_BYTES 600 /* more than a message (511 bytes) and a prefix */

TestSuite(errors, .init = tmpdb_setup, .fini = tmpdb_teardown);

static const int codes[] = {FOLIO_OK,      FOLIO_ERROR,    FOLIO_ENOTFOUND, FOLIO_EEXISTS,
                            FOLIO_ECONFLICT, FOLIO_EINVAL, FOLIO_ELIMIT,    FOLIO_ECORRUPT,
                            FOLIO_EFULL,   FOLIO_ITEROVER, FOLIO_EFORMAT};
#define CODE_COUNT (sizeof codes / sizeof codes[0])

Test(errors, error_codes_keep_their_frozen_values) {
    static const int frozen[] = {0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10};
    for (size_t i = 0; i < CODE_COUNT; i++) cr_assert_eq(codes[i], frozen[i]);
}

Test(errors, strerror_is_never_null_and_distinct_for_every_known_code) {
    for (size_t i = 0; i < CODE_COUNT; i++) {
        const char *s = folio_strerror(codes[i]);
        cr_assert_not_null(s, "code %d", codes[i]);
        cr_assert_neq(s[0], '\0', "code %d has text", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, folio_strerror(codes[j]), "codes %d and %d share a text",
                              codes[i], codes[j]);
    }
    /* Codes are appended below FOLIO_EFORMAT over time: every int has a text. */
    for (int rc = -256; rc <= 256; rc++) {
        const char *s = folio_strerror(rc);
        cr_assert_not_null(s, "code %d", rc);
        cr_assert_neq(s[0], '\0', "code %d has text", rc);
    }
    /* Codes that will never be assigned (positive, or far below) read alike, and unlike
     * any known code. */
    static const int unknown[] = {1, 42, INT_MAX, -100000, INT_MIN};
    const char *unknown_text = folio_strerror(unknown[0]);
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = folio_strerror(unknown[i]);
        cr_assert_not_null(s, "code %d", unknown[i]);
        cr_assert_str_eq(s, unknown_text, "every unknown code reads the same");
        for (size_t j = 0; j < CODE_COUNT; j++)
            cr_assert_str_neq(s, folio_strerror(codes[j]), "unknown %d reads like %d",
                              unknown[i], codes[j]);
    }
}

Test(errors, errmsg_is_never_null_and_explains_the_last_failure) {
    cr_assert_not_null(folio_errmsg());
    folio_event e = tmpdb_note(1, "x");
    tmpdb_append(tmpdb, &e);
    folio_expect x = {1, FOLIO_EXPECT_VERSION, 5};
    folio_append_result res;
    folio_batch b = {&e, 1, &x, 1, NULL};
    cr_assert_eq(folio_append(&res, tmpdb, &b), FOLIO_ECONFLICT);
    const char *msg = folio_errmsg();
    cr_assert_not_null(msg);
    cr_assert(strstr(msg, "5") && strstr(msg, "1"), "names versions and stream: %s", msg);
}

static void *thread_errmsg(void *arg) {
    (void)arg;
    /* A new thread has had no failure: its message is empty, whatever other threads did. */
    return (void *)(folio_errmsg()[0] == '\0' ? "empty" : "not empty");
}

Test(errors, errmsg_is_per_thread) {
    uint32_t t;
    cr_assert_eq(folio_event_type_parse(&t, "no.such.type"), FOLIO_ENOTFOUND);
    cr_assert_neq(folio_errmsg()[0], '\0');
    pthread_t th;
    void *ret = NULL;
    cr_assert_eq(pthread_create(&th, NULL, thread_errmsg, NULL), 0);
    cr_assert_eq(pthread_join(th, &ret), 0);
    cr_assert_str_eq((const char *)ret, "empty");
    cr_assert(strstr(folio_errmsg(), "no.such.type") != NULL, "%s", folio_errmsg());
}

/* Writes from several threads are run by one of them (group commit): a write of another
 * thread that fails in that group must not become the message of the thread that ran it. */
static _Atomic int failing_stop;
static const char *shared_ref;
static char good_seen[2][ERRMSG_COPY_BYTES];

static void *fail_writes(void *arg) {
    (void)arg;
    folio_write_opts w = tmpdb_w();
    folio_write_result r;
    while (!failing_stop) folio_note_add(&r, tmpdb, &w, "CUST-999999", "never written");
    return NULL;
}

static void *good_writes(void *arg) {
    char *seen = arg;
    folio_write_opts w = tmpdb_w();
    folio_write_result r;
    for (int i = 0; i < 300 && !seen[0]; i++) {
        if (folio_note_add(&r, tmpdb, &w, shared_ref, "written") != FOLIO_OK)
            snprintf(seen, ERRMSG_COPY_BYTES, "failed: %s", folio_errmsg());
        else if (folio_errmsg()[0] != '\0')
            snprintf(seen, ERRMSG_COPY_BYTES, "%s", folio_errmsg());
    }
    return NULL;
}

Test(errors, errmsg_of_a_thread_never_holds_another_threads_failure, .timeout = 120) {
    folio_write_result c = tmpdb_customer(tmpdb, "Shared");
    shared_ref = c.ref;
    pthread_t bad[2], good[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&bad[i], NULL, fail_writes, NULL), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&good[i], NULL, good_writes, good_seen[i]), 0);
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_join(good[i], NULL), 0);
    failing_stop = 1;
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_join(bad[i], NULL), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_str_eq(good_seen[i], "", "a thread that never failed reads '%s'", good_seen[i]);
}

/* 1 when s is well-formed UTF-8 (no partial or overlong sequence, no surrogate). */
static int valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0) return 0;
        uint32_t cp = n == 1 ? *p : n == 2 ? (*p & 0x1Fu) : n == 3 ? (*p & 0x0Fu) : (*p & 0x07u);
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n;
    }
    return 1;
}

/* A message quoting a long argument is cut at 511 bytes, at a character boundary: a cut
 * inside a two-, three- or four-byte character left its first bytes, invalid UTF-8, at the
 * end of the message (a JSON log or a strict decoder refuses it). */
Test(errors, a_message_cut_at_its_limit_is_still_valid_utf8) {
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    for (size_t c = 0; c < 3; c++) {
        for (size_t pad = 0; pad < 4; pad++) { /* every cut position inside a character */
            char type[2048] = "";
            for (size_t i = 0; i < pad; i++) strcat(type, "x");
            while (strlen(type) + strlen(chars[c]) < sizeof type) strcat(type, chars[c]);
            folio_customer_new cu = {.name = "Acme", .type = type};
            TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "type '",
                          folio_customer_create(&r, tmpdb, &w, &cu));
            const char *msg = folio_errmsg();
            cr_assert_leq(strlen(msg), 511);
            cr_assert_geq(strlen(msg), 508, "cut at the limit, not before: %zu", strlen(msg));
            cr_assert(valid_utf8(msg), "char %zu pad %zu: the message ends in a partial "
                      "character (%zu bytes)", c, pad, strlen(msg));
            int64_t minor;
            cr_assert_eq(folio_money_parse(&minor, type, "USD"), FOLIO_EINVAL);
            cr_assert(valid_utf8(folio_errmsg()), "money: char %zu pad %zu", c, pad);
        }
    }
}

/* A message quotes what the caller gave, and that need not be UTF-8: each stray byte is
 * U+FFFD in the message (it was copied as it came, so the message was not UTF-8 either). */
Test(errors, a_message_quoting_bytes_that_are_not_utf8_is_valid_utf8) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "status 'act\xef\xbf\xbd(ve'",
                  folio_customer_set_status(&r, tmpdb, &w, a.ref, "act\xc3\x28ve"));
    cr_assert(valid_utf8(folio_errmsg()), "%s", folio_errmsg());
    TMPDB_REFUSED(tmpdb, FOLIO_ENOTFOUND, "no customer CUST-\xef\xbf\xbd" "1",
                  folio_note_add(&r, tmpdb, &w, "CUST-\xff" "1", "hello"));
    int64_t minor;
    static const char *const bad[] = {"1\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
                                      "\xe2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(folio_money_parse(&minor, bad[i], "USD"), FOLIO_EINVAL);
        cr_assert(valid_utf8(folio_errmsg()), "%zu: %s", i, folio_errmsg());
    }
    /* A long run of stray bytes: the message is as long as it may be, and valid. */
    const char *long_bad = tmpdb_repeat('\xff', 400);
    cr_assert_eq(folio_money_parse(&minor, long_bad, "USD"), FOLIO_EINVAL);
    cr_assert(valid_utf8(folio_errmsg()));
    cr_assert_leq(strlen(folio_errmsg()), 511);
}

Test(errors, null_arguments_are_invalid_not_crashes) {
    folio_db *db = NULL;
    folio_iter *it = NULL;
    const folio_event *ev = NULL;
    folio_event e = tmpdb_note(1, "x");
    folio_append_result res;
    folio_batch b = {&e, 1, NULL, 0, NULL};
    folio_verify_report r;
    folio_stats st;
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    void *p = NULL;
    size_t n = 0;
    char *json = NULL;

    cr_assert_eq(folio_db_open(NULL, tmpdb_path("x.db"), NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_db_open(&db, NULL, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_db_open(&db, "", NULL), FOLIO_EINVAL);
    cr_assert_null(db);

    cr_assert_eq(folio_append(NULL, tmpdb, &b), FOLIO_EINVAL);
    cr_assert_eq(folio_append(&res, NULL, &b), FOLIO_EINVAL);
    cr_assert_eq(folio_append(&res, tmpdb, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_event_append(NULL, tmpdb, &e), FOLIO_EINVAL);
    cr_assert_eq(folio_event_append(&u64, NULL, &e), FOLIO_EINVAL);
    cr_assert_eq(folio_event_append(&u64, tmpdb, NULL), FOLIO_EINVAL);

    cr_assert_eq(folio_log_open(NULL, tmpdb, 0, 0), FOLIO_EINVAL);
    cr_assert_eq(folio_log_open(&it, NULL, 0, 0), FOLIO_EINVAL);
    cr_assert_eq(folio_stream_open(NULL, tmpdb, 1, 0, 0), FOLIO_EINVAL);
    cr_assert_eq(folio_stream_open(&it, NULL, 1, 0, 0), FOLIO_EINVAL);
    cr_assert_null(it);
    cr_assert_eq(folio_iter_next(&ev, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_log_open(&it, tmpdb, 0, 0), FOLIO_OK);
    cr_assert_eq(folio_iter_next(NULL, it), FOLIO_EINVAL);
    folio_iter_free(it);

    cr_assert_eq(folio_stream_version(NULL, tmpdb, 1), FOLIO_EINVAL);
    cr_assert_eq(folio_stream_version(&u64, NULL, 1), FOLIO_EINVAL);
    cr_assert_eq(folio_verify(NULL, tmpdb), FOLIO_EINVAL);
    cr_assert_eq(folio_verify(&r, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_stats_get(NULL, tmpdb), FOLIO_EINVAL);
    cr_assert_eq(folio_stats_get(&st, NULL), FOLIO_EINVAL);

    cr_assert_eq(folio_event_type_parse(NULL, "invoice.issued"), FOLIO_EINVAL);
    cr_assert_eq(folio_event_type_parse(&u32, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_payload_from_json(NULL, &n, "{}"), FOLIO_EINVAL);
    cr_assert_eq(folio_payload_from_json(&p, NULL, "{}"), FOLIO_EINVAL);
    cr_assert_eq(folio_payload_from_json(&p, &n, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_payload_to_json(NULL, e.payload, e.payload_bytes), FOLIO_EINVAL);
    cr_assert_eq(folio_payload_to_json(&json, NULL, 3), FOLIO_EINVAL);

    /* The export helpers and the formatters: NULL is refused or writes nothing. */
    uint8_t hash[FOLIO_HASH_BYTES];
    char text[2 * FOLIO_HASH_BYTES + 1] = "x";
    cr_assert_eq(folio_iter_request_hash(hash, NULL), FOLIO_EINVAL);
    cr_assert_eq(folio_iter_request_hash(NULL, NULL), FOLIO_EINVAL);
    memset(hash, 0xAB, sizeof hash);
    folio_iter_chain(hash, NULL);
    for (size_t i = 0; i < sizeof hash; i++) cr_assert_eq(hash[i], 0);
    folio_iter_chain(NULL, NULL);
    folio_hash_hex(text, NULL);
    cr_assert_str_eq(text, "");
    folio_hash_hex(NULL, hash);
    folio_date_format(NULL, 0);

    /* Release functions accept NULL. */
    folio_db_close(NULL);
    folio_iter_free(NULL);
    folio_free(NULL);

    /* None of it touched the ledger. */
    cr_assert_eq(tmpdb_last_seq(tmpdb), 0);
    cr_assert_eq(folio_event_type_name(0), NULL);
    cr_assert_str_eq(folio_event_type_name(FOLIO_EV_INVOICE_ISSUED), "invoice.issued");
}

/* The catalog: each of the 18 event types has a name that parses back to its id; every other
 * id, however large, has none. */
Test(errors, event_type_names_and_ids_round_trip) {
    static const uint32_t known[] = {
        FOLIO_EV_LEDGER_CONFIGURED,        FOLIO_EV_CUSTOMER_CREATED,
        FOLIO_EV_CUSTOMER_CURRENCY_SET,    FOLIO_EV_CUSTOMER_UPDATED,
        FOLIO_EV_CUSTOMER_OWNER_CHANGED,   FOLIO_EV_CUSTOMER_STATUS_CHANGED,
        FOLIO_EV_CUSTOMER_CONTACT_ADDED,   FOLIO_EV_CUSTOMER_CONTACT_REMOVED,
        FOLIO_EV_CUSTOMER_NOTE_ADDED,      FOLIO_EV_CUSTOMER_MERGED_INTO,
        FOLIO_EV_CUSTOMER_MERGED_FROM,     FOLIO_EV_INVOICE_ISSUED,
        FOLIO_EV_CREDIT_NOTE_ISSUED,       FOLIO_EV_PAYMENT_RECEIVED,
        FOLIO_EV_ALLOCATION_MADE,          FOLIO_EV_REFUND_ISSUED,
        FOLIO_EV_CREDIT_HOLD_PLACED,       FOLIO_EV_CREDIT_HOLD_RELEASED};
    size_t named = 0;
    for (uint32_t id = 0; id < 1000; id++) {
        const char *name = folio_event_type_name(id);
        int is_known = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) is_known |= known[k] == id;
        cr_assert_eq(name != NULL, is_known, "type %u", id);
        if (!name) continue;
        uint32_t back = 0;
        cr_assert_eq(folio_event_type_parse(&back, name), FOLIO_OK);
        cr_assert_eq(back, id, "%s", name);
        named++;
    }
    cr_assert_eq(named, 18);
    cr_assert_eq(folio_event_type_name(UINT32_MAX), NULL);
    cr_assert_eq(folio_event_type_name(64), NULL);
    cr_assert_str_eq(folio_event_type_name(FOLIO_EV_CREDIT_HOLD_RELEASED), "credit_hold.released");
    uint32_t t = 7;
    cr_assert_eq(folio_event_type_parse(&t, "invoice.issue"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_event_type_parse(&t, ""), FOLIO_ENOTFOUND);
    cr_assert_eq(t, 7, "unchanged when unknown");
}
