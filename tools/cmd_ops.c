/*
 * tools/cmd_ops.c - operations on the whole ledger: rebuild, check (contained like verify:
 * a scan that dies from a signal is reported as corruption, exit 4).
 */
#include "cli.h"

int cmd_rebuild(cli_ctx *c) {
    folio_db *db = NULL;
    uint64_t events = 0;
    if (c->argc > 1) return cli_bad_arg(c, 1); /* takes none */
    int refused = cli_refuse_write_guards(
        c, "it refolds every projection and appends no event; running it again is safe");
    if (refused) return refused;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    cli_progress_attach(db);
    int rc = folio_rebuild(&events, db);
    cli_progress_end();
    if (rc < 0)
        code = cli_fail(rc, "rebuild");
    else if (c->json)
        printf("{\"ok\":true,\"events\":%llu}\n", (unsigned long long)events);
    else
        printf("rebuilt every projection from %llu events\n", (unsigned long long)events);
    folio_db_close(db);
    return code;
}

/* The child of cmd_check (cli_contain): the replay and the comparison read every page of
 * the ledger, and a damaged page can kill the reader with a signal. */
static int check_scan(void *arg, cli_mark *mark) {
    cli_ctx *c = arg;
    folio_db *db = NULL;
    uint64_t events = 0;
    (void)mark;
    int code = cli_open(&db, c, 0);
    if (code) return code;
    cli_progress_attach(db);
    int rc = folio_check(&events, db);
    cli_progress_end();
    if (rc == FOLIO_OK) {
        if (c->json)
            printf("{\"ok\":true,\"events\":%llu}\n", (unsigned long long)events);
        else
            printf("ok: every projection matches a replay of %llu events\n",
                   (unsigned long long)events);
    } else {
        if (c->json && rc == FOLIO_ECORRUPT) {
            printf("{\"ok\":false,\"error\":");
            cli_json_string(stdout, folio_errmsg());
            printf("}\n");
        }
        code = cli_fail(rc, "check");
    }
    folio_db_close(db);
    return code;
}

int cmd_check(cli_ctx *c) {
    if (c->argc > 1) return cli_bad_arg(c, 1); /* takes none */
    cli_mark mark = {0, 0, 0};
    int sig = 0;
    int code = cli_contain(&sig, check_scan, c, &mark);
    if (!sig) return code;
    char msg[120];
    snprintf(msg, sizeof msg, "corruption: the scan crashed (signal %d); run verify to find "
                              "the damaged event",
             sig);
    if (c->json) {
        printf("{\"ok\":false,\"signal\":%d,\"error\":", sig);
        cli_json_string(stdout, msg);
        printf("}\n");
    }
    cli_error("check failed: %s", msg);
    return EXIT_INTEGRITY;
}
