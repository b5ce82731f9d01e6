#!/usr/bin/env bash
# tests/reliability/fuzz/make_seeds.sh - write the seed inputs of every fuzz target into
# OUT_DIR/<target>/ (then minimise them into corpus/ with libFuzzer -merge=1, see README.md).
#
#   bash tests/reliability/fuzz/make_seeds.sh BUILD_DIR OUT_DIR
#
# BUILD_DIR holds the binaries run.sh built (bin/fuzz_*). codec and append seeds are the real
# events of the template ledger (the targets write them: FOLIO_FUZZ_MAKE_SEEDS); restore
# seeds are a real export of a similar ledger, made with the folio binary named by FOLIO_CLI;
# import, money and cli seeds are written here by hand.
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: $0 BUILD_DIR OUT_DIR" >&2
    exit 2
fi
build="$(cd "$1" && pwd)"
out="$(mkdir -p "$2" && cd "$2" && pwd)"
for t in codec append money import restore cli; do mkdir -p "$out/$t"; done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---- codec, append: the template ledger's events ----
FOLIO_FUZZ_MAKE_SEEDS="$out/codec" FOLIO_FUZZ_SCRATCH="$work" "$build/bin/fuzz_codec" 2>/dev/null
FOLIO_FUZZ_MAKE_SEEDS="$out/append" FOLIO_FUZZ_SCRATCH="$work" "$build/bin/fuzz_append" 2>/dev/null

# ---- restore: a real export (FOLIO_CLI=path of a built folio binary), and JSON payloads ----
folio="${FOLIO_CLI:-}"
if [[ -n "$folio" ]]; then
    db="$work/x.db"
    FOLIO_ACTOR=fuzz "$folio" --db "$db" demo >/dev/null
    FOLIO_ACTOR=fuzz "$folio" --db "$db" create "Kobe Foods" --currency JPY --status active >/dev/null
    FOLIO_ACTOR=fuzz "$folio" --db "$db" invoice CUST-000003 12000 --doc INV-J1 --date 2026-01-15 >/dev/null
    "$folio" --db "$db" export >"$out/restore/export-full.jsonl"
    head -3 "$out/restore/export-full.jsonl" >"$out/restore/export-head3.jsonl"
    head -1 "$out/restore/export-full.jsonl" >"$out/restore/export-line1.jsonl"
else
    echo "make_seeds: FOLIO_CLI not set: no export seeds for restore" >&2
fi
printf '%s' '{"name":"Acme","amount":"12.50","tags":["a","b"],"n":-5,"ok":true,"x":null,"deep":{"a":{"b":[1,2,{"c":"d"}]}}}' >"$out/restore/payload-object.json"
printf '%s' '{"s":"caf\u00e9 \ud83d\ude00 \n\t\"q\"","big":9223372036854775807,"neg":-9223372036854775808}' >"$out/restore/payload-escapes.json"
printf '%s\n' '{"seq":1,"stream":0,"version":1,"type":"ledger.configured","schema":1,"recorded_at_us":1,"actor":"a","payload":"80","chain":"00000000000000000000000000000000","data":{}}' >"$out/restore/minimal-line.jsonl"

# ---- import: mode byte (bit 0 documents, bit 1 dry run, bits 2-3 on-existing) + CSV ----
w() { printf -- "$2" >"$out/import/$1"; }
w cust-all-columns '\000name,ref,type,status,currency,credit_limit,owner,external_id,email,phone,billing_street,billing_city,billing_region,billing_postcode,billing_country,shipping_street,shipping_city,shipping_region,shipping_postcode,shipping_country\nNew Co,,business,active,EUR,1000.00,bob,EXT-9,a@example.com,+44 1,1 Road,Leeds,,LS1 1AA,GB,2 Road,York,,YO1 1AA,GB\nAcme Trading Ltd,CUST-000001,business,active,USD,6000.00,alice,,,,,,,,,,,,,\n'
w cust-update '\010name,ref,credit_limit,owner\nAcme Trading Ltd,CUST-000001,7000.00,carol\nKobe Foods,CUST-000003,500000,dan\n'
w cust-error-existing '\014name,ref\nAcme Trading Ltd,CUST-000001\n'
w cust-skip-dry '\006name,external_id\nZeta,Z-1\nZeta,Z-1\n'
w cust-quotes-bom-crlf '\000\357\273\277"name","ref",billing_city\r\n"Caf\303\251 \342\202\254",R1,"Leeds, UK"\r\n"Say ""q""","R""2",\r\n'
w cust-multiline '\000name,billing_street\n"Two\nLines","a\r\nb"\n\n  \nLast,x\n'
w cust-bad-rows '\000name,ref\nAcme,A1\n"Beta,B1\nGamma,G1\nBe"ta,B2\nDelta,D1,extra\n'
w cust-unterminated '\000name,ref\nGamma,G1\nDelta,"D1'
w cust-nul '\000name,ref\nA\000b,R1\nC,R2\n'
w cust-lone-cr '\000name,ref\rAcme,A1\rBeta,B1\r'
w cust-header-only '\000name\n'
w cust-bad-header '\000name,nope\nx,y\n'
w cust-dup-header '\000name,name\nx,y\n'
w cust-status-currency '\000name,status,type,currency,credit_limit\nH,hold,individual,JPY,100\nI,inactive,business,BHD,1.125\nJ,deleted,business,XXX,1.5\n'
w docs-all '\001kind,customer,doc,date,due,amount\ninvoice,CUST-000001,INV-9,2026-01-02,2026-02-01,10.00\npayment,CUST-000003,PAY-9,2026-01-03,,100\ncredit_note,CUST-000004,CN-1,2026-01-05,,1.500\ninvoice,CUST-000002,INV-10,2026-01-06,,5.00\n'
w docs-repeat '\001amount,doc,customer,kind,due,date\n7.5,INV-1,CUST-000001,invoice,2024-03-01,2024-02-01\n7.5,INV-1,CUST-000001,invoice,2024-03-01,2024-02-01\n8,INV-1,CUST-000001,invoice,,2024-02-01\n'
w docs-bad '\001kind,customer,doc,amount\nrefund,CUST-000001,R-1,3\ninvoice,NOPE,I-1,3\ninvoice,CUST-000001,I-2,-3\ninvoice,CUST-000001,I-3,1.234\ninvoice,CUST-000001,I-4,99999999999999999999\n'
w docs-dry '\003kind,customer,doc,date,amount\ninvoice,CUST-000003,INV-J2,2026-02-30,1\npayment,CUST-000003,PAY-J2,2026-02-01,12000\n'

# ---- money: currency selector byte + text ----
m() { printf -- "$2" >"$out/money/$1"; }
m usd-plain '\0001234.50'
m usd-neg '\000-0.01'
m usd-min '\000-92233720368547758.08'
m usd-max '\00092233720368547758.07'
m usd-over '\00092233720368547758.08'
m jpy-int '\00112000'
m bhd-3 '\0021.125'
m clf-4 '\0030.0001'
m too-many-places '\0001.234'
m bad-dot '\0001.'
m lead-zeros '\000007.5'
m plus-sign '\000+1'
m exp '\0001e5'
m unknown '\0071.00'
m date-ok '\0002026-11-24'
m date-leap '\0002024-02-29'
m date-noleap '\0001900-02-29'
m date-bad '\0002026-13-01'
m date-max '\0009999-12-31'
m date-min '\0001900-01-01'
m date-space '\000 2026-1-01'
m int64-bytes '\000\377\377\377\377\377\377\377\177'
m int64-min '\000\000\000\000\000\000\000\000\200'

# ---- cli: NUL-separated arguments ----
c() { printf -- "$2" >"$out/cli/$1"; }
c show '--json\000show\000CUST-000001'
c show-at '--json\000show\000CUST-000001\000--at-seq\0003'
c list '--json\000list\000--status\000active,hold\000--name\000a*\000--all'
c history '--json\000history\000CUST-000001'
c statement '--json\000statement\000CUST-000001\000--as-of\0002026-12-31\000--from\0002026-01-01\000--format\000json'
c statement-html 'statement\000CUST-000003\000--format\000html'
c create 'create\000New Co\000--type\000individual\000--status\000active\000--currency\000EUR\000--credit-limit\00050.00\000--owner\000bob\000--email\000a@b.c'
c update '--expect-version\0005\000update\000CUST-000001\000--name\000Acme\000--credit-limit\0009000'
c status 'status\000CUST-000003\000hold\000--reason\000late'
c delete '--idempotency-key\000k1\000delete\000CUST-000004'
c contact 'contact\000add\000CUST-000001\000--name\000Bo\000--role\000billing\000--phone\000+1'
c contact-rm 'contact\000remove\000CUST-000001\0001'
c note 'note\000CUST-000001\000hello'
c merge 'merge\000--keep\000CUST-000003\000--delete\000CUST-000004'
c invoice 'invoice\000CUST-000001\00010.00\000--doc\000INV-77\000--date\0002026-01-01\000--due\0002026-02-01'
c pay 'pay\000CUST-000001\0005.00\000--apply\000INV-77:5.00\000--auto'
c allocate 'allocate\000CUST-000003\000--from\000PAY-J1\000--auto'
c refund 'refund\000CUST-000003\0001\000--from\000PAY-J1'
c credit-note 'credit-note\000CUST-000004\0001.000\000--date\0002026-01-01'
c credit-check 'credit-check\000--as-of\0002027-01-01'
c admit 'admit\000CUST-000001\000--doc\000sales-order'
c init 'init\000--base-currency\000EUR\000--ref-prefix\000C-\000--credit-control\000limit\000--on-hold\000block'
c log 'log\000--from\0002\000--limit\0003'
c export 'export\000--from\0005'
c verify-check 'check'
c rebuild 'rebuild'
c stats '--json\000stats'
c import 'import\000customers\000ledger.db-lock\000--dry-run'
c restore 'restore\000-'
c demo 'demo'
c help 'help'
c unknown '--bogus\000frob'
c dashdash 'show\000--\000--json'
c eq-opts '--actor=x\000--reason=y\000find\000Acme Trading Ltd'
echo "make_seeds: wrote $(find "$out" -type f | wc -l) seeds into $out"
