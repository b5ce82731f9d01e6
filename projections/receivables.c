/*
 * projections/receivables.c - documents and their open amounts (receivables.h).
 *
 * Keys in sub-database "proj.receivables":
 *   'i' + kind + doc        -> document, keyed by doc's bytes or, when doc is in its kind's
 *                              generated form, 'i' + kind + 0xFE + n (doc_key, below):
 *                              six varints (folio_receivables__doc_encode):
 *                              customer, seq, amount, amount - open, date (zigzag), due -
 *                              date; 6 to 48 bytes (12 to 14 for the benchmark's)
 *   'i' + kind + 0xFF       -> the kind's count record (16 bytes): LE u64 documents issued
 *                              of that kind, LE u64 the largest n whose generated number
 *                              (folio_doc_number_format: prefix + n zero-padded to 6 digits,
 *                              exactly) a document of that kind took, 0 for none. Right after
 *                              the documents of that kind (0xFF never begins UTF-8 text), so
 *                              that a numbered document and the count share a leaf page.
 * Per-stream records in "streams" (tag 'r', engine/projection.h), right after the
 * customer's stream record: first the sums, then the open items newest first, so that a
 * document rewrites one page for its stream record, the sums and its open item, however
 * many open items the customer has:
 *   BE u64 customer + 'r' + 8 x 0x00     -> the customer's sums (SUMS_BYTES, below): currency,
 *                              stream version, documents, balance, credit holds;
 *   BE u64 customer + 'r' + BE u64 ~seq  -> kind + doc, for documents whose open amount is
 *                              not 0 (~seq: the bits of seq inverted, so newest first); a doc
 *                              in its kind's generated form as kind | 0x80 + varint n
 *                              (open_value).
 * Invariants: 0 <= open <= amount; the open-item index holds exactly the documents with open != 0
 * under the customer that owns them; doc numbers are unique per kind; a customer's balance
 * is the sum of its open amounts (invoices and refunds positive, the others negative); no
 * document of a kind has a number in generated form above its count record's largest (every
 * document is issued here, none is deleted, a merge keeps numbers), so such a number is new
 * without a lookup, here and in the command that generates it (engine/documents.c).
 * Events of streams without customer.created are ignored; an event that contradicts the
 * documents (a repeated doc number, an allocation larger than what is open, a document
 * before the currency, a balance overflow, a malformed payload) is refused, so raw appends
 * cannot break the invariants.
 */
#include "receivables.h"

#include <string.h>

/* currency (3 bytes, zero until set), 1 byte 0, LE u64 version, LE u64 documents,
 * LE i64 balance, LE u32 holds */
#define SUMS_BYTES 32u

char folio_doc_kind_of(uint32_t event_type) {
    switch (event_type) {
    case FOLIO_EV_INVOICE_ISSUED: return FOLIO_DOC_INVOICE;
    case FOLIO_EV_CREDIT_NOTE_ISSUED: return FOLIO_DOC_CREDIT_NOTE;
    case FOLIO_EV_PAYMENT_RECEIVED: return FOLIO_DOC_PAYMENT;
    case FOLIO_EV_REFUND_ISSUED: return FOLIO_DOC_REFUND;
    default: return 0;
    }
}

const char *folio_doc_kind_name(char kind) {
    switch (kind) {
    case FOLIO_DOC_INVOICE: return "invoice";
    case FOLIO_DOC_CREDIT_NOTE: return "credit_note";
    case FOLIO_DOC_PAYMENT: return "payment";
    case FOLIO_DOC_REFUND: return "refund";
    default: return NULL;
    }
}

char folio_doc_kind_parse(const char *name, size_t n) {
    static const char kinds[] = {FOLIO_DOC_INVOICE, FOLIO_DOC_CREDIT_NOTE, FOLIO_DOC_PAYMENT,
                                 FOLIO_DOC_REFUND};
    for (size_t i = 0; i < sizeof kinds; i++) {
        const char *k = folio_doc_kind_name(kinds[i]);
        if (strlen(k) == n && memcmp(k, name, n) == 0) return kinds[i];
    }
    return 0;
}

/* The count of documents of a kind sorts after every document of that kind. */
#define COUNT_KEY_BYTE 0xFFu
/* LE u64 documents issued, LE u64 largest generated-form number taken (folio_doc_count) */
#define COUNT_BYTES 16u

/* The prefix of a kind's generated numbers and its length; NULL for an unknown kind. */
static const char *number_prefix(size_t *bytes, char kind) {
    switch (kind) {
    case FOLIO_DOC_INVOICE: *bytes = 4; return "INV-";
    case FOLIO_DOC_CREDIT_NOTE: *bytes = 3; return "CN-";
    case FOLIO_DOC_PAYMENT: *bytes = 4; return "PAY-";
    case FOLIO_DOC_REFUND: *bytes = 3; return "RF-";
    default: *bytes = 0; return NULL;
    }
}

size_t folio_doc_number_format(char *out, char kind, uint64_t n) {
    size_t prefix_bytes;
    const char *prefix = number_prefix(&prefix_bytes, kind);
    if (!prefix || n == 0) return 0; /* (the engine's callers assert a length) */
    memcpy(out, prefix, prefix_bytes);
    return prefix_bytes + folio__put_decimal(out + prefix_bytes, n, FOLIO_DOC_NUMBER_DIGITS_MIN);
}

/* The inverse of folio_doc_number_format, exactly: only the bytes it writes parse. Bounded
 * by the 20 digits of UINT64_MAX. The fold calls it for every document. */
int folio_doc_number_parse(uint64_t *n_out, char kind, const char *doc, size_t doc_bytes) {
    size_t prefix_bytes;
    const char *prefix = number_prefix(&prefix_bytes, kind);
    *n_out = 0;
    if (!prefix || doc_bytes < prefix_bytes + FOLIO_DOC_NUMBER_DIGITS_MIN ||
        doc_bytes > prefix_bytes + 20)
        return 0;
    for (size_t i = 0; i < prefix_bytes; i++)
        if (doc[i] != prefix[i]) return 0;
    const char *digits = doc + prefix_bytes;
    size_t digit_count = doc_bytes - prefix_bytes;
    if (digit_count > FOLIO_DOC_NUMBER_DIGITS_MIN && digits[0] == '0')
        return 0; /* zero-padded only up to 6 digits */
    uint64_t n = 0;
    for (size_t i = 0; i < digit_count; i++) {
        unsigned digit = (unsigned)(unsigned char)digits[i] - '0';
        if (digit > 9) return 0;
        if (__builtin_mul_overflow(n, 10u, &n) || __builtin_add_overflow(n, digit, &n))
            return 0; /* past UINT64_MAX: no n writes it */
    }
    if (n == 0) return 0; /* generated numbers count from 1 */
    *n_out = n;
    return 1;
}

/* Document keys: a number in its kind's generated form ('INV-000123') is keyed by its n,
 * 'i' + kind + GENERATED_KEY_BYTE + the count of n's bytes (1 to 8) + n in that many bytes,
 * big-endian (5 to 7 bytes for the first 16 million numbers instead of 12), which sorts the
 * generated numbers in numeric order after every other number of the kind and right before
 * the kind's count. Any other number is 'i' + kind + its bytes. Neither 0xFE nor 0xFF begins
 * UTF-8 text, so a number that begins with one of them is refused. */
#define GENERATED_KEY_BYTE 0xFEu
#define DOC_KEY_BYTES_MAX (2u + FOLIO_DOC_BYTES_MAX)
_Static_assert(4u + 8u <= DOC_KEY_BYTES_MAX, "a generated number's key fits");

/* The key of document doc (n bytes) of kind; `number` is what folio_doc_number_parse found
 * in it (n, or 0 when it is not in generated form). */
static int doc_key(uint8_t key[DOC_KEY_BYTES_MAX], size_t *klen, char kind, const char *doc,
                   size_t n, uint64_t number) {
    if (n == 0 || n > FOLIO_DOC_BYTES_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "document number must be 1 to %u bytes",
                                FOLIO_DOC_BYTES_MAX);
    if ((uint8_t)doc[0] >= GENERATED_KEY_BYTE) /* not UTF-8: would be a generated or count key */
        return folio_proj__fail(FOLIO_EINVAL, "document number is not valid UTF-8");
    key[0] = 'i';
    key[1] = (uint8_t)kind;
    if (number != 0) {
        unsigned bytes = (unsigned)(71 - __builtin_clzll(number)) / 8; /* 1 to 8 */
        key[2] = GENERATED_KEY_BYTE;
        key[3] = (uint8_t)bytes;
        for (unsigned i = 0; i < bytes; i++) key[4 + i] = (uint8_t)(number >> (8 * (bytes - 1 - i)));
        *klen = 4 + bytes;
        return FOLIO_OK;
    }
    memcpy(key + 2, doc, n);
    *klen = n + 2;
    return FOLIO_OK;
}

/* The document record: six LEB128 varints (7 bits a byte, the lowest first, 0x80 on every
 * byte but the last; no byte of zeros at the end of a varint of more than one byte, so every
 * value has one encoding): customer, seq, amount, amount - open, date zigzagged (0 -> 0,
 * -1 -> 1, 1 -> 2, ...), due - date. A document of the benchmark takes 12 to 14 bytes (it
 * took 40 as fixed fields). */
static size_t put_varint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* A varint at *p (before end); advances *p. Refuses one that runs past end, one past 64 bits
 * and one with a redundant last byte (0 after a byte with 0x80). */
static int get_varint(uint64_t *out, const uint8_t **p, const uint8_t *end) {
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        if (shift == 63 && b > 1) return FOLIO_ECORRUPT; /* past 64 bits */
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0) return FOLIO_ECORRUPT; /* not the shortest form */
            *out = v;
            return FOLIO_OK;
        }
    }
    return FOLIO_ECORRUPT; /* ends inside the varint, or more than 10 bytes */
}

size_t folio_receivables__doc_encode(uint8_t out[FOLIO_DOC_REC_BYTES_MAX], const folio_doc_rec *d) {
    uint32_t date = (uint32_t)d->date;
    size_t n = put_varint(out, d->customer);
    n += put_varint(out + n, d->seq);
    n += put_varint(out + n, (uint64_t)d->amount);
    n += put_varint(out + n, (uint64_t)d->amount - (uint64_t)d->open);
    n += put_varint(out + n, (uint32_t)(date << 1) ^ (uint32_t)-(date >> 31));
    n += put_varint(out + n, (uint32_t)d->due - date);
    return n;
}

int folio_receivables__doc_decode(folio_doc_rec *d, const void *v, size_t n) {
    const uint8_t *p = v, *end = p + n;
    uint64_t customer, seq, amount, closed, date, due_after;
    if (get_varint(&customer, &p, end) < 0 || get_varint(&seq, &p, end) < 0 ||
        get_varint(&amount, &p, end) < 0 || get_varint(&closed, &p, end) < 0 ||
        get_varint(&date, &p, end) < 0 || get_varint(&due_after, &p, end) < 0 || p != end)
        return FOLIO_ECORRUPT;
    /* the invariants every document keeps: 0 <= open <= amount, amount > 0, due >= date */
    if (customer == 0 || seq == 0 || amount == 0 || amount > INT64_MAX || closed > amount ||
        date > UINT32_MAX || due_after > UINT32_MAX)
        return FOLIO_ECORRUPT;
    int64_t day = (int64_t)(date >> 1) ^ -(int64_t)(date & 1);
    if (day + (int64_t)due_after > INT32_MAX) return FOLIO_ECORRUPT;
    d->customer = customer;
    d->seq = seq;
    d->amount = (int64_t)amount;
    d->open = (int64_t)(amount - closed);
    d->date = (int32_t)day;
    d->due = (int32_t)(day + (int64_t)due_after);
    return FOLIO_OK;
}

int folio_receivables__get(folio_doc_rec *out, folio_proj_txn *t, char kind, const char *doc,
                           size_t doc_bytes) {
    uint8_t key[DOC_KEY_BYTES_MAX];
    size_t klen = 0;
    const void *v;
    size_t vn;
    uint64_t number;
    if (doc_bytes == 0 || doc_bytes > FOLIO_DOC_BYTES_MAX ||
        (uint8_t)doc[0] >= GENERATED_KEY_BYTE)
        return FOLIO_ENOTFOUND;
    folio_doc_number_parse(&number, kind, doc, doc_bytes);
    int rc = doc_key(key, &klen, kind, doc, doc_bytes, number);
    if (rc == FOLIO_OK) rc = folio_proj__get(&v, &vn, t, key, klen);
    if (rc < 0) return rc;
    if (folio_receivables__doc_decode(out, v, vn) < 0)
        return folio_proj__fail(FOLIO_ECORRUPT, "document record '%.*s' is malformed",
                                (int)doc_bytes, doc);
    out->kind = kind;
    memcpy(out->doc, doc, doc_bytes);
    out->doc[doc_bytes] = '\0';
    return FOLIO_OK;
}

/* Per-stream keys: customer + tag, then BE u64 ~seq (an open item; seq UINT64_MAX, never
 * an event's, gives the sums' 8 x 0x00). */
#define OPEN_KEY_BYTES (FOLIO_PROJ_STREAM_KEY_BYTES + 8u)
#define SUMS_SEQ UINT64_MAX

static void open_key(uint8_t key[OPEN_KEY_BYTES], const folio_proj_txn *st, uint64_t customer,
                     uint64_t seq) {
    folio_proj__stream_key(key, st, customer);
    folio__put_be64(key + FOLIO_PROJ_STREAM_KEY_BYTES, ~seq);
}

/* An open item's value: its document's kind and number. A number in its kind's generated
 * form (folio_doc_number_parse) is written as kind | 0x80 and a varint of n (INV-000001 to
 * INV-2097151 in 4 bytes instead of 11), any other number as kind + its bytes. `number` is
 * what folio_doc_number_parse found in doc: n, or 0 when it is not in generated form. */
#define OPEN_GENERATED 0x80u

static size_t open_value(uint8_t out[1 + FOLIO_DOC_BYTES_MAX], char kind, const char *doc,
                         size_t n, uint64_t number) {
    if (number != 0) {
        out[0] = (uint8_t)((uint8_t)kind | OPEN_GENERATED);
        return 1 + put_varint(out + 1, number);
    }
    out[0] = (uint8_t)kind;
    memcpy(out + 1, doc, n);
    return 1 + n;
}

/* The kind and number (doc, *n_out bytes, no NUL) of an open item's value; FOLIO_ECORRUPT
 * for bytes open_value does not write: a generated form with an unknown kind, a bad varint,
 * n 0 or bytes after it; a number written out that is in generated form, or empty. */
static int open_value_decode(char *kind_out, char doc[FOLIO_DOC_BYTES_MAX], size_t *n_out,
                             const uint8_t *v, size_t vn) {
    uint64_t number;
    if (vn < 2 || vn > 1 + FOLIO_DOC_BYTES_MAX) return FOLIO_ECORRUPT;
    char kind = (char)(v[0] & ~OPEN_GENERATED);
    if (!folio_doc_kind_name(kind)) return FOLIO_ECORRUPT;
    if (v[0] & OPEN_GENERATED) {
        const uint8_t *p = v + 1;
        if (get_varint(&number, &p, v + vn) < 0 || p != v + vn || number == 0 ||
            !folio_doc_kind_name(kind))
            return FOLIO_ECORRUPT;
        *n_out = folio_doc_number_format(doc, kind, number);
    } else {
        if (folio_doc_number_parse(&number, kind, (const char *)v + 1, vn - 1))
            return FOLIO_ECORRUPT; /* written in the short form */
        memcpy(doc, v + 1, vn - 1);
        *n_out = vn - 1;
    }
    *kind_out = kind;
    return FOLIO_OK;
}

/* Write a document record and keep the open-item index in step with its open amount.
 * `number`: the n of d->doc when it is in its kind's generated form, else 0 (the issue has
 * parsed it already; doc_number below parses it for the others). */
static int put_doc(folio_proj_txn *t, const folio_doc_rec *d, int64_t old_open,
                   uint64_t old_customer, uint64_t number) {
    uint8_t key[DOC_KEY_BYTES_MAX], val[FOLIO_DOC_REC_BYTES_MAX], okey[OPEN_KEY_BYTES],
        oval[1 + FOLIO_DOC_BYTES_MAX];
    size_t klen = 0, n = strlen(d->doc);
    folio_proj_txn st;
    folio_proj__streams(&st, t);
    int rc = doc_key(key, &klen, d->kind, d->doc, n, number);
    if (rc < 0) return rc;
    size_t vlen = folio_receivables__doc_encode(val, d);
    if ((rc = folio_proj__put(t, key, klen, val, vlen)) < 0) return rc;
    if (old_open != 0) {
        open_key(okey, &st, old_customer, d->seq);
        if ((rc = folio_proj__del(&st, okey, sizeof okey)) < 0) return rc;
    }
    if (d->open != 0) {
        open_key(okey, &st, d->customer, d->seq);
        size_t on = open_value(oval, d->kind, d->doc, n, number);
        if ((rc = folio_proj__put(&st, okey, sizeof okey, oval, on)) < 0) return rc;
    }
    return FOLIO_OK;
}

/* The n of a document's number in its kind's generated form, or 0 (put_doc's `number`). */
static uint64_t doc_number(const folio_doc_rec *d) {
    uint64_t number;
    folio_doc_number_parse(&number, d->kind, d->doc, strlen(d->doc));
    return number;
}

int folio_receivables__count(folio_doc_count *out, folio_proj_txn *t, char kind) {
    uint8_t key[3] = {'i', (uint8_t)kind, COUNT_KEY_BYTE};
    const void *v;
    size_t vn;
    out->issued = 0;
    out->number_max = 0;
    int rc = folio_proj__get(&v, &vn, t, key, sizeof key);
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK;
    if (rc < 0) return rc;
    /* written only by issue, with at least one document (an 8-byte count is code version 4's,
     * which a read-write open rebuilds before anything reads it) */
    if (vn != COUNT_BYTES)
        return folio_proj__fail(FOLIO_ECORRUPT,
                                "document count of kind '%c' is malformed: %zu bytes, not %u",
                                kind, vn, COUNT_BYTES);
    if (folio__get_le64(v) == 0)
        return folio_proj__fail(FOLIO_ECORRUPT,
                                "document count of kind '%c' is malformed: no document issued",
                                kind);
    out->issued = folio__get_le64(v);
    out->number_max = folio__get_le64((const uint8_t *)v + 8);
    return FOLIO_OK;
}

int folio_receivables__open_items(folio_proj_txn *t, uint64_t customer,
                                  int (*visit)(const folio_doc_rec *d, void *arg), void *arg) {
    uint8_t prefix[FOLIO_PROJ_STREAM_KEY_BYTES];
    folio_proj_iter it;
    folio_proj_txn st;
    const void *k, *v;
    size_t kn, vn;
    int rc;
    folio_proj__streams(&st, t);
    folio_proj__stream_key(prefix, &st, customer);
    folio_proj__iter_init_reverse(&it, &st, prefix, sizeof prefix); /* oldest first */
    while ((rc = folio_proj__iter_next(&it, &k, &kn, &v, &vn)) == FOLIO_OK) {
        folio_doc_rec d;
        if (kn != OPEN_KEY_BYTES) {
            rc = folio_proj__fail(FOLIO_ECORRUPT, "open-item index is malformed");
            break;
        }
        if (folio__get_be64((const uint8_t *)k + FOLIO_PROJ_STREAM_KEY_BYTES) == ~SUMS_SEQ)
            continue; /* the customer's sums, before its open items */
        /* Copy out before the nested lookup: the cursor's values stay valid (no writes). */
        char kind, doc[FOLIO_DOC_BYTES_MAX];
        size_t n;
        if (open_value_decode(&kind, doc, &n, v, vn) < 0) {
            rc = folio_proj__fail(FOLIO_ECORRUPT, "open-item index is malformed");
            break;
        }
        rc = folio_receivables__get(&d, t, kind, doc, n);
        /* the index and the documents agree (receivables.c invariants): anything else is
         * damage, not a document that is not there */
        if (rc == FOLIO_ENOTFOUND ||
            (rc == FOLIO_OK && (d.customer != customer || d.open == 0 ||
                                d.seq != ~folio__get_be64((const uint8_t *)k +
                                                          FOLIO_PROJ_STREAM_KEY_BYTES)))) {
            rc = folio_proj__fail(FOLIO_ECORRUPT, "open-item index names %.*s, which is not an "
                                                  "open document of customer %llu",
                                  (int)n, doc, (unsigned long long)customer);
            break;
        }
        if (rc < 0) break;
        if ((rc = visit(&d, arg)) != FOLIO_OK) break;
    }
    folio_proj__iter_close(&it);
    return rc == FOLIO_ITEROVER ? FOLIO_OK : rc;
}

/* ---------------------------------------------------------------------------------------
 * The fold
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n;
} span;

/* The string (or nil) of key, at v: v->p NULL when the payload has no such key, walk_rc
 * below 0 when the payload could not be searched (not a map). */
static int field_at(span *out, const folio_mpr *v, int walk_rc, const char *key, int required,
                    const char *tn) {
    folio_mpr at = *v;
    int rc = walk_rc;
    out->s = NULL;
    out->n = 0;
    if (rc == FOLIO_OK && !at.p) {
        if (!required) return FOLIO_OK;
        rc = FOLIO_ENOTFOUND;
    }
    if (rc == FOLIO_OK) rc = folio_mpr__str(&at, &out->s, &out->n);
    if (rc < 0 || (required && !out->s))
        return folio_proj__fail(FOLIO_EINVAL, "%s without a string '%s'", tn, key);
    return FOLIO_OK;
}

static int field(span *out, const folio_mpr *p, const char *key, int required, const char *tn) {
    /* folio_mpr__find sets v only when it finds the key: an absent key is v.p NULL here, not
     * whatever the stack held (the value of the key looked up before, as a rule) */
    folio_mpr v = {NULL, p->end};
    int rc = folio_mpr__find(&v, p, key);
    if (rc == FOLIO_ENOTFOUND) {
        v.p = NULL;
        rc = FOLIO_OK;
    }
    return field_at(out, &v, rc, key, required, tn);
}

static int date_of(int32_t *out, span s, const char *tn) {
    char buf[16];
    if (!s.s || s.n >= sizeof buf) return folio_proj__fail(FOLIO_EINVAL, "%s: bad date", tn);
    memcpy(buf, s.s, s.n);
    buf[s.n] = '\0';
    if (folio_date_parse(out, buf) < 0) return folio_proj__fail(FOLIO_EINVAL, "%s: bad date", tn);
    return FOLIO_OK;
}

static int amount_of(int64_t *out, span s, const char *currency, const char *tn) {
    char buf[FOLIO_MONEY_TEXT_MAX + 8];
    if (!s.s || s.n >= sizeof buf) return folio_proj__fail(FOLIO_EINVAL, "%s: bad amount", tn);
    memcpy(buf, s.s, s.n);
    buf[s.n] = '\0';
    if (folio_money_parse(out, buf, currency) < 0 || *out <= 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s: amount '%s' is not a positive %s amount", tn,
                                buf, currency);
    return FOLIO_OK;
}

int folio_receivables__sums(folio_customer_sums *out, folio_proj_txn *t, uint64_t customer) {
    uint8_t key[OPEN_KEY_BYTES];
    const void *v;
    size_t vn;
    folio_proj_txn st;
    folio_proj__streams(&st, t);
    open_key(key, &st, customer, SUMS_SEQ);
    int rc = folio_proj__get(&v, &vn, &st, key, sizeof key);
    if (rc < 0) return rc;
    const uint8_t *b = v;
    if (vn != SUMS_BYTES || b[3] != 0 || (b[0] == 0) != (b[1] == 0) || (b[0] == 0) != (b[2] == 0))
        return folio_proj__fail(FOLIO_ECORRUPT, "customer sums record is malformed");
    memcpy(out->currency, b, 3);
    out->currency[3] = '\0';
    out->version = folio__get_le64(b + 4);
    out->documents = folio__get_le64(b + 12);
    out->balance = (int64_t)folio__get_le64(b + 20);
    out->holds = folio__get_le32(b + 28);
    return FOLIO_OK;
}

static int put_sums(folio_proj_txn *t, uint64_t customer, const folio_customer_sums *s) {
    uint8_t key[OPEN_KEY_BYTES], b[SUMS_BYTES] = {0};
    folio_proj_txn st;
    folio_proj__streams(&st, t);
    open_key(key, &st, customer, SUMS_SEQ);
    memcpy(b, s->currency, 3);
    folio__put_le64(b + 4, s->version);
    folio__put_le64(b + 12, s->documents);
    folio__put_le64(b + 20, (uint64_t)s->balance);
    folio__put_le32(b + 28, s->holds);
    return folio_proj__put(&st, key, sizeof key, b, SUMS_BYTES);
}

static int sums_add(folio_customer_sums *s, int64_t delta, const char *tn) {
    if (__builtin_add_overflow(s->balance, delta, &s->balance))
        return folio_proj__fail(FOLIO_EINVAL, "%s would overflow the balance", tn);
    return FOLIO_OK;
}

/* A document the event names: it must exist and belong to this customer. */
static int owned_doc(folio_doc_rec *d, folio_proj_txn *t, uint64_t customer, char kind, span doc,
                     const char *tn) {
    int rc = folio_receivables__get(d, t, kind, doc.s, doc.n);
    if (rc == FOLIO_ENOTFOUND || (rc == FOLIO_OK && d->customer != customer))
        return folio_proj__fail(FOLIO_EINVAL, "%s: customer has no %s '%.*s'", tn,
                                folio_doc_kind_name(kind), (int)doc.n, doc.s);
    return rc;
}

static int issue(int64_t *amount_out, folio_proj_txn *t, const folio_event *e,
                 const folio_mpr *p, char kind, const char *cur, const char *tn) {
    static const folio_mp_key keys[] = {FOLIO_MP_KEY("doc"), FOLIO_MP_KEY("date"),
                                        FOLIO_MP_KEY("due"), FOLIO_MP_KEY("amount")};
    span doc, date, due, amount;
    folio_mpr v[4];
    folio_doc_rec d, old;
    int rc;
    /* one walk of the payload for the four keys; each is then taken as field() takes it, in
     * the same order (the first that is wrong names itself) */
    const int walk = folio_mpr__find_keys(v, p, keys, 4);
    if ((rc = field_at(&doc, &v[0], walk, keys[0].s, 1, tn)) < 0 ||
        (rc = field_at(&date, &v[1], walk, keys[1].s, 1, tn)) < 0 ||
        (rc = field_at(&due, &v[2], walk, keys[2].s, 0, tn)) < 0 ||
        (rc = field_at(&amount, &v[3], walk, keys[3].s, 1, tn)) < 0)
        return rc;
    if (doc.n == 0 || doc.n > FOLIO_DOC_BYTES_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "%s: document number must be 1 to %u bytes", tn,
                                FOLIO_DOC_BYTES_MAX);
    folio_doc_count count;
    uint64_t number;
    if ((rc = folio_receivables__count(&count, t, kind)) < 0) return rc;
    /* Every document of the kind went through here and raised number_max to its number when
     * that is in generated form, and none is ever deleted: a generated-form number above it
     * is new without a lookup (the generated ones, as a rule). Any other is looked up. */
    int generated = folio_doc_number_parse(&number, kind, doc.s, doc.n);
    int fresh = generated && number > count.number_max;
#ifdef NDEBUG
    if (!fresh)
#endif
    {
        rc = folio_receivables__get(&old, t, kind, doc.s, doc.n);
        if (rc == FOLIO_OK && fresh) /* debug builds look the fresh ones up too */
            return folio_proj__fail(FOLIO_ECORRUPT,
                                    "%s: %s '%.*s' exists, above the largest number (%llu) its "
                                    "kind's count records",
                                    tn, folio_doc_kind_name(kind), (int)doc.n, doc.s,
                                    (unsigned long long)count.number_max);
        if (rc == FOLIO_OK)
            return folio_proj__fail(FOLIO_EINVAL, "%s: %s '%.*s' already exists", tn,
                                    folio_doc_kind_name(kind), (int)doc.n, doc.s);
        if (rc != FOLIO_ENOTFOUND) return rc;
    }
    memset(&d, 0, sizeof d);
    d.kind = kind;
    memcpy(d.doc, doc.s, doc.n);
    d.customer = e->stream;
    d.seq = e->seq;
    if ((rc = amount_of(&d.amount, amount, cur, tn)) < 0 || (rc = date_of(&d.date, date, tn)) < 0)
        return rc;
    d.due = d.date;
    if (due.s && (rc = date_of(&d.due, due, tn)) < 0) return rc;
    if (d.due < d.date) return folio_proj__fail(FOLIO_EINVAL, "%s: due date before the date", tn);
    d.open = kind == FOLIO_DOC_REFUND ? 0 : d.amount;
    uint8_t ckey[3] = {'i', (uint8_t)kind, COUNT_KEY_BYTE}, cval[COUNT_BYTES];
    if (count.issued == UINT64_MAX)
        return folio_proj__fail(FOLIO_EINVAL, "%s: 2^64 - 1 %ss were issued", tn,
                                folio_doc_kind_name(kind));
    folio__put_le64(cval, count.issued + 1);
    folio__put_le64(cval + 8, fresh ? number : count.number_max);
    if ((rc = folio_proj__put(t, ckey, sizeof ckey, cval, sizeof cval)) < 0) return rc;
    *amount_out = d.amount;
    return put_doc(t, &d, 0, 0, generated ? number : 0);
}

/* Take `amount` off a document's open amount (allocation or refund). */
static int reduce(folio_proj_txn *t, folio_doc_rec *d, int64_t amount, const char *tn) {
    if (amount > d->open)
        return folio_proj__fail(FOLIO_EINVAL, "%s: more than the %s amount open on %s", tn,
                                "remaining", d->doc);
    int64_t old = d->open;
    d->open -= amount;
    return put_doc(t, d, old, d->customer, doc_number(d));
}

int folio_hold_apply(uint32_t *holds, uint32_t event_type, const char *rule, size_t n) {
    uint32_t bit;
    if (n == 12 && memcmp(rule, "credit_limit", 12) == 0) bit = FOLIO_HOLD_CREDIT_LIMIT;
    else if (n == 8 && memcmp(rule, "past_due", 8) == 0) bit = FOLIO_HOLD_PAST_DUE;
    else return FOLIO_EINVAL;
    if (event_type == FOLIO_EV_CREDIT_HOLD_PLACED)
        *holds |= bit;
    else
        *holds &= ~bit;
    return FOLIO_OK;
}

/* The document events: their open items and what they add to the sums. */
static int apply_document(folio_customer_sums *sums, folio_proj_txn *t, const folio_event *e,
                          const folio_mpr *pp, const char *tn) {
    const char *cur = sums->currency;
    folio_mpr p = *pp;
    int64_t v = 0;
    int rc;
    switch (e->type) {
    case FOLIO_EV_INVOICE_ISSUED:
    case FOLIO_EV_CREDIT_NOTE_ISSUED:
    case FOLIO_EV_PAYMENT_RECEIVED: {
        char kind = folio_doc_kind_of(e->type);
        if ((rc = issue(&v, t, e, &p, kind, cur, tn)) < 0) return rc;
        sums->documents++;
        return sums_add(sums, folio_doc_signed(kind, v), tn);
    }
    case FOLIO_EV_REFUND_ISSUED: {
        span from, from_kind, amount;
        folio_doc_rec src;
        if ((rc = field(&from, &p, "from", 1, tn)) < 0 ||
            (rc = field(&from_kind, &p, "from_kind", 1, tn)) < 0 ||
            (rc = field(&amount, &p, "amount", 1, tn)) < 0 ||
            (rc = amount_of(&v, amount, cur, tn)) < 0)
            return rc;
        char k = folio_doc_kind_parse(from_kind.s, from_kind.n);
        if (k != FOLIO_DOC_PAYMENT && k != FOLIO_DOC_CREDIT_NOTE)
            return folio_proj__fail(FOLIO_EINVAL, "%s: refunds come from a payment or credit note", tn);
        if ((rc = owned_doc(&src, t, e->stream, k, from, tn)) < 0 ||
            (rc = reduce(t, &src, v, tn)) < 0 ||
            (rc = issue(&v, t, e, &p, FOLIO_DOC_REFUND, cur, tn)) < 0)
            return rc;
        sums->documents++;
        return sums_add(sums, folio_doc_signed(FOLIO_DOC_REFUND, v), tn);
    }
    case FOLIO_EV_ALLOCATION_MADE: {
        span from, from_kind, to, amount;
        folio_doc_rec src, inv;
        if ((rc = field(&from, &p, "from", 1, tn)) < 0 ||
            (rc = field(&from_kind, &p, "from_kind", 1, tn)) < 0 ||
            (rc = field(&to, &p, "to", 1, tn)) < 0 || (rc = field(&amount, &p, "amount", 1, tn)) < 0 ||
            (rc = amount_of(&v, amount, cur, tn)) < 0)
            return rc;
        char k = folio_doc_kind_parse(from_kind.s, from_kind.n);
        if (k != FOLIO_DOC_PAYMENT && k != FOLIO_DOC_CREDIT_NOTE)
            return folio_proj__fail(FOLIO_EINVAL, "%s: allocations come from a payment or credit note", tn);
        if ((rc = owned_doc(&src, t, e->stream, k, from, tn)) < 0 ||
            (rc = owned_doc(&inv, t, e->stream, FOLIO_DOC_INVOICE, to, tn)) < 0 ||
            (rc = reduce(t, &src, v, tn)) < 0 || (rc = reduce(t, &inv, v, tn)) < 0)
            return rc;
        return FOLIO_OK; /* the balance does not change */
    }
    default: return folio_proj__fail(FOLIO_ERROR, "%s is not a document event", tn);
    }
}

/* customer.merged_from: the source's documents listed move here, and with them the balance
 * their open amounts make, which must be the balance the payload names. */
static int apply_merged_from(folio_customer_sums *sums, folio_proj_txn *t, const folio_event *e,
                             const folio_mpr *p, const char *tn) {
    folio_mpr list, one;
    uint32_t n = 0;
    uint64_t source = 0;
    span named;
    int64_t named_balance = 0, moved = 0;
    int rc;
    if (folio_mpr__find(&one, p, "source_id") != FOLIO_OK || folio_mpr__u64(&one, &source) < 0)
        return folio_proj__fail(FOLIO_EINVAL, "%s without source_id", tn);
    if (source == e->stream)
        return folio_proj__fail(FOLIO_EINVAL, "%s: a customer cannot be merged into itself", tn);
    if ((rc = field(&named, p, "balance", 0, tn)) < 0) return rc;
    if (named.s) {
        char buf[FOLIO_MONEY_TEXT_MAX + 8];
        if (!sums->currency[0] || named.n >= sizeof buf)
            return folio_proj__fail(FOLIO_EINVAL, "%s: balance without a currency", tn);
        memcpy(buf, named.s, named.n);
        buf[named.n] = '\0';
        if (folio_money_parse(&named_balance, buf, sums->currency) < 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: amount '%s' is not valid in %s", tn, buf,
                                    sums->currency);
    }
    if (folio_mpr__find(&list, p, "documents") != FOLIO_OK ||
        folio_mpr__array(&list, &n) != FOLIO_OK)
        return folio_proj__fail(FOLIO_EINVAL, "%s without a documents list", tn);
    sums->documents += n;
    if (n > 0 && !sums->currency[0])
        return folio_proj__fail(FOLIO_EINVAL, "%s: documents without a currency", tn);
    for (uint32_t i = 0; i < n; i++) {
        span kind, doc;
        folio_doc_rec d;
        one = list;
        folio_mpr__skip(&list);
        if ((rc = field(&kind, &one, "kind", 1, tn)) < 0 || (rc = field(&doc, &one, "doc", 1, tn)) < 0)
            return rc;
        char k = folio_doc_kind_parse(kind.s, kind.n);
        if (!k || (rc = owned_doc(&d, t, source, k, doc, tn)) < 0)
            return rc < 0 ? rc : folio_proj__fail(FOLIO_EINVAL, "%s: unknown kind", tn);
        if (__builtin_add_overflow(moved, folio_doc_signed(d.kind, d.open), &moved))
            return folio_proj__fail(FOLIO_EINVAL, "%s would overflow the balance", tn);
        uint64_t old_customer = d.customer;
        d.customer = e->stream;
        if ((rc = put_doc(t, &d, d.open, old_customer, doc_number(&d))) < 0) return rc;
    }
    if (moved != named_balance)
        return folio_proj__fail(FOLIO_EINVAL,
                                "%s: the balance named is not what the documents moved leave open",
                                tn);
    if (n > 0) { /* the balance leaves the source with its documents */
        folio_customer_sums from;
        if ((rc = folio_receivables__sums(&from, t, source)) < 0) return rc;
        if (memcmp(from.currency, sums->currency, 4) != 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: the customers' currencies differ", tn);
        if (__builtin_sub_overflow(from.balance, moved, &from.balance))
            return folio_proj__fail(FOLIO_EINVAL, "%s would overflow the balance", tn);
        if ((rc = put_sums(t, source, &from)) < 0) return rc;
    }
    return sums_add(sums, moved, tn);
}

static int receivables_apply(folio_proj_txn *t, const folio_event *e) {
    const char *tn = folio_event_type_name(e->type);
    folio_customer_sums sums;
    folio_mpr p;
    int rc;
    if (!tn || e->stream == 0) return FOLIO_OK;
    if (e->type == FOLIO_EV_CUSTOMER_CREATED) {
        /* A customer stream. Streams without customer.created are not customers and are
         * ignored, as the directory ignores them. */
        memset(&sums, 0, sizeof sums);
        sums.version = e->version;
        return put_sums(t, e->stream, &sums);
    }
    rc = folio_receivables__sums(&sums, t, e->stream);
    if (rc == FOLIO_ENOTFOUND) return FOLIO_OK; /* not a customer stream */
    if (rc < 0) return rc;
    if ((rc = folio_proj__payload(&p, e)) < 0) return rc;
    sums.version = e->version;
    switch (e->type) {
    case FOLIO_EV_CUSTOMER_CURRENCY_SET: {
        span c;
        if ((rc = field(&c, &p, "currency", 1, tn)) < 0) return rc;
        if (c.n != 3 || !c.s[0] || !c.s[1] || !c.s[2])
            return folio_proj__fail(FOLIO_EINVAL, "%s: currency is not 3 letters", tn);
        if (sums.currency[0]) return folio_proj__fail(FOLIO_EINVAL, "%s: currency is already set", tn);
        memcpy(sums.currency, c.s, 3);
        break;
    }
    case FOLIO_EV_INVOICE_ISSUED:
    case FOLIO_EV_CREDIT_NOTE_ISSUED:
    case FOLIO_EV_PAYMENT_RECEIVED:
    case FOLIO_EV_REFUND_ISSUED:
    case FOLIO_EV_ALLOCATION_MADE:
        if (!sums.currency[0])
            return folio_proj__fail(FOLIO_EINVAL, "%s: the customer has no currency yet", tn);
        if ((rc = apply_document(&sums, t, e, &p, tn)) < 0) return rc;
        break;
    /* customer.merged_into changes only the version: the balance leaves with the documents,
     * at the KEEP side's customer.merged_from (the command writes it next) */
    case FOLIO_EV_CUSTOMER_MERGED_FROM:
        if ((rc = apply_merged_from(&sums, t, e, &p, tn)) < 0) return rc;
        break;
    case FOLIO_EV_CREDIT_HOLD_PLACED:
    case FOLIO_EV_CREDIT_HOLD_RELEASED: {
        span rule;
        if ((rc = field(&rule, &p, "rule", 1, tn)) < 0) return rc;
        if (folio_hold_apply(&sums.holds, e->type, rule.s, rule.n) < 0)
            return folio_proj__fail(FOLIO_EINVAL, "%s: unknown rule", tn);
        break;
    }
    default: /* the customer master's own events: only the version */
        break;
    }
    return put_sums(t, e->stream, &sums);
}

const folio_projection folio_receivables_projection = {
    .name = "receivables",
    .version = 8, /* 2: the customer sums, after the open items; 3: both in "streams"; 4: the
                   * count of a kind after its documents; 5: the count record also holds the
                   * largest generated-form number taken (16 bytes); 6: the document record
                   * as varints (was 40 fixed bytes); 7: an open item of a number in generated
                   * form holds n as a varint; 8: such a document is keyed by n */
    .apply = receivables_apply,
    .reset = NULL,
    .stream_tag = 'r',
};
