#!/usr/bin/env bash
# `hourglass relay` (release) catching up on a seeded database: every change
# of all ten datasets to a local webhook receiver, in windows of `batch`
# rows; then the pace of a relay held to the default 20 requests a second.
# Beside it, for scale, sqlite3's own JSON dump of the stored tables.
#
#   bash benches/relay.sh              # 3,000 players over 3 days
#   PLAYERS=10000 DAYS=7 BATCH=5000 bash benches/relay.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS=${PLAYERS:-3000}
DAYS=${DAYS:-3}
PORT=${PORT:-18765}
BATCH=${BATCH:-500}

cargo build --release -q
bin=$PWD/target/release/hourglass
work=$(mktemp -d)
receiver=""
relay=""
trap '[ -n "$relay" ] && kill "$relay" 2>/dev/null; [ -n "$receiver" ] && kill "$receiver" 2>/dev/null; rm -rf "$work"' EXIT
db=$work/relay.db
export RUST_LOG=warn HOOK_SECRET=bench

"$bin" --database "$db" migrate >/dev/null
"$bin" --database "$db" seed --players "$PLAYERS" --days "$DAYS" 2>/dev/null

# A receiver that logs the time, window and size of each POST.
cat > "$work/receiver.py" <<'PY'
import http.server, sys, time
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print(time.time(), len(body), flush=True)
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
PY
# Appending, so that the file can be emptied between phases.
python3 "$work/receiver.py" "$PORT" >> "$work/posts" &
receiver=$!
sleep 0.5

config() { # name rate batch
  printf 'name = "%s"\nbatch = %s\n[target]\nkind = "webhook"\nurl = "http://127.0.0.1:%s/hook"\nsecret_env = "HOOK_SECRET"\nrate = %s\n' "$1" "$3" "$PORT" "$2"
  for d in users contacts transactions logins wallets game_sessions tournaments events bets bet_selections; do
    printf '[[changes]]\ndataset = "%s"\n' "$d"
  done
}
lag() {
  "$bin" --database "$db" relay status "$1" --json |
    python3 -c "import json, sys; print(json.load(sys.stdin)[0]['lag_seconds'])" 2>/dev/null || echo 999999
}

echo "== catch-up: every change since the oldest data, rate 1000/s, batch $BATCH"
config catchup 1000 "$BATCH" > "$work/catchup.toml"
start=$(date +%s.%N)
"$bin" --database "$db" relay "$work/catchup.toml" &
relay=$!
peak=0
while :; do
  sleep 0.2
  rss=$(ps -o rss= -p "$relay" | tr -d ' ')
  [ "$rss" -gt "$peak" ] && peak=$rss
  [ "$(lag catchup)" -lt 10 ] && break
done
end=$(date +%s.%N)
kill "$relay"; wait "$relay" || true; relay=""
"$bin" --database "$db" relay status catchup
python3 - "$work/posts" "$start" "$end" "$peak" <<'PY'
import sys
posts = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
seconds = float(sys.argv[3]) - float(sys.argv[2])
print(f"caught up in {seconds:.2f} s: {len(posts)} POSTs, largest body {max(p[1] for p in posts) / 1024:.0f} KiB; peak RSS {int(sys.argv[4]) / 1024:.0f} MiB")
PY

echo "== for scale: sqlite3 -json of the nine stored tables"
start=$(date +%s.%N)
for t in users contacts transactions logins wallets tournaments events bets bet_selections; do
  sqlite3 -json "$db" "SELECT * FROM $t" > /dev/null
done
echo "sqlite3 -json: $(echo "$(date +%s.%N) - $start" | bc) s"

echo "== pace: batch 10, the default 20 requests a second, for 5 s"
: > "$work/posts"
config paced 20 10 > "$work/paced.toml"
"$bin" --database "$db" relay "$work/paced.toml" &
relay=$!
sleep 5.5
kill "$relay"; wait "$relay" || true; relay=""
python3 - "$work/posts" <<'PY'
import sys
times = [float(line.split()[0]) for line in open(sys.argv[1])]
gaps = sorted(b - a for a, b in zip(times, times[1:]))
print(f"{len(times)} POSTs in {times[-1] - times[0]:.2f} s: {(len(times) - 1) / (times[-1] - times[0]):.1f} a second; gaps median {gaps[len(gaps) // 2] * 1000:.1f} ms, least {gaps[0] * 1000:.1f} ms")
PY
