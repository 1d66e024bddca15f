# shellcheck shell=bash
# bench/lib/sluiced.sh: a private sluiced for the benchmarks.
# Owns: the generated sluice.toml (hostname bench.test, data_dir and Maildir root under the
#   bench's temporary directory, accepted domain bench.test, one user sink@bench.test, one
#   receive connector on 127.0.0.1 port 0), starting sluiced in the foreground, reading the
#   port it bound from its stdout, stopping it, and counting what reached the Maildir.
# Not: building sluiced (bench/run takes the binary from $SLUICED), judging a run.
# Sourced by bench/run (bash). Every function takes the instance directory as $1.
#
# Start-up contract of sluiced (DESIGN.md, src/sluiced): it prints one line
# "listening <connector> <ip>:<port>" per bound listener, then "ready", on stdout.

# sluiced_setup DIR: write DIR/sluice.toml.
# max_connections_per_ip is raised above the default (20) because every session of the load
# comes from 127.0.0.1 and, with a new connection per message, the server may still be
# closing a session's previous connection when its next one arrives. Postfix applies no
# per-client limit here either: its limits exempt $mynetworks (127.0.0.0/8).
sluiced_setup() {
  local dir=$1
  mkdir -p "$dir/data" "$dir/mail" || return 1
  cat >"$dir/sluice.toml" <<EOF
# written by bench/lib/sluiced.sh for one benchmark run
[server]
hostname = "bench.test"
data_dir = "$dir/data"

[[accepted_domain]]
name = "bench.test"

[local_delivery]
maildir_root = "$dir/mail"

[[user]]
address = "sink@bench.test"

# No admin API: it would want a fixed port, and the benchmark does not use it.
[admin]
enabled = false

[[receive_connector]]
name = "bench"
listen = ["127.0.0.1:0"]
usage = "internet"
max_message_size = "35MB"
max_connections_per_ip = 1000
EOF
}

# sluiced_start DIR BINARY: start sluiced and wait (bounded) for "ready"; sets SLUICED_PORT
# to the port of the "bench" connector. Fails if sluiced exits or is not ready within 60 s.
# Not to be called in a subshell: sluiced must stay a child of the caller.
sluiced_start() {
  local dir=$1 bin=$2 pid i port
  : >"$dir/stdout"
  "$bin" --config "$dir/sluice.toml" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  for ((i = 0; i < 600; i++)); do
    if grep -qx 'ready' "$dir/stdout"; then
      port=$(sed -n 's/^listening bench 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$dir/stdout" | head -n1)
      if [[ -z $port ]]; then
        echo "sluiced said ready but no 'listening bench 127.0.0.1:PORT' line" >&2
        return 1
      fi
      # shellcheck disable=SC2034  # read by the caller
      SLUICED_PORT=$port
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "sluiced exited during start-up; its stderr:" >&2
      tail -n 20 "$dir/stderr" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "sluiced was not ready within 60 s" >&2
  return 1
}

# sluiced_stop DIR: SIGTERM (graceful shutdown), bounded wait, then SIGKILL.
sluiced_stop() {
  local dir=$1 pid i
  [[ -f $dir/pid ]] || return 0
  pid=$(tr -dc 0-9 <"$dir/pid")
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || { rm -f "$dir/pid"; return 0; }
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "sluiced did not stop within 15 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  rm -f "$dir/pid"
  return 0
}

# sluiced_running DIR: true while the started sluiced is alive.
sluiced_running() {
  [[ -f $1/pid ]] && kill -0 "$(tr -dc 0-9 <"$1/pid")" 2>/dev/null
}

# sluiced_delivered DIR: messages delivered to any Maildir under the root (new/ and cur/).
sluiced_delivered() {
  find "$1/mail" -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l
}
