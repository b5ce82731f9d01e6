/*
 * engine/log.c - the append-only event log.
 * Owns sub-databases:
 *   "log":     key = big-endian u64 seq, value = frame (engine/frame.c), put with MDB_APPEND;
 *   "streams": key = big-endian u64 stream, value = u64 LE last version, u64 LE seq of the
 *              stream's last event. Each frame points back to the previous event of its
 *              stream, so a stream is read by following back-pointers from this record: an
 *              append dirties one log page (sequential) and one stream record, not a page of a
 *              (stream, version) index (docs/FORMAT.md explains the write-cost reasoning);
 *   "idem":    key = idempotency key bytes, value = u8 1, 16-byte content hash, u64 LE first
 *              seq, u64 LE last seq; or u8 2 (a command that wrote nothing: the event its
 *              answer named, first = last);
 * and root key "\0head" (FOLIO_DB_ROOT, LMDB's main database): u64 LE last seq, 16-byte
 * chain hash of that event, u64 LE last recorded_at.
 * Invariants: seq is dense from 1; versions are dense from 1 per stream; a frame's
 * back-pointer is the seq of its stream's previous event; recorded_at never decreases;
 * head.chain is the chain hash of event head.last_seq; the events of one append (a command
 * or a raw batch) carry command marks counting down to its last event, which has none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "internal.h"

#define IDEM_VALUE_BYTES (1u + FOLIO_HASH_BYTES + 8u + 8u)

_Static_assert(FOLIO_HEAD_BYTES == 8 + FOLIO_HASH_BYTES + 8, "head record layout");

static int read_head_store(folio_head *out, folio_txn *t);
static int read_counts_store(folio_log_counts *out, folio_txn *t, uint64_t events);

int folio_log__read_head(folio_head *out, folio_txn *t) {
    if (!t->cache) return read_head_store(out, t);
    int rc = folio_log__cache_load(t);
    if (rc == FOLIO_OK) *out = t->cache->head;
    return rc;
}

int folio_log__cache_load(folio_txn *t) {
    folio_txn_cache *c = t->cache;
    FOLIO_ASSERT(c != NULL);
    if (c->loaded) return FOLIO_OK;
    int rc = read_head_store(&c->head, t);
    if (rc == FOLIO_OK) rc = read_counts_store(&c->counts, t, c->head.last_seq);
    if (rc == FOLIO_OK) rc = folio_projection__load_store(&c->states, t);
    if (rc == FOLIO_OK) c->loaded = 1;
    return rc;
}

static int read_head_store(folio_head *out, folio_txn *t) {
    folio_val v;
    memset(out, 0, sizeof *out);
    int rc = folio_store__get(&v, t, FOLIO_DB_ROOT, FOLIO_ROOT_HEAD_KEY, FOLIO_ROOT_HEAD_KEY_BYTES);
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK; /* empty ledger */
    if (rc < 0) return rc;
    if (v.size != FOLIO_HEAD_BYTES)
        return folio_error__set(FOLIO_ECORRUPT, "head record has %zu bytes, expected %u", v.size,
                                FOLIO_HEAD_BYTES);
    const uint8_t *p = v.data;
    out->last_seq = folio__get_le64(p);
    memcpy(out->chain, p + 8, FOLIO_HASH_BYTES);
    out->last_recorded_at_us = (int64_t)folio__get_le64(p + 8 + FOLIO_HASH_BYTES);
    return FOLIO_OK;
}

static int write_head_store(folio_txn *t, const folio_head *h) {
    uint8_t buf[FOLIO_HEAD_BYTES];
    folio__put_le64(buf, h->last_seq);
    memcpy(buf + 8, h->chain, FOLIO_HASH_BYTES);
    folio__put_le64(buf + 8 + FOLIO_HASH_BYTES, (uint64_t)h->last_recorded_at_us);
    return folio_store__put(t, FOLIO_DB_ROOT, FOLIO_ROOT_HEAD_KEY, FOLIO_ROOT_HEAD_KEY_BYTES, buf,
                            sizeof buf, 0);
}

/* The counts record: u64 LE streams, then u8 type + u64 LE count per type with events, in
 * ascending type order. Absent only on an empty log. */
#define COUNTS_PAIR_BYTES 9u
#define COUNTS_BYTES_MAX (8u + COUNTS_PAIR_BYTES * FOLIO_EVENT_TYPE_IDS)

static int read_counts_store(folio_log_counts *out, folio_txn *t, uint64_t events) {
    folio_val v;
    memset(out, 0, sizeof *out);
    int rc = folio_store__get(&v, t, FOLIO_DB_ROOT, FOLIO_ROOT_COUNTS_KEY,
                              FOLIO_ROOT_COUNTS_KEY_BYTES);
    if (rc == FOLIO_ENOTFOUND && events == 0) return FOLIO_OK;
    if (rc == FOLIO_ENOTFOUND)
        return folio_error__set(FOLIO_ECORRUPT, "the log's counts record is missing");
    if (rc < 0) return rc;
    const uint8_t *p = v.data;
    if (v.size < 8 || (v.size - 8) % COUNTS_PAIR_BYTES != 0 || v.size > COUNTS_BYTES_MAX)
        return folio_error__set(FOLIO_ECORRUPT, "the log's counts record has %zu bytes", v.size);
    out->streams = folio__get_le64(p);
    uint64_t sum = 0;
    for (size_t off = 8, prev = 0; off < v.size; off += COUNTS_PAIR_BYTES) {
        unsigned type = p[off];
        uint64_t n = folio__get_le64(p + off + 1);
        if (type >= FOLIO_EVENT_TYPE_IDS || (off > 8 && type <= prev) || n == 0 ||
            __builtin_add_overflow(sum, n, &sum))
            return folio_error__set(FOLIO_ECORRUPT, "the log's counts record is malformed");
        out->types[type] = n;
        prev = type;
    }
    if (sum != events)
        return folio_error__set(FOLIO_ECORRUPT,
                                "the log's counts record counts %llu events, the head %llu",
                                (unsigned long long)sum, (unsigned long long)events);
    if (out->streams > events)
        return folio_error__set(FOLIO_ECORRUPT,
                                "the log's counts record says %llu streams, more than its %llu "
                                "events",
                                (unsigned long long)out->streams, (unsigned long long)events);
    return FOLIO_OK;
}

static int write_counts_store(folio_txn *t, const folio_log_counts *c) {
    uint8_t buf[COUNTS_BYTES_MAX];
    size_t n = 8;
    folio__put_le64(buf, c->streams);
    for (unsigned type = 0; type < FOLIO_EVENT_TYPE_IDS; type++) {
        if (!c->types[type]) continue;
        buf[n] = (uint8_t)type;
        folio__put_le64(buf + n + 1, c->types[type]);
        n += COUNTS_PAIR_BYTES;
    }
    return folio_store__put(t, FOLIO_DB_ROOT, FOLIO_ROOT_COUNTS_KEY, FOLIO_ROOT_COUNTS_KEY_BYTES,
                            buf, n, 0);
}

int folio_log__read_counts(folio_log_counts *out, folio_txn *t) {
    if (t->cache) {
        int rc = folio_log__cache_load(t);
        if (rc == FOLIO_OK) *out = t->cache->counts;
        return rc;
    }
    folio_head head;
    int rc = read_head_store(&head, t);
    return rc < 0 ? rc : read_counts_store(out, t, head.last_seq);
}

/* The head changes only with an append, whose counts are in the transaction's cache: both
 * are written together at its flush (folio_log__flush). */
static int write_head(folio_txn *t, const folio_head *h) {
    FOLIO_ASSERT(t->cache && t->cache->loaded);
    t->cache->head = *h;
    t->cache->dirty = 1;
    return FOLIO_OK;
}

int folio_log__begin(folio_txn *t, folio_txn_cache *cache, folio_store *s, folio_pcache *pc) {
    memset(t, 0, sizeof *t);
    memset(cache, 0, sizeof *cache);
    int rc = folio_store__write_begin(t, s);
    if (rc < 0) return rc;
    folio_pcache__reset(pc);
    cache->pc = pc;
    t->cache = cache;
    return FOLIO_OK;
}

int folio_log__flush(folio_txn *t) {
    folio_txn_cache *c = t->cache;
    if (!c) return FOLIO_OK;
    int rc = folio_pcache__flush(c->pc, t);
    if (rc < 0 || !c->dirty) return rc;
    rc = write_head_store(t, &c->head);
    if (rc == FOLIO_OK) rc = write_counts_store(t, &c->counts);
    if (rc == FOLIO_OK) rc = folio_projection__save_store(t, &c->states);
    if (rc == FOLIO_OK) c->dirty = 0;
    return rc;
}

/* A write transaction reads and writes stream records through its record cache, with the
 * projections' records: a busy stream's record is looked up in LMDB once per transaction
 * and written once, at the flush, in key order beside its per-stream records. */
static folio_pcache *stream_cache(const folio_txn *t) { return t->cache ? t->cache->pc : NULL; }

int folio_log__read_stream(folio_stream_rec *out, folio_txn *t, uint64_t stream) {
    uint8_t key[8];
    folio_val v;
    memset(out, 0, sizeof *out);
    folio__put_be64(key, stream);
    folio_pcache *pc = stream_cache(t);
    int rc = pc ? folio_pcache__get(&v, pc, t, FOLIO_DB_STREAMS, key, sizeof key)
                : folio_store__get(&v, t, FOLIO_DB_STREAMS, key, sizeof key);
    if (rc < 0) return rc;
    if (v.size != FOLIO_STREAM_REC_BYTES)
        return folio_error__set(FOLIO_ECORRUPT, "stream %llu record has %zu bytes",
                                (unsigned long long)stream, v.size);
    out->version = folio__get_le64(v.data);
    out->head_seq = folio__get_le64((const uint8_t *)v.data + 8);
    return FOLIO_OK;
}

int folio_log__walk_streams(folio_stream_walk *w, folio_txn *t, uint64_t *stream,
                            folio_stream_rec *rec) {
    folio_val k, v;
    int rc;
    if (!w->started) {
        const int log_only = w->log_only;
        memset(w, 0, sizeof *w);
        w->log_only = log_only;
        if ((rc = folio_store__cursor_open(&w->c, t, FOLIO_DB_STREAMS)) < 0) return rc;
        w->started = 1;
        rc = folio_store__cursor_seek(&w->c, NULL, 0, &k, &v);
    } else {
        rc = folio_store__cursor_next(&w->c, &k, &v);
    }
    /* Per-stream records follow their stream's record, grouped by tag: jump past each
     * group (its first key checked) to the next group or the next stream. */
    for (unsigned n = 0; rc == FOLIO_OK && k.size != 8; n++) {
        FOLIO_ASSERT(n <= FOLIO_PROJECTIONS_MAX); /* one seek per tag, then a record */
        const uint8_t *kb = k.data;
        uint64_t of = k.size >= 8 ? folio__get_be64(kb) : 0;
        if (w->log_only && k.size > 8) { /* past this stream's records, unchecked */
            if (of == UINT64_MAX) return FOLIO_ITEROVER;
            uint8_t next[8];
            folio__put_be64(next, of + 1);
            rc = folio_store__cursor_seek(&w->c, next, sizeof next, &k, &v);
            continue;
        }
        if (k.size < 10 || !folio_projection__tag_known(kb[8]))
            return folio_error__set(FOLIO_ECORRUPT, "stream index holds a malformed key");
        if (!w->walked || w->stream != of)
            return folio_error__set(FOLIO_ECORRUPT,
                                    "stream index holds records of stream %llu, which has no "
                                    "stream record", (unsigned long long)of);
        uint8_t next[9];
        size_t next_bytes = 9;
        memcpy(next, kb, 9);
        if (kb[8] < 0xff) {
            next[8]++; /* past this tag's group: the next tag's, or the next stream */
        } else if (of < UINT64_MAX) {
            folio__put_be64(next, of + 1);
            next_bytes = 8;
        } else {
            return FOLIO_ITEROVER;
        }
        rc = folio_store__cursor_seek(&w->c, next, next_bytes, &k, &v);
    }
    if (rc < 0) return rc;
    if (v.size != FOLIO_STREAM_REC_BYTES)
        return folio_error__set(FOLIO_ECORRUPT, "stream index holds a malformed record");
    w->stream = *stream = folio__get_be64(k.data);
    w->walked = 1;
    rec->version = folio__get_le64(v.data);
    rec->head_seq = folio__get_le64((const uint8_t *)v.data + 8);
    return FOLIO_OK;
}

/* Copy the records of "from" into the emptied "to" in key order (appends: full pages),
 * all of them or all but those with this tag after the stream id. */
static int copy_streams(folio_txn *t, unsigned from, unsigned to, uint8_t skip_tag) {
    folio_cursor c = {0};
    folio_val k, v;
    int rc = folio_store__cursor_open(&c, t, from);
    if (rc == FOLIO_OK) rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v);
    while (rc == FOLIO_OK) {
        if (!(skip_tag && k.size > 8 && ((const uint8_t *)k.data)[8] == skip_tag) &&
            (rc = folio_store__put(t, to, k.data, k.size, v.data, v.size, FOLIO_PUT_APPEND)) < 0)
            break;
        rc = folio_store__cursor_next(&c, &k, &v);
    }
    folio_store__cursor_close(&c);
    return rc == FOLIO_ITEROVER ? FOLIO_OK : rc;
}

/* Deleting the records one by one would rewrite every page of "streams" in this
 * transaction, from new pages (the old ones are free only after it): a rebuild would grow
 * the file by the size of the tree. Instead what stays (the stream records, and other
 * projections' records) goes to "scratch" and back, and "streams" is emptied in between:
 * new pages only for what stays, and the tree comes back in full pages. */
int folio_log__drop_stream_records(folio_txn *t, uint8_t tag) {
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(folio_projection__tag_known(tag));
    uint64_t kept = 0, back = 0;
    int rc = folio_store__entries(&kept, t, FOLIO_DB_SCRATCH);
    if (rc < 0) return rc;
    FOLIO_ASSERT(kept == 0); /* empty between transactions */
    if ((rc = copy_streams(t, FOLIO_DB_STREAMS, FOLIO_DB_SCRATCH, tag)) < 0) return rc;
    if ((rc = folio_store__drop(t, FOLIO_DB_STREAMS)) < 0) return rc;
    if ((rc = copy_streams(t, FOLIO_DB_SCRATCH, FOLIO_DB_STREAMS, 0)) < 0) return rc;
    if ((rc = folio_store__entries(&kept, t, FOLIO_DB_SCRATCH)) < 0) return rc;
    if ((rc = folio_store__entries(&back, t, FOLIO_DB_STREAMS)) < 0) return rc;
    FOLIO_ASSERT(back == kept);
    return folio_store__drop(t, FOLIO_DB_SCRATCH);
}

/* The records go to the cache (which copies them) straight from "streams", which is then
 * emptied: the cache holds them as writes waiting, and an empty tree whose records are all
 * cached is the cache's to claim fresh. */
int folio_log__stream_records_to_cache(folio_txn *t, folio_pcache *pc) {
    folio_cursor c = {0};
    folio_val k, v;
    FOLIO_ASSERT(t->write);
    int rc = folio_store__cursor_open(&c, t, FOLIO_DB_STREAMS);
    if (rc == FOLIO_OK) rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v);
    for (; rc == FOLIO_OK; rc = folio_store__cursor_next(&c, &k, &v))
        if ((rc = folio_pcache__put(pc, FOLIO_DB_STREAMS, k.data, k.size, v.data, v.size)) < 0)
            break;
    folio_store__cursor_close(&c);
    if (rc != FOLIO_ITEROVER) return rc;
    if ((rc = folio_store__drop(t, FOLIO_DB_STREAMS)) < 0) return rc;
    return folio_pcache__claim_fresh(pc, t, FOLIO_DB_STREAMS);
}

static int write_stream(folio_txn *t, uint64_t stream, const folio_stream_rec *r) {
    uint8_t key[8], val[FOLIO_STREAM_REC_BYTES];
    folio__put_be64(key, stream);
    folio__put_le64(val, r->version);
    folio__put_le64(val + 8, r->head_seq);
    folio_pcache *pc = stream_cache(t);
    if (!pc) return folio_store__put(t, FOLIO_DB_STREAMS, key, sizeof key, val, sizeof val, 0);
    FOLIO_ASSERT(t->write);
    t->writes++;
    if (!t->cache->stream_written || stream > t->cache->stream_written_max)
        t->cache->stream_written_max = stream;
    t->cache->stream_written = 1;
    return folio_pcache__put(pc, FOLIO_DB_STREAMS, key, sizeof key, val, sizeof val);
}

int folio_log__max_stream(uint64_t *out, folio_txn *t) {
    folio_cursor cur = {0};
    folio_val k, v;
    *out = 0;
    int rc = folio_store__cursor_open(&cur, t, FOLIO_DB_STREAMS);
    if (rc < 0) return rc;
    rc = folio_store__cursor_last(&cur, &k, &v);
    folio_store__cursor_close(&cur);
    if (rc < 0 && rc != FOLIO_ITEROVER) return rc;
    /* the last stream's record, or the last of its projections' records after it */
    if (rc == FOLIO_OK && k.size != 8 && k.size < 10)
        return folio_error__set(FOLIO_ECORRUPT, "stream index key is malformed");
    if (rc == FOLIO_OK) *out = folio__get_be64(k.data);
    /* records this transaction wrote may be in its cache only */
    if (t->cache && t->cache->stream_written && t->cache->stream_written_max > *out)
        *out = t->cache->stream_written_max;
    return FOLIO_OK;
}

static int64_t wall_clock_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Check everything about a batch that does not need the ledger, before any lock is taken. */
static int validate_batch(const folio_batch *b) {
    if (b == NULL || (b->events == NULL && b->event_count > 0))
        return folio_error__set(FOLIO_EINVAL, "append: NULL batch or events");
    if (b->event_count == 0) return folio_error__set(FOLIO_EINVAL, "append: empty batch");
    if (b->event_count > FOLIO_BATCH_EVENTS_MAX)
        return folio_error__set(FOLIO_ELIMIT, "append: %zu events in one batch, more than %u",
                                b->event_count, FOLIO_BATCH_EVENTS_MAX);
    if (b->expect_count > FOLIO_BATCH_EVENTS_MAX)
        return folio_error__set(FOLIO_ELIMIT, "append: %zu expectations, more than %u",
                                b->expect_count, FOLIO_BATCH_EVENTS_MAX);
    if (b->expect_count > 0 && b->expects == NULL)
        return folio_error__set(FOLIO_EINVAL, "append: NULL expectations");
    int rc = folio_codec__check_line(b->idempotency_key, FOLIO_IDEMPOTENCY_KEY_BYTES_MAX,
                                     "idempotency key", 0);
    if (rc < 0) return rc;
    if (b->idempotency_key && b->idempotency_key[0] == '\0')
        return folio_error__set(FOLIO_EINVAL, "idempotency key is empty");
    for (size_t i = 0; i < b->expect_count; i++) {
        folio_expect_kind k = b->expects[i].kind;
        if (k != FOLIO_EXPECT_ANY && k != FOLIO_EXPECT_NO_STREAM && k != FOLIO_EXPECT_VERSION)
            return folio_error__set(FOLIO_EINVAL, "append: unknown expectation kind %d", (int)k);
    }
    for (size_t i = 0; i < b->event_count; i++) {
        const folio_event *e = &b->events[i];
        if (folio_event_type_name(e->type) == NULL)
            return folio_error__set(FOLIO_EINVAL, "event %zu: unknown event type %u", i, e->type);
        if ((e->type == FOLIO_EV_LEDGER_CONFIGURED) != (e->stream == 0))
            return folio_error__set(FOLIO_EINVAL,
                                    "event %zu: stream 0 holds ledger settings and only those", i);
        if (e->schema == 0) return folio_error__set(FOLIO_EINVAL, "event %zu: schema 0", i);
        if ((rc = folio_codec__check_line(e->actor, FOLIO_ACTOR_BYTES_MAX, "actor", 1)) < 0 ||
            (rc = folio_codec__check_line(e->reason, FOLIO_REASON_BYTES_MAX, "reason", 0)) < 0 ||
            (rc = folio_codec__check_line(e->correlation, FOLIO_CORRELATION_BYTES_MAX,
                                          "correlation id", 0)) < 0 ||
            (rc = folio_codec__check_payload(e->payload, e->payload_bytes)) < 0)
            return rc;
    }
    return FOLIO_OK;
}

int folio_log__idem_decode(folio_idem_rec *out, const void *val, size_t bytes) {
    const uint8_t *p = val;
    if (bytes != IDEM_VALUE_BYTES || (p[0] != 1 && p[0] != 2)) return -1;
    *out = (folio_idem_rec){p[0], p + 1, folio__get_le64(p + 1 + FOLIO_HASH_BYTES),
                            folio__get_le64(p + 9 + FOLIO_HASH_BYTES)};
    return 0;
}

int folio_log__idem_check(folio_append_result *out, int *found, folio_txn *t, const char *key,
                          const uint8_t hash[FOLIO_HASH_BYTES]) {
    folio_val v;
    *found = 0;
    int rc = folio_store__get(&v, t, FOLIO_DB_IDEM, key, strlen(key));
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK;
    if (rc < 0) return rc;
    folio_idem_rec r;
    if (folio_log__idem_decode(&r, v.data, v.size) < 0 || (r.format == 2 && r.first != r.last))
        return folio_error__set(FOLIO_ECORRUPT, "idempotency record for '%s' is malformed", key);
    out->first_seq = r.first;
    out->last_seq = r.last;
    out->replayed = 1;
    if (memcmp(r.hash, hash, FOLIO_HASH_BYTES) != 0)
        return folio_error__set(FOLIO_EEXISTS,
                                "idempotency key '%s' was already used for a different request "
                                "(seq %llu..%llu; rule 11)",
                                key, (unsigned long long)out->first_seq,
                                (unsigned long long)out->last_seq);
    *found = r.format;
    return FOLIO_OK;
}

int folio_log__check_expects(folio_txn *t, const folio_expect *expects, size_t n) {
    folio_stream_rec srec;
    for (size_t i = 0; i < n; i++) {
        const folio_expect *x = &expects[i];
        int rc = folio_log__read_stream(&srec, t, x->stream);
        if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
        if (x->kind == FOLIO_EXPECT_NO_STREAM && srec.version != 0)
            return folio_error__set(FOLIO_ECONFLICT,
                                    "conflict: stream %llu already exists (version %llu)",
                                    (unsigned long long)x->stream,
                                    (unsigned long long)srec.version);
        if (x->kind == FOLIO_EXPECT_VERSION && srec.version != x->version)
            return folio_error__set(FOLIO_ECONFLICT,
                                    "conflict: expected version %llu of stream %llu, found %llu",
                                    (unsigned long long)x->version, (unsigned long long)x->stream,
                                    (unsigned long long)srec.version);
    }
    return FOLIO_OK;
}

/* Append one event at the head inside transaction t. With `given` the event's seq, version and
 * recorded_at are the caller's (restore) and are checked; otherwise they are assigned.
 * `follows` is its command mark (events of its command after it). Inlined into its two
 * callers: its ten arguments then cost no stores per event on the append path. */
static inline __attribute__((always_inline)) int
append_one(folio_db *db, folio_txn *t, folio_head *head, folio_proj_states *states,
           folio_event *e, const char *key, const uint8_t *hash, uint32_t follows, int given,
           int64_t recorded) {
    folio_stream_rec srec;
    int rc = folio_log__read_stream(&srec, t, e->stream);
    if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
    if (srec.head_seq > head->last_seq || srec.version == UINT64_MAX || head->last_seq == UINT64_MAX)
        return folio_error__set(FOLIO_ECORRUPT, "stream %llu record (version %llu, seq %llu) is "
                                                "inconsistent with the head (seq %llu)",
                                (unsigned long long)e->stream, (unsigned long long)srec.version,
                                (unsigned long long)srec.head_seq,
                                (unsigned long long)head->last_seq);
    if (given) {
        if (e->seq != head->last_seq + 1)
            return folio_error__set(FOLIO_ECONFLICT, "seq %llu does not follow the last seq %llu",
                                    (unsigned long long)e->seq, (unsigned long long)head->last_seq);
        if (e->version != srec.version + 1)
            return folio_error__set(FOLIO_ECONFLICT,
                                    "seq %llu: version %llu does not follow stream %llu's %llu",
                                    (unsigned long long)e->seq, (unsigned long long)e->version,
                                    (unsigned long long)e->stream, (unsigned long long)srec.version);
        if (e->recorded_at_us < head->last_recorded_at_us || e->recorded_at_us < 0)
            return folio_error__set(FOLIO_EINVAL, "seq %llu: recorded_at goes backwards",
                                    (unsigned long long)e->seq);
    } else {
        e->seq = head->last_seq + 1;
        e->version = srec.version + 1;
        e->recorded_at_us = recorded;
    }
    e->idempotency_key = key;
    size_t env_bytes = 0;
    rc = folio_codec__encode_envelope(&env_bytes, db->scratch + FOLIO_FRAME_HEADER_BYTES,
                                      FOLIO_EVENT_BYTES_MAX - FOLIO_FRAME_HEADER_BYTES, e, key, hash,
                                      follows);
    if (rc < 0) return rc;
    size_t frame_bytes = FOLIO_FRAME_HEADER_BYTES + env_bytes;
    folio_frame__seal(db->scratch, frame_bytes, srec.head_seq, head->chain);
    uint8_t seq_key[8];
    folio__put_be64(seq_key, e->seq);
    rc = folio_store__append(t, FOLIO_DB_LOG, seq_key, sizeof seq_key, db->scratch, frame_bytes);
    if (rc < 0) return rc;
    srec.version = e->version;
    srec.head_seq = e->seq;
    if ((rc = write_stream(t, e->stream, &srec)) < 0) return rc;
    if ((rc = folio_projection__apply_all(t, states, e)) < 0) return rc;
    head->last_seq = e->seq;
    head->last_recorded_at_us = e->recorded_at_us;
    memcpy(head->chain, db->scratch, FOLIO_HASH_BYTES);
    /* the counts change with the head, in the transaction's cache (written at its flush) */
    FOLIO_ASSERT(t->cache && t->cache->loaded);
    FOLIO_ASSERT(e->type < FOLIO_EVENT_TYPE_IDS); /* a catalog type (validate_batch, restore) */
    t->cache->counts.types[e->type]++;
    if (e->version == 1) t->cache->counts.streams++;
    t->cache->dirty = 1;
    return FOLIO_OK;
}

static int put_idem_as(folio_txn *t, uint8_t format, const char *key,
                       const uint8_t hash[FOLIO_HASH_BYTES], uint64_t first, uint64_t last) {
    uint8_t val[IDEM_VALUE_BYTES];
    val[0] = format;
    memcpy(val + 1, hash, FOLIO_HASH_BYTES);
    folio__put_le64(val + 1 + FOLIO_HASH_BYTES, first);
    folio__put_le64(val + 9 + FOLIO_HASH_BYTES, last);
    return folio_store__put(t, FOLIO_DB_IDEM, key, strlen(key), val, sizeof val, 0);
}

static int put_idem(folio_txn *t, const char *key, const uint8_t hash[FOLIO_HASH_BYTES],
                    uint64_t first, uint64_t last) {
    return put_idem_as(t, 1, key, hash, first, last);
}

int folio_log__idem_put_answer(folio_txn *t, const char *key, const uint8_t hash[FOLIO_HASH_BYTES],
                               uint64_t seq) {
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(seq > 0);
    int rc = folio_store__raise_format(t, 3); /* a format-2 folio would take it for damage */
    if (rc < 0) return rc;
    return put_idem_as(t, 2, key, hash, seq, seq);
}

int folio_log__append_txn(folio_append_result *out, folio_db *db, folio_txn *t,
                          const folio_event *events, size_t n, const char *key,
                          const uint8_t hash[FOLIO_HASH_BYTES]) {
    folio_head head;
    folio_proj_states states;
    int rc;
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(n >= 1);
    FOLIO_ASSERT((key == NULL) == (hash == NULL));
    if ((rc = folio_log__read_head(&head, t)) < 0) return rc;
    if ((rc = folio_projection__load(&states, t)) < 0) return rc;
    states.scratch = db->proj_scratch;

    int64_t now = wall_clock_us();
    int64_t recorded = now > head.last_recorded_at_us ? now : head.last_recorded_at_us;
    const uint64_t first_seq = head.last_seq + 1;
    /* One command (or raw batch) is one atomic unit: each event but the last carries how
     * many of its events follow (the command mark), so a reader can tell where it ends. */
    FOLIO_ASSERT(n - 1 <= FOLIO_COMMAND_FOLLOWS_MAX);
    for (size_t i = 0; i < n; i++) {
        folio_event e = events[i];
        if ((rc = append_one(db, t, &head, &states, &e, key, hash, (uint32_t)(n - 1 - i), 0,
                             recorded)) < 0)
            return rc;
    }
    FOLIO_ASSERT(head.last_seq - first_seq + 1 == n);
    if ((rc = write_head(t, &head)) < 0) return rc;
    if ((rc = folio_projection__save(t, &states)) < 0) return rc;
    if (key && (rc = put_idem(t, key, hash, first_seq, head.last_seq)) < 0) return rc;
    out->first_seq = first_seq;
    out->last_seq = head.last_seq;
    out->replayed = 0;
    return FOLIO_OK;
}

typedef struct {
    folio_db *db;
    const folio_restore_item *items;
    size_t n;
} restore_args;

/* Restore: each event exactly as exported. An idempotency record covers the run of
 * consecutive events that carry its key and request hash (one original write). */
static int restore_txn(folio_txn *t, void *arg) {
    restore_args *a = arg;
    folio_head head;
    folio_proj_states states;
    int rc;
    uint32_t pending = 0; /* the command mark of the log's last event */
    if ((rc = folio_log__read_head(&head, t)) < 0) return rc;
    if ((rc = folio_projection__load(&states, t)) < 0) return rc;
    if (head.last_seq > 0 && (rc = folio_replay__follows_at(&pending, t, head.last_seq)) < 0)
        return rc;
    states.scratch = a->db->proj_scratch;
    for (size_t i = 0; i < a->n; i++) {
        const folio_restore_item *it = &a->items[i];
        folio_event e = it->event;
        const char *key = e.idempotency_key;
        if ((key == NULL) != (it->request_hash == NULL))
            return folio_error__set(FOLIO_EINVAL, "seq %llu: an idempotency key needs its request "
                                                  "hash and the other way round",
                                    (unsigned long long)e.seq);
        if ((rc = append_one(a->db, t, &head, &states, &e, key, it->request_hash,
                             it->command_follows, 1, 0)) < 0)
            return rc;
        /* the marks count down to a command's last event (docs/INTEGRITY.md, check 11);
         * checked once append_one has found the seq in order (a refusal throws the
         * transaction away) */
        if (pending > 0 && it->command_follows != pending - 1)
            return FOLIO_CORRUPT(e.seq, "command mark %u, expected %u (the command of the events "
                                        "before it): the export was altered",
                                 it->command_follows, pending - 1);
        pending = it->command_follows;
        if (it->chain && memcmp(it->chain, head.chain, FOLIO_HASH_BYTES) != 0)
            return FOLIO_CORRUPT(e.seq, "the restored chain hash differs from the exported one");
        if (key) {
            folio_append_result prior;
            int found = 0;
            rc = folio_log__idem_check(&prior, &found, t, key, it->request_hash);
            if (rc == FOLIO_EEXISTS || found == 2 || (found && prior.last_seq + 1 != e.seq))
                return FOLIO_CORRUPT(e.seq, "idempotency key '%s' was used twice", key);
            if (rc < 0) return rc;
            if ((rc = put_idem(t, key, it->request_hash, found ? prior.first_seq : e.seq, e.seq)) < 0)
                return rc;
        }
    }
    if ((rc = write_head(t, &head)) < 0) return rc;
    return folio_projection__save(t, &states);
}

int folio_restore_append(folio_db *db, const folio_restore_item *items, size_t n) {
    int rc;
    if (!db || (!items && n)) return folio_error__set(FOLIO_EINVAL, "restore: NULL argument");
    if (n == 0) return FOLIO_OK;
    if (n > FOLIO_BATCH_EVENTS_MAX)
        return folio_error__set(FOLIO_ELIMIT, "restore: more than %u events in one call",
                                FOLIO_BATCH_EVENTS_MAX);
    for (size_t i = 0; i < n; i++) {
        const folio_event *e = &items[i].event;
        if (folio_event_type_name(e->type) == NULL)
            return folio_error__set(FOLIO_EINVAL, "seq %llu: unknown event type %u",
                                    (unsigned long long)e->seq, e->type);
        if ((e->type == FOLIO_EV_LEDGER_CONFIGURED) != (e->stream == 0) || e->schema == 0)
            return folio_error__set(FOLIO_EINVAL, "seq %llu: stream, type or schema is invalid",
                                    (unsigned long long)e->seq);
        if ((rc = folio_codec__check_text(e->actor, FOLIO_ACTOR_BYTES_MAX, "actor", 1)) < 0 ||
            (rc = folio_codec__check_text(e->reason, FOLIO_REASON_BYTES_MAX, "reason", 0)) < 0 ||
            (rc = folio_codec__check_text(e->correlation, FOLIO_CORRELATION_BYTES_MAX,
                                          "correlation id", 0)) < 0 ||
            (rc = folio_codec__check_text(e->idempotency_key, FOLIO_IDEMPOTENCY_KEY_BYTES_MAX,
                                          "idempotency key", 0)) < 0 ||
            (rc = folio_codec__check_payload(e->payload, e->payload_bytes)) < 0)
            return folio_error__set(rc, "seq %llu: %s", (unsigned long long)e->seq, folio_errmsg());
        if (e->idempotency_key && !*e->idempotency_key)
            return folio_error__set(FOLIO_EINVAL, "seq %llu: idempotency key is empty",
                                    (unsigned long long)e->seq);
    }
    restore_args a = {db, items, n};
    return folio_log__write(db, restore_txn, &a);
}

typedef struct {
    const folio_idem_answer *answers;
    size_t n;
} answers_args;

/* Restore answers: each key new, each named event in the log (format 2 records). */
static int restore_answers_txn(folio_txn *t, void *arg) {
    answers_args *a = arg;
    folio_head head;
    int rc;
    if ((rc = folio_log__read_head(&head, t)) < 0) return rc;
    for (size_t i = 0; i < a->n; i++) {
        const folio_idem_answer *x = &a->answers[i];
        if (x->seq > head.last_seq)
            return folio_error__set(FOLIO_EINVAL,
                                    "idempotency key '%s' names seq %llu, past the last seq %llu",
                                    x->idempotency_key, (unsigned long long)x->seq,
                                    (unsigned long long)head.last_seq);
        folio_append_result prior;
        int found = 0;
        rc = folio_log__idem_check(&prior, &found, t, x->idempotency_key, x->request_hash);
        if (rc == FOLIO_EEXISTS || found)
            return FOLIO_CORRUPT(x->seq, "idempotency key '%s' was used twice", x->idempotency_key);
        if (rc < 0) return rc;
        if ((rc = folio_log__idem_put_answer(t, x->idempotency_key, x->request_hash, x->seq)) < 0)
            return rc;
    }
    return FOLIO_OK;
}

int folio_restore_answers(folio_db *db, const folio_idem_answer *answers, size_t n) {
    int rc;
    if (!db || (!answers && n)) return folio_error__set(FOLIO_EINVAL, "restore: NULL argument");
    if (n == 0) return FOLIO_OK;
    if (n > FOLIO_BATCH_EVENTS_MAX)
        return folio_error__set(FOLIO_ELIMIT, "restore: more than %u answers in one call",
                                FOLIO_BATCH_EVENTS_MAX);
    for (size_t i = 0; i < n; i++) {
        const folio_idem_answer *x = &answers[i];
        if (!x->idempotency_key || !*x->idempotency_key || !x->request_hash || x->seq == 0)
            return folio_error__set(FOLIO_EINVAL, "answer %zu: a key, its request hash and a seq "
                                                  "are required", i);
        if ((rc = folio_codec__check_text(x->idempotency_key, FOLIO_IDEMPOTENCY_KEY_BYTES_MAX,
                                          "idempotency key", 0)) < 0)
            return rc;
    }
    answers_args a = {answers, n};
    return folio_log__write(db, restore_answers_txn, &a);
}

int folio_idem_answers(folio_db *db, int (*fn)(void *payload, const folio_idem_answer *answer),
                       void *payload) {
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    int rc = FOLIO_OK, open = 0;
    if (!db || !fn) return folio_error__set(FOLIO_EINVAL, "idempotency answers: NULL argument");
    FOLIO_TRY(folio_store__read_begin(&t, db->store));
    open = 1;
    FOLIO_TRY(folio_store__cursor_open(&c, &t, FOLIO_DB_IDEM));
    /* Bounded by the index's size: one record per key. */
    for (rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v)) {
        folio_idem_rec r;
        if (folio_log__idem_decode(&r, v.data, v.size) < 0 || k.size == 0 ||
            k.size > FOLIO_IDEMPOTENCY_KEY_BYTES_MAX || memchr(k.data, 0, k.size)) {
            rc = folio_error__set(FOLIO_ECORRUPT, "idempotency index holds a malformed record");
            goto cleanup;
        }
        if (r.format != 2) continue;
        char key[FOLIO_IDEMPOTENCY_KEY_BYTES_MAX + 1];
        uint8_t hash[FOLIO_HASH_BYTES];
        memcpy(key, k.data, k.size);
        key[k.size] = '\0';
        memcpy(hash, r.hash, sizeof hash);
        folio_idem_answer x = {key, hash, r.first};
        if (r.first == 0 || r.first != r.last) {
            rc = folio_error__set(FOLIO_ECORRUPT, "idempotency record for '%s' is malformed", key);
            goto cleanup;
        }
        if ((rc = fn(payload, &x)) != 0) goto cleanup;
    }
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
cleanup:
    folio_store__cursor_close(&c);
    if (open) folio_store__read_end(&t);
    return rc;
}

/* The batch this thread is running (folio_batch_run): writes on its handle join it. */
static _Thread_local struct {
    folio_db *db;
    folio_txn *txn;
    int map_full; /* a write found the map full: the batch must grow and run again */
    int spoiled;  /* a write failed after it began writing: the batch fails with this code */
    char spoiled_msg[FOLIO_ERRMSG_BYTES];
} active_batch;

/* One queued write (group commit). Lives on its caller's stack until `done`. */
typedef struct folio_write_req {
    int (*fn)(folio_txn *t, void *arg);
    void *arg;
    int rc;
    int done;
    struct folio_write_req *next;
    char msg[FOLIO_ERRMSG_BYTES]; /* the failure message, set for the caller's thread */
} folio_write_req;

/* Writes one group folds into one transaction at most (each may append up to
 * FOLIO_CMD_EVENTS_MAX events; the transaction stays small enough to commit quickly). */
#define GROUP_WRITES_MAX 256u

static void req_finish(folio_write_req *r, int rc) {
    r->rc = rc;
    r->msg[0] = '\0';
    if (rc < 0) snprintf(r->msg, sizeof r->msg, "%s", folio_errmsg());
}

/* Write what the transaction's cache holds, then commit; on failure nothing is committed. */
static int flush_commit(folio_txn *t) {
    int rc = folio_log__flush(t);
    if (rc < 0) {
        folio_store__abort(t);
        return rc;
    }
    return folio_store__commit(t);
}

/* Run one write alone in its own transaction, growing the map when it fills up. The caller
 * holds the write lock. */
static int write_alone(folio_db *db, int (*fn)(folio_txn *t, void *arg), void *arg) {
    int rc;
    for (unsigned attempt = 0;; attempt++) {
        folio_txn t;
        folio_txn_cache cache;
        if ((rc = folio_log__begin(&t, &cache, db->store, db->pcache)) < 0) break;
        rc = fn(&t, arg);
        if (rc == FOLIO_OK)
            rc = flush_commit(&t);
        else
            folio_store__abort(&t);
        if (rc == FOLIO__NOCOMMIT) rc = FOLIO_OK;
        if (rc != FOLIO__EMAPFULL) break;
        if (attempt + 1 >= FOLIO_GROW_RETRY_MAX) {
            rc = folio_error__set(FOLIO_EFULL, "write: the map stayed full after growing");
            break;
        }
        if ((rc = folio_store__grow(db->store)) < 0) break;
    }
    return rc;
}

/* Run a group of queued writes in one transaction with one commit. A write refused before
 * it wrote leaves the transaction as it was; one that failed after it began writing spoils
 * it: the transaction is thrown away and every write of the group runs alone. */
static void write_group(folio_db *db, folio_write_req *group) {
    pthread_mutex_lock(&db->write_lock);
    if (!group->next) { /* a group of one: no sharing to protect */
        req_finish(group, write_alone(db, group->fn, group->arg));
        pthread_mutex_unlock(&db->write_lock);
        return;
    }
    for (unsigned attempt = 0;; attempt++) {
        folio_txn t;
        folio_txn_cache cache;
        int rc = folio_log__begin(&t, &cache, db->store, db->pcache), spoiled = 0, map_full = 0;
        if (rc < 0) {
            for (folio_write_req *r = group; r; r = r->next) req_finish(r, rc);
            break;
        }
        for (folio_write_req *r = group; r; r = r->next) {
            uint64_t before = t.writes;
            int frc = r->fn(&t, r->arg);
            if (frc == FOLIO__NOCOMMIT) {
                FOLIO_ASSERT(t.writes == before);
                frc = FOLIO_OK;
            }
            if (frc == FOLIO__EMAPFULL) {
                map_full = 1;
                break;
            }
            if (frc < 0 && t.writes != before) {
                spoiled = 1;
                break;
            }
            req_finish(r, frc);
        }
        if (!map_full && !spoiled) {
            rc = t.writes ? flush_commit(&t) : FOLIO_OK;
            if (rc == FOLIO_OK && t.writes) db->groups_shared++;
            if (!t.writes) folio_store__abort(&t);
            if (rc == FOLIO__EMAPFULL) {
                map_full = 1;
            } else {
                if (rc < 0)
                    for (folio_write_req *r = group; r; r = r->next)
                        if (r->rc == FOLIO_OK) req_finish(r, rc);
                break;
            }
        } else {
            folio_store__abort(&t);
        }
        if (spoiled) {
            db->groups_spoiled++;
            for (folio_write_req *r = group; r; r = r->next)
                req_finish(r, write_alone(db, r->fn, r->arg));
            break;
        }
        rc = attempt + 1 >= FOLIO_GROW_RETRY_MAX
                 ? folio_error__set(FOLIO_EFULL, "write: the map stayed full after growing")
                 : folio_store__grow(db->store);
        if (rc < 0) {
            for (folio_write_req *r = group; r; r = r->next) req_finish(r, rc);
            break;
        }
    }
    pthread_mutex_unlock(&db->write_lock);
}

/* A write inside this thread's batch: it joins the batch's transaction. */
static int write_in_batch(int (*fn)(folio_txn *t, void *arg), void *arg) {
    folio_txn *t = active_batch.txn;
    if (active_batch.map_full)
        return folio_error__set(FOLIO_EFULL, "the map is full: the batch grows it and runs again");
    if (active_batch.spoiled)
        return folio_error__set(FOLIO_ERROR, "batch: an earlier write failed after it began "
                                             "writing (%s); nothing of the batch is committed",
                                active_batch.spoiled_msg);
    uint64_t before = t->writes;
    int rc = fn(t, arg);
    if (rc == FOLIO__NOCOMMIT) {
        FOLIO_ASSERT(t->writes == before);
        rc = FOLIO_OK;
    }
    if (rc == FOLIO__EMAPFULL) {
        active_batch.map_full = 1;
        return folio_error__set(FOLIO_EFULL, "the map is full: the batch grows it and runs again");
    }
    if (rc < 0 && t->writes != before) {
        active_batch.spoiled = rc;
        snprintf(active_batch.spoiled_msg, sizeof active_batch.spoiled_msg, "%s", folio_errmsg());
    }
    return rc;
}

/* Called by a new leader holding queue_lock. Writers that just got their results back are
 * about to send the next ones: when the last group was shared, give them a moment (at most
 * GATHER_WAIT_US, ending as soon as as many are queued as the last group had) to join this
 * one, instead of committing one write alone while they queue behind it. A lone writer
 * (last group of one) never waits. */
#define GATHER_WAIT_US 200
static void gather(folio_db *db) {
    if (db->last_group <= 1 || db->queued >= db->last_group) return;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        pthread_mutex_unlock(&db->queue_lock);
        sched_yield();
        pthread_mutex_lock(&db->queue_lock);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (db->queued < db->last_group &&
             (now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000 <
                 GATHER_WAIT_US);
}

int folio_log__write(folio_db *db, int (*fn)(folio_txn *t, void *arg), void *arg) {
    if (active_batch.db == db) return write_in_batch(fn, arg);
    folio_write_req me = {fn, arg, 0, 0, NULL, {0}};
    pthread_mutex_lock(&db->queue_lock);
    if (db->queue_tail)
        db->queue_tail->next = &me;
    else
        db->queue_head = &me;
    db->queue_tail = &me;
    db->queued++;
    while (!me.done && db->leading) pthread_cond_wait(&db->queue_cond, &db->queue_lock);
    if (!me.done) {
        /* Lead: take what is queued (this write first among them) and run it as one group.
         * The other writes of the group set this thread's message when they fail: each
         * caller gets its own through its request, and this thread's own is put back. */
        char saved_msg[FOLIO_ERRMSG_BYTES];
        folio_error__save(saved_msg);
        db->leading = 1;
        while (!me.done) {
            gather(db);
            folio_write_req *group = db->queue_head, *last = group;
            unsigned n = 1;
            for (; n < GROUP_WRITES_MAX && last->next; n++) last = last->next;
            db->queued -= n;
            db->last_group = n;
            db->queue_head = last->next;
            if (!db->queue_head) db->queue_tail = NULL;
            last->next = NULL;
            pthread_mutex_unlock(&db->queue_lock);
            write_group(db, group);
            pthread_mutex_lock(&db->queue_lock);
            for (folio_write_req *r = group, *next; r; r = next) {
                next = r->next; /* r may be gone as soon as done is seen */
                r->done = 1;
            }
            pthread_cond_broadcast(&db->queue_cond);
        }
        db->leading = 0;
        pthread_cond_broadcast(&db->queue_cond);
        folio_error__restore(saved_msg);
    }
    pthread_mutex_unlock(&db->queue_lock);
    if (me.rc < 0) return folio_error__set(me.rc, "%s", me.msg);
    return me.rc;
}

int folio_log__in_batch(const folio_db *db) { return active_batch.db == db; }

int folio_batch_run(folio_db *db, int (*fn)(folio_db *db, void *arg), void *arg, int dry_run) {
    int rc;
    if (!db || !fn) return folio_error__set(FOLIO_EINVAL, "batch: NULL argument");
    if (active_batch.db) return folio_error__set(FOLIO_EINVAL, "batch: batches do not nest");
    pthread_mutex_lock(&db->write_lock);
    for (unsigned attempt = 0;; attempt++) {
        folio_txn t;
        folio_txn_cache cache;
        if ((rc = folio_log__begin(&t, &cache, db->store, db->pcache)) < 0) break;
        active_batch.db = db;
        active_batch.txn = &t;
        active_batch.map_full = 0;
        active_batch.spoiled = 0;
        rc = fn(db, arg);
        int map_full = active_batch.map_full;
        active_batch.db = NULL;
        active_batch.txn = NULL;
        if (!map_full && active_batch.spoiled) {
            folio_store__abort(&t);
            rc = folio_error__set(active_batch.spoiled, "batch: %s", active_batch.spoiled_msg);
            break;
        }
        if (rc == FOLIO_OK && !map_full && !dry_run)
            rc = flush_commit(&t);
        else
            folio_store__abort(&t);
        if (rc == FOLIO__EMAPFULL) map_full = 1;
        if (!map_full) break;
        if (attempt + 1 >= FOLIO_GROW_RETRY_MAX) {
            rc = folio_error__set(FOLIO_EFULL, "batch: the map stayed full after growing");
            break;
        }
        if ((rc = folio_store__grow(db->store)) < 0) break;
        rc = FOLIO__EMAPFULL; /* run fn again from the start */
    }
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

typedef struct {
    folio_append_result *res;
    folio_db *db;
    const folio_batch *batch;
    const uint8_t *hash;
} raw_append;

static int raw_append_txn(folio_txn *t, void *arg) {
    raw_append *a = arg;
    const folio_batch *b = a->batch;
    int rc, found = 0;
    memset(a->res, 0, sizeof *a->res);
    if (b->idempotency_key) {
        /* A repeat is answered before expectations: they held for the original. */
        if ((rc = folio_log__idem_check(a->res, &found, t, b->idempotency_key, a->hash)) < 0)
            return rc;
        if (found) return FOLIO__NOCOMMIT;
    }
    if ((rc = folio_log__check_expects(t, b->expects, b->expect_count)) < 0) return rc;
    return folio_log__append_txn(a->res, a->db, t, b->events, b->event_count, b->idempotency_key,
                                 a->hash);
}

int folio_append(folio_append_result *out, folio_db *db, const folio_batch *batch) {
    folio_append_result res = {0, 0, 0};
    uint8_t content[FOLIO_HASH_BYTES] = {0};
    if (out == NULL || db == NULL) return folio_error__set(FOLIO_EINVAL, "append: NULL argument");
    int rc = validate_batch(batch);
    if (rc < 0) return rc;
    if (batch->idempotency_key) {
        folio_hasher *h = folio_hasher__create();
        if (!h) return folio_error__set(FOLIO_ERROR, "append: out of memory");
        for (size_t i = 0; i < batch->event_count; i++)
            folio_codec__hash_content(h, &batch->events[i]);
        folio_hasher__digest(h, content);
        folio_hasher__free(h);
    }
    raw_append a = {&res, db, batch, batch->idempotency_key ? content : NULL};
    rc = folio_log__write(db, raw_append_txn, &a);
    if (rc == FOLIO_OK) {
        FOLIO_ASSERT(res.first_seq >= 1);
        FOLIO_ASSERT(res.last_seq >= res.first_seq);
        *out = res;
    }
    return rc;
}

int folio_event_append(uint64_t *seq_out, folio_db *db, const folio_event *event) {
    folio_append_result res;
    folio_batch b = {event, 1, NULL, 0, NULL};
    if (seq_out == NULL || event == NULL)
        return folio_error__set(FOLIO_EINVAL, "append: NULL argument");
    int rc = folio_append(&res, db, &b);
    if (rc == FOLIO_OK) *seq_out = res.last_seq;
    return rc;
}
