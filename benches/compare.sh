#!/usr/bin/env bash
# Hourglass against the database's own export, side by side, in one run.
#
#   bash benches/compare.sh          # ROWS=1000000 BIG=5000000 ROUNDS=5
#
# Seeds a SQLite database (BIG transactions, ROWS game actions in ROWS/10
# sessions, UUID ids), starts `hourglass serve` (release), then times, alternating,
# ROUNDS rounds each:
#   - a ROWS-row transactions window as CSV (curl to /dev/null) against
#     `sqlite3 -csv` of the same rows, columns and timestamp format;
#   - the same as JSON (against `sqlite3 -json`), and CSV with gzip;
#   - a game_sessions window touching a tenth of the sessions against the
#     same aggregation as one SQL query in sqlite3;
# and measures the server's peak RSS for a ROWS- and a BIG-row window, and
# requests per second for one-minute windows (30 users each) with wrk. On PostgreSQL it runs
# benches/pg_compare.sh. Prints medians and ratios (hourglass / database) and
# writes them to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
BIG=${BIG:-5000000}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18390}

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v wrk >/dev/null || need+=(wrk)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

cargo build --release -q
bin=$PWD/target/release/hourglass
work=$(mktemp -d)
db=$work/bench.db
# The server this script started (a /usr/bin/time wrapper's child, for rss):
# stopped by its PID, never by name.
server=""
stop_server() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait 2>/dev/null || true; server=""; fi
}
trap 'stop_server; rm -rf "$work"' EXIT
export RUST_LOG=warn

echo "seeding $BIG transactions, $ROWS game actions and 100,000 users ..."
"$bin" --database "$db" migrate >/dev/null
START=1602313200000000 # 2020-10-10 07:00:00
# Transaction g is stamped START + g ms; game action g happened in session
# g % (ROWS/10), ten actions per session, one session starting every 36 s.
# Every id and reference is a UUID, as operators send them.
uuid() { echo "printf('%08x-%04x-4%03x-8%03x-%012x', ($1 * 2654435761) % 4294967296, $1 % 65536, $1 % 4096, ($1 / 4096) % 4096, $1)"; }
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $BIG)
INSERT INTO transactions SELECT $(uuid n), $(uuid "(n % 50000)"), n * 12345, 'EUR', 'Normal', 'Success', 'Visa', 'IN',
    $START + n * 1000, $START + n * 1000, 'inv-' || n, $(uuid "(n % 50000)"),
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', '10.1.2.3', '4111 **** **** 1111', NULL FROM g;
WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < $ROWS - 1)
INSERT INTO game_actions SELECT $(uuid n), $(uuid "(n % ($ROWS / 10))"), $(uuid "(n % 50000)"), 'starburst', 'Starburst', 'NetEnt',
    'EUR', 'Normal', CASE WHEN n % 3 = 0 THEN 'win' ELSE 'bet' END, 100000 + n % 7 * 10000, NULL, NULL, NULL,
    $START + (n % ($ROWS / 10)) * 36000000 + (n / ($ROWS / 10)) * 60000000, $START FROM g;
-- Sparse rows for small windows: a user every 2 s, 30 to the minute.
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000)
INSERT INTO users SELECT $(uuid n), 'Ann', 'Smith', 'f', 'FI', 'Espoo', '10.1.2.3', '1990-02-03', $START, 'ref1', 'google',
    'Mozilla/5.0 (X11; Linux x86_64)', $START + n * 2000000, 0, 0, 'fi_FI' FROM g;
UPDATE stamp_clock SET last_stamp = max($START + $BIG * 1000, $START + 100000 * 2000000);
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
key=$("$bin" --database "$db" keys create --name bench --scope read 2>/dev/null)

# Epoch microseconds as the API takes them, to the microsecond.
iso() { printf '%s.%06d' "$(date -u -d "@$(( $1 / 1000000 ))" '+%Y-%m-%dT%H:%M:%S')" $(( $1 % 1000000 )); }
rows_from=$START; rows_to=$(( START + (ROWS + 1) * 1000 ))
big_to=$(( START + (BIG + 1) * 1000 ))
sessions_span=$(( ROWS / 10 * 36000000 ))
game_to=$(( START + sessions_span / 10 ))
q_rows="from=$(iso $rows_from)&to=$(iso $rows_to)"
q_big="from=$(iso $rows_from)&to=$(iso $big_to)"
q_game="from=$(iso $START)&to=$(iso $game_to)"
rows_end=$rows_to
game_end=$game_to

ts() { echo "strftime('%Y-%m-%d %H:%M:%S', $1 / 1000000, 'unixepoch')"; }
money() { echo "(CASE WHEN $1 < 0 THEN '-' ELSE '' END) || (abs($1) / 1000000) || '.' || printf('%06d', abs($1) % 1000000)"; }
sql_rows="SELECT id, player_id, $(money amount) AS amount, currency, type, status, payment_system, dir,
  $(ts created_at) AS created_at, $(ts updated_at) AS updated_at, invoice_id, wallet_id, user_agent, ip, requisite, comment
  FROM transactions WHERE updated_at >= $rows_from AND updated_at < $rows_end ORDER BY updated_at, id"
sql_game="WITH s AS (SELECT DISTINCT session_id FROM game_actions
    WHERE (created_at >= $START AND created_at < $game_end) OR (modified_at >= $START AND modified_at < $game_end))
  SELECT min(player_id), a.session_id, min(game_code), min(game_name), min(currency),
    count(CASE WHEN action = 'bet' THEN 1 END), count(CASE WHEN action = 'win' THEN 1 END),
    $(money "coalesce(sum(CASE WHEN action = 'bet' THEN amount END), 0)"), $(money "coalesce(sum(CASE WHEN action = 'win' THEN amount END), 0)"),
    $(ts "min(created_at)"), $(ts "max(created_at)"), min(game_vendor), min(balance_type), min(ip), min(user_agent), min(ref_code)
  FROM game_actions a JOIN s ON s.session_id = a.session_id GROUP BY a.session_id ORDER BY max(a.created_at), a.session_id"

serve() { "$bin" --database "$db" serve --bind "127.0.0.1:$PORT" & server=$!; for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.1; done; }
seconds() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo "scale=4; ($e - $s) / 1000000000" | bc; }
get() { curl -sf -o /dev/null -H "Authorization: Bearer $key" "$@"; }
url="http://127.0.0.1:$PORT/api"

serve
echo "checking row counts ..."
n_h=$(curl -sf -H "Authorization: Bearer $key" "$url/transactions?$q_rows" | tail -n +2 | wc -l)
n_s=$(sqlite3 -csv "$db" "$sql_rows" | wc -l)
g_h=$(curl -sf -H "Authorization: Bearer $key" "$url/game_sessions?$q_game" | tail -n +2 | wc -l)
g_s=$(sqlite3 -csv "$db" "$sql_game" | wc -l)
echo "transactions window: hourglass $n_h rows, sqlite3 $n_s rows; game_sessions window: hourglass $g_h, sqlite3 $g_s"

declare -a hc sc hj sj hg hs ss
for i in $(seq "$ROUNDS"); do
  echo "round $i/$ROUNDS ..."
  hc+=("$(seconds get "$url/transactions?$q_rows")")
  sc+=("$(seconds sqlite3 -csv "$db" "$sql_rows")")
  hj+=("$(seconds get "$url/transactions?$q_rows&format=json")")
  sj+=("$(seconds sqlite3 -json "$db" "$sql_rows")")
  hg+=("$(seconds get -H 'Accept-Encoding: gzip' "$url/transactions?$q_rows")")
  hs+=("$(seconds get "$url/game_sessions?$q_game")")
  ss+=("$(seconds sqlite3 -csv "$db" "$sql_game")")
done

minute_from=$(( START + 600 * 1000000 ))
q_minute="from=$(iso $minute_from)&to=$(iso $(( minute_from + 60000000 )))"
minute_rows=$(curl -sf -H "Authorization: Bearer $key" "$url/users?$q_minute" | tail -n +2 | wc -l)
wrk_out=$(wrk -t2 -c8 -d10s -H "Authorization: Bearer $key" "$url/users?$q_minute" | grep -E "Requests/sec|Latency")
stop_server

rss() { # query -> peak RSS in MiB of a fresh server streaming it
  /usr/bin/time -f '%M' -o "$work/peak" "$bin" --database "$db" serve --bind "127.0.0.1:$PORT" &
  local timer=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
  server=$(pgrep -P "$timer")
  get "$url/transactions?$1"
  stop_server
  echo $(( $(cat "$work/peak") / 1024 ))
}
rss_rows=$(rss "$q_rows"); rss_big=$(rss "$q_big")

pg=""
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  pg=$(ROWS=$ROWS ROUNDS=$ROUNDS bash benches/pg_compare.sh 2>&1 | grep -E "median|ratio|rows in" || true)
fi

report=$(python3 - "${hc[*]}" "${sc[*]}" "${hj[*]}" "${sj[*]}" "${hg[*]}" "${hs[*]}" "${ss[*]}" "$ROWS" "$BIG" "$rss_rows" "$rss_big" "$g_h" <<'PY'
import statistics, sys
m = [statistics.median(map(float, a.split())) for a in sys.argv[1:8]]
hc, sc, hj, sj, hg, hs, ss = m
rows, big, rss_rows, rss_big, sessions = map(int, sys.argv[8:13])
def line(name, h, d, goal, dname):
    ok = "met" if h / d <= goal else "NOT met"
    return f"| {name} | {h:.3f} s | {d:.3f} s ({dname}) | {h / d:.2f} | ≤ {goal} | {ok} |"
print("| measurement | hourglass (median) | database (median) | ratio | goal | |")
print("| --- | --- | --- | --- | --- | --- |")
print(line(f"transactions window, {rows:,} rows, CSV", hc, sc, 0.8, "sqlite3 -csv"))
print(line(f"transactions window, {rows:,} rows, JSON", hj, sj, 1.0, "sqlite3 -json"))
print(line(f"the same CSV with gzip, against plain CSV", hg, hc, 2.0, "hourglass CSV"))
print(line(f"game_sessions window, {sessions:,} sessions", hs, ss, 1.0, "sqlite3, one SQL query"))
print(f"| peak RSS of serve, {rows:,}-row window | {rss_rows} MiB | | | < 40 MiB | {'met' if rss_rows < 40 else 'NOT met'} |")
print(f"| peak RSS of serve, {big:,}-row window | {rss_big} MiB | | | < 40 MiB | {'met' if rss_big < 40 else 'NOT met'} |")
PY
)
echo
echo "$report"
echo
echo "wrk, one-minute users windows ($minute_rows rows), 2 threads, 8 connections, 10 s:"
echo "$wrk_out"
[ -n "$pg" ] && echo && echo "PostgreSQL (benches/pg_compare.sh):" && echo "$pg"

# The analysis below the marker line is written by hand; keep it.
notes=$(sed -n '/^<!-- kept by compare.sh -->/,$p' BENCHMARKS.md 2>/dev/null || true)
{
  echo "# Benchmarks"
  echo
  echo "Made by \`bash benches/compare.sh\` (ROWS=$ROWS BIG=$BIG ROUNDS=$ROUNDS) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(sqlite3 --version | cut -d' ' -f1-2 | sed 's/^/sqlite3 /')."
  echo "Medians of alternating rounds in one run; ratios are hourglass / database (lower is better)."
  echo
  echo "$report"
  echo
  echo "Requests per second for one-minute windows of users ($minute_rows rows each; wrk -t2 -c8 -d10s, loopback):"
  echo
  echo '```'
  echo "$wrk_out"
  echo '```'
  if [ -n "$pg" ]; then
    echo
    echo "PostgreSQL, a $ROWS-row CSV window against psql \\copy of the same query (benches/pg_compare.sh):"
    echo
    echo '```'
    echo "$pg"
    echo '```'
  fi
  if [ -n "$notes" ]; then
    echo
    echo "$notes"
  fi
} > BENCHMARKS.md
echo
echo "written to BENCHMARKS.md"
