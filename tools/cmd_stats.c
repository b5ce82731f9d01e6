/*
 * tools/cmd_stats.c - `folio stats`: size of the ledger and events per type.
 */
#include "cli.h"

int cmd_stats(cli_ctx *c) {
    folio_db *db = NULL;
    folio_stats s;
    char hex[2 * FOLIO_HASH_BYTES + 1], when[40] = "-";
    if (c->argc > 1) return cli_bad_arg(c, 1); /* takes none */
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_stats_get(&s, db);
    folio_db_close(db);
    if (rc < 0) return cli_fail(rc, "stats");
    folio_hash_hex(hex, s.head);
    if (s.last_recorded_at_us) cli_format_time(when, s.last_recorded_at_us);
    if (c->json) {
        printf("{\"format\":%u,\"events\":%llu,\"streams\":%llu,\"head\":\"%s\","
               "\"last_recorded_at\":",
               s.format, (unsigned long long)s.events, (unsigned long long)s.streams, hex);
        if (s.last_recorded_at_us)
            printf("\"%s\"", when);
        else
            printf("null");
        printf(",\"file_bytes\":%llu,\"used_bytes\":%llu,\"map_bytes\":%llu,\"types\":{",
               (unsigned long long)s.file_bytes, (unsigned long long)s.used_bytes,
               (unsigned long long)s.map_bytes);
        int first = 1;
        for (uint32_t t = 0; t < 64; t++) {
            if (!s.type_counts[t]) continue;
            const char *name = folio_event_type_name(t);
            if (name)
                printf("%s\"%s\":%llu", first ? "" : ",", name, (unsigned long long)s.type_counts[t]);
            else
                printf("%s\"unknown.%u\":%llu", first ? "" : ",", t, (unsigned long long)s.type_counts[t]);
            first = 0;
        }
        printf("}}\n");
        return 0;
    }
    printf("ledger        %s (format %u)\n", c->db_path, s.format);
    printf("events        %llu\n", (unsigned long long)s.events);
    printf("streams       %llu\n", (unsigned long long)s.streams);
    printf("head          %s\n", hex);
    printf("last recorded %s\n", when);
    printf("file bytes    %llu\n", (unsigned long long)s.file_bytes);
    printf("used bytes    %llu (the rest: free pages, given to later writes first)\n",
           (unsigned long long)s.used_bytes);
    printf("map bytes     %llu\n", (unsigned long long)s.map_bytes);
    for (uint32_t t = 0; t < 64; t++) {
        if (!s.type_counts[t]) continue;
        const char *name = folio_event_type_name(t);
        printf("  %-24s %llu\n", name ? name : "unknown", (unsigned long long)s.type_counts[t]);
    }
    return 0;
}
