#!/usr/bin/env bash
# scripts/demo.sh - install what is missing, build folio, and run the demo against the
# embedded default ledger ./folio.db (in the repository root): a customer's lifecycle
# (create, contact, activate, invoices and a payment, a duplicate merged into it, a credit
# hold, a note), then its card, its statement, the holds, its history, the deleted-customer
# lookup and the integrity check.
# Re-running appends nothing (every demo step carries an idempotency key).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DFOLIO_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
folio=./build-release/folio
set -x
"$folio" demo
"$folio" show CUST-000001
"$folio" statement CUST-000001 --as-of 2026-12-31
"$folio" holds
"$folio" history CUST-000001
"$folio" deleted
"$folio" verify
