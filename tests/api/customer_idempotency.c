/*
 * tests/api/customer_idempotency.c - SPEC rule 11 on the customer commands: a repeat with
 * the same idempotency key and the same request returns the original result (replayed = 1)
 * and appends nothing; the key with another request (other arguments, another command,
 * another actor, reason or correlation) is FOLIO_EEXISTS; a stale expected version is
 * FOLIO_ECONFLICT; a refused write does not use up its key.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tmpdb.h"

TestSuite(customer_idempotency, .init = tmpdb_setup, .fini = tmpdb_teardown);

static folio_write_opts keyed(const char *key) {
    folio_write_opts w = tmpdb_w();
    w.idempotency_key = key;
    return w;
}

static void assert_same_result(const folio_write_result *again, const folio_write_result *first) {
    cr_assert_eq(again->replayed, 1);
    cr_assert_eq(again->unchanged, 0);
    cr_assert_eq(again->id, first->id);
    cr_assert_str_eq(again->ref, first->ref);
    cr_assert_eq(again->seq, first->seq);
    cr_assert_eq(again->version, first->version);
}

Test(customer_idempotency, a_repeated_create_returns_the_original_result_and_appends_nothing) {
    folio_write_opts w = keyed("create-acme");
    folio_customer_new c = {.name = "Acme", .credit_limit = "10"};
    folio_write_result first, again;
    TMPDB_OK(folio_customer_create(&first, tmpdb, &w, &c));
    cr_assert_eq(first.replayed, 0);
    tmpdb_customer(tmpdb, "Other"); /* the ledger moves on */
    tmpdb_head before = tmpdb_head_get(tmpdb);
    memset(&again, 0xab, sizeof again);
    /* The name is taken now (by the original): the repeat is answered before any rule. */
    TMPDB_OK(folio_customer_create(&again, tmpdb, &w, &c));
    assert_same_result(&again, &first);
    tmpdb_assert_head_is(tmpdb, &before, "repeated create");
    cr_assert_eq(tmpdb_list(tmpdb, 0, 0, "acme")->count, 1);
    /* The key is recorded on the events the original wrote. */
    size_t n = 0;
    folio_event *h = tmpdb_history(tmpdb, first.ref, &n);
    cr_assert_str_eq(h[0].idempotency_key, "create-acme");
    cr_assert_str_eq(h[1].idempotency_key, "create-acme");
}

Test(customer_idempotency, a_repeat_after_later_writes_still_names_the_original_event) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), first, again;
    folio_write_opts w = keyed("rename-1");
    folio_customer_changes ch = {.name = "Acme Ltd"};
    TMPDB_OK(folio_customer_update(&first, tmpdb, &w, a.ref, &ch));
    tmpdb_set_status(tmpdb, a.ref, "active");
    tmpdb_contact(tmpdb, a.ref, "Jane");
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_update(&again, tmpdb, &w, a.ref, &ch));
    assert_same_result(&again, &first);
    cr_assert_eq(again.version, 3, "the version the original wrote, not the current 5");
    tmpdb_assert_head_is(tmpdb, &before, "repeated update");
}

Test(customer_idempotency, every_command_replays_under_its_key) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme");
    folio_write_result b = tmpdb_customer(tmpdb, "Beta");
    uint64_t doomed = tmpdb_contact(tmpdb, a.ref, "Doomed");
    folio_write_opts w[8];
    const char *keys[8] = {"k-update", "k-status", "k-owner", "k-contact-add",
                           "k-contact-remove", "k-note", "k-merge", "k-init"};
    for (int i = 0; i < 8; i++) w[i] = keyed(keys[i]);
    folio_customer_changes ch = {.external_id = "X"};
    folio_contact_new ct = {.name = "Jane"};
    folio_settings_new s = {.credit_control = "limit"};
    folio_write_result first[8], again[8];
#define RUN(i, out)                                                                           \
    do {                                                                                      \
        switch (i) {                                                                          \
        case 0: TMPDB_OK(folio_customer_update(&out, tmpdb, &w[0], a.ref, &ch)); break;       \
        case 1: TMPDB_OK(folio_customer_set_status(&out, tmpdb, &w[1], a.ref, "active")); break; \
        case 2: TMPDB_OK(folio_customer_set_owner(&out, tmpdb, &w[2], a.ref, "alice")); break; \
        case 3: TMPDB_OK(folio_contact_add(&out, tmpdb, &w[3], a.ref, &ct)); break;           \
        case 4: TMPDB_OK(folio_contact_remove(&out, tmpdb, &w[4], a.ref, doomed)); break;     \
        case 5: TMPDB_OK(folio_note_add(&out, tmpdb, &w[5], a.ref, "hello")); break;          \
        case 6: TMPDB_OK(folio_customer_merge(&out, tmpdb, &w[6], a.ref, b.ref, 0, 0)); break; \
        default: TMPDB_OK(folio_ledger_init(&out, tmpdb, &w[7], &s)); break;                  \
        }                                                                                     \
    } while (0)
    for (int i = 0; i < 8; i++) {
        RUN(i, first[i]);
        cr_assert_eq(first[i].replayed, 0, "%s", keys[i]);
        cr_assert_eq(first[i].unchanged, 0, "%s", keys[i]);
    }
    tmpdb_head before = tmpdb_head_get(tmpdb);
    for (int i = 0; i < 8; i++) {
        RUN(i, again[i]);
        cr_assert_eq(again[i].replayed, 1, "%s", keys[i]);
        cr_assert_eq(again[i].id, first[i].id, "%s", keys[i]);
        cr_assert_str_eq(again[i].ref, first[i].ref, "%s", keys[i]);
        cr_assert_eq(again[i].seq, first[i].seq, "%s", keys[i]);
        cr_assert_eq(again[i].version, first[i].version, "%s", keys[i]);
        /* the contact removed too (a repeat gave 0), and a merge's 0 */
        cr_assert_eq(again[i].item_id, first[i].item_id, "%s", keys[i]);
    }
#undef RUN
    tmpdb_assert_head_is(tmpdb, &before, "every repeat");
    cr_assert_eq(again[6].id, a.id, "a merge names KEEP");
    cr_assert_eq(again[7].id, 0, "settings are stream 0");
    cr_assert_str_eq(again[7].ref, "");
}

/* Fixed (was a bug): the replay of a contact add returns item_id 0, not the id of the contact
 * the original added: describe_replay() in engine/command.c fills id, ref, seq and version
 * but never item_id. A caller retrying after a lost reply cannot learn its contact's id,
 * though folio.h promises "the original result". Disabled until the replay restores it. */
Test(customer_idempotency, a_repeated_contact_add_returns_the_original_contact_id) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), first, again;
    tmpdb_contact(tmpdb, a.ref, "First");
    folio_write_opts w = keyed("add-jane");
    folio_contact_new ct = {.name = "Jane"};
    TMPDB_OK(folio_contact_add(&first, tmpdb, &w, a.ref, &ct));
    cr_assert_eq(first.item_id, 2);
    TMPDB_OK(folio_contact_add(&again, tmpdb, &w, a.ref, &ct));
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.item_id, 2);
}

Test(customer_idempotency, a_repeated_contact_remove_returns_the_removed_contact_id) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), first, again;
    tmpdb_contact(tmpdb, a.ref, "First");
    uint64_t jane = tmpdb_contact(tmpdb, a.ref, "Jane");
    folio_write_opts w = keyed("remove-jane");
    TMPDB_OK(folio_contact_remove(&first, tmpdb, &w, a.ref, jane));
    cr_assert_eq(first.item_id, jane);
    TMPDB_OK(folio_contact_remove(&again, tmpdb, &w, a.ref, jane));
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.item_id, jane, "the original result names the contact removed");
}

/* An upsert that created its customer with a contact returns the contact's id (1); its
 * repeat returned 0: the contact event is not the first of the original's events. */
Test(customer_idempotency, a_repeated_upsert_with_a_contact_returns_the_contact_id) {
    folio_write_result first, again;
    folio_write_opts w = keyed("row-7");
    folio_customer_new c = {.name = "Acme"};
    folio_contact_new ct = {.name = "Pat", .email = "pat@acme.example"};
    TMPDB_OK(folio_customer_upsert(&first, tmpdb, &w, &c, &ct, FOLIO_ON_EXISTING_SKIP));
    cr_assert_eq(first.item_id, 1);
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_upsert(&again, tmpdb, &w, &c, &ct, FOLIO_ON_EXISTING_SKIP));
    tmpdb_assert_head_is(tmpdb, &before, "repeated upsert");
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.seq, first.seq);
    cr_assert_eq(again.version, first.version);
    cr_assert_eq(again.item_id, 1, "the original result names the contact added");
}

/* An upsert that found its customer and updated it says existed = 1; its repeat said 0, as
 * if the row had created a customer. One that created its customer says 0 both times. */
Test(customer_idempotency, a_repeated_upsert_says_whether_the_customer_existed) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), first, again;
    folio_write_opts w = keyed("row-1");
    folio_customer_new c = {.name = "Acme", .credit_limit = "100"};
    TMPDB_OK(folio_customer_upsert(&first, tmpdb, &w, &c, NULL, FOLIO_ON_EXISTING_UPDATE));
    cr_assert_eq(first.existed, 1);
    cr_assert_eq(first.id, a.id);
    TMPDB_OK(folio_customer_upsert(&again, tmpdb, &w, &c, NULL, FOLIO_ON_EXISTING_UPDATE));
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.existed, 1, "the original found the customer there");
    w = keyed("row-2");
    folio_customer_new n = {.name = "Newco"};
    TMPDB_OK(folio_customer_upsert(&first, tmpdb, &w, &n, NULL, FOLIO_ON_EXISTING_UPDATE));
    TMPDB_OK(folio_customer_upsert(&again, tmpdb, &w, &n, NULL, FOLIO_ON_EXISTING_UPDATE));
    cr_assert_eq(first.existed, 0);
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.existed, 0, "the original created it");
}

Test(customer_idempotency, the_key_with_other_arguments_is_refused_as_existing) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = keyed("k");
    folio_customer_changes ch = {.name = "Acme Ltd"};
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, a.ref, &ch));
    folio_customer_changes other_name = {.name = "Acme Inc"};
    folio_customer_changes more = {.name = "Acme Ltd", .external_id = "X"};
    folio_customer_changes in_billing = {.name = "Acme Ltd", .billing = {.city = "Paris"}};
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, "k",
                  folio_customer_update(&r, tmpdb, &w, a.ref, &other_name));
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_customer_update(&r, tmpdb, &w, a.ref, &more));
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL,
                  folio_customer_update(&r, tmpdb, &w, a.ref, &in_billing));
    folio_write_result b = tmpdb_customer(tmpdb, "Beta");
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_customer_update(&r, tmpdb, &w, b.ref, &ch));
    /* Another command under the same key. */
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL,
                  folio_customer_set_status(&r, tmpdb, &w, a.ref, "active"));
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_note_add(&r, tmpdb, &w, a.ref, "Acme Ltd"));
    folio_customer_new c = {.name = "Gamma"};
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_customer_create(&r, tmpdb, &w, &c));
    /* The original request still replays. */
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, a.ref, &ch));
    cr_assert_eq(r.replayed, 1);
}

Test(customer_idempotency, the_key_from_another_actor_reason_or_correlation_is_refused) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = {.actor = "alice", .reason = "why", .correlation = "c1",
                          .idempotency_key = "k"};
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "hello"));
    folio_write_opts v[5] = {w, w, w, w, w};
    v[0].actor = "bob";
    v[1].reason = "another reason";
    v[2].reason = NULL;
    v[3].correlation = "c2";
    v[4].correlation = NULL;
    for (int i = 0; i < 5; i++)
        TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_note_add(&r, tmpdb, &v[i], a.ref, "hello"));
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "hello"));
    cr_assert_eq(r.replayed, 1);
}

Test(customer_idempotency, a_key_used_by_a_raw_append_is_refused_for_a_command) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_event note = tmpdb_note(a.id, "raw");
    tmpdb_append_batch(tmpdb, &note, 1, "shared-key");
    folio_write_opts w = keyed("shared-key");
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_note_add(&r, tmpdb, &w, a.ref, "raw"));
}

Test(customer_idempotency, a_stale_expected_version_is_a_conflict_and_leaves_the_key_unused) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = keyed("k");
    w.has_expected_version = 1;
    w.expected_version = 1;
    folio_customer_changes ch = {.name = "Acme Ltd"};
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, "conflict",
                  folio_customer_update(&r, tmpdb, &w, a.ref, &ch));
    /* The same key with the right version goes through: the conflict did not record it. */
    w.expected_version = 2;
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, a.ref, &ch));
    cr_assert_eq(r.replayed, 0);
    cr_assert_eq(r.version, 3);
    /* A retry of that successful write (its expectation now stale) replays, not conflicts. */
    folio_write_result again;
    TMPDB_OK(folio_customer_update(&again, tmpdb, &w, a.ref, &ch));
    assert_same_result(&again, &r);
}

Test(customer_idempotency, a_write_refused_by_a_rule_leaves_its_key_unused) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    tmpdb_customer(tmpdb, "Taken");
    folio_write_opts w = keyed("k");
    folio_customer_changes taken = {.name = "Taken"};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 2)",
                  folio_customer_update(&r, tmpdb, &w, a.ref, &taken));
    tmpdb_set_status(tmpdb, a.ref, "active");
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 4)",
                  folio_customer_set_status(&r, tmpdb, &w, a.ref, "prospect"));
    folio_customer_changes cur = {.currency = "EUR"};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 3)",
                  folio_customer_update(&r, tmpdb, &w, a.ref, &cur));
    folio_customer_changes ok = {.name = "Acme Ltd"};
    TMPDB_OK(folio_customer_update(&r, tmpdb, &w, a.ref, &ok));
    cr_assert_eq(r.replayed, 0);
    cr_assert_str_eq(tmpdb_card(tmpdb, a.ref)->name, "Acme Ltd");
}

Test(customer_idempotency, keys_survive_a_reopen) {
    folio_write_opts w = keyed("create-acme");
    folio_customer_new c = {.name = "Acme"};
    folio_write_result first, again;
    TMPDB_OK(folio_customer_create(&first, tmpdb, &w, &c));
    tmpdb_reopen();
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_create(&again, tmpdb, &w, &c));
    assert_same_result(&again, &first);
    tmpdb_assert_head_is(tmpdb, &before, "repeat after reopen");
    folio_customer_new other = {.name = "Other"};
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL, folio_customer_create(&again, tmpdb, &w, &other));
}

Test(customer_idempotency, a_repeated_merge_replays_even_though_delete_is_gone) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete"), first, again;
    folio_write_opts w = keyed("merge-1");
    TMPDB_OK(folio_customer_merge(&first, tmpdb, &w, keep.ref, del.ref, 1, 2));
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_merge(&again, tmpdb, &w, keep.ref, del.ref, 1, 2));
    assert_same_result(&again, &first);
    tmpdb_assert_head_is(tmpdb, &before, "repeated merge");
    /* Swapping the sides is another request. */
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, NULL,
                  folio_customer_merge(&again, tmpdb, &w, del.ref, keep.ref, 1, 2));
}

Test(customer_idempotency, an_idempotency_key_longer_than_the_limit_is_refused) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = keyed(tmpdb_repeat('k', FOLIO_IDEMPOTENCY_KEY_BYTES_MAX + 1));
    tmpdb_head before = tmpdb_head_get(tmpdb);
    cr_assert_lt(folio_note_add(&r, tmpdb, &w, a.ref, "x"), 0);
    tmpdb_assert_head_is(tmpdb, &before, "overlong key");
    w = keyed(tmpdb_repeat('k', FOLIO_IDEMPOTENCY_KEY_BYTES_MAX));
    TMPDB_OK(folio_note_add(&r, tmpdb, &w, a.ref, "x"));
}

Test(customer_idempotency, an_upsert_of_an_existing_customer_honours_the_expected_version) {
    folio_write_result a = tmpdb_customer(tmpdb, "Acme"), r;
    folio_write_opts w = tmpdb_w();
    w.has_expected_version = 1;
    w.expected_version = a.version + 1; /* stale in the other direction: not yet reached */
    folio_customer_new c = {.name = "Acme", .ref = a.ref, .credit_limit = "50.00"};
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, "conflict",
                  folio_customer_upsert(&r, tmpdb, &w, &c, NULL, FOLIO_ON_EXISTING_UPDATE));
    TMPDB_REFUSED(tmpdb, FOLIO_ECONFLICT, "conflict",
                  folio_customer_upsert(&r, tmpdb, &w, &c, NULL, FOLIO_ON_EXISTING_SKIP));
    w.expected_version = a.version;
    TMPDB_OK(folio_customer_upsert(&r, tmpdb, &w, &c, NULL, FOLIO_ON_EXISTING_UPDATE));
    cr_assert_eq(r.existed, 1);
    cr_assert_eq(r.version, a.version + 1);
}

/* A request larger than the stack buffer it is encoded in (a 3,000-byte note) moves to the
 * heap whole: the repeat replays, and a note that differs only in its last byte is another
 * request. */
Test(customer_idempotency, a_long_request_is_hashed_whole) {
    folio_write_result r, again;
    folio_customer_new c = {.name = "Long Notes Ltd"};
    folio_write_opts w0 = {.actor = "tester"};
    cr_assert_eq(folio_customer_create(&r, tmpdb, &w0, &c), FOLIO_OK, "%s", folio_errmsg());
    char *text = tmpdb_repeat('n', 3000);
    folio_write_opts w = keyed("long-note");
    cr_assert_eq(folio_note_add(&r, tmpdb, &w, "CUST-000001", text), FOLIO_OK, "%s",
                 folio_errmsg());
    uint64_t last = tmpdb_last_seq(tmpdb);
    cr_assert_eq(folio_note_add(&again, tmpdb, &w, "CUST-000001", text), FOLIO_OK, "%s",
                 folio_errmsg());
    cr_assert(again.replayed);
    cr_assert_eq(tmpdb_last_seq(tmpdb), last);
    text[2999] = 'm';
    cr_assert_eq(folio_note_add(&again, tmpdb, &w, "CUST-000001", text), FOLIO_EEXISTS,
                 "the last byte is part of the request: %s", folio_errmsg());
}

/* A key used on a write that changed nothing is taken all the same (rule 11): the status set
 * again is answered "unchanged" and recorded, so a repeat after someone else moved the
 * customer gets that answer again instead of moving it back; other content under the key
 * is refused. verify accepts the record (format 2: it names the event the answer named). */
Test(customer_idempotency, a_key_used_on_a_write_that_changed_nothing_is_taken) {
    folio_write_result first, again, r;
    folio_customer_new c = {.name = "Acme", .status = "active"};
    folio_write_result made = tmpdb_customer_new(tmpdb, &c);
    folio_write_opts w = keyed("activate-1");
    TMPDB_OK(folio_customer_set_status(&first, tmpdb, &w, made.ref, "active"));
    cr_assert_eq(first.unchanged, 1);
    cr_assert_eq(first.seq, made.seq);
    tmpdb_set_status(tmpdb, made.ref, "hold"); /* someone else, no key */
    tmpdb_head before = tmpdb_head_get(tmpdb);
    TMPDB_OK(folio_customer_set_status(&again, tmpdb, &w, made.ref, "active"));
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.unchanged, 1);
    cr_assert_eq(again.id, first.id);
    cr_assert_str_eq(again.ref, first.ref);
    cr_assert_eq(again.seq, first.seq);
    cr_assert_eq(again.version, first.version);
    tmpdb_assert_head_is(tmpdb, &before, "repeated no-op");
    cr_assert_str_eq(tmpdb_card(tmpdb, made.ref)->status, "hold");
    TMPDB_REFUSED(tmpdb, FOLIO_EEXISTS, "different request",
                  folio_customer_set_status(&r, tmpdb, &w, made.ref, "inactive"));
    /* the same for an update that changes nothing, and a setting set again */
    folio_write_opts w2 = keyed("rename-1");
    folio_customer_changes ch = {.name = "Acme"};
    TMPDB_OK(folio_customer_update(&first, tmpdb, &w2, made.ref, &ch));
    cr_assert_eq(first.unchanged, 1);
    TMPDB_OK(folio_customer_update(&again, tmpdb, &w2, made.ref, &ch));
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.unchanged, 1);
    cr_assert_eq(again.seq, first.seq);
    folio_verify_report vr;
    TMPDB_OK(folio_verify(&vr, tmpdb));
    tmpdb_reopen();
    TMPDB_OK(folio_customer_set_status(&again, tmpdb, &w, made.ref, "active"));
    cr_assert_eq(again.replayed, 1);
    cr_assert_str_eq(tmpdb_card(tmpdb, made.ref)->status, "hold");
}

typedef struct {
    char key[FOLIO_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    uint8_t hash[16];
    uint64_t seq;
    size_t count;
} seen_answer;

static int keep_answer(void *payload, const folio_idem_answer *a) {
    seen_answer *s = payload;
    snprintf(s->key, sizeof s->key, "%s", a->idempotency_key);
    memcpy(s->hash, a->request_hash, sizeof s->hash);
    s->seq = a->seq;
    s->count++;
    return 0;
}

static int stop_walk(void *payload, const folio_idem_answer *a) {
    (void)payload;
    (void)a;
    return 7;
}

/* A keyed no-op's answer is listed (only it: keys that wrote events are their events'), and
 * written back into a ledger holding the same events it is taken there too; bad arguments
 * and an answer that names no event or a key already taken are refused, nothing written. */
Test(customer_idempotency, the_answers_of_keyed_no_ops_are_listed_and_restored) {
    folio_write_result made, r;
    folio_customer_new c = {.name = "Acme", .status = "active"};
    made = tmpdb_customer_new(tmpdb, &c);
    folio_write_opts w = keyed("activate-1"), wk = keyed("note-1");
    TMPDB_OK(folio_note_add(&r, tmpdb, &wk, made.ref, "hello"));
    TMPDB_OK(folio_customer_set_status(&r, tmpdb, &w, made.ref, "active"));
    cr_assert_eq(r.unchanged, 1);
    seen_answer s = {0};
    TMPDB_OK(folio_idem_answers(tmpdb, keep_answer, &s));
    cr_assert_eq(s.count, 1);
    cr_assert_str_eq(s.key, "activate-1");
    cr_assert_eq(s.seq, r.seq);
    cr_assert_eq(folio_idem_answers(tmpdb, stop_walk, NULL), 7, "fn's return stops the walk");
    cr_assert_eq(folio_idem_answers(NULL, keep_answer, &s), FOLIO_EINVAL);
    cr_assert_eq(folio_idem_answers(tmpdb, NULL, &s), FOLIO_EINVAL);

    tmpdb_head before = tmpdb_head_get(tmpdb);
    folio_idem_answer a = {"other-1", s.hash, s.seq};
    cr_assert_eq(folio_restore_answers(NULL, &a, 1), FOLIO_EINVAL);
    cr_assert_eq(folio_restore_answers(tmpdb, NULL, 1), FOLIO_EINVAL);
    TMPDB_OK(folio_restore_answers(tmpdb, NULL, 0));
    folio_idem_answer bad[] = {{NULL, s.hash, s.seq}, {"", s.hash, s.seq}, {"k", NULL, s.seq},
                               {"k", s.hash, 0}, {"k", s.hash, before.seq + 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(folio_restore_answers(tmpdb, &bad[i], 1), FOLIO_EINVAL, "answer %zu", i);
    folio_idem_answer taken[] = {{"activate-1", s.hash, s.seq}, {"note-1", s.hash, s.seq}};
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(folio_restore_answers(tmpdb, &taken[i], 1), FOLIO_ECORRUPT, "answer %zu", i);
    folio_idem_answer two[] = {{"other-1", s.hash, s.seq}, {"other-1", s.hash, s.seq}};
    cr_assert_eq(folio_restore_answers(tmpdb, two, 2), FOLIO_ECORRUPT, "one key twice");
    s.count = 0;
    TMPDB_OK(folio_idem_answers(tmpdb, keep_answer, &s));
    cr_assert_eq(s.count, 1, "a refused call wrote nothing");

    /* Restored: the key is taken, answered unchanged with the event it names. */
    TMPDB_OK(folio_restore_answers(tmpdb, &a, 1));
    tmpdb_assert_head_is(tmpdb, &before, "answers append no event");
    folio_verify_report vr;
    TMPDB_OK(folio_verify(&vr, tmpdb));
    s.count = 0;
    TMPDB_OK(folio_idem_answers(tmpdb, keep_answer, &s));
    cr_assert_eq(s.count, 2);
    folio_write_opts wo = keyed("other-1");
    TMPDB_OK(folio_customer_set_status(&r, tmpdb, &wo, made.ref, "active"));
    cr_assert_eq(r.replayed, 1);
    cr_assert_eq(r.unchanged, 1);
    cr_assert_eq(r.seq, a.seq);
}
