#!/usr/bin/env bash
# procs.sh: Iridium's processes against Erlang/OTP's on one node, side by
# side in one run (README "Processes").
#
#   round trip      two processes pass a counter back and forth
#   spawn + exit    spawn a process that ends at once, receive its exit
#                   notice (Erlang: spawn_monitor and the 'DOWN')
#   waiting         memory per process waiting in receive, 100,000 of them
#                   (Erlang: erlang:memory(processes); Iridium: Go heap),
#                   and the whole OS process's RSS
#
# Iridium's figures come from the Go benchmarks of package proc (in one
# process, no start-up), Erlang's from bench/procs.escript, timed inside
# the VM the same way. Each is run RUNS times (default 3); the median is
# printed. Installs erlang-base if escript is missing.
#
# Usage: bench/procs.sh        RUNS=5 bench/procs.sh
set -euo pipefail
RUNS=${RUNS:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v escript >/dev/null 2>&1; then
	echo "installing erlang-base ..." >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq erlang-base >/dev/null
fi

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "building the benchmarks ..." >&2
(cd "$root" && go test -c -o "$tmp/proc.test" ./proc/)

# gobench NAME METRIC N: the value of METRIC in BenchmarkNAME run N times.
gobench() {
	"$tmp/proc.test" -test.run='^$' -test.bench="^Benchmark$1\$" -test.benchtime="$3x" |
		awk -v m="$2" '/^Benchmark/ { for (i = 2; i < NF; i++) if ($(i+1) == m) print $i }'
}
erlang() { escript "$here/procs.escript" "$1" "$2" | awk -v k="$1" '$1 == k { print $2 }'; }

ir_rt=() er_rt=() ir_sp=() er_sp=() ir_w=() er_w=() ir_rss=() er_rss=()
for _ in $(seq "$RUNS"); do
	ir_rt+=("$(gobench RoundTrip ns/op 1000000)")
	er_rt+=("$(erlang roundtrip 1000000)")
	ir_sp+=("$(gobench SpawnExit ns/op 300000)")
	er_sp+=("$(erlang spawn 300000)")
	ir_w+=("$(gobench WaitingProcessMemory heap-bytes/process 100000)")
	ir_rss+=("$(gobench WaitingProcessMemory RSS-MB 100000)")
	er_w+=("$(erlang waiting 100000)")
	er_rss+=("$(escript "$here/procs.escript" waiting 100000 | awk '$1 == "rss" { printf "%.1f", $3 / 1024 }')")
done
row() { # name unit iridium-values erlang-values
	local i e
	i=$(printf '%s\n' $3 | median)
	e=$(printf '%s\n' $4 | median)
	printf '%-34s %12s %12s %8s\n' "$1 ($2)" "$i" "$e" "$(awk -v i="$i" -v e="$e" 'BEGIN { printf "%.2f", i / e }')"
}
printf '%-34s %12s %12s %8s\n' "measure (median of $RUNS)" iridium erlang ratio
row "local round trip" ns "${ir_rt[*]}" "${er_rt[*]}"
row "spawn + exit notice" ns "${ir_sp[*]}" "${er_sp[*]}"
row "waiting process" bytes "${ir_w[*]}" "${er_w[*]}"
row "100,000 waiting: process RSS" MB "${ir_rss[*]}" "${er_rss[*]}"
