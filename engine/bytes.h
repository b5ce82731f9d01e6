/*
 * engine/bytes.h - fixed-width integers in byte buffers: big-endian for keys (they sort as
 * numbers), little-endian for values; and decimal digits without stdio. Shared by the
 * engine and the projections.
 * Every byte is spelled out: compilers turn that into one load or store (and a byte swap),
 * which they do not do for a loop (~60 instructions per field).
 */
#ifndef FOLIO_BYTES_H
#define FOLIO_BYTES_H

#include <stdint.h>

static inline void folio__put_be64(uint8_t *p, uint64_t v) {
    p[0] = (uint8_t)(v >> 56);
    p[1] = (uint8_t)(v >> 48);
    p[2] = (uint8_t)(v >> 40);
    p[3] = (uint8_t)(v >> 32);
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
}
static inline uint64_t folio__get_be64(const uint8_t *p) {
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}
static inline void folio__put_le64(uint8_t *p, uint64_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    p[4] = (uint8_t)(v >> 32);
    p[5] = (uint8_t)(v >> 40);
    p[6] = (uint8_t)(v >> 48);
    p[7] = (uint8_t)(v >> 56);
}
static inline uint64_t folio__get_le64(const uint8_t *p) {
    return (uint64_t)p[7] << 56 | (uint64_t)p[6] << 48 | (uint64_t)p[5] << 40 |
           (uint64_t)p[4] << 32 | (uint64_t)p[3] << 24 | (uint64_t)p[2] << 16 |
           (uint64_t)p[1] << 8 | (uint64_t)p[0];
}
static inline void folio__put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t folio__get_le32(const uint8_t *p) {
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[0];
}

/* Write v in decimal, at least min_digits digits (zero-padded), to out (no terminator);
 * returns the number of characters written, at most 20 (or min_digits, up to 20). snprintf
 * costs ~500 instructions a call on the write path (money, document numbers, dates). */
static inline unsigned folio__put_decimal(char *out, uint64_t v, unsigned min_digits) {
    char tmp[20];
    unsigned n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < min_digits && n < sizeof tmp) tmp[n++] = '0';
    for (unsigned i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

#endif
