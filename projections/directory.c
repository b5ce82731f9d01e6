/*
 * projections/directory.c - customer cards, their indexes, and the ledger settings.
 *
 * Keys (sub-database "proj.directory"):
 *   'c' + BE u64 id      -> card: an 80-byte head, then a msgpack map (encode/decode below)
 *   'r' + ref            -> BE u64 id, for every ref ever created that is not natural (below);
 *                           refs are never reused
 *   'r'                  -> LE u64: the largest number that ends a ref of the 'r' index in
 *                           natural form (0, or absent, for none)
 *   'n' + name           -> BE u64 id, for customers that are not deleted (names are unique
 *                           among them, by exact match)
 *   'x' + external id    -> BE u64 id, for customers that are not deleted (unique among them)
 *   'd' + BE u64 seq     -> BE u64 id, deleted and merged-away customers by deletion seq
 *   's'                  -> settings: msgpack map of the four ledger settings
 * A ref is natural when it ends in its own customer's id in decimal, zero-padded to 6 digits
 * (folio_ref_number: CUST-000042 for customer 42, which is what a generated ref is unless
 * someone took it first). A natural ref has no 'r' record: the card of the id its digits name
 * is where it is found, so a creation writes no index page for it and a lookup reads the
 * card it needs anyway. The 'r' record holds the largest n any indexed ref ends in, in
 * that form: a natural ref whose id is above it cannot be in the index (no lookup).
 * Invariants: a card exists for every stream with a customer.created; the 'n' index holds
 * exactly the cards that are not deleted; every card's ref is natural or in the 'r' index,
 * and no ref is both (refs are unique); no indexed ref ends in a number above the 'r'
 * record's in natural form. The stored
 * card's version, documents, balance and holds are 0: the receivables projection keeps them
 * (folio_customer_sums, beside the customer's open items) and folio_directory__get reads
 * them from there, so a document does not write the card.
 *
 * The fold refuses (FOLIO_EINVAL) an event that would break the card's own invariants: a
 * second customer.created, a duplicate ref, name or external id, a name, ref, external id or
 * owner longer than the limits, a status, type or currency that is not one of the known
 * values (and a first status other than prospect or active), a malformed payload, an old value
 * of customer.updated that does not match the card, a balance overflow, any event after
 * deletion (the projection leaves documents to the receivables projection, which refuses a
 * balance overflow, and refuses them itself only after deletion). It does not
 * enforce the commands' rules (the status table, rule 5, rule 8 ...): events appended
 * through the raw append API are trusted to have been checked by their writer.
 * Events of streams without a customer.created are ignored.
 */
#include "directory.h"

#include <stdio.h>
#include <string.h>

/* The address fields in their order (FOLIO_ADDR_STREET ...): the names, and the keys a
 * payload's address is read by (pl_addr), from one list. */
#define ADDR_FIELD_LIST(X) X("street") X("city") X("region") X("postcode") X("country")
#define ADDR_NAME(lit) lit,
#define ADDR_KEY(lit) FOLIO_MP_KEY(lit),
const char *const folio_addr_field_names[FOLIO_ADDR_FIELDS] = {ADDR_FIELD_LIST(ADDR_NAME)};
static const folio_mp_key addr_keys[FOLIO_ADDR_FIELDS] = {ADDR_FIELD_LIST(ADDR_KEY)};

/* ---------------------------------------------------------------------------------------
 * Card encoding
 * ------------------------------------------------------------------------------------- */

/* The card is a fixed head (ids, seqs, the currency, and the sums a replayed card carries),
 * then a msgpack map of the rest (docs/FORMAT.md): a currency_set rewrites the head and
 * copies the map's bytes as they are. */
#define CARD_HEAD_BYTES 80u


static int encode_head(uint8_t *h, const folio_dir_rec *r) {
    if (r->currency.s && r->currency.n != 3)
        return folio_proj__fail(FOLIO_EINVAL, "a card's currency must be 3 letters");
    folio__put_le64(h, r->id);
    folio__put_le64(h + 8, r->version);
    folio__put_le64(h + 16, r->created_seq);
    folio__put_le64(h + 24, r->next_contact);
    folio__put_le64(h + 32, r->documents);
    folio__put_le64(h + 40, r->deleted_seq);
    folio__put_le64(h + 48, (uint64_t)r->deleted_at_us);
    folio__put_le64(h + 56, r->merged_into);
    folio__put_le64(h + 64, (uint64_t)r->balance);
    folio__put_le32(h + 72, r->credit_holds);
    memset(h + 76, 0, 4);
    if (r->currency.s) {
        memmove(h + 76, r->currency.s, 3); /* may be these very bytes */
        h[79] = 3;
    }
    return FOLIO_OK;
}

/* Fill the head's fields of r; every string but the currency is left absent. */
static int decode_head(folio_dir_rec *r, const uint8_t *h, size_t n) {
    memset(r, 0, offsetof(folio_dir_rec, contacts));
    if (n < CARD_HEAD_BYTES || (h[79] != 0 && h[79] != 3))
        return folio_proj__fail(FOLIO_ECORRUPT, "customer card is malformed");
    r->id = folio__get_le64(h);
    r->version = folio__get_le64(h + 8);
    r->created_seq = folio__get_le64(h + 16);
    r->next_contact = folio__get_le64(h + 24);
    r->documents = folio__get_le64(h + 32);
    r->deleted_seq = folio__get_le64(h + 40);
    r->deleted_at_us = (int64_t)folio__get_le64(h + 48);
    r->merged_into = folio__get_le64(h + 56);
    r->balance = (int64_t)folio__get_le64(h + 64);
    r->credit_holds = folio__get_le32(h + 72);
    if (h[79] == 3) r->currency = (folio_dstr){(const char *)h + 76, 3};
    return FOLIO_OK;
}

static void put_addr(folio_mpw *w, const folio_daddr *a) {
    folio_mpw__array(w, FOLIO_ADDR_FIELDS);
    for (int i = 0; i < FOLIO_ADDR_FIELDS; i++) folio_mpw__dstr(w, a->f[i]);
}

int folio_directory__encode(size_t *n_out, uint8_t *buf, size_t cap, const folio_dir_rec *r) {
    folio_mpw w;
    if (cap < CARD_HEAD_BYTES)
        return folio_proj__fail(FOLIO_ELIMIT, "encoded record is larger than its buffer");
    int rc = encode_head(buf, r);
    if (rc < 0) return rc;
    folio_mpw__init_fixed(&w, buf + CARD_HEAD_BYTES, cap - CARD_HEAD_BYTES);
    folio_mpw__map(&w, 11);
    const struct { const char *k; folio_dstr v; } strs[] = {
        {"ref", r->ref}, {"name", r->name}, {"type", r->type}, {"status", r->status},
        {"owner", r->owner}, {"xid", r->external_id}, {"cl", r->credit_limit},
        {"mr", r->merged_into_ref}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        folio_mpw__str(&w, strs[i].k);
        folio_mpw__dstr(&w, strs[i].v);
    }
    folio_mpw__str(&w, "bill");
    put_addr(&w, &r->billing);
    folio_mpw__str(&w, "ship");
    put_addr(&w, &r->shipping);
    folio_mpw__str(&w, "contacts");
    folio_mpw__array(&w, r->contact_count);
    for (uint32_t i = 0; i < r->contact_count; i++) {
        const folio_dcontact *c = &r->contacts[i];
        folio_mpw__array(&w, 5);
        folio_mpw__u64(&w, c->id);
        folio_mpw__dstr(&w, c->name);
        folio_mpw__dstr(&w, c->email);
        folio_mpw__dstr(&w, c->phone);
        folio_mpw__dstr(&w, c->role);
    }
    rc = folio_mpw__finish(&w);
    if (rc == FOLIO_OK) *n_out = CARD_HEAD_BYTES + w.len;
    return rc;
}

static int get_dstr(folio_dstr *out, folio_mpr *r) {
    const char *s;
    size_t n;
    int rc = folio_mpr__str(r, &s, &n);
    if (rc < 0) return rc;
    out->s = s;
    out->n = (uint32_t)n;
    return FOLIO_OK;
}

/* The card's own decoder reads the stored bytes in one pass, with engine/mp.h's checked
 * reads (no validation walk first): every value is taken whole and of its type, and the
 * map must end exactly at the end of the record. */
static inline __attribute__((always_inline)) int take_dstr(folio_dstr *out, folio_mpr *r) {
    const char *s;
    size_t n;
    int rc = folio_mpr__checked_str(r, &s, &n);
    if (rc < 0) return rc;
    out->s = s;
    out->n = (uint32_t)n;
    return FOLIO_OK;
}

static int take_addr(folio_daddr *a, folio_mpr *r) {
    uint32_t n;
    int rc = folio_mpr__checked_array(r, &n);
    if (rc < 0) return rc;
    if (n != FOLIO_ADDR_FIELDS) return FOLIO_ECORRUPT;
    for (int i = 0; i < FOLIO_ADDR_FIELDS && rc == FOLIO_OK; i++) rc = take_dstr(&a->f[i], r);
    return rc;
}

static int take_contacts(folio_dir_rec *r, folio_mpr *m) {
    uint32_t nc = 0;
    int rc = folio_mpr__checked_array(m, &nc);
    if (rc == FOLIO_OK && nc > FOLIO_CONTACTS_MAX) rc = FOLIO_ECORRUPT;
    for (uint32_t j = 0; j < nc && rc == FOLIO_OK; j++) {
        folio_dcontact *c = &r->contacts[j];
        uint32_t parts;
        rc = folio_mpr__checked_array(m, &parts);
        if (rc == FOLIO_OK && parts != 5) rc = FOLIO_ECORRUPT;
        if (rc == FOLIO_OK) rc = folio_mpr__checked_u64(m, &c->id);
        if (rc == FOLIO_OK) rc = take_dstr(&c->name, m);
        if (rc == FOLIO_OK) rc = take_dstr(&c->email, m);
        if (rc == FOLIO_OK) rc = take_dstr(&c->phone, m);
        if (rc == FOLIO_OK) rc = take_dstr(&c->role, m);
    }
    r->contact_count = nc;
    return rc;
}

enum card_key { CK_OTHER, CK_REF, CK_NAME, CK_TYPE, CK_STATUS, CK_OWNER, CK_XID, CK_CL, CK_MR,
                CK_BILL, CK_SHIP, CK_CONTACTS };

/* Which of the card's keys k[0, n) is (the literals' lengths are constants, so each
 * comparison is a load or two). */
static enum card_key card_key(const char *k, size_t n) {
#define IS(lit) (memcmp(k, lit, sizeof(lit) - 1) == 0)
    switch (n) {
    case 2: return IS("cl") ? CK_CL : IS("mr") ? CK_MR : CK_OTHER;
    case 3: return IS("ref") ? CK_REF : IS("xid") ? CK_XID : CK_OTHER;
    case 4:
        return IS("name") ? CK_NAME : IS("type") ? CK_TYPE : IS("bill") ? CK_BILL
             : IS("ship") ? CK_SHIP : CK_OTHER;
    case 5: return IS("owner") ? CK_OWNER : CK_OTHER;
    case 6: return IS("status") ? CK_STATUS : CK_OTHER;
    case 8: return IS("contacts") ? CK_CONTACTS : CK_OTHER;
    default: return CK_OTHER;
    }
#undef IS
}

/*
 * The head, then the map: known keys fill their fields, other keys' values are skipped
 * (checked), a nil key ends the fields read (what follows it must still be well formed),
 * and anything else (a value of the wrong type, a truncated value, a byte past the map) is
 * FOLIO_ECORRUPT. Strings of r point into bytes. tests/engine/card_decode.c holds the
 * two-pass decoder this replaced (validate the whole map, then walk it) and checks that
 * both accept the same bytes with the same fields.
 */
int folio_directory__decode(folio_dir_rec *r, const void *bytes, size_t n) {
    folio_mpr m;
    uint32_t count = 0, i;
    int rc = decode_head(r, bytes, n);
    if (rc < 0) return rc;
    folio_mpr__init_unchecked(&m, (const uint8_t *)bytes + CARD_HEAD_BYTES, n - CARD_HEAD_BYTES);
    rc = folio_mpr__checked_map(&m, &count);
    for (i = 0; i < count && rc == FOLIO_OK; i++) {
        const char *k;
        size_t kn;
        rc = folio_mpr__checked_str(&m, &k, &kn);
        if (rc < 0 || !k) break;
        switch (card_key(k, kn)) {
        case CK_REF: rc = take_dstr(&r->ref, &m); break;
        case CK_NAME: rc = take_dstr(&r->name, &m); break;
        case CK_TYPE: rc = take_dstr(&r->type, &m); break;
        case CK_STATUS: rc = take_dstr(&r->status, &m); break;
        case CK_OWNER: rc = take_dstr(&r->owner, &m); break;
        case CK_XID: rc = take_dstr(&r->external_id, &m); break;
        case CK_CL: rc = take_dstr(&r->credit_limit, &m); break;
        case CK_MR: rc = take_dstr(&r->merged_into_ref, &m); break;
        case CK_BILL: rc = take_addr(&r->billing, &m); break;
        case CK_SHIP: rc = take_addr(&r->shipping, &m); break;
        case CK_CONTACTS: rc = take_contacts(r, &m); break;
        case CK_OTHER: rc = folio_mpr__checked_skip(&m); break;
        }
    }
    if (rc == FOLIO_OK && i < count) {
        /* a nil key: the fields end here, but the rest of the map must be well formed (its
         * value and the pairs after it; each skip takes a byte at least, so this ends) */
        uint64_t rest = 1 + 2 * (uint64_t)(count - i - 1);
        for (; rest > 0 && rc == FOLIO_OK; rest--) rc = folio_mpr__checked_skip(&m);
    }
    if (rc < 0 || m.p != m.end) return folio_proj__fail(FOLIO_ECORRUPT, "customer card is malformed");
    return FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * The fold
 * ------------------------------------------------------------------------------------- */

/* Read an optional string field of a payload map: absent or nil gives s = NULL. */
/* The string (or nil) value v of key `key`, found by folio_mpr__find_keys (v->p NULL: the
 * map has no such key). */
static int pl_str_at(folio_dstr *out, folio_mpr *v, const char *key, int required,
                     const char *type_name) {
    out->s = NULL;
    out->n = 0;
    if (!v->p) {
        if (required) return folio_proj__fail(FOLIO_EINVAL, "%s without '%s'", type_name, key);
        return FOLIO_OK;
    }
    if (get_dstr(out, v) < 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: '%s' is not a string", type_name, key);
    if (required && !out->s)
        return folio_proj__fail(FOLIO_EINVAL, "%s without '%s'", type_name, key);
    return FOLIO_OK;
}

static int pl_str(folio_dstr *out, const folio_mpr *map, const char *key, int required,
                  const char *type_name) {
    folio_mpr v;
    out->s = NULL;
    out->n = 0;
    int rc = folio_mpr__find(&v, map, key);
    if (rc == FOLIO_ENOTFOUND) v.p = NULL;
    else if (rc < 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: '%s' is not a string", type_name, key);
    return pl_str_at(out, &v, key, required, type_name);
}

static int pl_u64(uint64_t *out, const folio_mpr *map, const char *key, const char *type_name) {
    folio_mpr v;
    int rc = folio_mpr__find(&v, map, key);
    if (rc == FOLIO_OK) rc = folio_mpr__u64(&v, out);
    if (rc < 0) return folio_proj__fail(FOLIO_EINVAL, "%s without a number '%s'", type_name, key);
    return FOLIO_OK;
}

static int pl_addr(folio_daddr *a, const folio_mpr *map, const char *type_name) {
    folio_mpr v[FOLIO_ADDR_FIELDS];
    memset(a, 0, sizeof *a);
    if (folio_mpr__find_keys(v, map, addr_keys, FOLIO_ADDR_FIELDS) < 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: an address is not a map", type_name);
    for (int i = 0; i < FOLIO_ADDR_FIELDS; i++) {
        int rc = pl_str_at(&a->f[i], &v[i], folio_addr_field_names[i], 0, type_name);
        if (rc < 0) return rc;
    }
    return FOLIO_OK;
}

/* Parse a decimal amount in the card's currency (the directory's own small parser would be a
 * second mechanism: money goes through folio_money_parse, which needs NUL-terminated text). */
static int amount(int64_t *out, folio_dstr text, folio_dstr currency, const char *type_name) {
    char t[FOLIO_MONEY_TEXT_MAX + 8], c[4];
    if (!text.s || text.n >= sizeof t || !currency.s || currency.n != 3)
        return folio_proj__fail(FOLIO_EINVAL, "%s: amount missing or customer has no currency",
                                type_name);
    memcpy(t, text.s, text.n);
    t[text.n] = '\0';
    memcpy(c, currency.s, 3);
    c[3] = '\0';
    if (folio_money_parse(out, t, c) < 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: amount '%s' is not valid in %s", type_name, t, c);
    return FOLIO_OK;
}

static int balance_add(folio_dir_rec *r, int64_t delta, const char *type_name) {
    if (__builtin_add_overflow(r->balance, delta, &r->balance))
        return folio_proj__fail(FOLIO_EINVAL, "%s would overflow the balance", type_name);
    return FOLIO_OK;
}

static int contact_from(folio_dcontact *c, const folio_mpr *map, const char *type_name) {
    int rc = pl_u64(&c->id, map, "id", type_name);
    if (rc == FOLIO_OK) rc = pl_str(&c->name, map, "name", 1, type_name);
    if (rc == FOLIO_OK) rc = pl_str(&c->email, map, "email", 0, type_name);
    if (rc == FOLIO_OK) rc = pl_str(&c->phone, map, "phone", 0, type_name);
    if (rc == FOLIO_OK) rc = pl_str(&c->role, map, "role", 0, type_name);
    return rc;
}

static int contact_add(folio_dir_rec *r, const folio_dcontact *c, const char *type_name) {
    if (r->contact_count >= FOLIO_CONTACTS_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "%s: more than %u contacts", type_name,
                                FOLIO_CONTACTS_MAX);
    if (c->id == 0 || c->id < r->next_contact)
        return folio_proj__fail(FOLIO_EINVAL, "%s: contact id %llu is not new", type_name,
                                (unsigned long long)c->id);
    r->contacts[r->contact_count++] = *c;
    r->next_contact = c->id + 1;
    return FOLIO_OK;
}

/* customer.updated: {"changes": {"name": [old, new], "billing.city": [old, new], ...}} */
static int fold_update(folio_dir_rec *r, const folio_mpr *payload, const char *tn) {
    folio_mpr ch;
    uint32_t n;
    int rc = folio_mpr__find(&ch, payload, "changes");
    if (rc == FOLIO_OK) rc = folio_mpr__map(&ch, &n);
    if (rc < 0) return folio_proj__fail(FOLIO_EINVAL, "%s without a 'changes' map", tn);
    for (uint32_t i = 0; i < n; i++) {
        folio_dstr field = {0}, old_v = {0}, new_v = {0};
        uint32_t pair = 0;
        rc = get_dstr(&field, &ch);
        if (rc == FOLIO_OK) rc = folio_mpr__array(&ch, &pair);
        if (rc == FOLIO_OK && pair != 2) rc = FOLIO_EINVAL;
        if (rc == FOLIO_OK) rc = get_dstr(&old_v, &ch);
        if (rc == FOLIO_OK) rc = get_dstr(&new_v, &ch);
        if (rc < 0 || !field.s) return folio_proj__fail(FOLIO_EINVAL, "%s: malformed change", tn);
        folio_dstr *target = NULL;
        if (folio_dstr_is(field, "name")) {
            target = &r->name;
            if (!new_v.s) return folio_proj__fail(FOLIO_EINVAL, "%s: name cannot be removed", tn);
        } else if (folio_dstr_is(field, "type")) target = &r->type;
        else if (folio_dstr_is(field, "credit_limit")) target = &r->credit_limit;
        else if (folio_dstr_is(field, "external_id")) target = &r->external_id;
        else {
            for (int a = 0; a < 2 && !target; a++) {
                folio_daddr *addr = a ? &r->shipping : &r->billing;
                const char *prefix = a ? "shipping." : "billing.";
                size_t pl = strlen(prefix);
                for (int f = 0; f < FOLIO_ADDR_FIELDS && !target; f++) {
                    size_t fl = strlen(folio_addr_field_names[f]);
                    if (field.n == pl + fl && memcmp(field.s, prefix, pl) == 0 &&
                        memcmp(field.s + pl, folio_addr_field_names[f], fl) == 0)
                        target = &addr->f[f];
                }
            }
        }
        if (!target)
            return folio_proj__fail(FOLIO_EINVAL, "%s: '%.*s' is not an updatable field", tn,
                                    (int)field.n, field.s);
        if (!folio_dstr_same(*target, old_v))
            return folio_proj__fail(FOLIO_EINVAL, "%s: old value of '%.*s' does not match the card",
                                    tn, (int)field.n, field.s);
        *target = new_v;
    }
    return FOLIO_OK;
}

/* The values a card may hold, whoever wrote the event. */
static int check_card_values(const folio_dir_rec *r, const char *tn) {
    static const char *const statuses[] = {"prospect", "active", "hold", "inactive", "deleted"};
    int ok = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        ok |= folio_dstr_is(r->status, statuses[i]);
    if (!ok) return folio_proj__fail(FOLIO_EINVAL, "%s: unknown status", tn);
    if (!folio_dstr_is(r->type, "person") && !folio_dstr_is(r->type, "business"))
        return folio_proj__fail(FOLIO_EINVAL, "%s: type is not person or business", tn);
    if (!r->name.s || r->name.n == 0 || r->name.n > FOLIO_NAME_BYTES_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "%s: name missing or longer than %u bytes", tn,
                                FOLIO_NAME_BYTES_MAX);
    if (!r->ref.s || r->ref.n == 0 || r->ref.n > FOLIO_REF_BYTES_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "%s: ref missing or longer than %u bytes", tn,
                                FOLIO_REF_BYTES_MAX);
    if (r->external_id.n > FOLIO_FIELD_BYTES_MAX || r->owner.n > FOLIO_FIELD_BYTES_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "%s: external id or owner longer than %u bytes",
                                tn, FOLIO_FIELD_BYTES_MAX);
    return FOLIO_OK;
}

int folio_directory__fold(folio_dir_rec *r, const folio_event *e, int *applies) {
    const char *tn = folio_event_type_name(e->type);
    folio_mpr p;
    int rc = FOLIO_OK;
    *applies = 0;
    if (!tn || e->stream == 0) return FOLIO_OK;
    if (e->type != FOLIO_EV_CUSTOMER_CREATED && r->id == 0) return FOLIO_OK;
    if (folio_proj__payload(&p, e) < 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: payload is not a map", tn);
    if (r->id != 0 && r->deleted_seq != 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: customer %.*s is deleted", tn, (int)r->ref.n,
                                r->ref.s);
    switch (e->type) {
    case FOLIO_EV_CUSTOMER_CREATED: {
        folio_mpr addrs, a;
        if (r->id != 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: customer %llu already exists", tn,
                                    (unsigned long long)e->stream);
        /* the payload's fields in one walk of its map (and of its addresses') */
        static const folio_mp_key keys[] = {
            FOLIO_MP_KEY("ref"),    FOLIO_MP_KEY("name"),         FOLIO_MP_KEY("type"),
            FOLIO_MP_KEY("status"), FOLIO_MP_KEY("owner"),        FOLIO_MP_KEY("credit_limit"),
            FOLIO_MP_KEY("external_id"), FOLIO_MP_KEY("addresses")};
        static const folio_mp_key sides[] = {FOLIO_MP_KEY("billing"), FOLIO_MP_KEY("shipping")};
        folio_mpr v[sizeof keys / sizeof keys[0]], side[2];
        memset(r, 0, offsetof(folio_dir_rec, contacts));
        if (folio_mpr__find_keys(v, &p, keys, sizeof keys / sizeof keys[0]) < 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: payload is not a map", tn);
        if ((rc = pl_str_at(&r->ref, &v[0], "ref", 1, tn)) < 0 ||
            (rc = pl_str_at(&r->name, &v[1], "name", 1, tn)) < 0 ||
            (rc = pl_str_at(&r->type, &v[2], "type", 1, tn)) < 0 ||
            (rc = pl_str_at(&r->status, &v[3], "status", 1, tn)) < 0 ||
            (rc = pl_str_at(&r->owner, &v[4], "owner", 0, tn)) < 0 ||
            (rc = pl_str_at(&r->credit_limit, &v[5], "credit_limit", 0, tn)) < 0 ||
            (rc = pl_str_at(&r->external_id, &v[6], "external_id", 0, tn)) < 0)
            return rc;
        addrs = v[7];
        if (addrs.p && folio_mpr__type(&addrs) == FOLIO_MP_MAP &&
            folio_mpr__find_keys(side, &addrs, sides, 2) == FOLIO_OK) {
            a = side[0];
            if (a.p && folio_mpr__type(&a) == FOLIO_MP_MAP && (rc = pl_addr(&r->billing, &a, tn)) < 0)
                return rc;
            a = side[1];
            if (a.p && folio_mpr__type(&a) == FOLIO_MP_MAP && (rc = pl_addr(&r->shipping, &a, tn)) < 0)
                return rc;
        }
        if ((rc = check_card_values(r, tn)) < 0) return rc;
        if (!folio_dstr_is(r->status, "prospect") && !folio_dstr_is(r->status, "active"))
            return folio_proj__fail(FOLIO_EINVAL, "%s: a customer starts as prospect or active", tn);
        r->id = e->stream;
        r->created_seq = e->seq;
        r->next_contact = 1;
        break;
    }
    case FOLIO_EV_CUSTOMER_CURRENCY_SET: {
        unsigned exp;
        char cur[4];
        if (r->currency.s) return folio_proj__fail(FOLIO_EINVAL, "%s: currency is already set", tn);
        if ((rc = pl_str(&r->currency, &p, "currency", 1, tn)) < 0) return rc;
        if (r->currency.n != 3) return folio_proj__fail(FOLIO_EINVAL, "%s: not a currency code", tn);
        memcpy(cur, r->currency.s, 3);
        cur[3] = '\0';
        if (folio_currency_exponent(&exp, cur) < 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: '%s' is not an ISO 4217 code", tn, cur);
        break;
    }
    case FOLIO_EV_CUSTOMER_UPDATED:
        if ((rc = fold_update(r, &p, tn)) < 0 || (rc = check_card_values(r, tn)) < 0) return rc;
        break;
    case FOLIO_EV_CUSTOMER_OWNER_CHANGED:
        if ((rc = pl_str(&r->owner, &p, "to", 0, tn)) < 0) return rc;
        break;
    case FOLIO_EV_CUSTOMER_STATUS_CHANGED:
        if ((rc = pl_str(&r->status, &p, "to", 1, tn)) < 0 || (rc = check_card_values(r, tn)) < 0)
            return rc;
        if (folio_dstr_is(r->status, "deleted")) {
            r->deleted_seq = e->seq;
            r->deleted_at_us = e->recorded_at_us;
        }
        break;
    case FOLIO_EV_CUSTOMER_CONTACT_ADDED: {
        folio_dcontact c;
        if ((rc = contact_from(&c, &p, tn)) < 0 || (rc = contact_add(r, &c, tn)) < 0) return rc;
        break;
    }
    case FOLIO_EV_CUSTOMER_CONTACT_REMOVED: {
        uint64_t id;
        uint32_t i;
        if ((rc = pl_u64(&id, &p, "id", tn)) < 0) return rc;
        for (i = 0; i < r->contact_count && r->contacts[i].id != id; i++) {}
        if (i == r->contact_count)
            return folio_proj__fail(FOLIO_EINVAL, "%s: no contact %llu", tn, (unsigned long long)id);
        memmove(&r->contacts[i], &r->contacts[i + 1],
                (r->contact_count - i - 1) * sizeof r->contacts[0]);
        r->contact_count--;
        break;
    }
    case FOLIO_EV_CUSTOMER_MERGED_INTO:
        if ((rc = pl_u64(&r->merged_into, &p, "target_id", tn)) < 0 ||
            (rc = pl_str(&r->merged_into_ref, &p, "target_ref", 1, tn)) < 0)
            return rc;
        r->balance = 0; /* its open items and balance moved to the KEEP side */
        break;
    case FOLIO_EV_CUSTOMER_MERGED_FROM: {
        folio_mpr list;
        uint32_t n = 0;
        folio_dstr moved;
        int64_t delta = 0;
        if (folio_mpr__find(&list, &p, "contacts") == FOLIO_OK &&
            folio_mpr__array(&list, &n) == FOLIO_OK) {
            for (uint32_t i = 0; i < n; i++) {
                folio_dcontact c;
                folio_mpr one = list;
                if ((rc = contact_from(&c, &one, tn)) < 0 || (rc = contact_add(r, &c, tn)) < 0)
                    return rc;
                folio_mpr__skip(&list);
            }
        }
        if (folio_mpr__find(&list, &p, "documents") == FOLIO_OK &&
            folio_mpr__array(&list, &n) == FOLIO_OK)
            r->documents += n;
        if ((rc = pl_str(&moved, &p, "balance", 0, tn)) < 0) return rc;
        if (moved.s && ((rc = amount(&delta, moved, r->currency, tn)) < 0 ||
                        (rc = balance_add(r, delta, tn)) < 0))
            return rc;
        break;
    }
    case FOLIO_EV_INVOICE_ISSUED:
    case FOLIO_EV_CREDIT_NOTE_ISSUED:
    case FOLIO_EV_PAYMENT_RECEIVED:
    case FOLIO_EV_REFUND_ISSUED: {
        folio_dstr text;
        int64_t v;
        if ((rc = pl_str(&text, &p, "amount", 1, tn)) < 0 ||
            (rc = amount(&v, text, r->currency, tn)) < 0)
            return rc;
        if (v <= 0) return folio_proj__fail(FOLIO_EINVAL, "%s: amount must be positive", tn);
        if ((rc = balance_add(r, folio_doc_signed(folio_doc_kind_of(e->type), v), tn)) < 0)
            return rc;
        r->documents++;
        break;
    }
    case FOLIO_EV_CREDIT_HOLD_PLACED:
    case FOLIO_EV_CREDIT_HOLD_RELEASED: {
        folio_dstr rule;
        if ((rc = pl_str(&rule, &p, "rule", 1, tn)) < 0) return rc;
        if (folio_hold_apply(&r->credit_holds, e->type, rule.s, rule.n) < 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: unknown rule", tn);
        break;
    }
    default: /* notes, allocations: the card only counts the version */
        break;
    }
    r->version = e->version;
    *applies = 1;
    return FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * The projection
 * ------------------------------------------------------------------------------------- */

static int index_key(uint8_t *key, size_t *klen, char prefix, folio_dstr s) {
    if (s.n + 1 > 511) return folio_proj__fail(FOLIO_EINVAL, "index key too long");
    key[0] = (uint8_t)prefix;
    memcpy(key + 1, s.s, s.n);
    *klen = s.n + 1;
    return FOLIO_OK;
}

static int index_put_new(folio_proj_txn *t, char prefix, folio_dstr s, uint64_t id,
                         const char *what) {
    uint8_t key[512], val[8];
    size_t klen = 0;
    const void *cur;
    size_t cur_n;
    int rc = index_key(key, &klen, prefix, s);
    if (rc < 0) return rc;
    rc = folio_proj__get(&cur, &cur_n, t, key, klen);
    if (rc == FOLIO_OK)
        return folio_proj__fail(FOLIO_EINVAL, "%s '%.*s' is already used by customer %llu", what,
                                (int)s.n, s.s, (unsigned long long)(cur_n == 8 ? folio__get_be64(cur) : 0));
    if (rc != FOLIO_ENOTFOUND) return rc;
    folio__put_be64(val, id);
    return folio_proj__put(t, key, klen, val, sizeof val);
}

static int index_del(folio_proj_txn *t, char prefix, folio_dstr s) {
    uint8_t key[512];
    size_t klen = 0;
    int rc = index_key(key, &klen, prefix, s);
    if (rc == FOLIO_OK) rc = folio_proj__del(t, key, klen);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Refs: natural ones have no index record (header comment)
 * ------------------------------------------------------------------------------------- */

uint64_t folio_ref_number(const char *s, size_t n) {
    size_t k = 0;
    while (k < n && s[n - 1 - k] >= '0' && s[n - 1 - k] <= '9') k++;
    if (k < FOLIO_REF_DIGITS_MIN || k > 20) return 0;
    const char *d = s + n - k;
    if (k > FOLIO_REF_DIGITS_MIN && d[0] == '0') return 0; /* zero-padded past 6 digits */
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++) {
        const unsigned c = (unsigned)(d[i] - '0');
        if (v > (UINT64_MAX - c) / 10) return 0;
        v = v * 10 + c;
    }
    return v;
}

/* The ref of customer id's card (pointing into the stored card: valid until the next write),
 * FOLIO_ENOTFOUND without a card. The encoder writes the ref first; anything else is read
 * by the full decoder, which names a defect. */
static int card_ref(folio_dstr *out, folio_proj_txn *t, uint64_t id) {
    uint8_t key[9];
    const void *cur;
    size_t n, at = CARD_HEAD_BYTES + 5, len = SIZE_MAX;
    key[0] = FOLIO_DIR_CARD;
    folio__put_be64(key + 1, id);
    int rc = folio_proj__get(&cur, &n, t, key, sizeof key);
    if (rc < 0) return rc;
    const uint8_t *b = cur;
    if (n > at + 1 && b[CARD_HEAD_BYTES] == 0x8b && memcmp(b + CARD_HEAD_BYTES + 1, "\xa3ref", 4) == 0) {
        if ((b[at] & 0xe0) == 0xa0) /* fixstr */
            len = b[at++] & 0x1fu;
        else if (b[at] == 0xd9) /* str 8 */
            len = b[at + 1], at += 2;
    }
    if (len != SIZE_MAX && len <= n - at) {
        out->s = (const char *)b + at;
        out->n = (uint32_t)len;
        return FOLIO_OK;
    }
    folio_dir_rec r;
    if ((rc = folio_directory__decode(&r, cur, n)) < 0) return rc;
    *out = r.ref;
    return FOLIO_OK;
}

/* id from index `prefix` (ref, name or external id). */
static int lookup(uint64_t *id, folio_proj_txn *t, char prefix, const char *s, size_t n) {
    uint8_t key[512];
    size_t klen = 0;
    const void *cur;
    size_t cur_n;
    folio_dstr d = {s, (uint32_t)n};
    if (n > 500) return FOLIO_ENOTFOUND;
    int rc = index_key(key, &klen, prefix, d);
    if (rc == FOLIO_OK) rc = folio_proj__get(&cur, &cur_n, t, key, klen);
    if (rc < 0) return rc;
    if (cur_n != 8) return folio_proj__fail(FOLIO_ECORRUPT, "directory index value is malformed");
    *id = folio__get_be64(cur);
    return FOLIO_OK;
}

/* The largest number that ends an indexed ref in natural form (0: none). */
static int ref_index_max(uint64_t *out, folio_proj_txn *t) {
    const void *cur;
    size_t n;
    const uint8_t key = FOLIO_DIR_REF;
    int rc = folio_proj__get(&cur, &n, t, &key, 1);
    *out = 0;
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK;
    if (rc < 0) return rc;
    if (n != 8)
        return folio_proj__fail(FOLIO_ECORRUPT, "directory: the ref index's largest number has "
                                                "%zu bytes", n);
    *out = folio__get_le64(cur);
    return FOLIO_OK;
}

/* Who has ref s: FOLIO_OK and *id, else FOLIO_ENOTFOUND. `creating`: a customer being
 * created (no card yet; 0 for none), whose natural ref can only be taken through the index. */
static int ref_owner(uint64_t *id, folio_proj_txn *t, folio_dstr s, uint64_t creating) {
    const uint64_t n = folio_ref_number(s.s, s.n);
    uint64_t max;
    int rc;
    if (n && n != creating) { /* natural for customer n? */
        folio_dstr theirs;
        rc = card_ref(&theirs, t, n);
        if (rc == FOLIO_OK && folio_dstr_same(theirs, s)) {
            *id = n;
            return FOLIO_OK;
        }
        if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
    }
    if (n) { /* in the index only if some indexed ref ends in n */
        if ((rc = ref_index_max(&max, t)) < 0) return rc;
        if (n > max) return FOLIO_ENOTFOUND;
    }
    return lookup(id, t, FOLIO_DIR_REF, s.s, s.n);
}

/* A new customer's ref: refused when taken, indexed unless natural. */
static int ref_put_new(folio_proj_txn *t, folio_dstr ref, uint64_t id) {
    const uint64_t n = folio_ref_number(ref.s, ref.n);
    uint64_t owner, max;
    uint8_t key[512], val[8];
    size_t klen = 0;
    int rc = ref_owner(&owner, t, ref, id);
    if (rc == FOLIO_OK)
        return folio_proj__fail(FOLIO_EINVAL, "ref '%.*s' is already used by customer %llu",
                                (int)ref.n, ref.s, (unsigned long long)owner);
    if (rc != FOLIO_ENOTFOUND) return rc;
    if (n == id) return FOLIO_OK; /* natural: found through its card */
    if ((rc = index_key(key, &klen, FOLIO_DIR_REF, ref)) < 0) return rc;
    folio__put_be64(val, id);
    if ((rc = folio_proj__put(t, key, klen, val, sizeof val)) < 0) return rc;
    if (!n) return FOLIO_OK;
    if ((rc = ref_index_max(&max, t)) < 0) return rc;
    if (n <= max) return FOLIO_OK;
    folio__put_le64(val, n);
    return folio_proj__put(t, key, 1, val, sizeof val); /* key[0]: the 'r' record */
}

static int settings_apply(folio_proj_txn *t, const folio_event *e) {
    folio_settings s;
    folio_mpr p;
    int rc = folio_directory__settings(&s, t);
    if (rc < 0) return rc;
    if (folio_proj__payload(&p, e) < 0)
        return folio_proj__fail(FOLIO_EINVAL, "ledger.configured: payload is not a map");
    struct { const char *key; char *dst; size_t cap; } f[] = {
        {"base_currency", s.base_currency, sizeof s.base_currency},
        {"ref_prefix", s.ref_prefix, sizeof s.ref_prefix},
        {"credit_control", s.credit_control, sizeof s.credit_control},
        {"on_hold_policy", s.on_hold_policy, sizeof s.on_hold_policy}};
    for (size_t i = 0; i < 4; i++) {
        folio_dstr v;
        if ((rc = pl_str(&v, &p, f[i].key, 0, "ledger.configured")) < 0) return rc;
        if (!v.s) continue;
        if (v.n >= f[i].cap)
            return folio_proj__fail(FOLIO_EINVAL, "ledger.configured: '%s' is too long", f[i].key);
        memcpy(f[i].dst, v.s, v.n);
        f[i].dst[v.n] = '\0';
    }
    folio_mpw w;
    uint8_t buf[256];
    folio_mpw__init_fixed(&w, buf, sizeof buf);
    folio_mpw__map(&w, 4);
    for (size_t i = 0; i < 4; i++) folio_mpw__kstr(&w, f[i].key, f[i].dst);
    if ((rc = folio_mpw__finish(&w)) < 0) return rc;
    return folio_proj__put(t, "s", 1, buf, w.len);
}

/* Event types that change nothing the directory stores: the receivables projection keeps
 * what they add up to (folio_customer_sums), which the card shows. The directory only refuses
 * them once the customer is deleted. */
static int sums_only(uint32_t type) {
    switch (type) {
    case FOLIO_EV_CUSTOMER_NOTE_ADDED:
    case FOLIO_EV_INVOICE_ISSUED:
    case FOLIO_EV_CREDIT_NOTE_ISSUED:
    case FOLIO_EV_PAYMENT_RECEIVED:
    case FOLIO_EV_ALLOCATION_MADE:
    case FOLIO_EV_REFUND_ISSUED:
    case FOLIO_EV_CREDIT_HOLD_PLACED:
    case FOLIO_EV_CREDIT_HOLD_RELEASED: return 1;
    default: return 0;
    }
}

/* The stored card leaves the fields the customer's sums hold at 0. */
static void clear_sums(folio_dir_rec *r) {
    r->version = 0;
    r->documents = 0;
    r->balance = 0;
    r->credit_holds = 0;
}

/* Values read from LMDB are valid only until the next write in the transaction, so the
 * new card is encoded into scratch before any index is written, and the indexes are
 * maintained from that copy (and from a copy of the old name). */
static int directory_apply(folio_proj_txn *t, const folio_event *e) {
    folio_dir_rec rec;
    uint8_t key[9], *buf, old_name[FOLIO_NAME_BYTES_MAX * 2];
    size_t cap, n;
    const void *cur;
    size_t cur_n;
    int rc, applies;
    if (e->type == FOLIO_EV_LEDGER_CONFIGURED) return settings_apply(t, e);
    key[0] = FOLIO_DIR_CARD;
    folio__put_be64(key + 1, e->stream);
    rc = folio_proj__get(&cur, &cur_n, t, key, sizeof key);
    /* a card that is not deleted (head field 40: the deletion seq) */
    const int live = rc == FOLIO_OK && cur_n >= CARD_HEAD_BYTES &&
                     folio__get_le64((const uint8_t *)cur + 40) == 0;
    if (live && sums_only(e->type)) return FOLIO_OK; /* nothing of the card changes */
    if (live && e->type == FOLIO_EV_CUSTOMER_CURRENCY_SET) {
        /* only the head changes: rewrite it, copy the map's bytes */
        if ((rc = decode_head(&rec, cur, cur_n)) < 0 ||
            (rc = folio_directory__fold(&rec, e, &applies)) < 0)
            return rc;
        if (!applies) return FOLIO_OK; /* a card without an id: ignored, as below */
        clear_sums(&rec);
        folio_proj__scratch(&buf, &cap, t);
        if (cur_n > cap) return folio_proj__fail(FOLIO_ELIMIT, "customer card is too large");
        if ((rc = encode_head(buf, &rec)) < 0) return rc;
        memcpy(buf + CARD_HEAD_BYTES, (const uint8_t *)cur + CARD_HEAD_BYTES,
               cur_n - CARD_HEAD_BYTES);
        return folio_proj__put(t, key, sizeof key, buf, cur_n);
    }
    if (rc == FOLIO_ENOTFOUND) {
        if (e->type != FOLIO_EV_CUSTOMER_CREATED) return FOLIO_OK; /* not a customer stream */
        memset(&rec, 0, offsetof(folio_dir_rec, contacts));
    } else if (rc < 0) {
        return rc;
    } else if ((rc = folio_directory__decode(&rec, cur, cur_n)) < 0) {
        return rc;
    }
    const uint64_t was_deleted = rec.deleted_seq;
    const folio_dstr was_named = rec.name, had_xid = rec.external_id;
    uint8_t old_xid[FOLIO_FIELD_BYTES_MAX];
    if (was_named.n > sizeof old_name || had_xid.n > sizeof old_xid)
        return folio_proj__fail(FOLIO_ECORRUPT, "customer card holds an overlong name or id");
    folio_dstr old = {was_named.s ? (const char *)old_name : NULL, was_named.n};
    folio_dstr oxid = {had_xid.s ? (const char *)old_xid : NULL, had_xid.n};
    if (was_named.s) memcpy(old_name, was_named.s, was_named.n);
    if (had_xid.s) memcpy(old_xid, had_xid.s, had_xid.n);

    if ((rc = folio_directory__fold(&rec, e, &applies)) < 0) return rc;
    if (!applies) return FOLIO_OK;
    clear_sums(&rec);
    folio_proj__scratch(&buf, &cap, t);
    if ((rc = folio_directory__encode(&n, buf, cap, &rec)) < 0) return rc;

    int created = e->type == FOLIO_EV_CUSTOMER_CREATED;
    int renamed = !created && !folio_dstr_same(old, rec.name) && rec.deleted_seq == 0;
    int deleted = was_deleted == 0 && rec.deleted_seq != 0;
    int new_xid = !folio_dstr_same(oxid, rec.external_id) && rec.deleted_seq == 0;
    if (created || renamed || deleted || new_xid) {
        if ((rc = folio_directory__decode(&rec, buf, n)) < 0) return rc; /* points into buf */
        if (created && ((rc = ref_put_new(t, rec.ref, rec.id)) < 0 ||
                        (rc = index_put_new(t, FOLIO_DIR_NAME, rec.name, rec.id, "name")) < 0))
            return rc;
        if (new_xid && ((oxid.s && (rc = index_del(t, FOLIO_DIR_EXTERNAL, oxid)) < 0) ||
                        (rec.external_id.s &&
                         (rc = index_put_new(t, FOLIO_DIR_EXTERNAL, rec.external_id, rec.id,
                                             "external id")) < 0)))
            return rc;
        if (deleted && oxid.s && (rc = index_del(t, FOLIO_DIR_EXTERNAL, oxid)) < 0) return rc;
        if (renamed && ((rc = index_del(t, FOLIO_DIR_NAME, old)) < 0 ||
                        (rc = index_put_new(t, FOLIO_DIR_NAME, rec.name, rec.id, "name")) < 0))
            return rc;
        if (deleted) {
            uint8_t dkey[9], val[8];
            if ((rc = index_del(t, FOLIO_DIR_NAME, old)) < 0) return rc;
            dkey[0] = FOLIO_DIR_DELETED;
            folio__put_be64(dkey + 1, rec.deleted_seq);
            folio__put_be64(val, rec.id);
            if ((rc = folio_proj__put(t, dkey, sizeof dkey, val, sizeof val)) < 0) return rc;
        }
    }
    return folio_proj__put(t, key, sizeof key, buf, n);
}

/* ---------------------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------------------- */

struct sums_arg {
    uint64_t id;
    folio_customer_sums sums;
};
static int read_sums(folio_proj_txn *other, void *arg) {
    struct sums_arg *a = arg;
    return folio_receivables__sums(&a->sums, other, a->id);
}

int folio_directory__get(folio_dir_rec *r, folio_proj_txn *t, uint64_t id) {
    uint8_t key[9];
    const void *cur;
    size_t n;
    struct sums_arg a = {0};
    key[0] = FOLIO_DIR_CARD;
    folio__put_be64(key + 1, id);
    int rc = folio_proj__get(&cur, &n, t, key, sizeof key);
    if (rc < 0) return rc;
    if ((rc = folio_directory__decode(r, cur, n)) < 0) return rc;
    /* the fields a customer's documents and events add up to */
    a.id = id;
    rc = folio_proj__with(t, "receivables", read_sums, &a);
    folio_customer_sums sums = a.sums;
    if (rc == FOLIO_ENOTFOUND)
        return folio_proj__fail(FOLIO_ECORRUPT, "customer %llu has a card but no sums",
                                (unsigned long long)id);
    if (rc < 0) return rc;
    r->version = sums.version;
    r->documents = sums.documents;
    r->balance = sums.balance;
    r->credit_holds = sums.holds;
    return FOLIO_OK;
}

int folio_directory__id_by_ref(uint64_t *id, folio_proj_txn *t, const char *ref, size_t n) {
    if (n > FOLIO_REF_BYTES_MAX) return FOLIO_ENOTFOUND;
    return ref_owner(id, t, (folio_dstr){ref, (uint32_t)n}, 0);
}

int folio_directory__ref_owner(uint64_t *id, folio_proj_txn *t, const char *ref, size_t n,
                               uint64_t creating) {
    if (n > FOLIO_REF_BYTES_MAX) return FOLIO_ENOTFOUND;
    return ref_owner(id, t, (folio_dstr){ref, (uint32_t)n}, creating);
}

int folio_directory__id_by_name(uint64_t *id, folio_proj_txn *t, const char *name, size_t n) {
    return lookup(id, t, FOLIO_DIR_NAME, name, n);
}

int folio_directory__id_by_external_id(uint64_t *id, folio_proj_txn *t, const char *xid, size_t n) {
    return lookup(id, t, FOLIO_DIR_EXTERNAL, xid, n);
}

int folio_directory__settings_raw(const void **bytes_out, size_t *n_out, folio_proj_txn *t) {
    int rc = folio_proj__get(bytes_out, n_out, t, "s", 1);
    if (rc == FOLIO_ENOTFOUND) {
        *bytes_out = NULL;
        *n_out = 0;
        rc = FOLIO_OK;
    }
    return rc;
}

int folio_directory__settings(folio_settings *out, folio_proj_txn *t) {
    const void *cur;
    size_t n;
    int rc = folio_directory__settings_raw(&cur, &n, t);
    if (rc < 0) return rc;
    return folio_directory__settings_decode(out, cur, n);
}

int folio_directory__settings_decode(folio_settings *out, const void *cur, size_t n) {
    folio_mpr m;
    memset(out, 0, sizeof *out);
    strcpy(out->base_currency, "USD");
    strcpy(out->ref_prefix, "CUST-");
    strcpy(out->credit_control, "none");
    strcpy(out->on_hold_policy, "allow-nothing");
    if (!cur) return FOLIO_OK; /* never configured: the defaults */
    if (folio_mpr__open(&m, cur, n) < 0)
        return folio_proj__fail(FOLIO_ECORRUPT, "settings record is malformed");
    struct { const char *key; char *dst; size_t cap; } f[] = {
        {"base_currency", out->base_currency, sizeof out->base_currency},
        {"ref_prefix", out->ref_prefix, sizeof out->ref_prefix},
        {"credit_control", out->credit_control, sizeof out->credit_control},
        {"on_hold_policy", out->on_hold_policy, sizeof out->on_hold_policy}};
    for (size_t i = 0; i < 4; i++) {
        folio_dstr v;
        if (pl_str(&v, &m, f[i].key, 1, "settings") < 0 || v.n >= f[i].cap)
            return folio_proj__fail(FOLIO_ECORRUPT, "settings record is malformed");
        memcpy(f[i].dst, v.s, v.n);
        f[i].dst[v.n] = '\0';
    }
    out->configured = 1;
    return FOLIO_OK;
}

int folio_directory__any_customer(int *yes, folio_proj_txn *t) {
    folio_proj_iter it;
    const void *k, *v;
    size_t kn, vn;
    uint8_t prefix = FOLIO_DIR_CARD;
    folio_proj__iter_init(&it, t, &prefix, 1);
    int rc = folio_proj__iter_next(&it, &k, &kn, &v, &vn);
    folio_proj__iter_close(&it);
    if (rc < 0 && rc != FOLIO_ITEROVER) return rc;
    *yes = rc == FOLIO_OK;
    return FOLIO_OK;
}

const folio_projection folio_directory_projection = {
    .name = "directory",
    .version = 5, /* 2: the external id index; 3: the card's fixed head; 4: sums moved out;
                   * 5: natural refs without index records */
    .apply = directory_apply,
    .reset = NULL,
};
