/*
 * engine/verify.c - the integrity walk (docs/INTEGRITY.md).
 * One read snapshot; every event in seq order: dense seq, frame checksum, chain hash
 * recomputed from the previous one, envelope decode, stream back-pointer and version
 * continuity, recorded_at never decreasing, command marks counting down within one append;
 * then the stored head (last seq, chain hash,
 * recorded_at) and the stream index (every record matches the log, no record missing or
 * extra) and the idempotency index (every record names events that exist).
 * Memory: one entry per stream (O(streams)), one frame of scratch.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Where a stream stands in the walk: its last version and the seq of its last event (seq
 * 0: no event of it walked yet). */
typedef struct {
    uint64_t version, seq;
} stream_pos;

typedef struct {
    uint64_t stream;
    stream_pos pos;
    uint8_t used;
} stream_slot;

/*
 * The streams met in the walk. Stream ids are usually dense (customers are numbered from
 * 1), and each event looks its stream up in an order that is random over the whole table,
 * so the ids below dense_cap are kept in an array indexed by id, 16 bytes each, not in a
 * hash table of twice the entries and size: on the benchmark ledger (100,001 streams) the
 * lookups of the hash table were a fifth of verify's time, in cache and TLB misses. Other
 * ids live in an open-addressing hash table. The array grows to cover an id only while it
 * stays within a few entries per stream counted (dense_may_cover), so memory stays
 * O(streams) whatever the ids; an id the array grows over moves out of the hash table.
 */
typedef struct {
    stream_pos *dense; /* streams [0, dense_cap), indexed by id */
    size_t dense_cap;
    stream_slot *slots; /* every other stream */
    size_t cap, hashed; /* slots, and how many of them are used */
    size_t count;       /* streams with an event walked */
} stream_table;

#define DENSE_CAP_MIN 1024u
#define DENSE_CAP_FREE 65536u /* ids below this go to the array whatever the count (2 MiB) */
#define DENSE_PER_STREAM 4u   /* beyond that, at most this many entries per stream */

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static stream_slot *table_find(stream_table *t, uint64_t stream) {
    size_t i = mix(stream) & (t->cap - 1);
    while (t->slots[i].used && t->slots[i].stream != stream) i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

/* Rebuild the hash table with `cap` slots from `old`, moving the streams the array now
 * covers into it. */
static int table_rehash(stream_table *t, size_t cap) {
    stream_slot *old = t->slots;
    size_t old_cap = t->cap;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots) {
        t->slots = old;
        return folio_error__set(FOLIO_ERROR, "verify: out of memory");
    }
    t->cap = cap;
    t->hashed = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].used) continue;
        if (old[i].stream < t->dense_cap) {
            FOLIO_ASSERT(t->dense[old[i].stream].seq == 0);
            t->dense[old[i].stream] = old[i].pos;
            continue;
        }
        *table_find(t, old[i].stream) = old[i];
        t->hashed++;
    }
    free(old);
    return FOLIO_OK;
}

/* 1 when the array may grow to cover `stream`, *cap_out being its new size. */
static int dense_may_cover(size_t *cap_out, const stream_table *t, uint64_t stream) {
    uint64_t limit = (uint64_t)DENSE_PER_STREAM * (t->count + 1);
    if (limit < DENSE_CAP_FREE) limit = DENSE_CAP_FREE;
    if (stream >= limit) return 0;
    size_t cap = t->dense_cap ? 2 * t->dense_cap : DENSE_CAP_MIN;
    while (cap <= stream) cap *= 2;
    *cap_out = cap;
    FOLIO_ASSERT(cap <= 2 * limit);
    return 1;
}

static int dense_grow(stream_table *t, size_t cap) {
    FOLIO_ASSERT(cap > t->dense_cap);
    stream_pos *d = realloc(t->dense, cap * sizeof *d);
    if (!d) return folio_error__set(FOLIO_ERROR, "verify: out of memory");
    memset(d + t->dense_cap, 0, (cap - t->dense_cap) * sizeof *d);
    t->dense = d;
    t->dense_cap = cap;
    return t->hashed ? table_rehash(t, t->cap) : FOLIO_OK;
}

/* The position of a stream, empty (seq 0) if none of its events was walked yet. */
static int table_get(stream_pos **out, stream_table *t, uint64_t stream) {
    size_t cap;
    int rc;
    if (stream < t->dense_cap) {
        *out = &t->dense[stream];
        return FOLIO_OK;
    }
    if (dense_may_cover(&cap, t, stream)) {
        if ((rc = dense_grow(t, cap)) < 0) return rc;
        *out = &t->dense[stream];
        return FOLIO_OK;
    }
    if ((t->hashed + 1) * 10 > t->cap * 7) {
        if ((rc = table_rehash(t, t->cap ? t->cap * 2 : 1024)) < 0) return rc;
    }
    stream_slot *s = table_find(t, stream);
    if (!s->used) {
        s->used = 1;
        s->stream = stream;
        s->pos = (stream_pos){0, 0};
        t->hashed++;
    }
    *out = &s->pos;
    return FOLIO_OK;
}

/* The position of a stream the walk met, else NULL. */
static const stream_pos *table_lookup(stream_table *t, uint64_t stream) {
    const stream_pos *p = NULL;
    if (stream < t->dense_cap) {
        p = &t->dense[stream];
    } else if (t->cap) {
        const stream_slot *s = table_find(t, stream);
        if (s->used) p = &s->pos;
    }
    return p && p->seq ? p : NULL;
}

/* An event written under an idempotency key lies in the range of its key's record, which
 * holds the event's request hash (check 10): a lost or changed record would let a retry of
 * that request be applied again. */
static int check_keyed_event(folio_txn *t, uint64_t seq, const folio_envelope_fields *e) {
    static const uint8_t none[FOLIO_HASH_BYTES] = {0};
    folio_val v;
    int rc = folio_store__get(&v, t, FOLIO_DB_IDEM, e->idem_key, e->idem_key_bytes);
    if (rc == FOLIO_ENOTFOUND)
        return FOLIO_CORRUPT(seq, "its idempotency key has no record in the idempotency index");
    if (rc < 0) return rc;
    folio_idem_rec r;
    if (folio_log__idem_decode(&r, v.data, v.size) < 0 || r.format != 1 || r.first > seq ||
        r.last < seq || memcmp(r.hash, e->request ? e->request : none, FOLIO_HASH_BYTES) != 0)
        return FOLIO_CORRUPT(seq, "idempotency index does not match the event's key");
    return FOLIO_OK;
}

/* The command the walk is inside (check 11): what its first event carried, which each
 * later event of it must carry too (one append writes them with one clock reading, one
 * idempotency key and request hash). */
typedef struct {
    uint32_t pending; /* the previous event's mark: events of its command still to come */
    uint64_t first;   /* seq of the command's first event */
    int64_t recorded_at_us;
    int keyed;
    size_t key_bytes;
    uint8_t key[FOLIO_IDEMPOTENCY_KEY_BYTES_MAX];
    uint8_t request[FOLIO_HASH_BYTES];
} command_walk;

static int check_mark(command_walk *cw, uint64_t seq, const folio_envelope_fields *e) {
    if (cw->pending == 0) { /* a command starts here */
        if (e->follows == 0) return FOLIO_OK; /* and ends: most events */
        if (e->idem_key_bytes > sizeof cw->key) /* bytes on disk: no write makes one */
            return FOLIO_CORRUPT(seq, "idempotency key of %zu bytes, longer than %u",
                                 e->idem_key_bytes, FOLIO_IDEMPOTENCY_KEY_BYTES_MAX);
        cw->first = seq;
        cw->recorded_at_us = e->recorded_at_us;
        cw->keyed = e->idem_key != NULL;
        cw->key_bytes = e->idem_key_bytes;
        if (e->idem_key) memcpy(cw->key, e->idem_key, e->idem_key_bytes);
        if (e->request) memcpy(cw->request, e->request, FOLIO_HASH_BYTES);
        cw->pending = e->follows;
        return FOLIO_OK;
    }
    if (e->follows != cw->pending - 1)
        return FOLIO_CORRUPT(seq, "command mark %u, expected %u (the command from seq %llu)",
                             e->follows, cw->pending - 1, (unsigned long long)cw->first);
    if (e->recorded_at_us != cw->recorded_at_us || (e->idem_key != NULL) != cw->keyed ||
        (cw->keyed && (e->idem_key_bytes != cw->key_bytes ||
                       memcmp(e->idem_key, cw->key, cw->key_bytes) != 0 || !e->request ||
                       memcmp(e->request, cw->request, FOLIO_HASH_BYTES) != 0)))
        return FOLIO_CORRUPT(seq, "inside the command from seq %llu but not written with it "
                                  "(recorded_at, idempotency key or request hash differ)",
                             (unsigned long long)cw->first);
    cw->pending = e->follows;
    return FOLIO_OK;
}

static int walk_log(folio_verify_report *r, folio_txn *t, stream_table *tab, char *strbuf,
                    int64_t *last_recorded, folio_log_counts *counted, folio_db *db,
                    uint64_t total, uint32_t *last_follows) {
    folio_cursor c = {0};
    folio_val k, v;
    uint8_t chain[FOLIO_HASH_BYTES] = {0};
    int rc = FOLIO_OK;
    uint64_t seq = 1;
    command_walk cw = {0};
    FOLIO_TRY(folio_store__cursor_open(&c, t, FOLIO_DB_LOG));
    for (rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v), seq++) {
        folio_frame f;
        folio_envelope_fields e;
        stream_pos *s;
        uint8_t computed[FOLIO_HASH_BYTES];
        r->bad_seq = seq;
        if (k.size != 8) {
            rc = FOLIO_CORRUPT(seq, "log key of %zu bytes", k.size);
            goto cleanup;
        }
        if (folio__get_be64(k.data) != seq) {
            rc = FOLIO_CORRUPT(seq, "seq gap: the log continues at seq %llu",
                               (unsigned long long)folio__get_be64(k.data));
            goto cleanup;
        }
        /* LMDB fills a leaf page from its end down, so in a log written in key order the
         * next frame lies just below this one: ask for its bytes now (a hint only: a
         * prefetch never faults, and a wrong guess costs nothing but the hint). */
        for (unsigned line = 1; line <= 6; line++)
            __builtin_prefetch((const void *)((uintptr_t)v.data - 64u * line));
        /* The envelope is scanned first, so that the stream's entry can be fetched from
         * memory (a miss, in an order random over the streams) while the two hashes are
         * computed; the scan only reads, and its verdict is used after the frame checks,
         * so every defect is still named in the order of docs/INTEGRITY.md. It accepts what
         * folio writes; anything else (damage, or an envelope of a newer folio) goes
         * through the full decoder, which names the defect as every other read does. */
        int scanned = v.size > FOLIO_FRAME_HEADER_BYTES && v.size <= FOLIO_EVENT_BYTES_MAX &&
                      folio_codec__scan_envelope(
                          &e, (const uint8_t *)v.data + FOLIO_FRAME_HEADER_BYTES,
                          v.size - FOLIO_FRAME_HEADER_BYTES, seq);
        if (scanned && e.stream < tab->dense_cap) __builtin_prefetch(&tab->dense[e.stream]);
        FOLIO_TRY(folio_frame__open(&f, v.data, v.size, seq));
        folio_frame__chain(computed, chain, v.data, v.size);
        if (memcmp(computed, f.chain, FOLIO_HASH_BYTES) != 0) {
            rc = FOLIO_CORRUPT(seq, "chain hash mismatch");
            goto cleanup;
        }
        uint8_t request[FOLIO_HASH_BYTES];
        if (!scanned) {
            folio_event full;
            FOLIO_TRY(folio_codec__decode_envelope(&full, f.envelope, f.envelope_bytes, strbuf,
                                                   FOLIO_EVENT_BYTES_MAX, seq, request,
                                                   &e.follows));
            e.seq = full.seq;
            e.stream = full.stream;
            e.version = full.version;
            e.type = full.type;
            e.recorded_at_us = full.recorded_at_us;
            e.idem_key = (const uint8_t *)full.idempotency_key;
            e.idem_key_bytes = full.idempotency_key ? strlen(full.idempotency_key) : 0;
            e.request = request;
        }
        FOLIO_ASSERT(e.seq == seq);
        FOLIO_TRY(table_get(&s, tab, e.stream));
        if (e.version != s->version + 1) {
            rc = FOLIO_CORRUPT(seq, "version gap in stream %llu: version %llu after %llu",
                               (unsigned long long)e.stream, (unsigned long long)e.version,
                               (unsigned long long)s->version);
            goto cleanup;
        }
        if (f.prev_seq != s->seq) {
            rc = FOLIO_CORRUPT(seq, "stream back-pointer %llu, expected %llu",
                               (unsigned long long)f.prev_seq, (unsigned long long)s->seq);
            goto cleanup;
        }
        if (e.recorded_at_us < *last_recorded) {
            rc = FOLIO_CORRUPT(seq, "recorded_at goes backwards");
            goto cleanup;
        }
        if ((e.type == FOLIO_EV_LEDGER_CONFIGURED) != (e.stream == 0)) {
            rc = FOLIO_CORRUPT(seq, "event type %u in stream %llu", e.type,
                               (unsigned long long)e.stream);
            goto cleanup;
        }
        if (e.type >= FOLIO_EVENT_TYPE_IDS) { /* appends refuse such types */
            rc = FOLIO_CORRUPT(seq, "event type %u is past folio's type ids", e.type);
            goto cleanup;
        }
        if (e.idem_key) FOLIO_TRY(check_keyed_event(t, seq, &e));
        if (e.follows || cw.pending) FOLIO_TRY(check_mark(&cw, seq, &e));
        counted->types[e.type]++;
        if (e.version == 1) counted->streams++;
        *last_recorded = e.recorded_at_us;
        if (s->seq == 0) tab->count++; /* the first event of this stream */
        s->version = e.version;
        s->seq = seq;
        memcpy(chain, f.chain, FOLIO_HASH_BYTES);
        r->events++;
        if ((r->events & (FOLIO_PROGRESS_EVERY - 1)) == 0)
            folio_progress__report(db, "verify", r->events, total);
    }
    if (rc != FOLIO_ITEROVER) goto cleanup;
    rc = FOLIO_OK;
    r->bad_seq = 0;
    *last_follows = cw.pending;
    memcpy(r->head, chain, FOLIO_HASH_BYTES);
    FOLIO_ASSERT(r->events == seq - 1);
cleanup:
    folio_store__cursor_close(&c);
    return rc;
}

/* The counts the log keeps with its head (root record, engine/log.c) against the walk's. */
static int check_counts(folio_verify_report *r, folio_txn *t, const folio_log_counts *counted) {
    folio_log_counts kept;
    int rc = folio_log__read_counts(&kept, t);
    if (rc == FOLIO_ECORRUPT) {
        char msg[FOLIO_ERRMSG_BYTES];
        snprintf(msg, sizeof msg, "%s", folio_errmsg());
        return FOLIO_CORRUPT(r->events, "%s", msg);
    }
    if (rc < 0) return rc;
    if (kept.streams != counted->streams)
        return FOLIO_CORRUPT(r->events, "the log's counts record says %llu streams, the log "
                                        "has %llu",
                             (unsigned long long)kept.streams,
                             (unsigned long long)counted->streams);
    for (unsigned type = 0; type < FOLIO_EVENT_TYPE_IDS; type++)
        if (kept.types[type] != counted->types[type])
            return FOLIO_CORRUPT(r->events, "the log's counts record says %llu events of type "
                                            "%u, the log has %llu",
                                 (unsigned long long)kept.types[type], type,
                                 (unsigned long long)counted->types[type]);
    return FOLIO_OK;
}

static int check_head(folio_verify_report *r, folio_txn *t, int64_t last_recorded) {
    folio_head head;
    int rc = folio_log__read_head(&head, t);
    if (rc < 0) return rc;
    if (head.last_seq != r->events) {
        r->bad_seq = (head.last_seq < r->events ? head.last_seq : r->events) + 1;
        return FOLIO_CORRUPT(r->bad_seq, "the head record says the log ends at seq %llu, "
                                         "but it ends at seq %llu",
                             (unsigned long long)head.last_seq, (unsigned long long)r->events);
    }
    if (memcmp(head.chain, r->head, FOLIO_HASH_BYTES) != 0 ||
        head.last_recorded_at_us != last_recorded) {
        r->bad_seq = r->events;
        return FOLIO_CORRUPT(r->bad_seq, "the head record does not match the last event");
    }
    return FOLIO_OK;
}

static int check_streams(folio_verify_report *r, folio_txn *t, stream_table *tab, int log_only) {
    folio_stream_walk w = {0};
    w.log_only = log_only;
    folio_stream_rec rec;
    uint64_t records = 0, stream;
    int rc = FOLIO_OK;
    while ((rc = folio_log__walk_streams(&w, t, &stream, &rec)) == FOLIO_OK) {
        uint64_t version = rec.version, seq = rec.head_seq;
        const stream_pos *s = table_lookup(tab, stream);
        if (!s || s->version != version || s->seq != seq) {
            r->bad_seq = s ? s->seq : seq;
            rc = FOLIO_CORRUPT(r->bad_seq,
                               "stream index says stream %llu ends at version %llu, seq %llu",
                               (unsigned long long)stream, (unsigned long long)version,
                               (unsigned long long)seq);
            goto cleanup;
        }
        records++;
    }
    if (rc != FOLIO_ITEROVER) goto cleanup;
    rc = FOLIO_OK;
    if (records != tab->count) {
        rc = folio_error__set(FOLIO_ECORRUPT,
                              "stream index has %llu records but the log has %llu streams",
                              (unsigned long long)records, (unsigned long long)tab->count);
        goto cleanup;
    }
    r->streams = records;
cleanup:
    folio_store__cursor_close(&w.c);
    return rc;
}

/* Every idempotency record names events that exist and that carry its key and request
 * hash (the first and the last of the range); a record of a command that wrote nothing
 * (format 2) names one event that exists, the one its answer named, which does not carry
 * the key. */
static int check_idem(folio_verify_report *r, folio_txn *t, uint64_t last_seq, char *strbuf) {
    folio_cursor c = {0};
    folio_val k, v;
    int rc = FOLIO_OK;
    FOLIO_TRY(folio_store__cursor_open(&c, t, FOLIO_DB_IDEM));
    for (rc = folio_store__cursor_seek(&c, NULL, 0, &k, &v); rc == FOLIO_OK;
         rc = folio_store__cursor_next(&c, &k, &v)) {
        folio_idem_rec rec;
        const int ok = folio_log__idem_decode(&rec, v.data, v.size) == 0;
        const uint64_t first = ok ? rec.first : 0, last = ok ? rec.last : 0;
        const int answer = ok && rec.format == 2;
        if (!ok || first == 0 || first > last || last > last_seq || (answer && first != last)) {
            rc = folio_error__set(FOLIO_ECORRUPT,
                                  "idempotency index holds a record that names no events");
            goto cleanup;
        }
        if (answer) { /* the event exists and is whole */
            uint8_t key[8];
            folio_val fv;
            folio_frame f;
            folio__put_be64(key, first);
            FOLIO_TRY(folio_store__get(&fv, t, FOLIO_DB_LOG, key, sizeof key));
            FOLIO_TRY(folio_frame__open(&f, fv.data, fv.size, first));
            continue;
        }
        uint64_t ends[2] = {first, last};
        for (int i = 0; i < 2; i++) {
            uint8_t key[8], hash[FOLIO_HASH_BYTES];
            folio_val fv;
            folio_frame f;
            folio_event e;
            folio__put_be64(key, ends[i]);
            FOLIO_TRY(folio_store__get(&fv, t, FOLIO_DB_LOG, key, sizeof key));
            FOLIO_TRY(folio_frame__open(&f, fv.data, fv.size, ends[i]));
            FOLIO_TRY(folio_codec__decode_envelope(&e, f.envelope, f.envelope_bytes, strbuf,
                                                   FOLIO_EVENT_BYTES_MAX, ends[i], hash, NULL));
            if (!e.idempotency_key || strlen(e.idempotency_key) != k.size ||
                memcmp(e.idempotency_key, k.data, k.size) != 0 ||
                memcmp(hash, rec.hash, FOLIO_HASH_BYTES) != 0) {
                r->bad_seq = ends[i];
                rc = FOLIO_CORRUPT(ends[i], "idempotency index does not match the event's key");
                goto cleanup;
            }
        }
    }
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
cleanup:
    folio_store__cursor_close(&c);
    return rc;
}

static int verify_run(folio_verify_report *report, folio_db *db, int log_only) {
    folio_txn t = {0};
    stream_table tab = {0};
    int64_t last_recorded = 0;
    int rc = FOLIO_OK;
    if (!report || !db) return folio_error__set(FOLIO_EINVAL, "verify: NULL argument");
    memset(report, 0, sizeof *report);
    char *strbuf = malloc(FOLIO_EVENT_BYTES_MAX);
    if (!strbuf) return folio_error__set(FOLIO_ERROR, "verify: out of memory");
    FOLIO_TRY(folio_store__read_begin(&t, db->store));
    folio_head head;
    FOLIO_TRY(folio_log__read_head(&head, &t));
    folio_log_counts counted;
    memset(&counted, 0, sizeof counted);
    uint32_t last_follows = 0;
    FOLIO_TRY(walk_log(report, &t, &tab, strbuf, &last_recorded, &counted, db, head.last_seq,
                       &last_follows));
    folio_progress__report(db, "verify", report->events, head.last_seq);
    FOLIO_TRY(check_head(report, &t, last_recorded));
    if (last_follows) { /* check 11, after the head's: a lost last event is named as such */
        report->bad_seq = report->events;
        rc = FOLIO_CORRUPT(report->events, "command mark %u points past the end of the log",
                           last_follows);
        goto cleanup;
    }
    FOLIO_TRY(check_streams(report, &t, &tab, log_only));
    FOLIO_TRY(check_idem(report, &t, report->events, strbuf));
    FOLIO_TRY(check_counts(report, &t, &counted));
cleanup:
    if (t.mdb) folio_store__read_end(&t);
    free(tab.slots);
    free(tab.dense);
    free(strbuf);
    if (rc == FOLIO_ECORRUPT && report->bad_seq == 0 && report->events > 0)
        report->bad_seq = report->events; /* an index defect: name the last event checked */
    if (rc != FOLIO_ECORRUPT) report->bad_seq = 0; /* promised: 0 unless corruption */
    return rc;
}

int folio_verify(folio_verify_report *report, folio_db *db) { return verify_run(report, db, 0); }

int folio_verify__log(folio_verify_report *report, folio_db *db) {
    return verify_run(report, db, 1);
}
