/*
 * tests/engine/dates.c - business dates ("YYYY-MM-DD" <-> days since 1970-01-01) against a
 * day-by-day calendar model, the shapes the parser refuses, and the currency lookup (a
 * binary search over packed codes) against every row of the table in engine/money.c.
 */
#include <criterion/criterion.h>
#include <folio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Walk the calendar one day at a time from 1970-01-01 (day 0) to `to`, checking every day
 * in [from_y, to_y]: formatting gives the model's text, and parsing it gives the day. */
static void walk(int from_y, int to_y) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    /* start at 1900-01-01: 70 years before day 0, 17 of them leap years */
    int32_t day = -(70 * 365 + 17);
    for (int y = 1900; y <= to_y; y++) {
        for (int m = 1; m <= 12; m++) {
            int n = mdays[m - 1] + (m == 2 && leap(y));
            for (int d = 1; d <= n; d++, day++) {
                if (y < from_y) continue;
                char want[40], got[11];
                int32_t parsed = 0;
                snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
                folio_date_format(got, day);
                cr_assert_str_eq(got, want, "day %d", day);
                cr_assert_eq(folio_date_parse(&parsed, want), FOLIO_OK, "%s: %s", want,
                             folio_errmsg());
                cr_assert_eq(parsed, day, "%s", want);
            }
        }
    }
}

Test(dates, every_day_formats_and_parses_as_the_calendar_says_1900_to_2200) { walk(1900, 2200); }
Test(dates, every_day_formats_and_parses_as_the_calendar_says_9800_to_9999) { walk(9800, 9999); }

Test(dates, day_zero_is_1970_01_01) {
    int32_t d = 7;
    cr_assert_eq(folio_date_parse(&d, "1970-01-01"), FOLIO_OK);
    cr_assert_eq(d, 0);
    cr_assert_eq(folio_date_parse(&d, "2026-01-31"), FOLIO_OK);
    cr_assert_eq(d, 20484);
}

Test(dates, only_existing_yyyy_mm_dd_dates_are_accepted) {
    static const char *const bad[] = {
        "", "2", "2026", "2026-01-0", "2026-01-011", "2026-1-01", "2026-01-1", "2026/01/01",
        "2026-01/01", "20260-1-01", "a026-01-01", "2a26-01-01", "20a6-01-01", "202a-01-01",
        "2026-a1-01", "2026-0a-01", "2026-01-a1", "2026-01-0a", " 2026-01-01", "2026-01-01 ",
        "2026-00-01", "2026-13-01", "2026-01-00", "2026-01-32", "2026-02-29", "1900-02-29",
        "2100-02-29", "2026-04-31", "1899-12-31", "0000-01-01", "-026-01-01", "+026-01-01",
        "2026-01-01\n", "10000-01-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t d = 77;
        cr_assert_eq(folio_date_parse(&d, bad[i]), FOLIO_EINVAL, "'%s' was accepted", bad[i]);
        cr_assert_eq(d, 77, "'%s': a refused date must not write its output", bad[i]);
    }
    int32_t d;
    cr_assert_eq(folio_date_parse(&d, "2024-02-29"), FOLIO_OK);
    cr_assert_eq(folio_date_parse(&d, "2000-02-29"), FOLIO_OK);
    cr_assert_eq(folio_date_parse(&d, "1900-01-01"), FOLIO_OK);
    cr_assert_eq(folio_date_parse(&d, "9999-12-31"), FOLIO_OK);
    /* the parser reads no further than the end of a shorter string: "2026-01-0" followed by
     * its NUL and then a digit is refused */
    char buf[12] = "2026-01-01";
    buf[9] = '\0';
    buf[10] = '5';
    cr_assert_eq(folio_date_parse(&d, buf), FOLIO_EINVAL);
    cr_assert_eq(folio_date_parse(NULL, "2026-01-01"), FOLIO_EINVAL);
    cr_assert_eq(folio_date_parse(&d, NULL), FOLIO_EINVAL);
}

/* Every currency row of engine/money.c's table is found with its exponent, and codes next
 * to each (one letter changed) that are not in the table are not. */
Test(dates, currency_lookup_finds_every_row_of_the_table) {
    FILE *f = fopen(FOLIO_SOURCE_DIR "/engine/money.c", "r");
    cr_assert_not_null(f);
    static char src[64 * 1024];
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = '\0';
    char codes[400][4];
    unsigned exps[400], count = 0;
    for (const char *p = strstr(src, "{\""); p && count < 400; p = strstr(p + 1, "{\"")) {
        char c[4];
        unsigned e;
        if (sscanf(p, "{\"%3[A-Z]\", %u}", c, &e) == 2 && strlen(c) == 3) {
            memcpy(codes[count], c, 4);
            exps[count++] = e;
        }
    }
    cr_assert_gt(count, 150, "the table was not found in engine/money.c");
    for (unsigned i = 0; i < count; i++) {
        unsigned e = 99;
        cr_assert_eq(folio_currency_exponent(&e, codes[i]), FOLIO_OK, "%s", codes[i]);
        cr_assert_eq(e, exps[i], "%s", codes[i]);
        for (int pos = 0; pos < 3; pos++) {
            for (int delta = -1; delta <= 1; delta += 2) {
                char near[4];
                memcpy(near, codes[i], 4);
                near[pos] = (char)(near[pos] + delta);
                int listed = 0;
                for (unsigned j = 0; j < count; j++) listed |= memcmp(codes[j], near, 4) == 0;
                int rc = folio_currency_exponent(&e, near);
                cr_assert_eq(rc, listed ? FOLIO_OK : FOLIO_ENOTFOUND, "%s", near);
            }
        }
    }
    unsigned e;
    cr_assert_eq(folio_currency_exponent(&e, "US"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, "USDX"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, "AAA"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, "ZZZ"), FOLIO_ENOTFOUND);
    cr_assert_eq(folio_currency_exponent(&e, "\xff\xff\xff"), FOLIO_ENOTFOUND);
}
