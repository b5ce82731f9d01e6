/*
 * tests/reliability/crash/crash_commands.c - SIGKILL a writer process at random moments
 * while it runs commands that carry idempotency keys, then prove "nothing lost" (issue 7,
 * crash).
 *
 * Usage: crash_commands FOLIO_CLI SCRATCH_DIR
 *   FOLIO_CRASH_SEED=N   replay a run (the seed is printed first)
 *   FOLIO_CRASH_KILLS=N  number of kills (default 50; FOLIO_LONG=1: 500)
 *   FOLIO_CRASH_SABOTAGE=early-ack  acknowledge before the call (the self-test: must fail)
 *
 * The plan. A seeded generator writes a plan of commands, each with its own idempotency key
 * ("k0000042"): customer creations (with a given ref), status changes (delete included),
 * contacts, notes, invoices, credit notes, payments allocated to given invoices or
 * automatically, allocations and refunds; about one unit in ten is a group of 2-4 commands
 * run as one folio_batch_run(). The generator keeps a small model of the ledger (status,
 * balance and open amount of every document) so that every command is valid when the
 * commands before it have all happened, and it knows how many events (and of which types)
 * each command writes. Credit control is off, so no command writes events of its own accord.
 *
 * A round. The parent (which never opens a ledger) forks a writer that opens the ledger and
 * runs the plan from the first command not yet acknowledged. Before each unit it sends
 * "B i" through a pipe and, only after the call returned FOLIO_OK, "A i seq replayed" for
 * every command of the unit in one write (atomic). The parent SIGKILLs it: after a random
 * delay, or a random time after the j-th "B" (so the kill lands inside a call, usually in
 * its commit), or within the first 3 ms (inside the open). Then, in fresh processes:
 *   1. a checker (a forked child that opens the ledger anew, read-only, so that nothing is
 *      repaired before it looks) scans the whole log and counts the events of every key:
 *      each acknowledged command has exactly its events, its last seq is the acknowledged
 *      seq; the unit in flight has all of its events or none (a batch: all of its commands
 *      or none); nothing after it is there; no event without a plan key; the stats per event
 *      type equal the plan's. It replays the model up to what landed and compares the
 *      customers the round touched, those of the unit in flight, and a random sample:
 *      status, balance, and the statement's open items (a payment with its allocations is
 *      there whole or not at all);
 *   2. the checker, now read-write, retries the unit in flight with its keys: it must replay
 *      (replayed = 1, same seq, nothing appended) when it had landed, and append exactly its
 *      events once when it had not; it resubmits a few acknowledged commands, which must
 *      replay and append nothing;
 *   3. `folio verify` and `folio check` exit 0;
 *   4. the next round's writer shows that new writes are accepted.
 * At the end a writer runs 30 more units to completion, and a full check compares every
 * customer and resubmits every acknowledged command.
 * Summary line: "crash_commands: kills=K acked=A retried=R ...".
 */
#include <folio.h>
#include <poll.h>

#include "crash_util.h"

/* ---------------------------------------------------------------------------------------
 * The model and the plan
 * ------------------------------------------------------------------------------------- */
enum { ST_PROSPECT, ST_ACTIVE, ST_HOLD, ST_INACTIVE, ST_DELETED };
static const char *const ST_NAME[] = {"prospect", "active", "hold", "inactive", "deleted"};

enum { D_INV, D_CN, D_PAY, D_RF };
static const char D_PREFIX[] = {'I', 'N', 'P', 'F'};

enum {
    C_CREATE,
    C_STATUS,
    C_CONTACT,
    C_NOTE,
    C_INVOICE,
    C_CREDIT,
    C_PAY,
    C_ALLOC,
    C_REFUND,
    C_MERGE,
    C_TYPES
};
static const char *const C_NAME[] = {"create", "status", "contact", "note", "invoice",
                                     "credit-note", "payment", "allocate", "refund", "merge"};

typedef struct {
    uint32_t *v;
    uint32_t n, cap;
} u32vec;

static void vec_push(u32vec *x, uint32_t v) {
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 8;
        x->v = realloc(x->v, x->cap * sizeof *x->v);
        if (!x->v) crash_fail("out of memory");
    }
    x->v[x->n++] = v;
}

typedef struct {
    uint8_t kind;
    uint32_t cust;
    int64_t amount, open;
} mdoc;

typedef struct {
    uint8_t status;
    int64_t balance;
    uint32_t contacts;
    u32vec docs; /* document indexes in issue order */
} mcust;

typedef struct {
    mcust *c;
    uint32_t nc, capc;
    mdoc *d;
    uint32_t nd, capd;
} model;

typedef struct {
    uint8_t type;
    uint8_t status;       /* create: the first status; status: the new one */
    uint8_t nto;          /* payment: explicit allocations */
    uint8_t auto_alloc;   /* payment: allocate automatically */
    uint8_t from_kind;    /* allocate, refund: kind of the source document */
    uint16_t unit_len;    /* commands of the unit this one starts (0: not a start) */
    uint32_t unit_start;  /* first command of its unit */
    uint32_t cust;        /* merge: KEEP */
    uint32_t doc;         /* the new document (invoice, credit note, payment, refund) */
    uint32_t from;        /* allocate, refund: the source document; merge: DELETE */
    uint32_t to[2];       /* payment explicit allocations; allocate: to[0] */
    int64_t to_amt[2];
    int64_t amount;
    uint32_t events;      /* events the command writes */
} cmd;

typedef struct {
    cmd *v;
    uint32_t n, cap;
} plan_t;

static plan_t plan;
static model gen; /* the generator's model: the state after the whole plan */
static crash_rng gen_rng;

static void model_free(model *m) {
    for (uint32_t i = 0; i < m->nc; i++) free(m->c[i].docs.v);
    free(m->c);
    free(m->d);
    memset(m, 0, sizeof *m);
}

static uint32_t model_new_doc(model *m, uint8_t kind, uint32_t cust, int64_t amount) {
    if (m->nd == m->capd) {
        m->capd = m->capd ? m->capd * 2 : 256;
        m->d = realloc(m->d, m->capd * sizeof *m->d);
        if (!m->d) crash_fail("out of memory");
    }
    m->d[m->nd] = (mdoc){kind, cust, amount, kind == D_RF ? 0 : amount};
    vec_push(&m->c[cust].docs, m->nd);
    return m->nd++;
}

/* Apply one command to a model. The generator chose it valid for this state. */
static void model_apply(model *m, const cmd *c) {
    switch (c->type) {
    case C_CREATE:
        if (m->nc == m->capc) {
            m->capc = m->capc ? m->capc * 2 : 64;
            m->c = realloc(m->c, m->capc * sizeof *m->c);
            if (!m->c) crash_fail("out of memory");
        }
        if (c->cust != m->nc) crash_fail("plan: customer %u created out of order", c->cust);
        memset(&m->c[m->nc], 0, sizeof m->c[m->nc]);
        m->c[m->nc++].status = c->status;
        break;
    case C_STATUS: m->c[c->cust].status = c->status; break;
    case C_CONTACT: m->c[c->cust].contacts++; break;
    case C_NOTE: break;
    case C_INVOICE:
    case C_CREDIT: {
        uint8_t kind = c->type == C_INVOICE ? D_INV : D_CN;
        if (model_new_doc(m, kind, c->cust, c->amount) != c->doc)
            crash_fail("plan: document %u out of order", c->doc);
        m->c[c->cust].balance += kind == D_INV ? c->amount : -c->amount;
        break;
    }
    case C_PAY: {
        if (model_new_doc(m, D_PAY, c->cust, c->amount) != c->doc)
            crash_fail("plan: document %u out of order", c->doc);
        m->c[c->cust].balance -= c->amount;
        mdoc *p = &m->d[c->doc];
        for (unsigned k = 0; k < c->nto; k++) {
            m->d[c->to[k]].open -= c->to_amt[k];
            p->open -= c->to_amt[k];
        }
        if (c->auto_alloc) {
            const u32vec *ds = &m->c[c->cust].docs;
            for (uint32_t k = 0; k < ds->n && p->open > 0; k++) {
                mdoc *inv = &m->d[ds->v[k]];
                if (inv->kind != D_INV || inv->open <= 0) continue;
                int64_t a = inv->open < p->open ? inv->open : p->open;
                inv->open -= a;
                p->open -= a;
            }
        }
        break;
    }
    case C_ALLOC:
        m->d[c->from].open -= c->to_amt[0];
        m->d[c->to[0]].open -= c->to_amt[0];
        break;
    case C_REFUND:
        if (model_new_doc(m, D_RF, c->cust, c->amount) != c->doc)
            crash_fail("plan: document %u out of order", c->doc);
        m->d[c->from].open -= c->amount;
        m->c[c->cust].balance += c->amount;
        break;
    case C_MERGE: {
        /* DELETE's open documents move to KEEP, merged into KEEP's list in issue order */
        mcust *keep = &m->c[c->cust], *del = &m->c[c->from];
        u32vec merged = {0}, left = {0};
        uint32_t a = 0, b = 0;
        for (;;) {
            while (b < del->docs.n && (m->d[del->docs.v[b]].kind == D_RF ||
                                       m->d[del->docs.v[b]].open == 0))
                vec_push(&left, del->docs.v[b++]);
            int take_keep = a < keep->docs.n &&
                            (b >= del->docs.n || keep->docs.v[a] < del->docs.v[b]);
            if (take_keep) {
                vec_push(&merged, keep->docs.v[a++]);
            } else if (b < del->docs.n) {
                m->d[del->docs.v[b]].cust = c->cust;
                vec_push(&merged, del->docs.v[b++]);
            } else {
                break;
            }
        }
        free(keep->docs.v);
        free(del->docs.v);
        keep->docs = merged;
        del->docs = left;
        keep->balance += del->balance;
        del->balance = 0;
        keep->contacts += del->contacts;
        del->status = ST_DELETED;
        break;
    }
    default: crash_fail("plan: unknown command type %u", c->type);
    }
}

/* A random customer that satisfies `ok`, or UINT32_MAX after a few tries. */
static uint32_t pick_customer(const model *m, crash_rng *r, int (*ok)(const model *, uint32_t)) {
    if (m->nc == 0) return UINT32_MAX;
    for (int t = 0; t < 12; t++) {
        uint32_t k = (uint32_t)rng_below(r, m->nc);
        /* favour recent customers so that documents pile up on fewer of them */
        if (t % 2 == 0 && m->nc > 20) k = m->nc - 1 - (uint32_t)rng_below(r, 20);
        if (ok(m, k)) return k;
    }
    return UINT32_MAX;
}

static int ok_alive(const model *m, uint32_t k) { return m->c[k].status != ST_DELETED; }
static int ok_invoiceable(const model *m, uint32_t k) {
    uint8_t s = m->c[k].status;
    return s == ST_PROSPECT || s == ST_ACTIVE || s == ST_HOLD;
}
static int ok_deletable(const model *m, uint32_t k) {
    uint8_t s = m->c[k].status;
    return m->c[k].docs.n == 0 && (s == ST_PROSPECT || s == ST_ACTIVE || s == ST_INACTIVE);
}
static int has_open(const model *m, uint32_t k, uint8_t kind1, uint8_t kind2) {
    const u32vec *ds = &m->c[k].docs;
    for (uint32_t i = 0; i < ds->n; i++) {
        const mdoc *d = &m->d[ds->v[i]];
        if ((d->kind == kind1 || d->kind == kind2) && d->open > 0) return 1;
    }
    return 0;
}
static int ok_payable(const model *m, uint32_t k) {
    return ok_alive(m, k) && has_open(m, k, D_INV, D_INV);
}
static int ok_source(const model *m, uint32_t k) {
    return ok_alive(m, k) && has_open(m, k, D_CN, D_PAY);
}
static int ok_allocatable(const model *m, uint32_t k) {
    return ok_source(m, k) && has_open(m, k, D_INV, D_INV);
}

/* A random open document of customer k of one of two kinds (it exists). */
static uint32_t pick_open(const model *m, crash_rng *r, uint32_t k, uint8_t kind1, uint8_t kind2) {
    const u32vec *ds = &m->c[k].docs;
    uint32_t cand[256], n = 0;
    for (uint32_t i = ds->n; i-- > 0 && n < 256;) {
        const mdoc *d = &m->d[ds->v[i]];
        if ((d->kind == kind1 || d->kind == kind2) && d->open > 0) cand[n++] = ds->v[i];
    }
    if (n == 0) crash_fail("plan: no open document where one was expected");
    return cand[rng_below(r, n)];
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Choose one command valid in state `m` (and apply nothing). */
static void choose(cmd *c, const model *m, crash_rng *r) {
    memset(c, 0, sizeof *c);
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t roll = rng_below(r, 100);
        uint32_t k;
        if (m->nc < 3 || roll < 14) break; /* create */
        if (roll < 22) {
            static const uint8_t next[4][3] = {{ST_ACTIVE, ST_HOLD, ST_INACTIVE},
                                               {ST_HOLD, ST_INACTIVE, ST_HOLD},
                                               {ST_ACTIVE, ST_INACTIVE, ST_ACTIVE},
                                               {ST_ACTIVE, ST_ACTIVE, ST_ACTIVE}};
            if ((k = pick_customer(m, r, ok_alive)) == UINT32_MAX) continue;
            c->type = C_STATUS;
            c->cust = k;
            c->status = next[m->c[k].status][rng_below(r, 3)];
            c->events = 1;
            return;
        }
        if (roll < 24) {
            if ((k = pick_customer(m, r, ok_deletable)) == UINT32_MAX) continue;
            c->type = C_STATUS;
            c->cust = k;
            c->status = ST_DELETED;
            c->events = 1;
            return;
        }
        if (roll >= 31 && roll < 33) {
            uint32_t del;
            if ((k = pick_customer(m, r, ok_alive)) == UINT32_MAX) continue;
            if ((del = pick_customer(m, r, ok_alive)) == UINT32_MAX || del == k) continue;
            if (m->c[k].contacts + m->c[del].contacts > FOLIO_CONTACTS_MAX) continue;
            c->type = C_MERGE;
            c->cust = k;
            c->from = del;
            c->events = 3 + m->c[del].contacts;
            return;
        }
        if (roll < 33) {
            if ((k = pick_customer(m, r, ok_alive)) == UINT32_MAX) continue;
            if (roll < 29 && m->c[k].contacts >= 40) continue;
            c->type = roll < 29 ? C_CONTACT : C_NOTE;
            c->cust = k;
            c->events = 1;
            return;
        }
        if (roll < 58) {
            if ((k = pick_customer(m, r, ok_invoiceable)) == UINT32_MAX) continue;
            c->type = C_INVOICE;
            c->cust = k;
            c->doc = m->nd;
            c->amount = rng_range(r, 1000, 99999);
            c->events = 1;
            return;
        }
        if (roll < 64) {
            if ((k = pick_customer(m, r, ok_alive)) == UINT32_MAX) continue;
            c->type = C_CREDIT;
            c->cust = k;
            c->doc = m->nd;
            c->amount = rng_range(r, 100, 20000);
            c->events = 1;
            return;
        }
        if (roll < 84) {
            if ((k = pick_customer(m, r, ok_payable)) == UINT32_MAX) continue;
            c->type = C_PAY;
            c->cust = k;
            c->doc = m->nd;
            c->amount = rng_range(r, 500, 150000);
            c->events = 1;
            if (rng_below(r, 3) == 0) { /* automatic: to the oldest open invoices */
                c->auto_alloc = 1;
                int64_t rem = c->amount;
                const u32vec *ds = &m->c[k].docs;
                for (uint32_t i = 0; i < ds->n && rem > 0; i++) {
                    const mdoc *d = &m->d[ds->v[i]];
                    if (d->kind != D_INV || d->open <= 0) continue;
                    rem -= min64(rem, d->open);
                    c->events++;
                }
                if (c->events > FOLIO_ALLOCATIONS_MAX) continue;
            } else { /* to one or two given open invoices */
                int64_t rem = c->amount;
                unsigned want = 1 + (unsigned)rng_below(r, 2);
                for (unsigned t = 0; t < want && rem > 0; t++) {
                    uint32_t inv = pick_open(m, r, k, D_INV, D_INV);
                    if (c->nto == 1 && inv == c->to[0]) break;
                    int64_t a = min64(m->d[inv].open, rng_range(r, 1, rem));
                    c->to[c->nto] = inv;
                    c->to_amt[c->nto++] = a;
                    rem -= a;
                    c->events++;
                }
            }
            return;
        }
        if (roll < 92) {
            if ((k = pick_customer(m, r, ok_allocatable)) == UINT32_MAX) continue;
            c->type = C_ALLOC;
            c->cust = k;
            c->from = pick_open(m, r, k, D_CN, D_PAY);
            c->from_kind = m->d[c->from].kind;
            c->to[0] = pick_open(m, r, k, D_INV, D_INV);
            c->nto = 1;
            c->to_amt[0] = min64(min64(m->d[c->from].open, m->d[c->to[0]].open),
                                 rng_range(r, 1, 80000));
            c->events = 1;
            return;
        }
        if ((k = pick_customer(m, r, ok_source)) == UINT32_MAX) continue;
        c->type = C_REFUND;
        c->cust = k;
        c->from = pick_open(m, r, k, D_CN, D_PAY);
        c->from_kind = m->d[c->from].kind;
        c->doc = m->nd;
        c->amount = rng_range(r, 1, m->d[c->from].open);
        c->events = 1;
        return;
    }
    memset(c, 0, sizeof *c);
    c->type = C_CREATE;
    c->cust = m->nc;
    c->status = rng_below(r, 4) == 0 ? ST_PROSPECT : ST_ACTIVE;
    c->events = 2;
}

/* Grow the plan (and the generator's model) to at least `n` commands. */
static void plan_extend(uint32_t n) {
    while (plan.n < n) {
        uint32_t len = rng_below(&gen_rng, 10) == 0 ? 2 + (uint32_t)rng_below(&gen_rng, 3) : 1;
        uint32_t start = plan.n;
        for (uint32_t k = 0; k < len; k++) {
            if (plan.n == plan.cap) {
                plan.cap = plan.cap ? plan.cap * 2 : 1024;
                plan.v = realloc(plan.v, plan.cap * sizeof *plan.v);
                if (!plan.v) crash_fail("out of memory");
            }
            cmd *c = &plan.v[plan.n];
            choose(c, &gen, &gen_rng);
            c->unit_start = start;
            c->unit_len = k == 0 ? (uint16_t)len : 0;
            model_apply(&gen, c);
            plan.n++;
        }
    }
}

/* Expected events per type id of command c. */
static void cmd_types(const cmd *c, uint64_t counts[64]) {
    switch (c->type) {
    case C_CREATE:
        counts[FOLIO_EV_CUSTOMER_CREATED]++;
        counts[FOLIO_EV_CUSTOMER_CURRENCY_SET]++;
        break;
    case C_STATUS: counts[FOLIO_EV_CUSTOMER_STATUS_CHANGED]++; break;
    case C_CONTACT: counts[FOLIO_EV_CUSTOMER_CONTACT_ADDED]++; break;
    case C_NOTE: counts[FOLIO_EV_CUSTOMER_NOTE_ADDED]++; break;
    case C_INVOICE: counts[FOLIO_EV_INVOICE_ISSUED]++; break;
    case C_CREDIT: counts[FOLIO_EV_CREDIT_NOTE_ISSUED]++; break;
    case C_PAY:
        counts[FOLIO_EV_PAYMENT_RECEIVED]++;
        counts[FOLIO_EV_ALLOCATION_MADE] += c->events - 1;
        break;
    case C_ALLOC: counts[FOLIO_EV_ALLOCATION_MADE]++; break;
    case C_REFUND: counts[FOLIO_EV_REFUND_ISSUED]++; break;
    case C_MERGE:
        counts[FOLIO_EV_CUSTOMER_MERGED_INTO]++;
        counts[FOLIO_EV_CUSTOMER_STATUS_CHANGED]++;
        counts[FOLIO_EV_CUSTOMER_CONTACT_ADDED] += c->events - 3;
        counts[FOLIO_EV_CUSTOMER_MERGED_FROM]++;
        break;
    default: break;
    }
}

static uint32_t cmd_first_type(const cmd *c) {
    static const uint32_t t[C_TYPES] = {
        FOLIO_EV_CUSTOMER_CREATED, FOLIO_EV_CUSTOMER_STATUS_CHANGED,
        FOLIO_EV_CUSTOMER_CONTACT_ADDED, FOLIO_EV_CUSTOMER_NOTE_ADDED,
        FOLIO_EV_INVOICE_ISSUED, FOLIO_EV_CREDIT_NOTE_ISSUED, FOLIO_EV_PAYMENT_RECEIVED,
        FOLIO_EV_ALLOCATION_MADE, FOLIO_EV_REFUND_ISSUED, FOLIO_EV_CUSTOMER_MERGED_INTO};
    return t[c->type];
}

/* ---------------------------------------------------------------------------------------
 * Running a command through the public API (writer, retry and resubmission alike: the same
 * arguments, byte for byte, so a repeat is recognised).
 * ------------------------------------------------------------------------------------- */
static void ref_name(char out[16], uint32_t cust) { snprintf(out, 16, "C%06u", cust + 1); }
static void doc_name(char out[16], uint8_t kind, uint32_t d) {
    snprintf(out, 16, "%c%07u", D_PREFIX[kind], d);
}
static void amount_text(char out[32], int64_t minor) {
    snprintf(out, 32, "%lld.%02lld", (long long)(minor / 100), (long long)(minor % 100));
}

static const char *const BASE_CURRENCY = "EUR";
static const char *const DOC_DATE = "2020-01-10";
static const char *const DOC_DUE = "2020-02-10";

static int exec_cmd(folio_write_result *res, folio_db *db, uint32_t i) {
    const cmd *c = &plan.v[i];
    char key[24], ref[16], doc[16], from[16], to0[16], to1[16], amt[32], a0[32], a1[32];
    char text[64], email[64];
    snprintf(key, sizeof key, "k%07u", i);
    ref_name(ref, c->cust);
    folio_write_opts w = {.actor = "crash", .idempotency_key = key};
    memset(res, 0, sizeof *res);
    switch (c->type) {
    case C_CREATE: {
        snprintf(text, sizeof text, "Customer %u", c->cust + 1);
        folio_customer_new n = {.name = text, .ref = ref, .status = ST_NAME[c->status]};
        return folio_customer_create(res, db, &w, &n);
    }
    case C_STATUS: return folio_customer_set_status(res, db, &w, ref, ST_NAME[c->status]);
    case C_CONTACT: {
        snprintf(text, sizeof text, "Contact %u", i);
        snprintf(email, sizeof email, "c%u@example.org", i);
        folio_contact_new n = {.name = text, .email = email, .role = "billing"};
        return folio_contact_add(res, db, &w, ref, &n);
    }
    case C_NOTE:
        snprintf(text, sizeof text, "note of command %u", i);
        return folio_note_add(res, db, &w, ref, text);
    case C_INVOICE:
    case C_CREDIT: {
        doc_name(doc, c->type == C_INVOICE ? D_INV : D_CN, c->doc);
        amount_text(amt, c->amount);
        folio_document_new d = {.amount = amt, .doc = doc, .date = DOC_DATE};
        if (c->type == C_CREDIT) return folio_credit_note_issue(res, db, &w, ref, &d);
        d.due = DOC_DUE;
        return folio_invoice_issue(res, db, &w, ref, &d);
    }
    case C_PAY: {
        doc_name(doc, D_PAY, c->doc);
        amount_text(amt, c->amount);
        folio_document_new d = {.amount = amt, .doc = doc, .date = DOC_DATE};
        folio_apply ap[2];
        doc_name(to0, D_INV, c->to[0]);
        doc_name(to1, D_INV, c->to[1]);
        amount_text(a0, c->to_amt[0]);
        amount_text(a1, c->to_amt[1]);
        ap[0] = (folio_apply){to0, a0};
        ap[1] = (folio_apply){to1, a1};
        return folio_payment_receive(res, db, &w, ref, &d, c->nto ? ap : NULL, c->nto,
                                     c->auto_alloc);
    }
    case C_ALLOC:
        doc_name(from, c->from_kind, c->from);
        doc_name(to0, D_INV, c->to[0]);
        amount_text(a0, c->to_amt[0]);
        return folio_allocate(res, db, &w, ref, from, to0, a0, NULL, 0);
    case C_MERGE:
        ref_name(text, c->from);
        return folio_customer_merge(res, db, &w, ref, text, 0, 0);
    case C_REFUND: {
        doc_name(from, c->from_kind, c->from);
        doc_name(doc, D_RF, c->doc);
        amount_text(amt, c->amount);
        folio_document_new d = {.amount = amt, .doc = doc};
        return folio_refund_issue(res, db, &w, ref, from, &d);
    }
    default: break;
    }
    return FOLIO_EINVAL;
}

/* A unit of several commands runs as one folio_batch_run(). */
typedef struct {
    uint32_t start, len;
    folio_write_result res[8];
    uint32_t failed; /* index of the failing command, when fn fails */
} unit_run;

static int unit_fn(folio_db *db, void *arg) {
    unit_run *u = arg;
    for (uint32_t k = 0; k < u->len; k++) {
        int rc = exec_cmd(&u->res[k], db, u->start + k);
        if (rc != FOLIO_OK) {
            u->failed = u->start + k;
            return rc;
        }
    }
    return FOLIO_OK;
}

/* Run the unit starting at `start` (alone or as a batch); on failure *failed names the
 * command and folio_errmsg() says why. */
static int exec_unit(unit_run *u, folio_db *db, uint32_t start) {
    memset(u, 0, sizeof *u);
    u->start = start;
    u->len = plan.v[start].unit_len;
    u->failed = start;
    if (u->len == 0 || u->len > 8) crash_fail("plan: command %u does not start a unit", start);
    if (u->len == 1) return exec_cmd(&u->res[0], db, start);
    return folio_batch_run(db, unit_fn, u, 0);
}

/* Write a line to the pipe in one write() (atomic: shorter than PIPE_BUF). */
static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) _exit(90);
    if (write(fd, buf, (size_t)n) != n) _exit(91);
}

static int open_ledger(folio_db **db, const char *path, int must_exist) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.must_exist = must_exist;
    return folio_db_open(db, path, &o);
}

/* A read-only open does not bring projections up to date: what it reads is what the crash
 * left (a read-write open would first repair projections that lag the log). */
static int open_read_only(folio_db **db, const char *path) {
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    o.read_only = 1;
    return folio_db_open(db, path, &o);
}

/* The writer child: runs units from `start` until the plan ends. */
static void writer_main(const char *path, uint32_t start, uint32_t end, int fd) {
    folio_db *db = NULL;
    int rc = open_ledger(&db, path, 1);
    if (rc != FOLIO_OK) {
        say(fd, "E %u %d open: %s\n", start, rc, folio_errmsg());
        _exit(2);
    }
    /* FOLIO_CRASH_SABOTAGE=early-ack: acknowledge each unit before running it (with the
     * seqs it is going to get), as a writer that acknowledges too early would; the checker
     * must then catch an acknowledged command that is not in the log (crash_commands_selftest) */
    const char *sabotage = getenv("FOLIO_CRASH_SABOTAGE");
    int early_ack = sabotage && strcmp(sabotage, "early-ack") == 0;
    for (uint32_t i = start; i < end;) {
        unit_run u;
        say(fd, "B %u\n", i);
        if (early_ack) {
            folio_stats st;
            if (folio_stats_get(&st, db) != FOLIO_OK) _exit(92);
            char buf[1024];
            size_t n = 0;
            uint64_t seq = st.events;
            for (uint32_t k = 0; k < plan.v[i].unit_len; k++) {
                seq += plan.v[i + k].events;
                n += (size_t)snprintf(buf + n, sizeof buf - n, "A %u %llu 0\n", i + k,
                                      (unsigned long long)seq);
            }
            if (write(fd, buf, n) != (ssize_t)n) _exit(91);
        }
        rc = exec_unit(&u, db, i);
        if (rc != FOLIO_OK) {
            say(fd, "E %u %d %s: %s\n", u.failed, rc, C_NAME[plan.v[u.failed].type],
                folio_errmsg());
            _exit(2);
        }
        char buf[1024];
        size_t n = 0;
        for (uint32_t k = 0; k < u.len; k++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "A %u %llu %d\n", i + k,
                                  (unsigned long long)u.res[k].seq, u.res[k].replayed);
        if (!early_ack && write(fd, buf, n) != (ssize_t)n) _exit(91);
        i += u.len;
    }
    folio_db_close(db);
    _exit(0);
}

/* ---------------------------------------------------------------------------------------
 * The parent's record of acknowledgements
 * ------------------------------------------------------------------------------------- */
static uint64_t *acked_seq; /* per command: the seq acknowledged, 0 = not acknowledged */
static uint32_t acked_cap;
static uint32_t acked_n; /* acknowledged prefix */

static void acked_reserve(uint32_t n) {
    if (n <= acked_cap) return;
    uint32_t cap = acked_cap ? acked_cap : 1024;
    while (cap < n) cap *= 2;
    acked_seq = realloc(acked_seq, cap * sizeof *acked_seq);
    if (!acked_seq) crash_fail("out of memory");
    memset(acked_seq + acked_cap, 0, (cap - acked_cap) * sizeof *acked_seq);
    acked_cap = cap;
}

/* One acknowledgement line "A i seq replayed" from `who`. */
static void take_ack(const char *line, const char *who, int writer) {
    unsigned i;
    unsigned long long seq;
    int replayed;
    if (sscanf(line, "A %u %llu %d", &i, &seq, &replayed) != 3)
        crash_fail("%s sent a malformed line '%s'", who, line);
    if (i != acked_n)
        crash_fail("%s acknowledged command %u, but the next unacknowledged one is %u", who, i,
                   acked_n);
    if (seq == 0) crash_fail("%s acknowledged command %u with seq 0", who, i);
    if (writer && replayed)
        crash_fail("the writer's first run of command %u (%s) was answered as a replay", i,
                   C_NAME[plan.v[i].type]);
    acked_reserve(i + 1);
    acked_seq[i] = seq;
    acked_n = i + 1;
}

/* ---------------------------------------------------------------------------------------
 * The checker (a fresh child process)
 * ------------------------------------------------------------------------------------- */
typedef struct {
    uint32_t *count;     /* events per plan command */
    uint64_t *last;      /* last seq per plan command */
    uint32_t *first_type;
    uint64_t events;
} scan_t;

/* Parse "k0000042" into 42; -1 when it is not a plan key. */
static int64_t key_index(const char *key) {
    if (!key || key[0] != 'k' || strlen(key) != 8) return -1;
    char *end = NULL;
    unsigned long v = strtoul(key + 1, &end, 10);
    return *end ? -1 : (int64_t)v;
}

static void scan_log(scan_t *s, folio_db *db, uint64_t from_seq) {
    folio_iter *it = NULL;
    int rc = folio_log_open(&it, db, from_seq, 0);
    if (rc != FOLIO_OK) crash_fail("checker: folio_log_open: %s: %s", folio_strerror(rc),
                                   folio_errmsg());
    const folio_event *e;
    uint64_t expect_seq = from_seq ? from_seq : 1;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        if (e->seq != expect_seq)
            crash_fail("checker: log gives seq %llu where %llu was expected",
                       (unsigned long long)e->seq, (unsigned long long)expect_seq);
        expect_seq++;
        s->events++;
        if (e->seq == 1 && e->idempotency_key && strcmp(e->idempotency_key, "setup") == 0)
            continue;
        int64_t i = key_index(e->idempotency_key);
        if (i < 0 || (uint64_t)i >= plan.n)
            crash_fail("checker: event seq %llu (%s) carries key '%s', which is no plan command",
                       (unsigned long long)e->seq, folio_event_type_name(e->type),
                       e->idempotency_key ? e->idempotency_key : "(none)");
        if (s->count[i] == 0) s->first_type[i] = e->type;
        s->count[i]++;
        s->last[i] = e->seq;
    }
    if (rc != FOLIO_ITEROVER)
        crash_fail("checker: reading the log: %s: %s", folio_strerror(rc), folio_errmsg());
    folio_iter_free(it);
}

/* Compare customer k of the model with the ledger: status, balance, statement open items. */
static void check_customer(folio_db *db, const model *m, uint32_t k) {
    char ref[16], want[32];
    ref_name(ref, k);
    const mcust *mc = &m->c[k];
    folio_customer *c = NULL;
    int rc = folio_customer_get(&c, db, ref, 0, 1);
    if (rc != FOLIO_OK)
        crash_fail("checker: customer %s: %s: %s", ref, folio_strerror(rc), folio_errmsg());
    if (strcmp(c->status, ST_NAME[mc->status]) != 0)
        crash_fail("checker: customer %s has status %s, expected %s", ref, c->status,
                   ST_NAME[mc->status]);
    if ((mc->status == ST_DELETED) != (c->deleted != 0))
        crash_fail("checker: customer %s deleted=%d, expected %d", ref, c->deleted,
                   mc->status == ST_DELETED);
    if (folio_money_format(want, sizeof want, mc->balance, BASE_CURRENCY) != FOLIO_OK)
        crash_fail("checker: money_format");
    if (!c->balance || strcmp(c->balance, want) != 0)
        crash_fail("checker: customer %s has balance %s, expected %s", ref,
                   c->balance ? c->balance : "(null)", want);
    folio_customer_free(c);
    if (mc->status == ST_DELETED) return;

    folio_statement *st = NULL;
    rc = folio_statement_get(&st, db, ref, NULL, NULL, 0);
    if (rc != FOLIO_OK)
        crash_fail("checker: statement of %s: %s: %s", ref, folio_strerror(rc), folio_errmsg());
    if (st->total_open_minor != mc->balance)
        crash_fail("checker: statement of %s totals %lld, balance expected %lld", ref,
                   (long long)st->total_open_minor, (long long)mc->balance);
    size_t open_docs = 0;
    for (uint32_t i = 0; i < mc->docs.n; i++) {
        const mdoc *d = &m->d[mc->docs.v[i]];
        if (d->kind == D_RF || d->open == 0) continue;
        open_docs++;
        char name[16];
        doc_name(name, d->kind, mc->docs.v[i]);
        int64_t signed_open = d->kind == D_INV ? d->open : -d->open;
        size_t j;
        for (j = 0; j < st->line_count; j++)
            if (strcmp(st->lines[j].doc, name) == 0) break;
        if (j == st->line_count)
            crash_fail("checker: statement of %s lacks open document %s (open %lld)", ref, name,
                       (long long)signed_open);
        if (st->lines[j].open_minor != signed_open)
            crash_fail("checker: statement of %s: %s is open %lld, expected %lld", ref, name,
                       (long long)st->lines[j].open_minor, (long long)signed_open);
    }
    if (open_docs != st->line_count)
        crash_fail("checker: statement of %s has %zu lines, expected %zu open documents", ref,
                   st->line_count, open_docs);
    folio_statement_free(st);
}

typedef struct {
    const char *path;
    uint32_t acked;      /* acknowledged prefix */
    uint32_t prev_acked; /* acknowledged prefix at the previous check */
    int full;            /* compare every customer and resubmit every acknowledged command */
    uint64_t sample_seed;
} check_args;

/* Check the ledger after a kill, retry the unit in flight, resubmit acknowledged commands.
 * Reports on `fd`: "A i seq replayed" for the retried commands, then "L landed" (1 if the
 * unit in flight had landed before the kill, 0 if not, 2 if there was none). */
static void checker_main(const check_args *a, int fd) {
    folio_db *db = NULL;
    int rc = open_read_only(&db, a->path);
    if (rc != FOLIO_OK)
        crash_fail("checker: read-only open after the kill: %s: %s", folio_strerror(rc),
                   folio_errmsg());
    scan_t s = {calloc(plan.n, sizeof(uint32_t)), calloc(plan.n, sizeof(uint64_t)),
                calloc(plan.n, sizeof(uint32_t)), 0};
    if (!s.count || !s.last || !s.first_type) crash_fail("out of memory");
    scan_log(&s, db, 0);

    /* 1. every acknowledged command exactly once, with its acknowledged seq */
    for (uint32_t i = 0; i < a->acked; i++) {
        const cmd *c = &plan.v[i];
        if (s.count[i] != c->events)
            crash_fail("checker: acknowledged command %u (%s, key k%07u) has %u events in the "
                       "log, expected %u",
                       i, C_NAME[c->type], i, s.count[i], c->events);
        if (s.last[i] != acked_seq[i])
            crash_fail("checker: acknowledged command %u (%s) ends at seq %llu, acknowledged "
                       "as seq %llu",
                       i, C_NAME[c->type], (unsigned long long)s.last[i],
                       (unsigned long long)acked_seq[i]);
        if (s.first_type[i] != cmd_first_type(c))
            crash_fail("checker: command %u (%s) starts with a %s event", i, C_NAME[c->type],
                       folio_event_type_name(s.first_type[i]));
    }
    /* 2. the unit in flight: all or nothing; nothing after it */
    uint32_t len = !a->full && a->acked < plan.n ? plan.v[a->acked].unit_len : 0;
    uint32_t present = 0;
    for (uint32_t k = 0; k < len; k++) {
        uint32_t i = a->acked + k;
        if (s.count[i] != 0 && s.count[i] != plan.v[i].events)
            crash_fail("checker: unacknowledged command %u (%s) is half-visible: %u of its %u "
                       "events are in the log",
                       i, C_NAME[plan.v[i].type], s.count[i], plan.v[i].events);
        present += s.count[i] != 0;
    }
    if (present != 0 && present != len)
        crash_fail("checker: unacknowledged batch at command %u is half-visible: %u of its %u "
                   "commands are in the log",
                   a->acked, present, len);
    int landed = len && present == len;
    for (uint32_t i = a->acked + len; i < plan.n; i++)
        if (s.count[i] != 0)
            crash_fail("checker: command %u (%s) was never started but has %u events", i,
                       C_NAME[plan.v[i].type], s.count[i]);
    uint32_t done = a->acked + (landed ? len : 0);

    /* 3. per-type totals from the ledger's stats equal the plan's */
    uint64_t want_types[64] = {0};
    want_types[FOLIO_EV_LEDGER_CONFIGURED] = 1;
    uint64_t want_events = 1;
    for (uint32_t i = 0; i < done; i++) {
        cmd_types(&plan.v[i], want_types);
        want_events += plan.v[i].events;
    }
    folio_stats st;
    if ((rc = folio_stats_get(&st, db)) != FOLIO_OK)
        crash_fail("checker: stats: %s: %s", folio_strerror(rc), folio_errmsg());
    if (st.events != want_events || s.events != want_events)
        crash_fail("checker: the ledger has %llu events (log scan %llu), expected %llu",
                   (unsigned long long)st.events, (unsigned long long)s.events,
                   (unsigned long long)want_events);
    for (uint32_t t = 0; t < 64; t++)
        if (st.type_counts[t] != want_types[t])
            crash_fail("checker: %llu events of type %s, expected %llu",
                       (unsigned long long)st.type_counts[t], folio_event_type_name(t),
                       (unsigned long long)want_types[t]);

    /* 4. projections: the model after `done` commands */
    model m = {0};
    for (uint32_t i = 0; i < done; i++) model_apply(&m, &plan.v[i]);
    crash_rng r = {a->sample_seed};
    if (a->full) {
        for (uint32_t k = 0; k < m.nc; k++) check_customer(db, &m, k);
    } else {
        for (uint32_t i = a->prev_acked; i < done; i++) {
            check_customer(db, &m, plan.v[i].cust);
            if (plan.v[i].type == C_MERGE) check_customer(db, &m, plan.v[i].from);
        }
        /* the customers of the unit in flight, as the commands before it left them when it
         * did not land (half a payment would show as an allocation without its payment) */
        for (uint32_t k = 0; k < len; k++) {
            const cmd *c = &plan.v[a->acked + k];
            if (c->cust < m.nc) check_customer(db, &m, c->cust);
            /* (a merge's DELETE side may be created earlier in the same unit) */
            if (c->type == C_MERGE && c->from < m.nc) check_customer(db, &m, c->from);
        }
        for (int t = 0; t < 10 && m.nc; t++)
            check_customer(db, &m, (uint32_t)rng_below(&r, m.nc));
    }

    /* 5. retry the unit in flight with its keys (read-write from here on) */
    folio_db_close(db);
    db = NULL;
    if ((rc = open_ledger(&db, a->path, 1)) != FOLIO_OK)
        crash_fail("checker: open after the kill: %s: %s", folio_strerror(rc), folio_errmsg());
    if (len) {
        unit_run u;
        rc = exec_unit(&u, db, a->acked);
        if (rc != FOLIO_OK)
            crash_fail("checker: retrying command %u (%s) failed: %s: %s", u.failed,
                       C_NAME[plan.v[u.failed].type], folio_strerror(rc), folio_errmsg());
        for (uint32_t k = 0; k < len; k++) {
            uint32_t i = a->acked + k;
            if (u.res[k].replayed != landed)
                crash_fail("checker: retry of command %u (%s): replayed=%d but it had %s",
                           i, C_NAME[plan.v[i].type], u.res[k].replayed,
                           landed ? "landed" : "not landed");
            if (landed && u.res[k].seq != s.last[i])
                crash_fail("checker: replay of command %u answered seq %llu, the log says %llu",
                           i, (unsigned long long)u.res[k].seq, (unsigned long long)s.last[i]);
        }
        /* what the retry appended: exactly the unit's events when it had not landed */
        scan_t s2 = {calloc(plan.n, sizeof(uint32_t)), calloc(plan.n, sizeof(uint64_t)),
                     calloc(plan.n, sizeof(uint32_t)), 0};
        if (!s2.count || !s2.last || !s2.first_type) crash_fail("out of memory");
        scan_log(&s2, db, want_events + 1);
        uint64_t unit_events = 0;
        for (uint32_t k = 0; k < len; k++) {
            uint32_t i = a->acked + k;
            unit_events += plan.v[i].events;
            uint32_t want = landed ? 0 : plan.v[i].events;
            if (s2.count[i] != want)
                crash_fail("checker: the retry of command %u (%s) appended %u events, expected "
                           "%u",
                           i, C_NAME[plan.v[i].type], s2.count[i], want);
            if (!landed && u.res[k].seq != s2.last[i])
                crash_fail("checker: the retry of command %u answered seq %llu, its last "
                           "event is seq %llu",
                           i, (unsigned long long)u.res[k].seq, (unsigned long long)s2.last[i]);
        }
        if (s2.events != (landed ? 0 : unit_events))
            crash_fail("checker: the retry appended %llu events, expected %llu",
                       (unsigned long long)s2.events,
                       (unsigned long long)(landed ? 0 : unit_events));
        free(s2.count);
        free(s2.last);
        free(s2.first_type);
        if (!landed) {
            for (uint32_t k = 0; k < len; k++) model_apply(&m, &plan.v[a->acked + k]);
            for (uint32_t k = 0; k < len; k++) {
                const cmd *c = &plan.v[a->acked + k];
                check_customer(db, &m, c->cust);
                if (c->type == C_MERGE) check_customer(db, &m, c->from);
            }
        }
        char buf[1024];
        size_t n = 0;
        for (uint32_t k = 0; k < len; k++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "A %u %llu %d\n", a->acked + k,
                                  (unsigned long long)u.res[k].seq, u.res[k].replayed);
        if (write(fd, buf, n) != (ssize_t)n) crash_fail("checker: pipe write");
    }

    /* 6. acknowledged commands resubmitted with their keys replay and append nothing */
    uint64_t before = 0;
    if ((rc = folio_stats_get(&st, db)) != FOLIO_OK)
        crash_fail("checker: stats: %s: %s", folio_strerror(rc), folio_errmsg());
    before = st.events;
    uint32_t resubmit = a->full ? a->acked : (a->acked < 4 ? a->acked : 4);
    for (uint32_t t = 0; t < resubmit; t++) {
        uint32_t i = a->full ? t : (uint32_t)rng_below(&r, a->acked);
        folio_write_result res;
        rc = exec_cmd(&res, db, i);
        if (rc != FOLIO_OK)
            crash_fail("checker: resubmitting acknowledged command %u (%s): %s: %s", i,
                       C_NAME[plan.v[i].type], folio_strerror(rc), folio_errmsg());
        if (!res.replayed || res.seq != acked_seq[i])
            crash_fail("checker: resubmitting acknowledged command %u (%s) gave replayed=%d "
                       "seq %llu, expected a replay of seq %llu",
                       i, C_NAME[plan.v[i].type], res.replayed, (unsigned long long)res.seq,
                       (unsigned long long)acked_seq[i]);
    }
    if ((rc = folio_stats_get(&st, db)) != FOLIO_OK)
        crash_fail("checker: stats: %s: %s", folio_strerror(rc), folio_errmsg());
    if (st.events != before)
        crash_fail("checker: resubmitting %u acknowledged commands appended %llu events", resubmit,
                   (unsigned long long)(st.events - before));
    say(fd, "L %d %u\n", len ? landed : 2, resubmit);
    model_free(&m);
    free(s.count);
    free(s.last);
    free(s.first_type);
    folio_db_close(db);
    exit(0);
}

/* ---------------------------------------------------------------------------------------
 * The parent
 * ------------------------------------------------------------------------------------- */
typedef struct {
    char buf[1 << 16];
    size_t n;
} linebuf;

/* Read what is there (non-blocking semantics through poll); calls `on_line` per full line.
 * Returns 0 at EOF, 1 otherwise. */
static int read_lines(int fd, linebuf *lb, void (*on_line)(const char *, void *), void *arg) {
    ssize_t k = read(fd, lb->buf + lb->n, sizeof lb->buf - lb->n - 1);
    if (k < 0) {
        if (errno == EINTR || errno == EAGAIN) return 1;
        crash_fail("read from pipe: %s", strerror(errno));
    }
    if (k == 0) return 0;
    lb->n += (size_t)k;
    size_t start = 0;
    for (size_t i = 0; i < lb->n; i++) {
        if (lb->buf[i] != '\n') continue;
        lb->buf[i] = '\0';
        on_line(lb->buf + start, arg);
        start = i + 1;
    }
    memmove(lb->buf, lb->buf + start, lb->n - start);
    lb->n -= start;
    if (lb->n >= sizeof lb->buf - 1) crash_fail("pipe line too long");
    return 1;
}

typedef struct {
    uint32_t begun;      /* "B" lines seen this round */
    int in_call;         /* the last line was a "B" without its "A" */
    char error[1024];
} round_state;

static void on_writer_line(const char *line, void *arg) {
    round_state *rs = arg;
    if (line[0] == 'B') {
        rs->begun++;
        rs->in_call = 1;
    } else if (line[0] == 'A') {
        take_ack(line, "the writer", 1);
        rs->in_call = 0;
    } else if (line[0] == 'E') {
        snprintf(rs->error, sizeof rs->error, "%s", line);
    } else {
        crash_fail("the writer sent '%s'", line);
    }
}

typedef struct {
    int landed;
    unsigned resubmitted;
    int seen;
} check_state;

static void on_checker_line(const char *line, void *arg) {
    check_state *cs = arg;
    if (line[0] == 'A') {
        take_ack(line, "the checker's retry", 0);
    } else if (sscanf(line, "L %d %u", &cs->landed, &cs->resubmitted) == 2) {
        cs->seen = 1;
    } else {
        crash_fail("the checker sent '%s'", line);
    }
}

static void run_checker(const char *path, uint32_t prev_acked, int full, crash_rng *r,
                        check_state *cs) {
    int p[2];
    if (pipe(p) < 0) crash_fail("pipe: %s", strerror(errno));
    check_args a = {path, acked_n, prev_acked, full, rng_next(r)};
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) crash_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        checker_main(&a, p[1]);
    }
    close(p[1]);
    linebuf *lb = calloc(1, sizeof *lb);
    if (!lb) crash_fail("out of memory");
    memset(cs, 0, sizeof *cs);
    while (read_lines(p[0], lb, on_checker_line, cs)) {
    }
    close(p[0]);
    free(lb);
    int rc = crash_wait(pid);
    if (rc != 0) crash_fail("the checker failed (exit %d; its message is above)", rc);
    if (!cs->seen) crash_fail("the checker did not report");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: crash_commands FOLIO_CLI SCRATCH_DIR\n");
        return 2;
    }
    const char *folio = argv[1];
    const char *dir = argv[2];
    crash_seed_init();
    int long_mode = crash_long_mode();
    uint32_t kills_wanted =
        (uint32_t)crash_env_u64("FOLIO_CRASH_KILLS", long_mode ? 500 : 50);
    printf("crash_commands: seed %" PRIu64 " (FOLIO_CRASH_SEED), %u kills, %s mode\n",
           crash_seed, kills_wanted, long_mode ? "long" : "quick");
    fflush(stdout);

    char path[4096], out[4096];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        crash_fail("mkdir %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/commands.db", dir);
    snprintf(out, sizeof out, "%s/commands.out", dir);
    crash_remove_ledger(path);

    crash_rng r = {crash_seed};
    gen_rng.s = rng_next(&r);
    plan_extend(2000);

    /* the ledger and its settings, in a child (the parent never opens a ledger) */
    pid_t pid = fork();
    if (pid < 0) crash_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        folio_db *db = NULL;
        int rc = open_ledger(&db, path, 0);
        if (rc != FOLIO_OK) crash_fail("setup: open %s: %s", path, folio_errmsg());
        folio_write_opts w = {.actor = "crash", .idempotency_key = "setup"};
        folio_settings_new s = {.base_currency = BASE_CURRENCY};
        folio_write_result res;
        if ((rc = folio_ledger_init(&res, db, &w, &s)) != FOLIO_OK)
            crash_fail("setup: init: %s", folio_errmsg());
        folio_db_close(db);
        exit(0);
    }
    if (crash_wait(pid) != 0) crash_fail("setup failed");

    int64_t t0 = now_us();
    uint32_t kills = 0, in_call = 0, landed_unacked = 0, not_landed = 0, no_flight = 0;
    uint32_t retried = 0, resubmitted = 0, self_exits = 0, rounds = 0;
    uint32_t mode_count[3] = {0, 0, 0};
    linebuf *lb = calloc(1, sizeof *lb);
    if (!lb) crash_fail("out of memory");
    while (kills < kills_wanted) {
        if (++rounds > kills_wanted * 3 + 20) crash_fail("too many rounds without a kill");
        plan_extend(acked_n + 3000);
        acked_reserve(plan.n);
        uint32_t prev_acked = acked_n;
        int p[2];
        if (pipe(p) < 0) crash_fail("pipe: %s", strerror(errno));
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) crash_fail("fork: %s", strerror(errno));
        if (pid == 0) {
            close(p[0]);
            writer_main(path, acked_n, plan.n, p[1]);
        }
        close(p[1]);

        /* when to kill: 0 = after a delay, 1 = inside the j-th call, 2 = inside the open */
        uint64_t roll = rng_below(&r, 100);
        int mode = roll < 40 ? 0 : roll < 90 ? 1 : 2;
        int64_t start = now_us();
        int64_t deadline = mode == 0 ? start + rng_range(&r, 0, 60000)
                           : mode == 2 ? start + rng_range(&r, 0, 3000)
                                       : start + 5000000; /* safety */
        uint32_t target_b = (uint32_t)rng_range(&r, 1, 40);
        int64_t after_b_us = rng_range(&r, 0, 2500);
        round_state rs = {0, 0, ""};
        lb->n = 0;
        int eof = 0, armed = 0;
        for (;;) {
            int64_t now = now_us();
            if (now >= deadline) break;
            struct pollfd pf = {p[0], POLLIN, 0};
            int wait_ms = (int)((deadline - now + 999) / 1000);
            int pr = poll(&pf, 1, wait_ms);
            if (pr < 0 && errno != EINTR) crash_fail("poll: %s", strerror(errno));
            if (pr > 0) {
                if (!read_lines(p[0], lb, on_writer_line, &rs)) {
                    eof = 1;
                    break;
                }
                if (mode == 1 && !armed && rs.begun >= target_b) {
                    armed = 1;
                    deadline = now_us() + after_b_us;
                }
            }
        }
        if (!eof) kill(pid, SIGKILL);
        while (read_lines(p[0], lb, on_writer_line, &rs)) {
        }
        close(p[0]);
        int st = crash_wait(pid);
        if (rs.error[0]) crash_fail("the writer failed a command: %s", rs.error);
        if (st != 128 + SIGKILL) {
            if (st != 0) crash_fail("the writer exited %d", st);
            self_exits++; /* ran to the end of the plan before the kill */
        } else {
            kills++;
            mode_count[mode]++;
            in_call += rs.in_call;
            if (kills % 100 == 0) {
                printf("crash_commands: %u kills, %u commands acknowledged, %.1fs\n", kills,
                       acked_n, (double)(now_us() - t0) / 1e6);
                fflush(stdout);
            }
        }

        check_state cs;
        run_checker(path, prev_acked, 0, &r, &cs);
        crash_verify_and_check(folio, path, out, "after a kill and the retry");
        resubmitted += cs.resubmitted;
        if (cs.landed == 2) {
            no_flight++;
        } else {
            uint32_t len = plan.v[acked_n - 1].unit_start;
            len = acked_n - len;
            retried += len;
            if (cs.landed) landed_unacked++;
            else not_landed++;
        }
    }
    free(lb);

    /* new writes: 30 more units run to completion */
    uint32_t end = acked_n;
    for (int k = 0; k < 30; k++) end += plan.v[end].unit_len;
    {
        int p[2];
        if (pipe(p) < 0) crash_fail("pipe: %s", strerror(errno));
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) crash_fail("fork: %s", strerror(errno));
        if (pid == 0) {
            close(p[0]);
            writer_main(path, acked_n, end, p[1]);
        }
        close(p[1]);
        linebuf *l2 = calloc(1, sizeof *l2);
        if (!l2) crash_fail("out of memory");
        round_state rs = {0, 0, ""};
        while (read_lines(p[0], l2, on_writer_line, &rs)) {
        }
        close(p[0]);
        free(l2);
        int st = crash_wait(pid);
        if (rs.error[0]) crash_fail("the final writer failed a command: %s", rs.error);
        if (st != 0) crash_fail("the final writer exited %d", st);
        if (acked_n != end)
            crash_fail("the final writer acknowledged up to %u, expected %u", acked_n, end);
    }
    crash_verify_and_check(folio, path, out, "at the end");
    check_state cs;
    run_checker(path, 0, 1, &r, &cs);
    if (cs.landed != 2) crash_fail("the final check found a command in flight");

    uint32_t customers = 0, documents = 0;
    for (uint32_t i = 0; i < acked_n; i++) {
        customers += plan.v[i].type == C_CREATE;
        documents += plan.v[i].type == C_INVOICE || plan.v[i].type == C_CREDIT ||
                     plan.v[i].type == C_PAY || plan.v[i].type == C_REFUND;
    }
    printf("crash_commands: kills=%u acked=%u retried=%u (landed before the kill but not "
           "acknowledged: %u, not landed: %u) kills inside a call=%u kills between calls or "
           "in open=%u kill modes delay/call/open=%u/%u/%u resubmitted=%u+%u(final) "
           "customers=%u documents=%u wall=%.1fs seed=%" PRIu64 "\n",
           kills, acked_n, retried, landed_unacked, not_landed, in_call, kills - in_call,
           mode_count[0], mode_count[1], mode_count[2], resubmitted, cs.resubmitted, customers,
           documents, (double)(now_us() - t0) / 1e6, crash_seed);
    uint32_t by_type[C_TYPES] = {0}, batches = 0;
    for (uint32_t i = 0; i < acked_n; i++) {
        by_type[plan.v[i].type]++;
        batches += plan.v[i].unit_len > 1;
    }
    printf("crash_commands: acknowledged by type:");
    for (int t = 0; t < C_TYPES; t++) printf(" %s=%u", C_NAME[t], by_type[t]);
    printf("; units run as one batch: %u\n", batches);
    if (self_exits)
        printf("crash_commands: note: %u rounds reached the end of the plan before the kill\n",
               self_exits);
    if (kills < kills_wanted) crash_fail("only %u kills", kills);
    return 0;
}
