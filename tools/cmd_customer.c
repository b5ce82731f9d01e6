/*
 * tools/cmd_customer.c - the customer master's write commands: init, create, update,
 * status, delete, own, contact add/remove, note, merge. Each is one call of the C API; the
 * result is printed as {"id","ref","seq","version"} with --json.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Address options: --billing-street ... --shipping-country. Returns 1 if taken. */
static int address_opt(folio_address *bill, folio_address *ship, const cli_ctx *c, int *i,
                       int *bad) {
    static const char *const fields[] = {"street", "city", "region", "postcode", "country"};
    for (int s = 0; s < 2; s++) {
        folio_address *a = s ? ship : bill;
        const char **slots[] = {&a->street, &a->city, &a->region, &a->postcode, &a->country};
        for (int f = 0; f < 5; f++) {
            char name[40];
            snprintf(name, sizeof name, "--%s-%s", s ? "shipping" : "billing", fields[f]);
            int r = cli_opt(slots[f], c, i, name);
            if (r < 0) *bad = 1;
            if (r) return 1;
        }
    }
    return 0;
}

int cmd_init(cli_ctx *c) {
    folio_settings_new s = {0};
    for (int i = 1; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&s.base_currency, c, &i, "--base-currency")) ||
            (r = cli_opt(&s.ref_prefix, c, &i, "--ref-prefix")) ||
            (r = cli_opt(&s.credit_control, c, &i, "--credit-control")) ||
            (r = cli_opt(&s.on_hold_policy, c, &i, "--on-hold"))) {
            if (r < 0) return EXIT_USAGE;
        } else {
            return cli_bad_arg(c, i);
        }
    }
    CLI_RUN_WRITE(c, "settings recorded", folio_ledger_init(&res, db, &w, &s));
}

int cmd_create(cli_ctx *c) {
    folio_customer_new n = {0};
    int bad = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&n.type, c, &i, "--type")) || (r = cli_opt(&n.status, c, &i, "--status")) ||
            (r = cli_opt(&n.currency, c, &i, "--currency")) ||
            (r = cli_opt(&n.credit_limit, c, &i, "--credit-limit")) ||
            (r = cli_opt(&n.owner, c, &i, "--owner")) || (r = cli_opt(&n.ref, c, &i, "--ref")) ||
            (r = cli_opt(&n.external_id, c, &i, "--external-id"))) {
            if (r < 0) return EXIT_USAGE;
        } else if (address_opt(&n.billing, &n.shipping, c, &i, &bad)) {
            if (bad) return EXIT_USAGE;
        } else if (cli_is_option(c, i)) {
            return cli_bad_arg(c, i);
        } else if (!n.name) {
            n.name = c->argv[i];
        } else {
            return cli_usage("create: one name only ('%s' is extra; quote a name with spaces)",
                             c->argv[i]);
        }
    }
    if (!n.name) return cli_usage("create needs a NAME");
    CLI_RUN_WRITE(c, "created", folio_customer_create(&res, db, &w, &n));
}

int cmd_update(cli_ctx *c) {
    folio_customer_changes ch = {0};
    const char *ref = NULL;
    int bad = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&ch.name, c, &i, "--name")) || (r = cli_opt(&ch.type, c, &i, "--type")) ||
            (r = cli_opt(&ch.credit_limit, c, &i, "--credit-limit")) ||
            (r = cli_opt(&ch.currency, c, &i, "--currency")) ||
            (r = cli_opt(&ch.external_id, c, &i, "--external-id"))) {
            if (r < 0) return EXIT_USAGE;
        } else if (address_opt(&ch.billing, &ch.shipping, c, &i, &bad)) {
            if (bad) return EXIT_USAGE;
        } else if (cli_is_option(c, i) || ref) {
            return cli_bad_arg(c, i);
        } else {
            ref = c->argv[i];
        }
    }
    if (!ref) return cli_usage("update needs a CUSTOMER ref");
    CLI_RUN_WRITE(c, "updated", folio_customer_update(&res, db, &w, ref, &ch));
}

int cmd_status(cli_ctx *c) {
    const char *a[2];
    int code = cli_operands(a, c, 1, 2,
                            "usage: folio status CUSTOMER prospect|active|hold|inactive|deleted");
    if (code) return code;
    char what[64];
    snprintf(what, sizeof what, "status %s", a[1]);
    CLI_RUN_WRITE(c, what, folio_customer_set_status(&res, db, &w, a[0], a[1]));
}

int cmd_delete(cli_ctx *c) {
    const char *ref;
    int code = cli_operands(&ref, c, 1, 1, "usage: folio delete CUSTOMER");
    if (code) return code;
    CLI_RUN_WRITE(c, "deleted", folio_customer_set_status(&res, db, &w, ref, "deleted"));
}

int cmd_own(cli_ctx *c) {
    const char *a[2];
    int code = cli_operands(a, c, 1, 2, "usage: folio own CUSTOMER USER");
    if (code) return code;
    char what[160];
    snprintf(what, sizeof what, "owned by %s", a[1]);
    CLI_RUN_WRITE(c, what, folio_customer_set_owner(&res, db, &w, a[0], a[1]));
}

int cmd_note(cli_ctx *c) {
    const char *a[2];
    int code = cli_operands(a, c, 1, 2, "usage: folio note CUSTOMER TEXT (quote the text)");
    if (code) return code;
    CLI_RUN_WRITE(c, "note added", folio_note_add(&res, db, &w, a[0], a[1]));
}

int cmd_contact(cli_ctx *c) {
    if (c->argc >= 2 && strcmp(c->argv[1], "remove") == 0) {
        const char *a[2];
        uint64_t id;
        int code = cli_operands(a, c, 2, 2, "usage: folio contact remove CUSTOMER ID");
        if (code) return code;
        if (cli_parse_u64(&id, a[1]) != 0 || id == 0)
            return cli_usage("contact id must be a number, not '%s'", a[1]);
        CLI_RUN_WRITE(c, "contact removed", folio_contact_remove(&res, db, &w, a[0], id));
    }
    if (c->argc < 2 || strcmp(c->argv[1], "add") != 0)
        return cli_usage("usage: folio contact add CUSTOMER --name N [--email E] [--phone P] "
                         "[--role R] | contact remove CUSTOMER ID");
    folio_contact_new ct = {0};
    const char *ref = NULL;
    for (int i = 2; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&ct.name, c, &i, "--name")) || (r = cli_opt(&ct.email, c, &i, "--email")) ||
            (r = cli_opt(&ct.phone, c, &i, "--phone")) || (r = cli_opt(&ct.role, c, &i, "--role"))) {
            if (r < 0) return EXIT_USAGE;
        } else if (cli_is_option(c, i) || ref) {
            return cli_bad_arg(c, i);
        } else {
            ref = c->argv[i];
        }
    }
    if (!ref) return cli_usage("contact add needs a CUSTOMER ref");
    if (!ct.name) return cli_usage("contact add needs --name");
    CLI_RUN_WRITE(c, "contact added", folio_contact_add(&res, db, &w, ref, &ct));
}

int cmd_merge(cli_ctx *c) {
    const char *keep = NULL, *del = NULL, *dv = NULL;
    uint64_t del_version = 0;
    for (int i = 1; i < c->argc; i++) {
        int r;
        if ((r = cli_opt(&keep, c, &i, "--keep")) || (r = cli_opt(&del, c, &i, "--delete")) ||
            (r = cli_opt(&dv, c, &i, "--expect-delete-version"))) {
            if (r < 0) return EXIT_USAGE;
        } else {
            return cli_bad_arg(c, i);
        }
    }
    if (!keep || !del) return cli_usage("usage: folio merge --keep CUSTOMER --delete CUSTOMER");
    if (dv && cli_parse_u64(&del_version, dv) != 0)
        return cli_usage("--expect-delete-version needs a whole number, not '%s'", dv);
    char what[160];
    snprintf(what, sizeof what, "merged %s into it", del);
    CLI_RUN_WRITE(c, what, folio_customer_merge(&res, db, &w, keep, del, dv != NULL, del_version));
}
