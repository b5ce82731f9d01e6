/*
 * engine/statement.c - the statement of a customer (SPEC section 5) and admission (section 4).
 * A statement is a replay: the customer's events up to `at_seq`, folded with business dates
 * up to `as_of` (documents, allocations and refunds dated after it do not count). Documents
 * merged in from another customer are replayed from that customer's own events up to the
 * merge, so their open amounts as of any date are exact.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../projections/directory.h"
#include "../projections/receivables.h"
#include "internal.h"
#include "mp.h"

/* Merges nest (A absorbed B, which had absorbed C ...): bound the recursion. */
#define MERGE_DEPTH_MAX 64u
#define LINE_TEXT_BYTES 192u

typedef struct {
    char kind;
    char doc[FOLIO_DOC_BYTES_MAX + 1];
    int32_t date, due;
    int64_t amount, open;
    uint64_t seq;
} st_item;

typedef struct {
    st_item *v;
    size_t count, cap;
} st_items;

static int push(st_items *l, const st_item *it) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        st_item *v = realloc(l->v, cap * sizeof *v);
        if (!v) return folio_error__set(FOLIO_ERROR, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->count++] = *it;
    return FOLIO_OK;
}

static st_item *find(st_items *l, char kind, const char *doc, size_t n) {
    for (size_t i = l->count; i-- > 0;)
        if (l->v[i].kind == kind && strlen(l->v[i].doc) == n && memcmp(l->v[i].doc, doc, n) == 0)
            return &l->v[i];
    return NULL;
}

static int text(char *out, size_t cap, const folio_mpr *p, const char *key) {
    folio_mpr v;
    const char *s;
    size_t n;
    out[0] = '\0';
    if (folio_mpr__find(&v, p, key) != FOLIO_OK || folio_mpr__str(&v, &s, &n) < 0 || !s ||
        n >= cap)
        return FOLIO_ENOTFOUND;
    memcpy(out, s, n);
    out[n] = '\0';
    return FOLIO_OK;
}

static int read_doc_fields(st_item *it, const folio_mpr *p, const char *cur, uint64_t seq) {
    char buf[FOLIO_MONEY_TEXT_MAX + 8];
    if (text(it->doc, sizeof it->doc, p, "doc") < 0) return FOLIO_CORRUPT(seq, "document without a number");
    if (text(buf, sizeof buf, p, "date") < 0 || folio_date_parse(&it->date, buf) < 0)
        return FOLIO_CORRUPT(seq, "document without a valid date");
    it->due = it->date;
    if (text(buf, sizeof buf, p, "due") == FOLIO_OK && folio_date_parse(&it->due, buf) < 0)
        return FOLIO_CORRUPT(seq, "document with an invalid due date");
    if (text(buf, sizeof buf, p, "amount") < 0 || folio_money_parse(&it->amount, buf, cur) < 0)
        return FOLIO_CORRUPT(seq, "document without a valid amount");
    it->seq = seq;
    return FOLIO_OK;
}

static int fold_stream(st_items *items, folio_db *db, uint64_t stream, uint64_t at_seq,
                       int32_t as_of, const char *cur, unsigned depth) {
    folio_iter *it = NULL;
    const folio_event *e;
    char buf[FOLIO_MONEY_TEXT_MAX + 8], from[FOLIO_DOC_BYTES_MAX + 1], to[FOLIO_DOC_BYTES_MAX + 1];
    int rc = folio_stream_open(&it, db, stream, 0, at_seq);
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK;
    if (rc < 0) return rc;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        folio_mpr p;
        st_item item = {0};
        int32_t date;
        int64_t amount;
        char kind = 0;
        switch (e->type) {
        case FOLIO_EV_INVOICE_ISSUED: kind = FOLIO_DOC_INVOICE; break;
        case FOLIO_EV_CREDIT_NOTE_ISSUED: kind = FOLIO_DOC_CREDIT_NOTE; break;
        case FOLIO_EV_PAYMENT_RECEIVED: kind = FOLIO_DOC_PAYMENT; break;
        case FOLIO_EV_ALLOCATION_MADE:
        case FOLIO_EV_REFUND_ISSUED:
        case FOLIO_EV_CUSTOMER_MERGED_FROM: break;
        default: continue;
        }
        if ((rc = folio_mpr__open(&p, e->payload, e->payload_bytes)) < 0) break;
        if (kind) {
            item.kind = kind;
            if ((rc = read_doc_fields(&item, &p, cur, e->seq)) < 0) break;
            item.open = item.amount;
            if (item.date <= as_of && (rc = push(items, &item)) < 0) break;
            continue;
        }
        if (e->type == FOLIO_EV_CUSTOMER_MERGED_FROM) {
            folio_mpr v, list;
            uint64_t source;
            uint32_t n = 0;
            st_items sub = {0};
            if (depth >= MERGE_DEPTH_MAX) {
                rc = FOLIO_CORRUPT(e->seq, "merges nest deeper than %u", MERGE_DEPTH_MAX);
                break;
            }
            if (folio_mpr__find(&v, &p, "source_id") != FOLIO_OK || folio_mpr__u64(&v, &source) < 0 ||
                folio_mpr__find(&list, &p, "documents") != FOLIO_OK ||
                folio_mpr__array(&list, &n) < 0) {
                rc = FOLIO_CORRUPT(e->seq, "merge without source or documents");
                break;
            }
            rc = fold_stream(&sub, db, source, e->seq, as_of, cur, depth + 1);
            /* Every document of the merged customer comes along, as of the statement date:
             * those still open at the merge moved (the list above), and the ones settled
             * before it were part of the same account on earlier dates. */
            (void)n;
            for (size_t i = 0; rc == FOLIO_OK && i < sub.count; i++) rc = push(items, &sub.v[i]);
            free(sub.v);
            if (rc < 0) break;
            continue;
        }
        /* allocation.made or refund.issued: both reduce what is open, as of their date */
        if (text(buf, sizeof buf, &p, "date") < 0 || folio_date_parse(&date, buf) < 0 ||
            text(buf, sizeof buf, &p, "amount") < 0 || folio_money_parse(&amount, buf, cur) < 0 ||
            text(from, sizeof from, &p, "from") < 0 || text(buf, sizeof buf, &p, "from_kind") < 0) {
            rc = FOLIO_CORRUPT(e->seq, "allocation or refund is malformed");
            break;
        }
        if (date > as_of) continue;
        st_item *src = find(items, folio_doc_kind_parse(buf, strlen(buf)), from, strlen(from));
        if (src) src->open -= amount;
        if (e->type == FOLIO_EV_ALLOCATION_MADE) {
            if (text(to, sizeof to, &p, "to") < 0) {
                rc = FOLIO_CORRUPT(e->seq, "allocation without an invoice");
                break;
            }
            st_item *inv = find(items, FOLIO_DOC_INVOICE, to, strlen(to));
            if (inv) inv->open -= amount;
        }
    }
    folio_iter_free(it);
    return rc == FOLIO_ITEROVER ? FOLIO_OK : rc;
}

static int by_date_then_seq(const void *x, const void *y) {
    const st_item *a = x, *b = y;
    if (a->date != b->date) return a->date < b->date ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static int bucket(int64_t days_overdue) {
    if (days_overdue <= 0) return FOLIO_AGING_CURRENT;
    if (days_overdue <= 30) return FOLIO_AGING_1_30;
    if (days_overdue <= 60) return FOLIO_AGING_31_60;
    if (days_overdue <= 90) return FOLIO_AGING_61_90;
    return FOLIO_AGING_90_PLUS;
}

static int add(int64_t *acc, int64_t v) {
    if (__builtin_add_overflow(*acc, v, acc))
        return folio_error__set(FOLIO_ERROR, "statement total overflows");
    return FOLIO_OK;
}

int folio_statement_get(folio_statement **out, folio_db *db, const char *ref, const char *as_of,
                        const char *from, uint64_t at_seq) {
    folio_customer *cu = NULL;
    st_items items = {0};
    int32_t as_of_days, from_days = INT32_MIN;
    int rc;
    if (!out || !db || !ref) return folio_error__set(FOLIO_EINVAL, "statement: NULL argument");
    *out = NULL;
    as_of_days = folio_date_today();
    if (as_of && folio_date_parse(&as_of_days, as_of) < 0)
        return folio_error__set(FOLIO_EINVAL, "--as-of: %s", folio_errmsg());
    if (from && folio_date_parse(&from_days, from) < 0)
        return folio_error__set(FOLIO_EINVAL, "--from: %s", folio_errmsg());
    if (from && from_days > as_of_days)
        return folio_error__set(FOLIO_EINVAL, "--from %s is after the statement date", from);
    /* the card says which seq it is as known at (the head, or the end of the command that
     * wrote at_seq); the documents are folded as known at the same seq */
    if ((rc = folio_customer_get(&cu, db, ref, at_seq, 0)) < 0) return rc;
    FOLIO_ASSERT(cu->at_seq >= at_seq);
    at_seq = cu->at_seq;
    if (!cu->currency) {
        folio_customer_free(cu);
        return folio_error__set(FOLIO_ENOTFOUND, "%s has no currency as of seq %llu", ref,
                                (unsigned long long)at_seq);
    }
    rc = fold_stream(&items, db, cu->id, at_seq, as_of_days, cu->currency, 0);
    if (rc < 0) goto cleanup;
    if (items.count > 1) qsort(items.v, items.count, sizeof items.v[0], by_date_then_seq);

    size_t nlines = 0;
    int64_t opening = 0, total = 0, aging[FOLIO_AGING_BUCKETS] = {0};
    for (size_t i = 0; i < items.count; i++) {
        const st_item *it = &items.v[i];
        FOLIO_ASSERT(it->open >= 0);
        if (it->open == 0) continue;
        int64_t signed_open = folio_doc_signed(it->kind, it->open);
        int64_t overdue = it->kind == FOLIO_DOC_INVOICE ? (int64_t)as_of_days - it->due : 0;
        if ((rc = add(&total, signed_open)) < 0 || (rc = add(&aging[bucket(overdue)], signed_open)) < 0)
            goto cleanup;
        if (from && it->date < from_days) {
            if ((rc = add(&opening, signed_open)) < 0) goto cleanup;
        } else {
            nlines++;
        }
    }

    size_t size = sizeof(folio_statement) + nlines * sizeof(folio_statement_line) +
                  nlines * LINE_TEXT_BYTES + 1024 + strlen(cu->ref) + strlen(cu->name);
    folio_statement *s = calloc(1, size);
    if (!s) {
        rc = folio_error__set(FOLIO_ERROR, "out of memory");
        goto cleanup;
    }
    folio_statement_line *lines = (folio_statement_line *)(s + 1);
    char *txt = (char *)(lines + nlines), *end = (char *)s + size;
#define PUT(dst, ...)                                                                       \
    do {                                                                                    \
        int n_ = snprintf(txt, (size_t)(end - txt), __VA_ARGS__);                          \
        FOLIO_ASSERT(n_ >= 0 && txt + n_ < end);                                            \
        (dst) = txt;                                                                        \
        txt += n_ + 1;                                                                      \
    } while (0)
#define MONEY(dst, minor)                                                                   \
    do {                                                                                    \
        char m_[FOLIO_MONEY_TEXT_MAX];                                                      \
        folio_money_format(m_, sizeof m_, (minor), cu->currency);                           \
        PUT(dst, "%s", m_);                                                                 \
    } while (0)
    char date[11];
    PUT(s->ref, "%s", cu->ref);
    PUT(s->name, "%s", cu->name);
    PUT(s->currency, "%s", cu->currency);
    folio_date_format(date, as_of_days);
    PUT(s->as_of, "%s", date);
    if (from) {
        folio_date_format(date, from_days);
        PUT(s->from, "%s", date);
        MONEY(s->opening_balance, opening);
    }
    s->opening_balance_minor = opening;
    MONEY(s->total_open, total);
    s->total_open_minor = total;
    for (int b = 0; b < FOLIO_AGING_BUCKETS; b++) {
        MONEY(s->aging[b], aging[b]);
        s->aging_minor[b] = aging[b];
    }
    size_t k = 0;
    for (size_t i = 0; i < items.count; i++) {
        const st_item *it = &items.v[i];
        if (it->open == 0 || (from && it->date < from_days)) continue;
        folio_statement_line *l = &lines[k++];
        int invoice = it->kind == FOLIO_DOC_INVOICE;
        folio_date_format(date, it->date);
        PUT(l->date, "%s", date);
        PUT(l->doc, "%s", it->doc);
        PUT(l->kind, "%s", folio_doc_kind_name(it->kind));
        l->amount_minor = invoice ? it->amount : -it->amount;
        l->open_minor = invoice ? it->open : -it->open;
        MONEY(l->amount, l->amount_minor);
        MONEY(l->open, l->open_minor);
        if (invoice) {
            folio_date_format(date, it->due);
            PUT(l->due, "%s", date);
            int64_t d = (int64_t)as_of_days - it->due;
            l->days_overdue = d > 0 ? d : 0;
        }
        l->seq = it->seq;
    }
#undef PUT
#undef MONEY
    FOLIO_ASSERT(k == nlines);
    s->lines = lines;
    s->line_count = nlines;
    s->at_seq = at_seq;
    *out = s;
cleanup:
    free(items.v);
    folio_customer_free(cu);
    return rc;
}

void folio_statement_free(folio_statement *s) { free(s); }

int folio_admit(folio_admission *out, folio_db *db, const char *ref, const char *doc_kind) {
    folio_customer *cu = NULL;
    folio_settings set;
    if (!out || !db || !ref || !doc_kind) return folio_error__set(FOLIO_EINVAL, "admit: NULL argument");
    memset(out, 0, sizeof *out);
    int sales_order = strcmp(doc_kind, "sales-order") == 0;
    if (!sales_order && strcmp(doc_kind, "cash-sale") != 0)
        return folio_error__set(FOLIO_EINVAL, "--doc is sales-order or cash-sale, not '%s'", doc_kind);
    int rc = folio_customer_get(&cu, db, ref, 0, 1);
    if (rc == FOLIO_OK) rc = folio_settings_get(&set, db);
    if (rc < 0) {
        folio_customer_free(cu);
        return rc;
    }
    if (cu->deleted) {
        out->verdict = "deny";
        out->reasons[out->reason_count++] = "deleted";
    } else if (strcmp(cu->status, "inactive") == 0) {
        out->verdict = "deny";
        out->reasons[out->reason_count++] = "inactive";
    } else if (!cu->on_hold) {
        out->verdict = "allow";
    } else {
        for (size_t i = 0; i < cu->hold_count && out->reason_count < 6; i++) {
            const char *r = cu->hold_reasons[i];
            out->reasons[out->reason_count++] = strcmp(r, "status") == 0 ? "status"
                                                : strcmp(r, "credit_limit") == 0 ? "credit_limit"
                                                                                 : "past_due";
        }
        const char *policy = set.on_hold_policy;
        int pending = strcmp(policy, "pending-orders") == 0 ||
                      strcmp(policy, "pending-orders-and-cash-sales") == 0;
        int cash = strcmp(policy, "cash-sales") == 0 ||
                   strcmp(policy, "pending-orders-and-cash-sales") == 0;
        out->verdict = sales_order ? (pending ? "pending" : "deny") : (cash ? "allow" : "deny");
        out->reasons[out->reason_count++] =
            strcmp(policy, "allow-nothing") == 0   ? "policy:allow-nothing"
            : strcmp(policy, "pending-orders") == 0 ? "policy:pending-orders"
            : strcmp(policy, "cash-sales") == 0     ? "policy:cash-sales"
                                                    : "policy:pending-orders-and-cash-sales";
    }
    folio_customer_free(cu);
    return FOLIO_OK;
}
