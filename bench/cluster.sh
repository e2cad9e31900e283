#!/usr/bin/env bash
# Cluster formation with real processes on loopback.
#
#   bench/cluster.sh [N]     # default 30
#
# Each measure is taken twice: from the moment the processes are launched
# (process start-up included: starting 30 Go processes at once takes about
# half a second on a 2-core machine), and for the protocol alone.
#
# 1. converge: N `iridium --daemon-mode` nodes, N-1 of them joining the
#    first. From launch: the time from starting the first process until every
#    node has printed a member list of N. Protocol: the first node is stopped
#    (SIGSTOP) while the others start and dial it, so that their handshakes
#    are all waiting on it; the time from resuming it (SIGCONT) until every
#    node lists N, i.e. N-1 nodes joining the first at the same moment.
# 2. join: with N-1 nodes converged, one more joins the first. From launch:
#    from starting its process; protocol: from the "joining" line the node
#    prints just before it dials; both until it and every other node list N.
# 3. idle: SETTLE seconds (default 1) after the cluster formed, the median
#    resident memory of its nodes, and the CPU the whole idle cluster uses
#    (heartbeats, gossip) over IDLE seconds (default 2), in percent of one
#    core.
# Each is run RUNS times (default 5); the median is printed.
# Environment: BASE_PORT (default 24000), RUNS, IRIDIUM (a built binary),
# IDLE, SETTLE, TIMEOUT (seconds any one wait may take: default 30, or
# 0.3 s per node above 100 nodes). A run that fails keeps the nodes' logs
# (n1.log ...) and says where.
set -euo pipefail
shopt -s inherit_errexit # a wait that times out in $(...) stops the script (see last=)
n=${1:-30}
runs=${RUNS:-5}
base=${BASE_PORT:-24000}
idle=${IDLE:-2}
settle=${SETTLE:-1}
timeout=${TIMEOUT:-$((n > 100 ? n * 3 / 10 : 30))}
# Every node holds a connection to every other: N descriptors and a few.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((n + 64)) ]; then
  echo "ulimit -n is $(ulimit -n): $n nodes need about $((n + 64)) descriptors each" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/iridium-bench.XXXXXX")
. "$(dirname "$0")/../scripts/lib.sh"
follow=$(cd "$(dirname "$0")" && pwd)/follow.awk # all_full's reader of the logs
# mawk reads a pipe in blocks and would wait for one to fill; its
# interactive mode reads lines as they come.
interactive=()
awk -W version </dev/null 2>/dev/null | grep -q mawk && interactive=(-W interactive)
bin=$(iridium_binary "$work")

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
# A run that fails keeps the nodes' logs: a formation that stalls may not
# stall again when tried by hand.
on_exit() {
  local rc=$?
  stop_all
  if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "logs of the nodes kept in $work" >&2; fi
}
trap on_exit EXIT
trap 'exit 1' INT TERM

# bash's own clock: running `date` would add a process start to the interval.
now() { echo "$EPOCHREALTIME"; }

start_node() { # index, join-target-or-empty
  local i=$1 args=(--daemon-mode -P $((base + $1)) --node-alias "n$1" --cookie bench --data-root-dir "$work/d$1")
  [ -n "$2" ] && args+=(--join "$2")
  : >"$work/n$i.log" # there before all_full opens it
  "$bin" "${args[@]}" >>"$work/n$i.log" 2>&1 &
  pids+=($!)
}

# member_counts: how many members each node lists last, as (count, nodes),
# for a wait that timed out.
member_counts() {
  echo "nodes by the member count they list last (count, nodes):" >&2
  for f in "$work"/n*.log; do
    grep -o ' members [0-9]*$' "$f" | tail -n 1 | awk '{ print $2 }'
  done | sort -n | uniq -c | awk '{ printf "  %s: %s\n", $2, $1 }' >&2
}

# wait_for DESC LOG CMD...: runs CMD every 5 ms until it succeeds. After
# $timeout s it says what it waited for (DESC), shows the end of LOG
# (unless -) and how many members each node lists last, and exits (which
# stops the script from inside a command substitution too).
wait_for() {
  local desc=$1 log=$2 deadline=$((SECONDS + timeout))
  shift 2
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timeout after ${timeout}s waiting for $desc" >&2
      [ "$log" = - ] || tail -n 20 "$log" >&2
      member_counts
      exit 1
    fi
    sleep 0.005
  done
}

# when LOG PATTERN: the time (seconds since the epoch) of the first line of
# LOG matching PATTERN, which starts with the node's timestamp.
when() {
  wait_for "'$2' in $1" "$1" grep -q -- "$2" "$1"
  local line
  line=$(grep -m1 -- "$2" "$1")
  date -u -d "${line%% *}" +%s.%N
}

# all_full COUNT FROM TO: the time (seconds since the epoch) by which each
# of nodes FROM..TO had listed COUNT members at least once. One tail and
# one awk follow all the logs, reading each byte once: a node's log holds
# its whole member list at every change (tens of megabytes in all while
# 200 nodes form), and polling every log with grep, or reading it in
# bash, took more CPU than the nodes it watched (follow.awk says how).
all_full() {
  local count=$1 logs=() i tailfd tailpid last
  for i in $(seq "$2" "$3"); do logs+=("n$i.log"); done
  exec {tailfd}< <(cd "$work" && exec tail -n +1 -F "${logs[@]}" 2>/dev/null)
  tailpid=$!
  last=$(timeout "$timeout" awk "${interactive[@]}" -v want="${#logs[@]}" -v suffix=" members $count" \
    -f "$follow" <&"$tailfd") || true
  kill "$tailpid" 2>/dev/null || true
  exec {tailfd}<&-
  if [ -z "$last" ]; then
    echo "timeout after ${timeout}s: not every node of n$2..n$3 listed $count" >&2
    member_counts
    exit 1
  fi
  date -u -d "$last" +%s.%N
}

# queued PORT COUNT: whether COUNT connections to the listener on PORT wait
# to be accepted (the Recv-Q of a listening socket, as `ss` shows it).
queued() {
  local q
  q=$(ss -Hltn "sport = :$1" | awk '{ print $2; exit }')
  [ "${q:-0}" -ge "$2" ]
}

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a - b) * 1000 }'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
fresh() { rm -rf "$work"/d* "$work"/*.log; }
seed="127.0.0.1:$((base + 1))"

# cpu_ticks: user + system CPU ticks used so far by the running nodes, read
# by one awk: one process per node would take seconds at 200 nodes on a busy
# machine, and the window measured would be longer than the one divided by.
cpu_ticks() {
  local p stats=()
  for p in "${pids[@]}"; do stats+=("/proc/$p/stat"); done
  awk '{ sum += $14 + $15 } END { print sum }' "${stats[@]}"
}

converge_launch=() converge_proto=() join_launch=() join_proto=() rss=() idle_cpu=()
for run in $(seq 1 "$runs"); do
  # converge, from launch
  fresh
  t0=$(now)
  start_node 1 ""
  for i in $(seq 2 "$n"); do start_node "$i" "$seed"; done
  last=$(all_full "$n" 1 "$n") # an assignment, so that a timeout stops the script
  converge_launch+=("$(ms "$last" "$t0")")
  sleep "$settle" # idle: let the formation settle
  rss+=("$(for p in "${pids[@]}"; do awk '/VmRSS/ {printf "%.1f\n", $2/1024}' "/proc/$p/status"; done | median)")
  w0=$(now) c0=$(cpu_ticks)
  sleep "$idle"
  c1=$(cpu_ticks) w1=$(now)
  idle_cpu+=("$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v w="$(ms "$w1" "$w0")" 'BEGIN { printf "%.0f", c / hz * 100000 / w }')")
  stop_all

  # converge, protocol: every joiner waits on the stopped first node.
  fresh
  start_node 1 ""
  wait_for "n1 to listen" "$work/n1.log" grep -q "listening on" "$work/n1.log"
  kill -STOP "${pids[0]}"
  for i in $(seq 2 "$n"); do start_node "$i" "$seed"; done
  wait_for "$((n - 1)) connections waiting on n1" - queued $((base + 1)) $((n - 1))
  t0=$(now)
  kill -CONT "${pids[0]}"
  last=$(all_full "$n" 1 "$n")
  converge_proto+=("$(ms "$last" "$t0")")

  # join: the n-1 nodes just formed are stopped; form n-1 again with no
  # stopped node in its history, then add one more.
  stop_all
  fresh
  start_node 1 ""
  for i in $(seq 2 $((n - 1))); do start_node "$i" "$seed"; done
  all_full $((n - 1)) 1 $((n - 1)) >/dev/null
  sleep 1 # a running cluster: the join is timed once formation has settled
  t1=$(now)
  start_node "$n" "$seed"
  last=$(all_full "$n" 1 "$n")
  join_launch+=("$(ms "$last" "$t1")")
  joining=$(when "$work/n$n.log" " joining ")
  join_proto+=("$(ms "$last" "$joining")")
  stop_all
  echo "run $run: converge ${converge_launch[-1]} ms from launch, ${converge_proto[-1]} ms protocol;" \
    "join ${join_launch[-1]} ms from launch, ${join_proto[-1]} ms protocol;" \
    "idle RSS ${rss[-1]} MB, idle cluster ${idle_cpu[-1]} % of a core" >&2
done

printf '%-48s %s\n' "measure (N=$n, median of $runs)" "value"
printf '%-48s %s ms\n' "converge: $n nodes, from launch" "$(printf '%s\n' "${converge_launch[@]}" | median)"
printf '%-48s %s ms\n' "converge: $((n - 1)) joining at once, protocol" "$(printf '%s\n' "${converge_proto[@]}" | median)"
printf '%-48s %s ms\n' "join: 1 node to $((n - 1)), from launch" "$(printf '%s\n' "${join_launch[@]}" | median)"
printf '%-48s %s ms\n' "join: 1 node to $((n - 1)), protocol" "$(printf '%s\n' "${join_proto[@]}" | median)"
printf '%-48s %s MB\n' "idle node RSS" "$(printf '%s\n' "${rss[@]}" | median)"
printf '%-48s %s %% of one core\n' "idle cluster of $n, CPU" "$(printf '%s\n' "${idle_cpu[@]}" | median)"
