/*
 * engine/money.c - money as int64 minor units plus an ISO 4217 code.
 * The exponent table lists the active ISO 4217 currencies (codes with minor units; funds
 * and precious metals without minor units are not money here). Amounts are read and written
 * as decimal strings; floating point never touches them. More fraction digits than the
 * currency allows, signs other than a leading '-', exponents, separators and overflow are
 * rejected, never rounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    char code[4];
    uint8_t exponent;
} folio_currency;
static const folio_currency currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2},
    {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2},
    {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2},
    {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2},
    {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2},
    {"COU", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2},
    {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2},
    {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0},
    {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3},
    {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2},
    {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2},
    {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
    {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2},
    {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
    {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
    {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
    {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2},
    {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2},
    {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0},
    {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};
#define CURRENCY_COUNT (sizeof currencies / sizeof currencies[0])

/* first_letter[L]: the index of the first code whose first letter is 'A' + L or later
 * (first_letter[26]: the table's length), so a search starts among the codes of its first
 * letter (a handful) instead of all of them. Debug builds check it against the table. */
static const uint8_t first_letter[27] = {0,   10,  26,  40,  44,  48,  50,  58,  62,
                                         68,  71,  80,  86,  101, 107, 108, 115, 116,
                                         120, 135, 144, 152, 156, 157, 162, 163, 166};
_Static_assert(CURRENCY_COUNT <= 255, "first_letter holds indexes below 256");

/* A code's three letters as one number that sorts as the code does. */
static inline uint32_t code_key(const char *c) {
    return (uint32_t)(uint8_t)c[0] << 16 | (uint32_t)(uint8_t)c[1] << 8 | (uint8_t)c[2];
}

int folio_currency_exponent(unsigned *exponent_out, const char *code) {
    if (!exponent_out || !code) return folio_error__set(FOLIO_EINVAL, "currency: NULL argument");
#ifndef NDEBUG
    for (size_t i = 1; i < CURRENCY_COUNT; i++) /* the search needs the table in code order */
        FOLIO_ASSERT(code_key(currencies[i - 1].code) < code_key(currencies[i].code));
    for (unsigned l = 0; l < 26; l++) {
        FOLIO_ASSERT(first_letter[l] <= first_letter[l + 1]);
        if (first_letter[l] < CURRENCY_COUNT)
            FOLIO_ASSERT(currencies[first_letter[l]].code[0] >= 'A' + (int)l);
        if (first_letter[l] > 0)
            FOLIO_ASSERT(currencies[first_letter[l] - 1].code[0] < 'A' + (int)l);
    }
    FOLIO_ASSERT(first_letter[26] == CURRENCY_COUNT);
#endif
    /* exactly three characters (no NUL among the first three, then the end) */
    if (code[0] && code[1] && code[2] && !code[3]) {
        const uint32_t key = code_key(code);
        const unsigned l = (unsigned)(uint8_t)code[0] - 'A';
        size_t lo = l < 26 ? first_letter[l] : 0, hi = l < 26 ? first_letter[l + 1] : 0;
        /* binary search over [lo, hi): the codes of the first letter */
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;
            const uint32_t k = code_key(currencies[mid].code);
            if (k == key) {
                *exponent_out = currencies[mid].exponent;
                FOLIO_ASSERT(*exponent_out <= 4);
                return FOLIO_OK;
            }
            if (k < key)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return folio_error__set(FOLIO_ENOTFOUND, "'%s' is not an ISO 4217 currency code", code);
}

int folio_money_parse(int64_t *minor_out, const char *text, const char *currency) {
    return folio_money__parse(minor_out, NULL, text, currency);
}

int folio_money__parse(int64_t *minor_out, int *canonical_out, const char *text,
                       const char *currency) {
    unsigned exp;
    if (!minor_out || !text || !currency)
        return folio_error__set(FOLIO_EINVAL, "amount: NULL argument");
    if (folio_currency_exponent(&exp, currency) < 0)
        return folio_error__set(FOLIO_EINVAL, "'%s' is not an ISO 4217 currency code", currency);
    const char *p = text;
    int negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    const char first_digit = *p;
    /* Accumulate the magnitude as a negative number: INT64_MIN has no positive twin. */
    int64_t acc = 0;
    unsigned int_digits = 0, frac_digits = 0;
    /* 18 digits cannot overflow (10^18 - 1 < 2^63): only the digits after them are checked
     * (seen counts every digit, leading zeros included; a size_t does not wrap) */
    size_t seen = 0;
    for (; *p >= '0' && *p <= '9'; p++, int_digits++, seen++) {
        if (seen >= 18 && acc < (INT64_MIN + (*p - '0')) / 10) goto overflow;
        acc = acc * 10 - (*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, frac_digits++, seen++) {
            if (frac_digits >= exp)
                return folio_error__set(FOLIO_EINVAL,
                                        "amount '%s' has more than %u decimal places for %s",
                                        text, exp, currency);
            if (seen >= 18 && acc < (INT64_MIN + (*p - '0')) / 10) goto overflow;
            acc = acc * 10 - (*p - '0');
        }
        if (frac_digits == 0)
            return folio_error__set(FOLIO_EINVAL, "amount '%s' ends with a decimal point", text);
    }
    if (*p != '\0' || int_digits == 0)
        return folio_error__set(FOLIO_EINVAL,
                                "amount '%s' is not a decimal number (like 1234.50)", text);
    for (unsigned i = frac_digits; i < exp; i++) {
        if (acc < INT64_MIN / 10) goto overflow;
        acc *= 10;
    }
    if (!negative) {
        if (acc == INT64_MIN) goto overflow;
        acc = -acc;
    }
    /* folio_money_format's text of acc: no zero before a units digit, exactly exp fraction
     * digits (a point only with them), a sign only before a value that is not 0 */
    if (canonical_out)
        *canonical_out = (int_digits == 1 || first_digit != '0') && frac_digits == exp &&
                         !(negative && acc == 0);
    *minor_out = acc;
    return FOLIO_OK;
overflow:
    return folio_error__set(FOLIO_EINVAL, "amount '%s' is too large", text);
}

int folio_money_format(char *out, size_t cap, int64_t minor, const char *currency) {
    unsigned exp;
    if (!out || !currency) return folio_error__set(FOLIO_EINVAL, "format: NULL argument");
    int rc = folio_currency_exponent(&exp, currency);
    if (rc < 0) return rc;
    /* Magnitude as unsigned: -INT64_MIN does not fit an int64. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = 1;
    for (unsigned i = 0; i < exp; i++) scale *= 10;
    char text[1 + 20 + 1 + 20]; /* sign, units, point, fraction (exp < 20) */
    size_t n = 0;
    FOLIO_ASSERT(exp < 20);
    if (minor < 0) text[n++] = '-';
    n += folio__put_decimal(text + n, mag / scale, 1);
    if (exp > 0) {
        text[n++] = '.';
        n += folio__put_decimal(text + n, mag % scale, exp);
    }
    if (n >= cap)
        return folio_error__set(FOLIO_EINVAL, "format: buffer of %zu bytes is too small", cap);
    memcpy(out, text, n);
    out[n] = '\0';
    return FOLIO_OK;
}
