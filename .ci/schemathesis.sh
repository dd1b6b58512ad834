#!/usr/bin/env bash
# schemathesis against a live `hourglass serve`, every check, every operation
# of openapi.yaml (served by the server itself); .ci/run runs it. Exits
# non-zero on any finding; the last lines say how many requests it sent.
#
#   bash .ci/schemathesis.sh            # EXAMPLES=30 per operation
#
# The hooks in .ci/schemathesis_hooks.py state what OpenAPI cannot: a
# window's `from` comes before its `to`, and a window has ended.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${EXAMPLES:-30}
PORT=${PORT:-18455}
# Called through Python, not its console script, which a fresh pyenv may
# not have on the PATH yet.
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install -q schemathesis
schemathesis() { python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())' "$@"; }
cargo build -q
bin=$PWD/target/debug/hourglass
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export RUST_LOG=warn
"$bin" --database "$work/st.db" migrate >/dev/null
key=$("$bin" --database "$work/st.db" keys create --name schemathesis --scope read,write 2>/dev/null)
# The fuzzer sends thousands of wrong keys on purpose, to check each 401;
# the wrong-key throttle, which would answer them 429 (and every request
# after them), has a test of its own.
"$bin" --database "$work/st.db" serve --bind "127.0.0.1:$PORT" --wrong-key-burst 1000000 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
PYTHONPATH=.ci SCHEMATHESIS_HOOKS=schemathesis_hooks schemathesis --config-file .ci/schemathesis.toml run \
  "http://127.0.0.1:$PORT/openapi.yaml" --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Bearer $key" --checks all -n "$EXAMPLES" --request-timeout 10 \
  --generation-database none
