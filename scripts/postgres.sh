#!/usr/bin/env bash
# A private PostgreSQL server for isocheck's tests and CI (LangGraph's
# PostgresSaver / PostgresStore): Debian's server binaries, its own data
# directory, socket, log and pid file under one state directory, a free
# port on 127.0.0.1, never run as root.
#
#   usage: scripts/postgres.sh start|stop|env|status
#     start   installs Debian's postgresql when its binaries are missing
#             (apt-get; needs root), runs initdb and postgres unless the
#             server already answers; prints
#             `export ISOCHECK_POSTGRES_URL=postgresql://...` for eval
#     stop    stops the server by its pid (SIGINT: fast shutdown, then
#             SIGKILL after 30 s) and removes the state directory
#     env     prints the export line of a started server
#     status  exit 0 when the server answers, 1 otherwise
#
#   eval "$(scripts/postgres.sh start)"   # then: cargo test, isocheck run ...
#   scripts/postgres.sh stop
#
# Environment: ISOCHECK_POSTGRES_DIR (state directory, default target/postgres).
# As root the server runs as the system user `postgres` (Debian's package
# creates it; else a dedicated system user `isocheck-pg` is added), started
# through setpriv so that the recorded pid is the server's own.
# Idempotent: start on a running server and stop on a stopped one do nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${ISOCHECK_POSTGRES_DIR:-$root/target/postgres}
data="$dir/data"
pidfile="$dir/postgres.pid"
portfile="$dir/port"
pwfile="$dir/password"
log="$dir/postgres.log"
db=isocheck
role=isocheck

say() { echo "postgres: $*" >&2; }
die() { say "$*"; exit 2; }

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
server_pid() { [[ -f $pidfile ]] && cat "$pidfile" || true; }
port() { [[ -f $portfile ]] && cat "$portfile" || true; }

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/postgres && -x $d/initdb ]] && { echo "$d"; return 0; }
  done
  return 1
}

answers() {
  local p bin
  p=$(port)
  [[ -n $p ]] && alive "$(server_pid)" || return 1
  bin=$(bindir) || return 1
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$p" -d "$db" -U "$role" >/dev/null 2>&1
}

url() {
  echo "export ISOCHECK_POSTGRES_URL='postgresql://$role:$(cat "$pwfile")@127.0.0.1:$(port)/$db'"
}

install_missing() {
  bindir >/dev/null && return 0
  [[ $(id -u) == 0 ]] || die "the postgresql server is missing and not root: install it (apt-get install -y postgresql)"
  say "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
  bindir >/dev/null || die "postgresql installed but no server binaries under /usr/lib/postgresql/*/bin"
}

# The user the server runs as: ourselves, or (as root) a system user.
server_user() {
  if [[ $(id -u) != 0 ]]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    id isocheck-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin isocheck-pg
    echo isocheck-pg
  fi
}

# as USER CMD...: runs CMD as USER (exec'd, so $! of a background call is CMD's pid).
as() {
  local u=$1
  shift
  if [[ $(id -u) == 0 ]]; then
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  install_missing
  if answers; then
    url
    return 0
  fi
  local old bin user p launched i
  old=$(server_pid)
  alive "$old" && die "postgres (pid $old) runs but does not answer; run: $0 stop"
  bin=$(bindir)
  user=$(server_user)
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$pwfile"
  chmod 600 "$pwfile"
  free_port > "$portfile"
  p=$(port)
  mkdir -p "$data"
  # the server user owns the state directory; its password file for initdb
  cp "$pwfile" "$dir/initdb.pw"
  chown -R "$user" "$dir"
  as "$user" "$bin/initdb" -D "$data" -U "$role" --pwfile="$dir/initdb.pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$log" 2>&1 \
    || { tail -20 "$log" >&2; die "initdb failed (log: $log)"; }
  rm -f "$dir/initdb.pw"
  # setsid: the server outlives this script and is not in its process group.
  if [[ $(id -u) == 0 ]]; then
    setsid setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- \
      "$bin/postgres" -D "$data" -p "$p" -k "$dir" -c listen_addresses=127.0.0.1 \
      -c unix_socket_permissions=0700 -c fsync=off -c max_connections=200 \
      </dev/null >>"$log" 2>&1 &
  else
    setsid "$bin/postgres" -D "$data" -p "$p" -k "$dir" -c listen_addresses=127.0.0.1 \
      -c unix_socket_permissions=0700 -c fsync=off -c max_connections=200 \
      </dev/null >>"$log" 2>&1 &
  fi
  launched=$!
  echo "$launched" > "$pidfile"
  for i in $(seq 1 120); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$p" >/dev/null 2>&1 && break
    if ! alive "$launched"; then
      tail -20 "$log" >&2 || true
      die "postgres exited during startup (log: $log)"
    fi
    sleep 0.25
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$p" >/dev/null 2>&1 \
    || { tail -20 "$log" >&2; stop >&2 || true; die "postgres did not answer within 30 s (log: $log)"; }
  PGPASSWORD=$(cat "$pwfile") "$bin/psql" -q -h 127.0.0.1 -p "$p" -U "$role" -d postgres \
    -c "CREATE DATABASE $db" >/dev/null || { stop >&2 || true; die "creating database $db failed"; }
  say "postgres running (pid $launched) on 127.0.0.1:$p as $user, data $data"
  url
}

stop() {
  local pid i
  pid=$(server_pid)
  if alive "$pid"; then
    # SIGINT: PostgreSQL's fast shutdown (clients disconnected, no waiting).
    kill -INT "$pid" 2>/dev/null || true
    for i in $(seq 1 120); do alive "$pid" || break; sleep 0.25; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    [[ -f $portfile && -f $pwfile ]] || { say "not started (run: $0 start)"; exit 1; }
    url
    ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
