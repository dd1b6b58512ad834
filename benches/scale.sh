#!/usr/bin/env bash
# game_actions grown to tens of millions of rows, as a large casino writes
# them, on SQLite and on PostgreSQL, in one run on one machine:
#
#   bash benches/scale.sh    # SIZES=1000000,5000000,20000000 PER_DAY=4000000 BACKENDS="sqlite postgres"
#
# benches/scale_gen.py writes the rows (sessions of 20-200 rounds, random
# UUID ids, a day/night curve; PER_DAY actions a day, starting a few days
# ago, hour-aligned). For each backend, at each size of SIZES:
#
# 1. the rows up to the size are loaded as the database's own bulk load
#    (sqlite3 .import, psql \copy) into hourglass's tables, so that its
#    triggers keep the sessions' totals as writes do, and the stamp clock
#    is moved past them;
# 2. the size's last IMPORT_ROWS actions come in through `hourglass import`
#    (rows/s);
# 3. bytes on disk per game action (the whole database, checkpointed);
# 4. the same one-hour and one-day windows, the first ones of the data, of
#    game_sessions and transactions, and a minute of game_sessions: time to first byte and
#    total time, median of ROUNDS pulls after one to warm up; and the
#    count of each;
# 5. single-row writes: wrk, CONNS connections, SECONDS_EACH seconds
#    (benches/scale_write.lua: a new action in one of 5,000 live sessions),
#    as fast as the server takes them, and then at a steady pace (each
#    connection pausing PACE_MS between requests: about 2,000 writes/s,
#    170 million a day, more than the largest operator's 50-100 million).
#
# At the largest size the server is restarted with game_actions retained
# for all but the first day: the purge rate (rows/s, from
# hourglass_purged_rows_total) is measured while wrk writes as in 5, at the
# steady pace and then as fast as it can, and each run's write rate and p99
# compared with 5's. The goals are judged at the steady pace: a server
# taking writes as fast as it can has no spare time for a purge by
# definition, and every batch shows in the p99 of writes queued behind it.
#
# Then the compressed-time run: a new database, game_actions retained
# COMPRESSED_RETAIN and purged every 10 s, wrk writing at a steady pace
# (benches/scale_write.lua with a pause per request) for COMPRESSED_SECONDS,
# the database's size sampled every 30 s: once twice the retention has
# passed, the largest sample must be within 10% of the smallest.
#
# The figures go to target/scale/results.tsv and, as tables, into
# BENCHMARKS.md between this script's markers. Stops only the servers and
# the PostgreSQL cluster it started. Needs about 3 GB of disk per million
# rows (CSV and one database at a time) under SCALE_DIR (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-1000000,5000000,20000000}
PER_DAY=${PER_DAY:-4000000}
BACKENDS=${BACKENDS:-sqlite postgres}
IMPORT_ROWS=${IMPORT_ROWS:-100000}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-16}
SECONDS_EACH=${SECONDS_EACH:-10}
PACE_MS=${PACE_MS:-7}
COMPRESSED_RETAIN=${COMPRESSED_RETAIN:-120}
COMPRESSED_SECONDS=${COMPRESSED_SECONDS:-480}
PORT=${PORT:-18393}
PGPORT=${PGPORT:-55497}

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

cargo build --release -q
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
work=$(mktemp -d -p "${SCALE_DIR:-/tmp}")
# A copy: a build during the run does not change the binary measured.
cp target/release/hourglass "$work/hourglass"
bin=$work/hourglass
mkdir -p target/scale
results=$PWD/target/scale/results.tsv
: > "$results"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
server=""
pg_started=""
stop_server() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
}
stop_pg() {
  if [ -n "$pg_started" ]; then as_pg "$pgbin/pg_ctl" -D "$work/pg/data" stop -m fast >/dev/null 2>&1 || true; pg_started=""; fi
}
cleanup() {
  stop_server
  stop_pg
  rm -rf "$work"
}
trap cleanup EXIT
export RUST_LOG=warn
base=http://127.0.0.1:$PORT
record() { printf '%s\t%s\t%s\t%s\n' "$backend" "$1" "$2" "$3" | tee -a "$results"; }
# Records what a command prints, and stops the run if it fails.
measure() { # size key command...
  local size=$1 key=$2 value
  shift 2
  value=$("$@") || exit 1
  record "$size" "$key" "$value"
}

serve() { # hourglass serve flags...
  "$bin" --database "$url" serve --bind "127.0.0.1:$PORT" "$@" 2>>"$work/server.log" & server=$!
  for _ in $(seq 300); do curl -sf "$base/health" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2; tail "$work/server.log" >&2; exit 1
}
# wrk's summary: "req/s p99_ms failed".
wrk_summary() {
  python3 - "$1" <<'PY'
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
writes() { # seconds [pause_ms] -> "req/s p99_ms failed"
  local out
  out=$(HOURGLASS_KEY=$wkey SCALE_NOW=$(date -u '+%Y-%m-%d %H:%M:%S') SCALE_PAUSE_MS=${2:-0} \
    wrk -t2 -c"$CONNS" -d"$1s" --latency -s benches/scale_write.lua "$base")
  echo "$out" >&2
  wrk_summary "$out"
}
# The rows a count answers.
rows() {
  curl -sf -H "Authorization: Bearer $rkey" "$base$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["rows"])'
}
purged() {
  curl -sf -H "Authorization: Bearer $rkey" "$base/metrics" |
    awk '/^hourglass_purged_rows_total\{dataset="game_actions"\}/ { n = $2 } END { print n + 0 }'
}
# Median time to first byte and total, in ms, of ROUNDS pulls of $1 after
# one to warm up; every answer must be a 200.
pull_times() {
  local i out times=""
  for i in $(seq 0 "$ROUNDS"); do
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_starttransfer} %{time_total}' \
      -H "Authorization: Bearer $rkey" "$base$1")
    [ "${out%% *}" = 200 ] || { echo "GET $1 answered ${out%% *}" >&2; return 1; }
    [ "$i" = 0 ] || times+="${out#* }"$'\n'
  done
  printf '%s' "$times" | python3 -c '
import statistics, sys
rows = [list(map(float, line.split())) for line in sys.stdin]
print(" ".join(f"{statistics.median(col) * 1000:.1f}" for col in zip(*rows)))'
}
db_bytes() {
  if [ "$backend" = sqlite ]; then
    sqlite3 "$work/scale.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    stat -c %s "$work/scale.db"
  else
    $psql -tA -c "SELECT pg_database_size('scale')" postgres
  fi
}
sql() { if [ "$backend" = sqlite ]; then sqlite3 "$work/scale.db" "$1"; else $psql -tA -c "$1" scale; fi; }

start_pg() {
  mkdir -p "$work/pg"
  if [ "$(id -u)" = 0 ]; then chmod 755 "$work"; chown postgres "$work/pg"; fi
  as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
  # Durable as in production (fsync, synchronous_commit on), with memory
  # and checkpoint settings for a machine of this size.
  as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -o "-p $PGPORT -k $work/pg \
    -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=2GB \
    -c effective_cache_size=12GB -c maintenance_work_mem=512MB -c max_wal_size=8GB \
    -c checkpoint_timeout=15min" start >/dev/null
  pg_started=1
  psql="psql -q -h 127.0.0.1 -p $PGPORT -U postgres"
  for _ in $(seq 50); do $psql -c 'SELECT 1' postgres >/dev/null 2>&1 && break; sleep 0.2; done
}
new_database() {
  if [ "$backend" = sqlite ]; then
    rm -f "$work/scale.db"*
    url=$work/scale.db
  else
    $psql -c "DROP DATABASE IF EXISTS scale" postgres
    $psql -c "CREATE DATABASE scale" postgres
    url=postgres://postgres@127.0.0.1:$PGPORT/scale
  fi
  "$bin" --database "$url" migrate >/dev/null
  wkey=$("$bin" --database "$url" keys create --name scale-write --scope write 2>/dev/null)
  rkey=$("$bin" --database "$url" keys create --name scale-read --scope read 2>/dev/null)
}
# The database's own bulk load of one size's table rows; the stamp clock
# then moves past every stamp loaded.
load() { # directory
  local f
  if [ "$backend" = sqlite ]; then
    {
      # No durability needed while loading (the file is rebuilt on failure);
      # WAL as hourglass runs it.
      echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -4000000;"
      for f in "$1"/actions-*.csv; do echo ".import --csv $f game_actions"; done
      echo "CREATE TEMP TABLE staged AS SELECT * FROM transactions WHERE 0;"
      echo ".import --csv $1/transactions.csv staged"
      echo "INSERT INTO transactions SELECT id, player_id, amount, currency, type, status, payment_system, dir,
        created_at, updated_at, NULLIF(invoice_id, ''), NULLIF(wallet_id, ''), user_agent, ip,
        NULLIF(requisite, ''), NULLIF(comment, '') FROM staged;"
    } | sqlite3 "$work/scale.db" >/dev/null
  else
    for f in "$1"/actions-*.csv; do
      $psql -c "\\copy game_actions FROM '$f' WITH (FORMAT csv)" scale
    done
    $psql -c "\\copy transactions (id, player_id, amount, currency, type, status, payment_system, dir, created_at, updated_at, invoice_id, wallet_id, user_agent, ip, requisite, comment) FROM '$1/transactions.csv' WITH (FORMAT csv)" scale
  fi
  sql "UPDATE stamp_clock SET last_stamp = (SELECT max(s) FROM (SELECT max(modified_at) AS s FROM game_actions
    UNION ALL SELECT max(updated_at) FROM transactions UNION ALL SELECT last_stamp FROM stamp_clock) t)" >/dev/null
  # PostgreSQL's autovacuum would have analyzed the tables by now; hourglass
  # never analyzes a SQLite file, so neither does this.
  if [ "$backend" = postgres ]; then sql "ANALYZE" >/dev/null; fi
}

# The rows, once for both backends: they start at an hour a whole number of
# days (one more than the largest size takes) before now.
max_size=${SIZES##*,}
days=$(( (max_size + PER_DAY - 1) / PER_DAY + 1 ))
start=$(( ($(date +%s) / 3600 - days * 24) * 3600 ))
echo "== generating up to $max_size game actions from $(date -u -d "@$start" '+%F %T') UTC"
python3 benches/scale_gen.py "$work/gen" --start-us "${start}000000" --per-day "$PER_DAY" \
  --sizes "$SIZES" --import-rows "$IMPORT_ROWS" --seed 23
when() { date -u -d "@$1" '+%Y-%m-%d+%H:%M:%S'; }
hour="from=$(when $((start + 3600)))&to=$(when $((start + 7200)))"
day="from=$(when $((start + 3600)))&to=$(when $((start + 90000)))"
# A CRM that pulls every minute: the same hour's 31st minute.
minute="from=$(when $((start + 5400)))&to=$(when $((start + 5460)))"

for backend in $BACKENDS; do
  if [ "$backend" = postgres ]; then
    [ -n "$pgbin" ] || { echo "no PostgreSQL here: skipped"; continue; }
    start_pg
  fi
  new_database
  total=0
  for size in ${SIZES//,/ }; do
    echo "== $backend: $size game actions"
    s=$(date +%s%N); load "$work/gen/$size"; e=$(date +%s%N)
    loaded=$(sql "SELECT count(*) FROM game_actions")
    record "$size" load_rows_per_s "$(( (loaded - total) * 1000000000 / (e - s) ))"
    s=$(date +%s%N); "$bin" --database "$url" import game_actions "$work/gen/$size/import.csv" >/dev/null; e=$(date +%s%N)
    record "$size" import_rows_per_s "$(( IMPORT_ROWS * 1000000000 / (e - s) ))"
    total=$(sql "SELECT count(*) FROM game_actions")
    record "$size" game_actions "$total"
    record "$size" game_sessions "$(sql "SELECT count(*) FROM game_sessions")"
    record "$size" bytes_per_action "$(( $(db_bytes) / total ))"
    serve
    measure "$size" minute_ms_game_sessions pull_times "/api/game_sessions?$minute"
    for dataset in game_sessions transactions; do
      measure "$size" "hour_ms_$dataset" pull_times "/api/$dataset?$hour"
      measure "$size" "day_ms_$dataset" pull_times "/api/$dataset?$day"
    done
    for dataset in game_sessions transactions; do
      measure "$size" "hour_count_ms_$dataset" pull_times "/api/$dataset/count?$hour"
      measure "$size" "day_count_ms_$dataset" pull_times "/api/$dataset/count?$day"
      record "$size" "rows_$dataset" "$(rows "/api/$dataset/count?$hour") $(rows "/api/$dataset/count?$day")"
    done
    measure "$size" writes writes "$SECONDS_EACH"
    measure "$size" writes_paced writes "$SECONDS_EACH" "$PACE_MS"
    stop_server
  done

  echo "== $backend: purging the first day of $max_size while writing"
  serve --retain "game_actions=$(( $(date +%s) - start - 86400 ))s" --purge-every 1s
  for _ in $(seq 600); do [ "$(purged)" -gt 0 ] && break; sleep 0.1; done
  for pace in "$PACE_MS" 0; do
    before=$(purged); s=$(date +%s%N)
    during=$(writes "$SECONDS_EACH" "$pace")
    after=$(purged); e=$(date +%s%N)
    suffix=$([ "$pace" = 0 ] || echo _paced)
    record "$max_size" "purge_rows_per_s$suffix" "$(( (after - before) * 1000000000 / (e - s) ))"
    record "$max_size" "writes_during_purge$suffix" "$during"
  done
  # Still purging when wrk ended, or the rate above is a lower bound.
  record "$max_size" purge_left "$(sql "SELECT count(*) FROM game_actions WHERE modified_at < $(( (start + 86400) * 1000000 ))")"
  stop_server

  if [ "$COMPRESSED_SECONDS" = 0 ]; then # skipped
    if [ "$backend" = postgres ]; then stop_pg; rm -rf "$work/pg"; fi
    continue
  fi
  echo "== $backend: compressed time, game_actions kept ${COMPRESSED_RETAIN} s, writes for ${COMPRESSED_SECONDS} s"
  new_database
  serve --retain "game_actions=${COMPRESSED_RETAIN}s" --purge-every 10s
  HOURGLASS_KEY=$wkey SCALE_NOW=$(date -u '+%Y-%m-%d %H:%M:%S') SCALE_PAUSE_MS=${SCALE_PAUSE_MS:-4} \
    wrk -t2 -c"$CONNS" -d"${COMPRESSED_SECONDS}s" --latency -s benches/scale_write.lua "$base" > "$work/steady.txt" &
  steady=$!
  began=$(date +%s)
  while kill -0 "$steady" 2>/dev/null; do
    sleep 30
    if [ "$backend" = sqlite ]; then
      bytes=$(( $(stat -c %s "$work/scale.db") + $(stat -c %s "$work/scale.db-wal" 2>/dev/null || echo 0) ))
    else
      bytes=$($psql -tA -c "SELECT pg_database_size('scale')" postgres)
    fi
    record compressed "size_at_$(( $(date +%s) - began ))s" "$bytes $(sql "SELECT count(*) FROM game_actions")"
  done
  wait "$steady" || true
  record compressed steady_writes "$(wrk_summary "$(cat "$work/steady.txt")")"
  stop_server
  if [ "$backend" = sqlite ]; then rm -f "$work/scale.db"*; else $psql -c "DROP DATABASE scale" postgres; stop_pg; rm -rf "$work/pg"; fi
done

report=$(python3 - "$results" "$SIZES" "$COMPRESSED_RETAIN" <<'PY'
import collections, statistics, sys
path, sizes, retain = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
r = collections.defaultdict(dict)
for line in open(path):
    backend, size, metric, value = line.rstrip("\n").split("\t")
    r[backend, size][metric] = value
ok = lambda good: "met" if good else "**not met**"
out = []
for backend in ("sqlite", "postgres"):
    if (backend, sizes[0]) not in r:
        continue
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    out.append(f"### {name}\n")
    out.append("| game actions | " + " | ".join(f"{int(s):,}" for s in sizes) + " |")
    out.append("| --- |" + " --- |" * len(sizes))
    row = lambda label, f: out.append(f"| {label} | " + " | ".join(f(r[backend, s]) for s in sizes) + " |")
    ms = lambda key, i: lambda m: m[key].split()[i]
    row("bulk load (sqlite3 .import / psql \\copy), rows/s", lambda m: f"{int(m['load_rows_per_s']):,}")
    row("`hourglass import`, rows/s", lambda m: f"{int(m['import_rows_per_s']):,}")
    row("game sessions", lambda m: f"{int(m['game_sessions']):,}")
    row("bytes on disk per game action (whole database)", lambda m: f"{int(m['bytes_per_action']):,}")
    row("one-minute `game_sessions`: first byte / total, ms", lambda m: " / ".join(m["minute_ms_game_sessions"].split()))
    for dataset in ("game_sessions", "transactions"):
        row(f"`{dataset}` rows in the hour / the day",
            lambda m, k=f"rows_{dataset}": " / ".join(f"{int(x):,}" for x in m[k].split()))
        for span in ("hour", "day"):
            row(f"one-{span} `{dataset}`: first byte / total, ms",
                lambda m, k=f"{span}_ms_{dataset}": " / ".join(m[k].split()))
        row(f"`{dataset}/count`, hour / day, ms",
            lambda m, d=dataset: f"{m[f'hour_count_ms_{d}'].split()[1]} / {m[f'day_count_ms_{d}'].split()[1]}")
    row(f"single-row writes/s, p99 ms, failed: as fast as taken", lambda m: " / ".join(m["writes"].split()))
    row(f"single-row writes/s, p99 ms, failed: at a steady pace", lambda m: " / ".join(m["writes_paced"].split()))
    out.append("")
    first, last = r[backend, sizes[0]], r[backend, sizes[-1]]
    worst = max(float(last[f"hour_ms_{d}"].split()[1]) / float(first[f"hour_ms_{d}"].split()[1])
                for d in ("game_sessions", "transactions"))
    ttfb = float(last["day_ms_game_sessions"].split()[0])
    p_rate = int(last["purge_rows_per_s_paced"])
    w_rate, w_p99, w_bad = last["writes_during_purge_paced"].split()
    b_p99 = float(last["writes_paced"].split()[1])
    s_rate = int(last["purge_rows_per_s"])
    s_w_rate, s_w_p99, s_w_bad = last["writes_during_purge"].split()
    s_b_rate, s_b_p99, _ = last["writes"].split()
    out.append("| goal | measured | |")
    out.append("| --- | --- | --- |")
    out.append(f"| one-hour window at {int(sizes[-1]):,} ≤ 1.3× at {int(sizes[0]):,} (the worse of the two datasets) | {worst:.2f}× | {ok(worst <= 1.3)} |")
    out.append(f"| one-day `game_sessions` first byte ≤ 1 s at {int(sizes[-1]):,} | {ttfb:.0f} ms | {ok(ttfb <= 1000)} |")
    out.append(f"| purge rows/s ≥ 3× write rows/s during it, at the steady pace | {p_rate:,} / {int(w_rate):,} = {p_rate / max(1, int(w_rate)):.1f}× ({int(last['purge_left']):,} rows left to purge at the end) | {ok(p_rate >= 3 * int(w_rate))} |")
    out.append(f"| write p99 during the purge ≤ 2× without, at the steady pace (failed: {w_bad}) | {w_p99} / {b_p99} ms = {float(w_p99) / b_p99:.2f}× | {ok(float(w_p99) <= 2 * b_p99 and w_bad == '0')} |")
    c = r[backend, "compressed"]
    samples = sorted((int(k[len("size_at_"):-1]), *map(int, v.split())) for k, v in c.items() if k.startswith("size_at_"))
    settled = [b for t, b, _ in samples if t >= 2 * retain]
    if settled:
        spread = max(settled) / min(settled)
        out.append(f"| compressed time: size after 2× the retention ({2 * retain} s) within 10% | max / min = {spread:.3f} | {ok(spread <= 1.10)} |")
    out.append("")
    out.append(f"Writes as fast as taken, during the purge: {int(s_w_rate):,} writes/s (without: {int(s_b_rate):,}), "
               f"p99 {s_w_p99} ms (without: {s_b_p99}), failed {s_w_bad}; purged meanwhile {s_rate:,} rows/s.")
    out.append("")
    if not samples:
        continue
    out.append(f"Compressed time (game_actions kept {retain} s, purged every 10 s; writes {' / '.join(c['steady_writes'].split())} req/s, p99 ms, failed): "
               + ", ".join(f"{t} s: {b / 1e6:.1f} MB ({n:,} actions)" for t, b, n in samples))
    out.append("")
print("\n".join(out))
PY
)
echo
echo "$report"

python3 - "$report" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$PER_DAY" "$CONNS" "$SECONDS_EACH" "$ROUNDS" <<'PY'
import pathlib, re, sys
report, when, cores, per_day, conns, secs, rounds = sys.argv[1:]
begin, end = "<!-- begin scale.sh -->", "<!-- end scale.sh -->"
section = f"""{begin}
Made by `bash benches/scale.sh` on {when}, {cores} cores: {int(per_day):,} game actions a day
(benches/scale_gen.py), windows the first hour and day of the data, medians of {rounds} pulls;
writes `wrk -t2 -c{conns}` for {secs} s, one action per POST (benches/scale_write.lua).

{report}
{end}"""
path = pathlib.Path("BENCHMARKS.md")
text = path.read_text()
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n## Scale (issue 23)\n\n" + section + "\n"
path.write_text(text)
PY
echo "written to BENCHMARKS.md"
