/*
 * engine/documents.c - receivables commands: invoices, credit notes, payments, allocation,
 * refunds (SPEC rules 8-10) and credit control (section 4).
 * Each command reads the directory (the customer's card, balance, holds, settings) and the
 * receivables projection (documents and what is open on them), checks its rules, and stages
 * its events. Credit control rides along: the command that takes a balance above the credit
 * limit also stages credit_hold.placed (actor "credit-control"); the one that brings it back
 * stages credit_hold.released.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../projections/directory.h"
#include "../projections/receivables.h"
#include "command.h"
#include "documents.h"

#define CREDIT_CONTROL_ACTOR "credit-control"

typedef struct {
    folio_proj_txn rec;   /* the receivables projection */
    folio_dir_rec *card;  /* the customer (the command's main card) */
    folio_settings set;
    char cur[4];
    int64_t balance;      /* the balance after the events staged so far */
} doc_ctx;

/* The customer of a receivables command: exists, not deleted (rule 7), has a currency. */
static int load(doc_ctx *d, folio_cmd *c, const char *ref) {
    uint64_t id;
    memset(d, 0, sizeof *d);
    folio_projection__txn(&d->rec, c->txn, "receivables", NULL);
    if (!ref || !*ref) return folio_error__set(FOLIO_EINVAL, "a customer ref is required");
    d->card = c->cards[FOLIO_CMD_CARD_MAIN];
    int rc = folio_directory__id_by_ref(&id, &c->dir, ref, strlen(ref));
    if (rc == FOLIO_ENOTFOUND) return folio_error__set(FOLIO_ENOTFOUND, "no customer %s", ref);
    if (rc == FOLIO_OK) rc = folio_directory__get(d->card, &c->dir, id);
    if (rc == FOLIO_OK) rc = folio_cmd__settings(&d->set, c);
    if (rc < 0) return rc;
    if (d->card->merged_into_ref.s)
        return folio_error__set(FOLIO_ERULE, "%s was merged into %.*s and cannot change (rule 7)",
                                ref, (int)d->card->merged_into_ref.n, d->card->merged_into_ref.s);
    if (d->card->deleted_seq)
        return folio_error__set(FOLIO_ERULE, "%s was deleted and cannot change (rule 7)", ref);
    if (!d->card->currency.s || d->card->currency.n != 3)
        return folio_error__set(FOLIO_ECORRUPT, "%s has no currency on its card", ref);
    memcpy(d->cur, d->card->currency.s, 3);
    d->cur[3] = '\0';
    if (d->card->ref.n <= FOLIO_REF_BYTES_MAX) {
        memcpy(c->known_ref, d->card->ref.s, d->card->ref.n);
        c->known_ref[d->card->ref.n] = '\0';
        c->known_ref_id = id;
    }
    d->balance = d->card->balance;
    return folio_cmd__target(c, id, ref);
}

static int check_doc_text(const char *doc) {
    size_t n = strlen(doc);
    if (n == 0 || n > FOLIO_DOC_BYTES_MAX)
        return folio_error__set(FOLIO_EINVAL, "document number must be 1 to %u characters",
                                FOLIO_DOC_BYTES_MAX);
    for (const char *p = doc; *p; p++) {
        char ch = *p;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == '/'))
            return folio_error__set(FOLIO_EINVAL,
                                    "document number '%s' may hold only letters, digits and - _ . /",
                                    doc);
    }
    return FOLIO_OK;
}

/* Rule 10: a given number must be new for its kind; otherwise the next free generated one,
 * counting on from the documents issued of the kind. A generated number above the largest
 * one in generated form any document of the kind took (the count record's number_max) is
 * free without a lookup: the receivables fold raises it with every document, of whatever
 * origin, and documents are never deleted. Below it, each candidate is looked up. */
static int choose_doc(char out[FOLIO_DOC_BYTES_MAX + 1], doc_ctx *d, char kind, const char *given) {
    folio_doc_rec existing;
    int rc;
    if (given) {
        if ((rc = check_doc_text(given)) < 0) return rc;
        rc = folio_receivables__get(&existing, &d->rec, kind, given, strlen(given));
        if (rc == FOLIO_OK)
            return folio_error__set(FOLIO_ERULE, "%s %s already exists (rule 10)",
                                    folio_doc_kind_name(kind), given);
        if (rc != FOLIO_ENOTFOUND) return rc;
        size_t given_bytes = strlen(given);
        FOLIO_ASSERT(given_bytes <= FOLIO_DOC_BYTES_MAX); /* check_doc_text */
        memcpy(out, given, given_bytes + 1);
        return FOLIO_OK;
    }
    folio_doc_count count;
    if ((rc = folio_receivables__count(&count, &d->rec, kind)) < 0) return rc;
    uint64_t n = count.issued;
    for (uint64_t tries = 0;; tries++) {
        if (tries > 1000000 || n == UINT64_MAX)
            return folio_error__set(FOLIO_ERROR, "no free document number");
        size_t bytes = folio_doc_number_format(out, kind, ++n);
        FOLIO_ASSERT(bytes > 0);
        FOLIO_ASSERT(bytes <= FOLIO_DOC_NUMBER_BYTES_MAX);
        out[bytes] = '\0';
        if (n > count.number_max) break; /* never taken (the fold checks it in debug builds) */
        rc = folio_receivables__get(&existing, &d->rec, kind, out, bytes);
        if (rc == FOLIO_ENOTFOUND) break;
        if (rc < 0) return rc;
    }
#ifndef NDEBUG
    uint64_t parsed;
    FOLIO_ASSERT(folio_doc_number_parse(&parsed, kind, out, strlen(out)));
    FOLIO_ASSERT(parsed == n);
#endif
    return FOLIO_OK;
}

static int parse_date(int32_t *days, const char *text, const char *what) {
    if (!text) {
        *days = folio_date_today();
        return FOLIO_OK;
    }
    if (folio_date_parse(days, text) < 0)
        return folio_error__set(FOLIO_EINVAL, "%s: %s", what, folio_errmsg());
    return FOLIO_OK;
}

/* *canonical (when not NULL): 1 when text is what folio_money_format writes for *minor. */
static int parse_amount(int64_t *minor, int *canonical, const char *text, const char *cur,
                        const char *what) {
    if (!text) return folio_error__set(FOLIO_EINVAL, "%s: an amount is required", what);
    if (folio_money__parse(minor, canonical, text, cur) < 0)
        return folio_error__set(FOLIO_EINVAL, "%s: %s", what, folio_errmsg());
    if (*minor <= 0) return folio_error__set(FOLIO_EINVAL, "%s: the amount must be positive", what);
    return FOLIO_OK;
}

static void put_money(folio_mpw *p, const char *key, int64_t minor, const char *cur) {
    char text[FOLIO_MONEY_TEXT_MAX];
    int rc = folio_money_format(text, sizeof text, minor, cur);
    FOLIO_ASSERT(rc == FOLIO_OK);
    folio_mpw__kstr(p, key, text);
}

/* An amount the caller gave as text (NULL: the amount is formatted): text that parsed to
 * `minor` in its canonical form (folio_money__parse) is written as it came. */
static void put_money_text(folio_mpw *p, const char *key, int64_t minor, const char *cur,
                           const char *text) {
    if (!text) {
        put_money(p, key, minor, cur);
        return;
    }
#ifndef NDEBUG
    char check[FOLIO_MONEY_TEXT_MAX];
    FOLIO_ASSERT(folio_money_format(check, sizeof check, minor, cur) == FOLIO_OK);
    FOLIO_ASSERT(strcmp(check, text) == 0);
#endif
    folio_mpw__kstr(p, key, text);
}

static void put_date(folio_mpw *p, const char *key, int32_t days) {
    char text[11];
    folio_date_format(text, days);
    folio_mpw__kstr(p, key, text);
}

/* A date the caller gave as text (NULL: none, the days are formatted): folio_date_parse
 * takes only what folio_date_format writes (YYYY-MM-DD of a date that exists, years
 * 1900-9999), so text that parsed to `days` is written as it came, not formatted again. */
static void put_date_text(folio_mpw *p, const char *key, int32_t days, const char *text) {
    if (!text) {
        put_date(p, key, days);
        return;
    }
#ifndef NDEBUG
    char check[11];
    folio_date_format(check, days);
    FOLIO_ASSERT(strcmp(check, text) == 0);
#endif
    folio_mpw__kstr(p, key, text);
}

static int add_balance(doc_ctx *d, int64_t delta) {
    if (__builtin_add_overflow(d->balance, delta, &d->balance))
        return folio_error__set(FOLIO_ERULE, "the amount would overflow the customer's balance");
    return FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * Credit control
 * ------------------------------------------------------------------------------------- */

static folio_mpw *stage_hold(folio_cmd *c, uint64_t customer, int place, const char *reason) {
    folio_mpw *p = folio_cmd__stage(c, customer, place ? FOLIO_EV_CREDIT_HOLD_PLACED
                                                       : FOLIO_EV_CREDIT_HOLD_RELEASED);
    folio_event *e = &c->events[c->count - 1];
    e->actor = CREDIT_CONTROL_ACTOR;
    e->reason = reason;
    return p;
}

static int checks_limit(const folio_settings *set) {
    return strcmp(set->credit_control, "limit") == 0 || strcmp(set->credit_control, "both") == 0;
}

static int checks_past_due(const folio_settings *set) {
    return strcmp(set->credit_control, "past-due") == 0 || strcmp(set->credit_control, "both") == 0;
}

/* The credit limit `limit_dstr` in minor units of cur (INT64_MAX: none, never over it). */
static int parse_limit(int64_t *limit, folio_dstr limit_dstr, const char *cur) {
    char limit_text[FOLIO_MONEY_TEXT_MAX + 1];
    if (!limit_dstr.s) {
        *limit = INT64_MAX;
        return FOLIO_OK;
    }
    if (limit_dstr.n > FOLIO_MONEY_TEXT_MAX)
        return folio_error__set(FOLIO_ECORRUPT, "credit limit on the card is not an amount");
    memcpy(limit_text, limit_dstr.s, limit_dstr.n);
    limit_text[limit_dstr.n] = '\0';
    if (folio_money_parse(limit, limit_text, cur) < 0)
        return folio_error__set(FOLIO_ECORRUPT, "credit limit on the card is not an amount");
    return FOLIO_OK;
}

/* Stage a credit_limit hold change of `customer` with its evidence {balance, limit}. */
static void stage_limit_hold(folio_cmd *c, uint64_t customer, int place, const char *reason,
                             int64_t balance, int64_t limit, const char *cur) {
    folio_mpw *p = stage_hold(c, customer, place, reason);
    folio_mpw__map(p, 2);
    folio_mpw__kstr(p, "rule", "credit_limit");
    folio_mpw__str(p, "evidence");
    folio_mpw__map(p, 2);
    put_money(p, "balance", balance, cur);
    if (limit == INT64_MAX)
        folio_mpw__kstr(p, "limit", NULL);
    else
        put_money(p, "limit", limit, cur);
}

int folio_docs__limit_check(folio_cmd *c, const folio_dir_rec *card, folio_dstr limit_dstr,
                            const folio_settings *set, int64_t new_balance) {
    char cur[4];
    int64_t limit;
    int on_hold = (card->credit_holds & FOLIO_HOLD_CREDIT_LIMIT) != 0;
    if (!checks_limit(set) || !card->currency.s || card->currency.n != 3) return FOLIO_OK;
    memcpy(cur, card->currency.s, 3);
    cur[3] = '\0';
    int rc = parse_limit(&limit, limit_dstr, cur);
    if (rc < 0) return rc;
    int over = new_balance > limit;
    if (over == on_hold) return FOLIO_OK;
    stage_limit_hold(c, card->id, over,
                     over ? "balance above the credit limit" : "balance back within the credit limit",
                     new_balance, limit, cur);
    return FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const char *ref;
    const folio_document_new *doc;
    char kind;
    uint32_t type;
    const folio_apply *applies;
    size_t apply_count;
    int auto_allocate;
    const char *from_doc, *to_invoice, *amount, *date;
    int import; /* a document with this number already there: the same one (skip) or refused */
} doc_args;

/* Stage one document event. */
static int stage_document(folio_cmd *c, doc_ctx *d, const doc_args *a, char out_doc[],
                          int64_t *amount_out, int32_t *date_out) {
    const folio_document_new *in = a->doc;
    const char *what = folio_doc_kind_name(a->kind);
    int64_t amount;
    int32_t date, due;
    int rc, canonical = 0;
    if ((rc = parse_amount(&amount, &canonical, in->amount, d->cur, what)) < 0 ||
        (rc = parse_date(&date, in->date, "date")) < 0)
        return rc;
    due = date;
    if (a->kind == FOLIO_DOC_INVOICE && in->due) {
        if ((rc = parse_date(&due, in->due, "due date")) < 0) return rc;
        if (due < date)
            return folio_error__set(FOLIO_EINVAL, "the due date %s is before the date", in->due);
    }
    if ((rc = choose_doc(out_doc, d, a->kind, in->doc)) < 0) return rc;
    if ((rc = add_balance(d, folio_doc_signed(a->kind, amount))) < 0) return rc;
    folio_mpw *p = folio_cmd__stage(c, d->card->id, a->type);
    folio_mpw__map(p, a->kind == FOLIO_DOC_INVOICE ? 4 : 3);
    folio_mpw__kstr(p, "doc", out_doc);
    put_date_text(p, "date", date, in->date);
    if (a->kind == FOLIO_DOC_INVOICE) put_date_text(p, "due", due, in->due ? in->due : in->date);
    put_money_text(p, "amount", amount, d->cur, canonical ? in->amount : NULL);
    *amount_out = amount;
    *date_out = date;
    return FOLIO_OK;
}

/* An invoice's open amount, less what this command has already allocated to it. */
typedef struct {
    char doc[FOLIO_DOC_BYTES_MAX + 1];
    int64_t open;
    int32_t date;
    uint64_t seq;
} open_inv;

typedef struct {
    open_inv *items;
    size_t count, cap;
} inv_list;

/* A command's list starts from the buffer the handle kept from the last one (commands run
 * under the write lock), so a write allocates nothing once warm (tests/alloc); a buffer
 * grown past OPEN_INVOICES_KEEP items (a customer with thousands open) is given back. */
#define OPEN_INVOICES_KEEP 4096u

static void inv_list_take(inv_list *l, folio_db *db) {
    l->items = db->open_invoices;
    l->cap = db->open_invoices_cap;
    l->count = 0;
    db->open_invoices = NULL;
    db->open_invoices_cap = 0;
}

static void inv_list_give_back(inv_list *l, folio_db *db) {
    if (l->cap > OPEN_INVOICES_KEEP) {
        free(l->items);
        l->items = NULL;
        l->cap = 0;
    }
    FOLIO_ASSERT(db->open_invoices == NULL);
    db->open_invoices = l->items;
    db->open_invoices_cap = l->cap;
    l->items = NULL;
}

static int collect_invoice(const folio_doc_rec *r, void *arg) {
    inv_list *l = arg;
    if (r->kind != FOLIO_DOC_INVOICE || r->open <= 0) return FOLIO_OK;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        open_inv *items = realloc(l->items, cap * sizeof *items);
        if (!items) return folio_error__set(FOLIO_ERROR, "out of memory");
        l->items = items;
        l->cap = cap;
    }
    open_inv *o = &l->items[l->count++];
    snprintf(o->doc, sizeof o->doc, "%s", r->doc);
    o->open = r->open;
    o->date = r->date;
    o->seq = r->seq;
    return FOLIO_OK;
}

static int oldest_first(const void *x, const void *y) {
    const open_inv *a = x, *b = y;
    if (a->date != b->date) return a->date < b->date ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static open_inv *find_inv(inv_list *l, const char *doc) {
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].doc, doc) == 0) return &l->items[i];
    return NULL;
}

static int stage_allocation(folio_cmd *c, doc_ctx *d, char from_kind, const char *from,
                            const char *to, int64_t amount, int32_t date) {
    size_t staged = 0;
    for (size_t i = 0; i < c->count; i++) staged += c->events[i].type == FOLIO_EV_ALLOCATION_MADE;
    if (staged >= FOLIO_ALLOCATIONS_MAX)
        return folio_error__set(FOLIO_ELIMIT,
                                "more than %u allocations in one command (nothing was written): "
                                "allocate to fewer invoices at a time",
                                FOLIO_ALLOCATIONS_MAX);
    folio_mpw *p = folio_cmd__stage(c, d->card->id, FOLIO_EV_ALLOCATION_MADE);
    folio_mpw__map(p, 5);
    folio_mpw__kstr(p, "from", from);
    folio_mpw__kstr(p, "from_kind", folio_doc_kind_name(from_kind));
    folio_mpw__kstr(p, "to", to);
    put_money(p, "amount", amount, d->cur);
    put_date(p, "date", date);
    return FOLIO_OK;
}

/* Allocate `*left` of document `from` to explicit invoices, then (auto) to the oldest open
 * ones. `invs` holds the customer's open invoices; their open amounts are kept current. */
static int allocate_from(folio_cmd *c, doc_ctx *d, inv_list *invs, char from_kind,
                         const char *from, int32_t from_date, int64_t *left, int32_t date,
                         const folio_apply *applies, size_t apply_count, int auto_allocate) {
    int rc;
    char text[FOLIO_MONEY_TEXT_MAX];
    if (date < from_date)
        return folio_error__set(FOLIO_EINVAL, "the allocation date is before %s's date", from);
    /* malformed input first, whatever the ledger holds: every amount given parses */
    for (size_t i = 0; i < apply_count; i++) {
        int64_t amount;
        if (applies[i].amount &&
            (rc = parse_amount(&amount, NULL, applies[i].amount, d->cur, "allocation")) < 0)
            return rc;
    }
    for (size_t i = 0; i < apply_count; i++) {
        const folio_apply *ap = &applies[i];
        open_inv *inv = ap->invoice ? find_inv(invs, ap->invoice) : NULL;
        if (!ap->invoice || !*ap->invoice)
            return folio_error__set(FOLIO_EINVAL, "an allocation needs an invoice number");
        if (!inv) {
            folio_doc_rec r;
            rc = folio_receivables__get(&r, &d->rec, FOLIO_DOC_INVOICE, ap->invoice,
                                        strlen(ap->invoice));
            if (rc == FOLIO_OK && r.customer == d->card->id)
                return folio_error__set(FOLIO_ERULE, "invoice %s is already settled (rule 9)",
                                        ap->invoice);
            return folio_error__set(FOLIO_ENOTFOUND, "customer has no invoice %s", ap->invoice);
        }
        int64_t amount = inv->open < *left ? inv->open : *left;
        if (ap->amount) {
            if ((rc = parse_amount(&amount, NULL, ap->amount, d->cur, "allocation")) < 0) return rc;
            if (amount > inv->open || amount > *left) {
                folio_money_format(text, sizeof text, amount > inv->open ? inv->open : *left, d->cur);
                return folio_error__set(FOLIO_ERULE,
                                        "allocation of %s is more than the %s open on %s (rule 9)",
                                        ap->amount, text, amount > inv->open ? inv->doc : from);
            }
        }
        if (amount <= 0)
            return folio_error__set(FOLIO_ERULE, "%s has nothing left to allocate (rule 9)", from);
        if (date < inv->date) /* (from_date was checked above) */
            return folio_error__set(FOLIO_EINVAL, "the allocation date is before a document's date");
        if ((rc = stage_allocation(c, d, from_kind, from, inv->doc, amount, date)) < 0) return rc;
        inv->open -= amount;
        *left -= amount;
    }
    if (auto_allocate) {
        if (invs->count > 1) qsort(invs->items, invs->count, sizeof invs->items[0], oldest_first);
        for (size_t i = 0; i < invs->count && *left > 0; i++) {
            open_inv *inv = &invs->items[i];
            if (inv->open <= 0 || inv->date > date) continue;
            int64_t amount = inv->open < *left ? inv->open : *left;
            if ((rc = stage_allocation(c, d, from_kind, from, inv->doc, amount, date)) < 0)
                return rc;
            inv->open -= amount;
            *left -= amount;
        }
    }
    return FOLIO_OK;
}

static int document_fn(folio_cmd *c, void *arg) {
    const doc_args *a = arg;
    doc_ctx d;
    inv_list invs;
    int64_t amount;
    int32_t date;
    char doc[FOLIO_DOC_BYTES_MAX + 1];
    inv_list_take(&invs, c->db);
    int rc = load(&d, c, a->ref);
    if (rc < 0) goto done;
    if (a->import) {
        folio_doc_rec old;
        const folio_document_new *in = a->doc;
        int32_t due;
        if (!in->doc) {
            rc = folio_error__set(FOLIO_EINVAL, "an imported document needs its number");
            goto done;
        }
        rc = folio_receivables__get(&old, &d.rec, a->kind, in->doc, strlen(in->doc));
        if (rc == FOLIO_OK) {
            /* The same document is what the row gives: a date or due it leaves out is not
             * compared (its default, today or the date, may not be what the first run
             * stored: a re-run on a later day finds the row imported). */
            date = old.date;
            due = old.due;
            if ((rc = parse_amount(&amount, NULL, in->amount, d.cur, folio_doc_kind_name(a->kind))) < 0 ||
                (in->date && (rc = parse_date(&date, in->date, "date")) < 0))
                goto done;
            if (a->kind == FOLIO_DOC_INVOICE && in->due && (rc = parse_date(&due, in->due, "due")) < 0)
                goto done;
            if (old.customer != d.card->id || old.amount != amount || old.date != date ||
                (a->kind == FOLIO_DOC_INVOICE && old.due != due)) {
                rc = folio_error__set(FOLIO_ERULE, "%s %s already exists with other content "
                                                   "(rule 10)",
                                      folio_doc_kind_name(a->kind), in->doc);
                goto done;
            }
            c->existed = 1; /* imported before: nothing to write */
            snprintf(c->doc, sizeof c->doc, "%s", in->doc);
            rc = FOLIO_OK;
            goto done;
        }
        if (rc != FOLIO_ENOTFOUND) goto done;
        rc = FOLIO_OK;
    }
    if (a->kind == FOLIO_DOC_INVOICE) {
        folio_dstr st = d.card->status;
        int ok = st.s && ((st.n == 8 && !memcmp(st.s, "prospect", 8)) ||
                          (st.n == 6 && !memcmp(st.s, "active", 6)) ||
                          (st.n == 4 && !memcmp(st.s, "hold", 4)));
        if (!ok) {
            rc = folio_error__set(FOLIO_ERULE, "%s is %.*s: invoices need status prospect, active "
                                               "or hold (rule 8)",
                                  a->ref, (int)st.n, st.s);
            goto done;
        }
    }
    if ((rc = stage_document(c, &d, a, doc, &amount, &date)) < 0) goto done;
    memcpy(c->doc, doc, strlen(doc) + 1); /* both FOLIO_DOC_BYTES_MAX + 1 */
    if (a->kind == FOLIO_DOC_PAYMENT && (a->apply_count || a->auto_allocate)) {
        int64_t left = amount;
        if ((rc = folio_receivables__open_items(&d.rec, d.card->id, collect_invoice, &invs)) < 0 ||
            (rc = allocate_from(c, &d, &invs, FOLIO_DOC_PAYMENT, doc, date, &left, date,
                                a->applies, a->apply_count, a->auto_allocate)) < 0)
            goto done;
    }
    rc = folio_docs__limit_check(c, d.card, d.card->credit_limit, &d.set, d.balance);
done:
    inv_list_give_back(&invs, c->db);
    return rc;
}

static int run_document(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                        const char *name, doc_args *a) {
    if (!a->doc) return folio_error__set(FOLIO_EINVAL, "%s: no document given", name);
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    folio_mpw__init_spill(&req, req_buf, sizeof req_buf);
    /* The request is hashed only for an idempotency key (engine/command.c, run_txn): without
     * one it stays empty (nothing of it is read). */
    if (w && w->idempotency_key) {
        folio_mpw__array(&req, 9 + 2 * (uint32_t)a->apply_count);
        folio_mpw__str(&req, name);
        folio_mpw__u64(&req, (unsigned char)a->kind); /* import-document names its kind here */
        folio_mpw__str(&req, a->ref);
        folio_mpw__str(&req, a->doc->amount);
        folio_mpw__str(&req, a->doc->doc);
        folio_mpw__str(&req, a->doc->date);
        folio_mpw__str(&req, a->doc->due);
        folio_mpw__str(&req, a->from_doc);
        folio_mpw__bool(&req, a->auto_allocate);
        for (size_t i = 0; i < a->apply_count; i++) {
            folio_mpw__str(&req, a->applies[i].invoice);
            folio_mpw__str(&req, a->applies[i].amount);
        }
    }
    int rc = folio_cmd__run(out, db, w, &req, document_fn, a);
    folio_mpw__free(&req);
    return rc;
}

int folio_document_import(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const char *kind, const char *ref, const folio_document_new *d) {
    doc_args a = {.ref = ref, .doc = d, .import = 1};
    if (!kind) return folio_error__set(FOLIO_EINVAL, "import: a document kind is required");
    a.kind = folio_doc_kind_parse(kind, strlen(kind));
    a.type = a.kind == FOLIO_DOC_INVOICE       ? FOLIO_EV_INVOICE_ISSUED
             : a.kind == FOLIO_DOC_CREDIT_NOTE ? FOLIO_EV_CREDIT_NOTE_ISSUED
             : a.kind == FOLIO_DOC_PAYMENT     ? FOLIO_EV_PAYMENT_RECEIVED
                                               : 0;
    if (!a.type)
        return folio_error__set(FOLIO_EINVAL, "kind '%s' is not invoice, credit_note or payment",
                                kind);
    return run_document(out, db, w, "import-document", &a);
}

int folio_invoice_issue(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                        const char *ref, const folio_document_new *d) {
    doc_args a = {.ref = ref, .doc = d, .kind = FOLIO_DOC_INVOICE, .type = FOLIO_EV_INVOICE_ISSUED};
    return run_document(out, db, w, "invoice", &a);
}

int folio_credit_note_issue(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                            const char *ref, const folio_document_new *d) {
    doc_args a = {.ref = ref, .doc = d, .kind = FOLIO_DOC_CREDIT_NOTE,
                  .type = FOLIO_EV_CREDIT_NOTE_ISSUED};
    return run_document(out, db, w, "credit-note", &a);
}

int folio_payment_receive(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const char *ref, const folio_document_new *d,
                          const folio_apply *applies, size_t apply_count, int auto_allocate) {
    if (apply_count > FOLIO_ALLOCATIONS_MAX)
        return folio_error__set(FOLIO_ELIMIT, "more than %u allocations in one command",
                                FOLIO_ALLOCATIONS_MAX);
    if (apply_count && !applies) return folio_error__set(FOLIO_EINVAL, "pay: NULL allocations");
    doc_args a = {.ref = ref, .doc = d, .kind = FOLIO_DOC_PAYMENT, .type = FOLIO_EV_PAYMENT_RECEIVED,
                  .applies = applies, .apply_count = apply_count, .auto_allocate = auto_allocate};
    return run_document(out, db, w, "pay", &a);
}

/* The payment or credit note `doc` of this customer; a number both kinds use is refused. */
/* The payment or credit note `doc` of the customer. Numbers are unique per kind (rule 10),
 * so a payment and a credit note may share one: "payment:DOC" or "credit_note:DOC" names
 * the kind (a number never holds ':'). */
static int source_doc(folio_doc_rec *r, doc_ctx *d, const char *doc) {
    folio_doc_rec other;
    int want_pay = 1, want_cn = 1;
    const char *given = doc, *colon = strchr(doc, ':');
    if (!*doc) return folio_error__set(FOLIO_EINVAL, "a document number is required (--from)");
    if (colon) {
        const char kind = folio_doc_kind_parse(doc, (size_t)(colon - doc));
        if (kind != FOLIO_DOC_PAYMENT && kind != FOLIO_DOC_CREDIT_NOTE)
            return folio_error__set(FOLIO_EINVAL, "'%s': only payment:DOC or credit_note:DOC "
                                                  "name a kind", doc);
        want_pay = kind == FOLIO_DOC_PAYMENT;
        want_cn = !want_pay;
        doc = colon + 1;
        if (!*doc)
            return folio_error__set(FOLIO_EINVAL, "'%s' needs a document number after the ':'",
                                    given);
    }
    int rc = want_pay ? folio_receivables__get(r, &d->rec, FOLIO_DOC_PAYMENT, doc, strlen(doc))
                      : FOLIO_ENOTFOUND;
    int rc2 = want_cn ? folio_receivables__get(&other, &d->rec, FOLIO_DOC_CREDIT_NOTE, doc,
                                               strlen(doc))
                      : FOLIO_ENOTFOUND;
    int mine1 = rc == FOLIO_OK && r->customer == d->card->id;
    int mine2 = rc2 == FOLIO_OK && other.customer == d->card->id;
    if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
    if (rc2 < 0 && rc2 != FOLIO_ENOTFOUND) return rc2;
    if (mine1 && mine2)
        return folio_error__set(FOLIO_EINVAL, "%s is both a payment and a credit note number: "
                                              "give payment:%s or credit_note:%s",
                                doc, doc, doc);
    if (mine2) *r = other;
    if (!mine1 && !mine2)
        return folio_error__set(FOLIO_ENOTFOUND, "customer has no %s %s",
                                !want_cn ? "payment" : !want_pay ? "credit note"
                                                                  : "payment or credit note",
                                doc);
    return FOLIO_OK;
}

static int allocate_fn(folio_cmd *c, void *arg) {
    const doc_args *a = arg;
    doc_ctx d;
    inv_list invs;
    folio_doc_rec src;
    int32_t date;
    inv_list_take(&invs, c->db);
    int rc = load(&d, c, a->ref);
    if (rc < 0) goto done;
    if (!a->from_doc) {
        rc = folio_error__set(FOLIO_EINVAL, "allocate needs --from DOC");
        goto done;
    }
    if ((rc = source_doc(&src, &d, a->from_doc)) < 0 || (rc = parse_date(&date, a->date, "date")) < 0)
        goto done;
    if (src.open <= 0) {
        rc = folio_error__set(FOLIO_ERULE, "%s has nothing left to allocate (rule 9)", a->from_doc);
        goto done;
    }
    if ((rc = folio_receivables__open_items(&d.rec, d.card->id, collect_invoice, &invs)) < 0)
        goto done;
    int64_t left = src.open;
    if (a->auto_allocate && a->amount) { /* --auto with an amount: at most that much */
        int64_t most;
        if ((rc = parse_amount(&most, NULL, a->amount, d.cur, "allocation")) < 0) goto done;
        if (most < left) left = most;
    }
    folio_apply one = {a->to_invoice, a->amount};
    rc = allocate_from(c, &d, &invs, src.kind, src.doc, src.date, &left, date, &one,
                       a->to_invoice ? 1 : 0, a->auto_allocate);
    if (rc == FOLIO_OK && c->count == 0)
        rc = folio_error__set(FOLIO_ERULE, "%s has no open invoice to allocate to", a->ref);
done:
    inv_list_give_back(&invs, c->db);
    return rc;
}

int folio_allocate(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                   const char *ref, const char *from_doc, const char *to_invoice,
                   const char *amount, const char *date, int auto_allocate) {
    if (!to_invoice && !auto_allocate)
        return folio_error__set(FOLIO_EINVAL, "allocate needs --to INVOICE or --auto");
    if (to_invoice && auto_allocate)
        return folio_error__set(FOLIO_EINVAL, "allocate takes --to or --auto, not both");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    folio_mpw__init_spill(&req, req_buf, sizeof req_buf);
    folio_mpw__array(&req, 7);
    folio_mpw__str(&req, "allocate");
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, from_doc);
    folio_mpw__str(&req, to_invoice);
    folio_mpw__str(&req, amount);
    folio_mpw__str(&req, date);
    folio_mpw__bool(&req, auto_allocate);
    doc_args a = {.ref = ref, .from_doc = from_doc, .to_invoice = to_invoice, .amount = amount,
                  .date = date, .auto_allocate = auto_allocate};
    int rc = folio_cmd__run(out, db, w, &req, allocate_fn, &a);
    folio_mpw__free(&req);
    return rc;
}

static int refund_fn(folio_cmd *c, void *arg) {
    const doc_args *a = arg;
    const folio_document_new *in = a->doc;
    doc_ctx d;
    folio_doc_rec src;
    int64_t amount;
    int32_t date;
    char doc[FOLIO_DOC_BYTES_MAX + 1], text[FOLIO_MONEY_TEXT_MAX];
    int canonical = 0;
    int rc = load(&d, c, a->ref);
    if (rc < 0) goto done;
    if (!a->from_doc) {
        rc = folio_error__set(FOLIO_EINVAL, "refund needs --from DOC");
        goto done;
    }
    if ((rc = source_doc(&src, &d, a->from_doc)) < 0 ||
        (rc = parse_amount(&amount, &canonical, in->amount, d.cur, "refund")) < 0 ||
        (rc = parse_date(&date, in->date, "date")) < 0)
        goto done;
    if (amount > src.open) {
        folio_money_format(text, sizeof text, src.open, d.cur);
        rc = folio_error__set(FOLIO_ERULE,
                              "refunds come out of unallocated funds only: %s has %s left (rule 9)",
                              src.doc, text);
        goto done;
    }
    if (date < src.date) {
        rc = folio_error__set(FOLIO_EINVAL, "the refund date is before %s's date", src.doc);
        goto done;
    }
    if ((rc = choose_doc(doc, &d, FOLIO_DOC_REFUND, in->doc)) < 0 ||
        (rc = add_balance(&d, amount)) < 0)
        goto done;
    folio_mpw *p = folio_cmd__stage(c, d.card->id, FOLIO_EV_REFUND_ISSUED);
    folio_mpw__map(p, 5);
    folio_mpw__kstr(p, "doc", doc);
    folio_mpw__kstr(p, "from", src.doc);
    folio_mpw__kstr(p, "from_kind", folio_doc_kind_name(src.kind));
    put_date_text(p, "date", date, in->date);
    put_money_text(p, "amount", amount, d.cur, canonical ? in->amount : NULL);
    memcpy(c->doc, doc, strlen(doc) + 1); /* both FOLIO_DOC_BYTES_MAX + 1 */
    rc = folio_docs__limit_check(c, d.card, d.card->credit_limit, &d.set, d.balance);
done:
    return rc;
}

int folio_refund_issue(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                       const char *ref, const char *from_doc, const folio_document_new *d) {
    if (!d) return folio_error__set(FOLIO_EINVAL, "refund: no document given");
    folio_mpw req;
    uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
    folio_mpw__init_spill(&req, req_buf, sizeof req_buf);
    folio_mpw__array(&req, 6);
    folio_mpw__str(&req, "refund");
    folio_mpw__str(&req, ref);
    folio_mpw__str(&req, from_doc);
    folio_mpw__str(&req, d->amount);
    folio_mpw__str(&req, d->doc);
    folio_mpw__str(&req, d->date);
    doc_args a = {.ref = ref, .doc = d, .from_doc = from_doc};
    int rc = folio_cmd__run(out, db, w, &req, refund_fn, &a);
    folio_mpw__free(&req);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Merge support and past-due credit control
 * ------------------------------------------------------------------------------------- */

typedef struct {
    folio_mpw *w;
    uint32_t count;
    folio_mpw list;
} doc_list;

static int list_doc(const folio_doc_rec *r, void *arg) {
    doc_list *l = arg;
    folio_mpw__map(&l->list, 2);
    folio_mpw__kstr(&l->list, "kind", folio_doc_kind_name(r->kind));
    folio_mpw__kstr(&l->list, "doc", r->doc);
    l->count++;
    return FOLIO_OK;
}

int folio_docs__write_open_list(folio_mpw *w, folio_cmd *c, uint64_t customer) {
    folio_proj_txn rec;
    doc_list l = {w, 0, {0}};
    folio_projection__txn(&rec, c->txn, "receivables", NULL);
    folio_mpw__init(&l.list);
    int rc = folio_receivables__open_items(&rec, customer, list_doc, &l);
    if (rc == FOLIO_OK && l.count > FOLIO_MERGE_DOCUMENTS_MAX)
        rc = folio_error__set(FOLIO_ELIMIT,
                              "%u open documents to move, more than the %u one merge moves: "
                              "allocate or settle some first",
                              l.count, FOLIO_MERGE_DOCUMENTS_MAX);
    if (rc == FOLIO_OK) rc = folio_mpw__finish(&l.list);
    if (rc == FOLIO_OK) {
        folio_mpw__array(w, l.count);
        folio_mpw__raw(w, l.list.buf, l.list.len);
    }
    folio_mpw__free(&l.list);
    return rc;
}

/* One step of a walk over the customers that are not deleted (the directory's name index,
 * FOLIO_DIR_NAME, opened with folio_proj__iter_init): the next one's card into `card`.
 * FOLIO_OK, FOLIO_ITEROVER past the last, or an error. */
static int next_customer(folio_dir_rec *card, folio_proj_iter *it, folio_proj_txn *dir) {
    const void *k, *v;
    size_t kn, vn;
    int rc = folio_proj__iter_next(it, &k, &kn, &v, &vn);
    if (rc < 0 || rc == FOLIO_ITEROVER) return rc;
    if (vn != 8) return folio_error__set(FOLIO_ECORRUPT, "directory index value is malformed");
    return folio_directory__get(card, dir, folio__get_be64(v));
}

typedef struct {
    int32_t as_of;
    uint32_t overdue;
    folio_mpw docs; /* [{doc, due, open}] of the overdue invoices (at most 50 listed) */
    const char *cur;
} overdue_scan;

static int scan_overdue(const folio_doc_rec *r, void *arg) {
    overdue_scan *s = arg;
    if (r->kind != FOLIO_DOC_INVOICE || r->open <= 0 || r->due >= s->as_of) return FOLIO_OK;
    if (s->overdue++ < 50) {
        folio_mpw__map(&s->docs, 3);
        folio_mpw__kstr(&s->docs, "doc", r->doc);
        put_date(&s->docs, "due", r->due);
        put_money(&s->docs, "open", r->open, s->cur);
    }
    return FOLIO_OK;
}

/* Stage a past_due hold change of `customer` with its evidence: the as-of date and the
 * invoices open and due before it (the first 50 listed, from s->docs). */
static void stage_past_due_hold(folio_cmd *c, uint64_t customer, int place, const char *reason,
                                const overdue_scan *s) {
    folio_mpw *p = stage_hold(c, customer, place, reason);
    folio_mpw__map(p, 2);
    folio_mpw__kstr(p, "rule", "past_due");
    folio_mpw__str(p, "evidence");
    folio_mpw__map(p, 2);
    put_date(p, "as_of", s->as_of);
    folio_mpw__str(p, "overdue");
    folio_mpw__array(p, s->overdue < 50 ? s->overdue : 50);
    folio_mpw__raw(p, s->docs.buf, s->docs.len);
}

typedef struct {
    int32_t as_of;
    uint64_t placed, released, on_hold; /* this pass (a retried transaction starts over) */
} check_args;

/* One pass: stage up to the command's capacity of hold changes; the caller repeats until a
 * pass changes nothing. */
static int credit_check_fn(folio_cmd *c, void *arg) {
    check_args *a = arg;
    folio_settings set;
    folio_proj_txn rec;
    folio_proj_iter it;
    uint8_t prefix = FOLIO_DIR_NAME;
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    int rc = folio_directory__settings(&set, &c->dir);
    if (rc < 0) goto done;
    if (strcmp(set.credit_control, "past-due") != 0 && strcmp(set.credit_control, "both") != 0) {
        rc = folio_error__set(FOLIO_ERULE, "credit control is '%s': credit-check needs past-due "
                                           "or both (folio init --credit-control)",
                              set.credit_control);
        goto done;
    }
    folio_projection__txn(&rec, c->txn, "receivables", NULL);
    a->placed = a->released = a->on_hold = 0;
    folio_proj__iter_init(&it, &c->dir, &prefix, 1);
    while ((rc = next_customer(card, &it, &c->dir)) == FOLIO_OK) {
        char cur[4] = "";
        if (card->currency.s && card->currency.n == 3) memcpy(cur, card->currency.s, 3);
        overdue_scan s = {a->as_of, 0, {0}, cur};
        folio_mpw__init(&s.docs);
        rc = cur[0] ? folio_receivables__open_items(&rec, card->id, scan_overdue, &s) : FOLIO_OK;
        if (rc == FOLIO_OK) rc = folio_mpw__finish(&s.docs); /* out of memory: say so */
        int held = (card->credit_holds & FOLIO_HOLD_PAST_DUE) != 0;
        int overdue = s.overdue > 0;
        if (rc == FOLIO_OK && overdue != held && c->count < FOLIO_CMD_EVENTS_MAX) {
            stage_past_due_hold(c, card->id, overdue,
                                overdue ? "open invoices past due" : "nothing past due", &s);
            c->primary = card->id;
            if (overdue)
                a->placed++;
            else
                a->released++;
        }
        if (overdue) a->on_hold++;
        folio_mpw__free(&s.docs);
        if (rc < 0) break;
    }
    folio_proj__iter_close(&it);
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
done:
    return rc;
}

int folio_credit_check(folio_credit_check_result *out, folio_db *db, const folio_write_opts *w,
                       const char *as_of) {
    folio_credit_check_result res = {0, 0, 0};
    check_args a = {0, 0, 0, 0};
    if (!out || !w) return folio_error__set(FOLIO_EINVAL, "credit-check: NULL argument");
    *out = res;
    /* A safety option the check cannot honour is refused, not dropped: the caller would
     * believe it held. */
    if (w->idempotency_key)
        return folio_error__set(FOLIO_EINVAL,
                                "credit-check takes no idempotency key: it writes holds of many "
                                "customers in several transactions, which one key cannot stand "
                                "for; running it again is safe (it changes only holds that are "
                                "out of date)");
    if (w->has_expected_version)
        return folio_error__set(FOLIO_EINVAL,
                                "credit-check takes no expected version: it writes to many "
                                "customers, not to one stream whose version could be expected");
    int rc = parse_date(&a.as_of, as_of, "as-of date");
    if (rc < 0) return rc;
    /* Each pass is one transaction of at most FOLIO_CMD_EVENTS_MAX hold changes. */
    for (;;) {
        folio_write_result wr;
        folio_mpw req;
        uint8_t req_buf[FOLIO_REQUEST_STACK_BYTES];
        uint64_t before = res.placed + res.released;
        folio_mpw__init_spill(&req, req_buf, sizeof req_buf);
        folio_mpw__array(&req, 2);
        folio_mpw__str(&req, "credit-check");
        folio_mpw__i64(&req, a.as_of);
        FOLIO_ASSERT(w->idempotency_key == NULL); /* refused above */
        FOLIO_ASSERT(!w->has_expected_version);
        rc = folio_cmd__run(&wr, db, w, &req, credit_check_fn, &a);
        folio_mpw__free(&req);
        if (rc < 0) break;
        res.placed += a.placed;
        res.released += a.released;
        res.on_hold = a.on_hold;
        if (res.placed + res.released - before < FOLIO_CMD_EVENTS_MAX) break;
    }
    *out = res; /* on an error: what the passes before it committed */
    return rc < 0 ? rc : FOLIO_OK;
}

/* ---------------------------------------------------------------------------------------
 * A change of the credit control (folio_ledger_init)
 * ------------------------------------------------------------------------------------- */

int folio_docs__settings_holds(folio_cmd *c, const folio_settings *from, const folio_settings *to) {
    /* What the new setting asks of the holds in force: none of a rule it no longer checks
     * (a hold left stale by an older folio is released too), and when the limit is newly
     * checked, a credit_limit hold exactly on the customers above their limit, as the next
     * append would place it. Past-due holds are placed by folio_credit_check only. */
    const int release_limit = !checks_limit(to);
    const int check_limit = checks_limit(to) && !checks_limit(from);
    const int release_past = !checks_past_due(to);
    if (!release_limit && !check_limit && !release_past) return FOLIO_OK;
    folio_proj_txn rec;
    folio_proj_iter it;
    uint8_t prefix = FOLIO_DIR_NAME; /* the customers that are not deleted */
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_MAIN];
    const int32_t today = folio_date_today();
    const size_t staged_before = c->count;
    int rc;
    folio_projection__txn(&rec, c->txn, "receivables", NULL);
    folio_proj__iter_init(&it, &c->dir, &prefix, 1);
    /* Bounded by the customers in the ledger: each is read once and gets at most two hold
     * changes (one per rule). */
    while ((rc = next_customer(card, &it, &c->dir)) == FOLIO_OK) {
        /* (a deleted customer is not in the name index, and takes no event) */
        if (card->deleted_seq || !card->currency.s || card->currency.n != 3) continue;
        if ((rc = folio_cmd__reserve(c, 2)) < 0) break;
        char cur[4];
        memcpy(cur, card->currency.s, 3);
        cur[3] = '\0';
        if (release_limit && (card->credit_holds & FOLIO_HOLD_CREDIT_LIMIT)) {
            int64_t limit;
            if ((rc = parse_limit(&limit, card->credit_limit, cur)) < 0) break;
            stage_limit_hold(c, card->id, 0, "credit control no longer checks the credit limit",
                             card->balance, limit, cur);
        }
        if (check_limit &&
            (rc = folio_docs__limit_check(c, card, card->credit_limit, to, card->balance)) < 0)
            break;
        if (release_past && (card->credit_holds & FOLIO_HOLD_PAST_DUE)) {
            /* the evidence a credit check gives: the invoices open and due before today */
            overdue_scan s = {today, 0, {0}, cur};
            folio_mpw__init(&s.docs);
            rc = folio_receivables__open_items(&rec, card->id, scan_overdue, &s);
            if (rc == FOLIO_OK) rc = folio_mpw__finish(&s.docs);
            if (rc == FOLIO_OK)
                stage_past_due_hold(c, card->id, 0,
                                    "credit control no longer checks past-due invoices", &s);
            folio_mpw__free(&s.docs);
            if (rc < 0) break;
        }
    }
    folio_proj__iter_close(&it);
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
    FOLIO_ASSERT(c->count >= staged_before);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * The invariant of SPEC section 4: open invoices - open credits - unallocated payments
 * = balance. Checked after every write in debug builds (O(open items of the customer)).
 * ------------------------------------------------------------------------------------- */

static int sum_open(const folio_doc_rec *r, void *arg) {
    int64_t *sum = arg;
    int64_t v = r->kind == FOLIO_DOC_INVOICE ? r->open : -r->open; /* refunds are never open */
    if (__builtin_add_overflow(*sum, v, sum)) return folio_error__set(FOLIO_ERROR, "overflow");
    return FOLIO_OK;
}

int folio_docs__check_invariant(folio_txn *t, uint64_t customer) {
    /* The card is too big for the stack and a write allocates nothing once warm
     * (tests/alloc): one per thread, as a thread runs one write transaction at a time. */
    static _Thread_local folio_dir_rec card_buf;
    folio_dir_rec *card = &card_buf;
    folio_proj_txn dir, rec;
    int64_t open = 0;
    folio_projection__txn(&dir, t, "directory", NULL);
    folio_projection__txn(&rec, t, "receivables", NULL);
    int rc = folio_directory__get(card, &dir, customer);
    if (rc == FOLIO_OK && card->deleted_seq == 0 && card->currency.s)
        rc = folio_receivables__open_items(&rec, customer, sum_open, &open);
    if (rc == FOLIO_OK && card->deleted_seq == 0 && card->currency.s) FOLIO_ASSERT(open == card->balance);
    return rc == FOLIO_ENOTFOUND ? FOLIO_OK : rc;
}
