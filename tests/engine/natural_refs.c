/*
 * tests/engine/natural_refs.c - customer refs without index records (docs/FORMAT.md
 * #projdirectory): a ref that ends in its own customer's id, written as a generated ref
 * writes it (CUST-000042 for customer 42), is found through that customer's card and has
 * no 'r' record; every other ref is in the 'r' index, and the 'r' record holds the largest
 * number an indexed ref ends in, so that a natural ref above it is known free without a
 * lookup. Refs stay unique forever (SPEC section 1): in the commands and in the fold, which
 * guards raw appends.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../engine/projection.h"
#include "../../projections/directory.h"
#include "proj_state.h"
#include "tmpdb.h"

TestSuite(natural_refs, .init = tmpdb_setup, .fini = tmpdb_teardown);

static unsigned directory_dbi(void) {
    unsigned i = 0;
    while (strcmp(folio_projection__name(i), "directory") != 0) i++;
    return FOLIO_DB_PROJ0 + i;
}

/* The 'r' index's record for `ref` as stored: the id, or 0 when there is none. */
static uint64_t indexed(const char *ref) {
    uint8_t key[1 + FOLIO_REF_BYTES_MAX];
    key[0] = FOLIO_DIR_REF;
    memcpy(key + 1, ref, strlen(ref));
    folio_txn t = {0};
    folio_val v;
    uint64_t id = 0;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    int rc = folio_store__get(&v, &t, directory_dbi(), key, 1 + strlen(ref));
    if (rc == FOLIO_OK) {
        cr_assert_eq(v.size, 8);
        id = folio__get_be64(v.data);
        cr_assert_neq(id, 0);
    } else {
        cr_assert_eq(rc, FOLIO_ENOTFOUND);
    }
    folio_store__read_end(&t);
    return id;
}

/* The 'r' record (the largest number an indexed ref ends in): its value, 0 when absent. */
static uint64_t largest(void) {
    const uint8_t key = FOLIO_DIR_REF;
    folio_txn t = {0};
    folio_val v;
    uint64_t n = 0;
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    int rc = folio_store__get(&v, &t, directory_dbi(), &key, 1);
    if (rc == FOLIO_OK) {
        cr_assert_eq(v.size, 8);
        n = folio__get_le64(v.data);
    } else {
        cr_assert_eq(rc, FOLIO_ENOTFOUND);
    }
    folio_store__read_end(&t);
    return n;
}

static void put_raw(const void *key, size_t key_bytes, const void *val, size_t val_bytes) {
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, directory_dbi(), key, key_bytes, val, val_bytes, 0),
                 FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

/* Create a customer; ref NULL: generated. Returns its ref (freed at teardown). */
static const char *create(const char *name, const char *ref) {
    folio_customer_new c = {.name = name, .ref = ref};
    folio_write_result r = tmpdb_customer_new(tmpdb, &c);
    return tmpdb_strf("%s", r.ref);
}

static uint64_t id_of(const char *ref) { return tmpdb_card(tmpdb, ref)->id; }

static folio_event raw_creation(uint64_t stream, const char *ref, const char *name) {
    return tmpdb_event(stream, FOLIO_EV_CUSTOMER_CREATED,
                       "{\"ref\":\"%s\",\"name\":\"%s\",\"type\":\"business\","
                       "\"status\":\"active\"}",
                       ref, name);
}

static void assert_checks(void) {
    uint64_t events;
    folio_verify_report vr;
    TMPDB_OK(folio_check(&events, tmpdb));
    TMPDB_OK(folio_verify(&vr, tmpdb));
}

Test(natural_refs, ref_number_reads_exactly_the_generated_spelling) {
    static const struct {
        const char *ref;
        uint64_t n;
    } cases[] = {
        {"CUST-000001", 1},
        {"CUST-000042", 42},
        {"CUST-999999", 999999},
        {"CUST-1000000", 1000000},
        {"X1234567", 1234567},
        {"000123", 123},                      /* no prefix */
        {"A-18446744073709551615", UINT64_MAX}, /* 20 digits */
        {"CUST-0000001", 0},                  /* padded past 6 digits */
        {"CUST-01234567", 0},
        {"CUST-12345", 0},                    /* fewer than 6 */
        {"CUST-000000", 0},                   /* ids count from 1 */
        {"A-18446744073709551616", 0},        /* past UINT64_MAX */
        {"A-99999999999999999999", 0},
        {"A-100000000000000000000", 0},       /* 21 digits */
        {"C2000001", 2000001},                /* a prefix's digits are read with the rest */
        {"ACME", 0},
        {"CUST-000001-B", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(folio_ref_number(cases[i].ref, strlen(cases[i].ref)), cases[i].n, "'%s'",
                     cases[i].ref);
}

Test(natural_refs, generated_refs_write_no_index_record_and_are_found_through_the_card) {
    const char *a = create("Acme", NULL), *b = create("Bolt", NULL), *c = create("Crane", NULL);
    cr_assert_str_eq(a, "CUST-000001");
    cr_assert_str_eq(c, "CUST-000003");
    cr_assert_eq(indexed(a) + indexed(b) + indexed(c), 0, "natural refs have no 'r' record");
    cr_assert_eq(largest(), 0);
    cr_assert_eq(id_of(b), 2);
    cr_assert_str_eq(tmpdb_card(tmpdb, b)->name, "Bolt");
    folio_customer *none = NULL;
    cr_assert_eq(folio_customer_get(&none, tmpdb, "CUST-000004", 0, 0), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_customer_get(&none, tmpdb, "CUST-0000002", 0, 0), FOLIO_ENOTFOUND);
    assert_checks();
}

Test(natural_refs, other_refs_are_indexed_and_generation_skips_the_taken_ones) {
    const char *a = create("Acme", "CUST-000003"); /* customer 1, another's natural form */
    const char *b = create("Bolt", "ACME-1");      /* customer 2, no number */
    cr_assert_eq(indexed(a), 1);
    cr_assert_eq(indexed(b), 2);
    cr_assert_eq(largest(), 3);
    /* customer 3's natural ref is taken: the next number is not natural for it */
    const char *c = create("Crane", NULL), *d = create("Dune", NULL);
    cr_assert_str_eq(c, "CUST-000004");
    cr_assert_str_eq(d, "CUST-000005"); /* customer 4's would be CUST-000004: taken too */
    cr_assert_eq(indexed(c), 3);
    cr_assert_eq(indexed(d), 4);
    cr_assert_eq(largest(), 5);
    const char *e = create("Echo", NULL);
    cr_assert_str_eq(e, "CUST-000006"); /* customer 5's: CUST-000005 taken by 4 */
    const char *f = create("Fjord", NULL);
    cr_assert_str_eq(f, "CUST-000007");
    cr_assert_eq(id_of(a), 1);
    cr_assert_eq(id_of(b), 2);
    cr_assert_eq(id_of(c), 3);
    cr_assert_eq(id_of(d), 4);
    cr_assert_eq(id_of(e), 5);
    cr_assert_eq(id_of(f), 6);
    /* a ref whose number is past the largest and not natural: indexed, the largest rises */
    const char *g = create("Gale", "CUST-000100");
    cr_assert_eq(id_of(g), 7);
    cr_assert_eq(largest(), 100);
    assert_checks();
    uint64_t events;
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    cr_assert_eq(largest(), 100);
    cr_assert_eq(indexed(c), 3);
    cr_assert_eq(id_of(e), 5);
}

/* A natural ref is taken although no index record says so: the commands refuse to give it
 * to anyone else, and so does the fold of a raw append (nothing is written). */
Test(natural_refs, a_natural_ref_cannot_be_given_to_another_customer) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    const char *a = create("Acme", NULL);
    folio_customer_new c = {.name = "Bolt", .ref = a};
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "already taken", folio_customer_create(&r, tmpdb, &w, &c));
    uint64_t before = tmpdb_last_seq(tmpdb), seq;
    folio_event raw = raw_creation(2, a, "Bolt");
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "already used by customer 1",
                  folio_event_append(&seq, tmpdb, &raw));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before);
    /* deleted, it stays taken (refs are never reused) and stays readable */
    tmpdb_set_status(tmpdb, a, "deleted");
    TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "already taken", folio_customer_create(&r, tmpdb, &w, &c));
    raw = raw_creation(2, a, "Bolt");
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "already used by customer 1",
                  folio_event_append(&seq, tmpdb, &raw));
    size_t n = 0;
    tmpdb_history(tmpdb, a, &n);
    cr_assert_gt(n, 0);
    cr_assert_eq(tmpdb_card_at(tmpdb, a, 0, 1)->id, 1);
    assert_checks();
}

/* The fold's check of a natural ref reads the index when some indexed ref ends in the same
 * number or a larger one: a raw creation whose natural ref another customer holds is
 * refused. */
Test(natural_refs, the_fold_refuses_a_natural_ref_held_in_the_index) {
    const char *a = create("Acme", "CUST-000002");
    cr_assert_eq(largest(), 2);
    uint64_t before = tmpdb_last_seq(tmpdb), seq;
    folio_event raw = raw_creation(2, a, "Bolt");
    TMPDB_REFUSED(tmpdb, FOLIO_EINVAL, "already used by customer 1",
                  folio_event_append(&seq, tmpdb, &raw));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before);
    /* and the next number, natural for 3 and free, is accepted without an index record */
    raw = raw_creation(3, "CUST-000003", "Crane");
    tmpdb_append(tmpdb, &raw);
    cr_assert_eq(indexed("CUST-000003"), 0);
    cr_assert_eq(id_of("CUST-000003"), 3);
    assert_checks();
}

/* A prefix that ends in a digit makes every generated ref end in a number that is not its
 * customer's id: they are all indexed, and all found. */
Test(natural_refs, a_prefix_ending_in_a_digit_indexes_every_ref) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    folio_settings_new s = {.ref_prefix = "C2"};
    TMPDB_OK(folio_ledger_init(&r, tmpdb, &w, &s));
    const char *a = create("Acme", NULL), *b = create("Bolt", NULL);
    cr_assert_str_eq(a, "C2000001");
    cr_assert_eq(indexed(a), 1);
    cr_assert_eq(indexed(b), 2);
    cr_assert_eq(largest(), 2000002);
    cr_assert_eq(id_of(b), 2);
    assert_checks();
}

/* The 'r' record is projection state like any other: one of another size is refused as
 * damage (nothing written), one that is too small is a difference check names, and a
 * rebuild mends both. */
Test(natural_refs, a_damaged_largest_is_refused_and_rebuilt) {
    folio_write_result r;
    folio_write_opts w = tmpdb_w();
    create("Acme", "CUST-000005");
    const uint8_t key = FOLIO_DIR_REF;
    uint8_t shorter[4] = {5};
    put_raw(&key, 1, shorter, sizeof shorter);
    uint64_t before = tmpdb_last_seq(tmpdb), events;
    folio_customer_new c = {.name = "Bolt"};
    TMPDB_REFUSED(tmpdb, FOLIO_ECORRUPT, "largest number",
                  folio_customer_create(&r, tmpdb, &w, &c));
    cr_assert_eq(tmpdb_last_seq(tmpdb), before);
    uint8_t low[8] = {0};
    put_raw(&key, 1, low, sizeof low);
    cr_assert_eq(folio_check(&events, tmpdb), FOLIO_ECORRUPT);
    cr_assert(strstr(folio_errmsg(), "directory") && strstr(folio_errmsg(), "differs"), "%s",
              folio_errmsg());
    TMPDB_OK(folio_rebuild(&events, tmpdb));
    cr_assert_eq(largest(), 5);
    cr_assert_str_eq(create("Bolt", NULL), "CUST-000002");
    assert_checks();
}

/* A card that is not what the encoder writes is read by the full decoder, which refuses it:
 * a ref lookup never reads a damaged card's bytes as a ref. */
Test(natural_refs, a_damaged_card_is_refused_not_misread) {
    const char *a = create("Acme", NULL);
    uint8_t key[9];
    key[0] = FOLIO_DIR_CARD;
    folio__put_be64(key + 1, 1);
    folio_txn t = {0};
    folio_val v;
    uint8_t card[4096];
    cr_assert_eq(folio_store__read_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__get(&v, &t, directory_dbi(), key, sizeof key), FOLIO_OK);
    size_t n = v.size;
    cr_assert_leq(n, sizeof card);
    memcpy(card, v.data, n);
    folio_store__read_end(&t);
    cr_assert_eq(card[80], 0x8b, "the map of 11 keys follows the 80-byte head");
    card[80] = 0x8a; /* one key fewer: the last key's value is a byte past the map */
    put_raw(key, sizeof key, card, n);
    folio_customer *out = NULL;
    cr_assert_eq(folio_customer_get(&out, tmpdb, a, 0, 0), FOLIO_ECORRUPT);
}

/* A directory built by code version 4 (an 'r' record for every ref) is rebuilt by the next
 * read-write open: the natural refs' records go. */
Test(natural_refs, a_version_4_directory_is_rebuilt_without_natural_records) {
    const char *a = create("Acme", NULL);
    uint8_t key[1 + 11], val[8];
    key[0] = FOLIO_DIR_REF;
    memcpy(key + 1, a, 11);
    folio__put_be64(val, 1);
    put_raw(key, sizeof key, val, sizeof val);
    cr_assert_eq(indexed(a), 1);
    tmpdb_set_projection_version("directory", 4);
    tmpdb_reopen();
    cr_assert_eq(indexed(a), 0);
    cr_assert_eq(id_of(a), 1);
    assert_checks();
}
