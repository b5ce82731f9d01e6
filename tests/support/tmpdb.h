/*
 * tests/support/tmpdb.h - the per-test ledger fixture and event builders (Criterion).
 *
 *   TestSuite(append, .init = tmpdb_setup, .fini = tmpdb_teardown);
 *
 * tmpdb_setup() makes a fresh directory under /tmp (mkdtemp) and opens a ledger in it as
 * `tmpdb`. tmpdb_teardown() closes every handle opened through the fixture, frees every
 * buffer the fixture handed out, and removes the directory recursively (set TMPDB_KEEP=1
 * in the environment to keep it for a post-mortem; its path is printed).
 * Every helper that can fail asserts, so a test reads as the behaviour it checks.
 * Criterion runs each test in its own process: the fixture's globals are per test.
 */
#ifndef FOLIO_TESTS_TMPDB_H
#define FOLIO_TESTS_TMPDB_H

#include <stddef.h>
#include <stdint.h>

#include <folio.h>

/* The actor every built event carries. */
#define TMPDB_ACTOR "tester"

/* The ledger opened by tmpdb_setup() (NULL after tmpdb_setup_dir() or tmpdb_close(tmpdb)). */
extern folio_db *tmpdb;
/* The test's private directory, e.g. "/tmp/folio-test-Ab12Cd". */
extern char tmpdb_dir[];

/* ---- lifecycle ---- */
void tmpdb_setup(void);     /* a fresh directory and a ledger "ledger.db" in it as tmpdb */
void tmpdb_setup_dir(void); /* a fresh directory only; tmpdb stays NULL */
void tmpdb_teardown(void);

/* "<tmpdb_dir>/<name>". Lifetime: until teardown. */
const char *tmpdb_path(const char *name);
/* The path of the fixture's ledger ("<tmpdb_dir>/ledger.db"). */
const char *tmpdb_ledger_path(void);

/* Open a ledger and assert FOLIO_OK; the handle is closed at teardown unless the test
 * closes it first with tmpdb_close(). */
folio_db *tmpdb_open(const char *path, const folio_open_opts *opts);
/* Close a handle opened through the fixture (tmpdb included) and forget it. */
void tmpdb_close(folio_db *db);
/* Close tmpdb and open the same ledger again (default options); returns the new tmpdb. */
folio_db *tmpdb_reopen(void);

/* ---- memory ---- */
/* Free `p` with folio_free() at teardown; returns p. */
void *tmpdb_keep(void *p);
/* A formatted string, freed at teardown. */
char *tmpdb_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A string of `bytes` copies of `c`, freed at teardown. */
char *tmpdb_repeat(char c, size_t bytes);

/* ---- events ---- */
/* A msgpack payload from JSON (printf format); asserts FOLIO_OK; freed at teardown. */
void tmpdb_payload(const void **payload_out, size_t *bytes_out, const char *json_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An event of `stream` and `type`, schema 1, actor TMPDB_ACTOR, no reason or correlation,
 * payload from JSON (printf format; NULL means "{}"). The payload is freed at teardown. */
folio_event tmpdb_event(uint64_t stream, uint32_t type, const char *json_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A customer note event for `stream` whose payload is {"text": "<text>"}. */
folio_event tmpdb_note(uint64_t stream, const char *text);

/* Append one event with folio_event_append(), assert FOLIO_OK, return its seq. */
uint64_t tmpdb_append(folio_db *db, const folio_event *event);
/* Append a batch (events, no expectations, optional key), assert FOLIO_OK, return it. */
folio_append_result tmpdb_append_batch(folio_db *db, const folio_event *events, size_t count,
                                       const char *idempotency_key);

/* ---- reading ---- */
/* The ledger's last seq (folio_stats_get, asserted). */
uint64_t tmpdb_last_seq(folio_db *db);
/* The last version of a stream (folio_stream_version, asserted). */
uint64_t tmpdb_stream_version(folio_db *db, uint64_t stream);
/* A deep copy of an event (strings and payload), freed at teardown. */
folio_event tmpdb_copy_event(const folio_event *event);
/* Every event of folio_log_open(from, to), deep-copied; asserts the iteration ends with
 * FOLIO_ITEROVER. *count_out is the number read. The array is freed at teardown. */
folio_event *tmpdb_read_log(folio_db *db, uint64_t from_seq, uint64_t to_seq,
                            size_t *count_out);
/* Every event of folio_stream_open(stream, max_version, at_seq), like tmpdb_read_log().
 * A stream with no events (FOLIO_ENOTFOUND) gives NULL and *count_out == 0. */
folio_event *tmpdb_read_stream(folio_db *db, uint64_t stream, uint64_t max_version,
                               uint64_t at_seq, size_t *count_out);
/* Assert that two events are equal in every field (strings and payload by content). */
void tmpdb_assert_event_eq(const folio_event *actual, const folio_event *expected);

/* ---- files ---- */
/* The whole file, freed at teardown. */
void *tmpdb_read_file(const char *path, size_t *bytes_out);
void tmpdb_write_file(const char *path, const void *data, size_t bytes);
/* Flip one bit in the first byte of every occurrence of `marker` in the file; returns the
 * number of occurrences changed. */
size_t tmpdb_flip_marker(const char *path, const char *marker);
/* The same for a byte string that may hold NUL bytes (e.g. a hash). */
size_t tmpdb_flip_bytes(const char *path, const void *needle, size_t needle_bytes);
/* Remove a file or a directory tree (no error if missing). */
void tmpdb_rm_rf(const char *path);

/* ---- the customer master (SPEC sections 3 to 5) ---- */
/* Write options: actor TMPDB_ACTOR, nothing else. */
folio_write_opts tmpdb_w(void);
/* Create a customer with only a name (every other field default); asserts FOLIO_OK. */
folio_write_result tmpdb_customer(folio_db *db, const char *name);
/* Create a customer from a full description; asserts FOLIO_OK. */
folio_write_result tmpdb_customer_new(folio_db *db, const folio_customer_new *c);
/* Move a customer to `status` (asserts FOLIO_OK and that an event was written). */
void tmpdb_set_status(folio_db *db, const char *ref, const char *status);
/* Add a contact with only a name; asserts FOLIO_OK; returns its id. */
uint64_t tmpdb_contact(folio_db *db, const char *ref, const char *name);
/* Give customer `id` a financial document: a raw invoice.issued on its stream
 * ({"doc","date":"2026-11-01","due":"2026-12-01","amount"}); returns its seq. */
uint64_t tmpdb_invoice(folio_db *db, uint64_t id, const char *doc, const char *amount);
/* The card now (folio_customer_get at seq 0, not deleted); asserts FOLIO_OK. Freed at
 * teardown. */
folio_customer *tmpdb_card(folio_db *db, const char *ref);
/* The card with every option of folio_customer_get; asserts FOLIO_OK; freed at teardown. */
folio_customer *tmpdb_card_at(folio_db *db, const char *ref, uint64_t at_seq,
                              int include_deleted);
/* A list (folio_customer_list_get or, with deleted = 1, folio_deleted_list_get); asserts
 * FOLIO_OK; freed at teardown. */
folio_customer_list *tmpdb_list(folio_db *db, int deleted, unsigned statuses,
                                const char *pattern);
/* Every event of folio_history_open(ref), deep-copied (as tmpdb_read_log). */
folio_event *tmpdb_history(folio_db *db, const char *ref, size_t *count_out);
/* folio_event_changes_json of an event (asserted FOLIO_OK); NULL when it changes no field.
 * Freed at teardown. */
char *tmpdb_changes(const folio_event *e);
/* A payload rendered as JSON (folio_payload_to_json, asserted); freed at teardown. */
char *tmpdb_payload_json(const folio_event *e);
/* Assert that two JSON texts hold the same value (object key order does not matter). */
void tmpdb_assert_json_eq(const char *actual, const char *expected);

/* The head of the log, from folio_verify (which must pass): last seq and chain hash. */
typedef struct {
    uint64_t seq;
    uint8_t hash[FOLIO_HASH_BYTES];
} tmpdb_head;
tmpdb_head tmpdb_head_get(folio_db *db);
/* Assert that the head is still `before` (nothing was appended). */
void tmpdb_assert_head_is(folio_db *db, const tmpdb_head *before, const char *what);

/* Run a write that must be refused: assert it returns `code`, that folio_errmsg() holds
 * `needle` (NULL: any message), and that the log head (seq and hash) did not move.
 *   TMPDB_REFUSED(tmpdb, FOLIO_ERULE, "(rule 2)", folio_customer_create(&r, tmpdb, &w, &c));
 */
#define TMPDB_REFUSED(db, code, needle, call)                                                \
    do {                                                                                     \
        tmpdb_head tmpdb_before_ = tmpdb_head_get(db);                                       \
        int tmpdb_rc_ = (call);                                                              \
        tmpdb_check_refused((db), tmpdb_rc_, (code), (needle), &tmpdb_before_, #call,        \
                            __FILE__, __LINE__);                                             \
    } while (0)
void tmpdb_check_refused(folio_db *db, int rc, int code, const char *needle,
                         const tmpdb_head *before, const char *call, const char *file, int line);
/* Assert a call returned FOLIO_OK, showing the code and message otherwise. */
#define TMPDB_OK(call)                                                                       \
    do {                                                                                     \
        int tmpdb_rc_ = (call);                                                              \
        cr_assert_eq(tmpdb_rc_, FOLIO_OK, "%s: %s (%s)", #call, folio_strerror(tmpdb_rc_),   \
                     folio_errmsg());                                                        \
    } while (0)

/* ---- receivables (SPEC rules 8-11, sections 4 and 5): tests/api/receivables_*.c ---- */
/* 1 in a build with AddressSanitizer (FOLIO_SANITIZE=ON, which also turns on UBSan). */
#if defined(__SANITIZE_ADDRESS__)
#define TMPDB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TMPDB_SANITIZED 1
#endif
#endif
#ifndef TMPDB_SANITIZED
#define TMPDB_SANITIZED 0
#endif
/*
 * `.disabled = TMPDB_UB_EMPTY_ARRAYS` marks tests that reach a known engine bug: with nothing
 * to sort, the engine calls qsort with a NULL array (undefined behaviour), which UBSan
 * (-fno-sanitize-recover) turns into an abort:
 *   engine/statement.c:210  qsort(items.v = NULL, 0): a statement with no document as of D
 *   engine/documents.c:344  qsort(invs->items = NULL, 0): --auto with no open invoice
 * Those tests run in every other build; remove the mark once the engine is fixed.
 */
#define TMPDB_UB_EMPTY_ARRAYS 0 /* fixed: the engine no longer sorts empty arrays */

/* Record ledger settings (NULL leaves a setting as it is); asserts FOLIO_OK. */
void tmpdb_configure(folio_db *db, const char *credit_control, const char *on_hold_policy);
/* Create a customer (status prospect) in `currency` (NULL: the base currency) with
 * `credit_limit` (NULL: none); asserts FOLIO_OK; returns its ref (freed at teardown). */
const char *tmpdb_account(folio_db *db, const char *name, const char *currency,
                          const char *credit_limit);
/* Receivables writes through the API with generated document numbers: each asserts FOLIO_OK
 * (and no replay) and returns the document number written (freed at teardown). `date` NULL:
 * today; an invoice's `due` NULL: its date; an allocation's `to` NULL: --auto, its `amount`
 * NULL: as much as both documents allow. */
const char *tmpdb_issue_invoice(folio_db *db, const char *ref, const char *amount,
                                const char *date, const char *due);
const char *tmpdb_issue_credit_note(folio_db *db, const char *ref, const char *amount,
                                    const char *date);
const char *tmpdb_receive_payment(folio_db *db, const char *ref, const char *amount,
                                  const char *date, int auto_allocate);
void tmpdb_allocate(folio_db *db, const char *ref, const char *from, const char *to,
                    const char *amount, const char *date);
const char *tmpdb_issue_refund(folio_db *db, const char *ref, const char *from,
                               const char *amount, const char *date);
/* The customer's balance now (the card's decimal string; asserted present). */
const char *tmpdb_balance(folio_db *db, const char *ref);
/* The customer's hold reasons now joined by ',' ("" when not on hold; asserts that on_hold
 * agrees), freed at teardown. */
const char *tmpdb_holds(folio_db *db, const char *ref);
/*
 * folio_statement_get (asserted FOLIO_OK) as text, one line per statement line, oldest first:
 *   "2026-01-10 INV-000001 invoice 100.00 60.00 due 2026-02-09 20d"
 *   "2026-01-15 CN-000001 credit_note -10.00 -10.00"
 * then, with `from`, "opening <opening balance>", and last
 *   "total <total open> aging <current> <1-30> <31-60> <61-90> <90+>"
 * Before rendering it asserts the statement's own arithmetic: ref and dates as asked, lines
 * sorted by (date, seq) with a non-zero open amount no larger than the amount, signs (credit
 * notes and payments negative), days overdue of invoices = as_of - due (0 when not yet due),
 * the minor-unit fields equal to the text, aging buckets adding up to the total, and the
 * opening balance plus the lines adding up to the total. Freed at teardown.
 */
const char *tmpdb_statement(folio_db *db, const char *ref, const char *as_of, const char *from,
                            uint64_t at_seq);
/* The events of `type` in a customer's history (tmpdb_history, filtered); *count_out is how
 * many. */
folio_event *tmpdb_events_of_type(folio_db *db, const char *ref, uint32_t type,
                                  size_t *count_out);

#endif /* FOLIO_TESTS_TMPDB_H */
