/*
 * engine/api.c - the handle, the event type catalog, and small queries of the public API.
 * The append path is in log.c, iterators in replay.c, verify in verify.c.
 */
#include <stdlib.h>

#include "command.h"
#include "internal.h"
#include "projection.h"

/* The catalog, indexed by type id (NULL: no such type): a name is one load away (the
 * write path names every event it folds). */
static const char *const catalog[FOLIO_EVENT_TYPE_IDS] = {
    [FOLIO_EV_LEDGER_CONFIGURED] = "ledger.configured",
    [FOLIO_EV_CUSTOMER_CREATED] = "customer.created",
    [FOLIO_EV_CUSTOMER_CURRENCY_SET] = "customer.currency_set",
    [FOLIO_EV_CUSTOMER_UPDATED] = "customer.updated",
    [FOLIO_EV_CUSTOMER_OWNER_CHANGED] = "customer.owner_changed",
    [FOLIO_EV_CUSTOMER_STATUS_CHANGED] = "customer.status_changed",
    [FOLIO_EV_CUSTOMER_CONTACT_ADDED] = "customer.contact_added",
    [FOLIO_EV_CUSTOMER_CONTACT_REMOVED] = "customer.contact_removed",
    [FOLIO_EV_CUSTOMER_NOTE_ADDED] = "customer.note_added",
    [FOLIO_EV_CUSTOMER_MERGED_INTO] = "customer.merged_into",
    [FOLIO_EV_CUSTOMER_MERGED_FROM] = "customer.merged_from",
    [FOLIO_EV_INVOICE_ISSUED] = "invoice.issued",
    [FOLIO_EV_CREDIT_NOTE_ISSUED] = "credit_note.issued",
    [FOLIO_EV_PAYMENT_RECEIVED] = "payment.received",
    [FOLIO_EV_ALLOCATION_MADE] = "allocation.made",
    [FOLIO_EV_REFUND_ISSUED] = "refund.issued",
    [FOLIO_EV_CREDIT_HOLD_PLACED] = "credit_hold.placed",
    [FOLIO_EV_CREDIT_HOLD_RELEASED] = "credit_hold.released",
};
_Static_assert(FOLIO_EV_CREDIT_HOLD_RELEASED < FOLIO_EVENT_TYPE_IDS, "the log counts every id");
_Static_assert(sizeof ((folio_stats *)0)->type_counts ==
                   sizeof ((folio_log_counts *)0)->types,
               "type_counts in folio_stats covers every id");

const char *folio_event_type_name(uint32_t type) {
    return type < FOLIO_EVENT_TYPE_IDS ? catalog[type] : NULL;
}

int folio_event_type_parse(uint32_t *type_out, const char *name) {
    if (!type_out || !name) return folio_error__set(FOLIO_EINVAL, "type_parse: NULL argument");
    for (uint32_t i = 0; i < FOLIO_EVENT_TYPE_IDS; i++) {
        if (catalog[i] && strcmp(catalog[i], name) == 0) {
            *type_out = i;
            return FOLIO_OK;
        }
    }
    return folio_error__set(FOLIO_ENOTFOUND, "unknown event type '%s'", name);
}

int folio_db_open(folio_db **out, const char *path, const folio_open_opts *opts) {
    folio_open_opts defaults = FOLIO_OPEN_OPTS_INIT;
    int rc = FOLIO_OK, created = 0;
    folio_error__clear();
    if (!out || !path || !*path) return folio_error__set(FOLIO_EINVAL, "open: no path given");
    *out = NULL;
    if (!opts) opts = &defaults;
    /* An older caller's struct ends where its version's fields end: read no field past it. */
    if (opts->version < 1 || opts->version > FOLIO_OPEN_OPTS_VERSION)
        return folio_error__set(FOLIO_EINVAL, "open: options version %u is not 1 to %u",
                                opts->version, FOLIO_OPEN_OPTS_VERSION);
    uint64_t map = opts->map_bytes ? opts->map_bytes : FOLIO_MAP_BYTES_DEFAULT;
    if (map < FOLIO_MAP_BYTES_MIN || map > FOLIO_MAP_BYTES_MAX)
        return folio_error__set(FOLIO_EINVAL, "open: map size %llu out of range",
                                (unsigned long long)map);
    uint64_t rebuild_cache = opts->version >= 2 ? opts->rebuild_cache_bytes : 0;
    if (rebuild_cache == 0) rebuild_cache = FOLIO_REBUILD_CACHE_BYTES_DEFAULT;
    if (rebuild_cache < FOLIO_REBUILD_CACHE_BYTES_MIN ||
        rebuild_cache > FOLIO_REBUILD_CACHE_BYTES_MAX || rebuild_cache > SIZE_MAX / 2)
        return folio_error__set(FOLIO_EINVAL,
                                "open: rebuild cache of %llu bytes is out of range (0 for the "
                                "default, else %llu to %llu)",
                                (unsigned long long)rebuild_cache,
                                (unsigned long long)FOLIO_REBUILD_CACHE_BYTES_MIN,
                                (unsigned long long)FOLIO_REBUILD_CACHE_BYTES_MAX);
    folio_db *db = calloc(1, sizeof *db);
    if (!db) return folio_error__set(FOLIO_ERROR, "open: out of memory");
    pthread_mutex_init(&db->write_lock, NULL);
    pthread_mutex_init(&db->queue_lock, NULL);
    pthread_cond_init(&db->queue_cond, NULL);
    pthread_mutex_init(&db->spare_lock, NULL);
    db->scratch = malloc(FOLIO_EVENT_BYTES_MAX);
    db->proj_scratch = malloc(FOLIO_PROJ_SCRATCH_BYTES);
    db->cmd = folio_cmd__create();
    db->cmd_hasher = folio_hasher__create();
    db->pcache = folio_pcache__create();
    db->path = strdup(path);
    db->rebuild_cache_bytes = (size_t)rebuild_cache;
    if (!db->scratch || !db->proj_scratch || !db->cmd || !db->cmd_hasher || !db->pcache || !db->path) {
        rc = folio_error__set(FOLIO_ERROR, "open: out of memory");
        goto cleanup;
    }
    unsigned perm = (opts->group_read ? FOLIO_STORE_GROUP_READ : 0u) |
                    (opts->allow_shared_write ? FOLIO_STORE_ALLOW_SHARED_WRITE : 0u);
    FOLIO_TRY(folio_store__open(&db->store, path, map, opts->read_only != 0,
                              opts->must_exist != 0, perm, &created));
    FOLIO_TRY(folio_projection__catch_up(db, 0));
    *out = db;
    return FOLIO_OK;
cleanup:
    folio_db_close(db);
    return rc;
}

void folio_db_close(folio_db *db) {
    if (!db) return;
    folio_store__close(db->store);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->queue_lock);
    pthread_cond_destroy(&db->queue_cond);
    folio_iter__release_spare(db);
    pthread_mutex_destroy(&db->spare_lock);
    free(db->scratch);
    free(db->proj_scratch);
    free(db->open_invoices);
    folio_cmd__free(db->cmd);
    folio_hasher__free(db->cmd_hasher);
    folio_pcache__free(db->pcache);
    free(db->path);
    free(db);
}

int folio_stream_version(uint64_t *version_out, folio_db *db, uint64_t stream) {
    folio_txn t = {0};
    folio_stream_rec rec;
    if (!version_out || !db) return folio_error__set(FOLIO_EINVAL, "stream_version: NULL argument");
    int rc = folio_store__read_begin(&t, db->store);
    if (rc < 0) return rc;
    rc = folio_log__read_stream(&rec, &t, stream);
    folio_store__read_end(&t);
    if (rc == FOLIO_ENOTFOUND) rc = FOLIO_OK; /* no events: version 0 */
    if (rc == FOLIO_OK) *version_out = rec.version;
    return rc;
}

int folio_stats_get(folio_stats *out, folio_db *db) {
    folio_txn t = {0};
    folio_head head;
    int rc = FOLIO_OK;
    if (!out || !db) return folio_error__set(FOLIO_EINVAL, "stats: NULL argument");
    memset(out, 0, sizeof *out);
    FOLIO_TRY(folio_store__read_begin(&t, db->store));
    folio_log_counts counts;
    FOLIO_TRY(folio_log__read_head(&head, &t));
    FOLIO_TRY(folio_log__read_counts(&counts, &t));
    memcpy(out->type_counts, counts.types, sizeof out->type_counts);
    out->streams = counts.streams;
    FOLIO_TRY(folio_store__read_format(&out->format, &t)); /* another handle may raise it */
    out->events = head.last_seq;
    memcpy(out->head, head.chain, FOLIO_HASH_BYTES);
    out->last_recorded_at_us = head.last_recorded_at_us;
    out->file_bytes = folio_store__file_bytes(db->store);
    if ((rc = folio_store__used_bytes(&out->used_bytes, &t)) < 0) goto cleanup;
    out->map_bytes = folio_store__map_bytes(db->store);
cleanup:
    if (t.mdb) folio_store__read_end(&t);
    return rc;
}

void folio_set_progress(folio_db *db, folio_progress_fn cb, void *payload) {
    if (!db) return;
    db->progress = cb;
    db->progress_payload = payload;
}

void folio_progress__report(folio_db *db, const char *what, uint64_t done, uint64_t total) {
    if (db && db->progress) db->progress(db->progress_payload, what, done, total);
}
