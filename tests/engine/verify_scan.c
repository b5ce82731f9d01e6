/*
 * tests/engine/verify_scan.c - verify's one-pass envelope scan (folio_codec__scan_envelope)
 * refuses everything the full decoder refuses, and folio_verify still fails on every
 * envelope defect with the decoder's own message.
 *
 * The scan is a fast path: it may hand an envelope it does not recognise to the decoder,
 * but it must never accept one the decoder refuses, nor read other fields. Checked three
 * ways: on the golden frames (the scan accepts each with the decoder's fields, so verify
 * really uses it), on random mutations of real envelopes (scan accepts => decoder accepts,
 * same fields), and end to end: crafted envelopes written as the last event of a ledger with
 * a valid checksum and chain hash, which verify must refuse naming the decoder's defect, or
 * accept when only their shape is unusual.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpdb.h"
#include "../../engine/internal.h"
#include "envelopes.h"

static void byte(env_buf *e, uint8_t v) {
    cr_assert_lt(e->n, sizeof e->b);
    e->b[e->n++] = v;
}

/* key (fixint), then v as uint 64 (0xcf), the widest encoding folio writes. */
static void ku64(env_buf *e, unsigned key, uint64_t v) {
    byte(e, (uint8_t)key);
    byte(e, 0xcf);
    for (int i = 7; i >= 0; i--) byte(e, (uint8_t)(v >> (8 * i)));
}

/* key (fixint), then s as a fixstr (len < 32; may hold NUL). */
static void kstr(env_buf *e, unsigned key, const char *s, size_t len) {
    cr_assert_lt(len, 32);
    byte(e, (uint8_t)key);
    byte(e, (uint8_t)(0xa0 | len));
    for (size_t i = 0; i < len; i++) byte(e, (uint8_t)s[i]);
}

typedef struct {
    uint64_t seq, stream, version, type, schema, recorded;
} env_fields;

/* The map header (`pairs`), then keys 0-6 as folio writes them. */
static void head7(env_buf *e, unsigned pairs, const env_fields *f) {
    e->n = 0;
    byte(e, (uint8_t)(0x80 | pairs));
    ku64(e, 0, 1);
    ku64(e, 1, f->seq);
    ku64(e, 2, f->stream);
    ku64(e, 3, f->version);
    ku64(e, 4, f->type);
    ku64(e, 5, f->schema);
    ku64(e, 6, f->recorded);
}

static void actor(env_buf *e) { kstr(e, 7, "tester", 6); }
static void payload(env_buf *e) { hx(e, "0b 81 a4 74657874 a1 78"); } /* {"text":"x"} */

/* A complete envelope as folio writes it. */
static void standard(env_buf *e, const env_fields *f) {
    head7(e, 9, f);
    actor(e);
    payload(e);
}

/* ---- the ledger the end-to-end cases rewrite ----
 * seq 1 stream 0 ledger.configured; seq 2 stream 1 note; seq 3 stream 2 note; seq 4 stream 1
 * note (version 2, back-pointer 2). Seq 4 is replaced by a crafted envelope. */

static env_fields last; /* the fields of seq 4 as written */

static void write_ledger(void) {
    folio_event cfg = tmpdb_event(0, FOLIO_EV_LEDGER_CONFIGURED, "{\"base_currency\":\"EUR\"}");
    cr_assert_eq(tmpdb_append(tmpdb, &cfg), 1);
    for (uint64_t s = 1; s <= 3; s++) {
        folio_event e = tmpdb_note(s == 3 ? 1 : s, "note");
        cr_assert_eq(tmpdb_append(tmpdb, &e), s + 1);
    }
    folio_event *ev = tmpdb_read_log(tmpdb, 4, 4, &(size_t){0});
    last = (env_fields){4, ev[0].stream, ev[0].version, ev[0].type, ev[0].schema,
                        (uint64_t)ev[0].recorded_at_us};
    cr_assert_eq(last.stream, 1);
    cr_assert_eq(last.version, 2);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

/* Replace the frame of seq 4 by one holding `env` with back-pointer prev_seq, its checksum
 * and chain hash computed as an append would; with fix_head, the head record follows it
 * (chain hash and recorded_at), so that only the envelope can be at fault. */
/* The idempotency record of `key` for seq `seq` alone, with the hash 00112233...eeff (seq
 * 0: none). */
static void put_idem_record(const char *key, uint64_t seq) {
    static const uint8_t hash[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    uint8_t rec[33] = {1};
    memcpy(rec + 1, hash, sizeof hash);
    folio__put_le64(rec + 17, seq);
    folio__put_le64(rec + 25, seq);
    folio_txn t = {0};
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    if (seq)
        cr_assert_eq(folio_store__put(&t, FOLIO_DB_IDEM, key, strlen(key), rec, sizeof rec, 0),
                     FOLIO_OK);
    else
        cr_assert_eq(folio_store__del(&t, FOLIO_DB_IDEM, key, strlen(key)), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

static void rewrite_last(const env_buf *env, uint64_t prev_seq, int fix_head,
                         int64_t recorded) {
    static uint8_t frame[FOLIO_FRAME_HEADER_BYTES + sizeof ((env_buf *)0)->b];
    folio_txn t = {0};
    folio_val v;
    uint8_t key[8], prev_chain[FOLIO_HASH_BYTES];
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    folio__put_be64(key, 3);
    cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_LOG, key, 8), FOLIO_OK);
    memcpy(prev_chain, v.data, FOLIO_HASH_BYTES);
    size_t len = FOLIO_FRAME_HEADER_BYTES + env->n;
    memcpy(frame + FOLIO_FRAME_HEADER_BYTES, env->b, env->n);
    folio_frame__seal(frame, len, prev_seq, prev_chain);
    folio__put_be64(key, 4);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_LOG, key, 8, frame, len, 0), FOLIO_OK);
    if (fix_head) {
        uint8_t head[FOLIO_HEAD_BYTES];
        cr_assert_eq(folio_store__get(&v, &t, FOLIO_DB_ROOT, FOLIO_ROOT_HEAD_KEY,
                                      FOLIO_ROOT_HEAD_KEY_BYTES),
                     FOLIO_OK);
        cr_assert_eq(v.size, FOLIO_HEAD_BYTES);
        memcpy(head, v.data, FOLIO_HEAD_BYTES);
        memcpy(head + 8, frame, FOLIO_HASH_BYTES);
        folio__put_le64(head + 8 + FOLIO_HASH_BYTES, (uint64_t)recorded);
        cr_assert_eq(folio_store__put(&t, FOLIO_DB_ROOT, FOLIO_ROOT_HEAD_KEY,
                                      FOLIO_ROOT_HEAD_KEY_BYTES, head, sizeof head, 0),
                     FOLIO_OK);
    }
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

/* The decoder's verdict on env for seq 4: its return code and message. */
static int decode(char msg[FOLIO_ERRMSG_BYTES], const env_buf *env, folio_event *e) {
    static char strbuf[FOLIO_EVENT_BYTES_MAX];
    folio_error__clear();
    int rc = folio_codec__decode_envelope(e, env->b, env->n, strbuf, sizeof strbuf, 4, NULL, NULL);
    snprintf(msg, FOLIO_ERRMSG_BYTES, "%s", folio_errmsg());
    return rc;
}

/* env is refused by the decoder with a message holding `needle`, the scan does not accept
 * it, and verify, finding it at seq 4 behind a valid checksum and chain hash, fails with
 * exactly the decoder's message. */
static void assert_refused(const env_buf *env, const char *needle) {
    char want[FOLIO_ERRMSG_BYTES];
    folio_event e;
    folio_envelope_fields f;
    cr_assert_eq(decode(want, env, &e), FOLIO_ECORRUPT, "the decoder refuses it (%s)", needle);
    cr_assert(strstr(want, needle) != NULL, "decoder says '%s', expected '%s'", want, needle);
    cr_assert_eq(folio_codec__scan_envelope(&f, env->b, env->n, 4), 0,
                 "the scan must not accept what the decoder refuses (%s)", needle);
    rewrite_last(env, 2, 1, (int64_t)last.recorded);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT, "verify passed an envelope with '%s'",
                 needle);
    cr_assert_eq(r.bad_seq, 4);
    cr_assert_eq(r.events, 3);
    cr_assert_str_eq(folio_errmsg(), want);
}

/* verify fails naming bad_seq with a message holding `needle` (a check after the decode). */
static void assert_verify_fails(const env_buf *env, uint64_t prev_seq, uint64_t bad_seq,
                                const char *needle) {
    rewrite_last(env, prev_seq, 1, (int64_t)last.recorded);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT, "verify passed ('%s' expected)",
                 needle);
    cr_assert_eq(r.bad_seq, bad_seq, "bad_seq %llu for '%s'", (unsigned long long)r.bad_seq,
                 needle);
    cr_assert(strstr(folio_errmsg(), needle) != NULL, "verify says '%s', expected '%s'",
              folio_errmsg(), needle);
}

/* env, of an unusual shape but valid, passes verify (through the decoder if the scan leaves
 * it), with every later check made on its fields; and a rebuild, which decodes through the
 * one-pass decode and likewise leaves the rest to the decoder, folds it. */
static void assert_accepted(const env_buf *env, int scan_expected) {
    char msg[FOLIO_ERRMSG_BYTES];
    folio_event e;
    folio_envelope_fields f;
    cr_assert_eq(decode(msg, env, &e), FOLIO_OK, "%s", msg);
    cr_assert_eq(folio_codec__scan_envelope(&f, env->b, env->n, 4), scan_expected);
    rewrite_last(env, 2, 1, e.recorded_at_us);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, 4);
    cr_assert_eq(r.streams, 3);
    uint64_t rebuilt = 0;
    cr_assert_eq(folio_rebuild(&rebuilt, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(rebuilt, 4);
}

TestSuite(verify_scan, .init = tmpdb_setup, .fini = tmpdb_teardown);

Test(verify_scan, the_ledgers_own_envelope_rewritten_passes_verify_through_the_scan) {
    write_ledger();
    env_buf e;
    standard(&e, &last);
    assert_accepted(&e, 1);
}

Test(verify_scan, malformed_msgpack_is_refused_with_the_decoders_message) {
    write_ledger();
    env_buf e;
    const char *bad = "envelope is not exactly one msgpack value";
    standard(&e, &last);
    hx(&e, "c0"); /* a byte after the map */
    assert_refused(&e, bad);
    head7(&e, 9, &last);
    actor(&e);
    hx(&e, "0b 82 a4 74657874 a1 78"); /* the payload claims two pairs, holds one */
    assert_refused(&e, bad);
    head7(&e, 9, &last);
    actor(&e);
    hx(&e, "0b 81 a4 74657874 c1"); /* 0xc1 is never used */
    assert_refused(&e, bad);
    head7(&e, 10, &last); /* ten pairs announced, nine present */
    actor(&e);
    payload(&e);
    assert_refused(&e, bad);
    head7(&e, 9, &last);
    actor(&e);
    hx(&e, "0b 81 a4 74657874 d9 05 6162"); /* a str 8 longer than the bytes left */
    assert_refused(&e, bad);
    head7(&e, 9, &last);
    actor(&e);
    hx(&e, "0b 81 a4 74657874 dd 7fffffff"); /* an array 32 claiming 2^31-1 elements */
    assert_refused(&e, bad);
    head7(&e, 9, &last);
    actor(&e);
    hx(&e, "0b 81 a4 74657874 a5 78"); /* the last string runs past the end */
    assert_refused(&e, bad);
}

Test(verify_scan, envelope_field_defects_are_refused_with_the_decoders_message) {
    write_ledger();
    env_buf e;
    env_fields f;

    e.n = 0;
    hx(&e, "92 00 01"); /* an array, not a map */
    assert_refused(&e, "envelope is not a map");

    head7(&e, 10, &last);
    ku64(&e, 2, last.stream); /* key 2 twice */
    actor(&e);
    payload(&e);
    assert_refused(&e, "envelope key 2 repeated");

    head7(&e, 8, &last); /* no actor */
    payload(&e);
    assert_refused(&e, "envelope lacks required fields");

    head7(&e, 9, &last);
    hx(&e, "07 05"); /* actor as an integer */
    payload(&e);
    assert_refused(&e, "actor is not a string");

    head7(&e, 9, &last);
    kstr(&e, 7, "te\0ter", 6);
    payload(&e);
    assert_refused(&e, "actor holds a NUL byte");

    head7(&e, 10, &last);
    actor(&e);
    hx(&e, "08 c4 01 78"); /* reason as bin */
    payload(&e);
    assert_refused(&e, "reason is not a string");

    e.n = 0;
    hx(&e, "89");
    ku64(&e, 0, 1);
    ku64(&e, 1, 4);
    hx(&e, "02 d0 ff"); /* stream as a negative int 8 */
    ku64(&e, 3, last.version);
    ku64(&e, 4, last.type);
    ku64(&e, 5, 1);
    ku64(&e, 6, last.recorded);
    actor(&e);
    payload(&e);
    assert_refused(&e, "stream is not an unsigned integer");

    /* one field of the last event's envelope out of range at a time */
    const struct {
        uint64_t *field;
        uint64_t value;
        const char *needle;
    } bad[] = {
        {&f.seq, 5, "envelope says seq 5"},
        {&f.version, 0, "version 0"},
        {&f.type, (uint64_t)UINT32_MAX + 1, "type out of range"},
        {&f.schema, 0, "schema out of range"},
        {&f.schema, (uint64_t)UINT32_MAX + 1, "schema out of range"},
        {&f.recorded, (uint64_t)INT64_MAX + 1, "recorded_at out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = last;
        *bad[i].field = bad[i].value;
        standard(&e, &f);
        assert_refused(&e, bad[i].needle);
    }

    head7(&e, 9, &last);
    actor(&e);
    hx(&e, "0b 91 01"); /* payload an array */
    assert_refused(&e, "payload is not a map");

    head7(&e, 10, &last);
    actor(&e);
    payload(&e);
    hx(&e, "0c c4 10 00112233445566778899aabbccddeeff"); /* a hash without a key */
    assert_refused(&e, "request hash without an idempotency key");

    head7(&e, 11, &last);
    actor(&e);
    kstr(&e, 10, "key-1", 5);
    payload(&e);
    hx(&e, "0c c4 0f 00112233445566778899aabbccddee"); /* 15 bytes */
    assert_refused(&e, "request hash is not 16 bytes");
}

/* The checks after the decode use the fields the scan reads. */
Test(verify_scan, stream_and_order_checks_use_the_scanned_fields) {
    write_ledger();
    env_buf e;
    env_fields f;
    folio_envelope_fields sf;

    f = last;
    f.version = 3;
    standard(&e, &f);
    cr_assert_eq(folio_codec__scan_envelope(&sf, e.b, e.n, 4), 1, "folio's shape: scanned");
    cr_assert_eq(sf.version, 3);
    assert_verify_fails(&e, 2, 4, "version gap in stream 1: version 3 after 1");

    standard(&e, &last);
    assert_verify_fails(&e, 3, 4, "stream back-pointer 3, expected 2");

    f = last;
    f.recorded = 1; /* before every other event */
    standard(&e, &f);
    assert_verify_fails(&e, 2, 4, "recorded_at goes backwards");

    f = last;
    f.type = FOLIO_EV_LEDGER_CONFIGURED;
    standard(&e, &f);
    assert_verify_fails(&e, 2, 4, "event type 1 in stream 1");

    f = last;
    f.stream = 0;
    standard(&e, &f);
    assert_verify_fails(&e, 1, 4, "event type 17 in stream 0");

    f = last;
    f.stream = 2; /* stream 2 is at version 1, seq 3: the walk passes, the index does not */
    standard(&e, &f);
    assert_verify_fails(&e, 3, 2, "stream index says stream 1 ends at version 2, seq 4");
}

/* Shapes folio does not write but a newer folio may: the scan leaves them to the decoder
 * (or reads them itself), and verify passes. */
Test(verify_scan, unusual_but_valid_envelopes_pass_verify) {
    write_ledger();
    env_buf e;

    head7(&e, 10, &last);
    actor(&e);
    hx(&e, "63 92 c3 c0"); /* unknown key 99: [true, nil] */
    payload(&e);
    assert_accepted(&e, 0);

    head7(&e, 10, &last);
    actor(&e);
    hx(&e, "a3 6e6577 a1 78"); /* a string key "new": "x" */
    payload(&e);
    assert_accepted(&e, 0);

    e.n = 0;
    hx(&e, "de 0009"); /* map 16 */
    ku64(&e, 0, 1);
    hx(&e, "cc 01"); /* key 1 as uint 8 */
    hx(&e, "04");
    ku64(&e, 2, last.stream);
    ku64(&e, 3, last.version);
    ku64(&e, 4, last.type);
    ku64(&e, 5, 1);
    ku64(&e, 6, last.recorded);
    actor(&e);
    payload(&e);
    assert_accepted(&e, 0);

    head7(&e, 11, &last);
    actor(&e);
    kstr(&e, 10, "key-1", 5);
    payload(&e);
    hx(&e, "0c c5 0010 00112233445566778899aabbccddeeff"); /* the hash as bin 16 */
    put_idem_record("key-1", 4); /* a keyed event needs its key's record (check 10) */
    assert_accepted(&e, 0);
    put_idem_record("key-1", 0); /* and a record its event */

    /* The integer keys in another order, and a short envelope: scanned all the same. */
    e.n = 0;
    hx(&e, "89");
    kstr(&e, 7, "t", 1);
    ku64(&e, 6, last.recorded);
    hx(&e, "05 01 04");
    byte(&e, (uint8_t)last.type);
    hx(&e, "03 02 02 01 01 04 00 01 0b 80");
    cr_assert_lt(e.n, 40);
    assert_accepted(&e, 1);

    /* Narrow encodings, str 8, every optional field, a nested payload: scanned. */
    e.n = 0;
    hx(&e, "8d 00 01 01 04 02 01 03 02");
    hx(&e, "04 cd 0011 05 ce 00000001");
    ku64(&e, 6, last.recorded);
    hx(&e, "07 d9 06 746573746572"); /* actor "tester" as str 8 */
    kstr(&e, 8, "why", 3);
    kstr(&e, 9, "corr", 4);
    kstr(&e, 10, "key-1", 5);
    hx(&e, "0b 83 a1 61 92 c0 c3 a1 62 de 0001 a1 63 d0 ff a1 64 c4 02 0102");
    hx(&e, "0c c4 10 00112233445566778899aabbccddeeff");
    put_idem_record("key-1", 4);
    assert_accepted(&e, 1);
}

/* ---- random mutations: the scan never accepts what the decoder refuses ---- */

/* Scan and decoder on one envelope: if the scan accepts, the decoder accepts with the same
 * fields. Returns 1 when the scan accepted. */
static int compare(const env_buf *e, uint64_t seq, uint64_t *refused_by_both) {
    static char strbuf[FOLIO_EVENT_BYTES_MAX];
    folio_envelope_fields f;
    folio_event d;
    int s = folio_codec__scan_envelope(&f, e->b, e->n, seq);
    int rc = folio_codec__decode_envelope(&d, e->b, e->n, strbuf, sizeof strbuf, seq, NULL, NULL);
    if (s) {
        cr_assert_eq(rc, FOLIO_OK, "seed %llu: the scan accepted an envelope the decoder "
                                   "refuses: %s", (unsigned long long)rng_state, folio_errmsg());
        cr_assert_eq(f.seq, d.seq);
        cr_assert_eq(f.stream, d.stream);
        cr_assert_eq(f.version, d.version);
        cr_assert_eq(f.type, d.type);
        cr_assert_eq(f.recorded_at_us, d.recorded_at_us);
    } else if (rc != FOLIO_OK) {
        (*refused_by_both)++;
    }
    return s;
}

/* The seq written in an envelope folio wrote (key 1 right after key 0). */
Test(verify_scan, golden_envelopes_scan_to_the_decoders_fields) {
    env_buf env[16];
    size_t n = load_envelopes(env, 16);
    cr_assert_geq(n, 5);
    uint64_t both = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = seq_of(&env[i]);
        cr_assert_eq(compare(&env[i], seq, &both), 1, "golden envelope %zu is scanned", i);
        cr_assert_eq(compare(&env[i], seq + 1, &both), 0, "not for another seq");
    }
}

Test(verify_scan, mutated_envelopes_are_never_accepted_by_the_scan_alone) {
    env_buf env[16];
    size_t n = load_envelopes(env, 16);
    rnd_seed();
    uint64_t accepted = 0, refused = 0;
    for (unsigned iter = 0; iter < 60000; iter++) {
        const env_buf *src = &env[rnd() % n];
        uint64_t seq = seq_of(src);
        env_buf m = *src;
        mutate(&m);
        accepted += (uint64_t)compare(&m, seq, &refused);
    }
    /* Both outcomes were reached: the mutations are neither all harmless nor all fatal. */
    cr_assert_gt(accepted, 100, "accepted %llu", (unsigned long long)accepted);
    cr_assert_gt(refused, 10000, "refused %llu", (unsigned long long)refused);
}

/* ---- the stream table: dense ids in an array, others hashed ---- */

static void put_stream_record(uint64_t stream, uint64_t version, uint64_t seq) {
    folio_txn t = {0};
    uint8_t key[8], rec[FOLIO_STREAM_REC_BYTES];
    folio__put_be64(key, stream);
    folio__put_le64(rec, version);
    folio__put_le64(rec + 8, seq);
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    cr_assert_eq(folio_store__put(&t, FOLIO_DB_STREAMS, key, 8, rec, sizeof rec, 0), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
}

/* Streams met while few streams are known and far apart live in verify's hash table; the
 * array of dense ids later grows over one of them (70,000, once 20,000 streams are known),
 * which moves it into the array. Every stream's versions and back-pointers are still
 * followed, and the stream index is compared with both. */
Test(verify_scan, sparse_and_dense_stream_ids_are_all_followed, .timeout = 120) {
    const uint64_t sparse[] = {70000, (uint64_t)1 << 40, UINT64_MAX};
    const size_t nsparse = sizeof sparse / sizeof sparse[0];
    const size_t dense = 20000, per_batch = 2000;
    folio_event note = tmpdb_note(1, "n");
    folio_event *batch = tmpdb_keep(calloc(per_batch, sizeof *batch));
    for (size_t i = 0; i < nsparse; i++) {
        note.stream = sparse[i];
        tmpdb_append(tmpdb, &note);
    }
    for (size_t first = 1; first <= dense; first += per_batch) {
        for (size_t i = 0; i < per_batch; i++) {
            batch[i] = note;
            batch[i].stream = first + i;
        }
        tmpdb_append_batch(tmpdb, batch, per_batch, NULL);
    }
    note.stream = 75000;
    tmpdb_append(tmpdb, &note);
    uint64_t second[3];
    for (size_t i = 0; i < nsparse; i++) {
        note.stream = sparse[i];
        second[i] = tmpdb_append(tmpdb, &note);
    }
    const uint64_t events = nsparse + dense + 1 + nsparse;
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    cr_assert_eq(r.events, events);
    cr_assert_eq(r.streams, nsparse + dense + 1);

    /* A stream record off by one version, for a stream in the array and for one hashed. */
    for (size_t i = 0; i < nsparse; i += 2) {
        put_stream_record(sparse[i], 3, second[i]);
        cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT);
        cr_assert_eq(r.bad_seq, second[i]);
        char want[128];
        snprintf(want, sizeof want, "stream index says stream %llu ends at version 3",
                 (unsigned long long)sparse[i]);
        cr_assert(strstr(folio_errmsg(), want) != NULL, "%s", folio_errmsg());
        put_stream_record(sparse[i], 2, second[i]);
        cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
    }
    /* A record for a stream the log does not have, in either range. */
    const uint64_t absent[] = {19999 + 2, 80000, (uint64_t)1 << 41};
    for (size_t i = 0; i < 3; i++) {
        folio_txn t = {0};
        uint8_t key[8];
        put_stream_record(absent[i], 1, 5);
        cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT);
        cr_assert_eq(r.bad_seq, 5);
        cr_assert(strstr(folio_errmsg(), "stream index says stream") != NULL, "%s",
                  folio_errmsg());
        folio__put_be64(key, absent[i]);
        cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
        cr_assert_eq(folio_store__del(&t, FOLIO_DB_STREAMS, key, 8), FOLIO_OK);
        cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    }
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_OK, "%s", folio_errmsg());
}

/* ---- random payloads of every msgpack type ---- */

static void be(env_buf *e, uint64_t v, unsigned bytes) {
    for (int i = (int)bytes - 1; i >= 0; i--) byte(e, (uint8_t)(v >> (8 * i)));
}

/* One random well-formed msgpack value (every type and width), at most `depth` deep; room
 * is left in e for what the caller appends after it. */
static void random_value(env_buf *e, unsigned depth) {
    if (e->n > sizeof e->b - 160) {
        byte(e, 0xc0);
        return;
    }
    unsigned kind = (unsigned)(rnd() % (depth ? 14 : 10));
    unsigned len = (unsigned)(rnd() % 6);
    switch (kind) {
    case 0: byte(e, (uint8_t)(rnd() % 0x80)); break;         /* positive fixint */
    case 1: byte(e, (uint8_t)(0xe0 | (rnd() % 0x20))); break; /* negative fixint */
    case 2: byte(e, (uint8_t[]){0xc0, 0xc2, 0xc3}[rnd() % 3]); break;
    case 3: { /* int and uint 8-64, float 32/64 */
        static const uint8_t t[] = {0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xca, 0xcb};
        static const unsigned w[] = {1, 2, 4, 8, 1, 2, 4, 8, 4, 8};
        unsigned j = (unsigned)(rnd() % 10);
        byte(e, t[j]);
        be(e, rnd(), w[j]);
        break;
    }
    case 4: /* fixstr */
        byte(e, (uint8_t)(0xa0 | len));
        for (unsigned i = 0; i < len; i++) byte(e, (uint8_t)('a' + rnd() % 26));
        break;
    case 5: case 6: { /* str 8/16/32, bin 8/16/32 */
        static const uint8_t t[] = {0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6};
        static const unsigned w[] = {1, 2, 4, 1, 2, 4};
        unsigned j = (unsigned)(rnd() % 6);
        byte(e, t[j]);
        be(e, len, w[j]);
        for (unsigned i = 0; i < len; i++) byte(e, (uint8_t)('a' + rnd() % 26));
        break;
    }
    case 7: { /* fixext 1-16 */
        static const uint8_t t[] = {0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
        unsigned j = (unsigned)(rnd() % 5);
        byte(e, t[j]);
        byte(e, 1); /* ext type */
        for (unsigned i = 0; i < (1u << j); i++) byte(e, (uint8_t)rnd());
        break;
    }
    case 8: case 9: { /* ext 8/16/32 */
        static const uint8_t t[] = {0xc7, 0xc8, 0xc9};
        static const unsigned w[] = {1, 2, 4};
        unsigned j = (unsigned)(rnd() % 3);
        byte(e, t[j]);
        be(e, len, w[j]);
        byte(e, 2);
        for (unsigned i = 0; i < len; i++) byte(e, (uint8_t)rnd());
        break;
    }
    case 10: case 11: { /* arrays: fix, 16, 32 */
        unsigned j = (unsigned)(rnd() % 3), count = len % 4;
        if (j == 0) byte(e, (uint8_t)(0x90 | count));
        else byte(e, j == 1 ? 0xdc : 0xdd), be(e, count, j == 1 ? 2 : 4);
        for (unsigned i = 0; i < count; i++) random_value(e, depth - 1);
        break;
    }
    default: { /* maps: fix, 16, 32 */
        unsigned j = (unsigned)(rnd() % 3), count = len % 4;
        if (j == 0) byte(e, (uint8_t)(0x80 | count));
        else byte(e, j == 1 ? 0xde : 0xdf), be(e, count, j == 1 ? 2 : 4);
        for (unsigned i = 0; i < 2 * count; i++) random_value(e, depth - 1);
        break;
    }
    }
}

/* Envelopes whose payload holds values of every type and width: the scan accepts every one
 * (the payload walk knows each type), and on their mutations it never accepts what the
 * decoder refuses. */
Test(verify_scan, payloads_of_every_msgpack_type_are_walked_like_the_decoder) {
    rng_state = 20261125u;
    env_fields f = {4, 1, 2, FOLIO_EV_CUSTOMER_NOTE_ADDED, 1, 1795476597578483ull};
    uint64_t refused = 0, accepted = 0;
    for (unsigned iter = 0; iter < 20000; iter++) {
        env_buf e;
        head7(&e, 9, &f);
        actor(&e);
        byte(&e, 0x0b);
        unsigned pairs = (unsigned)(rnd() % 4);
        unsigned form = (unsigned)(rnd() % 3);
        if (form == 0) byte(&e, (uint8_t)(0x80 | pairs));
        else byte(&e, form == 1 ? 0xde : 0xdf), be(&e, pairs, form == 1 ? 2 : 4);
        for (unsigned i = 0; i < 2 * pairs; i++) random_value(&e, 3);
        uint64_t both = 0;
        cr_assert_eq(compare(&e, 4, &both), 1, "seed 20261125, iteration %u: a valid payload "
                                               "is scanned", iter);
        for (unsigned m = 0; m < 4; m++) {
            env_buf x = e;
            size_t at = (size_t)(rnd() % x.n);
            if (rnd() % 2) x.b[at] = (uint8_t)rnd();
            else x.n = at;
            accepted += (uint64_t)compare(&x, 4, &refused);
        }
    }
    cr_assert_gt(refused, 1000, "refused %llu", (unsigned long long)refused);
    cr_assert_gt(accepted, 1000, "accepted %llu", (unsigned long long)accepted);
}

/* The head record names where the log ends (SPEC section 6: verify names the first bad seq):
 * a log that lost its last event is refused at the missing seq, not at the event before it,
 * whose own chain hash is sound. */
Test(verify_scan, a_log_that_lost_its_last_event_is_named_at_the_missing_seq) {
    for (unsigned i = 0; i < 3; i++) {
        folio_event e = tmpdb_note(1, "a note");
        tmpdb_append(tmpdb, &e);
    }
    folio_txn t = {0};
    uint8_t key[8];
    cr_assert_eq(folio_store__write_begin(&t, tmpdb->store), FOLIO_OK);
    folio__put_be64(key, 3);
    cr_assert_eq(folio_store__del(&t, FOLIO_DB_LOG, key, 8), FOLIO_OK);
    cr_assert_eq(folio_store__commit(&t), FOLIO_OK);
    folio_verify_report r;
    cr_assert_eq(folio_verify(&r, tmpdb), FOLIO_ECORRUPT, "%s", folio_errmsg());
    cr_assert_eq(r.events, 2);
    cr_assert_eq(r.bad_seq, 3, "bad_seq %llu: %s", (unsigned long long)r.bad_seq, folio_errmsg());
    cr_assert(strstr(folio_errmsg(), "seq 3") != NULL, "%s", folio_errmsg());
}
