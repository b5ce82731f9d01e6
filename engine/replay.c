/*
 * engine/replay.c - reading the log: by seq range, and one stream in version order.
 * An iterator never holds a read transaction between calls: it copies up to
 * FOLIO_ITER_BATCH_COUNT_MAX frames out of one short transaction, then decodes them one by
 * one. Frames are immutable once committed, so a batch read later sees the same bytes, and
 * a later read transaction never sees an older snapshot (engine/store.c, read_start): a seq
 * the opening snapshot's head covers and a batch lacks is damage.
 * A stream iterator first follows the stream's back-pointers from its stream record to
 * list its seqs (8 bytes per event of a stream longer than one batch), then reads them in
 * order. Both read the log through one cursor per transaction (LMDB searches the cursor's
 * own leaf page first).
 * A stream of at most one batch is copied out, and its frames opened (checksum checked),
 * in the walk's transaction; its walk follows the back-pointers first and opens the frames
 * after it (their bytes were fetched meanwhile), reporting what opening each frame as it
 * was found would have reported.
 * Invariants: every returned event passed its frame checksum and envelope decode; a log
 * iterator returns dense seqs; a stream iterator returns versions 1, 2, ... of one stream.
 */
#include <stddef.h>
#include <stdlib.h>

#include "internal.h"

#define ARENA_BYTES (256u * 1024u)
_Static_assert(ARENA_BYTES >= FOLIO_EVENT_BYTES_MAX, "the arena holds at least one frame");

enum { ITER_LOG = 1, ITER_STREAM = 2 };

typedef struct {
    uint64_t seq;
    uint32_t off, len;
} slot;

struct folio_iter {
    folio_db *db;
    int kind;
    uint64_t next_seq, to_seq; /* log: next seq to fetch, last seq to return */
    uint64_t stream;           /* stream: which, the seqs in order, and how far fetched */
    uint64_t *seqs;
    size_t seq_count, seq_fetched;
    uint64_t returned; /* events returned so far */
    uint64_t prev_seq; /* seq of the last event returned (stream back-pointer check) */
    uint8_t *arena;
    unsigned slot_count, slot_pos;
    char *strbuf;
    folio_event cur;
    uint8_t cur_chain[FOLIO_HASH_BYTES];   /* chain hash of cur */
    uint8_t cur_request[FOLIO_HASH_BYTES]; /* request hash of cur (zeros: none) */
    uint32_t cur_follows;                  /* command mark of cur (0: it ends its command) */
    int opened; /* the slots came from the stream walk: `frames` holds them opened */
    /* last: filled before use, never zeroed */
    slot slots[FOLIO_ITER_BATCH_COUNT_MAX];
    folio_frame frames[FOLIO_ITER_BATCH_COUNT_MAX]; /* slot i's frame, envelope in the arena */
};

static void iter_destroy(folio_iter *it) {
    if (!it) return;
    free(it->seqs);
    free(it->arena);
    free(it->strbuf);
    free(it);
}

/* An iterator's buffers are large (ARENA_BYTES + FOLIO_EVENT_BYTES_MAX): the handle keeps the
 * last freed one and the next open reuses it, so a short history costs no mmap and no page
 * faults. */
static int iter_alloc(folio_iter **out, folio_db *db, int kind) {
    pthread_mutex_lock(&db->spare_lock);
    folio_iter *it = db->spare_iter;
    db->spare_iter = NULL;
    pthread_mutex_unlock(&db->spare_lock);
    if (!it && (it = malloc(sizeof *it)) != NULL) {
        it->arena = malloc(ARENA_BYTES);
        it->strbuf = malloc(FOLIO_EVENT_BYTES_MAX);
        if (!it->arena || !it->strbuf) {
            free(it->arena);
            free(it->strbuf);
            free(it);
            it = NULL;
        }
    }
    if (!it) return folio_error__set(FOLIO_ERROR, "iterator: out of memory");
    uint8_t *arena = it->arena;
    char *strbuf = it->strbuf;
    memset(it, 0, offsetof(folio_iter, slots));
    it->arena = arena;
    it->strbuf = strbuf;
    it->db = db;
    it->kind = kind;
    *out = it;
    return FOLIO_OK;
}

void folio_iter_free(folio_iter *it) {
    if (!it) return;
    folio_db *db = it->db;
    free(it->seqs);
    it->seqs = NULL;
    pthread_mutex_lock(&db->spare_lock);
    if (!db->spare_iter) {
        db->spare_iter = it;
        it = NULL;
    }
    pthread_mutex_unlock(&db->spare_lock);
    iter_destroy(it);
}

void folio_iter__release_spare(folio_db *db) {
    iter_destroy(db->spare_iter);
    db->spare_iter = NULL;
}

int folio_log_open(folio_iter **out, folio_db *db, uint64_t from_seq, uint64_t to_seq) {
    folio_txn t = {0};
    folio_head head;
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "log_open: NULL argument");
    *out = NULL;
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) return rc;
    rc = folio_log__read_head(&head, &t);
    folio_store__read_end(&t);
    if (rc < 0) return rc;
    if (to_seq == 0 || to_seq > head.last_seq) to_seq = head.last_seq;
    rc = iter_alloc(out, db, ITER_LOG);
    if (rc < 0) return rc;
    (*out)->next_seq = from_seq == 0 ? 1 : from_seq;
    (*out)->to_seq = to_seq;
    return FOLIO_OK;
}

/* The frame of `seq`, through cursor c on the log: FOLIO_ENOTFOUND when the log has no such
 * seq. A cursor, not a get: when the seq is on the leaf page the cursor is already on (a
 * stream's events written close together, such as a creation and its currency, or a busy
 * customer's documents), LMDB searches that page alone instead of descending from the root. */
static int log_get(folio_val *v, folio_cursor *c, uint64_t seq) {
    uint8_t key[8];
    folio_val k;
    folio__put_be64(key, seq);
    int rc = folio_store__cursor_seek(c, key, sizeof key, &k, v);
    if (rc == FOLIO_ITEROVER) return FOLIO_ENOTFOUND;
    if (rc < 0) return rc;
    if (k.size != sizeof key || folio__get_be64(k.data) != seq) return FOLIO_ENOTFOUND;
    return FOLIO_OK;
}

/* The back-pointer of a frame that has not been opened yet: the last 8 bytes of its header
 * (docs/FORMAT.md#frame, engine/frame.c). Only a hint until folio_frame__open has checked
 * the frame. */
static uint64_t prev_seq_unchecked(const uint8_t *frame) {
    return folio__get_le64(frame + FOLIO_FRAME_HEADER_BYTES - 8);
}

/* The walk of a stream of at most one batch (the usual customer). It follows back-pointers
 * without opening the frames, asks the CPU for the rest of each frame's bytes as soon as
 * the frame is found, and opens (checksums) them after the walk: the cache misses of a
 * frame's bytes then overlap the next frame's lookup instead of stalling the walk between
 * lookups. A back-pointer is thus followed before its frame is checked, so when the walk
 * fails at step k, frames 0..k are opened first, in walk order, and the first of them that
 * fails is the answer: the same answer as opening each frame when it was found.
 * Leaves the i-th frame from the newest in it->slots[i] (seq, length) and it->frames[i]
 * (opened, pointing into the map: valid until t ends); rec->version of them. */
static int walk_short(folio_iter *it, folio_cursor *c, const folio_stream_rec *rec) {
    const uint8_t *at[FOLIO_ITER_BATCH_COUNT_MAX];
    uint64_t seq = rec->head_seq;
    size_t k = 0;
    folio_val bad = {NULL, 0}; /* the frame of `seq`, when its length alone is wrong */
    int bad_length = 0;
    int rc = FOLIO_OK;
    FOLIO_ASSERT(rec->version >= 1);
    FOLIO_ASSERT(rec->version <= FOLIO_ITER_BATCH_COUNT_MAX);
    for (uint64_t version = rec->version; version >= 1; version--) {
        folio_val v;
        if ((rc = log_get(&v, c, seq)) == FOLIO_ENOTFOUND)
            rc = FOLIO_CORRUPT(seq, "event of stream %llu is missing from the log",
                               (unsigned long long)it->stream);
        if (rc < 0) break;
        if (v.size <= FOLIO_FRAME_HEADER_BYTES || v.size > FOLIO_EVENT_BYTES_MAX) {
            bad = v; /* folio_frame__open names it, after the frames before it */
            bad_length = 1;
            rc = FOLIO_ECORRUPT;
            break;
        }
        const uint8_t *frame = v.data;
        for (const uint8_t *line = frame + 64 - ((uintptr_t)frame & 63); line < frame + v.size;
             line += 64)
            __builtin_prefetch(line);
        at[k] = frame;
        it->slots[k++] = (slot){seq, 0, (uint32_t)v.size};
        uint64_t prev = prev_seq_unchecked(frame);
        if (version == 1) {
            if (prev != 0)
                rc = FOLIO_CORRUPT(seq, "first event of stream %llu has a back-pointer",
                                   (unsigned long long)it->stream);
            break;
        }
        if (prev == 0) {
            rc = FOLIO_CORRUPT(seq, "stream %llu back-pointers end at version %llu",
                               (unsigned long long)it->stream, (unsigned long long)version);
            break;
        }
        if (prev >= seq) { /* as folio_frame__open says it, if nothing before it fails */
            rc = FOLIO_CORRUPT(seq, "stream back-pointer %llu does not point backwards",
                               (unsigned long long)prev);
            break;
        }
        seq = prev;
    }
    for (size_t i = 0; i < k; i++) {
        int orc = folio_frame__open(&it->frames[i], at[i], it->slots[i].len, it->slots[i].seq);
        if (orc < 0) return orc;
    }
    if (bad_length) {
        folio_frame f;
        return folio_frame__open(&f, bad.data, bad.size, seq);
    }
    if (rc == FOLIO_OK) FOLIO_ASSERT(k == rec->version);
    return rc;
}

/* Keep the frames of a short stream's walk (n of them, newest first) that pass the filters,
 * in version order, and copy them into the arena, so that folio_iter_next reads them
 * without another transaction. When they do not fit, their seqs are kept instead and
 * refill fetches them in batches. */
static int keep_short(folio_iter *it, size_t n, uint64_t max_version, uint64_t at_seq) {
    size_t keep = 0, bytes = 0;
    FOLIO_ASSERT(n >= 1);
    FOLIO_ASSERT(n <= FOLIO_ITER_BATCH_COUNT_MAX);
    for (size_t i = 0; i < n; i++) { /* the i-th from the newest is version n - i */
        if ((at_seq != 0 && it->slots[i].seq > at_seq) || (max_version != 0 && n - i > max_version))
            continue;
        it->slots[keep] = it->slots[i];
        it->frames[keep] = it->frames[i];
        bytes += it->slots[keep].len;
        keep++;
    }
    for (size_t i = 0; i < keep / 2; i++) { /* into version order */
        slot s = it->slots[i];
        folio_frame f = it->frames[i];
        it->slots[i] = it->slots[keep - 1 - i];
        it->frames[i] = it->frames[keep - 1 - i];
        it->slots[keep - 1 - i] = s;
        it->frames[keep - 1 - i] = f;
    }
    it->seq_count = keep;
    if (bytes > ARENA_BYTES) {
        if (!(it->seqs = malloc(keep * sizeof *it->seqs)))
            return folio_error__set(FOLIO_ERROR, "iterator: out of memory");
        for (size_t i = 0; i < keep; i++) it->seqs[i] = it->slots[i].seq;
        return FOLIO_OK;
    }
    size_t off = 0;
    for (size_t i = 0; i < keep; i++) {
        folio_frame *f = &it->frames[i];
        const uint8_t *frame = f->envelope - FOLIO_FRAME_HEADER_BYTES;
        memcpy(it->arena + off, frame, it->slots[i].len);
        f->envelope = it->arena + off + FOLIO_FRAME_HEADER_BYTES;
        it->slots[i].off = (uint32_t)off;
        off += it->slots[i].len;
    }
    FOLIO_ASSERT(off == bytes);
    it->opened = 1;
    it->slot_count = (unsigned)keep;
    it->slot_pos = 0;
    it->seq_fetched = keep;
    return FOLIO_OK;
}

/* The walk of a longer stream: follow back-pointers from its last event to its first,
 * opening each frame, and keep the seqs that pass the filters, in version order. */
static int walk_long(folio_iter *it, folio_cursor *c, const folio_stream_rec *rec,
                     uint64_t max_version, uint64_t at_seq) {
    size_t keep = 0;
    uint64_t seq = rec->head_seq;
    int rc = FOLIO_OK;
    FOLIO_ASSERT(rec->version > FOLIO_ITER_BATCH_COUNT_MAX);
    FOLIO_ASSERT(it->seqs == NULL);
    if (!(it->seqs = malloc(rec->version * sizeof *it->seqs)))
        return folio_error__set(FOLIO_ERROR, "iterator: out of memory");
    for (uint64_t version = rec->version; version >= 1; version--) {
        folio_val v;
        folio_frame f;
        if ((rc = log_get(&v, c, seq)) == FOLIO_ENOTFOUND)
            rc = FOLIO_CORRUPT(seq, "event of stream %llu is missing from the log",
                               (unsigned long long)it->stream);
        if (rc < 0) return rc;
        if ((rc = folio_frame__open(&f, v.data, v.size, seq)) < 0) return rc;
        if ((at_seq == 0 || seq <= at_seq) && (max_version == 0 || version <= max_version))
            it->seqs[keep++] = seq;
        if (version == 1) {
            if (f.prev_seq != 0)
                return FOLIO_CORRUPT(seq, "first event of stream %llu has a back-pointer",
                                     (unsigned long long)it->stream);
            break;
        }
        if (f.prev_seq == 0)
            return FOLIO_CORRUPT(seq, "stream %llu back-pointers end at version %llu",
                                 (unsigned long long)it->stream, (unsigned long long)version);
        seq = f.prev_seq;
    }
    for (size_t i = 0; i < keep / 2; i++) { /* into version order */
        uint64_t tmp = it->seqs[i];
        it->seqs[i] = it->seqs[keep - 1 - i];
        it->seqs[keep - 1 - i] = tmp;
    }
    it->seq_count = keep;
    return FOLIO_OK;
}

/* Find the stream's seqs (and, for a short stream, its frames) in t, whose log head has
 * last seq `last_seq`. The walk is bounded by the stream record's version. */
static int collect_stream(folio_iter *it, folio_txn *t, uint64_t last_seq, uint64_t max_version,
                          uint64_t at_seq) {
    folio_stream_rec rec;
    folio_cursor c = {0};
    int rc = folio_log__read_stream(&rec, t, it->stream);
    if (rc == FOLIO_ENOTFOUND)
        return folio_error__set(FOLIO_ENOTFOUND, "stream %llu has no events",
                                (unsigned long long)it->stream);
    if (rc < 0) return rc;
    if (rec.version == 0 || rec.version > last_seq || rec.head_seq > last_seq)
        return folio_error__set(FOLIO_ECORRUPT, "stream %llu record is inconsistent with the log",
                                (unsigned long long)it->stream);
    if ((rc = folio_store__read_cursor_open(&c, t, FOLIO_DB_LOG)) < 0) return rc;
    if (rec.version <= FOLIO_ITER_BATCH_COUNT_MAX) {
        rc = walk_short(it, &c, &rec);
        folio_store__read_cursor_close(&c, t, FOLIO_DB_LOG);
        if (rc == FOLIO_OK) rc = keep_short(it, (size_t)rec.version, max_version, at_seq);
    } else {
        rc = walk_long(it, &c, &rec, max_version, at_seq);
        folio_store__read_cursor_close(&c, t, FOLIO_DB_LOG);
    }
    if (rc < 0) return rc;
    if (it->seq_count == 0)
        return folio_error__set(FOLIO_ENOTFOUND, "stream %llu has no events as of seq %llu",
                                (unsigned long long)it->stream, (unsigned long long)at_seq);
    return FOLIO_OK;
}

/* folio_stream_open inside the caller's read transaction t, whose log head the caller has
 * read (history: the same transaction that found the customer's id, and its head). The
 * iterator does not keep t. */
int folio_stream__open_in(folio_iter **out, folio_db *db, folio_txn *t, const folio_head *head,
                          uint64_t stream, uint64_t max_version, uint64_t at_seq) {
    folio_iter *it = NULL;
    FOLIO_ASSERT(out != NULL);
    FOLIO_ASSERT(t->mdb != NULL);
    *out = NULL;
    int rc = iter_alloc(&it, db, ITER_STREAM);
    if (rc < 0) return rc;
    it->stream = stream;
    rc = collect_stream(it, t, head->last_seq, max_version, at_seq);
    if (rc < 0) {
        folio_iter_free(it);
        return rc;
    }
    *out = it;
    return FOLIO_OK;
}

int folio_stream_open(folio_iter **out, folio_db *db, uint64_t stream, uint64_t max_version,
                      uint64_t at_seq) {
    folio_txn t = {0};
    folio_head head;
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "stream_open: NULL argument");
    *out = NULL;
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) return rc;
    rc = folio_log__read_head(&head, &t);
    /* as known at the end of the command that wrote at_seq, never half-way through it */
    if (rc == FOLIO_OK && at_seq != 0) rc = folio_replay__at_seq(&at_seq, &t, at_seq, head.last_seq);
    if (rc == FOLIO_OK) rc = folio_stream__open_in(out, db, &t, &head, stream, max_version, at_seq);
    folio_store__read_end(&t);
    return rc;
}

/* Copy the next batch of frames into the arena under one read transaction. */
static int refill(folio_iter *it) {
    folio_txn t = {0};
    folio_cursor c = {0};
    folio_val k, v;
    size_t used = 0;
    int rc = FOLIO_OK;
    it->slot_count = it->slot_pos = 0;
    it->opened = 0;
    /* Past the end: no transaction (the last call of every history comes here). */
    if (it->kind == ITER_LOG ? it->next_seq > it->to_seq : it->seq_fetched == it->seq_count)
        return FOLIO_OK;
    FOLIO_TRY(folio_store__read_begin(&t, it->db->store));
    FOLIO_TRY(folio_store__read_cursor_open(&c, &t, FOLIO_DB_LOG));
    if (it->kind == ITER_LOG) {
        uint8_t key[8];
        folio__put_be64(key, it->next_seq);
        rc = folio_store__cursor_seek(&c, key, sizeof key, &k, &v);
        while (it->slot_count < FOLIO_ITER_BATCH_COUNT_MAX && it->next_seq <= it->to_seq) {
            if (rc == FOLIO_ITEROVER || (rc == FOLIO_OK && (k.size != 8 ||
                                                            folio__get_be64(k.data) != it->next_seq))) {
                rc = FOLIO_CORRUPT(it->next_seq, "missing from the log (seq gap)");
                goto cleanup;
            }
            if (rc < 0) goto cleanup;
            if (v.size > ARENA_BYTES) {
                rc = FOLIO_CORRUPT(it->next_seq, "frame of %zu bytes is larger than any event", v.size);
                goto cleanup;
            }
            if (v.size > ARENA_BYTES - used) break;
            memcpy(it->arena + used, v.data, v.size);
            it->slots[it->slot_count++] = (slot){it->next_seq, (uint32_t)used, (uint32_t)v.size};
            used += v.size;
            it->next_seq++;
            if (it->next_seq <= it->to_seq) rc = folio_store__cursor_next(&c, &k, &v);
        }
        rc = FOLIO_OK;
    } else {
        while (it->slot_count < FOLIO_ITER_BATCH_COUNT_MAX && it->seq_fetched < it->seq_count) {
            uint64_t seq = it->seqs[it->seq_fetched];
            rc = log_get(&v, &c, seq);
            if (rc == FOLIO_ENOTFOUND) {
                rc = FOLIO_CORRUPT(seq, "missing from the log");
                goto cleanup;
            }
            if (rc < 0) goto cleanup;
            if (v.size > ARENA_BYTES) {
                rc = FOLIO_CORRUPT(seq, "frame of %zu bytes is larger than any event", v.size);
                goto cleanup;
            }
            if (v.size > ARENA_BYTES - used) break;
            memcpy(it->arena + used, v.data, v.size);
            it->slots[it->slot_count++] = (slot){seq, (uint32_t)used, (uint32_t)v.size};
            used += v.size;
            it->seq_fetched++;
        }
    }
cleanup:
    if (t.mdb) folio_store__read_cursor_close(&c, &t, FOLIO_DB_LOG);
    if (t.mdb) folio_store__read_end(&t);
    return rc;
}

int folio_iter_next(const folio_event **event_out, folio_iter *it) {
    if (!event_out || !it) return folio_error__set(FOLIO_EINVAL, "iter_next: NULL argument");
    *event_out = NULL;
    if (it->slot_pos == it->slot_count) {
        int rc = refill(it);
        if (rc < 0) return rc;
        if (it->slot_count == 0) return FOLIO_ITEROVER;
    }
    unsigned pos = it->slot_pos++;
    const slot *s = &it->slots[pos];
    folio_frame f;
    int rc = FOLIO_OK;
    if (it->opened) {
        f = it->frames[pos];
        FOLIO_ASSERT(f.envelope >= it->arena + s->off);
        FOLIO_ASSERT(f.envelope + f.envelope_bytes == it->arena + s->off + s->len);
    } else if ((rc = folio_frame__open(&f, it->arena + s->off, s->len, s->seq)) < 0) {
        return rc;
    }
    /* The one-pass decode accepts only what the decoder accepts, with its results; the
     * decoder takes anything else and names its defect (docs/INTEGRITY.md, check 5). */
    if (!folio_codec__decode_envelope_fast(&it->cur, f.envelope, f.envelope_bytes, it->strbuf,
                                           FOLIO_EVENT_BYTES_MAX, s->seq, it->cur_request,
                                           &it->cur_follows))
        rc = folio_codec__decode_envelope(&it->cur, f.envelope, f.envelope_bytes, it->strbuf,
                                          FOLIO_EVENT_BYTES_MAX, s->seq, it->cur_request,
                                          &it->cur_follows);
    memcpy(it->cur_chain, f.chain, FOLIO_HASH_BYTES);
    if (rc < 0) return rc;
    if (it->kind == ITER_STREAM) {
        if (it->cur.stream != it->stream)
            return FOLIO_CORRUPT(s->seq, "belongs to stream %llu, not %llu",
                                 (unsigned long long)it->cur.stream,
                                 (unsigned long long)it->stream);
        if (it->cur.version != it->returned + 1)
            return FOLIO_CORRUPT(s->seq, "has version %llu, expected %llu",
                                 (unsigned long long)it->cur.version,
                                 (unsigned long long)(it->returned + 1));
        if (f.prev_seq != it->prev_seq)
            return FOLIO_CORRUPT(s->seq, "back-pointer %llu, expected %llu",
                                 (unsigned long long)f.prev_seq,
                                 (unsigned long long)it->prev_seq);
    }
    FOLIO_ASSERT(it->cur.seq == s->seq);
    it->returned++;
    it->prev_seq = s->seq;
    *event_out = &it->cur;
    return FOLIO_OK;
}

void folio_iter_chain(uint8_t out[FOLIO_HASH_BYTES], const folio_iter *it) {
    if (!out) return;
    if (!it) { /* no iterator, no event: no hash (zeros) */
        memset(out, 0, FOLIO_HASH_BYTES);
        return;
    }
    memcpy(out, it->cur_chain, FOLIO_HASH_BYTES);
}

int folio_iter_request_hash(uint8_t out[FOLIO_HASH_BYTES], const folio_iter *it) {
    static const uint8_t zero[FOLIO_HASH_BYTES];
    if (!out || !it) return folio_error__set(FOLIO_EINVAL, "iter_request_hash: NULL argument");
    memcpy(out, it->cur_request, FOLIO_HASH_BYTES);
    return memcmp(out, zero, FOLIO_HASH_BYTES) != 0;
}

uint32_t folio_iter_command_follows(const folio_iter *it) { return it ? it->cur_follows : 0; }

/* ---------------------------------------------------------------------------------------
 * Command boundaries (docs/FORMAT.md, envelope key 13)
 * ------------------------------------------------------------------------------------- */

int folio_replay__follows_at(uint32_t *out, folio_txn *t, uint64_t seq) {
    uint8_t key[8];
    folio_val v;
    folio_frame f;
    folio_envelope_fields e;
    FOLIO_ASSERT(out != NULL);
    FOLIO_ASSERT(seq > 0);
    *out = 0;
    folio__put_be64(key, seq);
    int rc = folio_store__get(&v, t, FOLIO_DB_LOG, key, sizeof key);
    if (rc == FOLIO_ENOTFOUND) return FOLIO_CORRUPT(seq, "missing from the log");
    if (rc < 0) return rc;
    if ((rc = folio_frame__open(&f, v.data, v.size, seq)) < 0) return rc;
    if (folio_codec__scan_envelope(&e, f.envelope, f.envelope_bytes, seq)) {
        *out = e.follows;
        return FOLIO_OK;
    }
    /* a shape folio does not write: the decoder reads it, or names its defect */
    char *strbuf = malloc(FOLIO_EVENT_BYTES_MAX);
    if (!strbuf) return folio_error__set(FOLIO_ERROR, "out of memory");
    folio_event full;
    rc = folio_codec__decode_envelope(&full, f.envelope, f.envelope_bytes, strbuf,
                                      FOLIO_EVENT_BYTES_MAX, seq, NULL, out);
    free(strbuf);
    return rc;
}

int folio_replay__command_last(uint64_t *last_out, folio_txn *t, uint64_t seq, uint64_t head_seq) {
    uint32_t follows = 0;
    FOLIO_ASSERT(seq >= 1);
    FOLIO_ASSERT(seq <= head_seq);
    int rc = folio_replay__follows_at(&follows, t, seq);
    if (rc < 0) return rc;
    if (follows > head_seq - seq)
        return FOLIO_CORRUPT(seq, "command mark %u points past the last seq %llu", follows,
                             (unsigned long long)head_seq);
    *last_out = seq + follows;
    FOLIO_ASSERT(*last_out <= head_seq);
    return FOLIO_OK;
}

int folio_replay__at_seq(uint64_t *out, folio_txn *t, uint64_t at_seq, uint64_t head_seq) {
    if (at_seq == 0) {
        *out = head_seq;
        return FOLIO_OK;
    }
    if (at_seq > head_seq)
        return folio_error__set(FOLIO_EINVAL,
                                "seq %llu is past the ledger's last seq %llu: an answer as known "
                                "at it would change once it is written",
                                (unsigned long long)at_seq, (unsigned long long)head_seq);
    return folio_replay__command_last(out, t, at_seq, head_seq);
}

/* The first seq of the command holding `seq`: back while the event before it says that
 * events of its command follow, each mark one more than the next one's. */
static int command_first(uint64_t *first_out, folio_txn *t, uint64_t seq, uint64_t last) {
    uint64_t s = seq;
    for (unsigned n = 0; s > 1; n++) {
        uint32_t before = 0;
        FOLIO_ASSERT(n < FOLIO_COMMAND_FOLLOWS_MAX); /* each mark is one more, all at most that */
        int rc = folio_replay__follows_at(&before, t, s - 1);
        if (rc < 0) return rc;
        if (before == 0) break;
        if (before != last - (s - 1))
            return FOLIO_CORRUPT(s - 1, "command mark %u, expected %llu (the command ends at "
                                        "seq %llu)",
                                 before, (unsigned long long)(last - (s - 1)),
                                 (unsigned long long)last);
        s--;
    }
    *first_out = s;
    FOLIO_ASSERT(s <= seq);
    return FOLIO_OK;
}

int folio_command_bounds(uint64_t *first_out, uint64_t *last_out, folio_db *db, uint64_t seq) {
    folio_txn t = {0};
    folio_head head;
    uint64_t first = 0, last = 0;
    if (!first_out || !last_out || !db)
        return folio_error__set(FOLIO_EINVAL, "command_bounds: NULL argument");
    if (seq == 0) return folio_error__set(FOLIO_EINVAL, "command_bounds: seq 0");
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) return rc;
    if ((rc = folio_log__read_head(&head, &t)) < 0) goto cleanup;
    if (seq > head.last_seq) {
        rc = folio_error__set(FOLIO_EINVAL, "seq %llu is past the ledger's last seq %llu",
                              (unsigned long long)seq, (unsigned long long)head.last_seq);
        goto cleanup;
    }
    if ((rc = folio_replay__command_last(&last, &t, seq, head.last_seq)) < 0) goto cleanup;
    if ((rc = command_first(&first, &t, seq, last)) < 0) goto cleanup;
    FOLIO_ASSERT(first <= seq);
    FOLIO_ASSERT(seq <= last);
    *first_out = first;
    *last_out = last;
cleanup:
    folio_store__read_end(&t);
    return rc;
}
