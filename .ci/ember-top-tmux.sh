#!/usr/bin/env bash
# Drives ember-top in a real terminal (tmux) against the demo node: the
# process table shows the demo's processes, and after a Tab the supervision
# tree shows crash_loop under its supervisor. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux > /dev/null; then
    apt-get update -qq && apt-get install -y -qq tmux > /dev/null
fi
cargo build --quiet -p ember-observer --bin ember-top --example observed

work=$(mktemp -d)
session="ember-top-ci-$$"
target/debug/examples/observed "unix:$work/node.sock" --for 120 > "$work/demo.out" 2> /dev/null &
demo=$!
cleanup() {
    tmux kill-session -t "$session" 2> /dev/null || true
    kill "$demo" 2> /dev/null || true
    wait "$demo" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Waits (at most 30 s) until the command succeeds.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 1 300); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    echo "ember-top under tmux: timed out waiting for $what" >&2
    tmux capture-pane -p -t "$session" >&2 2> /dev/null || true
    return 1
}

pane() { tmux capture-pane -p -t "$session"; }
pane_has() { pane | grep -q -- "$1"; }
pane_has_all() { for word in "$@"; do pane_has "$word" || return 1; done; }

wait_for "the demo to listen" grep -q "observer on" "$work/demo.out"
tmux new-session -d -s "$session" -x 120 -y 40 "target/debug/ember-top --interval 0.2 unix:$work/node.sock"
wait_for "the process table" pane_has_all "processes, by reductions" MAILBOX parked growing crash_loop
tmux send-keys -t "$session" Tab
wait_for "the supervision tree" pane_has_all "supervision tree" "SupervisorServer (observed)"
# crash_loop sits two levels down: under crash_sup, under the root supervisor.
wait_for "crash_loop nested in the tree" bash -c "tmux capture-pane -p -t '$session' | grep -q '^│        *<0\.[0-9.]*> crash_loop'"
tmux send-keys -t "$session" q
wait_for "ember-top to quit" bash -c "! tmux has-session -t '$session' 2> /dev/null"
echo "ember-top under tmux: table and tree shown"
