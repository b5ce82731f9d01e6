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
 * Bulk mode (a projection catch-up, until the next reset): a larger budget at which the
 * catch-up commits, flushes that append keys past a tree's last key, and "fresh" trees
 * (empty when the cache began): every record of one is cached, so a miss is absent.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

enum { PC_CLEAN = 0, PC_DIRTY = 1, PC_ABSENT = 2, PC_DELETED = 3 };

typedef struct {
    uint64_t hash;
    const uint8_t *key;
    const uint8_t *val;
    uint32_t vlen;
    uint16_t klen; /* at most KEY_BYTES_MAX */
    uint8_t dbi;
    uint8_t state;
} pc_entry;
_Static_assert(sizeof(pc_entry) == 32, "an entry is half a cache line");

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
    /* Bulk mode (a projection catch-up, folio_pcache__bulk): its budget, and a flush puts
     * keys past a tree's last key with MDB_APPEND. Off again at reset. */
    int bulk;
    size_t bulk_bytes, bulk_entries;
    /* Bit dbi set: that tree was empty when this cache began and every record of it is
     * here, so a key not cached is absent without asking LMDB. Cleared at reset. */
    uint32_t fresh;
    size_t appends; /* keys this cache put with MDB_APPEND (tests read it) */
    size_t reads;   /* lookups this cache sent to LMDB (tests read it) */
    /* Index + 1 of the entry the last get, put or delete found or made (0: none): a fold
     * reads a record and then writes it back, and the write finds it here without hashing
     * and probing again. */
    size_t memo;
    /* Set by folio_pcache__flush_final (the table is gone): nothing but a flush with
     * nothing to write and a reset may follow. */
    int spent;
};
_Static_assert(FOLIO_DBS_MAX <= 32, "the fresh set is a 32-bit mask of dbis");
_Static_assert(FOLIO_DBS_MAX <= 256, "an entry's dbi is a byte");

/* The helpers of a lookup, inlined into get, put and delete whatever the compiler thinks
 * (gcc -O2 called hash_key, key_eq and lookup: 0.75% more instructions in W1b). */
#define PC_HOT static inline __attribute__((always_inline))

#define CHUNK_BYTES (1u << 20)
#define BULK_CHUNK_BYTES (32u << 20) /* in bulk mode: few chunks, on huge pages */
#define HUGE_HINT_BYTES (4u << 20)   /* blocks from this size ask for huge pages */
#define KEY_BYTES_MAX 511u /* LMDB's largest key (its default build) */
/* A catch-up's budget (the handle's rebuild_cache_bytes, 512 MiB by default) counts all of
 * the cache (footprint): a catch-up ends its write transaction there (engine/projection.c).
 * The 1.25M-event benchmark ledger's projections (2.5M records) take ~330 MiB, so with the
 * default its rebuild writes each tree once, in key order. An entry takes at least 80 bytes
 * of the footprint (entry, slots, sort key): the byte budget binds before the entry count,
 * which only keeps an entry's index within the table's 32 bits. */
#define BULK_ENTRIES_MAX (1u << 31)
/* Past this the cache is written out and emptied between two events: memory stays bounded
 * whatever the transaction's size. */
static size_t budget_bytes = 64u << 20, budget_entries = 1u << 20;
/* Tests only (folio_pcache__set_budget): caps below every handle's bulk budget. */
static size_t bulk_cap_bytes = SIZE_MAX, bulk_cap_entries = SIZE_MAX;

void folio_pcache__set_budget(size_t bytes, size_t entries, size_t bulk_bytes,
                              size_t bulk_entries) {
    budget_bytes = bytes;
    budget_entries = entries;
    bulk_cap_bytes = bulk_bytes;
    bulk_cap_entries = bulk_entries;
}

/* Keys every cache of this process put with MDB_APPEND (tests: a check's cache is private). */
static _Atomic size_t appends_all;

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
    if (pc->bulk) { /* a catch-up's arrays, sized for its budget: give them back */
        free(pc->entries);
        free(pc->order);
        pc->entries = NULL;
        pc->order = NULL;
        pc->cap = pc->order_cap = 0;
    }
    if (pc->bulk || (pc->slot_cap > 65536 && pc->count < pc->slot_cap / 16)) {
        /* a rebuild grew the table: do not clear megabytes for every small transaction */
        free(pc->slots);
        pc->slots = NULL;
        pc->slot_cap = 0;
    } else if (pc->slots) {
        memset(pc->slots, 0, pc->slot_cap * sizeof *pc->slots);
    }
    pc->count = 0;
    pc->memo = 0;
    pc->spent = 0;
    pc->dirty = 0;
    pc->arena_bytes = 0;
    pc->bulk = 0;
    pc->fresh = 0;
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

/* Mix 64 bits (murmur3's finaliser): every input bit reaches the low bits (the slot) and
 * the high 32 (the slot's tag). */
static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

/* A key's hash, eight bytes at a time (FNV-1a, a byte at a time, took ~80 instructions for
 * a 17-byte key, and a rebuild hashes several keys per event). A key under 8 bytes is read
 * as two overlapping 4-byte words, or bytes 0, n / 2 and n - 1 (with its length in the
 * seed, every byte of it is in the word once). */
PC_HOT uint64_t hash_key(unsigned dbi, const void *key, size_t n) {
    const uint8_t *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ull * (dbi + 1) + n;
    if (n < 8) {
        uint64_t w = 0;
        if (n >= 4)
            w = (uint64_t)folio__get_le32(p) << 32 | folio__get_le32(p + n - 4);
        else if (n)
            w = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
        return mix64(h ^ w);
    }
    const uint8_t *last = p + n - 8; /* the last word overlaps the one before it */
    for (; p < last; p += 8) {
        h = (h ^ folio__get_le64(p)) * 0x9fb21c651e98df25ull;
        h ^= h >> 32;
    }
    return mix64(h ^ folio__get_le64(last));
}

/* Whether two keys of n bytes are equal: eight bytes at a time, the last word overlapping
 * the one before it (memcmp was a call and ~12 instructions for every probe that matched a
 * slot's tag). */
PC_HOT int key_eq(const uint8_t *a, const uint8_t *b, size_t n) {
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            if (folio__get_le64(a + i) != folio__get_le64(b + i)) return 0;
        return folio__get_le64(a + n - 8) == folio__get_le64(b + n - 8);
    }
    if (n >= 4)
        return folio__get_le32(a) == folio__get_le32(b) &&
               folio__get_le32(a + n - 4) == folio__get_le32(b + n - 4);
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Ask for transparent huge pages over a large block (a hint; harmless when refused). A
 * rebuild's cache probes hundreds of megabytes at random: with 4 KiB pages nearly every
 * probe also missed the TLB, and faulting its memory in took a tenth of the rebuild. */
static void want_huge_pages(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    if (!p || bytes < HUGE_HINT_BYTES) return;
    uintptr_t from = ((uintptr_t)p + 4095u) & ~(uintptr_t)4095u;
    uintptr_t to = ((uintptr_t)p + bytes) & ~(uintptr_t)4095u;
    if (to > from) (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* A new chunk at the head of the arena with room for n bytes (the spare one if it will do),
 * or NULL when out of memory. */
static __attribute__((noinline)) pc_chunk *arena_grow(folio_pcache *pc, size_t n) {
    pc_chunk *c;
    if (n <= CHUNK_BYTES && pc->spare) {
        c = pc->spare;
        pc->spare = NULL;
    } else {
        size_t chunk = pc->bulk ? BULK_CHUNK_BYTES : CHUNK_BYTES;
        size_t cap = n > chunk ? n : chunk;
        if (!(c = malloc(sizeof *c + cap))) return NULL;
        want_huge_pages(c, sizeof *c + cap);
        c->cap = cap;
    }
    FOLIO_ASSERT(c->cap >= n);
    c->used = 0;
    c->next = pc->chunks;
    pc->chunks = c;
    return c;
}

/* n bytes of the arena (8-byte aligned), valid until the reset. Inlined: a batch takes a
 * key and a value from it for most records it reads or writes. */
PC_HOT void *arena_alloc(folio_pcache *pc, size_t n) {
    pc_chunk *c = pc->chunks;
    if ((!c || c->cap - c->used < n) && !(c = arena_grow(pc, n))) return NULL;
    void *p = c->data + c->used;
    c->used += (n + 7u) & ~(size_t)7u;
    if (c->used > c->cap) c->used = c->cap;
    pc->arena_bytes += n;
    return p;
}

PC_HOT pc_entry *find(folio_pcache *pc, unsigned dbi, const void *key, size_t klen,
                      uint64_t h) {
    if (!pc->slot_cap) return NULL;
    size_t mask = pc->slot_cap - 1;
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t s = pc->slots[i];
        if (!s) return NULL;
        if ((uint32_t)(s >> 32) != tag) continue;
        pc_entry *e = &pc->entries[(uint32_t)s - 1];
        if (e->hash == h && e->dbi == dbi && e->klen == klen && key_eq(e->key, key, klen))
            return e;
    }
}

static int grow_slots(folio_pcache *pc) {
    size_t cap = pc->slot_cap ? pc->slot_cap * 2 : 4096;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    want_huge_pages(slots, cap * sizeof *slots);
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
    if (klen > KEY_BYTES_MAX)
        return folio_error__set(FOLIO_EINVAL, "projection key of %zu bytes (at most %u)", klen,
                                KEY_BYTES_MAX);
    if ((pc->count + 1) * 2 > pc->slot_cap && (rc = grow_slots(pc)) < 0) return rc;
    if (pc->count == pc->cap) { /* by half: a large array grows in place (mremap) */
        size_t cap = pc->cap ? pc->cap + pc->cap / 2 : 4096;
        pc_entry *e = realloc(pc->entries, cap * sizeof *e);
        if (!e) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
        want_huge_pages(e, cap * sizeof *e);
        pc->entries = e;
        pc->cap = cap;
    }
    uint8_t *k = arena_alloc(pc, klen ? klen : 1);
    if (!k) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    memcpy(k, key, klen);
    pc_entry *e = &pc->entries[pc->count];
    *e = (pc_entry){.hash = h, .key = k, .klen = (uint16_t)klen, .dbi = (uint8_t)dbi};
    size_t i = h & (pc->slot_cap - 1);
    while (pc->slots[i]) i = (i + 1) & (pc->slot_cap - 1);
    pc->slots[i] = (h >> 32 << 32) | (uint64_t)(++pc->count);
    *out = e;
    return FOLIO_OK;
}

/* The entry of the last get, put or delete if it is the one for this key, else NULL. */
static inline pc_entry *memo_find(folio_pcache *pc, unsigned dbi, const void *key,
                                  size_t klen) {
    if (!pc->memo) return NULL;
    FOLIO_DEBUG_ASSERT(pc->memo <= pc->count);
    pc_entry *e = &pc->entries[pc->memo - 1];
    if (e->dbi != dbi || e->klen != klen || !key_eq(e->key, key, klen)) return NULL;
    return e;
}

/* A new clean (or absent: val NULL) entry for a key read from LMDB, its value copied. */
static int insert_read(pc_entry **out, folio_pcache *pc, unsigned dbi, const void *key,
                       size_t klen, uint64_t h, const folio_val *val) {
    uint8_t *copy = NULL;
    if (val && !(copy = arena_alloc(pc, val->size ? val->size : 1)))
        return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    int rc = insert(out, pc, dbi, key, klen, h);
    if (rc < 0) return rc;
    if (val) {
        memcpy(copy, val->data, val->size);
        (*out)->val = copy;
        (*out)->vlen = (uint32_t)val->size;
        (*out)->state = PC_CLEAN;
    } else {
        (*out)->state = PC_ABSENT;
    }
    return FOLIO_OK;
}

/* Cache the record (k, v) that a read met on its way (v NULL: k is known absent), unless the
 * cache has an entry for k already (a write waiting there is the truth). */
static int take_met(folio_pcache *pc, unsigned dbi, const folio_val *k, const folio_val *v) {
    pc_entry *e;
    if (k->size > KEY_BYTES_MAX) return FOLIO_OK;
    uint64_t h = hash_key(dbi, k->data, k->size);
    if (find(pc, dbi, k->data, k->size, h)) return FOLIO_OK;
    return insert_read(&e, pc, dbi, k->data, k->size, h, v);
}

/* lookup_miss in "streams", whose records of one stream are neighbours: its stream record
 * (key: the 8-byte stream id), then its per-stream records (the id and more). A miss there
 * reads the stream record and the record after it through one cursor, one descent of the
 * tree, and caches both: a document reads its customer's sums (the first per-stream record)
 * and its stream record, in either order, and each cost a descent of its own. A key further
 * on is then sought from there (the cursor is on its page, most of the time). */
static __attribute__((noinline)) int lookup_miss_stream(pc_entry **out, folio_pcache *pc,
                                                        folio_txn *t, const void *key,
                                                        size_t klen, uint64_t h) {
    const unsigned dbi = FOLIO_DB_STREAMS;
    FOLIO_ASSERT(klen >= 8);
    FOLIO_ASSERT(!(pc->fresh & (1u << dbi)));
    folio_cursor c = {0};
    folio_val k = {0}, v = {0};
    const folio_val head = {key, 8}; /* the key of the stream's record */
    pc_entry *e = NULL;
    pc->reads++;
    int rc = folio_store__cursor_open(&c, t, dbi);
    if (rc == FOLIO_OK) rc = folio_store__cursor_seek(&c, key, 8, &k, &v);
    if (rc == FOLIO_OK && k.size == 8 && memcmp(k.data, key, 8) == 0) {
        rc = take_met(pc, dbi, &k, &v);
        if (rc == FOLIO_OK) rc = folio_store__cursor_next(&c, &k, &v);
    } else if (rc == FOLIO_OK || rc == FOLIO_ITEROVER) { /* no stream record: absent */
        int r2 = take_met(pc, dbi, &head, NULL);
        if (r2 < 0) rc = r2;
    }
    /* (k, v), when rc is FOLIO_OK: the record after the stream record's place */
    if (rc == FOLIO_OK && k.size > 8 && memcmp(k.data, key, 8) == 0)
        rc = take_met(pc, dbi, &k, &v);
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
    if (rc == FOLIO_OK && !(e = find(pc, dbi, key, klen, h))) {
        /* further on in the stream's records: sought from where the cursor is (on their
         * page, most of the time) */
        rc = folio_store__cursor_seek(&c, key, klen, &k, &v);
        int found = rc == FOLIO_OK && k.size == klen && memcmp(k.data, key, klen) == 0;
        if (rc == FOLIO_OK || rc == FOLIO_ITEROVER)
            rc = insert_read(&e, pc, dbi, key, klen, h, found ? &v : NULL);
    }
    folio_store__cursor_close(&c);
    if (rc < 0) return rc;
    FOLIO_ASSERT(e != NULL);
    FOLIO_ASSERT(e->hash == h);
    pc->memo = (size_t)(e - pc->entries) + 1;
    *out = e;
    return FOLIO_OK;
}

/* The entry for a key not in the cache (hash h), read from LMDB into a new entry. *out is
 * NULL for a key of a fresh tree (absent; not worth an entry). Out of line, so that a hit
 * (most lookups) runs through get, put or delete without a call. */
static __attribute__((noinline)) int lookup_miss(pc_entry **out, folio_pcache *pc, folio_txn *t,
                                                 unsigned dbi, const void *key, size_t klen,
                                                 uint64_t h) {
    pc_entry *e;
    FOLIO_DEBUG_ASSERT(find(pc, dbi, key, klen, h) == NULL);
    if (pc->fresh & (1u << dbi)) { /* every record of this tree is cached: absent */
        *out = NULL;
        return FOLIO_OK;
    }
    if (dbi == FOLIO_DB_STREAMS && klen >= 8) return lookup_miss_stream(out, pc, t, key, klen, h);
    folio_val v;
    pc->reads++;
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
    FOLIO_ASSERT(e->hash == h);
    pc->memo = (size_t)(e - pc->entries) + 1;
    *out = e;
    return FOLIO_OK;
}

/* The entry for a key, reading it from LMDB into the cache the first time. *out is NULL
 * for a key of a fresh tree that is not cached (absent; not worth an entry). */
PC_HOT int lookup(pc_entry **out, folio_pcache *pc, folio_txn *t, unsigned dbi,
                  const void *key, size_t klen) {
    FOLIO_ASSERT(!pc->spent);
    uint64_t h = hash_key(dbi, key, klen); /* a read rarely repeats the last key: no memo */
    pc_entry *e = find(pc, dbi, key, klen, h);
    if (!e) return lookup_miss(out, pc, t, dbi, key, klen, h);
    pc->memo = (size_t)(e - pc->entries) + 1;
    *out = e;
    return FOLIO_OK;
}

int folio_pcache__get(folio_val *out, folio_pcache *pc, folio_txn *t, unsigned dbi,
                      const void *key, size_t klen) {
    pc_entry *e = NULL; /* set by lookup when it succeeds (gcc -O3 cannot tell) */
    int rc = lookup(&e, pc, t, dbi, key, klen);
    if (rc < 0) return rc;
    if (!e || e->state == PC_ABSENT || e->state == PC_DELETED) return FOLIO_ENOTFOUND;
    out->data = e->val;
    out->size = e->vlen;
    return FOLIO_OK;
}

size_t folio_pcache__reads(const folio_pcache *pc) { return pc->reads; }

int folio_pcache__put(folio_pcache *pc, unsigned dbi, const void *key, size_t klen,
                      const void *val, size_t vlen) {
    FOLIO_ASSERT(!pc->spent);
    pc_entry *e = memo_find(pc, dbi, key, klen);
    int rc;
    if (!e) {
        uint64_t h = hash_key(dbi, key, klen);
        e = find(pc, dbi, key, klen, h);
        if (!e && (rc = insert(&e, pc, dbi, key, klen, h)) < 0) return rc;
        pc->memo = (size_t)(e - pc->entries) + 1;
    }
    /* A value no longer than the one cached takes its place (a pointer from get is valid
     * only until its key is written): a busy customer's sums, rewritten by each of its
     * documents, do not fill the arena with old copies. val may point into the old one. */
    uint8_t *copy = e->val && vlen <= e->vlen ? (uint8_t *)e->val : NULL;
    if (!copy && !(copy = arena_alloc(pc, vlen ? vlen : 1)))
        return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
    memmove(copy, val, vlen);
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
    if (!e || e->state == PC_ABSENT || e->state == PC_DELETED)
        return folio_error__set(FOLIO_ENOTFOUND, "delete: no such key");
    if (e->state == PC_CLEAN) pc->dirty++;
    e->state = PC_DELETED;
    e->val = NULL;
    e->vlen = 0;
    return FOLIO_OK;
}

/* A flush groups the dirty keys by tree (a counting pass over the dbis) and sorts each
 * tree's copies of each key's first 24 bytes, so almost every comparison stays inside the
 * sorted array (keys here are 9 to ~70 bytes and share long prefixes: customer + 'r' +
 * ~seq, 'i' + kind + "INV-..."; comparing through the entries and their keys in the
 * arena missed the cache twice per comparison on a large flush). Without the dbi in the
 * first word, it holds a stream record's whole stream id: it decides most comparisons. */
typedef struct pc_sortkey {
    uint64_t w[3]; /* key bytes 0..23, big-endian, zero-padded */
    pc_entry *e;
} pc_sortkey;

static void sortkey_make(pc_sortkey *s, pc_entry *e) {
    if (e->klen >= 24) {
        for (int i = 0; i < 3; i++) s->w[i] = folio__get_be64(e->key + 8 * i);
    } else {
        uint8_t b[24] = {0};
        memcpy(b, e->key, e->klen);
        for (int i = 0; i < 3; i++) s->w[i] = folio__get_be64(b + 8 * i);
    }
    s->e = e;
}

/* LMDB's default key order (bytes, then length), within one tree. */
static int sortkey_cmp(const void *a, const void *b) {
    const pc_sortkey *x = a, *y = b;
    FOLIO_DEBUG_ASSERT(x->e->dbi == y->e->dbi);
    for (int i = 0; i < 3; i++)
        if (x->w[i] != y->w[i]) return x->w[i] < y->w[i] ? -1 : 1;
    /* equal first 24 bytes once zero-padded: the whole keys decide */
    size_t n = x->e->klen < y->e->klen ? x->e->klen : y->e->klen;
    int c = memcmp(x->e->key, y->e->key, n);
    if (c) return c;
    return x->e->klen < y->e->klen ? -1 : x->e->klen > y->e->klen;
}

static inline int sortkey_less(const pc_sortkey *x, const pc_sortkey *y) {
    if (x->w[0] != y->w[0]) return x->w[0] < y->w[0];
    if (x->w[1] != y->w[1]) return x->w[1] < y->w[1];
    if (x->w[2] != y->w[2]) return x->w[2] < y->w[2];
    return sortkey_cmp(x, y) < 0;
}

static inline void sortkey_swap(pc_sortkey *a, pc_sortkey *b) {
    pc_sortkey t = *a;
    *a = *b;
    *b = t;
}

/* Sort a flush's keys: quicksort (median of three, Hoare partition) with the comparison
 * inlined, insertion sort below 16 keys, and qsort past `depth` levels, so never worse than
 * n log n. Three times fewer instructions than qsort's merge sort through a function
 * pointer on a rebuild's millions of keys. The keys are distinct. */
static void sort_keys(pc_sortkey *a, size_t n, unsigned depth) {
    while (n > 16) {
        if (depth-- == 0) {
            qsort(a, n, sizeof *a, sortkey_cmp);
            return;
        }
        size_t m = n / 2;
        if (sortkey_less(&a[m], &a[0])) sortkey_swap(&a[m], &a[0]);
        if (sortkey_less(&a[n - 1], &a[0])) sortkey_swap(&a[n - 1], &a[0]);
        if (sortkey_less(&a[n - 1], &a[m])) sortkey_swap(&a[n - 1], &a[m]);
        /* a[0] <= pivot <= a[n - 1] stop both scans; the pivot at m < n - 1 makes the
         * first scan from the left stop at or before m, so both parts are non-empty */
        pc_sortkey pivot = a[m];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (sortkey_less(&a[i], &pivot)) i++;
            while (sortkey_less(&pivot, &a[j])) j--;
            if (i >= j) break;
            sortkey_swap(&a[i], &a[j]);
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j + 1, n): recurse into the smaller part, loop on the other */
        size_t left = j + 1;
        FOLIO_ASSERT(left > 0 && left < n);
        if (left < n - left) {
            sort_keys(a, left, depth);
            a += left;
            n -= left;
        } else {
            sort_keys(a + left, n - left, depth);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        pc_sortkey x = a[i];
        size_t j = i;
        for (; j > 0 && sortkey_less(&x, &a[j - 1]); j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* LMDB's default key order: bytes, then length. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

/* The last key of the tree cursor c walks, copied (a write may move LMDB's copy); *empty = 1
 * and no key when the tree is empty. Leaves c on the last key. */
static int last_key(uint8_t *buf, size_t *bytes, int *empty, folio_cursor *c) {
    folio_val k, v;
    int rc = folio_store__cursor_last(c, &k, &v);
    *empty = rc == FOLIO_ITEROVER;
    *bytes = 0;
    if (rc == FOLIO_OK) {
        FOLIO_ASSERT(k.size <= KEY_BYTES_MAX);
        memcpy(buf, k.data, k.size);
        *bytes = k.size;
    }
    return rc == FOLIO_ITEROVER ? FOLIO_OK : rc;
}

/* Write the dirty entries in key order, each tree through one cursor kept across its keys:
 * LMDB starts each put from the page the last one left the cursor on instead of descending
 * from the root. In bulk mode a tree's keys past its last key go with MDB_APPEND (LMDB goes
 * to the last leaf instead of searching the tree by key, and fills each page before it
 * starts the next); a rebuild into an emptied tree appends all of them. */
int folio_pcache__flush(folio_pcache *pc, folio_txn *t) {
    if (!pc || !pc->dirty) return FOLIO_OK;
    if (pc->dirty > pc->order_cap) {
        size_t cap = pc->order_cap + pc->order_cap / 2;
        if (cap < pc->dirty) cap = pc->dirty;
        pc_sortkey *o = realloc(pc->order, cap * sizeof *o);
        if (!o) return folio_error__set(FOLIO_ERROR, "projection cache: out of memory");
        want_huge_pages(o, cap * sizeof *o);
        pc->order = o;
        pc->order_cap = cap;
    }
    pc_sortkey *order = pc->order;
    size_t n = pc->dirty, start[FOLIO_DBS_MAX + 1] = {0}, next[FOLIO_DBS_MAX];
    for (size_t i = 0; i < pc->count; i++) /* each tree's dirty keys, then where they go */
        if (pc->entries[i].state == PC_DIRTY || pc->entries[i].state == PC_DELETED)
            start[pc->entries[i].dbi + 1]++;
    for (unsigned d = 0; d < FOLIO_DBS_MAX; d++) {
        start[d + 1] += start[d];
        next[d] = start[d];
    }
    FOLIO_ASSERT(start[FOLIO_DBS_MAX] == n);
    for (size_t i = 0; i < pc->count; i++)
        if (pc->entries[i].state == PC_DIRTY || pc->entries[i].state == PC_DELETED)
            sortkey_make(&order[next[pc->entries[i].dbi]++], &pc->entries[i]);
    for (unsigned d = 0; d < FOLIO_DBS_MAX; d++) {
        size_t m = start[d + 1] - start[d];
        FOLIO_ASSERT(next[d] == start[d + 1]);
        if (m > 1) sort_keys(order + start[d], m, 2 * (unsigned)(64 - __builtin_clzll(m)));
    }
    int rc = FOLIO_OK;
    unsigned dbi = FOLIO_DBS_MAX;
    size_t appends_before = pc->appends;
    folio_cursor c = {0}; /* on tree dbi */
    int append = 0; /* the keys from here on of this dbi sort after its tree's last key */
    uint8_t last[KEY_BYTES_MAX];
    size_t last_bytes = 0;
    for (size_t i = 0; i < n && rc == FOLIO_OK; i++) {
        pc_entry *e = order[i].e;
        /* key order is not the entries' order: ask for the entries and values ahead */
        if (i + 16 < n) __builtin_prefetch(order[i + 16].e);
        if (i + 8 < n) {
            __builtin_prefetch(order[i + 8].e->key);
            __builtin_prefetch(order[i + 8].e->val);
        }
        if (e->dbi != dbi) {
            FOLIO_ASSERT(dbi == FOLIO_DBS_MAX || e->dbi > dbi); /* each tree once */
            folio_store__cursor_close(&c);
            dbi = e->dbi;
            append = 0;
            if ((rc = folio_store__cursor_open(&c, t, dbi)) < 0) break;
            if (pc->bulk) rc = last_key(last, &last_bytes, &append, &c);
            if (rc < 0) break;
        }
        if (pc->bulk && !append) append = key_cmp(e->key, e->klen, last, last_bytes) > 0;
        if (e->state == PC_DIRTY) {
            rc = folio_store__cursor_put(&c, t, e->key, e->klen, e->val, e->vlen,
                                         append ? FOLIO_PUT_APPEND : 0);
            if (rc == FOLIO_OK) e->state = PC_CLEAN;
            pc->appends += append;
        } else if (append) { /* past the tree's last key: not there */
            e->state = PC_ABSENT;
        } else {
            rc = folio_store__cursor_del(&c, t, e->key, e->klen);
            if (rc == FOLIO_ENOTFOUND) rc = FOLIO_OK; /* written and deleted in this txn */
            if (rc == FOLIO_OK) e->state = PC_ABSENT;
        }
    }
    folio_store__cursor_close(&c);
    atomic_fetch_add_explicit(&appends_all, pc->appends - appends_before, memory_order_relaxed);
    if (rc == FOLIO_OK) pc->dirty = 0;
    return rc;
}

/* The last flush of a bulk transaction, right before its commit: the cache is not looked up
 * again before its reset, so its table goes first. The flush is when a catch-up's memory
 * peaks (the sort array, then LMDB's dirty pages, on top of the cache), and the table is
 * a fifth of the cache (64 MiB of the benchmark rebuild's ~330 MiB). */
int folio_pcache__flush_final(folio_pcache *pc, folio_txn *t) {
    if (!pc) return FOLIO_OK;
    free(pc->slots);
    pc->slots = NULL;
    pc->slot_cap = 0;
    pc->spent = 1;
    return folio_pcache__flush(pc, t);
}

/* What the cache takes: its arena, entries and table, and the sort array a flush of every
 * entry would take. */
static size_t footprint(const folio_pcache *pc) {
    return pc->arena_bytes + pc->cap * sizeof(pc_entry) + pc->slot_cap * sizeof(uint64_t) +
           pc->count * sizeof(pc_sortkey);
}

int folio_pcache__over_budget(const folio_pcache *pc) {
    if (pc && pc->bulk) {
        size_t f = footprint(pc);
        return f > pc->bulk_bytes || f > bulk_cap_bytes || pc->count > pc->bulk_entries ||
               pc->count > bulk_cap_entries;
    }
    return pc && (pc->arena_bytes > budget_bytes || pc->count > budget_entries);
}

size_t folio_pcache__appends(const folio_pcache *pc) { return pc->appends; }

uint64_t folio_pcache__hash(unsigned dbi, const void *key, size_t klen) {
    return hash_key(dbi, key, klen);
}

size_t folio_pcache__footprint(const folio_pcache *pc) { return footprint(pc); }

size_t folio_pcache__appends_all(void) {
    return atomic_load_explicit(&appends_all, memory_order_relaxed);
}

void folio_pcache__bulk(folio_pcache *pc, size_t bulk_bytes) {
    FOLIO_ASSERT(pc != NULL);
    FOLIO_ASSERT(bulk_bytes > 0);
    pc->bulk = 1;
    pc->bulk_bytes = bulk_bytes;
    pc->bulk_entries = bulk_bytes / 32 < BULK_ENTRIES_MAX ? bulk_bytes / 32 : BULK_ENTRIES_MAX;
}

int folio_pcache__claim_fresh(folio_pcache *pc, folio_txn *t, unsigned dbi) {
    uint64_t entries = 0;
    FOLIO_ASSERT(pc != NULL);
    FOLIO_ASSERT(dbi < FOLIO_DBS_MAX);
    /* what it holds of that tree can only be writes waiting (the records of a tree emptied
     * after they were cached, folio_log__stream_records_to_cache) */
    for (size_t i = 0; i < pc->count; i++)
        FOLIO_ASSERT(pc->entries[i].dbi != dbi || pc->entries[i].state == PC_DIRTY);
    int rc = folio_store__entries(&entries, t, dbi);
    if (rc < 0) return rc;
    if (entries == 0) pc->fresh |= 1u << dbi;
    return FOLIO_OK;
}
