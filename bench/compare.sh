#!/usr/bin/env bash
# compare.sh: Iridium against C Lua 5.4 and, where luajit is installed,
# LuaJIT's interpreter (luajit -joff), on the workloads of this directory:
# NAME.iasm and its twin NAME.lua, the same algorithm written the way each
# language is written. Whole-process wall time.
#
# First each workload runs once on every engine and the outputs must be
# byte for byte equal (a difference stops the script with status 2): that
# is the check that the benchmark still computes what it claims. A twin
# LuaJIT cannot run (it is Lua 5.1 and lacks, for one, the integer
# division `//`) gets "-" in the LuaJIT column.
#
# Then RUNS pairs per workload (default 5): one run of each engine,
# Iridium first in even pairs and last in odd ones, so a machine that
# speeds up or slows down over the run does not favour one engine. Per
# workload it prints the median time of each engine and the median of the
# per-pair ratios Iridium/Lua 5.4 and Iridium/LuaJIT -joff, then the
# geometric mean of each ratio column, and whether the targets hold: every
# ratio against Lua 5.4 at most 0.80, their geometric mean at most 0.50.
# Start-up (an empty program against `lua5.4 -e ''`) is the last row of the
# table, outside the mean.
#
# Usage: bench/compare.sh [WORKLOAD...]      (from anywhere; default: all)
#        RUNS=11 bench/compare.sh tak sieve
#        RUNS=0 bench/compare.sh             (only check the outputs)
#        IRIDIUM=/path/to/iridium bench/compare.sh   (else one is built)
# Exit status: 0 when the targets hold, 1 when one does not, 2 on error.
set -euo pipefail

RUNS=${RUNS:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

all=(count arith fib tak collatz sieve matmul print sort gcd ackermann bsearch queens primes shellsort digits mandelbrot pi xorshift qsort
  hashtab wordcount partitions lcs heapsort isqrt lorenz interp fizzbuzz
  exprparse newton crc32 dijkstra knapsack bstree permute bignum
  floyd life millerrabin sudoku vanderpol unionfind base64 radixsort
  hanoi flood strsearch lexer hashmix balls fir bf
  fannkuch atkin itoa stackvm bintrees detmod spectral rk4)
max_ratio=0.80
max_mean=0.50

if (($# > 0)); then
	names=("$@")
else
	names=("${all[@]}")
fi
for w in "${names[@]}"; do
	if [[ ! -f "$here/$w.iasm" || ! -f "$here/$w.lua" ]]; then
		echo "no workload $w (there are: ${all[*]})" >&2
		exit 2
	fi
done

install() {
	echo "installing $1 ..." >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}
command -v lua5.4 >/dev/null 2>&1 || install lua5.4
command -v luajit >/dev/null 2>&1 || install luajit ||
	echo "luajit could not be installed: no LuaJIT column" >&2
jit=
command -v luajit >/dev/null 2>&1 && jit=luajit

. "$root/scripts/lib.sh"
[[ -n "${IRIDIUM:-}" ]] || echo "building iridium ..." >&2
IR=$(iridium_binary "$tmp")
: >"$tmp/empty.iasm"

# time_ms CMD... runs CMD once, output discarded, and prints its wall time
# in milliseconds. The clock is bash's own ($EPOCHREALTIME): running `date`
# would add a process start to every measurement.
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

# geomean of the numbers on stdin, one a line.
geomean() {
	awk '{ s += log($1); n++ } END { if (n) printf "%.3f\n", exp(s / n); else print "-" }'
}

# ratio A B prints A/B.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f\n", a / b }'
}

# at_most A B succeeds when A <= B.
at_most() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

# check NAME runs NAME once on each engine and stops the script if the
# outputs differ. It sets runs_jit to whether LuaJIT runs the twin.
check() {
	local w=$1
	if ! "$IR" "$here/$w.iasm" >"$tmp/out.ir" 2>"$tmp/err.ir"; then
		echo "$w: iridium failed: $(head -3 "$tmp/err.ir")" >&2
		exit 2
	fi
	if ! lua5.4 "$here/$w.lua" >"$tmp/out.lua" 2>"$tmp/err.lua"; then
		echo "$w: lua5.4 failed: $(head -3 "$tmp/err.lua")" >&2
		exit 2
	fi
	if ! cmp -s "$tmp/out.ir" "$tmp/out.lua"; then
		echo "$w: OUTPUTS DIFFER (first differing lines, iridium <, lua5.4 >):" >&2
		diff "$tmp/out.ir" "$tmp/out.lua" | head -6 >&2 || true
		exit 2
	fi
	runs_jit=false
	if [[ -n $jit ]]; then
		if ! $jit -joff "$here/$w.lua" >"$tmp/out.jit" 2>"$tmp/err.jit"; then
			echo "$w: luajit cannot run the twin: $(head -1 "$tmp/err.jit")" >&2
		elif ! cmp -s "$tmp/out.ir" "$tmp/out.jit"; then
			echo "$w: OUTPUTS DIFFER (first differing lines, iridium <, luajit >):" >&2
			diff "$tmp/out.ir" "$tmp/out.jit" | head -6 >&2 || true
			exit 2
		else
			runs_jit=true
		fi
	fi
	local lines
	lines=$(wc -l <"$tmp/out.ir")
	echo "$w: the engines agree: $(head -1 "$tmp/out.ir")$( ((lines < 2)) || echo " ... ($lines lines)")" >&2
}

# pairs NAME N WITH_JIT IRCMD... -- LUACMD... -- JITCMD...: N pairs, and
# one table row in $row.
pairs() {
	local name=$1 n=$2 with_jit=$3
	shift 3
	local ir=() lua=() lj=()
	while [[ $1 != -- ]]; do ir+=("$1"); shift; done
	shift
	while [[ $1 != -- ]]; do lua+=("$1"); shift; done
	shift
	lj=("$@")
	local i ti tl tj
	: >"$tmp/t.ir"; : >"$tmp/t.lua"; : >"$tmp/t.jit"; : >"$tmp/r.lua"; : >"$tmp/r.jit"
	for ((i = 0; i < n; i++)); do
		tj=
		if ((i % 2 == 0)); then
			ti=$(time_ms "${ir[@]}")
			tl=$(time_ms "${lua[@]}")
			! $with_jit || tj=$(time_ms "${lj[@]}")
		else
			! $with_jit || tj=$(time_ms "${lj[@]}")
			tl=$(time_ms "${lua[@]}")
			ti=$(time_ms "${ir[@]}")
		fi
		echo "$ti" >>"$tmp/t.ir"
		echo "$tl" >>"$tmp/t.lua"
		ratio "$ti" "$tl" >>"$tmp/r.lua"
		if $with_jit; then
			echo "$tj" >>"$tmp/t.jit"
			ratio "$ti" "$tj" >>"$tmp/r.jit"
		fi
	done
	local mi ml mj=- rl rj=-
	mi=$(median <"$tmp/t.ir")
	ml=$(median <"$tmp/t.lua")
	rl=$(median <"$tmp/r.lua")
	if $with_jit; then
		mj=$(printf '%.1f' "$(median <"$tmp/t.jit")")
		rj=$(printf '%.3f' "$(median <"$tmp/r.jit")")
	fi
	row=$(printf '| %-10s | %10.1f | %9.1f | %9s | %10.3f | %15s |' "$name" "$mi" "$ml" "$mj" "$rl" "$rj")
	row_lua=$rl
	row_jit=$rj
	echo "$name done" >&2
}

# The build's profile (cmd/iridium/default.pgo) is made for one dispatch
# loop; bench/pgo.sh makes it again. (A binary given in IRIDIUM is the
# caller's affair.)
if [[ -z ${IRIDIUM:-} && "$(sha256sum "$root/vm/exec_gen.go" | cut -d' ' -f1)" != "$(cat "$root/cmd/iridium/default.pgo.loop" 2>/dev/null)" ]]; then
	echo "warning: cmd/iridium/default.pgo was made for another vm/exec_gen.go: run bench/pgo.sh" >&2
fi

declare -A jit_runs
for w in "${names[@]}"; do
	check "$w"
	jit_runs[$w]=$runs_jit
	# vm's benchmarks build count, arith and fib by hand; TestBenchPrograms
	# compares them with these bytecode files, which must match the .iasm.
	if [[ -f "$root/vm/testdata/bench/$w.ibc" ]]; then
		"$IR" -o "$tmp/$w.ibc" "$here/$w.iasm"
		cmp -s "$tmp/$w.ibc" "$root/vm/testdata/bench/$w.ibc" ||
			echo "warning: vm/testdata/bench/$w.ibc is stale: iridium -o vm/testdata/bench/$w.ibc bench/$w.iasm" >&2
	fi
done
((RUNS > 0)) || exit 0

rows=()
: >"$tmp/all.lua"; : >"$tmp/all.jit"
over=()
for w in "${names[@]}"; do
	pairs "$w" "$RUNS" "${jit_runs[$w]}" "$IR" "$here/$w.iasm" -- lua5.4 "$here/$w.lua" -- "${jit:-luajit}" -joff "$here/$w.lua"
	rows+=("$row")
	echo "$row_lua" >>"$tmp/all.lua"
	[[ $row_jit == - ]] || echo "$row_jit" >>"$tmp/all.jit"
	at_most "$row_lua" "$max_ratio" || over+=("$w")
done
with_jit=false
[[ -z $jit ]] || with_jit=true
pairs start-up $((3 * RUNS)) "$with_jit" "$IR" "$tmp/empty.iasm" -- lua5.4 -e '' -- "${jit:-luajit}" -joff -e ''
startup=$row

mean_lua=$(geomean <"$tmp/all.lua")
mean_jit=$(geomean <"$tmp/all.jit")

echo
echo "RUNS=$RUNS pairs per workload ($((3 * RUNS)) for start-up); whole-process wall time in ms and"
echo "ratios Iridium/other engine, medians; $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"
echo
echo "| workload   | iridium ms | lua5.4 ms | luajit ms | Ir/Lua 5.4 | Ir/LuaJIT -joff |"
echo "|------------|-----------:|----------:|----------:|-----------:|----------------:|"
printf '%s\n' "${rows[@]}"
printf '| %-10s | %10s | %9s | %9s | %10s | %15s |\n' "geo. mean" "" "" "" "$mean_lua" "$mean_jit"
echo "$startup"
echo
echo "start-up is an empty program (lua5.4 -e '', luajit -joff -e ''), outside the mean."
n_jit=$(wc -l <"$tmp/all.jit")
if [[ -n $jit ]] && ((n_jit < ${#names[@]})); then
	echo "LuaJIT's mean is over the $n_jit workloads whose twin it runs."
fi
echo
fail=0
if ((${#over[@]} > 0)); then
	echo "FAIL: above $max_ratio of Lua 5.4: ${over[*]}"
	fail=1
else
	echo "every workload <= $max_ratio of Lua 5.4: pass"
fi
if at_most "$mean_lua" "$max_mean"; then
	echo "geometric mean $mean_lua <= $max_mean: pass"
else
	echo "FAIL: geometric mean $mean_lua > $max_mean"
	fail=1
fi
exit $fail
