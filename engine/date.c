/*
 * engine/date.c - business dates: ISO 8601 calendar dates (YYYY-MM-DD) as days since
 * 1970-01-01, proleptic Gregorian. Business dates are separate from recorded_at.
 */
#include <time.h>

#include "internal.h"

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

/* y, m and d of "YYYY-MM-DD" (exactly ten characters), or 0 when text is not that shape.
 * Each character is read only after the ones before it were found not to be the end (the
 * || chain stops at the first that is not what its place needs). */
static int split_date(int *y, int *m, int *d, const char *text) {
    const unsigned char *t = (const unsigned char *)text;
#define D(i) ((unsigned)t[i] - '0') /* above 9 when not a digit */
    if (D(0) > 9 || D(1) > 9 || D(2) > 9 || D(3) > 9 || t[4] != '-' || D(5) > 9 || D(6) > 9 ||
        t[7] != '-' || D(8) > 9 || D(9) > 9 || t[10] != '\0')
        return 0;
    *y = (int)(D(0) * 1000 + D(1) * 100 + D(2) * 10 + D(3));
    *m = (int)(D(5) * 10 + D(6));
    *d = (int)(D(8) * 10 + D(9));
#undef D
    return 1;
}

int folio_date_parse(int32_t *days_out, const char *text) {
    if (!days_out || !text) return folio_error__set(FOLIO_EINVAL, "date: NULL argument");
    int y = -1, m = -1, d = -1;
    if (!split_date(&y, &m, &d, text))
        return folio_error__set(FOLIO_EINVAL, "date '%s' is not YYYY-MM-DD", text);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && leap))
        return folio_error__set(FOLIO_EINVAL, "date '%s' does not exist (years 1900-9999)", text);
    *days_out = (int32_t)days_from_civil(y, (unsigned)m, (unsigned)d);
    return FOLIO_OK;
}

void folio_date_format(char out[11], int32_t days) {
    int y;
    unsigned m, d;
    if (!out) return;
    civil_from_days(days, &y, &m, &d);
    FOLIO_ASSERT(m >= 1 && m <= 12);
    FOLIO_ASSERT(d >= 1 && d <= 31);
    /* years outside 0..9999 do not come from folio_date_parse; keep the text in 10 bytes */
    if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;
    const unsigned yy = (unsigned)y; /* the digits written directly: no stdio, no loops */
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int32_t folio_date_today(void) {
    return (int32_t)(time(NULL) / 86400);
}
