/*
 * tests/engine/card_decode.c - the customer card's one-pass decoder
 * (folio_directory__decode: engine/mp.h's checked reads, no validation walk first) accepts
 * exactly the stored cards that the two-pass decoder it replaced accepts (validate the
 * whole map with folio_mpr__open, then walk it), with the same fields, and refuses the rest
 * with FOLIO_ECORRUPT. The two-pass decoder is kept here as the reference. Checked on
 * encoded cards, on random mutations of them (each in an allocation of its exact size, so
 * that the sanitizer build catches a read past the end), and on crafted maps.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/internal.h"
#include "../../projections/directory.h"
#include "envelopes.h"

#define HEAD 80u /* CARD_HEAD_BYTES */

/* ---- the reference: the two-pass decoder as it was ---- */

static int ref_dstr(folio_dstr *out, folio_mpr *r) {
    const char *s;
    size_t n;
    int rc = folio_mpr__str(r, &s, &n);
    if (rc < 0) return rc;
    out->s = s;
    out->n = (uint32_t)n;
    return FOLIO_OK;
}

static int ref_addr(folio_daddr *a, folio_mpr *r) {
    uint32_t n;
    int rc = folio_mpr__array(r, &n);
    if (rc < 0) return rc;
    if (n != FOLIO_ADDR_FIELDS) return FOLIO_ECORRUPT;
    for (int i = 0; i < FOLIO_ADDR_FIELDS && rc == FOLIO_OK; i++) rc = ref_dstr(&a->f[i], r);
    return rc;
}

/* The map part only (the head is decoded by the same code in both). */
static int ref_decode(folio_dir_rec *r, const uint8_t *map, size_t n) {
    folio_mpr m;
    uint32_t count = 0;
    int rc = folio_mpr__open(&m, map, n);
    if (rc == FOLIO_OK) rc = folio_mpr__map(&m, &count);
    for (uint32_t i = 0; i < count && rc == FOLIO_OK; i++) {
        const char *k;
        size_t kn;
        rc = folio_mpr__str(&m, &k, &kn);
        if (rc < 0 || !k) break;
#define KEY(lit) (kn == sizeof(lit) - 1 && memcmp(k, lit, kn) == 0)
        if (KEY("ref")) rc = ref_dstr(&r->ref, &m);
        else if (KEY("name")) rc = ref_dstr(&r->name, &m);
        else if (KEY("type")) rc = ref_dstr(&r->type, &m);
        else if (KEY("status")) rc = ref_dstr(&r->status, &m);
        else if (KEY("owner")) rc = ref_dstr(&r->owner, &m);
        else if (KEY("xid")) rc = ref_dstr(&r->external_id, &m);
        else if (KEY("cl")) rc = ref_dstr(&r->credit_limit, &m);
        else if (KEY("mr")) rc = ref_dstr(&r->merged_into_ref, &m);
        else if (KEY("bill")) rc = ref_addr(&r->billing, &m);
        else if (KEY("ship")) rc = ref_addr(&r->shipping, &m);
        else if (KEY("contacts")) {
            uint32_t nc;
            rc = folio_mpr__array(&m, &nc);
            if (rc == FOLIO_OK && nc > FOLIO_CONTACTS_MAX) rc = FOLIO_ECORRUPT;
            for (uint32_t j = 0; j < nc && rc == FOLIO_OK; j++) {
                folio_dcontact *c = &r->contacts[j];
                uint32_t parts;
                rc = folio_mpr__array(&m, &parts);
                if (rc == FOLIO_OK && parts != 5) rc = FOLIO_ECORRUPT;
                if (rc == FOLIO_OK) rc = folio_mpr__u64(&m, &c->id);
                if (rc == FOLIO_OK) rc = ref_dstr(&c->name, &m);
                if (rc == FOLIO_OK) rc = ref_dstr(&c->email, &m);
                if (rc == FOLIO_OK) rc = ref_dstr(&c->phone, &m);
                if (rc == FOLIO_OK) rc = ref_dstr(&c->role, &m);
            }
            r->contact_count = nc;
        } else folio_mpr__skip(&m);
#undef KEY
    }
    return rc < 0 ? FOLIO_ECORRUPT : FOLIO_OK;
}

/* ---- comparing ---- */

static void same_dstr(folio_dstr a, folio_dstr b, const char *what) {
    cr_assert_eq(a.s, b.s, "seed %llu: %s at another place", (unsigned long long)rng_state, what);
    cr_assert_eq(a.n, b.n, "seed %llu: %s of another length", (unsigned long long)rng_state, what);
}

static void same_card(const folio_dir_rec *a, const folio_dir_rec *b) {
    cr_assert_eq(a->id, b->id);
    cr_assert_eq(a->created_seq, b->created_seq);
    cr_assert_eq(a->deleted_seq, b->deleted_seq);
    cr_assert_eq(a->merged_into, b->merged_into);
    same_dstr(a->currency, b->currency, "currency");
    same_dstr(a->ref, b->ref, "ref");
    same_dstr(a->name, b->name, "name");
    same_dstr(a->type, b->type, "type");
    same_dstr(a->status, b->status, "status");
    same_dstr(a->owner, b->owner, "owner");
    same_dstr(a->external_id, b->external_id, "external id");
    same_dstr(a->credit_limit, b->credit_limit, "credit limit");
    same_dstr(a->merged_into_ref, b->merged_into_ref, "merged into ref");
    for (int i = 0; i < FOLIO_ADDR_FIELDS; i++) {
        same_dstr(a->billing.f[i], b->billing.f[i], "billing");
        same_dstr(a->shipping.f[i], b->shipping.f[i], "shipping");
    }
    cr_assert_eq(a->contact_count, b->contact_count);
    for (uint32_t i = 0; i < a->contact_count; i++) {
        cr_assert_eq(a->contacts[i].id, b->contacts[i].id);
        same_dstr(a->contacts[i].name, b->contacts[i].name, "contact name");
        same_dstr(a->contacts[i].email, b->contacts[i].email, "contact email");
        same_dstr(a->contacts[i].phone, b->contacts[i].phone, "contact phone");
        same_dstr(a->contacts[i].role, b->contacts[i].role, "contact role");
    }
}

static folio_dir_rec got, want; /* ~20 KB each */

/* Both decoders on a copy of card[0, n) in an allocation of exactly n bytes: the one-pass
 * decoder accepts exactly when the reference does, with the same fields. Returns 1 when
 * they accepted. */
static int compare(const uint8_t *card, size_t n) {
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, card, n);
    memset(&got, 0, sizeof got);
    memset(&want, 0, sizeof want);
    int rc = folio_directory__decode(&got, copy, n);
    cr_assert(rc == FOLIO_OK || rc == FOLIO_ECORRUPT, "seed %llu: rc %d",
              (unsigned long long)rng_state, rc);
    int ref = FOLIO_ECORRUPT;
    if (n >= HEAD && (copy[HEAD - 1] == 0 || copy[HEAD - 1] == 3)) {
        folio_directory__decode(&want, copy, HEAD); /* the head's fields (the map is then bad) */
        ref = ref_decode(&want, copy + HEAD, n - HEAD);
    }
    cr_assert_eq(rc, ref, "seed %llu: the one-pass decoder says %d, the reference %d",
                 (unsigned long long)rng_state, rc, ref);
    if (rc == FOLIO_OK) same_card(&got, &want);
    free(copy);
    return rc == FOLIO_OK;
}

/* ---- cards ---- */

static folio_dstr ds(const char *s) { return (folio_dstr){s, s ? (uint32_t)strlen(s) : 0}; }

static size_t make_card(uint8_t *buf, size_t cap, unsigned variant) {
    static folio_dir_rec r;
    static char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    memset(&r, 0, sizeof r);
    r.id = 7 + variant;
    r.created_seq = 3;
    r.next_contact = 1;
    r.ref = ds("CUST-000007");
    r.name = ds(variant % 3 == 2 ? long_name : "Northwind Traders");
    r.type = ds("business");
    r.status = ds(variant % 2 ? "active" : "prospect");
    r.currency = variant % 4 ? ds("EUR") : ds(NULL);
    r.owner = ds(variant % 3 ? "alice" : NULL);
    r.external_id = ds(variant % 5 ? NULL : "X-1");
    r.credit_limit = ds(variant % 2 ? "2500.00" : NULL);
    r.merged_into_ref = ds(variant == 5 ? "CUST-000001" : NULL);
    r.billing.f[FOLIO_ADDR_CITY] = ds("Oslo");
    r.shipping.f[FOLIO_ADDR_STREET] = ds(variant % 2 ? "1 Main St" : NULL);
    r.contact_count = variant % 3;
    for (uint32_t i = 0; i < r.contact_count; i++) {
        r.contacts[i].id = i + 1 + (variant == 4 ? 300 : 0);
        r.contacts[i].name = ds("Ann");
        r.contacts[i].email = ds(i ? "ann@example.com" : NULL);
        r.contacts[i].role = ds("billing");
    }
    size_t n = 0;
    cr_assert_eq(folio_directory__encode(&n, buf, cap, &r), FOLIO_OK);
    return n;
}

TestSuite(card_decode);

Test(card_decode, encoded_cards_decode_as_the_reference_decodes_them) {
    for (unsigned v = 0; v < 12; v++) {
        env_buf e;
        e.n = make_card(e.b, sizeof e.b, v);
        cr_assert_eq(compare(e.b, e.n), 1, "card variant %u refused", v);
        /* and every prefix of it is refused */
        for (size_t n = 0; n < e.n; n++) cr_assert_eq(compare(e.b, n), 0, "variant %u cut to %zu", v, n);
    }
}

Test(card_decode, mutated_cards_are_refused_or_decoded_as_the_reference_does) {
    uint64_t accepted = 0, refused = 0;
    rnd_seed();
    for (unsigned round = 0; round < 20000; round++) {
        env_buf e;
        e.n = make_card(e.b, sizeof e.b, round % 12);
        mutate(&e);
        /* most edits land in the map; keep the head valid often enough to reach it */
        if (e.n >= HEAD && rnd() % 4) e.b[HEAD - 1] = (uint8_t)(rnd() % 2 ? 3 : 0);
        if (compare(e.b, e.n))
            accepted++;
        else
            refused++;
    }
    cr_assert_gt(accepted, 100, "too few mutations kept the card decodable");
    cr_assert_gt(refused, 1000);
}

/* Maps the encoder never writes: other keys, a nil key, trailing bytes, bad counts. */
Test(card_decode, crafted_maps_are_refused_or_decoded_as_the_reference_does) {
    static const struct {
        const char *hex;
        int ok;
    } cases[] = {
        {"80", 1},                                    /* empty map */
        {"81 a3 72 65 66 a1 41", 1},                  /* ref "A" */
        {"81 a3 72 65 66 c0", 1},                     /* ref nil */
        {"81 a3 72 65 66 01", 0},                     /* ref not a string */
        {"81 a3 72 65 66 a2 41", 0},                  /* ref cut short */
        {"81 a3 72 65 66 d9 01 41", 1},               /* ref as str8 */
        {"81 a3 72 65 66 da 00 01 41", 1},            /* ref as str16 */
        {"81 a3 72 65 66 db 00 00 00 01 41", 1},      /* ref as str32 */
        {"81 a3 72 65 66 db ff ff ff ff 41", 0},      /* str32 longer than the record */
        {"81 a1 7a 92 01 a1 41", 1},                  /* unknown key, an array value */
        {"81 a1 7a 92 01", 0},                        /* unknown key, value cut short */
        {"81 a1 7a c1", 0},                           /* unknown key, a never-used byte */
        {"81 a1 7a cb 00 00 00 00 00 00 00 00", 1},   /* unknown key, a double */
        {"82 c0 01 a3 72 65 66 a1 41", 1},            /* a nil key ends the fields */
        {"82 c0 01 a3 72 65 66 a2 41", 0},            /* ... but what follows must be whole */
        {"82 c0 01 a3 72 65 66", 0},                  /* ... and all there */
        {"81 01 a1 41", 0},                           /* an integer key */
        {"81 a3 72 65 66 a1 41 00", 0},               /* a byte after the map */
        {"90", 0},                                    /* not a map */
        {"de 00 01 a3 72 65 66 a1 41", 1},            /* map16 */
        {"df 00 00 00 01 a3 72 65 66 a1 41", 1},      /* map32 */
        {"df 7f ff ff ff a3 72 65 66 a1 41", 0},      /* map32 claiming 2^31 - 1 pairs */
        {"df ff ff ff ff c0", 0},                     /* a nil key, then too few pairs */
        {"81 a4 62 69 6c 6c 95 c0 c0 c0 c0 a1 41", 1}, /* bill */
        {"81 a4 62 69 6c 6c 94 c0 c0 c0 c0", 0},       /* bill of 4 fields */
        {"81 a4 62 69 6c 6c dc 00 05 c0 c0 c0 c0 c0", 1}, /* bill as array16 */
        {"81 a8 63 6f 6e 74 61 63 74 73 91 95 05 a1 41 c0 c0 c0", 1}, /* one contact */
        {"81 a8 63 6f 6e 74 61 63 74 73 91 95 cd 01 00 a1 41 c0 c0 c0", 1}, /* uint16 id */
        {"81 a8 63 6f 6e 74 61 63 74 73 91 95 ff a1 41 c0 c0 c0", 0}, /* negative id */
        {"81 a8 63 6f 6e 74 61 63 74 73 91 94 05 a1 41 c0 c0", 0},    /* four parts */
        {"81 a8 63 6f 6e 74 61 63 74 73 91 95 cf 00 00 00 00 00 00 00", 0}, /* id cut short */
        {"81 a8 63 6f 6e 74 61 63 74 73 dd 00 00 10 00", 0}, /* more contacts than allowed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        env_buf e = {.n = 0};
        memset(e.b, 0, HEAD);
        e.b[0] = 9; /* id */
        e.n = HEAD;
        hx(&e, cases[i].hex);
        cr_assert_eq(compare(e.b, e.n), cases[i].ok, "case %zu: %s", i, cases[i].hex);
    }
}
