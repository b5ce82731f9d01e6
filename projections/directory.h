/*
 * projections/directory.h - the customer master read model (SPEC section 4: directory and
 * deleted), and the ledger settings. The fold of one customer's card is a pure function
 * (folio_directory__fold) used both by the projection and by "as known at seq N" replays.
 */
#ifndef FOLIO_DIRECTORY_H
#define FOLIO_DIRECTORY_H

#include <string.h>

#include "../engine/projection.h"
#include "receivables.h"

/* A string inside some buffer (a record, a payload): not NUL-terminated; s NULL = absent. */
typedef struct {
    const char *s;
    uint32_t n;
} folio_dstr;

static inline int folio_dstr_same(folio_dstr a, folio_dstr b) {
    if (!a.s || !b.s) return a.s == b.s;
    return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}
static inline int folio_dstr_is(folio_dstr a, const char *b) {
    return a.s && a.n == strlen(b) && memcmp(a.s, b, a.n) == 0;
}
/* Write a string, or nil when absent. */
static inline void folio_mpw__dstr(folio_mpw *w, folio_dstr s) {
    if (s.s)
        folio_mpw__strn(w, s.s, s.n);
    else
        folio_mpw__nil(w);
}

enum { FOLIO_ADDR_STREET, FOLIO_ADDR_CITY, FOLIO_ADDR_REGION, FOLIO_ADDR_POSTCODE,
       FOLIO_ADDR_COUNTRY, FOLIO_ADDR_FIELDS };
extern const char *const folio_addr_field_names[FOLIO_ADDR_FIELDS];

typedef struct {
    folio_dstr f[FOLIO_ADDR_FIELDS];
} folio_daddr;

typedef struct {
    uint64_t id;
    folio_dstr name, email, phone, role;
} folio_dcontact;


typedef struct folio_dir_rec {
    uint64_t id; /* 0: no customer (yet) */
    uint64_t version, created_seq, next_contact, documents, deleted_seq, merged_into;
    int64_t deleted_at_us, balance;
    uint32_t credit_holds;
    folio_dstr ref, name, type, status, currency, owner, external_id, credit_limit,
        merged_into_ref;
    folio_daddr billing, shipping;
    uint32_t contact_count;
    folio_dcontact contacts[FOLIO_CONTACTS_MAX];
} folio_dir_rec;

int folio_directory__decode(folio_dir_rec *r, const void *bytes, size_t n);
/* Encode into buf[0..cap); *n_out = bytes used. */
int folio_directory__encode(size_t *n_out, uint8_t *buf, size_t cap, const folio_dir_rec *r);
/* Fold one event of this customer's stream into r (r->id 0: no card yet). Strings of r may
 * point into the event's payload afterwards. *applies = 0 for events the card ignores
 * (events of a stream that has no customer.created). FOLIO_EINVAL for an event that
 * contradicts the card (malformed payload, a second creation, balance overflow). */
int folio_directory__fold(folio_dir_rec *r, const folio_event *e, int *applies);

int folio_directory__get(folio_dir_rec *r, folio_proj_txn *t, uint64_t id);
/* Who has ref `ref`: FOLIO_OK and *id, else FOLIO_ENOTFOUND. */
int folio_directory__id_by_ref(uint64_t *id, folio_proj_txn *t, const char *ref, size_t n);
/* The same, asked for customer `creating` (its card does not exist yet), who would take the
 * ref: its natural ref is free without a lookup unless the index holds a ref ending in the
 * same number. */
int folio_directory__ref_owner(uint64_t *id, folio_proj_txn *t, const char *ref, size_t n,
                               uint64_t creating);
/* The number a ref ends in when it is written as a generated ref writes it: all its final
 * digits, zero-padded to FOLIO_REF_DIGITS_MIN and otherwise without leading zeros
 * ("CUST-000042" 42, "X1234567" 1234567); 0 for any other ref ("A42", "A0000042", "ACME").
 * A ref is natural when this is its own customer's id. */
#define FOLIO_REF_DIGITS_MIN 6u
uint64_t folio_ref_number(const char *s, size_t n);
int folio_directory__id_by_name(uint64_t *id, folio_proj_txn *t, const char *name, size_t n);
int folio_directory__id_by_external_id(uint64_t *id, folio_proj_txn *t, const char *xid, size_t n);
int folio_directory__settings(folio_settings *out, folio_proj_txn *t);
/* The settings record's bytes (NULL, 0: never configured), and their decoding (as
 * folio_directory__settings), for a caller that keeps the last decoded settings. */
int folio_directory__settings_raw(const void **bytes_out, size_t *n_out, folio_proj_txn *t);
int folio_directory__settings_decode(folio_settings *out, const void *bytes, size_t n);
int folio_directory__any_customer(int *yes, folio_proj_txn *t);

/* Key prefixes: 'c' + BE u64 id -> card; 'r' + ref -> id (every ref ever that is not natural:
 * never reused; 'r' alone: the largest number an indexed ref ends in, directory.c);
 * 'n' + name -> id (customers not deleted); 'x' + external id -> id (customers not deleted);
 * 'd' + BE u64 deleted seq -> id; 's' settings. */
#define FOLIO_DIR_CARD 'c'
#define FOLIO_DIR_REF 'r'
#define FOLIO_DIR_NAME 'n'
#define FOLIO_DIR_DELETED 'd'
#define FOLIO_DIR_EXTERNAL 'x'

extern const folio_projection folio_directory_projection;

#endif
