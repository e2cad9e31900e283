#!/usr/bin/env bash
# A three-node cluster in tmux, as the reference's script had it: a server
# on port 2254 and two nodes (2255, 2256) that join it, each a REPL in its
# own pane. Attach to watch and type; detach with Ctrl-B d; stop it with
#   tmux kill-session -t iridium
#
# Environment: BASE_PORT (default 2254), IRIDIUM (a built binary; default:
# build one), SESSION (tmux session name, default iridium).
set -euo pipefail
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 1; }
base=${BASE_PORT:-2254}
session=${SESSION:-iridium}
work=$(mktemp -d "${TMPDIR:-/tmp}/iridium-tmux.XXXXXX")
. "$(dirname "$0")/lib.sh"
bin=$(iridium_binary "$work")
cookie=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

node() { # alias port
  echo "$bin -P $2 --node-alias $1 --cookie $cookie --data-root-dir $work/$1"
}

tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -x 200 -y 50 "$(node server "$base")"
tmux split-window -t "$session" -v "$(node node1 $((base + 1)))"
tmux split-window -t "$session" -v "$(node node2 $((base + 2)))"
tmux select-layout -t "$session" even-vertical

# shows PANE TEXT: wait (up to 10 s) until the pane shows TEXT.
shows() {
  for _ in $(seq 1 200); do
    tmux capture-pane -p -t "$session.$1" | grep -qF -- "$2" && return 0
    sleep 0.05
  done
  echo "pane $1 does not show '$2'" >&2; return 1
}
shows 0 '>>>'
tmux send-keys -t "$session.0" '!start_cluster' Enter
shows 0 'cluster listening on'
for pane in 1 2; do
  shows $pane '>>>'
  tmux send-keys -t "$session.$pane" "!join_cluster 127.0.0.1 $base" Enter
  shows $pane 'joined the cluster'
done
for pane in 0 1 2; do
  tmux send-keys -t "$session.$pane" '!cluster_members' Enter
  shows $pane "node2 127.0.0.1:$((base + 2))"
done

if [ -t 0 ] && [ -t 1 ]; then
  exec tmux attach -t "$session"
fi
# Not at a terminal: show what each pane says, then stop the session.
for pane in 0 1 2; do
  echo "== pane $pane"
  tmux capture-pane -p -t "$session.$pane" | sed '/^$/d'
done
tmux kill-session -t "$session"
rm -rf "$work"
