#!/usr/bin/env bash
# Start N Iridium nodes in daemon mode on this machine, all joining the
# first, print every node's member list once they have met, and stop them
# all (by PID) on Ctrl-C, on "stop", or at the end of standard input.
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
  echo "stopping ${#pids[@]} nodes"
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

# Wait (bounded) until every node lists all n members.
deadline=$((SECONDS + timeout))
for i in $(seq 1 "$n"); do
  until grep -q "members $n\$" "$work/node$i.log" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[$((i-1))]}" 2>/dev/null; then
      echo "node$i did not see all $n members within ${timeout}s; the logs:" >&2
      for j in $(seq 1 "$n"); do echo "== node$j" >&2; cat "$work/node$j.log" >&2; done
      exit 1
    fi
    sleep 0.05
  done
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
