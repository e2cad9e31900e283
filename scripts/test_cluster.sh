#!/usr/bin/env bash
# A three-node cluster in tmux: a server on port 2254 and two nodes (2255,
# 2256) that join it, each a REPL in its own pane. At a terminal the script
# attaches to the session; detaching (Ctrl-B d) stops the cluster. Without
# a terminal it prints what each pane shows, then stops the cluster.
#
# The session lives on a tmux server of its own (tmux -L), so the script
# works inside tmux as well as outside and never touches another tmux
# session. However the script ends, it stops the nodes and that server by
# PID.
#
# Environment: BASE_PORT (default 2254), IRIDIUM (a built binary; default:
# build one), SESSION (tmux session name, default iridium).
set -euo pipefail
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 1; }
base=${BASE_PORT:-2254}
session=${SESSION:-iridium}

# Inside tmux, TMUX names the tmux the script runs in. Without it, tmux
# neither refuses to attach ("sessions should be nested with care") nor
# talks to that server.
nested=${TMUX:+yes}
unset TMUX
socket=iridium-cluster-$$ # names this script's own tmux server (tmux -L)
tm() { tmux -L "$socket" "$@"; }

nodes=()       # the nodes' PIDs
tmux_server=() # the tmux server's PID, once it runs
# alive PID... succeeds while any of the PIDs runs.
alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}
# halt PID... stops the processes, which are not this script's children:
# SIGTERM, up to 10 s to exit, then SIGKILL.
halt() {
  local pid _
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 200); do alive "$@" || return 0; sleep 0.05; done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}
stop() {
  trap - EXIT INT TERM HUP
  # The nodes first, so that they leave the cluster gracefully: the tmux
  # server would end them with SIGHUP.
  halt "${nodes[@]}"
  halt "${tmux_server[@]}"
  rm -rf "$work"
}
work=$(mktemp -d "${TMPDIR:-/tmp}/iridium-tmux.XXXXXX")
trap stop EXIT INT TERM HUP
. "$(dirname "$0")/lib.sh"
bin=$(iridium_binary "$work")
cookie=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

panes=() # tmux pane ids: the server's, node1's, node2's
# start ALIAS PORT TMUX-ARGS... runs a node in a new pane, which the tmux
# command TMUX-ARGS makes. The pane's command execs the node, so that the
# pane's process is the node itself.
start() {
  local out id pid
  out=$(tm "${@:3}" -P -F '#{pane_id} #{pane_pid}' \
    "exec $bin -P $2 --node-alias $1 --cookie $cookie --data-root-dir $work/$1")
  read -r id pid <<<"$out"
  panes+=("$id")
  nodes+=("$pid")
}
start server "$base" new-session -d -s "$session" -x 200 -y 50
tmux_server+=("$(tm display-message -p -t "$session" '#{pid}')")
start node1 $((base + 1)) split-window -t "$session" -v
start node2 $((base + 2)) split-window -t "$session" -v
tm select-layout -t "$session" even-vertical

# shows PANE TEXT: wait (up to 10 s) until pane number PANE shows TEXT.
shows() {
  for _ in $(seq 1 200); do
    tm capture-pane -p -t "${panes[$1]}" | grep -qF -- "$2" && return 0
    sleep 0.05
  done
  echo "pane $1 does not show '$2'" >&2; return 1
}
shows 0 '>>>'
tm send-keys -t "${panes[0]}" '!start_cluster' Enter
shows 0 'cluster listening on'
for pane in 1 2; do
  shows $pane '>>>'
  tm send-keys -t "${panes[$pane]}" "!join_cluster 127.0.0.1 $base" Enter
  shows $pane 'joined the cluster'
done
for pane in 0 1 2; do
  tm send-keys -t "${panes[$pane]}" '!cluster_members' Enter
  shows $pane "node2 127.0.0.1:$((base + 2))"
done

if [ -t 0 ] && [ -t 1 ]; then
  if [ -n "$nested" ]; then
    echo "attaching inside tmux: detach with Ctrl-B Ctrl-B d to stop the cluster"
  else
    echo "attaching: detach with Ctrl-B d to stop the cluster"
  fi
  tm attach -t "$session" || true
  exit 0
fi
# Not at a terminal: show what each pane says.
for pane in 0 1 2; do
  echo "== pane $pane"
  tm capture-pane -p -t "${panes[$pane]}" | sed '/^$/d'
done
