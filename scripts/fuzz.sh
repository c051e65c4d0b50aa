#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (tests/fuzz) with clang and runs each for a while on a copy of
# its seed corpus. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)]
#
# Needs clang++ with libFuzzer (Debian 12: clang, libclang-rt-14-dev) and the project's build
# dependencies; installs nothing. Environment: FUZZ_BUILD_DIR (default build-fuzz),
# FUZZ_FINDINGS (default $FUZZ_BUILD_DIR/fuzz-findings): crash inputs land in $FUZZ_FINDINGS/<target>/.
# Each target's outcome goes to $FUZZ_BUILD_DIR/fuzz-results.tsv (TARGET, ok or crash,
# executions; tests/summarize.py reads it), written anew by every run.
# Exits 1 when any target crashed, 2 on a usage or build error.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
build="${FUZZ_BUILD_DIR:-build-fuzz}"
findings="${FUZZ_FINDINGS:-$build/fuzz-findings}"
results="$build/fuzz-results.tsv"
# target:max_len. Frames go up to the 5-byte header plus kMaxPayload (66560); names a little
# past kMaxPathBytes (4096), so the length limits themselves are reachable; a ClientHello is
# a few hundred bytes, and 4 KiB leaves room for the records after it; an HTTP head is
# bounded at 4 KiB in its target, so a little more reaches the bound.
targets=(frame_decoder_fuzz:70000 text_line_fuzz:8192 name_check_fuzz:4200 tls_opening_fuzz:4096
         http_request_fuzz:4200)
# No results from an earlier run may stand for this one, even when the build fails.
rm -f "$results"

if [[ ! -f "$build/build.ninja" ]]; then
  CXX="${CXX:-clang++}" meson setup "$build" -Dfuzz=true >/dev/null || exit 2
else
  meson configure "$build" -Dfuzz=true >/dev/null || exit 2
fi
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done
meson compile -C "$build" "${names[@]}" >/dev/null || {
  echo "fuzz: build failed (is $build configured with CXX=clang++?)" >&2
  exit 2
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total_execs=0
total_crashes=0
for t in "${targets[@]}"; do
  name="${t%%:*}"
  max_len="${t##*:}"
  exe="$build/tests/fuzz/$name"
  if [[ ! -x "$exe" ]]; then
    echo "fuzz: $exe was not built (the compiler must be clang)" >&2
    printf '%s\tnot built\t0\n' "$name" >>"$results"
    exit 2
  fi
  # Fuzz a copy: libFuzzer writes every new interesting input into its first corpus dir.
  corpus="$work/$name"
  mkdir -p "$corpus" "$findings/$name"
  cp tests/fuzz/corpus/"$name"/* "$corpus"/
  log="$work/$name.log"
  status=0
  "$exe" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings/$name/" "$corpus" >"$log" 2>&1 || status=$?

  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [[ -z "$execs" ]]; then  # no final stats: take the last "#N" progress line
    execs="$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)"
  fi
  execs="${execs:-0}"
  artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
  total_execs=$((total_execs + execs))
  if [[ $status -ne 0 ]]; then
    total_crashes=$((total_crashes + 1))
    printf '%s\tcrash (exit %s), input %s\t%s\n' "$name" "$status" "${artifact:-not written}" "$execs" >>"$results"
    cp "$log" "$findings/$name/fuzz.log"
    echo "$name: $execs executions, CRASH (exit $status): ${artifact:-no input written}," \
      "log in $findings/$name/fuzz.log"
    grep -m 1 -E '==ERROR|runtime error|deadly signal|_fuzz: ' "$log" | sed 's/^/  /' || true
  else
    printf '%s\tok\t%s\n' "$name" "$execs" >>"$results"
    echo "$name: $execs executions, no crash, $(ls "$corpus" | wc -l) corpus inputs"
  fi
done

echo "fuzz: ${#targets[@]} targets, $total_execs executions, $total_crashes crashes"
[[ $total_crashes -eq 0 ]]
