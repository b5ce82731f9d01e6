#!/usr/bin/env bash
# scripts/demo.sh - install what is missing, build folio, and run the demo against the
# embedded default ledger ./folio.db (in the repository root): write a customer's events,
# list them, show statistics, verify the chain. Re-running appends nothing (idempotency keys).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DFOLIO_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
folio=./build-release/folio
set -x
"$folio" demo
"$folio" log
"$folio" stats
"$folio" verify
