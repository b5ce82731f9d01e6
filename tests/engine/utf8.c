/*
 * tests/engine/utf8.c - text validation reads eight ASCII bytes at a time: a NUL, a stray
 * byte or a bad sequence at any position of a string is still refused, and well-formed
 * multi-byte characters anywhere are accepted.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../engine/internal.h"

static int check(const char *s, size_t n) {
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    return folio_codec__check_text(buf, sizeof buf, "text", 1);
}

Test(utf8, a_bad_byte_anywhere_is_refused_and_good_characters_anywhere_pass) {
    const char *bad[] = {"\xff", "\x80", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf"};
    const char *good[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t len = 1; len <= 40; len++) {
        for (size_t at = 0; at < len; at++) {
            char s[64];
            memset(s, 'a', len);
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                size_t bn = strlen(bad[b]);
                if (at + bn > len) continue;
                memset(s, 'a', len);
                memcpy(s + at, bad[b], bn);
                cr_assert_eq(check(s, len), FOLIO_EINVAL, "bad %zu at %zu of %zu", b, at, len);
            }
            for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
                size_t gn = strlen(good[g]);
                if (at + gn > len) continue;
                memset(s, 'a', len);
                memcpy(s + at, good[g], gn);
                cr_assert_eq(check(s, len), FOLIO_OK, "good %zu at %zu of %zu", g, at, len);
            }
            memset(s, 'a', len);
            cr_assert_eq(check(s, len), FOLIO_OK, "ascii of %zu", len);
            s[at] = 0x7f; /* DEL is ASCII */
            cr_assert_eq(check(s, len), FOLIO_OK);
        }
    }
}

/* A payload string cannot hold a NUL, wherever it is (check_text stops at the first NUL, so
 * the payload path is the one to test). */
Test(utf8, a_nul_anywhere_in_a_payload_string_is_refused) {
    for (size_t len = 1; len <= 40; len++) {
        for (size_t at = 0; at < len; at++) {
            uint8_t p[64];
            p[0] = 0x81;       /* map of one pair */
            p[1] = 0xa1;       /* key "k" */
            p[2] = 'k';
            p[3] = 0xd9;       /* str 8 */
            p[4] = (uint8_t)len;
            memset(p + 5, 'a', len);
            cr_assert_eq(folio_codec__check_payload(p, 5 + len), FOLIO_OK);
            p[5 + at] = 0;
            cr_assert_eq(folio_codec__check_payload(p, 5 + len), FOLIO_EINVAL, "NUL at %zu of %zu",
                         at, len);
        }
    }
}

/* A one-line field (actor, reason, correlation, key) is decided eight bytes at a time when it
 * is printable ASCII: a control character (C0, DEL, C1) at any position of any length is
 * still refused, and the characters around them (space, '~', U+00A0) still pass. */
Test(utf8, a_control_character_anywhere_in_a_line_is_refused) {
    const char *bad[] = {"\x01", "\x09", "\x0a", "\x1f", "\x7f", "\xc2\x80", "\xc2\x9f"};
    const char *good[] = {" ", "~", "\xc2\xa0", "\xc3\xa9"};
    for (size_t len = 1; len <= 40; len++) {
        char s[64];
        memset(s, 'a', len);
        s[len] = '\0';
        cr_assert_eq(folio_codec__check_line(s, sizeof s, "actor", 1), FOLIO_OK);
        for (size_t at = 0; at < len; at++) {
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                size_t bn = strlen(bad[b]);
                if (at + bn > len) continue;
                memset(s, 'a', len);
                memcpy(s + at, bad[b], bn);
                cr_assert_eq(folio_codec__check_line(s, sizeof s, "actor", 1), FOLIO_EINVAL,
                             "bad %zu at %zu of %zu", b, at, len);
            }
            for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
                size_t gn = strlen(good[g]);
                if (at + gn > len) continue;
                memset(s, 'a', len);
                memcpy(s + at, good[g], gn);
                cr_assert_eq(folio_codec__check_line(s, sizeof s, "actor", 1), FOLIO_OK,
                             "good %zu at %zu of %zu", g, at, len);
            }
        }
    }
    /* 0x20 and 0x7e, the ends of printable ASCII, at both ends of a word */
    cr_assert_eq(folio_codec__check_line("\x20" "abcdefg" "\x7e", 64, "actor", 1), FOLIO_OK);
    cr_assert_eq(folio_codec__check_line("\x7e" "abcdef" "\x20", 64, "actor", 1), FOLIO_OK);
    cr_assert_eq(folio_codec__check_line("", 64, "actor", 1), FOLIO_EINVAL);
    cr_assert_eq(folio_codec__check_line("", 64, "reason", 0), FOLIO_OK);
    cr_assert_eq(folio_codec__check_line("abcdefghi", 8, "actor", 1), FOLIO_ELIMIT);
}
