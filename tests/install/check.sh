#!/usr/bin/env bash
# tests/install/check.sh SOURCE_DIR BUILD_DIR - `cmake --install` into a scratch prefix, then
# build a separate project against it with find_package(folio) (shared and static targets)
# and with pkg-config, and run each program.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/folio.h"
test -x "$tmp/prefix/bin/folio"
cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:${LD_LIBRARY_PATH:-}" "$tmp/consumer/consumer_shared" "$tmp/a.db"
"$tmp/consumer/consumer_static" "$tmp/b.db"
pcdir=$(dirname "$(find "$tmp/prefix" -name folio.pc | head -n1)")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs --static folio)
# shellcheck disable=SC2086
cc -std=c11 -o "$tmp/consumer_pc" "$src/tests/install/consumer/consumer.c" $flags
LD_LIBRARY_PATH="$(dirname "$pcdir")" "$tmp/consumer_pc" "$tmp/c.db"
"$tmp/prefix/bin/folio" --db "$tmp/c.db" verify
echo "install: ok"
