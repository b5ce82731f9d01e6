/*
 * projections/receivables.h - open items: every invoice, credit note, payment and refund with
 * its current open amount, the doc-number index, and each customer's open documents.
 * Statements "as of" a date are replays (engine/statement.c); this projection answers the
 * write-time questions: does this doc exist, how much of it is open, which invoices are open.
 */
#ifndef FOLIO_RECEIVABLES_H
#define FOLIO_RECEIVABLES_H

#include "../engine/projection.h"

/* Document kinds, as stored ('I', 'C', 'P', 'R') and as written in payloads. */
#define FOLIO_DOC_INVOICE 'I'
#define FOLIO_DOC_CREDIT_NOTE 'C'
#define FOLIO_DOC_PAYMENT 'P'
#define FOLIO_DOC_REFUND 'R'

/* What a document of `kind` adds to its customer's balance: invoices and refunds add their
 * amount (or open amount), credit notes and payments take it off. */
static inline int64_t folio_doc_signed(char kind, int64_t amount) {
    return kind == FOLIO_DOC_INVOICE || kind == FOLIO_DOC_REFUND ? amount : -amount;
}
/* The kind a document event issues (invoice.issued ... refund.issued), or 0. */
char folio_doc_kind_of(uint32_t event_type);

/* The payload name of a kind ("invoice", "credit_note", "payment", "refund"), or NULL. */
const char *folio_doc_kind_name(char kind);
/* The kind of a payload name, or 0. */
char folio_doc_kind_parse(const char *name, size_t n);

typedef struct {
    char kind;
    char doc[FOLIO_DOC_BYTES_MAX + 1];
    uint64_t customer; /* the customer it belongs to now (merges move open documents) */
    uint64_t seq;      /* seq of the event that issued it */
    int64_t amount;    /* minor units, > 0 */
    int64_t open;      /* what is not yet allocated or refunded */
    int32_t date, due; /* days since 1970-01-01; due = date when not given */
} folio_doc_rec;

/* The document record's value (FORMAT.md#projreceivables): six varints, 6 to 48 bytes.
 * encode writes customer, seq, amount, open, date and due of d (which keeps the invariants:
 * customer and seq >= 1, 0 < amount, 0 <= open <= amount, due >= date) and returns its
 * length; decode reads them back (not kind and doc, which are the key's), FOLIO_ECORRUPT for
 * bytes that are not such a record. */
#define FOLIO_DOC_REC_BYTES_MAX 48u /* 10 + 10 + 9 + 9 + 5 + 5 */
size_t folio_receivables__doc_encode(uint8_t out[FOLIO_DOC_REC_BYTES_MAX], const folio_doc_rec *d);
int folio_receivables__doc_decode(folio_doc_rec *d, const void *v, size_t n);

int folio_receivables__get(folio_doc_rec *out, folio_proj_txn *t, char kind, const char *doc,
                           size_t doc_bytes);

/* Generated document numbers (rule 10): the kind's prefix ("INV-", "CN-", "PAY-", "RF-")
 * and n >= 1 in decimal, zero-padded to 6 digits and never longer than it must be
 * (folio__put_decimal(out, n, 6)): "INV-000123", "INV-1234567". */
#define FOLIO_DOC_NUMBER_DIGITS_MIN 6u
#define FOLIO_DOC_NUMBER_BYTES_MAX (4u + 20u) /* the longest prefix, the digits of UINT64_MAX */
_Static_assert(FOLIO_DOC_NUMBER_BYTES_MAX <= FOLIO_DOC_BYTES_MAX,
               "every generated number is a valid document number");
/* Write the generated number n (>= 1) of `kind` (one of the four) into out, no NUL;
 * returns its length (at most FOLIO_DOC_NUMBER_BYTES_MAX). */
size_t folio_doc_number_format(char *out, char kind, uint64_t n);
/* Whether doc (doc_bytes bytes) is, byte for byte, what folio_doc_number_format writes for
 * `kind` and some n >= 1; sets *n_out to it (0 when not). "INV-0000123" (a zero beyond
 * the 6 digits), "INV-12" (fewer), "inv-000001", "INV-000000" and numbers past UINT64_MAX
 * are no generated number. */
int folio_doc_number_parse(uint64_t *n_out, char kind, const char *doc, size_t doc_bytes);

/* A kind's count record. */
typedef struct {
    uint64_t issued;     /* documents issued of the kind (numbers the next: issued + 1) */
    uint64_t number_max; /* the largest n whose generated number a document of the kind
                          * took, however it came (generated, given, imported, raw); 0:
                          * none. A generated number above it is free without a lookup. */
} folio_doc_count;
/* The count record of a kind (all zero before its first document). */
int folio_receivables__count(folio_doc_count *out, folio_proj_txn *t, char kind);
/* Visit a customer's documents with a non-zero open amount, in issue order. `visit` returns
 * FOLIO_OK to go on, FOLIO_ITEROVER to stop, or an error. */
int folio_receivables__open_items(folio_proj_txn *t, uint64_t customer,
                                  int (*visit)(const folio_doc_rec *d, void *arg), void *arg);

/* Credit holds placed by credit control (bits); status "hold" is a hold of its own. */
#define FOLIO_HOLD_CREDIT_LIMIT 1u
#define FOLIO_HOLD_PAST_DUE 2u

/* The hold bits after a credit_hold event naming `rule` (n bytes); FOLIO_EINVAL for an
 * unknown rule. The receivables fold and the card's replay (directory.c) share it. */
int folio_hold_apply(uint32_t *holds, uint32_t event_type, const char *rule, size_t n);

/* What a customer's documents and events add up to, kept next to its open items so that a
 * document rewrites one page of them (docs/FORMAT.md). The card shows these fields. */
typedef struct {
    char currency[4];   /* "" until customer.currency_set */
    uint64_t version;   /* the customer stream's version */
    uint64_t documents; /* financial documents counted (merges add the moved ones) */
    int64_t balance;    /* minor units: invoices - credit notes - payments + refunds */
    uint32_t holds;     /* credit holds placed by credit control (FOLIO_HOLD_* bits) */
} folio_customer_sums;

/* FOLIO_ENOTFOUND for a stream that is not a customer's. */
int folio_receivables__sums(folio_customer_sums *out, folio_proj_txn *t, uint64_t customer);

extern const folio_projection folio_receivables_projection;

#endif
