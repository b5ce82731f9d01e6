/*
 * engine/command.c - the write path of every rule-checked command (engine/command.h).
 * The command state (staged events and their payload buffers) lives in the handle and is
 * reused under its write lock, so staging allocates nothing once warm (the request buffer,
 * an idempotent replay and some receivables lists still allocate per command).
 */
#include "command.h"

#include <stdlib.h>

#include "../projections/directory.h"
#include "documents.h"

int folio_cmd__check_opts(const folio_write_opts *w) {
    int rc;
    if (!w) return folio_error__set(FOLIO_EINVAL, "write options are required (actor)");
    if ((rc = folio_codec__check_line(w->actor, FOLIO_ACTOR_BYTES_MAX, "actor", 1)) < 0 ||
        (rc = folio_codec__check_line(w->reason, FOLIO_REASON_BYTES_MAX, "reason", 0)) < 0 ||
        (rc = folio_codec__check_line(w->correlation, FOLIO_CORRELATION_BYTES_MAX,
                                      "correlation id", 0)) < 0 ||
        (rc = folio_codec__check_line(w->idempotency_key, FOLIO_IDEMPOTENCY_KEY_BYTES_MAX,
                                      "idempotency key", 0)) < 0)
        return rc;
    if (w->idempotency_key && !*w->idempotency_key)
        return folio_error__set(FOLIO_EINVAL, "idempotency key is empty");
    return FOLIO_OK;
}

folio_mpw *folio_cmd__stage(folio_cmd *c, uint64_t stream, uint32_t type) {
    FOLIO_ASSERT(c->cap >= FOLIO_CMD_EVENTS_MAX);
    FOLIO_ASSERT(c->count < c->cap);
    FOLIO_ASSERT(folio_event_type_name(type) != NULL);
    size_t i = c->count++;
    folio_mpw__reset(&c->payloads[i]);
    c->events[i] = (folio_event){.stream = stream, .type = type, .schema = 1,
                                 .actor = c->w->actor, .reason = c->w->reason,
                                 .correlation = c->w->correlation};
    return &c->payloads[i];
}

int folio_cmd__reserve(folio_cmd *c, size_t more) {
    FOLIO_ASSERT(c->count <= c->cap);
    FOLIO_ASSERT(more <= SIZE_MAX / 2 - c->count);
    if (c->count + more <= c->cap) return FOLIO_OK;
    size_t cap = c->cap * 2 > c->count + more ? c->cap * 2 : c->count + more;
    folio_event *ev = realloc(c->events, cap * sizeof *ev);
    if (ev) c->events = ev;
    folio_mpw *pl = ev ? realloc(c->payloads, cap * sizeof *pl) : NULL;
    if (!pl) return folio_error__set(FOLIO_ERROR, "out of memory staging %zu events", cap);
    c->payloads = pl; /* a writer owns its heap buffer: it may move */
    for (size_t i = c->cap; i < cap; i++) folio_mpw__init(&c->payloads[i]);
    c->cap = cap;
    FOLIO_ASSERT(c->count + more <= c->cap);
    return FOLIO_OK;
}

/* Back to FOLIO_CMD_EVENTS_MAX events after a command that reserved more (their payload
 * buffers are freed): every command starts with the same bound, and a sweep of many holds
 * does not keep its memory. A failure to shrink keeps the larger arrays (harmless). */
static void cmd_shrink(folio_cmd *c) {
    if (c->cap == FOLIO_CMD_EVENTS_MAX) return;
    FOLIO_ASSERT(c->cap > FOLIO_CMD_EVENTS_MAX);
    for (size_t i = FOLIO_CMD_EVENTS_MAX; i < c->cap; i++) folio_mpw__free(&c->payloads[i]);
    folio_event *ev = realloc(c->events, FOLIO_CMD_EVENTS_MAX * sizeof *ev);
    if (ev) c->events = ev;
    folio_mpw *pl = realloc(c->payloads, FOLIO_CMD_EVENTS_MAX * sizeof *pl);
    if (pl) c->payloads = pl;
    c->cap = FOLIO_CMD_EVENTS_MAX;
}

int folio_cmd__settings(folio_settings *out, folio_cmd *c) {
    folio_db *db = c->db;
    const void *raw;
    size_t n;
    int rc = folio_directory__settings_raw(&raw, &n, &c->dir);
    if (rc < 0) return rc;
    if (raw && n == db->settings_memo_bytes && memcmp(raw, db->settings_memo_raw, n) == 0) {
        *out = db->settings_memo;
        return FOLIO_OK;
    }
    if ((rc = folio_directory__settings_decode(out, raw, n)) < 0) return rc;
    db->settings_memo_bytes = 0;
    if (raw && n <= sizeof db->settings_memo_raw) { /* the same bytes decode the same */
        memcpy(db->settings_memo_raw, raw, n);
        db->settings_memo = *out;
        db->settings_memo_bytes = n;
    }
    return FOLIO_OK;
}

int folio_cmd__target(folio_cmd *c, uint64_t id, const char *ref) {
    folio_stream_rec srec;
    c->primary = id;
    if (!c->w->has_expected_version) return FOLIO_OK;
    int rc = folio_log__read_stream(&srec, c->txn, id);
    if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
    if (srec.version != c->w->expected_version)
        return folio_error__set(FOLIO_ECONFLICT, "conflict: %s is at version %llu, not %llu", ref,
                                (unsigned long long)srec.version,
                                (unsigned long long)c->w->expected_version);
    return FOLIO_OK;
}

typedef struct {
    folio_cmd *c;
    folio_db *db;
    const folio_write_opts *w;
    folio_write_result *out;
    const folio_mpw *request;
    int (*fn)(folio_cmd *c, void *arg);
    void *arg;
    int upsert; /* folio_cmd__run_upsert: a repeat says whether the customer existed */
} run_ctx;

/* Fill the result's id, ref and version from the primary customer's card. */
static int describe(folio_write_result *out, folio_cmd *c, uint64_t id) {
    folio_dir_rec *card = c->cards[FOLIO_CMD_CARD_RESULT];
    folio_stream_rec srec;
    int rc;
    out->id = id;
    out->ref[0] = '\0';
    rc = folio_log__read_stream(&srec, c->txn, id);
    if (rc == FOLIO_ENOTFOUND) rc = FOLIO_OK;
    out->version = srec.version;
    out->seq = srec.head_seq;
    if (rc == FOLIO_OK && id != 0 && id == c->known_ref_id) {
        memcpy(out->ref, c->known_ref, sizeof out->ref);
    } else if (rc == FOLIO_OK && id != 0) {
        rc = folio_directory__get(card, &c->dir, id);
        if (rc == FOLIO_OK && card->ref.n <= FOLIO_REF_BYTES_MAX) {
            memcpy(out->ref, card->ref.s, card->ref.n);
            out->ref[card->ref.n] = '\0';
        }
        if (rc == FOLIO_ENOTFOUND) rc = FOLIO_OK;
    }
    return rc;
}

/* The result of an idempotent repeat: named by the last event the original wrote (an init's
 * by its ledger.configured: the holds it placed or released come after it, on customers'
 * streams), with the document number the original issued (the first document event of its
 * range). */
static int describe_replay(folio_write_result *out, int *created, folio_cmd *c,
                           uint64_t first_seq, uint64_t last_seq) {
    folio_event e;
    char *strbuf = malloc(FOLIO_EVENT_BYTES_MAX); /* strings of any event fit */
    uint64_t stream = 0, version = 0, contact_id = 0, settings_version = 0, settings_seq = 0;
    int merge = 0, creates = 0;
    int rc = strbuf ? FOLIO_OK : folio_error__set(FOLIO_ERROR, "out of memory");
    out->doc[0] = '\0';
    for (uint64_t seq = first_seq; seq <= last_seq && rc == FOLIO_OK; seq++) {
        uint8_t key[8];
        folio_val v;
        folio_frame f;
        folio__put_be64(key, seq);
        rc = folio_store__get(&v, c->txn, FOLIO_DB_LOG, key, sizeof key);
        if (rc == FOLIO_OK) rc = folio_frame__open(&f, v.data, v.size, seq);
        if (rc == FOLIO_OK)
            rc = folio_codec__decode_envelope(&e, f.envelope, f.envelope_bytes, strbuf,
                                              FOLIO_EVENT_BYTES_MAX, seq, NULL, NULL);
        if (rc < 0) break;
        int is_doc = e.type == FOLIO_EV_INVOICE_ISSUED || e.type == FOLIO_EV_CREDIT_NOTE_ISSUED ||
                     e.type == FOLIO_EV_PAYMENT_RECEIVED || e.type == FOLIO_EV_REFUND_ISSUED;
        folio_mpr p, d;
        const char *s;
        size_t n;
        if (is_doc && !out->doc[0] && folio_mpr__open(&p, e.payload, e.payload_bytes) == FOLIO_OK &&
            folio_mpr__find(&d, &p, "doc") == FOLIO_OK && folio_mpr__str(&d, &s, &n) == FOLIO_OK &&
            s && n < sizeof out->doc) {
            memcpy(out->doc, s, n);
            out->doc[n] = '\0';
        }
        /* the id of the contact the original added or removed (a contact command, or an
         * upsert that created a customer with its contact): its first contact event's; a
         * merge, whose moved contacts are contact events too, reports none */
        merge |= e.type == FOLIO_EV_CUSTOMER_MERGED_INTO || e.type == FOLIO_EV_CUSTOMER_MERGED_FROM;
        creates |= e.type == FOLIO_EV_CUSTOMER_CREATED;
        if (e.type == FOLIO_EV_LEDGER_CONFIGURED) {
            settings_version = e.version;
            settings_seq = seq;
        }
        if ((e.type == FOLIO_EV_CUSTOMER_CONTACT_ADDED ||
             e.type == FOLIO_EV_CUSTOMER_CONTACT_REMOVED) &&
            !contact_id && folio_mpr__open(&p, e.payload, e.payload_bytes) == FOLIO_OK &&
            folio_mpr__find(&d, &p, "id") == FOLIO_OK && folio_mpr__u64(&d, &contact_id) != FOLIO_OK)
            contact_id = 0;
        stream = e.stream;
        version = e.version;
    }
    free(strbuf);
    if (rc < 0) return rc;
    *created |= creates;
    if (settings_version && !creates) { /* folio_ledger_init (a create may configure too) */
        stream = 0;
        version = settings_version;
        last_seq = settings_seq; /* seq and version name the same event */
    }
    char doc[sizeof out->doc];
    memcpy(doc, out->doc, sizeof doc);
    rc = describe(out, c, stream);
    memcpy(out->doc, doc, sizeof doc);
    out->item_id = merge ? 0 : contact_id;
    out->version = version;
    out->seq = last_seq;
    out->replayed = 1;
    return rc;
}

static int run_txn(folio_txn *t, void *arg) {
    run_ctx *r = arg;
    folio_cmd *c = r->c;
    const folio_write_opts *w = r->w;
    folio_head head;
    uint8_t hash[FOLIO_HASH_BYTES];
    int rc;
    c->db = r->db;
    c->w = w;
    c->txn = t;
    c->count = 0;
    cmd_shrink(c); /* a command run before (or this one's first try) may have reserved more */
    c->primary = 0;
    c->item_id = 0;
    c->doc[0] = '\0';
    c->existed = 0;
    c->known_ref_id = 0;
    folio_projection__txn(&c->dir, t, "directory", NULL);
    memset(r->out, 0, sizeof *r->out);
    if ((rc = folio_log__read_head(&head, t)) < 0) return rc;
    for (unsigned i = 0; i < folio_projection__count(); i++)
        if ((rc = folio_projection__check_current(t, i, head.last_seq)) < 0) return rc;

    if (w->idempotency_key) {
        folio_append_result prior;
        int found = 0;
        folio_hasher *h = r->db->cmd_hasher;
        folio_hasher__reset(h);
        folio_hasher__update(h, r->request->buf, r->request->len);
        folio_codec__hash_content(h, &(folio_event){.actor = w->actor, .reason = w->reason,
                                                     .correlation = w->correlation,
                                                     .payload = "", .payload_bytes = 0});
        folio_hasher__digest(h, hash);
        if ((rc = folio_log__idem_check(&prior, &found, t, w->idempotency_key, hash)) < 0)
            return rc;
        if (found) {
            int created = 0;
            if ((rc = describe_replay(r->out, &created, c, prior.first_seq, prior.last_seq)) < 0)
                return rc;
            /* an upsert that wrote events to a customer it did not create found it there (one
             * that found it and changed nothing recorded no answer: it runs again) */
            if (r->upsert && found == 1) r->out->existed = !created;
            if (found == 2) { /* the original wrote nothing: its answer again */
                r->out->unchanged = 1;
                r->out->doc[0] = '\0';
                r->out->item_id = 0;
            }
            return FOLIO__NOCOMMIT;
        }
    }

    if ((rc = r->fn(c, r->arg)) < 0) return rc;
    FOLIO_ASSERT(c->primary != 0 || c->count == 0 || c->events[0].stream == 0);
    if (c->count == 0) {
        if ((rc = describe(r->out, c, c->primary)) < 0) return rc;
        r->out->unchanged = 1;
        r->out->item_id = c->item_id;
        r->out->existed = c->existed;
        memcpy(r->out->doc, c->doc, sizeof r->out->doc);
        /* A key used on a write that changed nothing is taken all the same (rule 11): a
         * repeat gets this answer again, and does not apply the request to a state that
         * others changed since (a status set again after someone else moved it). */
        if (w->idempotency_key && r->out->seq > 0 && !c->existed) {
            if ((rc = folio_log__idem_put_answer(t, w->idempotency_key, hash, r->out->seq)) < 0)
                return rc;
            return FOLIO_OK;
        }
        return FOLIO__NOCOMMIT;
    }
    for (size_t i = 0; i < c->count; i++) {
        if ((rc = folio_mpw__finish(&c->payloads[i])) < 0) return rc;
        c->events[i].payload = c->payloads[i].buf;
        c->events[i].payload_bytes = c->payloads[i].len;
        if ((rc = folio_codec__check_payload(c->events[i].payload, c->events[i].payload_bytes)) < 0)
            return rc;
    }
    folio_append_result res;
    rc = folio_log__append_txn(&res, c->db, t, c->events, c->count, w->idempotency_key,
                               w->idempotency_key ? hash : NULL);
    if (rc < 0) return rc;
#ifndef NDEBUG
    /* open invoices - open credits - unallocated payments = balance, for every customer the
     * command wrote to */
    for (size_t i = 0; i < c->count; i++)
        if (c->events[i].stream != 0 && (rc = folio_docs__check_invariant(t, c->events[i].stream)) < 0)
            return rc;
#endif
    if ((rc = describe(r->out, c, c->primary)) < 0) return rc;
    /* seq and version name the same event: the primary stream's last, which is the command's
     * last but for an init whose holds follow its ledger.configured on customers' streams */
    FOLIO_ASSERT(r->out->seq >= res.first_seq && r->out->seq <= res.last_seq);
    FOLIO_ASSERT(r->out->seq == res.last_seq || c->primary == 0);
    r->out->item_id = c->item_id;
    r->out->existed = c->existed;
    memcpy(r->out->doc, c->doc, sizeof r->out->doc);
    return FOLIO_OK;
}

static int cmd_run(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                   const folio_mpw *request, int (*fn)(folio_cmd *c, void *arg), void *arg,
                   int upsert) {
    folio_write_result res;
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "write: NULL argument");
    int rc = folio_cmd__check_opts(w);
    if (rc < 0) return rc;
    if ((rc = folio_mpw__finish(request)) < 0) return rc;
    /* db->cmd is used only inside run_txn, under the handle's write lock. */
    run_ctx r = {db->cmd, db, w, &res, request, fn, arg, upsert};
    rc = folio_log__write(db, run_txn, &r);
    if (rc == FOLIO_OK) {
        FOLIO_ASSERT(res.replayed || res.unchanged || res.seq > 0);
        *out = res;
    }
    return rc;
}

int folio_cmd__run(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                   const folio_mpw *request, int (*fn)(folio_cmd *c, void *arg), void *arg) {
    return cmd_run(out, db, w, request, fn, arg, 0);
}

int folio_cmd__run_upsert(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const folio_mpw *request, int (*fn)(folio_cmd *c, void *arg),
                          void *arg) {
    return cmd_run(out, db, w, request, fn, arg, 1);
}

folio_cmd *folio_cmd__create(void) {
    folio_cmd *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->events = calloc(FOLIO_CMD_EVENTS_MAX, sizeof *c->events);
    c->payloads = calloc(FOLIO_CMD_EVENTS_MAX, sizeof *c->payloads);
    c->cap = FOLIO_CMD_EVENTS_MAX;
    if (!c->events || !c->payloads) {
        free(c->events);
        free(c->payloads);
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < FOLIO_CMD_EVENTS_MAX; i++) folio_mpw__init(&c->payloads[i]);
    for (size_t i = 0; i < FOLIO_CMD_CARDS; i++) {
        if (!(c->cards[i] = malloc(sizeof *c->cards[i]))) {
            folio_cmd__free(c);
            return NULL;
        }
    }
    return c;
}

void folio_cmd__free(folio_cmd *c) {
    if (!c) return;
    for (size_t i = 0; i < c->cap; i++) folio_mpw__free(&c->payloads[i]);
    for (size_t i = 0; i < FOLIO_CMD_CARDS; i++) free(c->cards[i]);
    free(c->events);
    free(c->payloads);
    free(c);
}
