/*
 * engine/pcache.c - a write transaction's cache of projection records.
 * Every projection read and write of a write transaction goes through it (engine/projection.c):
 * a record read once is answered from memory afterwards, a record written many times in one
 * transaction (a busy customer's card, a counter) reaches LMDB once, and the writes reach it
 * sorted by key, when the transaction commits (folio_log__flush), before a cursor walks a
 * projection, and when the cache passes its budget between events. A batch of a thousand
 * commands or a rebuild of a million events then does a fraction of the B-tree work.
 * Invariants: an entry is the truth for its key in this transaction (clean = as in LMDB,
 * dirty = not yet written there, absent = not in LMDB, deleted = to be deleted there);
 * values live in the arena until the cache is reset, so a pointer handed out by get stays
 * valid until that key is written or the cache is reset (only between events).
 */
#include <stdlib.h>

#include "internal.h"

enum { PC_CLEAN = 0, PC_DIRTY = 1, PC_ABSENT = 2, PC_DELETED = 3 };

typedef struct {
    uint64_t hash;
    const uint8_t *key;
    const uint8_t *val;
    uint32_t klen, vlen;
    uint16_t dbi;
    uint8_t state;
} pc_entry;

typedef struct pc_chunk {
    struct pc_chunk *next;
    size_t cap, used;
    uint8_t data[];
} pc_chunk;

struct folio_pcache {
    pc_entry *entries;
    size_t count, cap;
    uint64_t *slots; /* open addressing: entry index + 1 (low 32 bits, 0 = empty) and the
                        hash's high 32 bits, so a probe rarely touches an entry it passes */
    size_t slot_cap; /* a power of two, at least twice count */
    pc_chunk *chunks; /* the current chunk first; the others are full */
    pc_chunk *spare;  /* chunks kept from the last reset */
    size_t arena_bytes;
    size_t dirty;
    struct pc_sortkey *order; /* the dirty entries in key order, for a flush (kept) */
    size_t order_cap;
};

#define CHUNK_BYTES (1u << 20)
/* Past this the cache is written out and emptied between two events: memory stays bounded
 * whatever the transaction's size. */
static size_t budget_bytes = 64u << 20, budget_entries = 1u << 20;

void folio_pcache__set_budget(size_t bytes, size_t entries) {
    budget_bytes = bytes;
    budget_entries = entries;
}

folio_pcache *folio_pcache__create(void) { return calloc(1, sizeof(folio_pcache)); }

static void free_chunks(pc_chunk *c) {
    while (c) {
        pc_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void folio_pcache__free(folio_pcache *pc) {
    if (!pc) return;
    free(pc->entries);
    free(pc->slots);
    free(pc->order);
    free_chunks(pc->chunks);
    free_chunks(pc->spare);
    free(pc);
}

void folio_pcache__reset(folio_pcache *pc) {
    if (!pc) return;
    if (pc->slot_cap > 65536 && pc->count < pc->slot_cap / 16) {
        /* a rebuild grew the table: do not clear megabytes for every small transaction */
        free(pc->slots);
        pc->slots = NULL;
        pc->slot_cap = 0;
    } else if (pc->slots) {
        memset(pc->slots, 0, pc->slot_cap * sizeof *pc->slots);
    }
    pc->count = 0;
    pc->dirty = 0;
    pc->arena_bytes = 0;
    /* keep one chunk of the usual size for the next transaction; give back the rest */
    pc_chunk *keep = NULL, *c = pc->chunks;
    while (c) {
        pc_chunk *next = c->next;
        if (!keep && c->cap == CHUNK_BYTES && !pc->spare) {
            keep = c;
            keep->next = NULL;
            keep->used = 0;
        } else {
            free(c);
        }
        c = next;
    }
    if (keep) pc->spare = keep;
    pc->chunks = NULL;
}

static uint64_t hash_key(unsigned dbi, const void *key, size_t n) {
    /* FNV-1a over the dbi and the key: keys are short, and the table only needs spread */
    uint64_t h = 1469598103934665603ull ^ dbi;
    const uint8_t *p = key;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static void *arena_alloc(folio_pcache *pc, size_t n) {
    pc_chunk *c = pc->chunks;
    if (!c || c->cap - c->used < n) {
        if (n <= CHUNK_BYTES && pc->spare) {
            c = pc->spare;
            pc->spare = NULL;
        } else {
            size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
            if (!(c = malloc(sizeof *c + cap))) return NULL;
            c->cap = cap;
        }
        c->used = 0;
        c->next = pc->chunks;
        pc->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += (n + 7u) & ~(size_t)7u;
    if (c->used > c->cap) c->used = c->cap;
    pc->arena_bytes += n;
    return p;
}

static pc_entry *find(folio_pcache *pc, unsigned dbi, const void *key, size_t klen,
                      uint64_t h) {
    if (!pc->slot_cap) return NULL;
    for (size_t i = h & (pc->slot_cap - 1);; i = (i + 1) & (pc->slot_cap - 1)) {
        uint64_t s = pc->slots[i];
        if (!s) return NULL;
        if (s >> 32 != h >> 32) continue;
        pc_entry *e = &pc->entries[(uint32_t)s - 1];
        if (e->hash == h && e->dbi == dbi && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
}

static int grow_slots(folio_pcache *pc) {
    size_t cap = pc->slot_cap ? pc->slot_cap * 2 : 4096;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    for (size_t k = 0; k < pc->count; k++) {
        size_t i = pc->entries[k].hash & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = (pc->entries[k].hash >> 32 << 32) | (uint64_t)(k + 1);
    }
    free(pc->slots);
    pc->slots = slots;
    pc->slot_cap = cap;
    return FOLIO_OK;
}

/* A new entry for a key not in the cache (its key copied into the arena). */
static int insert(pc_entry **out, folio_pcache *pc, unsigned dbi, const void *key, size_t klen,
                  uint64_t h) {
    int rc;
    if ((pc->count + 1) * 2 > pc->slot_cap && (rc = grow_slots(pc)) < 0) return rc;
    if (pc->count == pc->cap) {
        size_t cap = pc->cap ? pc->cap * 2 : 4096;
        pc_entry *e = realloc(pc->entries, cap * sizeof *e);
        if (!e) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
        pc->entries = e;
        pc->cap = cap;
    }
    uint8_t *k = arena_alloc(pc, klen ? klen : 1);
    if (!k) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    memcpy(k, key, klen);
    pc_entry *e = &pc->entries[pc->count];
    *e = (pc_entry){.hash = h, .key = k, .klen = (uint32_t)klen,
                    .dbi = (uint16_t)dbi};
    size_t i = h & (pc->slot_cap - 1);
    while (pc->slots[i]) i = (i + 1) & (pc->slot_cap - 1);
    pc->slots[i] = (h >> 32 << 32) | (uint64_t)(++pc->count);
    *out = e;
    return FOLIO_OK;
}

/* The entry for a key, reading it from LMDB into the cache the first time. */
static int lookup(pc_entry **out, folio_pcache *pc, folio_txn *t, unsigned dbi, const void *key,
                  size_t klen) {
    uint64_t h = hash_key(dbi, key, klen);
    pc_entry *e = find(pc, dbi, key, klen, h);
    if (e) {
        *out = e;
        return FOLIO_OK;
    }
    folio_val v;
    int rc = folio_store__get(&v, t, dbi, key, klen);
    if (rc < 0 && rc != FOLIO_ENOTFOUND) return rc;
    int found = rc == FOLIO_OK;
    uint8_t *copy = NULL;
    if (found && !(copy = arena_alloc(pc, v.size ? v.size : 1)))
        return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    if ((rc = insert(&e, pc, dbi, key, klen, h)) < 0) return rc;
    if (found) {
        memcpy(copy, v.data, v.size);
        e->val = copy;
        e->vlen = (uint32_t)v.size;
        e->state = PC_CLEAN;
    } else {
        e->state = PC_ABSENT;
    }
    *out = e;
    return FOLIO_OK;
}

int folio_pcache__get(folio_val *out, folio_pcache *pc, folio_txn *t, unsigned dbi,
                      const void *key, size_t klen) {
    pc_entry *e = NULL; /* set by lookup when it succeeds (gcc -O3 cannot tell) */
    int rc = lookup(&e, pc, t, dbi, key, klen);
    if (rc < 0) return rc;
    if (e->state == PC_ABSENT || e->state == PC_DELETED) return FOLIO_ENOTFOUND;
    out->data = e->val;
    out->size = e->vlen;
    return FOLIO_OK;
}

int folio_pcache__put(folio_pcache *pc, unsigned dbi, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    uint64_t h = hash_key(dbi, key, klen);
    pc_entry *e = find(pc, dbi, key, klen, h);
    int rc;
    if (!e && (rc = insert(&e, pc, dbi, key, klen, h)) < 0) return rc;
    uint8_t *copy = arena_alloc(pc, vlen ? vlen : 1);
    if (!copy) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    memcpy(copy, val, vlen);
    if (e->state != PC_DIRTY && e->state != PC_DELETED) pc->dirty++;
    e->val = copy;
    e->vlen = (uint32_t)vlen;
    e->state = PC_DIRTY;
    return FOLIO_OK;
}

int folio_pcache__del(folio_pcache *pc, folio_txn *t, unsigned dbi, const void *key,
                      size_t klen) {
    pc_entry *e = NULL;
    int rc = lookup(&e, pc, t, dbi, key, klen);
    if (rc < 0) return rc;
    if (e->state == PC_ABSENT || e->state == PC_DELETED)
        return folio_error__set(FOLIO_ENOTFOUND, "delete: no such key");
    if (e->state == PC_CLEAN) pc->dirty++;
    e->state = PC_DELETED;
    e->val = NULL;
    e->vlen = 0;
    return FOLIO_OK;
}

/* A flush sorts copies of each dirty key's first 23 bytes with its dbi, so almost every
 * comparison stays inside the sorted array (keys here are 9 to ~70 bytes and share long
 * prefixes: 'o' + customer + seq, 'i' + kind + "INV-..."; comparing through the entries
 * and their keys in the arena missed the cache twice per comparison on a large flush). */
typedef struct pc_sortkey {
    uint64_t w[3]; /* dbi (8 bits), then key bytes 0..22, big-endian, zero-padded */
    pc_entry *e;
} pc_sortkey;

static void sortkey_make(pc_sortkey *s, pc_entry *e) {
    uint8_t b[24] = {0};
    FOLIO_ASSERT(e->dbi < 256);
    b[0] = (uint8_t)e->dbi;
    memcpy(b + 1, e->key, e->klen < 23 ? e->klen : 23);
    for (int i = 0; i < 3; i++) s->w[i] = folio__get_be64(b + 8 * i);
    s->e = e;
}

/* LMDB's default key order (bytes, then length), within each dbi. */
static int sortkey_cmp(const void *a, const void *b) {
    const pc_sortkey *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x->w[i] != y->w[i]) return x->w[i] < y->w[i] ? -1 : 1;
    /* equal first 23 bytes once zero-padded: the whole keys decide */
    size_t n = x->e->klen < y->e->klen ? x->e->klen : y->e->klen;
    int c = memcmp(x->e->key, y->e->key, n);
    if (c) return c;
    return x->e->klen < y->e->klen ? -1 : x->e->klen > y->e->klen;
}

int folio_pcache__flush(folio_pcache *pc, folio_txn *t) {
    if (!pc || !pc->dirty) return FOLIO_OK;
    if (pc->dirty > pc->order_cap) {
        size_t cap = pc->order_cap ? pc->order_cap : 1024;
        while (cap < pc->dirty) cap *= 2;
        pc_sortkey *o = realloc(pc->order, cap * sizeof *o);
        if (!o) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
        pc->order = o;
        pc->order_cap = cap;
    }
    pc_sortkey *order = pc->order;
    size_t n = 0;
    for (size_t i = 0; i < pc->count; i++)
        if (pc->entries[i].state == PC_DIRTY || pc->entries[i].state == PC_DELETED)
            sortkey_make(&order[n++], &pc->entries[i]);
    FOLIO_ASSERT(n == pc->dirty);
    qsort(order, n, sizeof *order, sortkey_cmp);
    int rc = FOLIO_OK;
    for (size_t i = 0; i < n && rc == FOLIO_OK; i++) {
        pc_entry *e = order[i].e;
        if (e->state == PC_DIRTY) {
            rc = folio_store__put(t, e->dbi, e->key, e->klen, e->val, e->vlen, 0);
            if (rc == FOLIO_OK) e->state = PC_CLEAN;
        } else {
            rc = folio_store__del(t, e->dbi, e->key, e->klen);
            if (rc == FOLIO_ENOTFOUND) rc = FOLIO_OK; /* written and deleted in this txn */
            if (rc == FOLIO_OK) e->state = PC_ABSENT;
        }
    }
    if (rc == FOLIO_OK) pc->dirty = 0;
    return rc;
}

int folio_pcache__over_budget(const folio_pcache *pc) {
    return pc && (pc->arena_bytes > budget_bytes || pc->count > budget_entries);
}
