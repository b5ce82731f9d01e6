/*
 * engine/check.c - rebuild and check the projections against the log.
 * rebuild: mark every projection as built by no code (version 0); the catch-up of
 * engine/projection.c then empties each and folds the whole log again, in batched write
 * transactions whose progress is saved with each batch, so a killed rebuild resumes.
 * check: fold the whole log into a scratch ledger (a temporary LMDB file) with the same
 * projection code, then compare every projection key by key with the live one, naming the
 * first difference. The live ledger is only read.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "projection.h"

/* Events folded into the scratch ledger per write transaction, at most. As in a catch-up
 * (engine/projection.c) the record cache works in bulk mode with the handle's
 * rebuild_cache_bytes and a transaction ends when it passes that budget: one transaction
 * writes each tree once, appending in key order to the scratch ledger's empty trees. */
#define CHECK_BATCH_COUNT_MAX (1u << 24)

int folio_rebuild(uint64_t *events_out, folio_db *db) {
    if (!db) return folio_error__set(FOLIO_EINVAL, "rebuild: NULL argument");
    if (folio_store__read_only(db->store))
        return folio_error__set(FOLIO_EINVAL, "rebuild needs the ledger opened for writing");
    if (folio_log__in_batch(db))
        return folio_error__set(FOLIO_EINVAL, "rebuild cannot run inside a batch");
    /* every projection dropped and folded again; the log is checked before the drop */
    int rc = folio_projection__catch_up(db, 1);
    if (rc == FOLIO_OK && events_out) {
        folio_txn t = {0};
        folio_head head;
        if ((rc = folio_store__read_begin(&t, db->store)) == FOLIO_OK) {
            rc = folio_log__read_head(&head, &t);
            folio_store__read_end(&t);
            if (rc == FOLIO_OK) *events_out = head.last_seq;
        }
    }
    return rc;
}

/* Render a key for a message: printable bytes as they are, others as \xNN. */
static void key_text(char *out, size_t cap, const folio_val *k) {
    size_t o = 0;
    const uint8_t *p = k->data;
    for (size_t i = 0; i < k->size && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
    }
    out[o] = '\0';
}

/* Step a cursor on "streams" to the next per-stream record with this tag (tag 0: a
 * projection's own sub-database, every key). */
static int skip_others(int rc, folio_cursor *c, uint8_t tag, folio_val *k, folio_val *v) {
    while (tag && rc == FOLIO_OK &&
           !(k->size > FOLIO_PROJ_STREAM_KEY_BYTES && ((const uint8_t *)k->data)[8] == tag))
        rc = folio_store__cursor_next(c, k, v);
    return rc;
}

/* Compare projection i's records in dbi (its own sub-database, or "streams" with its tag)
 * between the live ledger and the replay. */
static int compare_records(folio_txn *live, folio_txn *replay, unsigned i, unsigned dbi,
                           uint8_t tag) {
    folio_cursor a = {0}, b = {0};
    folio_val ka, va, kb, vb;
    char key[160];
    const char *name = folio_projection__name(i);
    int rc = folio_store__cursor_open(&a, live, dbi);
    if (rc == FOLIO_OK) rc = folio_store__cursor_open(&b, replay, dbi);
    if (rc < 0) goto cleanup;
    int ra = skip_others(folio_store__cursor_seek(&a, NULL, 0, &ka, &va), &a, tag, &ka, &va);
    int rb = skip_others(folio_store__cursor_seek(&b, NULL, 0, &kb, &vb), &b, tag, &kb, &vb);
    for (uint64_t n = 0;; n++) {
        if (ra < 0 && ra != FOLIO_ITEROVER) { rc = ra; break; }
        if (rb < 0 && rb != FOLIO_ITEROVER) { rc = rb; break; }
        if (ra == FOLIO_ITEROVER && rb == FOLIO_ITEROVER) { rc = FOLIO_OK; break; }
        if (ra == FOLIO_ITEROVER) {
            key_text(key, sizeof key, &kb);
            rc = folio_error__set(FOLIO_ECORRUPT,
                                  "projection '%s' lacks key '%s' that a replay of the log makes",
                                  name, key);
            break;
        }
        if (rb == FOLIO_ITEROVER) {
            key_text(key, sizeof key, &ka);
            rc = folio_error__set(FOLIO_ECORRUPT,
                                  "projection '%s' has key '%s' that a replay of the log does not make",
                                  name, key);
            break;
        }
        size_t m = ka.size < kb.size ? ka.size : kb.size;
        int c = memcmp(ka.data, kb.data, m);
        if (c == 0 && ka.size != kb.size) c = ka.size < kb.size ? -1 : 1;
        if (c != 0) {
            const folio_val *extra = c < 0 ? &ka : &kb;
            key_text(key, sizeof key, extra);
            rc = folio_error__set(FOLIO_ECORRUPT, "projection '%s' %s key '%s'", name,
                                  c < 0 ? "has an extra" : "lacks the", key);
            break;
        }
        if (va.size != vb.size || memcmp(va.data, vb.data, va.size) != 0) {
            key_text(key, sizeof key, &ka);
            rc = folio_error__set(FOLIO_ECORRUPT,
                                  "projection '%s' differs from a replay of the log at key '%s'",
                                  name, key);
            break;
        }
        ra = skip_others(folio_store__cursor_next(&a, &ka, &va), &a, tag, &ka, &va);
        rb = skip_others(folio_store__cursor_next(&b, &kb, &vb), &b, tag, &kb, &vb);
    }
cleanup:
    folio_store__cursor_close(&a);
    folio_store__cursor_close(&b);
    return rc;
}

static int compare_projection(folio_txn *live, folio_txn *replay, unsigned i) {
    int rc = compare_records(live, replay, i, FOLIO_DB_PROJ0 + i, 0);
    uint8_t tag = folio_registry[i]->stream_tag;
    if (rc == FOLIO_OK && tag) rc = compare_records(live, replay, i, FOLIO_DB_STREAMS, tag);
    return rc;
}

/* Fold every event of the live log into the scratch store's projections. */
static int fold_into(folio_store *scratch, folio_db *db, uint64_t to_seq, uint64_t *events_out) {
    folio_iter *it = NULL;
    const folio_event *e;
    folio_txn t = {0};
    folio_txn_cache cache;
    folio_proj_states s;
    uint8_t *buf = malloc(FOLIO_PROJ_SCRATCH_BYTES);
    /* its own record cache: the handle's belongs to the handle's writers */
    folio_pcache *pc = folio_pcache__create();
    uint64_t in_batch = 0, events = 0;
    int rc = buf && pc ? folio_log_open(&it, db, 1, to_seq)
                       : folio_error__set(FOLIO_ERROR, "out of memory");
    while (rc == FOLIO_OK) {
        if (!t.mdb) {
            if ((rc = folio_log__begin(&t, &cache, scratch, pc)) < 0) break;
            folio_pcache__bulk(pc, db->rebuild_cache_bytes);
            for (unsigned i = 0; i < folio_projection__count() && rc == FOLIO_OK; i++)
                rc = folio_pcache__claim_fresh(pc, &t, FOLIO_DB_PROJ0 + i); /* if empty */
            if (rc == FOLIO_OK) rc = folio_projection__load(&s, &t);
            if (rc < 0) break;
            if (events == 0)
                for (unsigned i = 0; i < folio_projection__count(); i++) {
                    s.version[i] = folio_registry[i]->version;
                    s.dirty[i] = 1;
                }
            s.scratch = buf;
            in_batch = 0;
        }
        rc = folio_iter_next(&e, it);
        if (rc == FOLIO_OK) {
            rc = folio_projection__apply_all(&t, &s, e);
            if (((events + 1) & (FOLIO_PROGRESS_EVERY - 1)) == 0)
                folio_progress__report(db, "check", events + 1, 0);
            if (rc == FOLIO__EMAPFULL) /* the scratch map is sized for 4 GiB of projections */
                rc = folio_error__set(FOLIO_EFULL, "check: the scratch map is full");
            events++;
            in_batch++;
        }
        /* between events: nothing points into the cache; the commit writes it out */
        if ((rc == FOLIO_OK &&
             (in_batch == CHECK_BATCH_COUNT_MAX || folio_pcache__over_budget(pc))) ||
            rc == FOLIO_ITEROVER) {
            int end = rc == FOLIO_ITEROVER;
            rc = folio_projection__save(&t, &s);
            if (rc == FOLIO_OK) rc = folio_pcache__flush_final(pc, &t);
            if (rc == FOLIO_OK) rc = folio_log__flush(&t);
            if (rc == FOLIO_OK) rc = folio_store__commit(&t);
            else folio_store__abort(&t);
            if (rc == FOLIO__EMAPFULL)
                rc = folio_error__set(FOLIO_EFULL, "check: the scratch map is full");
            if (rc == FOLIO_OK && end) rc = FOLIO_ITEROVER;
        }
    }
    folio_store__abort(&t);
    folio_iter_free(it);
    folio_pcache__free(pc);
    free(buf);
    *events_out = events;
    return rc == FOLIO_ITEROVER ? FOLIO_OK : rc;
}

static void remove_scratch(const char *dir, const char *path) {
    char lock[4500];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(path);
    unlink(lock);
    rmdir(dir);
}

/* Scratch directories of checks whose process is gone (killed, or a damaged page crashed
 * it): ".folio-check-<pid>-XXXXXX" beside the ledger. Removed before a check makes its own. */
static void remove_stale_scratch(const char *parent) {
    DIR *d = opendir(parent);
    struct dirent *de;
    if (!d) return;
    while ((de = readdir(d)) != NULL) {
        long pid = 0;
        char rest[64];
        if (sscanf(de->d_name, ".folio-check-%ld-%63s", &pid, rest) != 2 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to see */
        char dir[4600], file[4900];
        snprintf(dir, sizeof dir, "%s/%s", parent, de->d_name);
        DIR *sd = opendir(dir);
        struct dirent *f;
        while (sd && (f = readdir(sd)) != NULL) {
            if (strncmp(f->d_name, "replay.db", 9) != 0) continue;
            snprintf(file, sizeof file, "%s/%s", dir, f->d_name);
            unlink(file);
        }
        if (sd) closedir(sd);
        rmdir(dir);
    }
    closedir(d);
}

int folio_check(uint64_t *events_out, folio_db *db) {
    char dir[4300], path[4400];
    folio_store *scratch = NULL;
    folio_txn live = {0}, replay = {0};
    uint64_t events = 0;
    int created = 0, rc;
    if (!db) return folio_error__set(FOLIO_EINVAL, "check: NULL argument");
    if (events_out) *events_out = 0;
    /* Scratch space beside the ledger: the same disk, which has room for a ledger. */
    const char *slash = strrchr(db->path, '/');
    char parent[4096];
    if (slash)
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - db->path), db->path);
    else
        snprintf(parent, sizeof parent, ".");
    if (!parent[0]) snprintf(parent, sizeof parent, "/");
    remove_stale_scratch(parent);
    snprintf(dir, sizeof dir, "%s/.folio-check-%ld-XXXXXX", parent, (long)getpid());
    if (!mkdtemp(dir)) return folio_error__set(FOLIO_ERROR, "check: cannot make scratch space beside the ledger");
    snprintf(path, sizeof path, "%s/replay.db", dir);
    /* The live projections must have folded every event before they can be compared. */
    folio_head head;
    FOLIO_TRY(folio_store__read_begin(&live, db->store));
    FOLIO_TRY(folio_log__read_head(&head, &live));
    for (unsigned i = 0; i < folio_projection__count(); i++)
        FOLIO_TRY(folio_projection__check_current(&live, i, head.last_seq));
    folio_store__read_end(&live);
    FOLIO_TRY(folio_store__open(&scratch, path, FOLIO_MAP_BYTES_DEFAULT * 16, 0, 0, 0, &created));
    if (head.last_seq == 0) goto cleanup; /* nothing to fold, nothing to compare */
    FOLIO_TRY(fold_into(scratch, db, head.last_seq, &events));
    FOLIO_TRY(folio_store__read_begin(&live, db->store));
    folio_head now;
    FOLIO_TRY(folio_log__read_head(&now, &live));
    if (now.last_seq != head.last_seq) {
        rc = folio_error__set(FOLIO_ECONFLICT, "the ledger changed while it was being checked "
                                               "(seq %llu -> %llu): run check again",
                              (unsigned long long)head.last_seq, (unsigned long long)now.last_seq);
        goto cleanup;
    }
    FOLIO_TRY(folio_store__read_begin(&replay, scratch));
    for (unsigned i = 0; i < folio_projection__count(); i++)
        FOLIO_TRY(compare_projection(&live, &replay, i));
    if (events_out) *events_out = events;
cleanup:
    if (live.mdb) folio_store__read_end(&live);
    if (replay.mdb) folio_store__read_end(&replay);
    folio_store__close(scratch);
    remove_scratch(dir, path);
    return rc;
}
