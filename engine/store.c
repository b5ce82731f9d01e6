/*
 * engine/store.c - the LMDB environment: open, transactions, map growth, error translation.
 * The only includer of lmdb.h. One environment in one file (MDB_NOSUBDIR), mode 0600.
 * Sub-databases: "meta", "log", "streams", "idem", "scratch" and "proj.<name>" per projection,
 * and root records in LMDB's main database (FOLIO_DB_ROOT; docs/FORMAT.md). MDB_WRITEMAP is
 * never used: a full disk must fail a write, not SIGBUS.
 *
 * Map growth: mdb_env_set_mapsize() needs no live transaction in this process, so every
 * transaction holds `map_lock` shared for its lifetime and growth takes it exclusively.
 * Nothing in folio keeps a transaction open between API calls (iterators copy out batches),
 * so growth only waits for calls already running. The read transactions a handle keeps for
 * reuse are reset between reads: they hold neither a snapshot nor `map_lock`.
 * A read transaction is used only once its snapshot is the commit its id names (read_start).
 * Invariants: every live folio_txn holds map_lock shared; dbi[] is filled before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Read transactions kept for reuse (see folio_store__read_begin): at most this many per
 * handle, each holding one of LMDB's reader slots (126 by default, shared by every process
 * on the ledger) while it waits reset; readers beyond them begin and abort as before. */
#define READ_SPARES_MAX 4u

/* A read transaction kept for reuse: reset (pinning no snapshot) while it waits in the
 * handle's list, renewed by the next read, and the cursors its users closed, one per
 * sub-database, renewed with it (LMDB allocates a cursor on every open). Only the thread
 * that took it from the list touches it until it is put back. */
struct folio_read_slot {
    MDB_txn *txn; /* NULL: none begun yet (or dropped after a failed renew) */
    MDB_cursor *idle[FOLIO_DBS_MAX];
};

/*
 * The appends of a write transaction into one tree (folio_store__append), and what they tell
 * about the tree's last leaf. An MDB_APPEND put searches the tree from the root to its last
 * leaf every time in LMDB 0.9.24 (mdb_cursor_last redoes the search even through a cursor
 * that is there), about 600 instructions per event of the log; a plain put through a cursor
 * on the last leaf finds its place there with two key comparisons. Only where the new node
 * does not fit does the flag matter: MDB_APPEND starts a new leaf with the new node alone
 * (full pages), a plain put would split the leaf and leave one node fewer on it. So the
 * tail tracks the last leaf's free bytes from a split it saw (the leaf count of the tree
 * grew by one on an MDB_APPEND put: the new leaf holds that node alone) and puts plainly
 * while the next node fits, with MDB_APPEND otherwise. LMDB's accounting is modelled below;
 * a put that does not do what the model said (a split where none was due, or none where
 * one was) only makes the tail unknown until the next split, and costs a page one node of
 * its fill, never a key out of place: a plain put is made only of a key past the last one
 * this tail put, and with MDB_NOOVERWRITE.
 */
struct folio_tail {
    MDB_cursor *cur;   /* on the last key put (NULL: none opened in this transaction) */
    unsigned dbi;      /* the tree it appends to */
    int known;         /* free_bytes is the last leaf's */
    size_t free_bytes; /* bytes left on the last leaf (LMDB's SIZELEFT) */
    uint64_t leaf_pages; /* the tree's leaf pages after the last put */
    uint8_t last[16];  /* the last key put, for the order check */
    size_t last_bytes;
    uint64_t plain;    /* puts made without MDB_APPEND (tests read it) */
};

struct folio_store {
    MDB_env *env;
    MDB_dbi dbi[FOLIO_DBS_MAX];
    uint8_t absent[FOLIO_DBS_MAX]; /* read-only open of a ledger older than this projection */
    unsigned db_count;
    pthread_rwlock_t map_lock;
    int read_only;
    dev_t dev;
    ino_t ino;
    pid_t pid;        /* the process that opened it: a forked child may open the file again */
    unsigned write_txns; /* write transactions begun (under the handle's write lock) */
    /* The write transaction in progress (NULL: none), and the cursors its users closed, one
     * per sub-database, kept for the next user: LMDB allocates a cursor on every open, and
     * a write allocates nothing per command once warm (tests/alloc). Only the thread that
     * began the write transaction touches them (LMDB's rule for write transactions). */
    MDB_txn *write_mdb;
    MDB_cursor *idle[FOLIO_DBS_MAX];
    struct folio_tail tail; /* the write transaction's appends (folio_store__append) */
    unsigned page_bytes;    /* LMDB's page size, read at open */
    /* Read transactions kept for reuse: slot[free[0 .. free_count)] are not in use. */
    pthread_mutex_t read_lock;
    struct folio_read_slot slot[READ_SPARES_MAX];
    unsigned free_slot[READ_SPARES_MAX], free_count;
    uint64_t read_txns_begun;     /* read transactions begun with mdb_txn_begin (tests) */
    uint64_t read_cursors_opened; /* read_cursor_open's cursors not kept ones (tests) */
    uint64_t read_restarts;       /* read starts whose snapshot was ahead of its id (tests) */
    char *path;
    struct folio_store *next_open; /* registry of open ledgers in this process */
};

static inline int key_order(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* One environment per file per process (LMDB's rule: closing a second handle on the same
 * file would drop the first one's POSIX locks). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static folio_store *registry_head;

/* Test hook: when positive, the N-th following put of this thread fails as an I/O error
 * would (tests/engine: atomicity under an injected failure). Zero in production. */
static _Thread_local uint64_t inject_put_failure;
void folio_store__inject_put_failure(uint64_t nth) { inject_put_failure = nth; }

/* The store whose write transaction this thread began (NULL: none). */
static _Thread_local folio_store *writing;

static const char *const core_names[] = {"meta", "log", "streams", "idem", "scratch", "(main)"};
static void db_name(char *buf, size_t cap, unsigned i);

/* Translate an LMDB or errno code into a folio code with a message naming the operation. */
static int xlate(int mrc, const char *op) {
    switch (mrc) {
    case MDB_SUCCESS: return FOLIO_OK;
    case MDB_NOTFOUND: return FOLIO_ENOTFOUND;
    case MDB_MAP_FULL: return FOLIO__EMAPFULL;
    case MDB_TXN_FULL:
        return folio_error__set(FOLIO_ELIMIT, "%s: too many changes in one transaction", op);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return folio_error__set(FOLIO_ECORRUPT, "%s: ledger file is corrupted (%s)", op,
                                mdb_strerror(mrc));
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return folio_error__set(FOLIO_EFORMAT, "%s: not a folio ledger (%s)", op,
                                mdb_strerror(mrc));
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EROFS:
        return folio_error__set(FOLIO_EFULL, "%s: disk full or unwritable (%s)", op,
                                strerror(mrc));
    default:
        return folio_error__set(FOLIO_ERROR, "%s: %s", op, mdb_strerror(mrc));
    }
}

/* MDB_MAP_RESIZED: another process grew the map; adopt its size (needs the exclusive lock). */
static int adopt_map_size(folio_store *s) {
    pthread_rwlock_wrlock(&s->map_lock);
    int mrc = mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->map_lock);
    return xlate(mrc, "adopt map size");
}

#define READER_CHECK_EVERY 64u

/* Test hook: called (with its argument) each time read_start begins a read again, in the
 * thread that reads. NULL in production. */
static _Thread_local void (*read_restart_hook)(void *);
static _Thread_local void *read_restart_arg;
void folio_store__on_read_restart(void (*hook)(void *), void *arg) {
    read_restart_hook = hook;
    read_restart_arg = arg;
}

/* A read that keeps finding its snapshot ahead of its id gives up after this many starts:
 * each one means a writer committed twice while this thread was between two instructions
 * of LMDB's mdb_txn_renew0, so it takes a thread that is preempted at that point again and
 * again (or commits that do not wait for the disk, which folio does not use). */
#define READ_START_RETRY_MAX 64u

/*
 * Begin (*txn NULL) or renew (*txn a reset read transaction) a read transaction whose
 * snapshot is the commit its id names. LMDB 0.9.24's mdb_txn_renew0 reads the last published
 * commit id L (mti_txnid, in the lock file), then copies the roots from meta page L % 2. If
 * the reading thread is preempted between the two, a writer can commit L + 1 and write the
 * meta page of L + 2 over that same page: the transaction then reads commit L + 2 (or a mix
 * of the two pages) under the id L. Commit L + 2 is not published yet (LMDB sets mti_txnid
 * only after the meta page's O_DSYNC write has reached the disk), so a read that begins next
 * gets L + 1, older than what the first one saw: the log iterator read its head in the first
 * and its batch in the second and reported a seq missing (tests/api/concurrency.c, threads
 * sharing a handle), and history's head kept per id (customer_query.c) could be another
 * snapshot's. Meta page L % 2 holds L, then L + 2, L + 4, ... (L + 2 is written after L + 1),
 * so a snapshot ahead of its id means the newest meta page (mdb_env_info's me_last_txnid) is
 * at least L + 2 after the copy; then the transaction is reset and renewed, reading a new id.
 * A read during which two commits end merely starts again (rare: each commit waits for the
 * disk). A transaction begun here is left NULL on failure, a renewed one reset. Returns an
 * LMDB code, or EAGAIN when READ_START_RETRY_MAX starts in a row were ahead.
 */
static int read_start(folio_store *s, MDB_txn **txn) {
    const int begun_here = *txn == NULL;
    for (unsigned attempt = 0; attempt < READ_START_RETRY_MAX; attempt++) {
        int mrc = *txn ? mdb_txn_renew(*txn) : mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
        if (mrc != MDB_SUCCESS) {
            if (begun_here && *txn) mdb_txn_abort(*txn); /* its renew failed: reset, valid */
            if (begun_here) *txn = NULL;
            return mrc;
        }
        /* The meta pages are read after the copy renew made of one of them (loads in order) */
        atomic_thread_fence(memory_order_acquire);
        MDB_envinfo info;
        mdb_env_info(s->env, &info);
        uint64_t id = (uint64_t)mdb_txn_id(*txn);
        if ((uint64_t)info.me_last_txnid < id + 2) return MDB_SUCCESS;
        mdb_txn_reset(*txn);
        pthread_mutex_lock(&s->read_lock);
        s->read_restarts++;
        pthread_mutex_unlock(&s->read_lock);
        if (read_restart_hook) read_restart_hook(read_restart_arg);
    }
    if (begun_here) {
        mdb_txn_abort(*txn);
        *txn = NULL;
    }
    return EAGAIN;
}

/* read_start's failures: EAGAIN is its own, anything else LMDB's. */
static int read_start_xlate(int mrc, const char *op) {
    if (mrc == EAGAIN)
        return folio_error__set(FOLIO_ERROR,
                                "%s: LMDB gave a snapshot ahead of its transaction id %u times "
                                "in a row (a writer committed twice while each read began)",
                                op, READ_START_RETRY_MAX);
    return xlate(mrc, op);
}

static int txn_begin(folio_txn *t, folio_store *s, int write) {
    FOLIO_ASSERT(t != NULL);
    FOLIO_ASSERT(s != NULL);
    if (write && s->read_only)
        return folio_error__set(FOLIO_EINVAL, "ledger was opened read-only");
    /* A reader that crashed inside a transaction keeps its slot, and the pages it saw stay
     * in use: the file would grow while this process writes. Clear such slots now and then
     * (one pass over the reader table and a kill(pid, 0) per used slot). */
    if (write && (++s->write_txns % READER_CHECK_EVERY) == 0) {
        int dead = 0;
        mdb_reader_check(s->env, &dead);
    }
    for (unsigned attempt = 0; attempt < FOLIO_GROW_RETRY_MAX; attempt++) {
        MDB_txn *txn = NULL;
        pthread_rwlock_rdlock(&s->map_lock);
        int mrc = write ? mdb_txn_begin(s->env, NULL, 0, &txn) : read_start(s, &txn);
        if (mrc == MDB_SUCCESS) {
            t->mdb = txn;
            t->store = s;
            t->write = write;
            t->writes = 0;
            t->slot = NULL;
            if (write) {
                s->write_mdb = txn;
                writing = s;
            }
            return FOLIO_OK;
        }
        pthread_rwlock_unlock(&s->map_lock);
        if (mrc != MDB_MAP_RESIZED)
            return write ? xlate(mrc, "begin write") : read_start_xlate(mrc, "begin read");
        int rc = adopt_map_size(s);
        if (rc < 0) return rc;
    }
    return folio_error__set(FOLIO_ERROR, "begin: the map kept being resized by other processes");
}

static void read_release(folio_store *s, struct folio_read_slot *r);

/* Drop a kept read transaction that is reset or was never begun, and its cursors. */
static void read_slot_drop(struct folio_read_slot *r) {
    for (unsigned i = 0; i < FOLIO_DBS_MAX; i++) {
        if (r->idle[i]) mdb_cursor_close(r->idle[i]);
        r->idle[i] = NULL;
    }
    if (r->txn) mdb_txn_abort(r->txn); /* valid on a reset read transaction */
    r->txn = NULL;
}

/*
 * Begin a read transaction. A read takes one of the handle's kept transactions when one is
 * free and renews it (mdb_txn_renew): no allocation and no lock of LMDB's reader table,
 * whose slot the kept transaction still owns (MDB_NOTLS ties slots to transactions, not
 * threads, so a kept transaction may serve any thread, one at a time). A kept transaction
 * is reset when its read ends (folio_store__read_end), so between reads it pins no
 * snapshot and no pages; it holds no map_lock either, so the map can grow meanwhile
 * (LMDB allows mdb_env_set_mapsize with reset read transactions, and renew reads the new
 * map's meta). A renew that fails for any reason but a resized map drops the kept
 * transaction and begins a new one. When every kept transaction is in use, the read
 * begins and aborts a transaction of its own, as before.
 */
int folio_store__read_begin(folio_txn *t, folio_store *s) {
    struct folio_read_slot *r = NULL;
    pthread_mutex_lock(&s->read_lock);
    if (s->free_count > 0) r = &s->slot[s->free_slot[--s->free_count]];
    pthread_mutex_unlock(&s->read_lock);
    t->slot = NULL;
    if (r && r->txn) {
        for (unsigned attempt = 0; attempt < FOLIO_GROW_RETRY_MAX; attempt++) {
            pthread_rwlock_rdlock(&s->map_lock);
            int mrc = read_start(s, &r->txn);
            if (mrc == MDB_SUCCESS) {
                t->mdb = r->txn;
                t->store = s;
                t->write = 0;
                t->writes = 0;
                t->slot = r;
                return FOLIO_OK;
            }
            pthread_rwlock_unlock(&s->map_lock);
            if (mrc != MDB_MAP_RESIZED) break;
            int rc = adopt_map_size(s); /* the transaction stays reset: renew it again */
            if (rc < 0) {
                read_release(s, r);
                return rc;
            }
        }
        read_slot_drop(r);
    }
    int rc = txn_begin(t, s, 0);
    if (rc == FOLIO_OK) {
        pthread_mutex_lock(&s->read_lock);
        s->read_txns_begun++;
        pthread_mutex_unlock(&s->read_lock);
    }
    if (rc == FOLIO_OK && r) {
        r->txn = t->mdb;
        t->slot = r;
    } else if (r) {
        read_release(s, r);
    }
    return rc;
}

int folio_store__write_begin(folio_txn *t, folio_store *s) { return txn_begin(t, s, 1); }

/* Put a kept read transaction (reset, or none) back in the handle's list. */
static void read_release(folio_store *s, struct folio_read_slot *r) {
    unsigned index = (unsigned)(r - s->slot);
    FOLIO_ASSERT(index < READ_SPARES_MAX);
    pthread_mutex_lock(&s->read_lock);
    FOLIO_ASSERT(s->free_count < READ_SPARES_MAX);
    s->free_slot[s->free_count++] = index;
    pthread_mutex_unlock(&s->read_lock);
}

/* End a read transaction: a kept one is reset (it pins nothing from here on) and put back
 * for the next read, any other is aborted. Its cursors were closed before. */
void folio_store__read_end(folio_txn *t) {
    FOLIO_ASSERT(t->mdb != NULL);
    FOLIO_ASSERT(!t->write);
    struct folio_read_slot *r = t->slot;
    if (r) {
        FOLIO_ASSERT(r->txn == t->mdb);
        mdb_txn_reset(t->mdb);
    } else {
        mdb_txn_abort(t->mdb);
    }
    t->mdb = NULL;
    t->slot = NULL;
    pthread_rwlock_unlock(&t->store->map_lock);
    if (r) read_release(t->store, r);
}

/* Before the environment closes: drop every kept read transaction (none may be in use:
 * closing a handle that another thread still reads from is the caller's error). */
static void read_slots_drop(folio_store *s) {
    FOLIO_ASSERT(s->free_count == READ_SPARES_MAX);
    for (unsigned i = 0; i < READ_SPARES_MAX; i++) read_slot_drop(&s->slot[i]);
}

uint64_t folio_store__txn_id(const folio_txn *t) {
    FOLIO_ASSERT(t->mdb != NULL);
    return (uint64_t)mdb_txn_id(t->mdb);
}

/* mdb_reader_list's line per used reader slot: "pid thread txnid", txnid "-" for a slot
 * whose transaction is reset. */
static int count_held(const char *msg, void *ctx) {
    int pid = 0;
    char txnid[32];
    if (sscanf(msg, "%d %*x %31s", &pid, txnid) == 2 && pid == (int)getpid() &&
        strcmp(txnid, "-") != 0)
        ++*(unsigned *)ctx;
    return 0;
}

uint64_t folio_store__read_restarts(folio_store *s) {
    pthread_mutex_lock(&s->read_lock);
    uint64_t n = s->read_restarts;
    pthread_mutex_unlock(&s->read_lock);
    return n;
}

unsigned folio_store__snapshots_held(folio_store *s) {
    unsigned n = 0;
    mdb_reader_list(s->env, count_held, &n);
    return n;
}

void folio_store__read_counts(uint64_t *txns_begun, uint64_t *cursors_opened, folio_store *s) {
    pthread_mutex_lock(&s->read_lock);
    *txns_begun = s->read_txns_begun;
    *cursors_opened = s->read_cursors_opened;
    pthread_mutex_unlock(&s->read_lock);
}

/* Before a write transaction ends: close the cursors kept for it. */
static void write_end(folio_store *s) {
    for (unsigned i = 0; i < FOLIO_DBS_MAX; i++) {
        if (s->idle[i]) mdb_cursor_close(s->idle[i]);
        s->idle[i] = NULL;
    }
    if (s->tail.cur) mdb_cursor_close(s->tail.cur);
    s->tail.cur = NULL;
    s->tail.known = 0;
    s->write_mdb = NULL;
    if (writing == s) writing = NULL;
}

/* A write into tree dbi other than folio_store__append's: the tail no longer knows that
 * tree's last leaf or last key, so its next append goes with MDB_APPEND (checked by LMDB). */
static inline void tail_touched(folio_store *s, unsigned dbi) {
    if (s->tail.cur && s->tail.dbi == dbi) s->tail.known = 0;
}

/* The same for a write through cursor c (of the write transaction). */
static inline void tail_touched_mdb(folio_store *s, MDB_cursor *c) {
    if (s->tail.cur && mdb_cursor_dbi(c) == s->dbi[s->tail.dbi]) s->tail.known = 0;
}

int folio_store__commit(folio_txn *t) {
    FOLIO_ASSERT(t->mdb != NULL);
    if (t->write) write_end(t->store);
    int mrc = mdb_txn_commit(t->mdb);
    t->mdb = NULL;
    pthread_rwlock_unlock(&t->store->map_lock);
    return xlate(mrc, "commit");
}

void folio_store__abort(folio_txn *t) {
    if (t->mdb == NULL) return;
    if (t->write) write_end(t->store);
    mdb_txn_abort(t->mdb);
    t->mdb = NULL;
    pthread_rwlock_unlock(&t->store->map_lock);
}

/* Double the map (up to FOLIO_MAP_BYTES_MAX). The caller holds no transaction. */
int folio_store__grow(folio_store *s) {
    MDB_envinfo info;
    int rc = FOLIO_OK, dead = 0;
    mdb_reader_check(s->env, &dead); /* pages pinned by crashed readers may be all it needs */
    pthread_rwlock_wrlock(&s->map_lock);
    mdb_env_info(s->env, &info);
    uint64_t cur = info.me_mapsize;
    if (cur >= FOLIO_MAP_BYTES_MAX) {
        rc = folio_error__set(FOLIO_EFULL, "ledger reached its largest map size (%llu bytes)",
                              (unsigned long long)cur);
    } else {
        uint64_t next = cur * 2 > FOLIO_MAP_BYTES_MAX ? FOLIO_MAP_BYTES_MAX : cur * 2;
        rc = xlate(mdb_env_set_mapsize(s->env, (size_t)next), "grow map");
        if (rc == FOLIO_OK) {
            mdb_env_info(s->env, &info);
            FOLIO_ASSERT(info.me_mapsize >= next);
        }
    }
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

/* A projection database a read-only open did not find: the ledger predates it. */
static int absent_db(unsigned dbi) {
    char name[64];
    db_name(name, sizeof name, dbi);
    return folio_error__set(FOLIO_EFORMAT,
                            "ledger has no '%s' database yet (written by an older folio): open "
                            "it for writing once to build it",
                            name);
}

int folio_store__get(folio_val *out, folio_txn *t, unsigned dbi, const void *key, size_t klen) {
    FOLIO_ASSERT(dbi < t->store->db_count);
    if (t->store->absent[dbi]) return absent_db(dbi);
    MDB_val k = {klen, (void *)key}, v;
    int mrc = mdb_get(t->mdb, t->store->dbi[dbi], &k, &v);
    if (mrc != MDB_SUCCESS) return xlate(mrc, "get");
    out->data = v.mv_data;
    out->size = v.mv_size;
    return FOLIO_OK;
}

int folio_store__put(folio_txn *t, unsigned dbi, const void *key, size_t klen, const void *val,
                     size_t vlen, unsigned flags) {
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(dbi < t->store->db_count);
    t->writes++;
    tail_touched(t->store, dbi);
    if (inject_put_failure && --inject_put_failure == 0)
        return folio_error__set(FOLIO_ERROR, "put: injected failure");
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_put(t->mdb, t->store->dbi[dbi], &k, &v,
                      (flags & FOLIO_PUT_APPEND) ? MDB_APPEND : 0);
    if (mrc == MDB_KEYEXIST)
        return folio_error__set(FOLIO_ERROR, "put: append key is not past the last key");
    return xlate(mrc, "put");
}

/* A put through cursor c of transaction t, kept by the caller across many puts into one
 * tree in key order: LMDB starts from the cursor's page instead of descending from the root
 * (and searching its dirty-page list at every level) when the key falls on that page, and
 * an MDB_APPEND put goes straight to the last leaf the cursor is already on. The cursor is
 * left on the key put. */
int folio_store__cursor_put(folio_cursor *c, folio_txn *t, const void *key, size_t klen,
                            const void *val, size_t vlen, unsigned flags) {
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(c->mdb != NULL);
    FOLIO_DEBUG_ASSERT(mdb_cursor_txn(c->mdb) == t->mdb);
    t->writes++;
    tail_touched_mdb(t->store, c->mdb);
    if (inject_put_failure && --inject_put_failure == 0)
        return folio_error__set(FOLIO_ERROR, "put: injected failure");
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_cursor_put(c->mdb, &k, &v, (flags & FOLIO_PUT_APPEND) ? MDB_APPEND : 0);
    if (mrc == MDB_KEYEXIST)
        return folio_error__set(FOLIO_ERROR, "put: append key is not past the last key");
    return xlate(mrc, "put");
}

/* LMDB 0.9's page layout (mdb.c): a 16-byte page header (PAGEHDRSZ), and per leaf node an
 * 8-byte node header (NODESIZE) before its key and data, rounded up to even, plus a 2-byte
 * index; a node larger than the largest node (me_nodemax, from MDB_MINKEYS 2) keeps its data
 * on overflow pages. */
#define LMDB_PAGE_HEADER_BYTES 16u
#define LMDB_NODE_HEADER_BYTES 8u
#define LMDB_INDEX_BYTES 2u

int folio_store__append(folio_txn *t, unsigned dbi, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    folio_store *s = t->store;
    struct folio_tail *tl = &s->tail;
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(t->mdb == s->write_mdb);
    FOLIO_ASSERT(dbi < s->db_count);
    FOLIO_ASSERT(klen >= 1 && klen <= sizeof tl->last);
    FOLIO_ASSERT(s->page_bytes >= 512); /* LMDB's smallest page size */
    t->writes++;
    if (inject_put_failure && --inject_put_failure == 0)
        return folio_error__set(FOLIO_ERROR, "put: injected failure");
    MDB_stat st;
    int mrc;
    if (tl->cur && tl->dbi != dbi) { /* another tree: start over */
        mdb_cursor_close(tl->cur);
        tl->cur = NULL;
    }
    if (!tl->cur) {
        if ((mrc = mdb_cursor_open(t->mdb, s->dbi[dbi], &tl->cur)) != MDB_SUCCESS ||
            (mrc = mdb_stat(t->mdb, s->dbi[dbi], &st)) != MDB_SUCCESS) {
            if (tl->cur) mdb_cursor_close(tl->cur);
            tl->cur = NULL;
            return xlate(mrc, "put");
        }
        tl->dbi = dbi;
        tl->known = 0;
        tl->leaf_pages = st.ms_leaf_pages;
    }
    const size_t node = LMDB_NODE_HEADER_BYTES + klen + vlen;
    const size_t node_max =
        (((s->page_bytes - LMDB_PAGE_HEADER_BYTES) / 2u) & ~(size_t)1u) - LMDB_INDEX_BYTES;
    const size_t need = ((node + 1u) & ~(size_t)1u) + LMDB_INDEX_BYTES; /* mdb_leaf_size */
    const int plain = tl->known && node <= node_max && need <= tl->free_bytes &&
                      key_order(key, klen, tl->last, tl->last_bytes) > 0;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    mrc = mdb_cursor_put(tl->cur, &k, &v, plain ? MDB_NOOVERWRITE : MDB_APPEND);
    if (mrc == MDB_SUCCESS) mrc = mdb_stat(t->mdb, s->dbi[dbi], &st);
    if (mrc != MDB_SUCCESS) {
        tl->known = 0;
        if (mrc == MDB_KEYEXIST)
            return folio_error__set(FOLIO_ERROR, "put: append key is not past the last key");
        return xlate(mrc, "put");
    }
    const int split = st.ms_leaf_pages != tl->leaf_pages;
    if (plain && !split) { /* as the model said */
        tl->free_bytes -= need;
    } else if (!plain && split && st.ms_leaf_pages == tl->leaf_pages + 1 && node <= node_max) {
        /* a new last leaf with this node alone (or the tree's first leaf) */
        tl->known = 1;
        tl->free_bytes = s->page_bytes - LMDB_PAGE_HEADER_BYTES - need;
    } else if (plain || split) { /* not what the model said, or a node on overflow pages */
        tl->known = 0;
    }
    tl->plain += plain;
    tl->leaf_pages = st.ms_leaf_pages;
    if (klen == 8) /* a seq (the log's keys): one move */
        memcpy(tl->last, key, 8);
    else
        memcpy(tl->last, key, klen);
    tl->last_bytes = klen;
    return FOLIO_OK;
}

uint64_t folio_store__appends_plain(const folio_store *s) { return s->tail.plain; }

int folio_store__leaf_pages(uint64_t *out, folio_txn *t, unsigned dbi) {
    MDB_stat st;
    int rc = xlate(mdb_stat(t->mdb, t->store->dbi[dbi], &st), "stat");
    if (rc == FOLIO_OK) *out = st.ms_leaf_pages;
    return rc;
}

/* Delete key through cursor c of transaction t (kept as for folio_store__cursor_put).
 * FOLIO_ENOTFOUND when the tree has no such key. */
int folio_store__cursor_del(folio_cursor *c, folio_txn *t, const void *key, size_t klen) {
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(c->mdb != NULL);
    FOLIO_DEBUG_ASSERT(mdb_cursor_txn(c->mdb) == t->mdb);
    t->writes++;
    tail_touched_mdb(t->store, c->mdb);
    MDB_val k = {klen, (void *)key}, v;
    int mrc = mdb_cursor_get(c->mdb, &k, &v, MDB_SET);
    if (mrc == MDB_SUCCESS) mrc = mdb_cursor_del(c->mdb, 0);
    return xlate(mrc, "delete");
}

int folio_store__del(folio_txn *t, unsigned dbi, const void *key, size_t klen) {
    FOLIO_ASSERT(t->write);
    t->writes++;
    tail_touched(t->store, dbi);
    MDB_val k = {klen, (void *)key};
    return xlate(mdb_del(t->mdb, t->store->dbi[dbi], &k, NULL), "delete");
}

/* Empty a sub-database (it stays open). */
int folio_store__drop(folio_txn *t, unsigned dbi) {
    FOLIO_ASSERT(t->write);
    t->writes++;
    tail_touched(t->store, dbi);
    if (t->store->tail.cur && t->store->tail.dbi == dbi) { /* its cursor's pages go */
        mdb_cursor_close(t->store->tail.cur);
        t->store->tail.cur = NULL;
    }
    return xlate(mdb_drop(t->mdb, t->store->dbi[dbi], 0), "drop");
}

int folio_store__entries(uint64_t *out, folio_txn *t, unsigned dbi) {
    MDB_stat st;
    if (t->store->absent[dbi]) return absent_db(dbi);
    int rc = xlate(mdb_stat(t->mdb, t->store->dbi[dbi], &st), "stat");
    if (rc == FOLIO_OK) *out = st.ms_entries;
    return rc;
}

int folio_store__cursor_open(folio_cursor *c, folio_txn *t, unsigned dbi) {
    MDB_cursor *cur = NULL;
    c->mdb = NULL;
    if (t->store->absent[dbi]) return absent_db(dbi);
    if (t->write && t->store->idle[dbi]) { /* positioned by its user's first seek or last */
        FOLIO_ASSERT(t->mdb == t->store->write_mdb);
        c->mdb = t->store->idle[dbi];
        t->store->idle[dbi] = NULL;
        return FOLIO_OK;
    }
    int rc = xlate(mdb_cursor_open(t->mdb, t->store->dbi[dbi], &cur), "cursor");
    c->mdb = cur;
    return rc;
}

void folio_store__cursor_close(folio_cursor *c) {
    MDB_cursor *cur = c->mdb;
    c->mdb = NULL;
    if (!cur) return;
    folio_store *s = writing; /* the cursor's transaction may have ended: not read */
    if (s && mdb_cursor_txn(cur) == s->write_mdb) {
        MDB_dbi dbi = mdb_cursor_dbi(cur);
        for (unsigned i = 0; i < s->db_count; i++) {
            if (s->dbi[i] == dbi && !s->idle[i]) {
                s->idle[i] = cur;
                return;
            }
        }
    }
    mdb_cursor_close(cur);
}

/* A cursor of read transaction t that its user closes with folio_store__read_cursor_close
 * while t is still running: a kept read transaction keeps it for its next user (renewed),
 * so a warm read allocates no cursor. */
int folio_store__read_cursor_open(folio_cursor *c, folio_txn *t, unsigned dbi) {
    FOLIO_ASSERT(!t->write);
    FOLIO_ASSERT(dbi < t->store->db_count);
    struct folio_read_slot *r = t->slot;
    MDB_cursor *cur = r ? r->idle[dbi] : NULL;
    if (cur) {
        r->idle[dbi] = NULL;
        if (mdb_cursor_renew(t->mdb, cur) == MDB_SUCCESS) {
            c->mdb = cur;
            return FOLIO_OK;
        }
        mdb_cursor_close(cur); /* and open a new one */
    }
    pthread_mutex_lock(&t->store->read_lock);
    t->store->read_cursors_opened++;
    pthread_mutex_unlock(&t->store->read_lock);
    return folio_store__cursor_open(c, t, dbi);
}

void folio_store__read_cursor_close(folio_cursor *c, folio_txn *t, unsigned dbi) {
    MDB_cursor *cur = c->mdb;
    struct folio_read_slot *r = t->slot;
    c->mdb = NULL;
    if (!cur) return;
    FOLIO_ASSERT(t->mdb != NULL);
    FOLIO_ASSERT(mdb_cursor_txn(cur) == t->mdb);
    FOLIO_ASSERT(mdb_cursor_dbi(cur) == t->store->dbi[dbi]);
    if (r && !r->idle[dbi]) {
        r->idle[dbi] = cur;
        return;
    }
    mdb_cursor_close(cur);
}

static int cursor_get(folio_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op, folio_val *ko,
                      folio_val *vo) {
    int mrc = mdb_cursor_get(c->mdb, k, v, op);
    if (mrc == MDB_NOTFOUND) return FOLIO_ITEROVER;
    if (mrc != MDB_SUCCESS) return xlate(mrc, "cursor get");
    ko->data = k->mv_data;
    ko->size = k->mv_size;
    vo->data = v->mv_data;
    vo->size = v->mv_size;
    return FOLIO_OK;
}

int folio_store__cursor_seek(folio_cursor *c, const void *key, size_t klen, folio_val *k,
                             folio_val *v) {
    MDB_val mk = {klen, (void *)key}, mv = {0, NULL};
    return cursor_get(c, &mk, &mv, key ? MDB_SET_RANGE : MDB_FIRST, k, v);
}

int folio_store__cursor_next(folio_cursor *c, folio_val *k, folio_val *v) {
    MDB_val mk, mv;
    return cursor_get(c, &mk, &mv, MDB_NEXT, k, v);
}

int folio_store__cursor_last(folio_cursor *c, folio_val *k, folio_val *v) {
    MDB_val mk, mv;
    return cursor_get(c, &mk, &mv, MDB_LAST, k, v);
}

int folio_store__cursor_prev(folio_cursor *c, folio_val *k, folio_val *v) {
    MDB_val mk, mv;
    return cursor_get(c, &mk, &mv, MDB_PREV, k, v);
}

uint64_t folio_store__map_bytes(folio_store *s) {
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    return info.me_mapsize;
}

uint64_t folio_store__file_bytes(folio_store *s) {
    struct stat st;
    return stat(s->path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int folio_store__used_bytes(uint64_t *out, folio_txn *t) {
    MDB_envinfo info;
    MDB_stat st;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    uint64_t free_pages = 0;
    int rc = mdb_env_info(t->store->env, &info);
    if (rc == 0) rc = mdb_env_stat(t->store->env, &st);
    if (rc == 0) rc = mdb_cursor_open(t->mdb, 0, &c); /* LMDB's free-page list: dbi 0 */
    while (rc == 0 && (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
        /* a value is a list of page numbers, its first word their count */
        if (v.mv_size < sizeof(size_t)) {
            rc = MDB_CORRUPTED;
            break;
        }
        size_t n;
        memcpy(&n, v.mv_data, sizeof n);
        free_pages += n;
    }
    if (c) mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return xlate(rc, "free-page list");
    uint64_t pages = (uint64_t)info.me_last_pgno + 1;
    *out = (pages > free_pages ? pages - free_pages : 0) * st.ms_psize;
    return FOLIO_OK;
}

int folio_store__read_only(const folio_store *s) { return s->read_only; }
int folio_store__read_format(uint32_t *out, folio_txn *t) {
    MDB_val k = {6, "format"}, v;
    int mrc = mdb_get(t->mdb, t->store->dbi[FOLIO_DB_META], &k, &v);
    if (mrc != MDB_SUCCESS) return xlate(mrc, "read format");
    if (v.mv_size != 9 || memcmp(v.mv_data, "folio", 5) != 0)
        return folio_error__set(FOLIO_ECORRUPT, "the format record is malformed");
    *out = folio__get_le32((const uint8_t *)v.mv_data + 5);
    return FOLIO_OK;
}

int folio_store__raise_format(folio_txn *t, uint32_t to) {
    uint32_t now = 0;
    FOLIO_ASSERT(t->write);
    FOLIO_ASSERT(to <= FOLIO_FORMAT_VERSION);
    int rc = folio_store__read_format(&now, t);
    if (rc < 0 || now >= to) return rc;
    uint8_t fmt[9];
    memcpy(fmt, "folio", 5);
    folio__put_le32(fmt + 5, to);
    return folio_store__put(t, FOLIO_DB_META, "format", 6, fmt, sizeof fmt, 0);
}

/* Names of the sub-databases in dbi order: the core ones, then "proj.<name>". */
static void db_name(char *buf, size_t cap, unsigned i) {
    _Static_assert(sizeof core_names / sizeof core_names[0] == FOLIO_DB_PROJ0, "core names");
    if (i < FOLIO_DB_PROJ0)
        snprintf(buf, cap, "%s", core_names[i]);
    else
        snprintf(buf, cap, "proj.%s", folio_projection__name(i - FOLIO_DB_PROJ0));
}

/* The meta key "format" holds "folio" + u32 LE format version. A "head" key in "meta" is
 * the layout of a pre-release build of format 1 that kept the log head and the projection
 * states there (they are root records now): refused rather than read as an empty log, as
 * is format 1 (FOLIO_FORMAT_VERSION 2 keeps such a build from reading ours as empty). */
static int check_format(MDB_txn *txn, MDB_dbi meta) {
    MDB_val k = {6, "format"}, v, old_head = {4, "head"};
    if (mdb_get(txn, meta, &old_head, &v) == MDB_SUCCESS)
        return folio_error__set(FOLIO_EFORMAT,
                                "ledger written by an earlier pre-release folio (its log head "
                                "is in 'meta'): export it with that folio and restore it here");
    int mrc = mdb_get(txn, meta, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return folio_error__set(FOLIO_EFORMAT, "not a folio ledger (no format record)");
    if (mrc != MDB_SUCCESS) return xlate(mrc, "read format");
    const uint8_t *p = v.mv_data;
    if (v.mv_size != 9 || memcmp(p, "folio", 5) != 0)
        return folio_error__set(FOLIO_EFORMAT, "not a folio ledger (bad format record)");
    uint32_t ver = folio__get_le32(p + 5);
    if (ver > FOLIO_FORMAT_VERSION)
        return folio_error__set(FOLIO_EFORMAT,
                                "ledger format %u is newer than this folio supports (%u)", ver,
                                FOLIO_FORMAT_VERSION);
    if (ver == 0) return folio_error__set(FOLIO_EFORMAT, "not a folio ledger (format 0)");
    if (ver < FOLIO_FORMAT_OLDEST)
        return folio_error__set(FOLIO_EFORMAT,
                                "ledger of format %u, written by an earlier pre-release folio: "
                                "export it with that folio and restore it here", ver);
    return FOLIO_OK;
}

static inline uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The key order of every sub-database: LMDB's own (memcmp, then the shorter key first),
 * with the bytes compared eight at a time as big-endian words instead of through memcmp.
 * The same order for every pair of keys, so a ledger's trees stay readable by anything that
 * uses LMDB's default (mdb_dump, mdb_stat). LMDB calls this for every key comparison of a
 * B-tree search (about seven per level): with memcmp, ~23% of a history's instructions,
 * and a call of memcmp cost ~13 instructions for keys that are 8 to 40 bytes (LMDB's own
 * comparator, for the projections' trees, called memcmp too). The keys of
 * "streams" are 8 bytes (stream records) or 17 (stream id + tag + suffix); the last word
 * overlaps the one before it, whose bytes are equal by then, so a 17-byte key takes three
 * loads. Inlined in both callers: LMDB's calls through cmp_keys are the ones that count. */
static inline __attribute__((always_inline)) int key_order(const uint8_t *a, size_t an,
                                                           const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    if (n >= 8) {
        /* the first word decides most comparisons: a stream id in "streams", a tag and 7
         * bytes in a projection's tree */
        uint64_t x = folio__get_be64(a), y = folio__get_be64(b);
        if (x != y) return x < y ? -1 : 1;
        if (n > 8) {
            for (size_t i = 8; i + 8 < n; i += 8) {
                x = folio__get_be64(a + i);
                y = folio__get_be64(b + i);
                if (x != y) return x < y ? -1 : 1;
            }
            x = folio__get_be64(a + n - 8);
            y = folio__get_be64(b + n - 8);
            if (x != y) return x < y ? -1 : 1;
        }
    } else if (n >= 4) { /* two 4-byte words, overlapping */
        uint64_t x = (uint64_t)get_be32(a) << 32 | get_be32(a + n - 4);
        uint64_t y = (uint64_t)get_be32(b) << 32 | get_be32(b + n - 4);
        if (x != y) return x < y ? -1 : 1;
    } else if (n) { /* bytes 0, n / 2 and n - 1: in order, each byte at least once */
        uint32_t x = (uint32_t)a[0] << 16 | (uint32_t)a[n / 2] << 8 | a[n - 1];
        uint32_t y = (uint32_t)b[0] << 16 | (uint32_t)b[n / 2] << 8 | b[n - 1];
        if (x != y) return x < y ? -1 : 1;
    }
    return (an > bn) - (an < bn);
}

static int cmp_keys(const MDB_val *a, const MDB_val *b) {
    return key_order(a->mv_data, a->mv_size, b->mv_data, b->mv_size);
}

int folio_store__key_order(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
    return key_order(a, a_bytes, b, b_bytes);
}

/* Open every sub-database. A new environment (no named databases at all) is initialised in
 * a write transaction; an existing one is opened in a read transaction so that opening never
 * waits for another process's writer, unless a projection database is missing (added by a
 * newer folio), which needs a short write transaction. */
static int open_dbs(folio_store *s, int *created_out) {
    MDB_txn *txn = NULL;
    MDB_dbi main_dbi;
    MDB_stat st;
    int rc = FOLIO_OK, need_write = 0;
    char name[64];

    for (int pass = 0; pass < 2; pass++) {
        int write = pass == 1;
        if (write && s->read_only) break;
        int mrc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &txn);
        if (mrc != MDB_SUCCESS) return xlate(mrc, "open");
        mrc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
        if (mrc == MDB_SUCCESS) mrc = mdb_stat(txn, main_dbi, &st);
        if (mrc != MDB_SUCCESS) {
            rc = xlate(mrc, "open");
            goto fail;
        }
        int fresh = st.ms_entries == 0;
        if (fresh && !write) {
            if (s->read_only) {
                rc = folio_error__set(FOLIO_EFORMAT, "not a folio ledger (empty environment)");
                goto fail;
            }
            need_write = 1;
            mdb_txn_abort(txn);
            txn = NULL;
            continue;
        }
        need_write = 0;
        for (unsigned i = 0; i < s->db_count; i++) {
            if (i == FOLIO_DB_ROOT) {
                s->dbi[i] = main_dbi;
                continue;
            }
            db_name(name, sizeof name, i);
            unsigned flags = (write && (fresh || i >= FOLIO_DB_SCRATCH)) ? MDB_CREATE : 0;
            mrc = mdb_dbi_open(txn, name, flags, &s->dbi[i]);
            if (mrc == MDB_NOTFOUND && i >= FOLIO_DB_SCRATCH && !write && !s->read_only) {
                need_write = 1;
                break;
            }
            if (mrc == MDB_NOTFOUND && i >= FOLIO_DB_SCRATCH && s->read_only) {
                s->absent[i] = 1; /* queries that need it report FOLIO_EFORMAT */
                continue;
            }
            if (mrc == MDB_NOTFOUND || mrc == MDB_INCOMPATIBLE) {
                rc = folio_error__set(FOLIO_EFORMAT, "not a folio ledger (no '%s' database)",
                                      name);
                goto fail;
            }
            if (mrc != MDB_SUCCESS) {
                rc = xlate(mrc, "open database");
                goto fail;
            }
            if ((mrc = mdb_set_compare(txn, s->dbi[i], cmp_keys)) != MDB_SUCCESS) {
                rc = xlate(mrc, "open database");
                goto fail;
            }
            if (i == FOLIO_DB_META && !fresh) {
                rc = check_format(txn, s->dbi[i]);
                if (rc < 0) goto fail;
            }
        }
        if (need_write) {
            mdb_txn_abort(txn);
            txn = NULL;
            continue;
        }
        if (fresh) {
            uint8_t fmt[9];
            memcpy(fmt, "folio", 5);
            folio__put_le32(fmt + 5, FOLIO_FORMAT_CREATED);
            MDB_val k = {6, "format"}, v = {9, fmt};
            mrc = mdb_put(txn, s->dbi[FOLIO_DB_META], &k, &v, 0);
            /* The projections' states as well (current, nothing folded), so that the ledger
             * is whole the moment it is linked into place: a creator killed before its open's
             * catch-up committed them used to leave a ledger whose read-only handles refused
             * every query ("projection ... is out of date") until a write open. */
            for (unsigned p = 0; mrc == MDB_SUCCESS && p < folio_projection__count(); p++) {
                char key[64];
                uint8_t state[FOLIO_PROJ_STATE_BYTES];
                size_t kn = folio_projection__initial_state(key, sizeof key, state, p);
                MDB_val sk = {kn, key}, sv = {sizeof state, state};
                mrc = mdb_put(txn, main_dbi, &sk, &sv, 0);
            }
            if (mrc != MDB_SUCCESS) {
                rc = xlate(mrc, "initialise");
                goto fail;
            }
            *created_out = 1;
        }
        mrc = mdb_txn_commit(txn);
        txn = NULL;
        if (mrc != MDB_SUCCESS) return xlate(mrc, "open");
        return FOLIO_OK;
    }
    FOLIO_ASSERT(need_write);
    return folio_error__set(FOLIO_EFORMAT, "ledger needs initialising but was opened read-only");
fail:
    if (txn) mdb_txn_abort(txn);
    return rc;
}

/* A file shorter than LMDB's last used page was truncated: reading it would fault. */
static int check_not_truncated(folio_store *s) {
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    int fd;
    if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st) || mdb_env_get_fd(s->env, &fd))
        return folio_error__set(FOLIO_ERROR, "open: cannot read environment info");
    if (fstat(fd, &fs) != 0) return folio_error__set(FOLIO_ERROR, "open: %s", strerror(errno));
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fs.st_size < need)
        return folio_error__set(FOLIO_ECORRUPT,
                                "ledger file is truncated: %llu bytes, needs at least %llu",
                                (unsigned long long)fs.st_size, (unsigned long long)need);
    return FOLIO_OK;
}

/* LMDB commits by writing meta page (txnid % 2), so in a healthy file the two meta pages hold
 * consecutive transaction ids (a crash during the meta write leaves the old one whole: the
 * write is one sector). LMDB keeps no checksum on them and opens whichever is newer: one
 * flipped bit in the newest txnid would silently roll the ledger back to the commit before.
 * Ids that are not consecutive are refused. The txnid sits at byte 144 of a meta page on
 * 64-bit LMDB 0.9 (page header 16, magic 4, version 4, address 8, mapsize 8, two MDB_db of
 * 48, last page 8). A pair read while another process commits twice can look apart: read
 * again before deciding. */
#define META_TXNID_OFFSET 144u
static int check_meta_pair(folio_store *s) {
    if (sizeof(void *) != 8) return FOLIO_OK; /* the offset above is for 64-bit builds */
    MDB_stat st;
    int fd;
    if (mdb_env_stat(s->env, &st) || mdb_env_get_fd(s->env, &fd))
        return folio_error__set(FOLIO_ERROR, "open: cannot read environment info");
    uint64_t t0 = 0, t1 = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (pread(fd, &t0, 8, META_TXNID_OFFSET) != 8 ||
            pread(fd, &t1, 8, (off_t)st.ms_psize + META_TXNID_OFFSET) != 8)
            return folio_error__set(FOLIO_ECORRUPT, "ledger file is truncated: no meta pages");
        uint64_t hi = t0 > t1 ? t0 : t1, lo = t0 > t1 ? t1 : t0;
        if (hi <= 1 || hi - lo == 1) return FOLIO_OK;
        usleep(1000);
    }
    return folio_error__set(FOLIO_ECORRUPT,
                            "ledger file is damaged: LMDB's two meta pages hold transactions "
                            "%llu and %llu, not consecutive (the last commits may be lost)",
                            (unsigned long long)t0, (unsigned long long)t1);
}

/* An LMDB data file starts with a meta page: a 16-byte page header, then the magic
 * 0xBEEFC0DE (host byte order) and the format version. Anything else is not a ledger. */
static int check_lmdb_magic(const char *path) {
    uint8_t head[24];
    FILE *f = fopen(path, "rb");
    if (!f) return folio_error__set(FOLIO_ERROR, "cannot open ledger %s: %s", path, strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    uint32_t magic;
    memcpy(&magic, head + 16, sizeof magic);
    if (n < sizeof head || magic != 0xBEEFC0DEu)
        return folio_error__set(FOLIO_EFORMAT, "%s is not a folio ledger", path);
    return FOLIO_OK;
}

static void registry_remove(folio_store *s) {
    pthread_mutex_lock(&registry_lock);
    for (folio_store **p = &registry_head; *p; p = &(*p)->next_open) {
        if (*p == s) {
            *p = s->next_open;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

/* LMDB makes its lock file with ftruncate (a file with no blocks) and writes it through a
 * shared mapping: on a full disk the first store into it is a SIGBUS, not an error. Give a
 * new (or short) lock file its blocks first, so a full disk is an error (FOLIO_EFULL). A
 * lock file that cannot be opened here is left to LMDB, which reports why. */
#define LOCK_FILE_BYTES 8192 /* LMDB's lock file with its default 126 reader slots */
static int reserve_lock_file(const char *path, unsigned mode) {
    char lock_path[4200];
    struct stat st;
    snprintf(lock_path, sizeof lock_path, "%s-lock", path);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0) return FOLIO_OK;
    int err = 0;
    if (fstat(fd, &st) == 0 && st.st_size < LOCK_FILE_BYTES)
        err = posix_fallocate(fd, 0, LOCK_FILE_BYTES);
    close(fd);
    if (err == ENOSPC || err == EDQUOT || err == EIO)
        return folio_error__set(FOLIO_EFULL, "open: no room for the lock file %s: disk full or "
                                             "unwritable (%s)",
                                lock_path, strerror(err));
    return FOLIO_OK;
}

/* Make a new ledger at `path` all at once: build it complete (environment, sub-databases,
 * format record, committed) under a private name, then link it into place. A failure on
 * the way (disk full, I/O error, a kill) leaves nothing at `path`, and the next write starts
 * afresh; a ledger another process linked there first wins and ours is thrown away.
 * *made = 1 when ours is the one at `path`. */
static int create_ledger_file(int *made, const char *path, unsigned perm_flags,
                              unsigned db_count) {
    char tmp[4200], tmp_lock[4300];
    folio_store t = {0};
    int rc = FOLIO_OK, mrc, created = 0;
    unsigned mode = (perm_flags & FOLIO_STORE_GROUP_READ) ? 0640 : 0600;
    *made = 0;
    snprintf(tmp, sizeof tmp, "%s.new-%ld", path, (long)getpid());
    snprintf(tmp_lock, sizeof tmp_lock, "%s-lock", tmp);
    unlink(tmp); /* left by a killed creator that had our pid */
    unlink(tmp_lock);
    t.db_count = db_count;
    if ((rc = reserve_lock_file(tmp, 0600)) < 0) goto cleanup;
    if ((mrc = mdb_env_create(&t.env)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxdbs(t.env, FOLIO_DBS_MAX)) != MDB_SUCCESS ||
        (mrc = mdb_env_open(t.env, tmp, MDB_NOSUBDIR | MDB_NOTLS, mode)) != MDB_SUCCESS) {
        /* the path's directory is missing (or not ours): say so, naming the path */
        rc = mrc == ENOENT ? folio_error__set(FOLIO_ENOTFOUND, "cannot create ledger %s: its "
                                                               "directory does not exist", path)
             : mrc == EACCES || mrc == EPERM
                 ? folio_error__set(FOLIO_ERROR, "cannot create ledger %s: %s", path, strerror(mrc))
                 : xlate(mrc, "create");
        goto cleanup;
    }
    if ((rc = open_dbs(&t, &created)) < 0) goto cleanup;
    FOLIO_ASSERT(created);
    mdb_env_close(t.env);
    t.env = NULL;
    if ((perm_flags & FOLIO_STORE_GROUP_READ) && chmod(tmp, 0640) != 0) { /* past the umask */
        rc = folio_error__set(FOLIO_ERROR, "cannot set the mode of %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    int linked = link(tmp, path) == 0;
    if (!linked && (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS)) {
        /* a file system without hard links: rename, after one more look for a rival */
        struct stat st;
        if (stat(path, &st) != 0 && errno == ENOENT) linked = rename(tmp, path) == 0;
        else errno = EEXIST;
    }
    if (linked) {
        *made = 1;
        /* the new name is durable once its directory is */
        char dir[4200];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash == dir) slash[1] = '\0';
        else if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    } else if (errno != EEXIST) {
        rc = errno == ENOSPC || errno == EDQUOT || errno == EIO
                 ? folio_error__set(FOLIO_EFULL, "create: disk full or unwritable (%s)",
                                    strerror(errno))
                 : folio_error__set(FOLIO_ERROR, "cannot create ledger %s: %s", path,
                                    strerror(errno));
    }
cleanup:
    if (t.env) mdb_env_close(t.env);
    unlink(tmp);
    unlink(tmp_lock);
    return rc;
}

int folio_store__open(folio_store **out, const char *path, uint64_t map_bytes, int read_only,
                      int must_exist, unsigned perm_flags, int *created_out) {
    FOLIO_ASSERT(out != NULL);
    FOLIO_ASSERT(path != NULL);
    int rc = FOLIO_OK, mrc, registered = 0;
    struct stat st;
    *out = NULL;
    *created_out = 0;

    folio_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return folio_error__set(FOLIO_ERROR, "open: out of memory");
    }
    s->read_only = read_only;
    s->db_count = FOLIO_DB_PROJ0 + folio_projection__count();
    FOLIO_ASSERT(s->db_count <= FOLIO_DBS_MAX);
    pthread_rwlock_init(&s->map_lock, NULL);
    pthread_mutex_init(&s->read_lock, NULL);
    for (unsigned i = 0; i < READ_SPARES_MAX; i++) s->free_slot[i] = READ_SPARES_MAX - 1 - i;
    s->free_count = READ_SPARES_MAX;

    pthread_mutex_lock(&registry_lock);
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            rc = folio_error__set(FOLIO_ERROR, "cannot open ledger %s: %s", path, strerror(errno));
        } else if (read_only || must_exist) {
            rc = folio_error__set(FOLIO_ENOTFOUND, "no ledger at %s", path);
        }
    } else if (!S_ISREG(st.st_mode)) {
        rc = folio_error__set(FOLIO_EFORMAT, "%s is not a regular file", path);
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(perm_flags & FOLIO_STORE_ALLOW_SHARED_WRITE)) {
        /* Whoever can write the file can rewrite the history and recompute the chain. */
        rc = folio_error__set(FOLIO_ERROR,
                              "ledger %s is writable by %s (mode %04o): chmod 600 it (640 for a "
                              "reading group), or allow shared write explicitly",
                              path, (st.st_mode & S_IWOTH) ? "others" : "its group",
                              (unsigned)(st.st_mode & 07777));
    } else if (st.st_size == 0) {
        rc = folio_error__set(FOLIO_EFORMAT, "%s is an empty file, not a folio ledger", path);
    } else if ((rc = check_lmdb_magic(path)) < 0) {
        /* refused before LMDB opens it, so no lock file appears beside a foreign file */
    } else {
        for (folio_store *o = registry_head; o; o = o->next_open)
            if (o->dev == st.st_dev && o->ino == st.st_ino && o->pid == getpid())
                rc = folio_error__set(FOLIO_EINVAL, "ledger %s is already open in this process",
                                      path);
    }
    int creating = 0;
    if (rc == FOLIO_OK && stat(path, &st) != 0 && errno == ENOENT)
        rc = create_ledger_file(&creating, path, perm_flags, s->db_count);
    if (rc < 0) {
        pthread_mutex_unlock(&registry_lock);
        goto cleanup;
    }
    *created_out = creating;

    if ((mrc = mdb_env_create(&s->env)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxdbs(s->env, FOLIO_DBS_MAX)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_mapsize(s->env, (size_t)map_bytes)) != MDB_SUCCESS) {
        pthread_mutex_unlock(&registry_lock);
        rc = xlate(mrc, "open");
        goto cleanup;
    }
    unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (read_only ? MDB_RDONLY : 0);
    if ((rc = reserve_lock_file(path, (perm_flags & FOLIO_STORE_GROUP_READ) ? 0660 : 0600)) < 0) {
        pthread_mutex_unlock(&registry_lock);
        goto cleanup;
    }
    mrc = mdb_env_open(s->env, path, flags, (perm_flags & FOLIO_STORE_GROUP_READ) ? 0660 : 0600);
    /* LMDB gives both files one mode: a group that reads needs the lock file writable (its
     * reader slots live there) but never the data file. */
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s-lock", path);
    if (mrc == MDB_SUCCESS && creating && (perm_flags & FOLIO_STORE_GROUP_READ) &&
        chmod(lock_path, 0660) != 0) { /* past the umask */
        pthread_mutex_unlock(&registry_lock);
        rc = folio_error__set(FOLIO_ERROR, "cannot set the mode of %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (mrc == MDB_SUCCESS && stat(path, &st) == 0) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        s->pid = getpid();
        s->next_open = registry_head;
        registry_head = s;
        registered = 1;
    }
    pthread_mutex_unlock(&registry_lock);
    if (mrc == ENOENT) {
        rc = folio_error__set(FOLIO_ENOTFOUND, "no ledger at %s", path);
        goto cleanup;
    }
    if (mrc == EACCES || mrc == EPERM) {
        rc = folio_error__set(FOLIO_ERROR, "cannot open ledger %s: %s", path, strerror(mrc));
        goto cleanup;
    }
    if (mrc != MDB_SUCCESS) {
        rc = xlate(mrc, "open");
        if (rc == FOLIO_ERROR || rc == FOLIO_EFORMAT)
            rc = folio_error__set(rc, "cannot open ledger %s: %s", path,
                                  rc == FOLIO_EFORMAT ? "not a folio ledger" : mdb_strerror(mrc));
        goto cleanup;
    }
    FOLIO_TRY(check_not_truncated(s));
    FOLIO_TRY(check_meta_pair(s));
    MDB_stat env_stat;
    if (mdb_env_stat(s->env, &env_stat) != MDB_SUCCESS)
        return folio_error__set(FOLIO_ERROR, "open: cannot read environment info");
    s->page_bytes = env_stat.ms_psize;
    int dead = 0;
    mdb_reader_check(s->env, &dead); /* clears slots of crashed readers */
    int fresh = 0;
    FOLIO_TRY(open_dbs(s, &fresh)); /* an empty environment (an older folio's) is set up */
    if (fresh) *created_out = 1;
    *out = s;
    return FOLIO_OK;

cleanup:
    if (registered) registry_remove(s);
    if (s->env) read_slots_drop(s);
    if (s->env) mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->map_lock);
    pthread_mutex_destroy(&s->read_lock);
    free(s->path);
    free(s);
    return rc;
}

void folio_store__close(folio_store *s) {
    if (!s) return;
    registry_remove(s);
    read_slots_drop(s);
    mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->map_lock);
    pthread_mutex_destroy(&s->read_lock);
    free(s->path);
    free(s);
}
