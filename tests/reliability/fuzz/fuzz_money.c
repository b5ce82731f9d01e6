/*
 * tests/reliability/fuzz/fuzz_money.c - libFuzzer target: amounts and business dates.
 *
 * Input: one byte c (currency selector), then text T (up to the first NUL).
 *   - folio_currency_exponent(T) never crashes; an accepted code has an exponent <= 4.
 *   - folio_money_parse(T, currency c): when accepted, format -> parse gives the same minor
 *     units, and formatting is canonical (format(parse(format(v))) == format(v)).
 *   - folio_date_parse(T): when accepted, folio_date_format gives T back exactly; and for
 *     the first 4 input bytes taken as an int32 day number: a formatted day in the accepted
 *     year range parses back to the same day, one in years 0-1899 is refused (days past
 *     9999 are clamped to year 9999 by design: they never come from folio_date_parse).
 *   - the first 8 input bytes as int64 minor units: format -> parse gives them back, in
 *     every currency of the selector table.
 */
#include "fuzz_common.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_money: check failed: %s: ", #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* Exponents 0, 2, 3, 4, and codes that are not currencies. */
static const char *const currencies[] = {"USD", "JPY", "BHD", "CLF", "EUR", "KWD", "UYW",
                                         "XXX", "usd", "", "US", "USDD", "XAU"};
#define CURRENCY_COUNT (sizeof currencies / sizeof currencies[0])

static void roundtrip_minor(int64_t v, const char *cur) {
    char text[FOLIO_MONEY_TEXT_MAX], text2[FOLIO_MONEY_TEXT_MAX];
    int64_t back = 0;
    unsigned exp;
    int known = folio_currency_exponent(&exp, cur) == FOLIO_OK;
    int rc = folio_money_format(text, sizeof text, v, cur);
    if (!known) {
        CHECK(rc == FOLIO_ENOTFOUND, "format in '%s' returned %d", cur, rc);
        return;
    }
    CHECK(rc == FOLIO_OK, "format %lld %s: %s", (long long)v, cur, folio_errmsg());
    CHECK(strlen(text) < FOLIO_MONEY_TEXT_MAX, "formatted text too long");
    rc = folio_money_parse(&back, text, cur);
    CHECK(rc == FOLIO_OK, "'%s' %s formatted from %lld does not parse: %s", text, cur,
          (long long)v, folio_errmsg());
    CHECK(back == v, "'%s' %s parses to %lld, formatted from %lld", text, cur, (long long)back,
          (long long)v);
    CHECK(folio_money_format(text2, sizeof text2, back, cur) == FOLIO_OK, "format again");
    CHECK(strcmp(text, text2) == 0, "format not stable: '%s' vs '%s'", text, text2);
    /* a buffer one byte short is refused, never overrun */
    size_t need = strlen(text) + 1;
    char *small = malloc(need - 1);
    CHECK(small != NULL, "out of memory");
    CHECK(folio_money_format(small, need - 1, v, cur) == FOLIO_EINVAL,
          "a %zu-byte buffer accepted '%s'", need - 1, text);
    free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *cur = currencies[data[0] % CURRENCY_COUNT];
    char *text = malloc(size); /* the text after the selector, NUL-terminated */
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    unsigned exp = 99;
    if (folio_currency_exponent(&exp, text) == FOLIO_OK)
        CHECK(exp <= 4 && strlen(text) == 3, "currency '%s' exponent %u", text, exp);

    int64_t minor = 0, back = 0;
    char out[FOLIO_MONEY_TEXT_MAX];
    if (folio_money_parse(&minor, text, cur) == FOLIO_OK) {
        CHECK(folio_currency_exponent(&exp, cur) == FOLIO_OK, "parsed in unknown '%s'", cur);
        CHECK(folio_money_format(out, sizeof out, minor, cur) == FOLIO_OK, "format: %s",
              folio_errmsg());
        CHECK(folio_money_parse(&back, out, cur) == FOLIO_OK, "'%s' -> '%s' does not parse: %s",
              text, out, folio_errmsg());
        CHECK(back == minor, "'%s' %s = %lld, but its format '%s' = %lld", text, cur,
              (long long)minor, out, (long long)back);
    }

    int32_t days = 0, days2 = 0;
    char date[11];
    if (folio_date_parse(&days, text) == FOLIO_OK) {
        folio_date_format(date, days);
        CHECK(strcmp(date, text) == 0, "date '%s' is day %d, which formats as '%s'", text,
              (int)days, date);
    }

    if (size >= 5) {
        int32_t d;
        memcpy(&d, data + 1, sizeof d);
        folio_date_format(date, d);
        CHECK(strlen(date) == 10, "day %d formats as '%s'", (int)d, date);
        if (d >= -25567 && d <= 2932896) { /* 1900-01-01 .. 9999-12-31 */
            CHECK(folio_date_parse(&days2, date) == FOLIO_OK, "day %d = '%s' does not parse",
                  (int)d, date);
            CHECK(days2 == d, "day %d = '%s' parses to %d", (int)d, date, (int)days2);
        } else if (d >= -719468 && d < -25567) { /* years 0-1899: shown, refused */
            CHECK(folio_date_parse(&days2, date) == FOLIO_EINVAL,
                  "day %d out of range formats as '%s', which parses", (int)d, date);
        }
    }

    if (size >= 9) {
        int64_t v;
        memcpy(&v, data + 1, sizeof v);
        for (size_t i = 0; i < CURRENCY_COUNT; i++) roundtrip_minor(v, currencies[i]);
    }
    free(text);
    return 0;
}
