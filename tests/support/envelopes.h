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
/* The seq an envelope names (below 64, as the golden frames' do). */
uint64_t seq_of(const env_buf *e);

/* Random mutations (xorshift64): the state is seeded from FOLIO_SCAN_SEED or a fixed seed by
 * rnd_seed, and named in failure messages. */
extern uint64_t rng_state;
void rnd_seed(void);
uint64_t rnd(void);
/* One to three random edits: a bit flipped, a byte set to a msgpack type byte or to any
 * value, a byte deleted or inserted, or the envelope cut short. */
void mutate(env_buf *m);

#endif
