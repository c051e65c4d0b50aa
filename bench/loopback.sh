#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Loopback throughput of one large file: ftx (xxh128 and sha256) against nc, socat and ncat
# in the same run, on the same file, into the same filesystem.
# Usage: bench/loopback.sh [SIZE_MIB (default 1024)] [RUNS (default 3)]
# Env: FTX (binary, default build/src/ftx), BENCH_DIR (default /dev/shm/ftx-bench: tmpfs,
#      so the disk is not what is measured).
set -euo pipefail
size_mib=${1:-1024}
runs=${2:-3}
ftx=${FTX:-build/src/ftx}
dir=${BENCH_DIR:-/dev/shm/ftx-bench}
rm -rf "$dir" && mkdir -p "$dir/in"
trap 'rm -rf "$dir"' EXIT
src="$dir/src.bin"
head -c $((size_mib << 20)) /dev/urandom > "$src"
bytes=$(stat -c %s "$src")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# Waits until something listens on the port, without connecting (nc serves one connection).
wait_port() { for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }

# Prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A result
run_ftx() {  # $1 = hash
  local times=() port pid t0 t1
  port=$(free_port)
  "$ftx" serve --host 127.0.0.1 --port "$port" --dir "$dir/in" --hash "$1" --quiet --overwrite replace &
  pid=$!
  wait_port "$port"
  for _ in $(seq "$runs"); do
    t0=$(now); "$ftx" send "127.0.0.1:$port" "$src" --no-progress > /dev/null; t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  kill -TERM "$pid"; wait "$pid" || true
  cmp -s "$src" "$dir/in/src.bin" || { echo "ftx ($1): received file differs" >&2; exit 1; }
  result["ftx $1"]=$(median "${times[@]}")
}

run_pair() {  # $1 = label, $2 = listener command (with PORT, OUT), $3 = sender command (with PORT)
  local times=() port pid t0 t1 out="$dir/in/$1.bin"
  for _ in $(seq "$runs"); do
    port=$(free_port)
    bash -c "${2//PORT/$port} > '$out'" &
    pid=$!
    wait_port "$port" || { echo "$1 did not listen" >&2; kill "$pid"; return; }
    t0=$(now); bash -c "${3//PORT/$port} < '$src'"; wait "$pid"; t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  cmp -s "$src" "$out" || { echo "$1: received file differs" >&2; exit 1; }
  rm -f "$out"
  result["$1"]=$(median "${times[@]}")
}

run_ftx xxh128
run_ftx sha256
command -v nc >/dev/null && run_pair nc "nc -l 127.0.0.1 PORT" "nc -N 127.0.0.1 PORT"
command -v socat >/dev/null && run_pair socat "socat -u TCP-LISTEN:PORT,bind=127.0.0.1,reuseaddr STDOUT" "socat -u STDIN TCP:127.0.0.1:PORT"
command -v ncat >/dev/null && run_pair ncat "ncat -l 127.0.0.1 PORT" "ncat --send-only 127.0.0.1 PORT"

base=${result[nc]:-}
printf '%s MiB, median of %s runs, %s, %s\n' "$size_mib" "$runs" "$(nproc) cores" "$(uname -r)"
printf '%-12s %10s %10s %12s\n' tool seconds MB/s "vs nc"
for tool in "ftx xxh128" "ftx sha256" nc socat ncat; do
  [[ -n ${result[$tool]:-} ]] || continue
  secs=${result[$tool]}
  mbps=$(echo "$bytes / $secs / 1000000" | bc -l)
  ratio=-; [[ -n $base ]] && ratio=$(printf '%.2fx' "$(echo "$base / $secs" | bc -l)")
  printf '%-12s %10.3f %10.0f %12s\n' "$tool" "$secs" "$mbps" "$ratio"
done
