#!/usr/bin/env bash
# dist.sh: Iridium's processes across two nodes against Erlang/OTP's
# distribution, side by side in one run (README "Distributed programs in
# five minutes").
#
#   remote round trip   a process and an echo process on the other node pass
#                       a counter back and forth
#   remote spawn + exit spawn a process on the other node that ends at once,
#                       receive its exit notice (Erlang: spawn_monitor/4 and
#                       the 'DOWN')
#   one-way messages    one process sends to a counting process on the other
#                       node, which acknowledges every 10,000; at most two
#                       batches unacknowledged
#
# Iridium's figures come from the Go benchmarks of package dist (two members,
# each a cluster manager and a process runtime of one worker, in one
# process, over TLS on loopback); Erlang's from bench/dist.escript on one
# node against a second `erl -sname` node on loopback (plain TCP: Erlang's
# distribution is not encrypted by default). Each is run RUNS times
# (default 3); the median is printed. Installs erlang-base if erl is
# missing.
#
# Usage: bench/dist.sh        RUNS=5 bench/dist.sh
set -euo pipefail
RUNS=${RUNS:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
peer=""
epmd_was_running=0
pgrep -x epmd >/dev/null && epmd_was_running=1
cleanup() {
	[ -n "$peer" ] && kill "$peer" 2>/dev/null && wait "$peer" 2>/dev/null
	# epmd is Erlang's name server, started by the first node: stop it only
	# if this script started it.
	[ "$epmd_was_running" = 1 ] || epmd -kill >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v erl >/dev/null 2>&1; then
	echo "installing erlang-base ..." >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq erlang-base >/dev/null
fi

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "building the benchmarks ..." >&2
(cd "$root" && go test -c -o "$tmp/dist.test" ./dist/)

node=iridium_bench_b
(cd "$tmp" && exec erl -sname "$node" -setcookie iridium_bench -noshell -noinput) &
peer=$!
host=$(erl -noshell -sname "probe$$" -eval 'io:format("~s", [lists:nth(2, string:split(atom_to_list(node()), "@"))]), halt().')
# wait (up to a minute: a busy machine starts Erlang slowly) until the
# peer node answers
up=0
for _ in $(seq 120); do
	if escript "$here/dist.escript" "$node@$host" roundtrip 1 >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.5
done
if [ "$up" = 0 ]; then
	echo "the Erlang node $node@$host did not answer within a minute" >&2
	exit 1
fi

# gobench NAME METRIC N: the value of METRIC in BenchmarkNAME run N times.
gobench() {
	"$tmp/dist.test" -test.run='^$' -test.bench="^Benchmark$1\$" -test.benchtime="$3x" |
		awk -v m="$2" '/^Benchmark/ { for (i = 2; i < NF; i++) if ($(i+1) == m) print $i }'
}
erlang() { escript "$here/dist.escript" "$node@$host" "$1" "$2" | awk -v k="$1" '$1 == k { print $2 }'; }

ir_rt=() er_rt=() ir_sp=() er_sp=() ir_ow=() er_ow=()
for _ in $(seq "$RUNS"); do
	ir_rt+=("$(gobench RemoteRoundTrip ns/op 50000)")
	er_rt+=("$(erlang roundtrip 50000)")
	ir_sp+=("$(gobench RemoteSpawnExit ns/op 30000)")
	er_sp+=("$(erlang spawn 30000)")
	ir_ow+=("$(gobench RemoteSendThroughput msgs/s 2000000)")
	er_ow+=("$(erlang oneway 2000000)")
done
row() { # name unit iridium-values erlang-values
	local i e
	i=$(printf '%s\n' $3 | median)
	e=$(printf '%s\n' $4 | median)
	printf '%-34s %12s %12s %8s\n' "$1 ($2)" "$i" "$e" "$(awk -v i="$i" -v e="$e" 'BEGIN { printf "%.2f", i / e }')"
}
printf '%-34s %12s %12s %8s\n' "measure (median of $RUNS)" iridium erlang ratio
row "remote round trip" ns "${ir_rt[*]}" "${er_rt[*]}"
row "remote spawn + exit notice" ns "${ir_sp[*]}" "${er_sp[*]}"
row "one-way messages" msgs/s "${ir_ow[*]}" "${er_ow[*]}"
