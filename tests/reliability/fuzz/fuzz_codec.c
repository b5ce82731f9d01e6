/*
 * tests/reliability/fuzz/fuzz_codec.c - libFuzzer target: the event decoder.
 *
 * Input: one byte s, then envelope bytes E (what a stored frame carries after its header).
 * The target feeds E, as read from disk, through every decoder a stored event meets:
 *   - folio_frame__open on E taken as a raw frame (length, checksum, format checks);
 *   - E sealed into a frame (header + E, checksum and chain computed), which
 *     folio_frame__open must accept, then folio_codec__decode_envelope for seq s + 1, and
 *     verify's folio_codec__scan_envelope, which must accept nothing the decoder refuses
 *     and read the same fields;
 *   - on a decoded event: folio_codec__check_payload, folio_payload_to_json (valid JSON
 *     whenever the payload passes the append checks; JSON -> msgpack -> JSON is stable;
 *     a float payload, which append refuses, renders NaN as `nan`: findings F4),
 *     folio_event_changes_json (the per-type payload readers; its output is valid JSON
 *     when the payload passes the append checks),
 *     and encode -> decode gives back the same event;
 *   - the engine's msgpack reader (engine/mp.h) walked over E: open, type, every reader,
 *     find, skip.
 * Any ASan/UBSan report, leak, abort or failed check is a finding.
 *
 * FOLIO_FUZZ_MAKE_SEEDS=DIR: write one seed per event of the template ledger (the real
 * envelopes, re-encoded exactly as the log stores them) into DIR and exit.
 */
#include <jansson.h>

#include "fuzz_common.h"
#include "internal.h"
#include "mp.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_codec: check failed: %s: ", #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char *strbuf, *strbuf2;
static uint8_t *frame_buf, *enc_buf;

static void make_seeds(const char *dir) {
    char db_path[600];
    folio_db *db = NULL;
    folio_iter *it = NULL;
    const folio_event *e;
    fz_template_init();
    fz_path(db_path, sizeof db_path, "ledger.db");
    fz_template_reset(db_path);
    folio_open_opts o = FOLIO_OPEN_OPTS_INIT;
    if (folio_db_open(&db, db_path, &o) < 0) fz_die("open: %s", folio_errmsg());
    if (folio_log_open(&it, db, 1, 0) < 0) fz_die("log: %s", folio_errmsg());
    int n = 0;
    while (folio_iter_next(&e, it) == FOLIO_OK) {
        uint8_t req[FOLIO_HASH_BYTES];
        size_t bytes = 0;
        int has_req = folio_iter_request_hash(req, it) == FOLIO_OK && e->idempotency_key;
        enc_buf[0] = (uint8_t)(e->seq - 1);
        if (folio_codec__encode_envelope(&bytes, enc_buf + 1, FOLIO_EVENT_BYTES_MAX - 1, e,
                                         has_req ? e->idempotency_key : NULL,
                                         has_req ? req : NULL, 0) < 0)
            fz_die("encode: %s", folio_errmsg());
        char out[700];
        snprintf(out, sizeof out, "%s/event-%03d-%s", dir, ++n,
                 folio_event_type_name(e->type));
        fz_write(out, enc_buf, bytes + 1);
    }
    folio_iter_free(it);
    folio_db_close(db);
    fprintf(stderr, "fuzz_codec: wrote %d seeds into %s\n", n, dir);
    exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    strbuf = malloc(FOLIO_EVENT_BYTES_MAX);
    strbuf2 = malloc(FOLIO_EVENT_BYTES_MAX);
    frame_buf = malloc(FOLIO_EVENT_BYTES_MAX);
    enc_buf = malloc(FOLIO_EVENT_BYTES_MAX);
    if (!strbuf || !strbuf2 || !frame_buf || !enc_buf) fz_die("out of memory");
    const char *seeds = getenv("FOLIO_FUZZ_MAKE_SEEDS");
    if (seeds && *seeds) {
        fz_scratch_init("codec", 0);
        make_seeds(seeds);
    }
    return 0;
}

/* Walk one value with the engine's reader; depth-limited (deeper values are skipped). */
static void walk(folio_mpr *r, unsigned depth) {
    const char *s;
    size_t n;
    uint64_t u;
    int64_t i;
    int b;
    uint32_t count;
    size_t vb = folio_mpr__value_bytes(r);
    const char *before = r->p;
    if (depth > 40) {
        folio_mpr__skip(r);
        CHECK(r->p == before + vb, "skip and value_bytes disagree");
        return;
    }
    switch (folio_mpr__type(r)) {
    case FOLIO_MP_NIL:
    case FOLIO_MP_STR:
        CHECK(folio_mpr__str(r, &s, &n) == FOLIO_OK, "str");
        break;
    case FOLIO_MP_BOOL: CHECK(folio_mpr__bool(r, &b) == FOLIO_OK, "bool"); break;
    case FOLIO_MP_UINT:
    case FOLIO_MP_INT: {
        folio_mpr copy = *r;
        (void)folio_mpr__u64(&copy, &u); /* may refuse a negative: it still consumes it */
        (void)folio_mpr__i64(r, &i);     /* may refuse a uint over INT64_MAX */
        CHECK(copy.p == r->p, "u64 and i64 consume different lengths");
        break;
    }
    case FOLIO_MP_ARRAY:
        CHECK(folio_mpr__array(r, &count) == FOLIO_OK, "array");
        for (uint32_t k = 0; k < count; k++) walk(r, depth + 1);
        break;
    case FOLIO_MP_MAP: {
        folio_mpr val, map = *r;
        int rc = folio_mpr__find(&val, &map, "name");
        CHECK(rc == FOLIO_OK || rc == FOLIO_ENOTFOUND, "find returned %d", rc);
        if (rc == FOLIO_OK) CHECK(val.p >= map.p && val.p < map.end, "find points outside");
        CHECK(folio_mpr__map(r, &count) == FOLIO_OK, "map");
        for (uint32_t k = 0; k < count; k++) {
            walk(r, depth + 1);
            walk(r, depth + 1);
        }
        break;
    }
    default: {
        /* bin, float, ext: every typed reader refuses and skips it */
        folio_mpr copy = *r;
        CHECK(folio_mpr__u64(&copy, &u) == FOLIO_ECORRUPT, "u64 accepted another type");
        folio_mpr__skip(r);
        CHECK(copy.p == r->p, "mismatch skip and skip disagree");
        break;
    }
    }
    CHECK(r->p == before + vb, "reader consumed %zu bytes, value has %zu",
          (size_t)(r->p - before), vb);
    CHECK(r->p <= r->end, "reader ran past the end");
}

/* payload_to_json gives JSON; JSON -> msgpack -> JSON renders the same. */
static void check_payload_json(const folio_event *e) {
    char *json = NULL, *json2 = NULL;
    void *mp = NULL;
    size_t mp_bytes = 0;
    int valid = folio_codec__check_payload(e->payload, e->payload_bytes) == FOLIO_OK;
    int rc = folio_payload_to_json(&json, e->payload, e->payload_bytes);
    if (valid) CHECK(rc == FOLIO_OK, "a checked payload does not render (%s)", folio_errmsg());
    if (rc == FOLIO_OK && valid) {
        json_error_t err;
        json_t *j = json_loads(json, 0, &err);
        CHECK(j != NULL, "payload_to_json gave invalid JSON (%s): %s", err.text, json);
        json_decref(j);
        /* Duplicate keys (allowed in msgpack) are refused by from_json: nothing to compare. */
        if (folio_payload_from_json(&mp, &mp_bytes, json) == FOLIO_OK) {
            CHECK(folio_payload_to_json(&json2, mp, mp_bytes) == FOLIO_OK, "re-render");
            CHECK(strcmp(json, json2) == 0, "JSON round trip differs:\n%s\n%s", json, json2);
        }
    }
    folio_free(json);
    folio_free(json2);
    folio_free(mp);
}

static void check_changes_json(const folio_event *e) {
    char *json = NULL;
    int rc = folio_event_changes_json(&json, e);
    CHECK(rc == FOLIO_OK || rc == FOLIO_ECORRUPT || rc == FOLIO_ERROR,
          "changes_json returned %d", rc);
    /* A payload that passes the append checks gives JSON that jansson reads back. Other
     * bytes (a caller's own payload) are only run: their JSON may hold what jansson cannot
     * hold (integers above INT64_MAX, "\u0000" in keys) or floats rendered as nan/inf. */
    int valid = folio_codec__check_payload(e->payload, e->payload_bytes) == FOLIO_OK;
    if (rc == FOLIO_OK && json && valid) {
        json_error_t err;
        json_t *j = json_loads(json, 0, &err);
        CHECK(j != NULL, "changes_json gave invalid JSON (%s): %s", err.text, json);
        CHECK(json_is_object(j), "changes_json is not an object: %s", json);
        json_decref(j);
    }
    folio_free(json);
}

static int same_str(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

/* Encode the decoded event again and decode that: the same event comes back. */
static void check_reencode(const folio_event *e, const uint8_t req[FOLIO_HASH_BYTES],
                           uint32_t follows, uint64_t seq) {
    size_t bytes = 0;
    folio_event d;
    uint8_t req2[FOLIO_HASH_BYTES];
    uint32_t follows2 = 0;
    int rc = folio_codec__encode_envelope(&bytes, enc_buf, FOLIO_EVENT_BYTES_MAX, e,
                                          e->idempotency_key, e->idempotency_key ? req : NULL,
                                          follows);
    CHECK(rc == FOLIO_OK, "re-encode failed: %s", folio_errmsg());
    rc = folio_codec__decode_envelope(&d, enc_buf, bytes, strbuf2, FOLIO_EVENT_BYTES_MAX, seq,
                                      req2, &follows2);
    CHECK(rc == FOLIO_OK, "re-encoded event does not decode: %s", folio_errmsg());
    CHECK(d.seq == e->seq && d.stream == e->stream && d.version == e->version &&
              d.type == e->type && d.schema == e->schema &&
              d.recorded_at_us == e->recorded_at_us,
          "numbers differ after re-encode");
    CHECK(same_str(d.actor, e->actor) && same_str(d.reason, e->reason) &&
              same_str(d.correlation, e->correlation) &&
              same_str(d.idempotency_key, e->idempotency_key),
          "strings differ after re-encode");
    CHECK(d.payload_bytes == e->payload_bytes &&
              memcmp(d.payload, e->payload, e->payload_bytes) == 0,
          "payload differs after re-encode");
    if (e->idempotency_key) CHECK(memcmp(req, req2, FOLIO_HASH_BYTES) == 0, "request hash");
    CHECK(follows2 == follows, "command mark differs after re-encode");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint64_t seq = (uint64_t)data[0] + 1;
    const uint8_t *env = data + 1;
    size_t env_bytes = size - 1;

    /* The reader of engine/mp.h, over any bytes. */
    folio_mpr r;
    if (env_bytes > 0 && folio_mpr__open(&r, env, env_bytes) == FOLIO_OK) {
        walk(&r, 0);
        CHECK(r.p == r.end, "one value does not fill the validated buffer");
    }

    /* The bytes as a raw stored frame (the checksum almost never matches: no crash). */
    folio_frame f;
    int rc = folio_frame__open(&f, env, env_bytes, seq);
    if (rc == FOLIO_OK) CHECK(f.envelope_bytes + FOLIO_FRAME_HEADER_BYTES == env_bytes, "frame");

    /* The bytes as the envelope of a well-sealed frame. */
    if (env_bytes == 0 || env_bytes + FOLIO_FRAME_HEADER_BYTES > FOLIO_EVENT_BYTES_MAX) return 0;
    uint8_t prev[FOLIO_HASH_BYTES] = {0};
    memset(frame_buf, 0, FOLIO_FRAME_HEADER_BYTES);
    memcpy(frame_buf + FOLIO_FRAME_HEADER_BYTES, env, env_bytes);
    size_t frame_bytes = env_bytes + FOLIO_FRAME_HEADER_BYTES;
    folio_frame__seal(frame_buf, frame_bytes, seq - 1, prev);
    rc = folio_frame__open(&f, frame_buf, frame_bytes, seq);
    CHECK(rc == FOLIO_OK, "a sealed frame does not open: %s", folio_errmsg());
    CHECK(f.envelope_bytes == env_bytes && f.prev_seq == seq - 1, "frame fields");
    uint8_t chain[FOLIO_HASH_BYTES];
    folio_frame__chain(chain, prev, frame_buf, frame_bytes);
    CHECK(memcmp(chain, f.chain, FOLIO_HASH_BYTES) == 0, "chain hash differs from seal");

    folio_event e;
    uint8_t req[FOLIO_HASH_BYTES];
    uint32_t follows = 0;
    rc = folio_codec__decode_envelope(&e, f.envelope, f.envelope_bytes, strbuf,
                                      FOLIO_EVENT_BYTES_MAX, seq, req, &follows);
    CHECK(rc == FOLIO_OK || rc == FOLIO_ECORRUPT, "decode returned %d", rc);
    /* verify's one-pass scan never accepts what the decoder refuses, nor reads other
     * fields (it may leave an envelope to the decoder). */
    folio_envelope_fields sf;
    if (folio_codec__scan_envelope(&sf, f.envelope, f.envelope_bytes, seq)) {
        CHECK(rc == FOLIO_OK, "the scan accepts an envelope the decoder refuses: %s",
              folio_errmsg());
        CHECK(sf.seq == e.seq && sf.stream == e.stream && sf.version == e.version &&
                  sf.type == e.type && sf.recorded_at_us == e.recorded_at_us &&
                  sf.follows == follows,
              "the scan reads other fields than the decoder");
    }
    if (rc != FOLIO_OK) return 0;
    CHECK(e.seq == seq && e.version > 0 && e.actor != NULL && e.payload != NULL,
          "decoded event lacks a required field");
    CHECK((const uint8_t *)e.payload >= f.envelope &&
              (const uint8_t *)e.payload + e.payload_bytes <= f.envelope + f.envelope_bytes,
          "payload points outside the envelope");
    check_payload_json(&e);
    check_changes_json(&e);
    check_reencode(&e, req, follows, seq);
    return 0;
}
