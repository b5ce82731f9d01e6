/*
 * engine/customer.c - the customer master: the commands that enforce SPEC section 3 (its
 * queries are in engine/customer_query.c).
 * Every command is a folio_cmd (engine/command.h): it reads the directory projection, checks
 * its rules, stages events; nothing is appended unless every rule holds.
 * Rejections by a rule are FOLIO_ERULE with a message that names the rule; malformed input
 * is FOLIO_EINVAL; a missing customer is FOLIO_ENOTFOUND.
 */
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "../projections/directory.h"
#include "command.h"
#include "documents.h"

/* ---------------------------------------------------------------------------------------
 * Input checks
 * ------------------------------------------------------------------------------------- */

static int is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* White space a name is trimmed of: ASCII's, Unicode's (no-break, ideographic, the other
 * Zs, line and paragraph separators) and the zero-width space and no-break space. */
static int trims(utf8proc_int32_t cp) {
    if (cp < 0x80) return is_space((char)cp);
    if (cp == 0x200B || cp == 0xFEFF) return 1;
    const utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

void folio_customer__trim_name(const char **s, size_t *n) {
    const utf8proc_uint8_t *b = (const utf8proc_uint8_t *)*s;
    size_t from = 0, to = *n;
    utf8proc_int32_t cp;
    while (from < to) {
        utf8proc_ssize_t k = utf8proc_iterate(b + from, (utf8proc_ssize_t)(to - from), &cp);
        if (k <= 0 || !trims(cp)) break;
        from += (size_t)k;
    }
    while (to > from) {
        size_t at = to - 1; /* the last code point's first byte */
        while (at > from && to - at < 4 && (b[at] & 0xC0) == 0x80) at--;
        utf8proc_ssize_t k = utf8proc_iterate(b + at, (utf8proc_ssize_t)(to - at), &cp);
        if (k <= 0 || (size_t)k != to - at || !trims(cp)) break;
        to = at;
    }
    *s += from;
    *n = to - from;
}

/* The name of SPEC rule 1: trimmed, non-empty, valid UTF-8, at most 200 bytes, and (so that
 * it reads the same everywhere it is printed) without control characters. Blank is what
 * shows nothing: white space (Unicode's too) and format characters alone. */
static int check_name(folio_dstr *out, const char *name) {
    if (!name) return folio_error__set(FOLIO_ERULE, "name is required (rule 1)");
    size_t n = strlen(name);
    folio_customer__trim_name(&name, &n);
    if (n == 0) return folio_error__set(FOLIO_ERULE, "name is required and cannot be blank (rule 1)");
    if (n > FOLIO_NAME_BYTES_MAX)
        return folio_error__set(FOLIO_ERULE, "name is %zu bytes, more than %u (rule 1)", n,
                                FOLIO_NAME_BYTES_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return folio_error__set(FOLIO_ERULE, "name holds a control character (rule 1)");
    utf8proc_int32_t cp;
    int visible = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)name + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) return folio_error__set(FOLIO_ERULE, "name is not valid UTF-8 (rule 1)");
        if (cp >= 0x80 && cp <= 0x9f)
            return folio_error__set(FOLIO_ERULE, "name holds a control character (rule 1)");
        const utf8proc_category_t cat = utf8proc_category(cp);
        visible |= !trims(cp) && cat != UTF8PROC_CATEGORY_CF && cat != UTF8PROC_CATEGORY_MN &&
                   cat != UTF8PROC_CATEGORY_ME;
        i += (size_t)k;
    }
    if (!visible)
        return folio_error__set(FOLIO_ERULE, "name is required and cannot be blank (rule 1): it "
                                             "shows nothing");
    out->s = name;
    out->n = (uint32_t)n;
    return FOLIO_OK;
}

/* An optional text field: NULL or "" is absent; else UTF-8, no control characters, except
 * line breaks (LF, CR) where `lines` (a street: "1 Main St" LF "Floor 2"). */
static int check_text_field(folio_dstr *out, const char *v, size_t max, const char *what,
                            int lines) {
    out->s = NULL;
    out->n = 0;
    if (!v || !*v) return FOLIO_OK;
    int rc = folio_codec__check_text(v, max, what, 1);
    if (rc == FOLIO_ELIMIT) rc = folio_error__set(FOLIO_EINVAL, "%s", folio_errmsg());
    if (rc < 0) return rc;
    int text = 0;
    for (const char *p = v; *p; p++) {
        if (((unsigned char)*p < 0x20 || *p == 0x7f) && !(lines && (*p == '\n' || *p == '\r')))
            return folio_error__set(FOLIO_EINVAL, "%s holds a control character%s", what,
                                    lines ? " other than a line break" : "");
        text |= *p != '\n' && *p != '\r' && *p != ' ';
    }
    if (lines && !text)
        return folio_error__set(FOLIO_EINVAL, "%s holds only line breaks and spaces", what);
    out->s = v;
    out->n = (uint32_t)strlen(v);
    return FOLIO_OK;
}

static int check_field(folio_dstr *out, const char *v, size_t max, const char *what) {
    return check_text_field(out, v, max, what, 0);
}

/* An address field: the street may run over several lines. */
static int check_addr_field(folio_dstr *out, const char *v, int f, const char *what) {
    return check_text_field(out, v, FOLIO_FIELD_BYTES_MAX, what, f == FOLIO_ADDR_STREET);
}

static int check_ref_text(const char *ref, size_t max, const char *what) {
    size_t n = strlen(ref);
    if (n == 0 || n > max)
        return folio_error__set(FOLIO_EINVAL, "%s must be 1 to %zu characters", what, max);
    for (const char *p = ref; *p; p++) {
        char ch = *p;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == '/'))
            return folio_error__set(FOLIO_EINVAL,
                                    "%s '%s' may hold only letters, digits and - _ . /", what, ref);
    }
    return FOLIO_OK;
}

static int one_of(const char *v, const char *const *allowed) {
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0) return 1;
    return 0;
}

static const char *const TYPES[] = {"person", "business", NULL};
static const char *const STATUSES[] = {"prospect", "active", "hold", "inactive", "deleted", NULL};
static const char *const CREDIT_CONTROLS[] = {"none", "limit", "past-due", "both", NULL};
static const char *const HOLD_POLICIES[] = {"allow-nothing", "pending-orders", "cash-sales",
                                            "pending-orders-and-cash-sales", NULL};

/* SPEC rule 4: the allowed status changes. */
static int transition_allowed(const char *from, const char *to) {
    static const struct { const char *from, *to; } allowed[] = {
        {"prospect", "active"}, {"prospect", "hold"}, {"prospect", "inactive"},
        {"prospect", "deleted"}, {"active", "hold"}, {"active", "inactive"},
        {"active", "deleted"}, {"hold", "active"}, {"hold", "inactive"},
        {"inactive", "active"}, {"inactive", "deleted"}};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(allowed[i].from, from) == 0 && strcmp(allowed[i].to, to) == 0) return 1;
    return 0;
}

/* A credit limit as given: a non-negative amount in the currency, normalised ("5000" ->
 * "5000.00") into buf. "" clears it (out->s NULL). */
static int check_credit_limit(folio_dstr *out, char *buf, const char *text, const char *currency) {
    int64_t minor;
    out->s = NULL;
    out->n = 0;
    if (!text || !*text) return FOLIO_OK;
    int rc = folio_money_parse(&minor, text, currency);
    if (rc < 0) return folio_error__set(FOLIO_EINVAL, "credit limit: %s", folio_errmsg());
    if (minor < 0) return folio_error__set(FOLIO_EINVAL, "credit limit cannot be negative");
    rc = folio_money_format(buf, FOLIO_MONEY_TEXT_MAX, minor, currency);
    if (rc < 0) return rc;
    out->s = buf;
    out->n = (uint32_t)strlen(buf);
    return FOLIO_OK;
}

static void cstr(char *dst, size_t cap, folio_dstr s) {
    size_t n = s.s ? (s.n < cap ? s.n : cap - 1) : 0;
    if (n) memcpy(dst, s.s, n);
    dst[n] = '\0';
}




/* Rule 7: a deleted or merged-away customer takes no write (FOLIO_ERULE saying which). */
static int refuse_gone(const folio_dir_rec *card, const char *ref) {
    if (card->merged_into_ref.s)
        return folio_error__set(FOLIO_ERULE, "%s was merged into %.*s and cannot change (rule 7)",
                                ref, (int)card->merged_into_ref.n, card->merged_into_ref.s);
    if (card->deleted_seq)
        return folio_error__set(FOLIO_ERULE, "%s was deleted and cannot change (rule 7)", ref);
    return FOLIO_OK;
}

/* The customer a write names: it must exist (FOLIO_ENOTFOUND) and not be deleted (a write to
 * a deleted or merged-away customer is refused by rule 7: FOLIO_ERULE). */
static int resolve(folio_dir_rec *card, folio_cmd *c, const char *ref) {
    uint64_t id;
    if (!ref || !*ref) return folio_error__set(FOLIO_EINVAL, "a customer ref is required");
    int rc = folio_directory__id_by_ref(&id, &c->dir, ref, strlen(ref));
    if (rc == FOLIO_ENOTFOUND) return folio_error__set(FOLIO_ENOTFOUND, "no customer %s", ref);
    if (rc == FOLIO_OK) rc = folio_directory__get(card, &c->dir, id);
    if (rc < 0) return rc;
    return refuse_gone(card, ref);
}

static void request_init(folio_mpw *w, uint8_t buf[FOLIO_REQUEST_STACK_BYTES],
                         const char *command, uint32_t args) {
    folio_mpw__init_spill(w, buf, FOLIO_REQUEST_STACK_BYTES);
    folio_mpw__array(w, args + 1);
    folio_mpw__str(w, command);
}

static void request_addr(folio_mpw *w, const folio_address *a) {
    folio_mpw__array(w, FOLIO_ADDR_FIELDS);
    folio_mpw__str(w, a->street);
    folio_mpw__str(w, a->city);
    folio_mpw__str(w, a->region);
    folio_mpw__str(w, a->postcode);
    folio_mpw__str(w, a->country);
}

/* The fields of a new customer, in the order a create's and an upsert's requests hash them. */
static void request_customer(folio_mpw *w, const folio_customer_new *c) {
    folio_mpw__str(w, c->name);
    folio_mpw__str(w, c->type);
    folio_mpw__str(w, c->status);
    folio_mpw__str(w, c->currency);
    folio_mpw__str(w, c->credit_limit);
    folio_mpw__str(w, c->owner);
    folio_mpw__str(w, c->ref);
    folio_mpw__str(w, c->external_id);
    request_addr(w, &c->billing);
    request_addr(w, &c->shipping);
}

static const char *addr_in(const folio_address *a, int f) {
    switch (f) {
    case FOLIO_ADDR_STREET: return a->street;
    case FOLIO_ADDR_CITY: return a->city;
    case FOLIO_ADDR_REGION: return a->region;
    case FOLIO_ADDR_POSTCODE: return a->postcode;
    default: return a->country;
    }
}

static int run_simple(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                      folio_mpw *req, int (*fn)(folio_cmd *, void *), void *arg) {
    int rc = folio_cmd__run(out, db, w, req, fn, arg);
    folio_mpw__free(req);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Ledger settings
 * ------------------------------------------------------------------------------------- */

static int settings_of(folio_settings *s, folio_cmd *c) { return folio_cmd__settings(s, c); }

/* The defaults, recorded as a ledger.configured event the first time a ledger is used. */
static void stage_default_settings(folio_cmd *c, const folio_settings *s) {
    folio_mpw *p = folio_cmd__stage(c, 0, FOLIO_EV_LEDGER_CONFIGURED);
    folio_mpw__map(p, 4);
    folio_mpw__kstr(p, "base_currency", s->base_currency);
    folio_mpw__kstr(p, "ref_prefix", s->ref_prefix);
    folio_mpw__kstr(p, "credit_control", s->credit_control);
    folio_mpw__kstr(p, "on_hold_policy", s->on_hold_policy);
}

static int init_fn(folio_cmd *c, void *arg) {
    const folio_settings_new *in = arg;
    folio_settings cur;
    int rc, any_customer;
    if ((rc = folio_cmd__target(c, 0, "the ledger's settings stream")) < 0) return rc; /* stream 0 */
    if ((rc = settings_of(&cur, c)) < 0) return rc;
    if ((rc = folio_directory__any_customer(&any_customer, &c->dir)) < 0) return rc;
    const struct { const char *key, *value, *current; int fixed; } f[] = {
        {"base_currency", in->base_currency, cur.base_currency, 1},
        {"ref_prefix", in->ref_prefix, cur.ref_prefix, 1},
        {"credit_control", in->credit_control, cur.credit_control, 0},
        {"on_hold_policy", in->on_hold_policy, cur.on_hold_policy, 0}};
    unsigned changed = 0;
    for (int i = 0; i < 4; i++) {
        int differs = f[i].value && strcmp(f[i].value, f[i].current) != 0;
        if (differs && f[i].fixed && any_customer)
            return folio_error__set(FOLIO_ERULE,
                                    "%s is %s and is fixed once the first customer exists",
                                    f[i].key, f[i].current);
        changed += differs;
    }
    if (changed == 0 && cur.configured) return FOLIO_OK; /* nothing to change */
    /* Every ledger.configured carries all four settings (SPEC section 2), the ones not
     * given as they are: each event reads whole on its own. */
    folio_mpw *p = folio_cmd__stage(c, 0, FOLIO_EV_LEDGER_CONFIGURED);
    folio_mpw__map(p, 4);
    for (int i = 0; i < 4; i++) folio_mpw__kstr(p, f[i].key, f[i].value ? f[i].value : f[i].current);
    /* The credit holds in force follow the new credit control in the same transaction: a
     * hold no rule can release any more is released, and a limit newly checked holds the
     * customers already above it (engine/documents.c). */
    folio_settings to = cur;
    if (in->credit_control) {
        FOLIO_ASSERT(strlen(in->credit_control) < sizeof to.credit_control); /* one_of: known */
        strcpy(to.credit_control, in->credit_control);
    }
    return folio_docs__settings_holds(c, &cur, &to);
}

int folio_ledger_init(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                      const folio_settings_new *s) {
    int rc;
    unsigned exp;
    if (!s) return folio_error__set(FOLIO_EINVAL, "init: no settings given");
    if (s->base_currency && folio_currency_exponent(&exp, s->base_currency) < 0)
        return folio_error__set(FOLIO_EINVAL, "base currency '%s' is not an ISO 4217 code",
                                s->base_currency);
    if (s->ref_prefix && (rc = check_ref_text(s->ref_prefix, 40, "ref prefix")) < 0) return rc;
    if (s->credit_control && !one_of(s->credit_control, CREDIT_CONTROLS))
        return folio_error__set(FOLIO_EINVAL,
                                "credit control '%s' is not none, limit, past-due or both",
                                s->credit_control);
    if (s->on_hold_policy && !one_of(s->on_hold_policy, HOLD_POLICIES))
        return folio_error__set(FOLIO_EINVAL,
                                "on-hold policy '%s' is not allow-nothing, pending-orders, "
                                "cash-sales or pending-orders-and-cash-sales",
                                s->on_hold_policy);
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "init", 4);
    folio_mpw__str(&req, s->base_currency);
    folio_mpw__str(&req, s->ref_prefix);
    folio_mpw__str(&req, s->credit_control);
    folio_mpw__str(&req, s->on_hold_policy);
    return run_simple(out, db, w, &req, init_fn, (void *)s);
}

int folio_settings_get(folio_settings *out, folio_db *db) {
    folio_txn t = {0};
    folio_proj_txn dir;
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "settings: NULL argument");
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) return rc;
    folio_projection__txn(&dir, &t, "directory", NULL);
    rc = folio_directory__settings(out, &dir);
    folio_store__read_end(&t);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Create
 * ------------------------------------------------------------------------------------- */

static void put_addr_map(folio_mpw *p, const folio_dstr *f) {
    folio_mpw__map(p, FOLIO_ADDR_FIELDS);
    for (int i = 0; i < FOLIO_ADDR_FIELDS; i++) {
        folio_mpw__str(p, folio_addr_field_names[i]);
        folio_mpw__dstr(p, f[i]);
    }
}

typedef struct {
    const folio_customer_new *customer;
    const folio_contact_new *contact; /* with the creation, or NULL */
    folio_on_existing on_existing;
} upsert_args;

static void put_contact(folio_mpw *p, uint64_t id, folio_dstr name, folio_dstr email,
                        folio_dstr phone, folio_dstr role);

static int create_fn(folio_cmd *c, void *arg) {
    const folio_customer_new *in = arg;
    folio_settings set;
    folio_dstr name, owner, xid, limit, bill[FOLIO_ADDR_FIELDS], ship[FOLIO_ADDR_FIELDS];
    char limit_buf[FOLIO_MONEY_TEXT_MAX], ref[FOLIO_REF_BYTES_MAX + 1];
    uint64_t id, other;
    unsigned exp;
    int rc;
    if ((rc = settings_of(&set, c)) < 0) return rc;
    if ((rc = check_name(&name, in->name)) < 0) return rc;
    const char *type = in->type ? in->type : "business";
    const char *status = in->status ? in->status : "prospect";
    const char *currency = in->currency ? in->currency : set.base_currency;
    if (!one_of(type, TYPES))
        return folio_error__set(FOLIO_EINVAL, "type '%s' is not person or business", type);
    if (strcmp(status, "prospect") != 0 && strcmp(status, "active") != 0)
        return folio_error__set(one_of(status, STATUSES) ? FOLIO_ERULE : FOLIO_EINVAL,
                                "a new customer starts as prospect or active, not '%s' (rule 4)",
                                status);
    if (folio_currency_exponent(&exp, currency) < 0)
        return folio_error__set(FOLIO_EINVAL, "currency '%s' is not an ISO 4217 code", currency);
    if ((rc = check_credit_limit(&limit, limit_buf, in->credit_limit, currency)) < 0 ||
        (rc = check_field(&owner, in->owner, FOLIO_FIELD_BYTES_MAX, "owner")) < 0 ||
        (rc = check_field(&xid, in->external_id, FOLIO_FIELD_BYTES_MAX, "external id")) < 0)
        return rc;
    for (int i = 0; i < FOLIO_ADDR_FIELDS; i++) {
        if ((rc = check_addr_field(&bill[i], addr_in(&in->billing, i), i, "billing address")) < 0 ||
            (rc = check_addr_field(&ship[i], addr_in(&in->shipping, i), i, "shipping address")) < 0)
            return rc;
    }
    rc = folio_directory__id_by_name(&other, &c->dir, name.s, name.n);
    if (rc == FOLIO_OK) {
        folio_dir_rec *o = c->cards[FOLIO_CMD_CARD_OTHER];
        char oref[FOLIO_REF_BYTES_MAX + 1] = "?";
        if (folio_directory__get(o, &c->dir, other) == FOLIO_OK) cstr(oref, sizeof oref, o->ref);
        return folio_error__set(FOLIO_ERULE, "name '%.*s' is already used by %s (rule 2)",
                                (int)name.n, name.s, oref);
    }
    if (rc != FOLIO_ENOTFOUND) return rc;

    if (xid.s) {
        rc = folio_directory__id_by_external_id(&other, &c->dir, xid.s, xid.n);
        if (rc == FOLIO_OK)
            return folio_error__set(FOLIO_ERULE, "external id '%s' is already used by another "
                                                 "customer",
                                    in->external_id);
        if (rc != FOLIO_ENOTFOUND) return rc;
    }
    if ((rc = folio_log__max_stream(&id, c->txn)) < 0) return rc;
    id++;
    if (in->ref) {
        if ((rc = check_ref_text(in->ref, FOLIO_REF_BYTES_MAX, "ref")) < 0) return rc;
        rc = folio_directory__ref_owner(&other, &c->dir, in->ref, strlen(in->ref), id);
        if (rc == FOLIO_OK)
            return folio_error__set(FOLIO_ERULE,
                                    "ref %s is already taken (refs are never reused)", in->ref);
        if (rc != FOLIO_ENOTFOUND) return rc;
        memcpy(ref, in->ref, strlen(in->ref) + 1); /* check_ref_text: fits */
    } else {
        /* The prefix and a zero-padded counter, starting at the id; a ref someone took by
         * hand is skipped. The first is the customer's natural ref (unless the prefix ends
         * in a digit), usually known free without a lookup (projections/directory.c). */
        for (uint64_t n = id, tries = 0;; n++, tries++) {
            if (tries > 1000000) return folio_error__set(FOLIO_ERROR, "no free ref found");
            char num[24];
            const size_t num_bytes = folio__put_decimal(num, n, 6); /* "%06llu", no stdio */
            const size_t prefix_bytes = strlen(set.ref_prefix);
            num[num_bytes] = '\0';
            if (prefix_bytes + num_bytes > FOLIO_REF_BYTES_MAX)
                return folio_error__set(FOLIO_ELIMIT, "generated ref would exceed %u bytes",
                                        FOLIO_REF_BYTES_MAX);
            memcpy(ref, set.ref_prefix, prefix_bytes);
            memcpy(ref + prefix_bytes, num, num_bytes + 1);
            rc = folio_directory__ref_owner(&other, &c->dir, ref, prefix_bytes + num_bytes, id);
            if (rc == FOLIO_ENOTFOUND) break;
            if (rc < 0) return rc;
        }
    }
    if ((rc = folio_cmd__target(c, id, ref)) < 0) return rc;
    if (!set.configured) stage_default_settings(c, &set);
    folio_mpw *p = folio_cmd__stage(c, id, FOLIO_EV_CUSTOMER_CREATED);
    folio_mpw__map(p, 8);
    folio_mpw__kstr(p, "ref", ref);
    folio_mpw__str(p, "name");
    folio_mpw__dstr(p, name);
    folio_mpw__kstr(p, "type", type);
    folio_mpw__kstr(p, "status", status);
    folio_mpw__str(p, "owner");
    folio_mpw__dstr(p, owner);
    folio_mpw__str(p, "credit_limit");
    folio_mpw__dstr(p, limit);
    folio_mpw__str(p, "external_id");
    folio_mpw__dstr(p, xid);
    folio_mpw__str(p, "addresses");
    folio_mpw__map(p, 2);
    folio_mpw__str(p, "billing");
    put_addr_map(p, bill);
    folio_mpw__str(p, "shipping");
    put_addr_map(p, ship);
    p = folio_cmd__stage(c, id, FOLIO_EV_CUSTOMER_CURRENCY_SET);
    folio_mpw__map(p, 1);
    folio_mpw__kstr(p, "currency", currency);
    return FOLIO_OK;
}

int folio_customer_create(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const folio_customer_new *c) {
    if (!c) return folio_error__set(FOLIO_EINVAL, "create: no customer given");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    if (w && w->idempotency_key) { /* hashed only for a key (as run_document) */
        request_init(&req, req_buf, "create", 10);
        request_customer(&req, c);
    } else {
        folio_mpw__init_spill(&req, req_buf, sizeof req_buf);
    }
    return run_simple(out, db, w, &req, create_fn, (void *)c);
}

/* ---------------------------------------------------------------------------------------
 * Update, status, owner, contacts, notes
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const char *ref;
    const void *in;
    uint64_t number;
} cmd_args;

typedef struct {
    const char *field;
    folio_dstr old_v, new_v;
} change;

static int update_fn(folio_cmd *c, void *arg) {
    const cmd_args *a = arg;
    const folio_customer_changes *in = a->in;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    change ch[4 + 2 * FOLIO_ADDR_FIELDS];
    char names[2][FOLIO_ADDR_FIELDS][20];
    char cur[4], limit_buf[FOLIO_MONEY_TEXT_MAX];
    folio_dstr new_limit = {0};
    int limit_changed = 0;
    size_t n = 0;
    int rc;
    if ((rc = resolve(card, c, a->ref)) < 0) goto done;
    if ((rc = folio_cmd__target(c, card->id, a->ref)) < 0) goto done;
    cstr(cur, sizeof cur, card->currency);
    if (in->currency) {
        rc = folio_error__set(FOLIO_ERULE, "currency of %s is %s and cannot be changed (rule 3)",
                              a->ref, cur);
        goto done;
    }
    folio_dstr v;
    if (in->name) {
        uint64_t other;
        if ((rc = check_name(&v, in->name)) < 0) goto done;
        if (!folio_dstr_same(v, card->name)) {
            rc = folio_directory__id_by_name(&other, &c->dir, v.s, v.n);
            if (rc == FOLIO_OK) {
                char oref[FOLIO_REF_BYTES_MAX + 1] = "another customer";
                if (folio_directory__get(card, &c->dir, other) == FOLIO_OK)
                    cstr(oref, sizeof oref, card->ref);
                rc = folio_error__set(FOLIO_ERULE, "name '%.*s' is already used by %s (rule 2)",
                                      (int)v.n, v.s, oref);
                goto done;
            }
            if (rc != FOLIO_ENOTFOUND) goto done;
            ch[n++] = (change){"name", card->name, v};
        }
    }
    if (in->type) {
        if (!one_of(in->type, TYPES)) {
            rc = folio_error__set(FOLIO_EINVAL, "type '%s' is not person or business", in->type);
            goto done;
        }
        v = (folio_dstr){in->type, (uint32_t)strlen(in->type)};
        if (!folio_dstr_same(v, card->type)) ch[n++] = (change){"type", card->type, v};
    }
    if (in->credit_limit) {
        if ((rc = check_credit_limit(&v, limit_buf, in->credit_limit, cur)) < 0) goto done;
        if (!folio_dstr_same(v, card->credit_limit)) {
            ch[n++] = (change){"credit_limit", card->credit_limit, v};
            new_limit = v;
            limit_changed = 1;
        }
    }
    if (in->external_id) {
        uint64_t other;
        if ((rc = check_field(&v, in->external_id, FOLIO_FIELD_BYTES_MAX, "external id")) < 0)
            goto done;
        if (!folio_dstr_same(v, card->external_id)) {
            if (v.s) {
                rc = folio_directory__id_by_external_id(&other, &c->dir, v.s, v.n);
                if (rc == FOLIO_OK)
                    rc = folio_error__set(FOLIO_ERULE, "external id '%s' is already used by "
                                                       "another customer",
                                          in->external_id);
                if (rc != FOLIO_ENOTFOUND) goto done;
                rc = FOLIO_OK;
            }
            ch[n++] = (change){"external_id", card->external_id, v};
        }
    }
    for (int s = 0; s < 2; s++) {
        const folio_address *addr = s ? &in->shipping : &in->billing;
        folio_daddr *old_addr = s ? &card->shipping : &card->billing;
        for (int f = 0; f < FOLIO_ADDR_FIELDS; f++) {
            const char *given = addr_in(addr, f);
            if (!given) continue;
            if ((rc = check_addr_field(&v, given, f, s ? "shipping address" : "billing address")) < 0)
                goto done;
            if (folio_dstr_same(v, old_addr->f[f])) continue;
            snprintf(names[s][f], sizeof names[s][f], "%s.%s", s ? "shipping" : "billing",
                     folio_addr_field_names[f]);
            ch[n++] = (change){names[s][f], old_addr->f[f], v};
        }
    }
    if (n > 0) {
        folio_mpw *p = folio_cmd__stage(c, card->id, FOLIO_EV_CUSTOMER_UPDATED);
        folio_mpw__map(p, 1);
        folio_mpw__str(p, "changes");
        folio_mpw__map(p, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            folio_mpw__str(p, ch[i].field);
            folio_mpw__array(p, 2);
            folio_mpw__dstr(p, ch[i].old_v);
            folio_mpw__dstr(p, ch[i].new_v);
        }
    }
    rc = FOLIO_OK;
    if (limit_changed) { /* a new limit: credit control looks again at the same balance */
        folio_settings set;
        if ((rc = settings_of(&set, c)) == FOLIO_OK)
            rc = folio_docs__limit_check(c, card, new_limit, &set, card->balance);
    }
done:
    return rc;
}

int folio_customer_update(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const char *ref, const folio_customer_changes *ch) {
    if (!ch) return folio_error__set(FOLIO_EINVAL, "update: no changes given");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "update", 8);
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, ch->name);
    folio_mpw__str(&req, ch->type);
    folio_mpw__str(&req, ch->credit_limit);
    folio_mpw__str(&req, ch->external_id);
    folio_mpw__str(&req, ch->currency);
    request_addr(&req, &ch->billing);
    request_addr(&req, &ch->shipping);
    cmd_args a = {ref, ch, 0};
    return run_simple(out, db, w, &req, update_fn, &a);
}

static int status_fn(folio_cmd *c, void *arg) {
    const cmd_args *a = arg;
    const char *to = a->in;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    char from[16];
    int rc;
    if ((rc = resolve(card, c, a->ref)) < 0) goto done;
    if ((rc = folio_cmd__target(c, card->id, a->ref)) < 0) goto done;
    cstr(from, sizeof from, card->status);
    if (strcmp(from, to) == 0) goto done; /* the same status again: nothing to do */
    if (!transition_allowed(from, to)) {
        rc = folio_error__set(FOLIO_ERULE, "status of %s cannot change from %s to %s (rule 4)",
                              a->ref, from, to);
        goto done;
    }
    if (strcmp(to, "deleted") == 0 && card->documents > 0) {
        rc = folio_error__set(FOLIO_ERULE,
                              "%s has financial documents and cannot be deleted; merge it into "
                              "another customer instead (rule 5)",
                              a->ref);
        goto done;
    }
    folio_mpw *p = folio_cmd__stage(c, card->id, FOLIO_EV_CUSTOMER_STATUS_CHANGED);
    folio_mpw__map(p, 2);
    folio_mpw__kstr(p, "from", from);
    folio_mpw__kstr(p, "to", to);
done:
    return rc;
}

int folio_customer_set_status(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                              const char *ref, const char *status) {
    if (!status || !one_of(status, STATUSES))
        return folio_error__set(FOLIO_EINVAL,
                                "status '%s' is not prospect, active, hold, inactive or deleted",
                                status ? status : "");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "status", 2);
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, status);
    cmd_args a = {ref, status, 0};
    return run_simple(out, db, w, &req, status_fn, &a);
}

static int owner_fn(folio_cmd *c, void *arg) {
    const cmd_args *a = arg;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    folio_dstr to;
    int rc;
    if ((rc = resolve(card, c, a->ref)) < 0 || (rc = folio_cmd__target(c, card->id, a->ref)) < 0 ||
        (rc = check_field(&to, a->in, FOLIO_FIELD_BYTES_MAX, "owner")) < 0)
        goto done;
    if (!to.s) {
        rc = folio_error__set(FOLIO_EINVAL, "owner is required");
        goto done;
    }
    if (folio_dstr_same(to, card->owner)) goto done;
    folio_mpw *p = folio_cmd__stage(c, card->id, FOLIO_EV_CUSTOMER_OWNER_CHANGED);
    folio_mpw__map(p, 2);
    folio_mpw__str(p, "from");
    folio_mpw__dstr(p, card->owner);
    folio_mpw__str(p, "to");
    folio_mpw__dstr(p, to);
done:
    return rc;
}

int folio_customer_set_owner(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                             const char *ref, const char *owner) {
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "own", 2);
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, owner);
    cmd_args a = {ref, owner, 0};
    return run_simple(out, db, w, &req, owner_fn, &a);
}

static void put_contact(folio_mpw *p, uint64_t id, folio_dstr name, folio_dstr email,
                        folio_dstr phone, folio_dstr role) {
    folio_mpw__map(p, 5);
    folio_mpw__ku64(p, "id", id);
    folio_mpw__str(p, "name");
    folio_mpw__dstr(p, name);
    folio_mpw__str(p, "email");
    folio_mpw__dstr(p, email);
    folio_mpw__str(p, "phone");
    folio_mpw__dstr(p, phone);
    folio_mpw__str(p, "role");
    folio_mpw__dstr(p, role);
}

static int contact_add_fn(folio_cmd *c, void *arg) {
    const cmd_args *a = arg;
    const folio_contact_new *in = a->in;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    folio_dstr name, email, phone, role;
    int rc;
    if ((rc = resolve(card, c, a->ref)) < 0 || (rc = folio_cmd__target(c, card->id, a->ref)) < 0 ||
        (rc = check_field(&name, in->name, FOLIO_FIELD_BYTES_MAX, "contact name")) < 0 ||
        (rc = check_field(&email, in->email, FOLIO_FIELD_BYTES_MAX, "email")) < 0 ||
        (rc = check_field(&phone, in->phone, FOLIO_FIELD_BYTES_MAX, "phone")) < 0 ||
        (rc = check_field(&role, in->role, FOLIO_FIELD_BYTES_MAX, "role")) < 0)
        goto done;
    if (!name.s) {
        rc = folio_error__set(FOLIO_EINVAL, "a contact needs a name");
        goto done;
    }
    if (card->contact_count >= FOLIO_CONTACTS_MAX) {
        rc = folio_error__set(FOLIO_ELIMIT, "%s already has %u contacts, the most allowed",
                              a->ref, FOLIO_CONTACTS_MAX);
        goto done;
    }
    c->item_id = card->next_contact;
    put_contact(folio_cmd__stage(c, card->id, FOLIO_EV_CUSTOMER_CONTACT_ADDED), c->item_id, name,
                email, phone, role);
done:
    return rc;
}

int folio_contact_add(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                      const char *ref, const folio_contact_new *ct) {
    if (!ct) return folio_error__set(FOLIO_EINVAL, "contact add: no contact given");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "contact-add", 5);
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, ct->name);
    folio_mpw__str(&req, ct->email);
    folio_mpw__str(&req, ct->phone);
    folio_mpw__str(&req, ct->role);
    cmd_args a = {ref, ct, 0};
    return run_simple(out, db, w, &req, contact_add_fn, &a);
}

static int contact_remove_fn(folio_cmd *c, void *arg) {
    const cmd_args *a = arg;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    int rc;
    if ((rc = resolve(card, c, a->ref)) < 0 || (rc = folio_cmd__target(c, card->id, a->ref)) < 0)
        goto done;
    uint32_t i;
    for (i = 0; i < card->contact_count && card->contacts[i].id != a->number; i++) {}
    if (i == card->contact_count) {
        rc = folio_error__set(FOLIO_ENOTFOUND, "%s has no contact %llu", a->ref,
                              (unsigned long long)a->number);
        goto done;
    }
    const folio_dcontact *ct = &card->contacts[i];
    put_contact(folio_cmd__stage(c, card->id, FOLIO_EV_CUSTOMER_CONTACT_REMOVED), ct->id,
                ct->name, ct->email, ct->phone, ct->role);
    c->item_id = ct->id;
done:
    return rc;
}

int folio_contact_remove(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                         const char *ref, uint64_t contact_id) {
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "contact-remove", 2);
    folio_mpw__str(&req, ref);
    folio_mpw__u64(&req, contact_id);
    cmd_args a = {ref, NULL, contact_id};
    return run_simple(out, db, w, &req, contact_remove_fn, &a);
}

static int note_fn(folio_cmd *c, void *arg) {
    const cmd_args *a = arg;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    int rc;
    if ((rc = resolve(card, c, a->ref)) < 0 || (rc = folio_cmd__target(c, card->id, a->ref)) < 0)
        goto done;
    folio_mpw *p = folio_cmd__stage(c, card->id, FOLIO_EV_CUSTOMER_NOTE_ADDED);
    folio_mpw__map(p, 1);
    folio_mpw__kstr(p, "text", a->in);
done:
    return rc;
}

int folio_note_add(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                   const char *ref, const char *text) {
    int rc = folio_codec__check_text(text, FOLIO_NOTE_BYTES_MAX, "note", 1);
    if (rc == FOLIO_ELIMIT) rc = FOLIO_EINVAL;
    if (rc < 0) return rc;
    const char *p = text; /* blank: white space alone, Unicode's too, as a name (rule 1) */
    size_t n = strlen(text);
    folio_customer__trim_name(&p, &n);
    if (n == 0) return folio_error__set(FOLIO_EINVAL, "note is blank");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "note", 2);
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, text);
    cmd_args a = {ref, text, 0};
    return run_simple(out, db, w, &req, note_fn, &a);
}

/* ---------------------------------------------------------------------------------------
 * Merge (SPEC rule 6)
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const char *keep, *del;
    int has_del_version;
    uint64_t del_version;
} merge_args;

static int merge_fn(folio_cmd *c, void *arg) {
    const merge_args *a = arg;
    folio_dir_rec *keep = c->cards[FOLIO_CMD_CARD_MAIN], *del = c->cards[FOLIO_CMD_CARD_OTHER];
    char balance[FOLIO_MONEY_TEXT_MAX], cur[4], status[16];
    int rc;
    if ((rc = resolve(keep, c, a->keep)) < 0 || (rc = resolve(del, c, a->del)) < 0) goto done;
    if ((rc = folio_cmd__target(c, keep->id, a->keep)) < 0) goto done;
    if (a->has_del_version && del->version != a->del_version) {
        rc = folio_error__set(FOLIO_ECONFLICT, "conflict: %s is at version %llu, not %llu", a->del,
                              (unsigned long long)del->version,
                              (unsigned long long)a->del_version);
        goto done;
    }
    if (keep->id == del->id) {
        rc = folio_error__set(FOLIO_ERULE, "cannot merge %s into itself (rule 6)", a->keep);
        goto done;
    }
    if (!folio_dstr_same(keep->currency, del->currency)) {
        rc = folio_error__set(FOLIO_ERULE,
                              "%s is in %.*s and %s in %.*s: only customers with the same "
                              "currency merge (rule 6)",
                              a->keep, (int)keep->currency.n, keep->currency.s, a->del,
                              (int)del->currency.n, del->currency.s);
        goto done;
    }
    if (keep->contact_count + del->contact_count > FOLIO_CONTACTS_MAX) {
        rc = folio_error__set(FOLIO_ELIMIT, "merged contacts would exceed %u", FOLIO_CONTACTS_MAX);
        goto done;
    }
    cstr(cur, sizeof cur, del->currency);
    cstr(status, sizeof status, del->status);
    if ((rc = folio_money_format(balance, sizeof balance, del->balance, cur)) < 0) goto done;

    folio_mpw *p = folio_cmd__stage(c, del->id, FOLIO_EV_CUSTOMER_MERGED_INTO);
    folio_mpw__map(p, 2);
    folio_mpw__ku64(p, "target_id", keep->id);
    folio_mpw__str(p, "target_ref");
    folio_mpw__dstr(p, keep->ref);
    p = folio_cmd__stage(c, del->id, FOLIO_EV_CUSTOMER_STATUS_CHANGED);
    folio_mpw__map(p, 2);
    folio_mpw__kstr(p, "from", status);
    folio_mpw__kstr(p, "to", "deleted");
    /* Each contact moves as an event of its own (a contact can be 1 KiB: together they would
     * not fit one payload), with an id after KEEP's; then merged_from sums the merge up. */
    for (uint32_t i = 0; i < del->contact_count; i++) {
        const folio_dcontact *ct = &del->contacts[i];
        put_contact(folio_cmd__stage(c, keep->id, FOLIO_EV_CUSTOMER_CONTACT_ADDED),
                    keep->next_contact + i, ct->name, ct->email, ct->phone, ct->role);
        c->events[c->count - 1].reason = "moved by a merge";
    }
    p = folio_cmd__stage(c, keep->id, FOLIO_EV_CUSTOMER_MERGED_FROM);
    folio_mpw__map(p, 5);
    folio_mpw__ku64(p, "source_id", del->id);
    folio_mpw__str(p, "source_ref");
    folio_mpw__dstr(p, del->ref);
    folio_mpw__ku64(p, "contacts_moved", del->contact_count);
    /* Open documents move with the balance. */
    folio_mpw__str(p, "documents");
    if ((rc = folio_docs__write_open_list(p, c, del->id)) < 0) goto done;
    folio_mpw__kstr(p, "balance", balance);
    /* The KEEP side's balance changes: credit control looks again. */
    int64_t merged_balance;
    folio_settings set;
    if (__builtin_add_overflow(keep->balance, del->balance, &merged_balance)) {
        rc = folio_error__set(FOLIO_ERULE, "merged balance would overflow");
        goto done;
    }
    if ((rc = settings_of(&set, c)) < 0) goto done;
    rc = folio_docs__limit_check(c, keep, keep->credit_limit, &set, merged_balance);
done:
    return rc;
}

int folio_customer_merge(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                         const char *keep_ref, const char *delete_ref,
                         int has_delete_expected_version, uint64_t delete_expected_version) {
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "merge", 2); /* expectations are not part of the request */
    folio_mpw__str(&req, keep_ref);
    folio_mpw__str(&req, delete_ref);
    merge_args a = {keep_ref, delete_ref, has_delete_expected_version, delete_expected_version};
    return run_simple(out, db, w, &req, merge_fn, &a);
}

/* ---------------------------------------------------------------------------------------
 * Upsert: one row of an import
 * ------------------------------------------------------------------------------------- */

/* An upsert's update: does a contact of `card` have the email and the phone `ct` gives (each
 * only if given)? FOLIO_ERULE naming the columns if none does. */
static int contact_known(const folio_dir_rec *card, const folio_contact_new *ct) {
    folio_dstr em, ph;
    char ref[FOLIO_REF_BYTES_MAX + 1];
    int rc;
    if ((rc = check_field(&em, ct->email, FOLIO_FIELD_BYTES_MAX, "email")) < 0 ||
        (rc = check_field(&ph, ct->phone, FOLIO_FIELD_BYTES_MAX, "phone")) < 0)
        return rc;
    for (uint32_t i = 0; i < card->contact_count; i++)
        if ((!em.s || folio_dstr_same(em, card->contacts[i].email)) &&
            (!ph.s || folio_dstr_same(ph, card->contacts[i].phone)))
            return FOLIO_OK;
    cstr(ref, sizeof ref, card->ref);
    char what[2 * FOLIO_FIELD_BYTES_MAX + 40];
    if (em.s && ph.s)
        snprintf(what, sizeof what, "email '%.*s' and phone '%.*s'", (int)em.n, em.s, (int)ph.n,
                 ph.s);
    else if (em.s)
        snprintf(what, sizeof what, "email '%.*s'", (int)em.n, em.s);
    else
        snprintf(what, sizeof what, "phone '%.*s'", (int)ph.n, ph.s);
    return folio_error__set(FOLIO_ERULE,
                            "%s has no contact with %s: an update does not add or change "
                            "contacts (folio contact add and contact remove do)",
                            ref, what);
}

static int upsert_fn(folio_cmd *c, void *arg) {
    const upsert_args *a = arg;
    const folio_customer_new *in = a->customer;
    folio_dstr name = {0};
    uint64_t id = 0;
    int rc = FOLIO_ENOTFOUND;
    const int has_ref = in->ref && *in->ref;
    const char *found_by = NULL; /* the row's other column that found it, when not its ref */
    if (has_ref) rc = folio_directory__id_by_ref(&id, &c->dir, in->ref, strlen(in->ref));
    if (rc == FOLIO_ENOTFOUND && in->external_id && *in->external_id) {
        rc = folio_directory__id_by_external_id(&id, &c->dir, in->external_id,
                                                strlen(in->external_id));
        found_by = "external id";
    }
    if (rc == FOLIO_ENOTFOUND && check_name(&name, in->name) == FOLIO_OK) {
        rc = folio_directory__id_by_name(&id, &c->dir, name.s, name.n);
        found_by = "name";
    }
    if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
    if (rc == FOLIO_ENOTFOUND) {
        if ((rc = create_fn(c, (void *)in)) < 0) return rc;
        if (a->contact) {
            folio_dstr cn, em, ph, ro;
            if ((rc = check_field(&cn, a->contact->name, FOLIO_FIELD_BYTES_MAX, "contact name")) < 0 ||
                (rc = check_field(&em, a->contact->email, FOLIO_FIELD_BYTES_MAX, "email")) < 0 ||
                (rc = check_field(&ph, a->contact->phone, FOLIO_FIELD_BYTES_MAX, "phone")) < 0 ||
                (rc = check_field(&ro, a->contact->role, FOLIO_FIELD_BYTES_MAX, "role")) < 0)
                return rc;
            /* As folio_contact_add: refused here, before anything is staged (the directory
             * fold would refuse the event during the append, which spoils a batch). */
            if (!cn.s) return folio_error__set(FOLIO_EINVAL, "a contact needs a name");
            put_contact(folio_cmd__stage(c, c->primary, FOLIO_EV_CUSTOMER_CONTACT_ADDED), 1, cn,
                        em, ph, ro);
            c->item_id = 1;
        }
        return FOLIO_OK;
    }
    /* It exists. (Its card goes in the second slot: update_fn and owner_fn use the main one.) */
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_OTHER];
    char ref[FOLIO_REF_BYTES_MAX + 1], cur[4];
    if ((rc = folio_directory__get(card, &c->dir, id)) < 0) goto done;
    cstr(ref, sizeof ref, card->ref);
    cstr(cur, sizeof cur, card->currency);
    /* A deleted or merged-away customer is not "already there" (rule 7): found by its ref
     * (the other indexes hold only customers that are not deleted), it takes no row. */
    if ((rc = refuse_gone(card, ref)) < 0) goto done;
    /* The row gives a ref that is not this customer's: it names two customers (the ref a
     * new one, or nobody, and its external id or name this one). Applying it to this one, or
     * skipping it as there, would tell a sync job its ref exists. */
    if (has_ref && strcmp(in->ref, ref) != 0) {
        FOLIO_ASSERT(found_by != NULL);
        if (found_by[0] == 'e')
            rc = folio_error__set(FOLIO_ERULE,
                                  "ref %s conflicts with the row's external id '%s', which is "
                                  "%s's: the row names two customers",
                                  in->ref, in->external_id, ref);
        else
            rc = folio_error__set(FOLIO_ERULE,
                                  "ref %s conflicts with the row's name '%.*s', which is %s's: "
                                  "the row names two customers (rule 2: names are unique)",
                                  in->ref, (int)name.n, name.s, ref);
        goto done;
    }
    /* Likewise a row whose external id or name is another customer's than the one it found
     * (by its ref, or by its external id): skipped as there, or applied, it would tell a
     * sync job this customer carries them. */
    uint64_t other = 0;
    const char *clash = NULL;
    if (in->external_id && *in->external_id && (!found_by || found_by[0] != 'e')) {
        rc = folio_directory__id_by_external_id(&other, &c->dir, in->external_id,
                                                strlen(in->external_id));
        if (rc == FOLIO_OK && other != id) clash = "external id";
    }
    if (!clash && (rc == FOLIO_OK || rc == FOLIO_ENOTFOUND) && (!found_by || found_by[0] != 'n') &&
        check_name(&name, in->name) == FOLIO_OK) {
        rc = folio_directory__id_by_name(&other, &c->dir, name.s, name.n);
        if (rc == FOLIO_OK && other != id) clash = "name";
    }
    if (rc < 0 && rc != FOLIO_ENOTFOUND) goto done;
    if (clash) {
        const char *what = clash[0] == 'e' ? in->external_id : name.s;
        const int what_bytes = clash[0] == 'e' ? (int)strlen(in->external_id) : (int)name.n;
        rc = folio_error__set(FOLIO_ERULE,
                              "the row names two customers: %s (found by its %s) and another "
                              "whose %s is the row's '%.*s'%s",
                              ref, found_by ? found_by : "ref", clash, what_bytes, what,
                              clash[0] == 'n' ? " (rule 2: names are unique)" : "");
        goto done;
    }
    c->existed = 1;
    if ((rc = folio_cmd__target(c, id, ref)) < 0) goto done;
    if (a->on_existing == FOLIO_ON_EXISTING_SKIP) goto done;
    if (a->on_existing == FOLIO_ON_EXISTING_ERROR) {
        rc = folio_error__set(FOLIO_ERULE, "customer %s already exists", ref);
        goto done;
    }
    /* Nothing the row gives is dropped: a status moves as `folio status` would (after the
     * fields: rule 4, rule 5); an email or phone must be one a contact of the customer has
     * already (contacts change by contact add and remove, which an import does not do). */
    if (in->status && !one_of(in->status, STATUSES)) {
        rc = folio_error__set(FOLIO_EINVAL,
                              "status '%s' is not prospect, active, hold, inactive or deleted",
                              in->status);
        goto done;
    }
    if (a->contact && (a->contact->email || a->contact->phone) &&
        (rc = contact_known(card, a->contact)) < 0)
        goto done;
    folio_customer_changes ch = {.name = in->name, .type = in->type,
                                 .credit_limit = in->credit_limit,
                                 .external_id = in->external_id, .billing = in->billing,
                                 .shipping = in->shipping};
    if (in->currency && strcmp(in->currency, cur) != 0) ch.currency = in->currency;
    cmd_args ua = {ref, &ch, 0};
    if ((rc = update_fn(c, &ua)) < 0) goto done;
    if (in->owner && *in->owner) {
        cmd_args oa = {ref, in->owner, 0};
        if ((rc = owner_fn(c, &oa)) < 0) goto done;
    }
    if (in->status) {
        cmd_args sa = {ref, in->status, 0};
        rc = status_fn(c, &sa);
    }
done:
    return rc;
}

int folio_customer_upsert(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const folio_customer_new *c, const folio_contact_new *contact,
                          folio_on_existing on_existing) {
    if (!c) return folio_error__set(FOLIO_EINVAL, "upsert: no customer given");
    if (on_existing != FOLIO_ON_EXISTING_SKIP && on_existing != FOLIO_ON_EXISTING_UPDATE &&
        on_existing != FOLIO_ON_EXISTING_ERROR)
        return folio_error__set(FOLIO_EINVAL, "upsert: unknown on_existing %d", (int)on_existing);
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    request_init(&req, req_buf, "upsert", 16);
    request_customer(&req, c);
    folio_mpw__str(&req, contact ? contact->name : NULL);
    folio_mpw__str(&req, contact ? contact->email : NULL);
    folio_mpw__str(&req, contact ? contact->phone : NULL);
    folio_mpw__str(&req, contact ? contact->role : NULL);
    folio_mpw__u64(&req, (uint64_t)on_existing);
    folio_mpw__nil(&req);
    upsert_args a = {c, contact, on_existing};
    int rc = folio_cmd__run_upsert(out, db, w, &req, upsert_fn, &a);
    folio_mpw__free(&req);
    return rc;
}
