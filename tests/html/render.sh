#!/usr/bin/env bash
# tests/html/render.sh FOLIO - a statement page renders in a real browser.
# Builds a small ledger with the CLI (FOLIO: the folio binary), writes
# `statement --format html` to a file, prints it to PDF with headless chromium and checks
# the page is not blank: the PDF's text holds the customer's name, an invoice number and
# the total open amount. A missing chromium or pdftotext is a failure, not a skip:
# scripts/setup.sh --tests installs them (packages chromium and poppler-utils).
set -euo pipefail

folio=${1:?usage: render.sh PATH-TO-FOLIO}
fail() { echo "render.sh: $*" >&2; exit 1; }
for tool in chromium pdftotext timeout; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (run scripts/setup.sh --tests)"
done
[[ -x $folio ]] || fail "$folio is not an executable"

work=$(mktemp -d /tmp/folio-html-XXXXXX)
profile=$(mktemp -d /tmp/folio-chromium-XXXXXX)
trap 'rm -rf "$work" "$profile"' EXIT
export FOLIO_DB="$work/ledger.db" FOLIO_ACTOR=render-test

# 1234.50 + 300.00 - 34.50 - 500.00 = 1000.00 open on 2026-03-01
"$folio" create "Harbour Lights Trading" --status active >/dev/null
"$folio" invoice CUST-000001 1234.50 --doc INV-7781 --date 2026-01-05 --due 2026-02-04 >/dev/null
"$folio" invoice CUST-000001 300.00 --date 2026-01-20 --due 2026-02-19 >/dev/null
"$folio" credit-note CUST-000001 34.50 --date 2026-01-25 >/dev/null
"$folio" pay CUST-000001 500.00 --date 2026-02-10 --auto >/dev/null
"$folio" statement CUST-000001 --as-of 2026-03-01 --format html >"$work/statement.html"
total=$("$folio" --json statement CUST-000001 --as-of 2026-03-01 |
        sed -n 's/.*"total_open":"\([^"]*\)".*/\1/p')
[[ $total == 1000.00 ]] || fail "total open is '$total', expected 1000.00"

# HOME too: chromium writes crash and config files there.
if ! HOME="$profile" timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
      --disable-background-networking --disable-component-update --no-first-run \
      --disable-sync --user-data-dir="$profile" --print-to-pdf="$work/out.pdf" \
      "file://$work/statement.html" >"$work/chromium.log" 2>&1; then
  cat "$work/chromium.log" >&2
  fail "chromium failed or took more than 60 s"
fi
[[ -s $work/out.pdf ]] || { cat "$work/chromium.log" >&2; fail "chromium wrote no PDF"; }

text=$(pdftotext "$work/out.pdf" -) || fail "pdftotext could not read the PDF"
for want in "Harbour Lights Trading" "INV-7781" "$total"; do
  grep -qF -- "$want" <<<"$text" || fail "the rendered page lacks '$want'; its text is:
$text"
done
echo "render.sh: the statement renders with its name, an invoice and the total ($total)"
