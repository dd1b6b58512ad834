#!/usr/bin/env bash
# Writes as platforms send them, against the database's own commit rate, in
# one run on one machine:
#
#   bash benches/write_compare.sh     # SECONDS_EACH=10 CONNS=16 IMPORT_ROWS=1000000 ROUNDS=3
#
# 1. Single-row POSTs: `wrk` with CONNS connections, each request one new
#    transaction (benches/write_one.lua), against `hourglass serve` (release)
#    on SQLite, then on PostgreSQL. Every answer must be a 2xx.
# 2. The database alone, single-row commits of the same upsert into the
#    same table: on SQLite a loop of transactions in sqlite3, in WAL mode with
#    `synchronous = FULL` (what hourglass runs: a commit survives a power
#    cut) and, for reference, NORMAL; on PostgreSQL `pgbench` with CONNS
#    clients.
# 3. `hourglass import` of an IMPORT_ROWS-row transactions CSV (random UUID
#    ids) into a new database against `sqlite3 .import` of the same file
#    into a table with the same indexes, alternating, ROUNDS rounds each.
#
# Prints the figures and ratios and writes them into BENCHMARKS.md, between
# the markers of its section. Stops only the servers and the PostgreSQL
# cluster it started.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-10}
CONNS=${CONNS:-16}
IMPORT_ROWS=${IMPORT_ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18391}
PGPORT=${PGPORT:-55498}

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v wrk >/dev/null || need+=(wrk)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

cargo build --release -q
bin=$PWD/target/release/hourglass
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
work=$(mktemp -d)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
server=""
pg_started=""
stop_server() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
}
cleanup() {
  stop_server
  [ -n "$pg_started" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg/data" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export RUST_LOG=warn

serve() { # database URL
  "$bin" --database "$1" serve --bind "127.0.0.1:$PORT" & server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2; exit 1
}
# wrk's summary of single-row POSTs to the server on $1: "req/s p99_ms non_2xx".
post_rate() {
  local key out
  key=$("$bin" --database "$1" keys create --name "bench-$RANDOM" --scope write 2>/dev/null)
  serve "$1"
  out=$(HOURGLASS_KEY=$key wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency -s benches/write_one.lua "http://127.0.0.1:$PORT")
  stop_server
  echo "$out" >&2
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
failed = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
print(f"{rate:.0f} {p99:.1f} {failed}")
PY
}

columns="id, player_id, amount, currency, type, status, payment_system, dir, created_at, updated_at, invoice_id, wallet_id, user_agent, ip, requisite, comment"
updates=$(echo "$columns" | tr ',' '\n' | sed 's/ //g' | grep -v '^id$' | sed 's/.*/& = excluded.&/' | paste -sd, -)

echo "== SQLite: single-row POSTs, $CONNS connections, ${SECONDS_EACH} s"
"$bin" --database "$work/serve.db" migrate >/dev/null
read -r s_rate s_p99 s_bad < <(post_rate "$work/serve.db")

# The database alone: N single-row upsert transactions, each its own commit.
sqlite_loop() { # synchronous setting -> commits per second
  local db=$work/loop-$1.db n=20000
  "$bin" --database "$db" migrate >/dev/null
  {
    echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = $1;"
    awk -v n=$n -v cols="$columns" -v upd="$updates" 'BEGIN {
      for (i = 1; i <= n; i++)
        printf "BEGIN; INSERT INTO transactions (%s) VALUES (\x27s%d\x27, \x27p%d\x27, %d, \x27EUR\x27, \x27Normal\x27, \x27Success\x27, \x27Visa\x27, \x27IN\x27, 1795514400000000, %d, NULL, NULL, \x27Mozilla/5.0 (X11; Linux x86_64)\x27, \x2710.1.2.3\x27, NULL, NULL) ON CONFLICT (id) DO UPDATE SET %s; COMMIT;\n",
          cols, i, i % 5000, (i % 1000) * 1000000, 1795514400000000 + i, upd
    }'
  } > "$work/loop.sql"
  local s e
  s=$(date +%s%N); sqlite3 "$db" < "$work/loop.sql" >/dev/null; e=$(date +%s%N)
  echo "$n * 1000000000 / ($e - $s)" | bc
}
echo "== SQLite alone: single-row upsert transactions in WAL mode"
loop_full=$(sqlite_loop FULL)
loop_normal=$(sqlite_loop NORMAL)
echo "synchronous = FULL: $loop_full commits/s; NORMAL: $loop_normal commits/s"

p_rate=""; pgbench_rate=""
if [ -n "$pgbin" ]; then
  echo "== PostgreSQL: single-row POSTs, $CONNS connections, ${SECONDS_EACH} s"
  mkdir -p "$work/pg"
  if [ "$(id -u)" = 0 ]; then chmod 755 "$work"; chown postgres "$work/pg"; fi
  # A default cluster: fsync and synchronous_commit on, as in production.
  as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" \
    -o "-p $PGPORT -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
  pg_started=1
  psql="psql -q -h 127.0.0.1 -p $PGPORT -U postgres"
  for _ in $(seq 50); do $psql -c 'SELECT 1' postgres >/dev/null 2>&1 && break; sleep 0.2; done
  $psql -c "CREATE DATABASE serve" postgres
  $psql -c "CREATE DATABASE alone" postgres
  "$bin" --database "postgres://postgres@127.0.0.1:$PGPORT/serve" migrate >/dev/null
  "$bin" --database "postgres://postgres@127.0.0.1:$PGPORT/alone" migrate >/dev/null
  read -r p_rate p_p99 p_bad < <(post_rate "postgres://postgres@127.0.0.1:$PGPORT/serve")

  echo "== PostgreSQL alone: pgbench, $CONNS clients of single-row upserts"
  cat > "$work/upsert.sql" <<SQL
\set n random(1, 1000000000)
INSERT INTO transactions ($columns)
VALUES ('b' || :client_id || '-' || :n, 'p' || (:n % 5000), 12500000, 'EUR', 'Normal', 'Success', 'Visa', 'IN',
        1795514400000000, 1795514400000000 + :n, NULL, NULL, 'Mozilla/5.0 (X11; Linux x86_64)', '10.1.2.3', NULL, NULL)
ON CONFLICT (id) DO UPDATE SET $updates;
SQL
  pgbench_out=$(pgbench -n -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$CONNS" -j 2 -T "$SECONDS_EACH" -f "$work/upsert.sql" alone 2>&1)
  echo "$pgbench_out" | grep -E "tps|latency"
  pgbench_rate=$(echo "$pgbench_out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | cut -d. -f1)
fi

echo "== import: $IMPORT_ROWS transactions, hourglass import against sqlite3 .import"
# The file's columns are the table's, less updated_at (hourglass stamps it),
# so that sqlite3 reads it into a table of those columns, in that order.
file_columns=${columns/updated_at, /}
sqlite3 -csv -header :memory: > "$work/import.csv" <<SQL
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $IMPORT_ROWS)
SELECT printf('%08x-%04x-4%03x-8%03x-%012x', (n * 2654435761) % 4294967296, n % 65536, n % 4096, (n / 4096) % 4096, n) AS id,
  'p' || (n % 50000) AS player_id, printf('%d.%02d', n % 10000, n % 100) AS amount, 'EUR' AS currency, 'Normal' AS type,
  'Success' AS status, 'Visa' AS payment_system, 'IN' AS dir,
  strftime('%Y-%m-%d %H:%M:%S', 1602313200 + n, 'unixepoch') AS created_at, 'inv-' || n AS invoice_id, NULL AS wallet_id,
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36' AS user_agent, '10.1.2.3' AS ip, '4111 **** **** 1111' AS requisite,
  NULL AS comment
FROM g;
SQL
echo "$(du -h "$work/import.csv" | cut -f1) CSV"
seconds() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo "scale=4; ($e - $s) / 1000000000" | bc; }
hg_import() {
  rm -f "$work/imp.db"*
  "$bin" --database "$work/imp.db" migrate >/dev/null
  seconds "$bin" --database "$work/imp.db" import transactions "$work/import.csv"
}
sqlite_import() {
  rm -f "$work/sq.db"*
  # hourglass's table and indexes: the key's, the window's on (stamp, key)
  # and the player's on (player, stamp, key). The file has no stamp column,
  # so sqlite3 fills it with NULL (and says so for every row, on stderr):
  # the indexes then grow as hourglass's do under one stamp.
  sqlite3 "$work/sq.db" "PRAGMA journal_mode = WAL;
    CREATE TABLE transactions (id TEXT PRIMARY KEY NOT NULL, player_id TEXT NOT NULL, amount BIGINT NOT NULL,
      currency TEXT NOT NULL, type TEXT, status TEXT, payment_system TEXT, dir TEXT NOT NULL, created_at BIGINT NOT NULL,
      invoice_id TEXT, wallet_id TEXT, user_agent TEXT, ip TEXT, requisite TEXT, comment TEXT, updated_at BIGINT);
    CREATE INDEX transactions_window ON transactions (updated_at, id);
    CREATE INDEX transactions_player ON transactions (player_id, updated_at, id);" >/dev/null
  seconds sqlite3 "$work/sq.db" ".import --csv --skip 1 $work/import.csv transactions"
}
declare -a hi si
for i in $(seq "$ROUNDS"); do
  hi+=("$(hg_import)")
  si+=("$(sqlite_import)")
  echo "round $i/$ROUNDS: hourglass ${hi[-1]} s, sqlite3 ${si[-1]} s"
done
n_h=$(sqlite3 "$work/imp.db" "SELECT count(*) FROM transactions")
n_s=$(sqlite3 "$work/sq.db" "SELECT count(*) FROM transactions")
echo "rows: hourglass $n_h, sqlite3 $n_s"

report=$(python3 - "$CONNS" "$s_rate" "$s_p99" "$s_bad" "$loop_full" "$loop_normal" \
  "${p_rate:-0}" "${p_p99:-0}" "${p_bad:-0}" "${pgbench_rate:-0}" "${hi[*]}" "${si[*]}" "$IMPORT_ROWS" <<'PY'
import statistics, sys
a = sys.argv[1:]
conns = int(a[0])
s_rate, s_p99, s_bad, full, normal = float(a[1]), float(a[2]), int(a[3]), float(a[4]), float(a[5])
p_rate, p_p99, p_bad, pgbench = float(a[6]), float(a[7]), int(a[8]), float(a[9])
hi, si = (statistics.median(map(float, x.split())) for x in a[10:12])
rows = int(a[12])
ok = lambda good: "met" if good else "**not met**"
print(f"| measurement | hourglass | the database alone | ratio | goal | |")
print(f"| --- | --- | --- | --- | --- | --- |")
print(f"| SQLite, single-row POSTs/s, {conns} connections | {s_rate:,.0f} | {full:,.0f} (sqlite3 loop, synchronous = FULL) | {s_rate / full:.2f} | ≥ 0.7 | {ok(s_rate / full >= 0.7)} |")
print(f"| the same, against synchronous = NORMAL (not power-cut safe) | {s_rate:,.0f} | {normal:,.0f} | {s_rate / normal:.2f} | | |")
print(f"| SQLite, p99 latency / non-2xx | {s_p99:.1f} ms / {s_bad} | | | ≤ 50 ms / 0 | {ok(s_p99 <= 50 and s_bad == 0)} |")
if pgbench:
    print(f"| PostgreSQL, single-row POSTs/s, {conns} connections | {p_rate:,.0f} | {pgbench:,.0f} (pgbench, {conns} clients) | {p_rate / pgbench:.2f} | ≥ 1.2 | {ok(p_rate / pgbench >= 1.2)} |")
    print(f"| PostgreSQL, p99 latency / non-2xx | {p_p99:.1f} ms / {p_bad} | | | ≤ 50 ms / 0 | {ok(p_p99 <= 50 and p_bad == 0)} |")
print(f"| import of {rows:,} transactions (CSV), median | {hi:.2f} s | {si:.2f} s (sqlite3 .import) | {hi / si:.2f} | ≤ 1.0 | {ok(hi / si <= 1.0)} |")
PY
)
echo
echo "$report"

# Into BENCHMARKS.md, between this script's markers (kept by compare.sh).
python3 - "$report" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$SECONDS_EACH" <<'PY'
import pathlib, re, sys
report, when, cores, secs = sys.argv[1:]
begin, end = "<!-- begin write_compare.sh -->", "<!-- end write_compare.sh -->"
section = f"""{begin}
## Writes

Made by `bash benches/write_compare.sh` on {when}, {cores} cores, {secs} s of wrk per backend
(`wrk -t2`, one new transaction per POST, benches/write_one.lua). Ratios are hourglass / database
(higher is better for rates, lower for the import's time).

{report}
{end}"""
path = pathlib.Path("BENCHMARKS.md")
text = path.read_text() if path.exists() else "# Benchmarks\n"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
path.write_text(text)
PY
echo "written to BENCHMARKS.md"
