#!/usr/bin/env bash
# A 1,000,000-row `transactions` window as CSV, on PostgreSQL: `hourglass
# serve` (release) through HTTP against `psql \copy` of the same query, in one
# run, alternating, several rounds; prints medians, ratios and the CPU time
# PostgreSQL and hourglass spent on each path. Starts its own
# throwaway PostgreSQL cluster.
#
#   bash benches/pg_compare.sh            # ROWS=1000000 ROUNDS=5
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-55499}
HPORT=${HPORT:-18299}

cargo build --release -q
bin=$PWD/target/release/hourglass
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$work/data" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
as_pg "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/log" -o "-p $PORT -k $work -c listen_addresses=127.0.0.1" start >/dev/null
sleep 1
psql="psql -q -h 127.0.0.1 -p $PORT -U postgres"
$psql -c "CREATE DATABASE bench" postgres
url="postgres://postgres@127.0.0.1:$PORT/bench"
RUST_LOG=warn "$bin" --database "$url" migrate >/dev/null
# Ids and references are UUIDs, as operators send them.
$psql -d bench -c "INSERT INTO transactions SELECT md5(g::text)::uuid::text, md5((g % 50000)::text)::uuid::text,
    g::bigint * 12345, 'EUR', 'Normal', 'Success', 'Visa', 'IN',
    1602313200000000 + g::bigint * 1000, 1602313200000000 + g::bigint * 1000, 'inv-' || g, md5((g % 50000)::text)::uuid::text,
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', '10.1.2.3', '4111 **** **** 1111', NULL
  FROM generate_series(1, $ROWS) g;"
$psql -d bench -c "VACUUM ANALYZE transactions;"
key=$(RUST_LOG=warn "$bin" --database "$url" keys create --name bench --scope read 2>/dev/null)
RUST_LOG=warn "$bin" --database "$url" serve --bind "127.0.0.1:$HPORT" &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HPORT/health" >/dev/null && break; sleep 0.1; done

from=1602313200000000; to=$(( from + (ROWS + 1) * 1000 ))
window="from=2020-10-10+07:00:00&to=$(date -u -d "@$(( to / 1000000 + 1 ))" '+%Y-%m-%d+%H:%M:%S')"
# The query hourglass runs (its columns, its window, its order), as psql gets it.
raw="SELECT id, player_id, amount, currency, type, status, payment_system, dir, created_at, updated_at, invoice_id, wallet_id, user_agent, ip, requisite, comment
  FROM transactions WHERE updated_at >= $from AND updated_at < $(( to + 1000000 )) ORDER BY updated_at, id"
# The same, formatted by PostgreSQL as hourglass writes it (timestamps, decimals).
ts() { echo "to_char(to_timestamp($1 / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"; }
formatted="SELECT id, player_id, (amount::numeric / 1000000)::numeric(20,6)::text, currency, type, status, payment_system, dir, $(ts created_at), $(ts updated_at), invoice_id, wallet_id, user_agent, ip, requisite, comment
  FROM transactions WHERE updated_at >= $from AND updated_at < $(( to + 1000000 )) ORDER BY updated_at, id"

# CPU time (clock ticks) of the whole PostgreSQL cluster: its live processes,
# plus the backends that have exited (psql's), which the postmaster reaped.
postmaster=$(head -1 "$work/data/postmaster.pid")
pg_ticks() {
  local t=0 p
  for p in $(pgrep -x postgres); do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done
  echo $(( t + $(awk '{print $16 + $17}' "/proc/$postmaster/stat") ))
}
hg_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
tick=$(getconf CLK_TCK)
# Runs a command; prints "wall-seconds postgres-cpu-seconds hourglass-cpu-seconds".
seconds() {
  local start end p0 p1 h0 h1
  p0=$(pg_ticks); h0=$(hg_ticks); start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N); p1=$(pg_ticks); h1=$(hg_ticks)
  echo "$(( (end - start) / 1000000 )) $(( (p1 - p0) * 1000 / tick )) $(( (h1 - h0) * 1000 / tick ))"
}
lines=$(curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$HPORT/api/transactions?$window" | wc -l)
echo "rows in the window: $(( lines - 1 ))"
declare -a h r f
for i in $(seq "$ROUNDS"); do
  h+=("$(seconds curl -s -o /dev/null -H "Authorization: Bearer $key" "http://127.0.0.1:$HPORT/api/transactions?$window")")
  r+=("$(seconds $psql -d bench -c "\\copy ($raw) to stdout with csv header")")
  f+=("$(seconds $psql -d bench -c "\\copy ($formatted) to stdout with csv header")")
done
python3 - "$(printf '%s\n' "${h[@]}")" "$(printf '%s\n' "${r[@]}")" "$(printf '%s\n' "${f[@]}")" "$(( lines - 1 ))" <<'PY'
import statistics, sys
runs = [[list(map(int, line.split())) for line in a.splitlines()] for a in sys.argv[1:4]]
rows = int(sys.argv[4])
(wh, ph, hh), (wr, pr, _), (wf, pf, _) = ([statistics.median(r[k] for r in rs) / 1000 for k in range(3)] for rs in runs)
print(f"hourglass CSV over HTTP   median {wh:.3f} s  {rows / wh:,.0f} rows/s  cpu: postgres {ph:.2f} s, hourglass {hh:.2f} s")
print(f"psql \\copy, same query    median {wr:.3f} s  {rows / wr:,.0f} rows/s  cpu: postgres {pr:.2f} s  (raw BIGINT stamps and amounts)")
print(f"psql \\copy, formatted     median {wf:.3f} s  {rows / wf:,.0f} rows/s  cpu: postgres {pf:.2f} s  (timestamps and decimals as hourglass writes them)")
verdict = "met" if wh / wr <= 1.1 else "NOT met"
print(f"ratio hourglass / psql same query: {wh / wr:.2f} (goal <= 1.1: {verdict})   hourglass / psql formatted: {wh / wf:.2f}")
PY
