/*
 * tests/engine/merge_atomicity.c - a merge is one transaction (SPEC rule 6): whichever LMDB
 * put fails (folio_store__inject_put_failure, n = 1, 2, 3, ... until the merge gets through),
 * nothing of it is left behind: both cards, the log head (seq and chain hash), the histories,
 * the name and deleted indexes and the idempotency key are exactly as before. Then the merge
 * that succeeds is right.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/internal.h"
#include "tmpdb.h"

TestSuite(merge_atomicity, .init = tmpdb_setup, .fini = tmpdb_teardown);

/* Everything a reader can see of one customer, as one line. */
static const char *describe(const char *ref) {
    folio_customer *c = NULL;
    int rc = folio_customer_get(&c, tmpdb, ref, 0, 1);
    cr_assert_eq(rc, FOLIO_OK, "show %s: %s (%s)", ref, folio_strerror(rc), folio_errmsg());
    char buf[4096];
    size_t at = (size_t)snprintf(
        buf, sizeof buf, "%s name=%s status=%s v=%llu bal=%s docs=%llu del=%d/%llu into=%s hold=%d",
        c->ref, c->name, c->status, (unsigned long long)c->version, c->balance,
        (unsigned long long)c->documents, c->deleted, (unsigned long long)c->deleted_seq,
        c->merged_into ? c->merged_into : "-", c->on_hold);
    for (size_t i = 0; i < c->contact_count && at < sizeof buf; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, " [%llu %s]",
                               (unsigned long long)c->contacts[i].id, c->contacts[i].name);
    folio_customer_free(c);
    return tmpdb_strf("%s", buf);
}

static size_t history_length(const char *ref) {
    size_t n = 0;
    tmpdb_history(tmpdb, ref, &n);
    return n;
}

/* The ref that folio_customer_find gives for `name`, or "-" when none. */
static const char *found(const char *name) {
    folio_customer *c = NULL;
    int rc = folio_customer_find(&c, tmpdb, name);
    if (rc == FOLIO_ENOTFOUND) return "-";
    cr_assert_eq(rc, FOLIO_OK, "find %s: %s (%s)", name, folio_strerror(rc), folio_errmsg());
    const char *ref = tmpdb_strf("%s", c->ref);
    folio_customer_free(c);
    return ref;
}

typedef struct {
    tmpdb_head head;
    const char *keep, *del;
    size_t keep_events, del_events, deleted_count;
    const char *keep_found, *del_found;
    uint64_t keep_version, del_version;
} state;

static state snapshot(const char *keep_ref, const char *del_ref) {
    state s;
    s.head = tmpdb_head_get(tmpdb); /* folio_verify must pass every time */
    s.keep = describe(keep_ref);
    s.del = describe(del_ref);
    s.keep_events = history_length(keep_ref);
    s.del_events = history_length(del_ref);
    s.deleted_count = tmpdb_list(tmpdb, 1, 0, NULL)->count;
    s.keep_found = found("Keep Ltd");
    s.del_found = found("Delete Ltd");
    s.keep_version = tmpdb_card_at(tmpdb, keep_ref, 0, 1)->version;
    s.del_version = tmpdb_card_at(tmpdb, del_ref, 0, 1)->version;
    return s;
}

static void assert_same_state(const state *a, const state *b, uint64_t n) {
    cr_assert_eq(a->head.seq, b->head.seq, "put %llu failed: head seq moved",
                 (unsigned long long)n);
    cr_assert_eq(memcmp(a->head.hash, b->head.hash, FOLIO_HASH_BYTES), 0,
                 "put %llu failed: head hash changed", (unsigned long long)n);
    cr_assert_str_eq(a->keep, b->keep, "put %llu failed: KEEP changed", (unsigned long long)n);
    cr_assert_str_eq(a->del, b->del, "put %llu failed: DELETE changed", (unsigned long long)n);
    cr_assert_eq(a->keep_events, b->keep_events, "put %llu failed", (unsigned long long)n);
    cr_assert_eq(a->del_events, b->del_events, "put %llu failed", (unsigned long long)n);
    cr_assert_eq(a->deleted_count, b->deleted_count, "put %llu failed", (unsigned long long)n);
    cr_assert_str_eq(a->keep_found, b->keep_found, "put %llu failed", (unsigned long long)n);
    cr_assert_str_eq(a->del_found, b->del_found, "put %llu failed", (unsigned long long)n);
    cr_assert_eq(a->keep_version, b->keep_version, "put %llu failed", (unsigned long long)n);
    cr_assert_eq(a->del_version, b->del_version, "put %llu failed", (unsigned long long)n);
}

Test(merge_atomicity, a_merge_that_fails_at_any_put_leaves_nothing_behind) {
    folio_write_result keep = tmpdb_customer(tmpdb, "Keep Ltd");
    folio_write_result del = tmpdb_customer(tmpdb, "Delete Ltd");
    tmpdb_contact(tmpdb, keep.ref, "K1");
    tmpdb_contact(tmpdb, del.ref, "D1");
    tmpdb_contact(tmpdb, del.ref, "D2");
    tmpdb_invoice(tmpdb, keep.id, "INV-K", "10.00");
    tmpdb_invoice(tmpdb, del.id, "INV-D", "90.50");
    folio_write_opts w = tmpdb_w();
    w.idempotency_key = "merge-once";
    w.has_expected_version = 1;
    w.expected_version = 4;

    const state before = snapshot(keep.ref, del.ref);
    cr_assert_str_eq(before.keep_found, keep.ref);
    cr_assert_str_eq(before.del_found, del.ref);
    cr_assert_eq(before.deleted_count, 0);

    folio_write_result r;
    int rc = FOLIO_ERROR;
    uint64_t n;
    for (n = 1; n <= 1000; n++) {
        folio_store__inject_put_failure(n);
        rc = folio_customer_merge(&r, tmpdb, &w, keep.ref, del.ref, 1, 5);
        folio_store__inject_put_failure(0);
        if (rc == FOLIO_OK) break;
        cr_assert_eq(rc, FOLIO_ERROR, "put %llu failed: merge returned %s (%s)",
                     (unsigned long long)n, folio_strerror(rc), folio_errmsg());
        cr_assert(strstr(folio_errmsg(), "injected") != NULL, "put %llu: %s",
                  (unsigned long long)n, folio_errmsg());
        const state after = snapshot(keep.ref, del.ref);
        assert_same_state(&after, &before, n);
    }
    cr_assert_eq(rc, FOLIO_OK, "the merge never got through: %s", folio_errmsg());
    /* Five frames, the stream records, the cards, the indexes, the head, the key: a merge
     * that got through on a low n would mean the hook missed most of the writes. */
    cr_assert_geq(n, 10, "the merge succeeded when put %llu was to fail", (unsigned long long)n);

    /* The key was never recorded by a failed attempt: this was the first real merge. */
    cr_assert_eq(r.replayed, 0);
    cr_assert_eq(r.id, keep.id);
    /* DELETE: merged_into, status_changed; KEEP: contact_added for D1 and D2, merged_from */
    cr_assert_eq(r.seq, before.head.seq + 5);
    cr_assert_eq(r.version, 4 + 3);

    tmpdb_head head = tmpdb_head_get(tmpdb);
    cr_assert_eq(head.seq, before.head.seq + 5);
    folio_customer *k = tmpdb_card(tmpdb, keep.ref);
    cr_assert_str_eq(k->balance, "100.50");
    cr_assert_eq(k->contact_count, 3);
    cr_assert_str_eq(k->contacts[1].name, "D1");
    cr_assert_eq(k->contacts[1].id, 2);
    cr_assert_str_eq(k->contacts[2].name, "D2");
    cr_assert_eq(k->contacts[2].id, 3);
    folio_customer *d = tmpdb_card_at(tmpdb, del.ref, 0, 1);
    cr_assert_eq(d->deleted, 1);
    cr_assert_str_eq(d->merged_into, keep.ref);
    cr_assert_str_eq(d->balance, "0.00");
    cr_assert_eq(d->deleted_seq, head.seq - 3); /* before KEEP's two contacts and merged_from */
    cr_assert_eq(history_length(keep.ref), before.keep_events + 3);
    cr_assert_eq(history_length(del.ref), before.del_events + 2);
    cr_assert_str_eq(found("Delete Ltd"), "-");
    cr_assert_eq(tmpdb_list(tmpdb, 1, 0, NULL)->count, 1);

    /* The repeat replays; after a reopen (projections checked against the log) all holds. */
    folio_write_result again;
    TMPDB_OK(folio_customer_merge(&again, tmpdb, &w, keep.ref, del.ref, 1, 5));
    cr_assert_eq(again.replayed, 1);
    cr_assert_eq(again.seq, r.seq);
    const char *keep_line = describe(keep.ref), *del_line = describe(del.ref);
    tmpdb_reopen();
    cr_assert_str_eq(describe(keep.ref), keep_line);
    cr_assert_str_eq(describe(del.ref), del_line);
    tmpdb_head reopened = tmpdb_head_get(tmpdb);
    cr_assert_eq(memcmp(reopened.hash, head.hash, FOLIO_HASH_BYTES), 0);
}

Test(merge_atomicity, a_first_creation_that_fails_at_any_put_leaves_an_empty_ledger) {
    folio_write_opts w = tmpdb_w();
    folio_customer_new c = {.name = "Acme", .credit_limit = "5"};
    folio_write_result r;
    int rc = FOLIO_ERROR;
    uint64_t n;
    for (n = 1; n <= 1000; n++) {
        folio_store__inject_put_failure(n);
        rc = folio_customer_create(&r, tmpdb, &w, &c);
        folio_store__inject_put_failure(0);
        if (rc == FOLIO_OK) break;
        cr_assert_eq(rc, FOLIO_ERROR, "put %llu: %s (%s)", (unsigned long long)n,
                     folio_strerror(rc), folio_errmsg());
        cr_assert_eq(tmpdb_head_get(tmpdb).seq, 0, "put %llu failed: the log moved",
                     (unsigned long long)n);
        folio_settings s;
        TMPDB_OK(folio_settings_get(&s, tmpdb));
        cr_assert_eq(s.configured, 0, "put %llu failed: settings half-written",
                     (unsigned long long)n);
        cr_assert_eq(tmpdb_list(tmpdb, 0, FOLIO_LIST_ALL, NULL)->count, 0);
        cr_assert_str_eq(found("Acme"), "-");
    }
    cr_assert_eq(rc, FOLIO_OK);
    cr_assert_geq(n, 6);
    cr_assert_eq(r.seq, 3);
    cr_assert_str_eq(r.ref, "CUST-000001");
    cr_assert_str_eq(tmpdb_card(tmpdb, r.ref)->credit_limit, "5.00");
}
