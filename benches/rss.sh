#!/usr/bin/env bash
# Peak RSS of `hourglass serve` (release) while it streams a small and a large
# `transactions` window as CSV, each in a fresh server process.
#
#   bash benches/rss.sh            # 10,000 and 1,000,000 rows
#   LARGE=5000000 bash benches/rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${SMALL:-10000}
LARGE=${LARGE:-1000000}
PORT=${PORT:-18181}

cargo build --release -q
bin=$PWD/target/release/hourglass
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
db=$work/rss.db
export RUST_LOG=warn

# Rows as the platform would send them, in files of at most 100,000 rows.
csv() { # first_id count file
  python3 - "$1" "$2" "$3" <<'PY'
import sys, uuid
first, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("id,player_id,amount,currency,type,status,payment_system,dir,created_at,invoice_id,wallet_id,user_agent,ip,requisite\n")
    for i in range(first, first + count):
        f.write(f"{uuid.UUID(int=i)},{uuid.UUID(int=i % 50000)},{i % 100000}.{i % 100:02d},EUR,Normal,Success,Visa,IN,2020-10-10 07:00:00,inv-{i},{uuid.UUID(int=i % 50000)},Mozilla/5.0 (X11; Linux x86_64),10.1.2.3,4111 **** **** 1111\n")
PY
}
stamp_of() { sed -n 's/.*stamped \(.*\)$/\1/p'; }
import_rows() { # first_id count -> prints the first batch's stamp
  local first=$1 left=$2 stamp=""
  while [ "$left" -gt 0 ]; do
    local n=$(( left < 100000 ? left : 100000 ))
    csv "$first" "$n" "$work/batch.csv"
    local s; s=$("$bin" --database "$db" import transactions "$work/batch.csv" | stamp_of)
    [ -n "$stamp" ] || stamp=$s
    first=$(( first + n )); left=$(( left - n ))
  done
  echo "$stamp"
}
plus_seconds() { date -u -d "$1 UTC + $2 seconds" '+%Y-%m-%d+%H:%M:%S'; }
floor() { date -u -d "$1 UTC" '+%Y-%m-%d+%H:%M:%S'; }

small_stamp=$(import_rows 1 "$SMALL")
sleep 2
large_stamp=$(import_rows $(( SMALL + 1 )) "$LARGE")
sleep 2
key=$("$bin" --database "$db" keys create --name rss --scope read 2>/dev/null)

measure() { # from to
  /usr/bin/time -f '%M' -o "$work/peak" "$bin" --database "$db" serve --bind "127.0.0.1:$PORT" &
  local timer=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
  server=$(pgrep -P "$timer")
  local rows
  rows=$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$PORT/api/transactions?from=$1&to=$2" | tail -n +2 | wc -l)
  kill -INT "$server"; wait "$timer"; server=""
  echo "$rows rows: peak RSS $(( $(cat "$work/peak") / 1024 )) MiB"
}
echo "machine: $(nproc) cores, $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
measure "$(floor "$small_stamp")" "$(plus_seconds "$(floor "$small_stamp" | tr + ' ')" 1)"
measure "$(floor "$large_stamp")" "$(plus_seconds "$(date -u '+%Y-%m-%d %H:%M:%S')" 0)"
