/*
 * engine/projection.c - running the registered projections (engine/projection.h).
 * State per projection in root key "\0proj.<name>": u32 LE code version, u64 LE last seq.
 * Invariants: a projection folds every event exactly once and in seq order (last_seq + 1 is
 * the only seq it accepts); a projection whose stored version differs from its code is
 * emptied and folded again from seq 1 before anything reads it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "projection.h"

/* Events folded per write transaction while catching up, at most. A transaction ends
 * sooner when the record cache passes its bulk budget (engine/pcache.c), which is what
 * bounds memory; the state is saved with each transaction, so a killed catch-up resumes
 * from there. One transaction for the whole log, when its records fit the budget, writes
 * each tree once in key order, appending to the emptied trees (full pages, no searches):
 * with 65,536 events per transaction the benchmark's 1.25M-event rebuild rewrote every
 * page of the trees 20 times. */
#define CATCH_UP_BATCH_COUNT_MAX (1u << 24)

unsigned folio_projection__count(void) {
    FOLIO_ASSERT(folio_registry_count <= FOLIO_PROJECTIONS_MAX);
    return folio_registry_count;
}

const char *folio_projection__name(unsigned index) {
    FOLIO_ASSERT(index < folio_registry_count);
    return folio_registry[index]->name;
}

static folio_pcache *pcache_of(folio_proj_txn *txn) {
    return txn->txn->cache ? txn->txn->cache->pc : NULL;
}

void folio_proj__streams(folio_proj_txn *out, folio_proj_txn *txn) {
    FOLIO_ASSERT(txn->dbi >= FOLIO_DB_PROJ0);
    FOLIO_ASSERT(txn->dbi - FOLIO_DB_PROJ0 < folio_registry_count);
    const folio_projection *p = folio_registry[txn->dbi - FOLIO_DB_PROJ0];
    FOLIO_ASSERT(p->stream_tag != 0);
    *out = *txn;
    out->dbi = FOLIO_DB_STREAMS;
    out->stream_tag = p->stream_tag;
}

void folio_proj__stream_key(uint8_t key[FOLIO_PROJ_STREAM_KEY_BYTES], const folio_proj_txn *txn,
                            uint64_t stream) {
    FOLIO_ASSERT(txn->dbi == FOLIO_DB_STREAMS);
    FOLIO_ASSERT(txn->stream_tag != 0);
    folio__put_be64(key, stream);
    key[8] = txn->stream_tag;
}

/* A per-stream view reaches only its projection's keys: stream + tag + suffix. */
static void check_key(const folio_proj_txn *txn, const void *key, size_t key_bytes) {
    if (txn->dbi != FOLIO_DB_STREAMS) return;
    FOLIO_ASSERT(key_bytes > FOLIO_PROJ_STREAM_KEY_BYTES);
    FOLIO_ASSERT(((const uint8_t *)key)[8] == txn->stream_tag);
}

int folio_proj__get(const void **val_out, size_t *val_bytes_out, folio_proj_txn *txn,
                    const void *key, size_t key_bytes) {
    check_key(txn, key, key_bytes);
    folio_val v;
    folio_pcache *pc = pcache_of(txn);
    int rc = pc ? folio_pcache__get(&v, pc, txn->txn, txn->dbi, key, key_bytes)
                : folio_store__get(&v, txn->txn, txn->dbi, key, key_bytes);
    if (rc < 0) return rc;
    *val_out = v.data;
    *val_bytes_out = v.size;
    return FOLIO_OK;
}

int folio_proj__put(folio_proj_txn *txn, const void *key, size_t key_bytes, const void *val,
                    size_t val_bytes) {
    check_key(txn, key, key_bytes);
    folio_pcache *pc = pcache_of(txn);
    if (!pc) return folio_store__put(txn->txn, txn->dbi, key, key_bytes, val, val_bytes, 0);
    FOLIO_ASSERT(txn->txn->write);
    txn->txn->writes++;
    return folio_pcache__put(pc, txn->dbi, key, key_bytes, val, val_bytes);
}

int folio_proj__del(folio_proj_txn *txn, const void *key, size_t key_bytes) {
    check_key(txn, key, key_bytes);
    folio_pcache *pc = pcache_of(txn);
    if (!pc) return folio_store__del(txn->txn, txn->dbi, key, key_bytes);
    FOLIO_ASSERT(txn->txn->write);
    txn->txn->writes++;
    return folio_pcache__del(pc, txn->txn, txn->dbi, key, key_bytes);
}

int folio_proj__fail(int rc, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return folio_error__set(rc, "%s", msg);
}

int folio_proj__with(folio_proj_txn *t, const char *name,
                     int (*fn)(folio_proj_txn *other, void *arg), void *arg) {
    folio_proj_txn other;
    folio_projection__txn(&other, t->txn, name, t->scratch);
    return fn(&other, arg);
}

int folio_proj__payload(folio_mpr *r, const folio_event *e) {
    if (!e->payload || e->payload_bytes == 0)
        return folio_proj__fail(FOLIO_EINVAL, "event without a payload");
#ifndef NDEBUG
    folio_mpr check;
    FOLIO_ASSERT(folio_mpr__open(&check, e->payload, e->payload_bytes) == FOLIO_OK);
#endif
    r->p = e->payload;
    r->end = (const char *)e->payload + e->payload_bytes;
    return FOLIO_OK;
}

void folio_proj__scratch(uint8_t **buf_out, size_t *cap_out, folio_proj_txn *txn) {
    FOLIO_ASSERT(txn->scratch != NULL);
    *buf_out = txn->scratch;
    *cap_out = FOLIO_PROJ_SCRATCH_BYTES;
}

void folio_proj__iter_init(folio_proj_iter *it, folio_proj_txn *txn, const void *prefix,
                           size_t prefix_bytes) {
    if (txn->dbi == FOLIO_DB_STREAMS) { /* within one stream's records of this projection */
        FOLIO_ASSERT(prefix_bytes >= FOLIO_PROJ_STREAM_KEY_BYTES);
        FOLIO_ASSERT(((const uint8_t *)prefix)[8] == txn->stream_tag);
    }
    memset(it, 0, sizeof *it);
    it->txn = txn;
    it->prefix = prefix;
    it->prefix_bytes = prefix_bytes;
}

void folio_proj__iter_init_reverse(folio_proj_iter *it, folio_proj_txn *txn, const void *prefix,
                                   size_t prefix_bytes) {
    FOLIO_ASSERT(prefix_bytes > 0);
    FOLIO_ASSERT(prefix_bytes <= FOLIO_PROJ_PREFIX_BYTES_MAX);
    folio_proj__iter_init(it, txn, prefix, prefix_bytes);
    it->reverse = 1;
}

/* Position a reverse walk on the last key with the prefix: the first key past every key
 * with it is the prefix with its last byte below 0xff raised by one, shortened. */
static int seek_last_of(folio_cursor *c, const uint8_t *prefix, size_t n, folio_val *k,
                        folio_val *v) {
    uint8_t end[FOLIO_PROJ_PREFIX_BYTES_MAX];
    memcpy(end, prefix, n);
    while (n > 0 && end[n - 1] == 0xff) n--;
    int rc = FOLIO_ITEROVER;
    if (n > 0) {
        end[n - 1]++;
        rc = folio_store__cursor_seek(c, end, n, k, v);
    }
    if (rc == FOLIO_ITEROVER) return folio_store__cursor_last(c, k, v);
    if (rc < 0) return rc;
    return folio_store__cursor_prev(c, k, v);
}

int folio_proj__iter_next(folio_proj_iter *it, const void **key, size_t *key_bytes,
                          const void **val, size_t *val_bytes) {
    folio_cursor c = {it->cursor};
    folio_val k, v;
    int rc;
    if (!it->started) {
        /* the cursor walks LMDB: the cached writes go there first */
        if ((rc = folio_pcache__flush(pcache_of(it->txn), it->txn->txn)) < 0) return rc;
        rc = folio_store__cursor_open(&c, it->txn->txn, it->txn->dbi);
        if (rc < 0) return rc;
        it->cursor = c.mdb;
        it->started = 1;
        if (it->reverse)
            rc = seek_last_of(&c, it->prefix, it->prefix_bytes, &k, &v);
        else
            rc = folio_store__cursor_seek(&c, it->prefix_bytes ? it->prefix : NULL,
                                          it->prefix_bytes, &k, &v);
    } else {
        rc = it->reverse ? folio_store__cursor_prev(&c, &k, &v) : folio_store__cursor_next(&c, &k, &v);
    }
    if (rc < 0) return rc;
    if (k.size < it->prefix_bytes || memcmp(k.data, it->prefix, it->prefix_bytes) != 0)
        return FOLIO_ITEROVER;
    *key = k.data;
    *key_bytes = k.size;
    *val = v.data;
    *val_bytes = v.size;
    return FOLIO_OK;
}

void folio_proj__iter_close(folio_proj_iter *it) {
    folio_cursor c = {it->cursor};
    folio_store__cursor_close(&c);
    it->cursor = NULL;
}

void folio_projection__txn(folio_proj_txn *out, folio_txn *t, const char *name,
                           uint8_t *scratch) {
    /* Callers name a projection by a literal that is, as a rule, the very string of its
     * .name (the linker merges equal literals): the pointers first, then the text. */
    unsigned i = 0;
    while (i < folio_registry_count && folio_registry[i]->name != name) i++;
    if (i == folio_registry_count)
        for (i = 0; i < folio_registry_count && strcmp(folio_registry[i]->name, name) != 0; i++) {}
    FOLIO_ASSERT(i < folio_registry_count); /* the projection is registered */
    out->txn = t;
    out->dbi = FOLIO_DB_PROJ0 + i;
    out->scratch = scratch;
    out->stream_tag = 0;
}

int folio_projection__tag_known(uint8_t tag) {
    for (unsigned i = 0; i < folio_registry_count; i++)
        if (tag != 0 && folio_registry[i]->stream_tag == tag) return 1;
    return 0;
}

size_t folio_projection__state_key(char *buf, size_t cap, const char *name) {
    size_t n = strlen(name);
    FOLIO_ASSERT(n + 6 <= cap);
    memcpy(buf, "\0proj.", 6);
    memcpy(buf + 6, name, n);
    return n + 6;
}

static size_t state_key(char *buf, size_t cap, unsigned i) {
    return folio_projection__state_key(buf, cap, folio_registry[i]->name);
}

size_t folio_projection__initial_state(char *key, size_t key_cap,
                                       uint8_t val[FOLIO_PROJ_STATE_BYTES], unsigned index) {
    FOLIO_ASSERT(index < folio_registry_count);
    folio__put_le32(val, folio_registry[index]->version);
    folio__put_le64(val + 4, 0);
    return state_key(key, key_cap, index);
}

int folio_projection__load(folio_proj_states *out, folio_txn *t) {
    if (!t->cache) return folio_projection__load_store(out, t);
    int rc = folio_log__cache_load(t);
    if (rc < 0) return rc;
    *out = t->cache->states;
    return FOLIO_OK;
}

int folio_projection__save(folio_txn *t, folio_proj_states *s) {
    if (!t->cache) return folio_projection__save_store(t, s);
    FOLIO_ASSERT(t->cache->loaded);
    folio_proj_states *c = &t->cache->states;
    for (unsigned i = 0; i < folio_registry_count; i++) {
        if (!s->dirty[i]) continue;
        c->version[i] = s->version[i];
        c->last_seq[i] = s->last_seq[i];
        c->dirty[i] = 1;
        s->dirty[i] = 0;
        t->cache->dirty = 1;
    }
    return FOLIO_OK;
}

int folio_projection__load_store(folio_proj_states *out, folio_txn *t) {
    char key[64];
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < folio_registry_count; i++) {
        folio_val v;
        size_t kn = state_key(key, sizeof key, i);
        int rc = folio_store__get(&v, t, FOLIO_DB_ROOT, key, kn);
        if (rc == FOLIO_ENOTFOUND) continue; /* never built: version 0 */
        if (rc < 0) return rc;
        if (v.size != FOLIO_PROJ_STATE_BYTES)
            return folio_error__set(FOLIO_ECORRUPT, "projection state '%s' has %zu bytes", key + 1,
                                    v.size);
        out->version[i] = folio__get_le32(v.data);
        out->last_seq[i] = folio__get_le64((const uint8_t *)v.data + 4);
    }
    return FOLIO_OK;
}

int folio_projection__save_store(folio_txn *t, folio_proj_states *s) {
    char key[64];
    uint8_t val[FOLIO_PROJ_STATE_BYTES];
    for (unsigned i = 0; i < folio_registry_count; i++) {
        if (!s->dirty[i]) continue;
        size_t kn = state_key(key, sizeof key, i);
        folio__put_le32(val, s->version[i]);
        folio__put_le64(val + 4, s->last_seq[i]);
        int rc = folio_store__put(t, FOLIO_DB_ROOT, key, kn, val, sizeof val, 0);
        if (rc < 0) return rc;
        s->dirty[i] = 0;
    }
    return FOLIO_OK;
}

int folio_projection__apply_all(folio_txn *t, folio_proj_states *s, const folio_event *e) {
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(e->seq > 0);
    folio_pcache *pc = t->cache ? t->cache->pc : NULL;
    if (folio_pcache__over_budget(pc)) { /* between events: nothing points into it */
        int rc = folio_pcache__flush(pc, t);
        if (rc < 0) return rc;
        folio_pcache__reset(pc);
    }
    for (unsigned i = 0; i < folio_registry_count; i++) {
        const folio_projection *p = folio_registry[i];
        /* Behind (being rebuilt) or built by other code: catch-up folds this event later. */
        if (s->version[i] != p->version || s->last_seq[i] != e->seq - 1) continue;
        folio_proj_txn pt = {t, FOLIO_DB_PROJ0 + i, s->scratch, 0};
        int rc = p->apply(&pt, e);
        if (rc < 0) return rc;
        s->last_seq[i] = e->seq;
        s->dirty[i] = 1;
    }
    return FOLIO_OK;
}

int folio_projection__check_current(folio_txn *t, unsigned index, uint64_t head_seq) {
    uint32_t version = 0;
    uint64_t last_seq = 0;
    FOLIO_ASSERT(index < folio_registry_count);
    if (t->cache) {
        folio_proj_states s;
        int rc = folio_projection__load(&s, t);
        if (rc < 0) return rc;
        version = s.version[index];
        last_seq = s.last_seq[index];
    } else { /* a read: this projection's state only (queries check one or two) */
        char key[64];
        folio_val v;
        size_t kn = state_key(key, sizeof key, index);
        int rc = folio_store__get(&v, t, FOLIO_DB_ROOT, key, kn);
        if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
        if (rc == FOLIO_OK && v.size != FOLIO_PROJ_STATE_BYTES)
            return folio_error__set(FOLIO_ECORRUPT, "projection state '%s' has %zu bytes", key + 1,
                                    v.size);
        if (rc == FOLIO_OK) {
            version = folio__get_le32(v.data);
            last_seq = folio__get_le64((const uint8_t *)v.data + 4);
        }
    }
    if (version == folio_registry[index]->version && last_seq == head_seq) return FOLIO_OK;
    return folio_error__set(FOLIO_EFORMAT,
                            "projection '%s' is out of date; open the ledger for writing once "
                            "(any write command) to rebuild it",
                            folio_registry[index]->name);
}

/* One write transaction of catch-up: empty the projections built by other code (and
 * commit that alone), or fold the events into those that are behind, up to
 * CATCH_UP_BATCH_COUNT_MAX or until the record cache passes its bulk budget. Sets *done
 * when the transaction committed with every projection at the head. */
static int catch_up_batch(folio_db *db, char *strbuf, size_t strbuf_cap, int *done) {
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_cursor c = {0};
    folio_proj_states s;
    folio_head head;
    int rc = FOLIO_OK, dropped = 0, reached = 1;
    *done = 0;
    FOLIO_TRY(folio_log__begin(&t, &cache, db->store, db->pcache));
    folio_pcache__bulk(db->pcache, db->rebuild_cache_bytes);
    FOLIO_TRY(folio_log__read_head(&head, &t));
    FOLIO_TRY(folio_projection__load(&s, &t));
    s.scratch = db->proj_scratch;
    uint64_t from = UINT64_MAX;
    for (unsigned i = 0; i < folio_registry_count; i++) {
        const folio_projection *p = folio_registry[i];
        if (s.version[i] != p->version) {
            FOLIO_TRY(folio_store__drop(&t, FOLIO_DB_PROJ0 + i));
            if (p->stream_tag) FOLIO_TRY(folio_log__drop_stream_records(&t, p->stream_tag));
            folio_proj_txn pt = {&t, FOLIO_DB_PROJ0 + i, db->proj_scratch, 0};
            if (p->reset) FOLIO_TRY(p->reset(&pt));
            s.version[i] = p->version;
            s.last_seq[i] = 0;
            s.dirty[i] = 1;
            dropped = 1;
        }
        if (s.last_seq[i] > head.last_seq) {
            rc = folio_error__set(FOLIO_ECORRUPT,
                                  "projection '%s' claims seq %llu past the head %llu", p->name,
                                  (unsigned long long)s.last_seq[i],
                                  (unsigned long long)head.last_seq);
            goto cleanup;
        }
        if (s.last_seq[i] < from) from = s.last_seq[i];
    }
    /* The drops commit alone: a transaction cannot reuse the pages it freed, so folding in
     * the same one would grow the file by the size of the new trees. */
    if (!dropped && from < head.last_seq) {
        uint8_t key[8];
        folio_val k, v;
        /* nothing is cached yet: a tree that is empty now holds only what this fold puts */
        int restream = 0;
        for (unsigned i = 0; i < folio_registry_count; i++) {
            if (s.last_seq[i] < head.last_seq)
                FOLIO_TRY(folio_pcache__claim_fresh(db->pcache, &t, FOLIO_DB_PROJ0 + i));
            if (s.last_seq[i] == 0 && folio_registry[i]->stream_tag) restream = 1;
        }
        /* A projection with per-stream records folds from seq 1 (the drop deleted them):
         * "streams" goes through the cache too, so that its flush appends the stream
         * records and the new per-stream records together, in full pages (put in the
         * middle of the tree, one after another, they would fill its pages half). */
        if (restream) FOLIO_TRY(folio_log__stream_records_to_cache(&t, db->pcache));
        folio__put_be64(key, from + 1);
        FOLIO_TRY(folio_store__cursor_open(&c, &t, FOLIO_DB_LOG));
        rc = folio_store__cursor_seek(&c, key, sizeof key, &k, &v);
        for (uint64_t seq = from + 1, n = 0; n < CATCH_UP_BATCH_COUNT_MAX && seq <= head.last_seq;
             seq++, n++) {
            if (rc == FOLIO_ITEROVER || (rc == FOLIO_OK && (k.size != 8 ||
                                                            folio__get_be64(k.data) != seq))) {
                rc = FOLIO_CORRUPT(seq, "missing from the log during projection catch-up");
                goto cleanup;
            }
            if (rc < 0) goto cleanup;
            /* between events: nothing points into the cache; the commit writes it out */
            if (n > 0 && folio_pcache__over_budget(db->pcache)) break;
            if (((seq - 1) & (FOLIO_PROGRESS_EVERY - 1)) == 0 && seq > 1)
                folio_progress__report(db, "rebuild", seq - 1, head.last_seq);
            folio_frame f;
            folio_event e;
            FOLIO_TRY(folio_frame__open(&f, v.data, v.size, seq));
            /* the one-pass decode accepts only what the decoder accepts, with its results;
             * the decoder takes anything else and names its defect (INTEGRITY.md check 5) */
            if (!folio_codec__decode_envelope_fast(&e, f.envelope, f.envelope_bytes, strbuf,
                                                   strbuf_cap, seq, NULL, NULL))
                FOLIO_TRY(folio_codec__decode_envelope(&e, f.envelope, f.envelope_bytes, strbuf,
                                                       strbuf_cap, seq, NULL, NULL));
            FOLIO_TRY(folio_projection__apply_all(&t, &s, &e));
            rc = folio_store__cursor_next(&c, &k, &v);
        }
        rc = FOLIO_OK;
        folio_store__cursor_close(&c);
    }
    FOLIO_TRY(folio_projection__save(&t, &s));
    for (unsigned i = 0; i < folio_registry_count; i++) {
        FOLIO_ASSERT(s.last_seq[i] <= head.last_seq);
        if (dropped) FOLIO_ASSERT(s.last_seq[i] == 0 || s.last_seq[i] == head.last_seq);
        if (s.last_seq[i] != head.last_seq) reached = 0;
    }
    FOLIO_TRY(folio_pcache__flush_final(db->pcache, &t)); /* the records; no lookups after */
    FOLIO_TRY(folio_log__flush(&t));
    rc = folio_store__commit(&t);
    if (rc == FOLIO_OK) *done = reached; /* not before: a failed commit (map full) retries */
    if (rc == FOLIO_OK && dropped && !reached) {
        /* LMDB hands out the pages a transaction freed from the second transaction after
         * it on (it keeps the snapshot before them for a reader): commit one more,
         * that rewrites the states, before the fold takes pages. */
        FOLIO_TRY(folio_log__begin(&t, &cache, db->store, db->pcache));
        FOLIO_TRY(folio_projection__load(&s, &t));
        for (unsigned i = 0; i < folio_registry_count; i++) s.dirty[i] = 1;
        FOLIO_TRY(folio_projection__save(&t, &s));
        FOLIO_TRY(folio_log__flush(&t));
        rc = folio_store__commit(&t);
    }
cleanup:
    folio_store__cursor_close(&c);
    folio_store__abort(&t);
    return rc;
}

/* Mark every projection as built by no code (folio_projection__catch_up with `all`): the
 * catch-up then empties each and folds from seq 1, and a rebuild killed after this commit
 * resumes at the next read-write open. */
static int reset_states(folio_txn *t, void *arg) {
    (void)arg;
    folio_proj_states s;
    int rc = folio_projection__load(&s, t);
    if (rc < 0) return rc;
    for (unsigned i = 0; i < folio_registry_count; i++) {
        s.version[i] = 0;
        s.last_seq[i] = 0;
        s.dirty[i] = 1;
    }
    return folio_projection__save(t, &s);
}

int folio_projection__catch_up(folio_db *db, int all) {
    folio_txn t = {0};
    folio_proj_states s;
    folio_head head;
    int rc = FOLIO_OK, behind = all;
    /* Look first in a read transaction: the usual answer is "all current", and it must not
     * wait for another process's writer. */
    FOLIO_TRY(folio_store__read_begin(&t, db->store));
    FOLIO_TRY(folio_log__read_head(&head, &t));
    FOLIO_TRY(folio_projection__load(&s, &t));
    folio_store__read_end(&t);
    int drops = all;
    for (unsigned i = 0; i < folio_registry_count; i++) {
        if (s.version[i] != folio_registry[i]->version || s.last_seq[i] != head.last_seq)
            behind = 1;
        if (s.version[i] != folio_registry[i]->version) drops = 1;
    }
    if (!behind || folio_store__read_only(db->store)) return FOLIO_OK;
    /* A projection built by other code (or every one, for a rebuild) is dropped in a
     * transaction of its own before the fold: on a log the fold would stop in, that would
     * leave a ledger that answers nothing (an older folio could still read it). Check the
     * log first (without the projections' own records, which the fold rewrites) and refuse
     * with nothing dropped. */
    if (drops) {
        folio_verify_report vr;
        int vrc = folio_verify__log(&vr, db);
        if (vrc < 0 && all)
            return folio_error__set(vrc, "rebuild refused, nothing changed: %s", folio_errmsg());
        if (vrc < 0)
            return folio_error__set(vrc, "projections need rebuilding (built by other code) but "
                                         "the log fails verify; nothing was dropped: %s",
                                    folio_errmsg());
    }
    if (all && (rc = folio_log__write(db, reset_states, NULL)) < 0) return rc;

    char *strbuf = malloc(FOLIO_EVENT_BYTES_MAX);
    if (!strbuf) return folio_error__set(FOLIO_ERROR, "catch-up: out of memory");
    pthread_mutex_lock(&db->write_lock);
    for (int done = 0; !done;) {
        rc = catch_up_batch(db, strbuf, FOLIO_EVENT_BYTES_MAX, &done);
        if (rc == FOLIO__EMAPFULL) rc = folio_store__grow(db->store);
        if (rc < 0) break;
        folio_proj_states now;
        folio_txn t2 = {0};
        if (folio_store__read_begin(&t2, db->store) == FOLIO_OK) {
            if (folio_projection__load(&now, &t2) == FOLIO_OK)
                folio_progress__report(db, "rebuild", now.last_seq[0], head.last_seq);
            folio_store__read_end(&t2);
        }
    }
    folio_pcache__reset(db->pcache); /* give back what the catch-up's budget took */
    pthread_mutex_unlock(&db->write_lock);
    free(strbuf);
    return rc;
cleanup:
    folio_store__abort(&t);
    return rc;
}
