#!/usr/bin/env bash
# The page's end-to-end test (tests/browser/page.test.mjs) in Debian's
# Chromium, driven by playwright-core, against a real `hourglass serve` on a
# database seeded over the last day. SCREENSHOT=path keeps a picture of the
# page (docs/page.png is one). .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)
cargo build -q
bin=$PWD/target/debug/hourglass
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export RUST_LOG=warn
db=(--database "$work/page.db")
"$bin" "${db[@]}" migrate >/dev/null
SEEDED_UNTIL=$(date -u '+%Y-%m-%d %H:%M:%S')
SEEDED_FROM=$(date -u -d "$SEEDED_UNTIL UTC - 1 day" '+%Y-%m-%d %H:%M:%S')
"$bin" "${db[@]}" seed --players 300 --days 1 --until "$SEEDED_UNTIL" 2>/dev/null
KEY=$("$bin" "${db[@]}" keys create --name page --scope read 2>/dev/null)
WRITE_KEY=$("$bin" "${db[@]}" keys create --name writer --scope write 2>/dev/null)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" "${db[@]}" serve --bind "127.0.0.1:$port" &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
export BASE="http://127.0.0.1:$port" KEY WRITE_KEY SEEDED_FROM SEEDED_UNTIL
export SCREENSHOT=${SCREENSHOT:+$(realpath -m "$SCREENSHOT")}
node --test --test-reporter=spec tests/browser/page.test.mjs
