#!/usr/bin/env bash
# Cluster formation with real processes on loopback.
#
#   bench/cluster.sh [N]     # default 30
#
# 1. converge: N `iridium --daemon-mode` processes started at once, all
#    joining the first; the time from the first start until every node has
#    printed a member list of N.
# 2. join: with N-1 nodes converged, one more node joins the first; the time
#    from its start until it and every other node list N members.
# 3. rss: an idle node's resident memory once the cluster has formed.
# Each is run RUNS times (default 5); the median is printed.
# Environment: BASE_PORT (default 24000), RUNS, IRIDIUM (a built binary).
set -euo pipefail
n=${1:-30}
runs=${RUNS:-5}
base=${BASE_PORT:-24000}
work=$(mktemp -d "${TMPDIR:-/tmp}/iridium-bench.XXXXXX")
. "$(dirname "$0")/../scripts/lib.sh"
bin=$(iridium_binary "$work")

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT INT TERM

now() { date -u +%s.%N; }

start_node() { # index, join-target-or-empty
  local i=$1 args=(--daemon-mode -P $((base + $1)) --node-alias "n$1" --cookie bench --data-root-dir "$work/d$1")
  [ -n "$2" ] && args+=(--join "$2")
  "$bin" "${args[@]}" >"$work/n$i.log" 2>&1 &
  pids+=($!)
}

# when_full LOG COUNT: the time the node first listed COUNT members
# (waits up to 30 s for it).
when_full() {
  local deadline=$((SECONDS + 30)) line
  until line=$(grep -m1 " members $2\$" "$1"); do
    [ $SECONDS -lt $deadline ] || { echo "timeout waiting for $1" >&2; cat "$1" >&2; exit 1; }
    sleep 0.01
  done
  date -u -d "${line%% *}" +%s.%N
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

converge=() join=() rss=()
for run in $(seq 1 "$runs"); do
  rm -rf "$work"/d* "$work"/*.log
  t0=$(now)
  for i in $(seq 1 "$n"); do
    if [ "$i" -eq 1 ]; then start_node 1 ""; else start_node "$i" "127.0.0.1:$((base + 1))"; fi
  done
  last=0
  for i in $(seq 1 "$n"); do
    t=$(when_full "$work/n$i.log" "$n"); last=$(echo "$t $last" | awk '{print ($1>$2)?$1:$2}')
  done
  converge+=("$(echo "$last $t0" | awk '{printf "%.1f", ($1-$2)*1000}')")
  rss+=("$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/${pids[0]}/status")")
  stop_all

  # A running cluster of n-1, then one more.
  rm -rf "$work"/d* "$work"/*.log
  for i in $(seq 1 $((n - 1))); do
    if [ "$i" -eq 1 ]; then start_node 1 ""; else start_node "$i" "127.0.0.1:$((base + 1))"; fi
  done
  for i in $(seq 1 $((n - 1))); do when_full "$work/n$i.log" $((n - 1)) >/dev/null; done
  t1=$(now)
  start_node "$n" "127.0.0.1:$((base + 1))"
  last=0
  for i in $(seq 1 "$n"); do
    t=$(when_full "$work/n$i.log" "$n"); last=$(echo "$t $last" | awk '{print ($1>$2)?$1:$2}')
  done
  join+=("$(echo "$last $t1" | awk '{printf "%.1f", ($1-$2)*1000}')")
  stop_all
  echo "run $run: converge ${converge[-1]} ms, join ${join[-1]} ms, idle RSS ${rss[-1]} MB" >&2
done

printf '%-34s %s\n' "measure (N=$n, median of $runs)" "value"
printf '%-34s %s ms\n' "converge: $n processes at once" "$(printf '%s\n' "${converge[@]}" | median)"
printf '%-34s %s ms\n' "join: 1 node to a cluster of $((n - 1))" "$(printf '%s\n' "${join[@]}" | median)"
printf '%-34s %s MB\n' "idle node RSS" "$(printf '%s\n' "${rss[@]}" | median)"
