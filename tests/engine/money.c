/*
 * tests/engine/money.c - decimal amounts <-> int64 minor units, exactly, per ISO 4217.
 */
#include <criterion/criterion.h>
#include <folio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/internal.h"

static int64_t parse_ok(const char *text, const char *cur) {
    int64_t v = 0;
    int rc = folio_money_parse(&v, text, cur);
    cr_assert_eq(rc, FOLIO_OK, "'%s' %s: %s", text, cur, folio_errmsg());
    return v;
}

static void parse_bad(const char *text, const char *cur, const char *why) {
    int64_t v = 77;
    cr_assert_eq(folio_money_parse(&v, text, cur), FOLIO_EINVAL, "'%s' %s was accepted", text, cur);
    cr_assert_eq(v, 77, "a refused amount must not write its output");
    cr_assert(strstr(folio_errmsg(), why) != NULL, "'%s': message '%s' lacks '%s'", text,
              folio_errmsg(), why);
}

Test(money, exponents_follow_iso_4217) {
    unsigned e;
    const struct { const char *c; unsigned e; } t[] = {
        {"USD", 2}, {"EUR", 2}, {"JPY", 0}, {"KRW", 0}, {"BHD", 3}, {"KWD", 3}, {"CLF", 4}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cr_assert_eq(folio_currency_exponent(&e, t[i].c), FOLIO_OK);
        cr_assert_eq(e, t[i].e, "%s", t[i].c);
    }
    cr_assert_eq(folio_currency_exponent(&e, "usd"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, "XYZ"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, "USDX"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, ""), FOLIO_ENOTFOUND);
}

Test(money, parses_decimal_strings_into_minor_units) {
    cr_assert_eq(parse_ok("1234.50", "USD"), 123450);
    cr_assert_eq(parse_ok("1234.5", "USD"), 123450);
    cr_assert_eq(parse_ok("1234", "USD"), 123400);
    cr_assert_eq(parse_ok("0.01", "USD"), 1);
    cr_assert_eq(parse_ok("-0.01", "USD"), -1);
    cr_assert_eq(parse_ok("007.10", "EUR"), 710);
    cr_assert_eq(parse_ok("100", "JPY"), 100);
    cr_assert_eq(parse_ok("1.234", "BHD"), 1234);
    cr_assert_eq(parse_ok("0.0001", "CLF"), 1);
}

Test(money, refuses_excess_precision_instead_of_rounding) {
    parse_bad("1234.505", "USD", "decimal places");
    parse_bad("100.0", "JPY", "decimal places");
    parse_bad("1.2345", "BHD", "decimal places");
}

Test(money, refuses_anything_but_a_plain_decimal) {
    const char *bad[] = {"", "-", ".", "1.", ".5", "+1", "1e3", "1,000", " 1", "1 ", "0x10",
                         "--1", "1.2.3", "NaN", "١٢"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        cr_assert_eq(folio_money_parse(&v, bad[i], "USD"), FOLIO_EINVAL, "'%s' accepted", bad[i]);
    }
    parse_bad("1", "XYZ", "ISO 4217");
}

Test(money, int64_limits_are_exact_and_overflow_is_refused) {
    cr_assert_eq(parse_ok("92233720368547758.07", "USD"), INT64_MAX);
    cr_assert_eq(parse_ok("-92233720368547758.08", "USD"), INT64_MIN);
    parse_bad("92233720368547758.08", "USD", "too large");
    parse_bad("-92233720368547758.09", "USD", "too large");
    parse_bad("9223372036854775808", "JPY", "too large");
    parse_bad("99999999999999999999999999", "USD", "too large");
    cr_assert_eq(parse_ok("9223372036854775807", "JPY"), INT64_MAX);
}

/* The parser checks for overflow only from the 19th digit on (18 cannot overflow): every
 * length around that edge, with leading zeros counted as digits, in currencies with 0 to 4
 * fraction digits, is exact or refused exactly as the int64 range says. */
Test(money, the_digits_that_cannot_overflow_are_read_unchecked_and_the_rest_are_checked) {
    cr_assert_eq(parse_ok("999999999999999999", "JPY"), 999999999999999999);    /* 18 digits */
    cr_assert_eq(parse_ok("9999999999999999.99", "USD"), 999999999999999999);   /* 16 + 2 */
    cr_assert_eq(parse_ok("9999999999999.9999", "CLF"), 99999999999999999);     /* 13 + 4 */
    cr_assert_eq(parse_ok("1999999999999999999", "JPY"), 1999999999999999999);  /* 19 */
    cr_assert_eq(parse_ok("-9223372036854775808", "JPY"), INT64_MIN);
    parse_bad("-9223372036854775809", "JPY", "too large");
    parse_bad("9999999999999999999", "JPY", "too large");
    parse_bad("922337203685477.5808", "CLF", "too large");
    cr_assert_eq(parse_ok("922337203685477.5807", "CLF"), INT64_MAX);
    cr_assert_eq(parse_ok("00000000000000000000000000092233720368547758.07", "USD"), INT64_MAX);
    parse_bad("00000000000000000000000000092233720368547758.08", "USD", "too large");
    cr_assert_eq(parse_ok("0000000000000000000000000000000000000001", "JPY"), 1);
    cr_assert_eq(parse_ok("0000000000000000000000000000000000000.01", "USD"), 1);
    parse_bad("92233720368547758070", "JPY", "too large");
    parse_bad("9223372036854775807.0", "USD", "too large"); /* fits, not scaled by 100 */
}

Test(money, formats_with_the_currency_fraction_digits) {
    char out[FOLIO_MONEY_TEXT_MAX];
    const struct { int64_t v; const char *c, *s; } t[] = {
        {123450, "USD", "1234.50"}, {-1, "USD", "-0.01"}, {0, "USD", "0.00"},
        {100, "JPY", "100"}, {1234, "BHD", "1.234"}, {-5, "KWD", "-0.005"},
        {INT64_MAX, "USD", "92233720368547758.07"}, {INT64_MIN, "USD", "-92233720368547758.08"},
        {INT64_MIN, "JPY", "-9223372036854775808"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cr_assert_eq(folio_money_format(out, sizeof out, t[i].v, t[i].c), FOLIO_OK);
        cr_assert_str_eq(out, t[i].s);
    }
    cr_assert_eq(folio_money_format(out, 4, 123450, "USD"), FOLIO_EINVAL);
    cr_assert_eq(folio_money_format(out, 7, 123450, "USD"), FOLIO_EINVAL); /* no room for NUL */
    cr_assert_eq(folio_money_format(out, 8, 123450, "USD"), FOLIO_OK);
    cr_assert_str_eq(out, "1234.50");
}

Test(money, format_then_parse_round_trips) {
    uint64_t x = 12345;
    const char *cur[] = {"USD", "JPY", "BHD", "CLF"};
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v = (int64_t)x >> (i % 40);
        char out[FOLIO_MONEY_TEXT_MAX];
        const char *c = cur[i % 4];
        cr_assert_eq(folio_money_format(out, sizeof out, v, c), FOLIO_OK);
        cr_assert_eq(parse_ok(out, c), v, "%s %s", out, c);
    }
}

/* folio_money__parse says an amount's text is canonical exactly when folio_money_format
 * writes that very text for the amount (the document commands then write it as it came):
 * crafted texts in currencies of 0, 2, 3 and 4 fraction digits, and every text a small
 * alphabet makes, are checked against format(parse(text)); a refused text leaves the flag. */
static void canonical_agrees(const char *text, const char *cur) {
    int64_t v = 0, plain = 0;
    int canonical = 7;
    char back[64];
    int rc = folio_money__parse(&v, &canonical, text, cur);
    cr_assert_eq(rc, folio_money_parse(&plain, text, cur), "'%s' %s", text, cur);
    if (rc < 0) {
        cr_assert_eq(canonical, 7, "'%s' %s: a refused text leaves the flag", text, cur);
        return;
    }
    cr_assert_eq(v, plain);
    cr_assert_eq(folio_money_format(back, sizeof back, v, cur), FOLIO_OK);
    cr_assert_eq(canonical, strcmp(back, text) == 0, "'%s' %s: canonical %d, formatted '%s'",
                 text, cur, canonical, back);
}

Test(money, canonical_is_exactly_the_text_format_writes) {
    static const char *const texts[] = {
        "1.00", "1.0", "1", "01.00", "0.50", "00.50", "0.00", "-0.00", "-0", "0", "-1.00",
        "-01.00", "10", "10.000", "0.001", "5.0000", "05", "1.", ".5", "+1.00", "1e2",
        "92233720368547758.07", "-92233720368547758.08", "092233720368547758.07",
        "9223372036854775807", "-9223372036854775808", "922337203685477.5807", "100.10"};
    static const char *const curs[] = {"USD", "JPY", "BHD", "CLF"};
    for (size_t c = 0; c < sizeof curs / sizeof curs[0]; c++)
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
            canonical_agrees(texts[t], curs[c]);
    /* every text of up to 6 characters over "-0.1" */
    static const char alphabet[] = "-0.1";
    for (unsigned len = 1; len <= 6; len++) {
        unsigned total = 1;
        for (unsigned i = 0; i < len; i++) total *= 4;
        for (unsigned k = 0; k < total; k++) {
            char text[8];
            unsigned x = k;
            for (unsigned i = 0; i < len; i++, x /= 4) text[i] = alphabet[x % 4];
            text[len] = '\0';
            for (size_t c = 0; c < sizeof curs / sizeof curs[0]; c++) canonical_agrees(text, curs[c]);
        }
    }
}
