#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where `ftx serve` touches memory when idle connections arrive: page faults by call site
# (perf record -e page-faults -g), for N plain TCP connections that say nothing.
# Usage: bench/diag/faults.sh FTX [N (100)]      needs perf (Debian: linux-perf)
set -euo pipefail
ftx=$1; n=${2:-100}
d=$(mktemp -d /tmp/ftx-diag-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ftx" serve --host 127.0.0.1 --port "$port" --dir "$d/in" --quiet --max-clients $((n + 100)) &
srv=$!
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; rm -rf "$d"' EXIT
sleep 0.5
perf record -q -e page-faults -g -o "$d/perf.data" -p "$srv" 2>/dev/null &
rec=$!
sleep 0.5
python3 -c "
import socket, time
s = [socket.create_connection(('127.0.0.1', $port)) for _ in range($n)]
time.sleep(1.5)"
kill -INT "$rec"; wait "$rec" || true
perf report -i "$d/perf.data" --no-children --stdio --sort sym -g caller,0.5,callee,function,percent --max-stack 3 2>/dev/null \
  | grep -v "^#" | grep -v "^$" | grep -v "0x" | grep -Ev "^[ |]*$" | head -12
