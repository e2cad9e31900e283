#!/usr/bin/env bash
# compare.sh: Iridium against C Lua 5.4 on the same three programs (count,
# arith, fib) and on start-up, whole-process wall time.
#
# For each workload it runs RUNS pairs (default 5), alternating which engine
# goes first, and reports the median time of each engine and the median of
# the per-pair ratios Iridium/Lua, against the target. Start-up is
# `iridium` on an empty program against `lua5.4 -e ''` (3*RUNS pairs).
#
# Usage: bench/compare.sh            (from anywhere)
#        RUNS=11 bench/compare.sh
# Exit status: 0 when every target holds, 1 when one does not, 2 on error.
set -euo pipefail

RUNS=${RUNS:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v lua5.4 >/dev/null 2>&1; then
	echo "installing lua5.4 ..." >&2
	apt-get update -qq && apt-get install -y -qq lua5.4 >/dev/null
fi
echo "building iridium ..." >&2
. "$here/../scripts/lib.sh"
IR=$(iridium_binary "$tmp")
: >"$tmp/empty.iasm"

# time_ms CMD... runs CMD once, output discarded, and prints its wall time
# in milliseconds (three decimals). It reads the clock from bash itself
# ($EPOCHREALTIME): running `date` would add a process start to every
# measurement, which flatters the start-up ratio.
time_ms() {
	local s e
	s=$EPOCHREALTIME
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 2; }
	e=$EPOCHREALTIME
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", (e - s) * 1000 }'
}

# median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# check NAME: both engines must print the same thing.
check() {
	local a b
	a=$("$IR" "$here/$1.iasm")
	b=$(lua5.4 "$here/$1.lua")
	if [[ "$a" != "$b" ]]; then
		echo "$1: iridium printed '$a', lua printed '$b'" >&2
		exit 2
	fi
	echo "$1: both print $a" >&2
}

fail=0
rows=()

# pairs NAME TARGET N IRCMD... -- LUACMD...: N alternating pairs.
pairs() {
	local name=$1 target=$2 n=$3
	shift 3
	local ir=() lua=()
	while [[ $1 != -- ]]; do ir+=("$1"); shift; done
	shift
	lua=("$@")
	local ti tl i
	: >"$tmp/ir" ; : >"$tmp/lua" ; : >"$tmp/ratio"
	for ((i = 0; i < n; i++)); do
		if ((i % 2 == 0)); then
			ti=$(time_ms "${ir[@]}"); tl=$(time_ms "${lua[@]}")
		else
			tl=$(time_ms "${lua[@]}"); ti=$(time_ms "${ir[@]}")
		fi
		echo "$ti" >>"$tmp/ir"
		echo "$tl" >>"$tmp/lua"
		awk -v a="$ti" -v b="$tl" 'BEGIN { printf "%.4f\n", a / b }' >>"$tmp/ratio"
	done
	local mi ml mr ok
	mi=$(median <"$tmp/ir")
	ml=$(median <"$tmp/lua")
	mr=$(median <"$tmp/ratio")
	if awk -v r="$mr" -v t="$target" 'BEGIN { exit !(r <= t) }'; then ok=pass; else ok=FAIL; fail=1; fi
	rows+=("$(printf '| %-8s | %10.1f | %10.1f | %6.3f | <= %-5s | %-4s |' "$name" "$mi" "$ml" "$mr" "$target" "$ok")")
	echo "$name done" >&2
}

for w in count arith fib; do
	check "$w"
	# vm's benchmarks build the same programs by hand; TestBenchPrograms
	# compares them with these bytecode files, which must match the .iasm.
	"$IR" -o "$tmp/$w.ibc" "$here/$w.iasm"
	cmp -s "$tmp/$w.ibc" "$root/vm/testdata/bench/$w.ibc" ||
		echo "warning: vm/testdata/bench/$w.ibc is stale: iridium -o vm/testdata/bench/$w.ibc bench/$w.iasm" >&2
done

pairs count 0.60 "$RUNS" "$IR" "$here/count.iasm" -- lua5.4 "$here/count.lua"
pairs arith 0.80 "$RUNS" "$IR" "$here/arith.iasm" -- lua5.4 "$here/arith.lua"
pairs fib 0.90 "$RUNS" "$IR" "$here/fib.iasm" -- lua5.4 "$here/fib.lua"
pairs start-up 2.0 $((3 * RUNS)) "$IR" "$tmp/empty.iasm" -- lua5.4 -e ''

echo
echo "RUNS=$RUNS pairs per workload ($((3 * RUNS)) for start-up), whole-process wall time in ms, medians"
echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"
echo
echo "| workload | iridium ms | lua5.4 ms | ratio  | target   | ok   |"
echo "|----------|-----------:|----------:|-------:|----------|------|"
printf '%s\n' "${rows[@]}"
exit $fail
