#!/usr/bin/env bash
# The network benchmarks: Ember, Go (net), tokio and Erlang (gen_tcp)
# servers, each driven by the same load generator (loadgen/, one thread,
# one epoll loop) on loopback.
#
#   benches/peers/net/run-net.sh [--runs N] [--quick] [--only IMPL,...] [workload...]
#
# Workloads (RESULT ids):
#   net_echo_1        line echo, 1 connection, closed loop       roundtrips/s
#   net_echo_100      the same, 100 connections                  roundtrips/s
#   net_echo_10k      the same, 10,000 connections               roundtrips/s
#   net_accept        connect, echo one line, close (4 clients)  conns/s
#   net_idle_10k_mem  10,000 idle connections (one echo each):
#                     server VmRSS delta / N                     bytes/conn
#   net_idle_10k_mem_hibernated
#                     the same with a handler that waits in active
#                     mode, hibernated (Ember, Erlang only)      bytes/conn
#   http_hello        keep-alive GET / on 100 connections        requests/s
#
# Every (workload, implementation, run) starts a fresh server process;
# runs are interleaved. Servers use their runtime's defaults (a scheduler /
# worker / P per core). --quick: 2 s instead of 5 s per measurement and
# 1,000 instead of 10,000 connections. Prints "# " comments and
# "RESULT <workload> <impl> <value> <unit>" lines, the peers' contract.
#
# Needs: cargo (Ember, tokio, the load generator), go (apt-get install
# golang-go), erl/erlc (apt-get install erlang); a missing toolchain is
# reported and its runs skipped. Environment: EMBER_NET_SECS (override the
# measurement time), EMBER_NET_TIMEOUT_S (hard limit of one run, default 120).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runs=5
quick=0
only="ember,go,tokio,erlang"
requested=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --only) only="${2:?--only needs a list}"; shift 2 ;;
    -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) requested+=("$1"); shift ;;
  esac
done
all_workloads=(net_echo_1 net_echo_100 net_echo_10k net_accept net_idle_10k_mem net_idle_10k_mem_hibernated http_hello)
[ ${#requested[@]} -gt 0 ] && workloads=("${requested[@]}") || workloads=("${all_workloads[@]}")
secs=5; big=10000
[ "$quick" = 1 ] && { secs=2; big=1000; }
secs="${EMBER_NET_SECS:-$secs}"
timeout_s="${EMBER_NET_TIMEOUT_S:-120}"
say() { echo "$*" >&2; }

build="$root/target/peers-net"
mkdir -p "$build"
echo "# ember net peers run $(date -u +%Y-%m-%dT%H:%M:%SZ) runs=$runs quick=$quick secs=$secs impls=${only//,/ }"
echo "# net peers, machine: nproc=$(nproc) kernel=$(uname -r) nofile=$(ulimit -Hn)"

say "== building the load generator and the servers"
( cd "$here/loadgen" && CARGO_TARGET_DIR="$build" cargo build --release --quiet ) || { say "!! loadgen build failed"; exit 1; }
load="$build/release/ember-netload"
declare -A server
impls=()
for imp in ${only//,/ }; do
  case "$imp" in
    ember)
      exe="$(cd "$root" && cargo bench --no-run --bench net_ember 2>&1 | grep -E 'Executable benches/net_ember\.rs' | tail -1 | sed -E 's/.*\((.*)\)$/\1/')"
      [ -x "$exe" ] && { server[ember]="$exe"; impls+=(ember); } || say "!! cannot build net_ember" ;;
    tokio)
      if ( cd "$here/tokio" && CARGO_TARGET_DIR="$build" cargo build --release --quiet ); then
        server[tokio]="$build/release/ember-netpeer-tokio"; impls+=(tokio)
        echo "# tokio: $(grep -A1 'name = "tokio"' "$here/tokio/Cargo.lock" 2>/dev/null | sed -n 's/version = //p' | tr -d '"')"
      else say "!! tokio peer build failed"; fi ;;
    go)
      if command -v go >/dev/null && ( cd "$here/go" && GO111MODULE=off go build -o "$build/netpeer-go" main.go ); then
        server[go]="$build/netpeer-go"; impls+=(go); echo "# go: $(go version | cut -d' ' -f3)"
      else echo "# missing: go (apt-get install golang-go)"; fi ;;
    erlang)
      if command -v erlc >/dev/null && erlc -o "$build" "$here/erlang/ember_net.erl"; then
        server[erlang]="erl"; impls+=(erlang)
        echo "# erlang: OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')"
      else echo "# missing: erlang (apt-get install erlang)"; fi ;;
    *) say "unknown implementation $imp" ;;
  esac
done

port=17100
start_server() { # impl kind -> sets srv_pid and addr
  port=$((port + 1)); addr="127.0.0.1:$port"
  case "$1" in
    erlang) erl -noshell -pa "$build" -s ember_net main "$2" "$port" >/dev/null 2>&1 & ;;
    *) "${server[$1]}" "$2" "$addr" >/dev/null 2>&1 & ;;
  esac
  srv_pid=$!
  timeout 25 "$load" wait "$addr" || { say "!! $1 server did not start"; kill "$srv_pid" 2>/dev/null; return 1; }
}
stop_server() { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

measure() { # workload impl -> prints a RESULT line
  local w="$1" imp="$2" kind=echo out
  [ "$w" = http_hello ] && kind=http
  if [ "$w" = net_idle_10k_mem_hibernated ]; then
    case "$imp" in ember) kind=echo-hibernate ;; erlang) kind=echo_hibernate ;; *) return ;; esac
  fi
  start_server "$imp" "$kind" || { echo "# $w $imp: server did not start"; return; }
  case "$w" in
    net_echo_1) out="$(timeout "$timeout_s" "$load" echo "$addr" 1 "$secs")" ;;
    net_echo_100) out="$(timeout "$timeout_s" "$load" echo "$addr" 100 "$secs")" ;;
    net_echo_10k) out="$(timeout "$timeout_s" "$load" echo "$addr" "$big" "$secs")" ;;
    net_accept) out="$(timeout "$timeout_s" "$load" accept "$addr" 4 "$secs")" ;;
    http_hello) out="$(timeout "$timeout_s" "$load" http "$addr" 100 "$secs")" ;;
    net_idle_10k_mem*)
      sleep 1
      local base after fifo="$build/idle.$$"
      base="$(rss_kib "$srv_pid")"
      rm -f "$fifo"; mkfifo "$fifo"
      timeout "$timeout_s" "$load" idle "$addr" "$big" <"$fifo" >"$build/idle.out" 2>&1 &
      local lpid=$!
      exec 7>"$fifo"
      local waited=0
      while ! grep -q ready "$build/idle.out" 2>/dev/null && [ $waited -lt $((timeout_s * 10)) ] && kill -0 "$lpid" 2>/dev/null; do
        sleep 0.1; waited=$((waited + 1))
      done
      sleep 1
      after="$(rss_kib "$srv_pid")"
      exec 7>&-
      wait "$lpid" 2>/dev/null; rm -f "$fifo"
      if grep -q ready "$build/idle.out"; then
        out="$(awk -v a="$after" -v b="$base" -v n="$big" 'BEGIN { printf "%.0f bytes/conn", (a - b) * 1024 / n }')"
        echo "# $w $imp: VmRSS $base KiB -> $after KiB for $big connections"
      else
        out=""; echo "# $w $imp: the idle client failed: $(tail -c 200 "$build/idle.out" | tr '\n' ' ')"
      fi ;;
  esac
  stop_server
  if [ -n "$out" ]; then echo "RESULT $w $imp $out"; say "   RESULT $w $imp $out"; else echo "# $w $imp: no result"; fi
}

for ((r = 1; r <= runs; r++)); do
  for w in "${workloads[@]}"; do
    for imp in "${impls[@]}"; do
      say "== $w $imp run $r/$runs"
      measure "$w" "$imp"
    done
  done
done
