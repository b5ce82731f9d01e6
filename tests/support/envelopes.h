/*
 * tests/support/envelopes.h - envelope bytes for the codec tests (verify's scan and the
 * iterators' one-pass decode): a buffer, hex input, and the golden frames' envelopes.
 */
#ifndef FOLIO_TEST_ENVELOPES_H
#define FOLIO_TEST_ENVELOPES_H

#include <stddef.h>
#include <stdint.h>

#define GOLDEN_FRAMES FOLIO_SOURCE_DIR "/tests/golden/frames-v1.hex"

typedef struct {
    uint8_t b[1024];
    size_t n;
} env_buf;

/* Append bytes written as hex ("89 00 01"; spaces ignored); asserts they fit. */
void hx(env_buf *e, const char *hex);
/* The envelopes of the golden frames (tests/golden/frames-v1.hex), at most cap of them. */
size_t load_envelopes(env_buf *out, size_t cap);

#endif
