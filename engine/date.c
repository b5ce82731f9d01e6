/*
 * engine/date.c - business dates: ISO 8601 calendar dates (YYYY-MM-DD) as days since
 * 1970-01-01, proleptic Gregorian. Business dates are separate from recorded_at.
 */
#include <stdio.h>
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

int folio_date_parse(int32_t *days_out, const char *text) {
    unsigned y, m, d;
    char tail;
    if (!days_out || !text) return folio_error__set(FOLIO_EINVAL, "date: NULL argument");
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
        sscanf(text, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
        return folio_error__set(FOLIO_EINVAL, "date '%s' is not YYYY-MM-DD", text);
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return folio_error__set(FOLIO_EINVAL, "date '%s' is not YYYY-MM-DD", text);
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && leap))
        return folio_error__set(FOLIO_EINVAL, "date '%s' does not exist (years 1900-9999)", text);
    *days_out = (int32_t)days_from_civil(y, m, d);
    return FOLIO_OK;
}

void folio_date_format(char out[11], int32_t days) {
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    FOLIO_ASSERT(m >= 1 && m <= 12);
    FOLIO_ASSERT(d >= 1 && d <= 31);
    /* years outside 0..9999 do not come from folio_date_parse; keep the text in 10 bytes */
    if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, m % 100u, d % 100u);
}

int32_t folio_date_today(void) {
    return (int32_t)(time(NULL) / 86400);
}
