/*
 * engine/command.h - running a write through the rules.
 * A command runs inside one write transaction: it reads the projections (as of the last
 * commit), checks its rules, and stages events; the runner then checks the expected version,
 * appends the staged events (every projection folds them in the same transaction) and
 * commits. A refused command appends nothing. With an idempotency key, a repeat of the same
 * request (same command, arguments, actor, reason and correlation) returns the original
 * result and appends nothing; the key with another request is refused (FOLIO_EEXISTS).
 */
#ifndef FOLIO_COMMAND_H
#define FOLIO_COMMAND_H

#include "internal.h"
#include "mp.h"
#include "projection.h"

/* Events one command may append: a payment and its allocations and a credit hold, or a
 * merge and the contacts it moves. The one command that may stage more is a change of the
 * credit control (folio_ledger_init), which places or releases holds of every customer whose
 * hold no longer agrees with it: it makes room with folio_cmd__reserve. */
#define FOLIO_CMD_EVENTS_MAX (FOLIO_CONTACTS_MAX + 8u)
_Static_assert(FOLIO_CMD_EVENTS_MAX >= FOLIO_ALLOCATIONS_MAX + 8u, "room for allocations");

/* Customer cards a command reads (each ~20 KB with its contacts), allocated once with the
 * command state and reused: no allocation per command. */
struct folio_dir_rec;
enum {
    FOLIO_CMD_CARD_MAIN = 0,   /* the customer the command writes to */
    FOLIO_CMD_CARD_OTHER = 1,  /* a second customer (merge's DELETE side, upsert, name holder) */
    FOLIO_CMD_CARD_RESULT = 2, /* describing the result */
    FOLIO_CMD_CARDS = 3
};

typedef struct folio_cmd {
    folio_db *db;
    folio_txn *txn;
    folio_proj_txn dir; /* the directory projection, read-only for the command */
    const folio_write_opts *w;
    size_t count;
    size_t cap;               /* events and payloads staged at most: FOLIO_CMD_EVENTS_MAX
                               * when a command begins, more after folio_cmd__reserve */
    folio_event *events;      /* [cap] */
    folio_mpw *payloads;      /* [cap] */
    /* Set by the command (folio_cmd__target): the customer the result names. */
    uint64_t primary;
    uint64_t item_id;
    char doc[FOLIO_DOC_BYTES_MAX + 1]; /* a document number written, for the result */
    struct folio_dir_rec *cards[FOLIO_CMD_CARDS];
    /* The ref of customer known_ref_id, when the command read its card (refs never change):
     * describing the result then needs no second read of the card. */
    uint64_t known_ref_id;
    char known_ref[FOLIO_REF_BYTES_MAX + 1];
    int existed;                       /* upsert/import found it already there */
} folio_cmd;

/* Name the customer the command writes to, and check the caller's expected version of it
 * now, before any rule about its current state (the customer must be found and not deleted
 * or merged first; a stale caller then gets FOLIO_ECONFLICT, not a rule about old state). */
int folio_cmd__target(folio_cmd *c, uint64_t id, const char *ref);
/* The ledger settings (folio_directory__settings), decoded once per settings record: the
 * handle keeps the last decoded record's bytes and result. Under the write lock. */
int folio_cmd__settings(folio_settings *out, folio_cmd *c);

/* Stage an event; returns the writer for its payload (a msgpack map the caller fills).
 * Precondition: c->count < c->cap. */
folio_mpw *folio_cmd__stage(folio_cmd *c, uint64_t stream, uint32_t type);
/* Room for `more` events past those staged (c->cap grows, for this command only: the next
 * one starts at FOLIO_CMD_EVENTS_MAX again). FOLIO_ERROR when out of memory. */
int folio_cmd__reserve(folio_cmd *c, size_t more);

/* Run `fn` as one command. `request` is the canonical encoding of the command and its
 * arguments (for the idempotency hash). */
int folio_cmd__run(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                   const folio_mpw *request, int (*fn)(folio_cmd *c, void *arg), void *arg);

/* As folio_cmd__run, for a create-or-update (folio_customer_upsert): the result of a repeat
 * says whether the customer existed, as the original's did (it existed unless the original
 * created it). */
int folio_cmd__run_upsert(folio_write_result *out, folio_db *db, const folio_write_opts *w,
                          const folio_mpw *request, int (*fn)(folio_cmd *c, void *arg),
                          void *arg);

/* Validate the options of a write (actor required, lengths, UTF-8). */
int folio_cmd__check_opts(const folio_write_opts *w);

folio_cmd *folio_cmd__create(void);
void folio_cmd__free(folio_cmd *c);

#endif
