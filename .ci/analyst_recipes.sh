#!/usr/bin/env bash
# Runs docs/analysts.md ("Loading windows with pandas / DuckDB / Excel") as
# written: every sh and python block of the page, in order, against a seeded
# `hourglass serve` on 127.0.0.1:8080 (the address the docs use), with
# the key in KEY. Then checks, through the client the page generated, that
# a pull comes back as typed rows equal to the JSON pull. .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
for module in pandas duckdb; do
  python3 -c "import $module" 2>/dev/null || python3 -m pip install -q "$module"
done
cargo build -q
bin=$PWD/target/debug/hourglass
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export RUST_LOG=warn
"$bin" --database "$work/r.db" migrate >/dev/null
"$bin" --database "$work/r.db" seed --players 300 --days 1 2>/dev/null
KEY=$("$bin" --database "$work/r.db" keys create --name recipes --scope read)
export KEY
"$bin" --database "$work/r.db" serve --bind 127.0.0.1:8080 &
server=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/health >/dev/null && break; sleep 0.1; done

# The section's code blocks, numbered in order: 01.sh, 02.python, ...
python3 - docs/analysts.md "$work" <<'PY'
import re, sys
page, out = open(sys.argv[1]).read(), sys.argv[2]
blocks = re.findall(r"^```(sh|python)\n(.*?)^```$", page, re.S | re.M)
assert len(blocks) >= 5, f"only {len(blocks)} blocks in the page"
for n, (lang, code) in enumerate(blocks, 1):
    open(f"{out}/{n:02}.{lang}", "w").write(code)
PY
cd "$work"
for block in [0-9][0-9].*; do
  echo "== docs/analysts.md block $block"
  case "$block" in
    *.sh) bash -euo pipefail "$block" ;;
    *.python) python3 "$block" ;;
  esac
done
echo "== the generated client's rows"
PYTHONPATH=$work python3 "$OLDPWD/.ci/python_client.py"
