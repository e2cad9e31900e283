#!/usr/bin/env bash
# Start N Iridium nodes in daemon mode on this machine, all joining the
# first, print every node's member list once they have met, and stop them
# all (by PID) on Ctrl-C, on "stop", or at the end of standard input. A
# node that exits before the cluster has formed is reported with its log,
# and the others are stopped.
#
#   scripts/local_cluster.sh [N]          # default 3
#
# Environment: BASE_PORT (default 2254; node i listens on BASE_PORT+i-1),
# IRIDIUM (a built binary; default: build one), TIMEOUT (seconds to wait
# for the full mesh, default 20).
set -euo pipefail
n=${1:-3}
base=${BASE_PORT:-2254}
timeout=${TIMEOUT:-20}
case $n in ''|*[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "N must be at least 1" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/iridium-cluster.XXXXXX")
. "$(dirname "$0")/lib.sh"
bin=$(iridium_binary "$work")
cookie=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

pids=()
stop() {
  trap - INT TERM EXIT
  local nodes=nodes
  [ "${#pids[@]}" -eq 1 ] && nodes=node
  echo "stopping ${#pids[@]} $nodes"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop INT TERM EXIT

for i in $(seq 1 "$n"); do
  port=$((base + i - 1))
  args=(--daemon-mode -P "$port" --node-alias "node$i" --cookie "$cookie" --data-root-dir "$work/node$i")
  [ "$i" -gt 1 ] && args+=(--join "127.0.0.1:$base")
  "$bin" "${args[@]}" >"$work/node$i.log" 2>&1 &
  pids+=($!)
done

# show_log I prints node I's log, indented, to stderr.
show_log() { sed 's/^/  /' "$work/node$1.log" >&2; }

# exited I succeeds, after saying so with node I's exit status and log, if
# node I is no longer running.
exited() {
  local pid=${pids[$(($1 - 1))]} status=0
  kill -0 "$pid" 2>/dev/null && return 1
  wait "$pid" || status=$?
  echo "node$1 (pid $pid, port $((base + $1 - 1))) exited with status $status; its log:" >&2
  show_log "$1"
}

# Wait (bounded) until every node lists all n members, or one has exited.
deadline=$((SECONDS + timeout))
while :; do
  met=0
  for i in $(seq 1 "$n"); do
    exited "$i" && exit 1
    grep -q "members $n\$" "$work/node$i.log" && met=$((met + 1))
  done
  [ "$met" -eq "$n" ] && break
  if [ $SECONDS -ge $deadline ]; then
    echo "the nodes did not all see $n members within ${timeout}s; their logs:" >&2
    for i in $(seq 1 "$n"); do echo "== node$i" >&2; show_log "$i"; done
    exit 1
  fi
  sleep 0.05
done

for i in $(seq 1 "$n"); do
  echo "== node$i (pid ${pids[$((i-1))]}, port $((base + i - 1)))"
  # The last member list the node printed.
  awk '/ members [0-9]+$/ {block=""; next} /^  / {block=block $0 "\n"} END {printf "%s", block}' "$work/node$i.log"
done

echo "cluster of $n up; type 'stop' or press Ctrl-C to stop it"
while read -r line; do
  [ "$line" = stop ] && break
done
