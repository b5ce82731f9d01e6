/*
 * tests/engine/asserts.c - broken internal invariants abort (in every build), after the
 * host's hook has run.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "../../engine/internal.h"

Test(asserts, sealing_a_frame_without_an_envelope_aborts, .signal = SIGABRT) {
    uint8_t frame[FOLIO_FRAME_HEADER_BYTES] = {0}, prev[FOLIO_HASH_BYTES] = {0};
    folio_frame__seal(frame, sizeof frame, 0, prev);
}

Test(asserts, encoding_an_event_without_a_seq_aborts, .signal = SIGABRT) {
    uint8_t buf[256];
    size_t n;
    folio_event e = {.seq = 0, .actor = "x"};
    folio_codec__encode_envelope(&n, buf, sizeof buf, &e, NULL, NULL, 0);
}

static void hook(const char *expr, const char *file, int line) {
    (void)file;
    (void)line;
    /* Prove the hook ran by exiting with a code only it uses, before abort() would. */
    if (expr && *expr) _exit(42);
}

Test(asserts, the_host_hook_runs_before_the_abort, .exit_code = 42) {
    folio_set_assert_hook(hook);
    folio_error__assert_fail("1 == 2", __FILE__, __LINE__);
}
