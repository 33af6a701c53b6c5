#!/usr/bin/env bash
# Run the Ember peer benchmarks (Erlang, Elixir, Go, tokio, may, ractor).
#
#   benches/peers/run-peers.sh [--runs N] [--quick] [--only IMPL,...] [workload...]
#
# Every (workload, implementation, run) is a fresh OS process / VM. RESULT
# lines (and "# " comment lines) are printed and appended to
#   benches/peers/out/peers-<date>.txt        (full sizes)
#   benches/peers/out/quick-<date>.txt        (--quick, 10x smaller sizes)
# At the end a median per (workload, impl) is printed as "# median" comments.
#
#   benches/peers/run-peers.sh --medians FILE
# prints the medians of all (non-discarded) RESULT lines in FILE.
#
# The Rust peers (rust/: tokio, may, ractor) are built with cargo in release
# mode into target/peers/ of the repository (the first build fetches their
# crates and takes a few minutes). A missing toolchain or a failed build is
# reported with the command that fixes it, and the other peers run anyway.
#
# Environment:
#   EMBER_PEERS_RUN_TIMEOUT_S       hard wall-clock limit of one run (default 1500)
#   EMBER_PEERS_SHUTDOWN_BOUND_S    bound of one DynamicSupervisor.stop in the
#                                   Elixir dynsup_shutdown_* runs (default 600)
#   EMBER_PEERS_IDLE_WAIT_S         max wait for an idle machine before each run
#                                   (default 300)
#   EMBER_PEERS_RETRIES             repeats of a run disturbed by other processes
#                                   (>10% of the machine's CPU; default 2)
#   EMBER_PEERS_ERL_FLAGS           extra emulator flags for erl and elixir
#                                   (default "+P 5000000"; scheduler settings
#                                   are left at the runtime defaults)
#   EMBER_PEERS_TARGET_DIR          cargo target directory of the Rust peers
#                                   (default: target/peers of the repository)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runs=5
quick=0
medians_of=""
only=""
requested=()

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --quick) quick=1; shift ;;
    --medians) medians_of="${2:?--medians needs a file}"; shift 2 ;;
    --only) only="${2:?--only needs a list such as erlang,elixir,go,tokio,may,ractor}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) requested+=("$1"); shift ;;
  esac
done
# median per (workload, impl) of the RESULT lines on stdin; "# discarded"
# lines are comments and therefore ignored
medians() {
  awk '
    /^RESULT / { key = $2 " " $3; unit[key] = $5; if (!(key in seen)) { seen[key] = 1; order[++k] = key }
      if ($4 != "NaN") { vals[key] = vals[key] " " $4; n[key]++ } else { nan[key]++ } }
    END {
      for (i = 1; i <= k; i++) {
        key = order[i]; c = n[key] + 0
        if (c == 0) { printf "# median %s NaN %s n=0 (NaN runs: %d)\n", key, unit[key], nan[key]; continue }
        split(substr(vals[key], 2), a, " ")
        for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
        m = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
        ms = (m >= 1000) ? sprintf("%.0f", m) : sprintf("%.4g", m)
        all = ""; for (x = 1; x <= c; x++) all = all (x > 1 ? "," : "") a[x]
        printf "# median %s %s %s n=%d [%s]%s\n", key, ms, unit[key], c, all, (nan[key] ? " (NaN runs: " nan[key] ")" : "")
      }
    }'
}

if [ -n "$medians_of" ]; then
  medians <"$medians_of"
  exit 0
fi

case "$runs" in ''|*[!0-9]*|0) echo "--runs must be a positive integer" >&2; exit 2 ;; esac

run_timeout="${EMBER_PEERS_RUN_TIMEOUT_S:-1500}"
erl_flags="${EMBER_PEERS_ERL_FLAGS:-+P 5000000}"
quick_arg=()
[ "$quick" = 1 ] && quick_arg=(--quick)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ember-peers.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$here/out"
# One invocation at a time: two concurrent runs would disturb each other's
# measurements and interleave their lines in the same out file.
exec 9>"$here/out/.lock"
if ! flock -n 9; then
  echo "!! another run-peers.sh is running (lock $here/out/.lock); waiting for it to finish" >&2
  flock 9
fi
if [ "$quick" = 1 ]; then
  out="$here/out/quick-$(date +%Y-%m-%d).txt"
else
  out="$here/out/peers-$(date +%Y-%m-%d).txt"
fi
session="$tmp/session.txt"
: >"$session"

emit() { # print a line, append it to the out file and to this session's log
  printf '%s\n' "$1" | tee -a "$out" >>"$session"
  printf '%s\n' "$1"
}

# ---------------------------------------------------------------- contention
# The machine may be shared (e.g. a cargo build running next to the benches).
# Before each run we wait (bounded) until the machine is idle, and after each
# run we report how much CPU *other* processes used during it.
idle_wait="${EMBER_PEERS_IDLE_WAIT_S:-300}"
retries="${EMBER_PEERS_RETRIES:-2}"
cpu_snapshot() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6 }' /proc/stat; }
children_cpu() { # CPU seconds (user+sys) of all waited-for children of this shell
  # (call it directly, not in $(...): `times` in a subshell sees the subshell)
  times >"$tmp/times"
  tail -1 "$tmp/times" | awk '{ s = 0; for (i = 1; i <= NF; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } print s }'
}
busy_pct() { # % of the whole machine busy over 1 s (nothing of ours runs then)
  local a b
  a="$(cpu_snapshot)"; sleep 1; b="$(cpu_snapshot)"
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; i = y[2] - x[2]; printf "%d", (t > 0 ? 100 * (t - i) / t : 0) }'
}
wait_idle() {
  local waited=0 pct
  pct="$(busy_pct)"
  while [ "$pct" -gt 15 ] && [ "$waited" -lt "$idle_wait" ]; do
    [ "$waited" = 0 ] && echo "   (machine busy: ${pct}% CPU used by other processes; waiting up to ${idle_wait}s)" >&2
    sleep 4; waited=$((waited + 5)); pct="$(busy_pct)"
  done
  if [ "$pct" -gt 15 ]; then
    emit "# warning: machine still ${pct}% busy with other processes after waiting ${idle_wait}s; running anyway"
  fi
}

# ---------------------------------------------------------------- toolchains
impls=()
missing=()        # tools not on PATH
unavailable=()    # "impl|why|fix": reported, and recorded for the report

wanted() { [ -z "$only" ] || case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
unavailable_impl() { # impl, why, the command that fixes it
  unavailable+=("$1|$2|$3")
  echo "!! $1: $2 -- it will NOT be run. Fix: $3" >&2
}

if wanted erlang; then
  if command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1; then
    if erlc -o "$tmp" "$here/erlang/ember_peers.erl"; then
      impls+=(erlang)
    else
      unavailable_impl erlang "build failed (erlc erlang/ember_peers.erl)" "erlc -o /tmp benches/peers/erlang/ember_peers.erl"
    fi
  else
    missing+=(erl); unavailable_impl erlang "not installed" "apt-get install -y erlang"
  fi
fi
if wanted elixir; then
  if command -v elixir >/dev/null 2>&1; then
    impls+=(elixir)
  else
    missing+=(elixir); unavailable_impl elixir "not installed" "apt-get install -y elixir"
  fi
fi
if wanted go; then
  if command -v go >/dev/null 2>&1; then
    if (cd "$tmp" && GOCACHE="${GOCACHE:-$tmp/gocache}" GO111MODULE=off \
        go build -o "$tmp/ember_peers_go" "$here/go/main.go"); then
      impls+=(go)
    else
      unavailable_impl go "build failed (go build go/main.go)" "go build -o /tmp/ember_peers_go benches/peers/go/main.go"
    fi
  else
    missing+=(go); unavailable_impl go "not installed" "apt-get install -y golang-go"
  fi
fi

# The Rust peers: one cargo workspace of their own (rust/Cargo.toml, its
# lockfile committed), built together; when that fails, each one alone, so
# that one broken peer does not take the others with it.
repo="$(cd "$here/../.." && pwd)"
rust_target="${EMBER_PEERS_TARGET_DIR:-$repo/target/peers}"
rust_impls=()
for impl in tokio may ractor; do wanted "$impl" && rust_impls+=("$impl"); done
if [ ${#rust_impls[@]} -gt 0 ]; then
  rust_build=(cargo build --release --locked --manifest-path "$here/rust/Cargo.toml" --target-dir "$rust_target")
  rust_fix="cargo fetch --locked --manifest-path benches/peers/rust/Cargo.toml (needs crates.io), then cargo build --release --locked --manifest-path benches/peers/rust/Cargo.toml --target-dir target/peers"
  if ! command -v cargo >/dev/null 2>&1; then
    missing+=(cargo)
    for impl in "${rust_impls[@]}"; do
      unavailable_impl "$impl" "not installed (no cargo on PATH)" "install Rust with rustup (https://rustup.rs), then run this script again"
    done
  else
    echo "== building the Rust peers (${rust_impls[*]}): ${rust_build[*]}" >&2
    pkgs=(); for impl in "${rust_impls[@]}"; do pkgs+=(-p "ember-peers-$impl"); done
    if "${rust_build[@]}" "${pkgs[@]}" >"$tmp/rust-build.log" 2>&1; then
      impls+=("${rust_impls[@]}")
    else
      for impl in "${rust_impls[@]}"; do
        if "${rust_build[@]}" -p "ember-peers-$impl" >"$tmp/rust-build-$impl.log" 2>&1; then
          impls+=("$impl")
        else
          tail -n 15 "$tmp/rust-build-$impl.log" | sed 's/^/   | /' >&2
          why="$(grep -m1 -E '^error' "$tmp/rust-build-$impl.log" | tr -d '`' | cut -c1-160)"
          unavailable_impl "$impl" "build failed (${why:-see the cargo output above})" "$rust_fix"
        fi
      done
    fi
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "!! missing: ${missing[*]} -- the corresponding implementation(s) will NOT be run (the others are)." >&2
fi
if [ ${#impls[@]} -eq 0 ]; then
  echo "!! no implementation available; nothing to run" >&2
  exit 1
fi

# command line of one implementation (arguments: workload names, --quick)
cmd_for() {
  case "$1" in
    # erl_flags is deliberately split into separate flags
    erlang) cmd=(erl -noshell $erl_flags -pa "$tmp" -run ember_peers main -extra) ;;
    elixir) cmd=(elixir --erl "$erl_flags" "$here/elixir/ember_peers.exs") ;;
    go) cmd=("$tmp/ember_peers_go") ;;
    tokio | may | ractor) cmd=("$rust_target/release/ember_peers_$1") ;;
  esac
}

declare -A supported
all_workloads=()
for impl in "${impls[@]}"; do
  cmd_for "$impl"
  list="$(cd "$tmp" && "${cmd[@]}" list)" || { echo "!! $impl: 'list' failed" >&2; continue; }
  for w in $list; do
    supported["$impl:$w"]=1
    case " ${all_workloads[*]} " in *" $w "*) ;; *) all_workloads+=("$w") ;; esac
  done
done

if [ ${#requested[@]} -eq 0 ] || [ "${requested[*]}" = all ]; then
  workloads=("${all_workloads[@]}")
else
  workloads=("${requested[@]}")
fi

# ---------------------------------------------------------------- header
locked() { # the version of a crate in the Rust peers' lockfile
  awk -v n="$1" '$1 == "name" && $3 == "\"" n "\"" { getline; gsub(/"/, "", $3); print $3; exit }' "$here/rust/Cargo.lock"
}
emit "# ember peers run $(date -u +%Y-%m-%dT%H:%M:%SZ) runs=$runs quick=$quick impls=${impls[*]}${missing:+ missing=${missing[*]}}"
for u in "${unavailable[@]}"; do # read by the report: why a peer has no figures, and the fix
  IFS='|' read -r impl why fix <<<"$u"
  emit "# meta unavailable_$impl: $why; fix: $fix"
done
emit "# machine: nproc=$(nproc) model=\"$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')\" kernel=$(uname -r) mem=$(awk '/MemTotal/ {printf "%.1fGiB", $2/1048576}' /proc/meminfo)"
for impl in "${impls[@]}"; do
  case "$impl" in
    erlang)
      otp="$(erl -noshell -eval 'R = erlang:system_info(otp_release), F = filename:join([code:root_dir(), "releases", R, "OTP_VERSION"]), V = case file:read_file(F) of {ok, B} -> string:trim(B); _ -> R end, io:format("~s erts-~s schedulers=~p", [V, erlang:system_info(version), erlang:system_info(schedulers_online)]), halt().')"
      emit "# erlang: OTP $otp; flags: erl -noshell $erl_flags (scheduler settings: runtime defaults)" ;;
    elixir)
      ver="$(elixir --version 2>/dev/null | grep -m1 '^Elixir' )"
      emit "# elixir: $ver; flags: elixir --erl \"$erl_flags\"" ;;
    go)
      emit "# go: $(go version | sed 's/^go version //'); GOMAXPROCS default" ;;
    tokio)
      emit "# tokio: tokio $(locked tokio), $(rustc -V); Runtime::new() defaults (multi-thread, one worker per CPU)" ;;
    may)
      emit "# may: may $(locked may), $(rustc -V); default config (one pinned worker per CPU, 32 KiB stacks); vm.max_map_count=$(cat /proc/sys/vm/max_map_count)" ;;
    ractor)
      emit "# ractor: ractor $(locked ractor) (default features), ractor-supervisor $(locked ractor-supervisor), tokio $(locked tokio), $(rustc -V); Runtime::new() defaults" ;;
  esac
done

# ---------------------------------------------------------------- runs
for w in "${workloads[@]}"; do
  any=0
  for impl in "${impls[@]}"; do [ -n "${supported[$impl:$w]:-}" ] && any=1; done
  if [ "$any" = 0 ]; then
    emit "# $w: not implemented by any available implementation (${impls[*]}); skipped"
    continue
  fi
  declare -A given_up=()
  for ((r = 1; r <= runs; r++)); do
    for impl in "${impls[@]}"; do
      [ -n "${supported[$impl:$w]:-}" ] || continue
      [ -n "${given_up[$impl]:-}" ] && continue
      for ((attempt = 0; attempt <= retries; attempt++)); do
        if [ "$attempt" -gt 0 ]; then echo "== $w $impl run $r/$runs (retry $attempt)" >&2; else echo "== $w $impl run $r/$runs" >&2; fi
        log="$tmp/run.out"
        wait_idle
        cmd_for "$impl"
        snap0="$(cpu_snapshot)"; children_cpu >"$tmp/own0"; own0="$(cat "$tmp/own0")"
        (cd "$tmp" && EMBER_PEERS_SHUTDOWN_BOUND_S="${EMBER_PEERS_SHUTDOWN_BOUND_S:-600}" \
          timeout --kill-after=30 "$run_timeout" "${cmd[@]}" "${quick_arg[@]}" "$w") >"$log"
        rc=$?
        snap1="$(cpu_snapshot)"; children_cpu >"$tmp/own1"; own1="$(cat "$tmp/own1")"
        others="$(awk -v a="$snap0" -v b="$snap1" -v o0="$own0" -v o1="$own1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
          split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; busy = t - (y[2] - x[2])
          ours = (o1 - o0) * hz; printf "%d", (t > 0 ? 100 * (busy - ours) / t : 0) }')"
        # a run during which other processes used >10% of the machine is
        # discarded (kept as a comment) and repeated, up to $retries times
        # a run that hit its bound (NaN) is never discarded: no contention
        # plausible here turns a bound-exceeding run into a finishing one
        saw_nan=0
        grep -q '^RESULT .* NaN ' "$log" && saw_nan=1
        discard=""
        if [ "$others" -gt 10 ] && [ "$rc" = 0 ] && [ "$saw_nan" = 0 ]; then
          if [ "$attempt" -lt "$retries" ]; then
            discard="# discarded (other processes used ~${others}% CPU): "
          else
            emit "# $w $impl run $r: contended (other processes used ~${others}% CPU) on all $((retries + 1)) attempts; keeping the last"
          fi
        fi
        while IFS= read -r line; do
          case "$line" in
            RESULT\ *) emit "$discard$line" ;;
            "# $impl:"*) ;; # per-process banner, already covered by the header
            "#"*) emit "$discard$line" ;;
          esac
        done <"$log"
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
          emit "# $w $impl run $r: killed after the ${run_timeout}s run timeout; no further runs of it"
          given_up[$impl]=1
        elif [ "$rc" != 0 ]; then
          emit "# $w $impl run $r: FAILED with exit code $rc"
        elif [ "$saw_nan" = 1 ]; then
          [ "$others" -gt 10 ] && emit "# $w $impl run $r: (other processes used ~${others}% CPU during it)"
          emit "# $w $impl run $r: exceeded its bound (NaN); no further runs of it"
          given_up[$impl]=1
        fi
        [ -n "$discard" ] && [ "$rc" = 0 ] && [ "$saw_nan" = 0 ] || break
      done
    done
  done
  unset given_up
done

# ---------------------------------------------------------------- medians
emit "# medians of this invocation (workload impl median unit n [sorted values]):"
medians <"$session" | while IFS= read -r line; do emit "$line"; done

echo "results appended to $out" >&2
