/*
 * engine/customer_query.c - reading the customer master: show (now, or as known at a seq),
 * find, list, the deleted-document lookup, history and its field-level changes.
 * Each query reads one snapshot (history too: it finds the id and walks the stream in one
 * read transaction), except show as known at a seq: it finds the customer's id in one read
 * transaction and replays its stream in another (ids never change, and the events up to a
 * seq never change either); `at_seq` answers are replayed from the customer's own events
 * through the same fold the directory projection uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "../projections/directory.h"
#include "internal.h"
#include "mp.h"

/* ---------------------------------------------------------------------------------------
 * Building a folio_customer (one allocation: struct, contacts, reasons, then strings)
 * ------------------------------------------------------------------------------------- */

typedef struct {
    char *p, *end;
} arena;

static const char *arena_str(arena *a, folio_dstr s) {
    if (!s.s) return NULL;
    FOLIO_ASSERT((size_t)(a->end - a->p) >= (size_t)s.n + 1);
    char *out = a->p;
    memcpy(out, s.s, s.n);
    out[s.n] = '\0';
    a->p += s.n + 1;
    return out;
}

static size_t dlen(folio_dstr s) { return s.s ? s.n + 1 : 0; }

static int build_customer(folio_customer **out, const folio_dir_rec *r) {
    static const char *const reasons_all[] = {"status", "credit_limit", "past_due"};
    char balance[FOLIO_MONEY_TEXT_MAX] = "", cur[4] = "";
    size_t strings = 0;
    const folio_dstr *fields[] = {&r->ref, &r->name, &r->type, &r->status, &r->currency,
                                  &r->owner, &r->external_id, &r->credit_limit,
                                  &r->merged_into_ref};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) strings += dlen(*fields[i]);
    for (int f = 0; f < FOLIO_ADDR_FIELDS; f++)
        strings += dlen(r->billing.f[f]) + dlen(r->shipping.f[f]);
    for (uint32_t i = 0; i < r->contact_count; i++) {
        const folio_dcontact *c = &r->contacts[i];
        strings += dlen(c->name) + dlen(c->email) + dlen(c->phone) + dlen(c->role);
    }
    if (r->currency.s && r->currency.n == 3) {
        memcpy(cur, r->currency.s, 3);
        if (folio_money_format(balance, sizeof balance, r->balance, cur) < 0) balance[0] = '\0';
    }
    if (balance[0]) strings += strlen(balance) + 1; /* no currency yet: no balance */
    size_t head = sizeof(folio_customer) + r->contact_count * sizeof(folio_contact) +
                  3 * sizeof(const char *);
    folio_customer *c = calloc(1, head + strings);
    if (!c) return folio_error__set(FOLIO_ERROR, "out of memory");
    folio_contact *contacts = (folio_contact *)(c + 1);
    const char **reasons = (const char **)(contacts + r->contact_count);
    arena a = {(char *)c + head, (char *)c + head + strings};
    c->id = r->id;
    c->ref = arena_str(&a, r->ref);
    c->name = arena_str(&a, r->name);
    c->type = arena_str(&a, r->type);
    c->status = arena_str(&a, r->status);
    c->currency = arena_str(&a, r->currency);
    c->owner = arena_str(&a, r->owner);
    c->external_id = arena_str(&a, r->external_id);
    c->credit_limit = arena_str(&a, r->credit_limit);
    c->merged_into = arena_str(&a, r->merged_into_ref);
    c->balance = balance[0] ? arena_str(&a, (folio_dstr){balance, (uint32_t)strlen(balance)}) : NULL;
    for (int s = 0; s < 2; s++) {
        const folio_daddr *src = s ? &r->shipping : &r->billing;
        folio_address *dst = s ? &c->shipping : &c->billing;
        dst->street = arena_str(&a, src->f[FOLIO_ADDR_STREET]);
        dst->city = arena_str(&a, src->f[FOLIO_ADDR_CITY]);
        dst->region = arena_str(&a, src->f[FOLIO_ADDR_REGION]);
        dst->postcode = arena_str(&a, src->f[FOLIO_ADDR_POSTCODE]);
        dst->country = arena_str(&a, src->f[FOLIO_ADDR_COUNTRY]);
    }
    for (uint32_t i = 0; i < r->contact_count; i++) {
        const folio_dcontact *src = &r->contacts[i];
        contacts[i] = (folio_contact){src->id, arena_str(&a, src->name), arena_str(&a, src->email),
                                      arena_str(&a, src->phone), arena_str(&a, src->role)};
    }
    c->contacts = contacts;
    c->contact_count = r->contact_count;
    size_t nr = 0;
    int status_hold = r->status.s && r->status.n == 4 && memcmp(r->status.s, "hold", 4) == 0;
    if (status_hold && !r->deleted_seq) reasons[nr++] = reasons_all[0];
    if (r->credit_holds & FOLIO_HOLD_CREDIT_LIMIT) reasons[nr++] = reasons_all[1];
    if (r->credit_holds & FOLIO_HOLD_PAST_DUE) reasons[nr++] = reasons_all[2];
    c->hold_reasons = reasons;
    c->hold_count = nr;
    c->on_hold = nr > 0;
    c->version = r->version;
    c->documents = r->documents;
    c->deleted = r->deleted_seq != 0;
    c->deleted_seq = r->deleted_seq;
    c->deleted_at_us = r->deleted_at_us;
    FOLIO_ASSERT(a.p == a.end);
    *out = c;
    return FOLIO_OK;
}

void folio_customer_free(folio_customer *c) { free(c); }

/* ---------------------------------------------------------------------------------------
 * show / find
 * ------------------------------------------------------------------------------------- */

/* Begin a read of the directory: FOLIO_EFORMAT when it, or the receivables projection that
 * holds the cards' sums, is not up to date with the log (a read-only open of a ledger
 * written by an older folio). */
static int dir_begin(folio_txn *t, folio_proj_txn *dir, folio_db *db) {
    folio_head head;
    int rc = folio_store__read_begin(t, db->store);
    if (rc < 0) return rc;
    FOLIO_ASSERT(t->cache == NULL || !t->cache->loaded);
    folio_projection__txn(dir, t, "directory", NULL);
    rc = folio_log__read_head(&head, t);
    for (unsigned i = 0; rc == FOLIO_OK && i < folio_projection__count(); i++)
        if (strcmp(folio_projection__name(i), "directory") == 0 ||
            strcmp(folio_projection__name(i), "receivables") == 0)
            rc = folio_projection__check_current(t, i, head.last_seq);
    if (rc < 0) folio_store__read_end(t);
    return rc;
}

/* The card as known at seq `at_seq`: the customer's events up to it, folded one by one.
 * Each step re-encodes the card into a buffer of its own, so no string points into an
 * event the iterator has moved past. */
static int card_at_seq(folio_dir_rec *r, uint8_t *bufs[2], folio_db *db, uint64_t id,
                       uint64_t at_seq, const char *ref) {
    folio_iter *it = NULL;
    const folio_event *e;
    int rc = folio_stream_open(&it, db, id, 0, at_seq);
    if (rc == FOLIO_ENOTFOUND)
        return folio_error__set(FOLIO_ENOTFOUND, "%s did not exist at seq %llu", ref,
                                (unsigned long long)at_seq);
    if (rc < 0) return rc;
    memset(r, 0, offsetof(folio_dir_rec, contacts));
    int which = 0;
    while ((rc = folio_iter_next(&e, it)) == FOLIO_OK) {
        int applies;
        size_t n;
        if ((rc = folio_directory__fold(r, e, &applies)) < 0) break;
        if (!applies) continue;
        if ((rc = folio_directory__encode(&n, bufs[which], FOLIO_PROJ_SCRATCH_BYTES, r)) < 0 ||
            (rc = folio_directory__decode(r, bufs[which], n)) < 0)
            break;
        which ^= 1;
    }
    folio_iter_free(it);
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
    if (rc == FOLIO_OK && r->id == 0)
        rc = folio_error__set(FOLIO_ENOTFOUND, "%s did not exist at seq %llu", ref,
                              (unsigned long long)at_seq);
    return rc;
}

static int deleted_message(const folio_dir_rec *r, const char *ref) {
    if (r->merged_into_ref.s)
        return folio_error__set(FOLIO_ENOTFOUND, "%s was deleted: merged into %.*s", ref,
                                (int)r->merged_into_ref.n, r->merged_into_ref.s);
    return folio_error__set(FOLIO_ENOTFOUND, "%s was deleted (seq %llu)", ref,
                            (unsigned long long)r->deleted_seq);
}

int folio_customer_get(folio_customer **out, folio_db *db, const char *ref, uint64_t at_seq,
                       int include_deleted) {
    folio_txn t = {0};
    folio_proj_txn dir;
    folio_head head;
    uint64_t id = 0, known = 0;
    uint8_t *bufs[2] = {NULL, NULL};
    if (!out || !db || !ref) return folio_error__set(FOLIO_EINVAL, "show: NULL argument");
    *out = NULL;
    if (!*ref) return folio_error__set(FOLIO_EINVAL, "a customer ref is required");
    folio_dir_rec *r = malloc(sizeof *r);
    if (!r) return folio_error__set(FOLIO_ERROR, "out of memory");
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) goto cleanup;
    folio_projection__txn(&dir, &t, "directory", NULL);
    if ((rc = folio_log__read_head(&head, &t)) < 0) goto cleanup;
    for (unsigned i = 0; i < folio_projection__count(); i++)
        if ((rc = folio_projection__check_current(&t, i, head.last_seq)) < 0) goto cleanup;
    /* as known at the end of the command that wrote at_seq: no state half-way through one */
    if ((rc = folio_replay__at_seq(&known, &t, at_seq, head.last_seq)) < 0) goto cleanup;
    FOLIO_ASSERT(known >= at_seq);
    rc = folio_directory__id_by_ref(&id, &dir, ref, strlen(ref));
    if (rc == FOLIO_ENOTFOUND) rc = folio_error__set(FOLIO_ENOTFOUND, "no customer %s", ref);
    if (rc < 0) goto cleanup;
    if (known == head.last_seq) {
        if ((rc = folio_directory__get(r, &dir, id)) < 0) goto cleanup;
        if (!include_deleted && r->deleted_seq) {
            rc = deleted_message(r, ref);
            goto cleanup;
        }
        if ((rc = build_customer(out, r)) == FOLIO_OK) (*out)->at_seq = known;
        goto cleanup;
    }
    folio_store__read_end(&t);
    bufs[0] = malloc(FOLIO_PROJ_SCRATCH_BYTES);
    bufs[1] = malloc(FOLIO_PROJ_SCRATCH_BYTES);
    if (!bufs[0] || !bufs[1]) {
        rc = folio_error__set(FOLIO_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = card_at_seq(r, bufs, db, id, known, ref)) < 0) goto cleanup;
    if (!include_deleted && r->deleted_seq) {
        rc = deleted_message(r, ref);
        goto cleanup;
    }
    if ((rc = build_customer(out, r)) == FOLIO_OK) (*out)->at_seq = known;
cleanup:
    if (t.mdb) folio_store__read_end(&t);
    free(bufs[0]);
    free(bufs[1]);
    free(r);
    return rc;
}

/* A name that no live customer has: say so, or that its customer was deleted (rule 7). */
static int deleted_name(folio_proj_txn *dir, const char *name, size_t n) {
    folio_proj_iter it;
    const void *k, *v;
    size_t kn, vn;
    uint8_t pfx = FOLIO_DIR_DELETED;
    char found[FOLIO_REF_BYTES_MAX + 1] = "", merged[FOLIO_REF_BYTES_MAX + 1] = "";
    folio_dir_rec *r = malloc(sizeof *r);
    int rc;
    if (!r) return folio_error__set(FOLIO_ERROR, "out of memory");
    folio_proj__iter_init(&it, dir, &pfx, 1);
    while ((rc = folio_proj__iter_next(&it, &k, &kn, &v, &vn)) == FOLIO_OK) {
        if (vn != 8 || folio_directory__get(r, dir, folio__get_be64(v)) < 0) continue;
        if (r->name.n != n || memcmp(r->name.s, name, n) != 0) continue;
        snprintf(found, sizeof found, "%.*s", (int)r->ref.n, r->ref.s); /* the latest wins */
        snprintf(merged, sizeof merged, "%.*s", r->merged_into_ref.s ? (int)r->merged_into_ref.n : 0,
                 r->merged_into_ref.s ? r->merged_into_ref.s : "");
    }
    folio_proj__iter_close(&it);
    free(r);
    if (rc < 0 && rc != FOLIO_ITEROVER) return rc;
    if (found[0] && merged[0])
        return folio_error__set(FOLIO_ENOTFOUND, "'%.*s' (%s) was deleted: merged into %s", (int)n,
                                name, found, merged);
    if (found[0])
        return folio_error__set(FOLIO_ENOTFOUND, "'%.*s' (%s) was deleted", (int)n, name, found);
    return folio_error__set(FOLIO_ENOTFOUND, "no customer is named '%.*s'", (int)n, name);
}

int folio_customer_ref(char ref_out[FOLIO_REF_BYTES_MAX + 1], folio_db *db, uint64_t id) {
    folio_txn t = {0};
    folio_proj_txn dir;
    if (!ref_out || !db) return folio_error__set(FOLIO_EINVAL, "ref: NULL argument");
    ref_out[0] = '\0';
    folio_dir_rec *r = malloc(sizeof *r);
    if (!r) return folio_error__set(FOLIO_ERROR, "out of memory");
    int rc = dir_begin(&t, &dir, db);
    if (rc == FOLIO_OK) {
        rc = folio_directory__get(r, &dir, id);
        if (rc == FOLIO_OK && r->ref.n <= FOLIO_REF_BYTES_MAX) {
            memcpy(ref_out, r->ref.s, r->ref.n);
            ref_out[r->ref.n] = '\0';
        }
        folio_store__read_end(&t);
    }
    free(r);
    return rc;
}

int folio_customer_find(folio_customer **out, folio_db *db, const char *name) {
    folio_txn t = {0};
    folio_proj_txn dir;
    uint64_t id;
    if (!out || !db || !name) return folio_error__set(FOLIO_EINVAL, "find: NULL argument");
    *out = NULL;
    size_t n = strlen(name);
    folio_customer__trim_name(&name, &n); /* as create trims a name */
    if (n == 0) return folio_error__set(FOLIO_EINVAL, "find needs a name (it is blank)");
    folio_dir_rec *r = malloc(sizeof *r);
    if (!r) return folio_error__set(FOLIO_ERROR, "out of memory");
    int rc = dir_begin(&t, &dir, db);
    if (rc == FOLIO_OK) {
        rc = folio_directory__id_by_name(&id, &dir, name, n);
        if (rc == FOLIO_ENOTFOUND) rc = deleted_name(&dir, name, n); /* rule 7 */
        if (rc == FOLIO_OK) rc = folio_directory__get(r, &dir, id);
        if (rc == FOLIO_OK) rc = build_customer(out, r);
        folio_store__read_end(&t);
    }
    free(r);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Wildcard names
 * ------------------------------------------------------------------------------------- */

/* Case-folded code points of s (malloc'd), or NULL for invalid UTF-8. */
static utf8proc_int32_t *folded(const char *s, size_t *n_out) {
    utf8proc_uint8_t *f = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &f,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                          UTF8PROC_CASEFOLD);
    if (n < 0) return NULL;
    utf8proc_int32_t *cps = malloc(((size_t)n + 1) * sizeof *cps);
    size_t k = 0;
    if (cps) {
        for (utf8proc_ssize_t i = 0; i < n;) {
            utf8proc_ssize_t step = utf8proc_iterate(f + i, n - i, &cps[k]);
            if (step <= 0) break;
            i += step;
            k++;
        }
    }
    free(f);
    *n_out = k;
    return cps;
}

int folio_name_matches(const char *pattern, const char *text) {
    size_t pn, tn;
    if (!pattern || !text) return 0;
    utf8proc_int32_t *p = folded(pattern, &pn), *t = folded(text, &tn);
    int match = 0;
    if (p && t) {
        /* Greedy glob with one backtrack point: linear in practice, bounded by pn * tn. */
        size_t pi = 0, ti = 0, star = (size_t)-1, mark = 0;
        while (ti < tn) {
            if (pi < pn && (p[pi] == '?' || p[pi] == t[ti])) {
                pi++;
                ti++;
            } else if (pi < pn && p[pi] == '*') {
                star = pi++;
                mark = ti;
            } else if (star != (size_t)-1) {
                pi = star + 1;
                ti = ++mark;
            } else {
                break;
            }
        }
        if (ti == tn) {
            while (pi < pn && p[pi] == '*') pi++;
            match = pi == pn;
        }
    }
    free(p);
    free(t);
    return match;
}

/* ---------------------------------------------------------------------------------------
 * list / deleted
 * ------------------------------------------------------------------------------------- */

static unsigned status_bit(folio_dstr s) {
    static const struct { const char *name; unsigned bit; } bits[] = {
        {"prospect", FOLIO_LIST_PROSPECT}, {"active", FOLIO_LIST_ACTIVE},
        {"hold", FOLIO_LIST_HOLD}, {"inactive", FOLIO_LIST_INACTIVE}};
    for (size_t i = 0; i < 4; i++)
        if (s.s && s.n == strlen(bits[i].name) && memcmp(s.s, bits[i].name, s.n) == 0)
            return bits[i].bit;
    return 0;
}

static int list_push(folio_customer_list *l, size_t *cap, folio_customer *c) {
    if (l->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        folio_customer **items = realloc(l->items, ncap * sizeof *items);
        if (!items) {
            folio_customer_free(c);
            return folio_error__set(FOLIO_ERROR, "out of memory");
        }
        l->items = items;
        *cap = ncap;
    }
    l->items[l->count++] = c;
    return FOLIO_OK;
}

/* Walk index `prefix` (name or deletion order) and keep the cards that pass. */
static int collect(folio_customer_list **out, folio_db *db, char prefix, unsigned statuses,
                   const char *pattern) {
    folio_txn t = {0};
    folio_proj_txn dir;
    folio_proj_iter it;
    size_t cap = 0;
    folio_customer_list *l = calloc(1, sizeof *l);
    folio_dir_rec *r = malloc(sizeof *r);
    char name[FOLIO_NAME_BYTES_MAX * 2 + 1];
    int rc = (!l || !r) ? folio_error__set(FOLIO_ERROR, "out of memory") : FOLIO_OK;
    if (rc == FOLIO_OK) rc = dir_begin(&t, &dir, db);
    if (rc == FOLIO_OK) {
        const void *k, *v;
        size_t kn, vn;
        uint8_t pfx = (uint8_t)prefix;
        folio_proj__iter_init(&it, &dir, &pfx, 1);
        while ((rc = folio_proj__iter_next(&it, &k, &kn, &v, &vn)) == FOLIO_OK) {
            if (vn != 8) {
                rc = folio_error__set(FOLIO_ECORRUPT, "directory index value is malformed");
                break;
            }
            uint64_t id = folio__get_be64(v);
            /* Read the card in a second lookup: the iterator's cursor stays where it is. */
            if ((rc = folio_directory__get(r, &dir, id)) < 0) break;
            if (prefix == FOLIO_DIR_NAME && !(status_bit(r->status) & statuses)) continue;
            if (pattern) {
                size_t n = r->name.n < sizeof name - 1 ? r->name.n : sizeof name - 1;
                memcpy(name, r->name.s, n);
                name[n] = '\0';
                if (!folio_name_matches(pattern, name)) continue;
            }
            folio_customer *c;
            if ((rc = build_customer(&c, r)) < 0 || (rc = list_push(l, &cap, c)) < 0) break;
        }
        folio_proj__iter_close(&it);
        folio_store__read_end(&t);
        if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
    }
    free(r);
    if (rc < 0) {
        folio_customer_list_free(l);
        return rc;
    }
    *out = l;
    return FOLIO_OK;
}

int folio_customer_list_get(folio_customer_list **out, folio_db *db, unsigned statuses,
                            const char *pattern) {
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "list: NULL argument");
    *out = NULL;
    if (statuses == 0) statuses = FOLIO_LIST_DEFAULT;
    return collect(out, db, FOLIO_DIR_NAME, statuses, pattern);
}

int folio_deleted_list_get(folio_customer_list **out, folio_db *db, const char *pattern) {
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "deleted: NULL argument");
    *out = NULL;
    return collect(out, db, FOLIO_DIR_DELETED, 0, pattern);
}

void folio_customer_list_free(folio_customer_list *l) {
    if (!l) return;
    for (size_t i = 0; i < l->count; i++) folio_customer_free(l->items[i]);
    free(l->items);
    free(l);
}

/* ---------------------------------------------------------------------------------------
 * history
 * ------------------------------------------------------------------------------------- */

/* The log head of history's snapshot t, after checking that the directory projection is
 * current in it. The check and the head are the same for every read of one snapshot, and
 * a snapshot is named by its LMDB transaction id (every commit, by any process, makes a
 * new one; the id comes from t itself, not from anything this process remembers about its
 * own writes): so the handle keeps the id of the last snapshot it checked, with its head,
 * and a history of that same snapshot reads neither root record again. Any other id is
 * checked afresh; a failed check is not kept. */
static int history_head(folio_head *head, folio_db *db, folio_txn *t) {
    FOLIO_ASSERT(!t->write);
    FOLIO_ASSERT(t->cache == NULL); /* the head and the state come from the snapshot */
    uint64_t txn_id = folio_store__txn_id(t);
    int known;
    pthread_mutex_lock(&db->spare_lock);
    known = txn_id != 0 && db->history_txn_id == txn_id; /* 0: nothing kept yet */
    if (known) *head = db->history_head;
    pthread_mutex_unlock(&db->spare_lock);
    if (known) return FOLIO_OK;
    int rc = folio_log__read_head(head, t);
    for (unsigned i = 0; rc == FOLIO_OK && i < folio_projection__count(); i++)
        if (strcmp(folio_projection__name(i), "directory") == 0)
            rc = folio_projection__check_current(t, i, head->last_seq);
    pthread_mutex_lock(&db->spare_lock);
    db->history_checks++;
    if (rc == FOLIO_OK && txn_id > db->history_txn_id) { /* the newest snapshot checked */
        db->history_txn_id = txn_id;
        db->history_head = *head;
    }
    pthread_mutex_unlock(&db->spare_lock);
    return rc;
}

/* One read transaction finds the id and walks the stream. History reads the directory (the
 * ref) and the log, so it checks the directory projection alone (docs/API.md: only
 * folio_customer_get checks every projection, and a card read the receivables too), and
 * reads the log head once, for that check and the walk, and not at all in a snapshot the
 * handle has checked before (history_head). */
int folio_history_open(folio_iter **out, folio_db *db, const char *ref) {
    folio_txn t = {0};
    folio_proj_txn dir;
    folio_head head;
    uint64_t id = 0;
    if (!out || !db || !ref) return folio_error__set(FOLIO_EINVAL, "history: NULL argument");
    *out = NULL;
    if (!*ref) return folio_error__set(FOLIO_EINVAL, "a customer ref is required");
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) return rc;
    folio_projection__txn(&dir, &t, "directory", NULL);
    rc = history_head(&head, db, &t);
    if (rc == FOLIO_OK) rc = folio_directory__id_by_ref(&id, &dir, ref, strlen(ref));
    if (rc == FOLIO_ENOTFOUND) rc = folio_error__set(FOLIO_ENOTFOUND, "no customer %s", ref);
    if (rc == FOLIO_OK) rc = folio_stream__open_in(out, db, &t, &head, id, 0, 0);
    folio_store__read_end(&t);
    return rc;
}

/* Copy the value at r into w (any msgpack value). */
static void copy_value(folio_mpw *w, folio_mpr *r) {
    size_t n = folio_mpr__value_bytes(r);
    folio_mpw__raw(w, r->p, n);
    folio_mpr__skip(r);
}

static void change_pair(folio_mpw *w, const char *field, folio_mpr *old_v, folio_mpr *new_v) {
    folio_mpw__str(w, field);
    folio_mpw__array(w, 2);
    if (old_v) copy_value(w, old_v); else folio_mpw__nil(w);
    if (new_v) copy_value(w, new_v); else folio_mpw__nil(w);
}

int folio_event_changes_json(char **json_out, const folio_event *e) {
    folio_mpr p, v, v2;
    folio_mpw w;
    uint32_t n = 0;
    int rc;
    if (!json_out || !e) return folio_error__set(FOLIO_EINVAL, "changes: NULL argument");
    *json_out = NULL;
    if ((rc = folio_mpr__open(&p, e->payload, e->payload_bytes)) < 0) return rc;
    folio_mpw__init(&w);
    switch (e->type) {
    case FOLIO_EV_CUSTOMER_CREATED: {
        static const char *const keys[] = {"name", "type", "status", "owner", "credit_limit",
                                           "external_id"};
        folio_mpw body;
        folio_mpw__init(&body);
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (folio_mpr__find(&v, &p, keys[i]) != FOLIO_OK || folio_mpr__type(&v) == FOLIO_MP_NIL)
                continue;
            change_pair(&body, keys[i], NULL, &v);
            n++;
        }
        folio_mpr addrs, a;
        if (folio_mpr__find(&addrs, &p, "addresses") == FOLIO_OK) {
            for (int s = 0; s < 2; s++) {
                if (folio_mpr__find(&a, &addrs, s ? "shipping" : "billing") != FOLIO_OK) continue;
                for (int f = 0; f < FOLIO_ADDR_FIELDS; f++) {
                    char field[24];
                    if (folio_mpr__find(&v, &a, folio_addr_field_names[f]) != FOLIO_OK ||
                        folio_mpr__type(&v) == FOLIO_MP_NIL)
                        continue;
                    snprintf(field, sizeof field, "%s.%s", s ? "shipping" : "billing",
                             folio_addr_field_names[f]);
                    change_pair(&body, field, NULL, &v);
                    n++;
                }
            }
        }
        folio_mpw__map(&w, n);
        folio_mpw__raw(&w, body.buf, body.len);
        folio_mpw__free(&body);
        break;
    }
    case FOLIO_EV_CUSTOMER_CURRENCY_SET:
        if (folio_mpr__find(&v, &p, "currency") != FOLIO_OK) break;
        folio_mpw__map(&w, 1);
        change_pair(&w, "currency", NULL, &v);
        n = 1;
        break;
    case FOLIO_EV_CUSTOMER_UPDATED:
        if (folio_mpr__find(&v, &p, "changes") != FOLIO_OK) break;
        copy_value(&w, &v);
        n = 1;
        break;
    case FOLIO_EV_CUSTOMER_OWNER_CHANGED:
    case FOLIO_EV_CUSTOMER_STATUS_CHANGED:
        if (folio_mpr__find(&v, &p, "from") != FOLIO_OK || folio_mpr__find(&v2, &p, "to") != FOLIO_OK)
            break;
        folio_mpw__map(&w, 1);
        change_pair(&w, e->type == FOLIO_EV_CUSTOMER_OWNER_CHANGED ? "owner" : "status", &v, &v2);
        n = 1;
        break;
    case FOLIO_EV_CUSTOMER_CONTACT_ADDED:
    case FOLIO_EV_CUSTOMER_CONTACT_REMOVED: {
        folio_mpr whole = p;
        folio_mpw__map(&w, 1);
        if (e->type == FOLIO_EV_CUSTOMER_CONTACT_ADDED)
            change_pair(&w, "contacts", NULL, &whole);
        else
            change_pair(&w, "contacts", &whole, NULL);
        n = 1;
        break;
    }
    case FOLIO_EV_CUSTOMER_MERGED_INTO:
        if (folio_mpr__find(&v, &p, "target_ref") != FOLIO_OK) break;
        folio_mpw__map(&w, 1);
        change_pair(&w, "merged_into", NULL, &v);
        n = 1;
        break;
    case FOLIO_EV_CUSTOMER_MERGED_FROM: {
        /* The moved contacts came just before, as contact_added events of their own; the
         * documents that moved are listed here ({"kind","doc"} maps), so that the history of
         * KEEP says which documents came over with the balance. */
        folio_mpr docs;
        int has_docs = folio_mpr__find(&docs, &p, "documents") == FOLIO_OK;
        if (folio_mpr__find(&v, &p, "source_ref") != FOLIO_OK ||
            folio_mpr__find(&v2, &p, "balance") != FOLIO_OK)
            break;
        folio_mpw__map(&w, has_docs ? 3 : 2);
        change_pair(&w, "merged_from", NULL, &v);
        if (has_docs) change_pair(&w, "documents_moved_in", NULL, &docs);
        change_pair(&w, "balance_moved_in", NULL, &v2);
        n = 1;
        break;
    }
    default:
        break;
    }
    if (n == 0) {
        folio_mpw__free(&w);
        return FOLIO_OK;
    }
    rc = folio_mpw__finish(&w);
    if (rc == FOLIO_OK) rc = folio_payload_to_json(json_out, w.buf, w.len);
    folio_mpw__free(&w);
    return rc;
}
