#!/bin/sh
# The README's quick start. On a fresh Debian 12 machine:
#   cmake/quickstart.sh run    install what is needed, build, start the daemon
#                              (RocksDB under ./data, 127.0.0.1:8080); extra
#                              arguments go to rollupd
#   cmake/quickstart.sh test   install what is needed, build with ASan+UBSan
#                              and -Werror, run the whole test suite; then
#                              build the bench preset and run the benchmark
#                              harness for a second per scenario with
#                              --check (it must run and answer every
#                              request with 2xx; it never fails on speed)
#   cmake/quickstart.sh bench  install what is needed, run tests/bench/run
#                              (extra arguments go to it)
# Idempotent: packages already installed are not fetched again, builds are
# incremental. Works as root, and through sudo otherwise.
set -eu
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  run) shift; sections="build" ;;
  test) shift; sections="build test bench" ;;
  bench) shift; sections="build bench" ;;
  *) echo "usage: $0 run [rollupd flags…] | test | bench [tests/bench/run flags…]" >&2; exit 64 ;;
esac

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The names in the wanted [sections] of the list; comments dropped.
packages=$(awk -v want=" $sections " '
  /^[[:space:]]*\[/ { gsub(/[][[:space:]]/, ""); on = index(want, " " $0 " ") > 0; next }
  on { sub(/#.*/, ""); if (NF) print $1 }' cmake/debian-packages.txt | tr '\n' ' ')
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "quickstart: installing$missing" >&2
  as_root apt-get update -q
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if [ "$mode" = bench ]; then
  exec tests/bench/run "$@"
fi

if [ "$mode" = run ]; then
  cmake --preset release
  cmake --build --preset release
  exec ./build/release/rollupd "$@"
fi

cmake --preset test
cmake --build --preset test
ctest --preset test

# The benchmark harness, briefly: it builds the bench preset and must run
# every scenario with every answer 2xx. Speed is not checked.
tests/bench/run --duration 1 --warmup 0 --s3-users 1000 --check
