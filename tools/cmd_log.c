/*
 * tools/cmd_log.c - `folio log [--from SEQ] [--limit N]`: events in seq order, one a line.
 */
#include "cli.h"

int cmd_log(cli_ctx *c) {
    uint64_t from = 1, limit = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *v;
        int r;
        if ((r = cli_opt(&v, c, &i, "--from")) != 0) {
            if (r < 0) return EXIT_USAGE;
            if (cli_parse_u64(&from, v) != 0 || from == 0)
                return cli_usage("--from needs a seq (1 or more), not '%s'", v);
        } else if ((r = cli_opt(&v, c, &i, "--limit")) != 0) {
            if (r < 0) return EXIT_USAGE;
            if (cli_parse_u64(&limit, v) != 0 || limit == 0)
                return cli_usage("--limit needs a number of events (1 or more), not '%s'", v);
        } else {
            return cli_usage("log: unknown argument '%s'", c->argv[i]);
        }
    }
    folio_db *db = NULL;
    folio_iter *it = NULL;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    int rc = folio_log_open(&it, db, from, 0);
    const folio_event *e;
    uint64_t shown = 0, ref_stream = UINT64_MAX;
    char ref[FOLIO_REF_BYTES_MAX + 1] = "";
    int have_ref = 0;
    while (rc == FOLIO_OK && (limit == 0 || shown < limit)) {
        rc = folio_iter_next(&e, it);
        if (rc != FOLIO_OK) break;
        if (e->stream != ref_stream) { /* one lookup per run of events of one stream */
            ref_stream = e->stream;
            int r = folio_customer_ref(ref, db, e->stream);
            if (r < 0 && r != FOLIO_ENOTFOUND && r != FOLIO_EFORMAT) {
                rc = r;
                break;
            }
            have_ref = r == FOLIO_OK;
        }
        rc = cli_print_history_item(stdout, e, c->json, 1, have_ref ? ref : NULL);
        shown++;
    }
    if (rc == FOLIO_ITEROVER) rc = FOLIO_OK;
    if (rc < 0) code = cli_fail(rc, "log");
    folio_iter_free(it);
    folio_db_close(db);
    return code;
}
