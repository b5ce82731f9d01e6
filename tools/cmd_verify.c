/*
 * tools/cmd_verify.c - `folio verify`: the integrity walk; exit 4 naming the first bad seq.
 */
#include "cli.h"

int cmd_verify(cli_ctx *c) {
    folio_db *db = NULL;
    folio_verify_report r;
    char hex[2 * FOLIO_HASH_BYTES + 1];
    if (c->argc > 1) return cli_usage("verify takes no arguments ('%s')", c->argv[1]);
    /* Read-only: opening for writing would first bring projections up to date, and on a
     * damaged log that fails before verify can name the bad seq. */
    folio_open_opts opts = FOLIO_OPEN_OPTS_INIT;
    opts.read_only = 1;
    cli_env_opts(&opts);
    int rc = folio_db_open(&db, c->db_path, &opts);
    if (rc < 0) return cli_fail(rc, NULL);
    int code = 0;
    cli_progress_attach(db);
    rc = folio_verify(&r, db);
    cli_progress_end();
    folio_hash_hex(hex, r.head);
    if (rc == FOLIO_OK) {
        if (c->json)
            printf("{\"ok\":true,\"events\":%llu,\"streams\":%llu,\"head\":\"%s\"}\n",
                   (unsigned long long)r.events, (unsigned long long)r.streams, hex);
        else
            printf("ok: %llu events in %llu streams, head %s\n", (unsigned long long)r.events,
                   (unsigned long long)r.streams, hex);
    } else if (rc == FOLIO_ECORRUPT) {
        if (c->json) {
            printf("{\"ok\":false,\"events\":%llu,\"bad_seq\":%llu,\"error\":",
                   (unsigned long long)r.events, (unsigned long long)r.bad_seq);
            cli_json_string(stdout, folio_errmsg());
            printf("}\n");
        }
        code = cli_fail(rc, "verify failed");
    } else {
        code = cli_fail(rc, "verify");
    }
    folio_db_close(db);
    return code;
}
