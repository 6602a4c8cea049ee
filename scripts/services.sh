#!/usr/bin/env bash
# services.sh — a throwaway PostgreSQL and RabbitMQ for the test suites and
# benchmarks, on loopback and non-default ports, with all their files in one
# temporary directory. Nothing of the machine's own services is used or
# touched (the Debian packages' system instances may run or not).
#
#   eval "$(scripts/services.sh start)"   # starts both, prints the exports:
#                                          # CONWAY_TEST_PG_URL, CONWAY_TEST_AMQP_URL
#   scripts/services.sh start pg|amqp     # only one of them
#   scripts/services.sh env               # the exports of what is running
#   scripts/services.sh stop              # stops both; idempotent
#
# Ports (override for parallel runs): CONWAY_PG_PORT (55432),
# CONWAY_AMQP_PORT (56720; the Erlang distribution uses +1, its port mapper
# +2). State lives in CONWAY_SERVICES_DIR (default /tmp/conway-services-<uid>-
# <pg port>). Works as root (PostgreSQL then runs as the `postgres` user,
# since initdb refuses root) and as a normal user. CONWAY_PG_FSYNC=off
# starts PostgreSQL without fsync (test runs; benchmarks keep it on).
set -euo pipefail

PG_PORT=${CONWAY_PG_PORT:-55432}
AMQP_PORT=${CONWAY_AMQP_PORT:-56720}
DIST_PORT=$((AMQP_PORT + 1))
EPMD_PORT=$((AMQP_PORT + 2))
STATE=${CONWAY_SERVICES_DIR:-${TMPDIR:-/tmp}/conway-services-$(id -u)-$PG_PORT}
PG_DIR=$STATE/pg
RMQ_DIR=$STATE/rabbitmq
NODENAME=conway-test-$AMQP_PORT@localhost

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---- PostgreSQL ------------------------------------------------------------------

pg_bindir() {
  local d=""
  if command -v pg_config >/dev/null 2>&1; then d=$(pg_config --bindir 2>/dev/null || true); fi
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  fi
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  fi
  [ -x "$d/initdb" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql"
  echo "$d"
}

# Runs a PostgreSQL server command as a user it accepts.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_url() {
  # the unix socket in the state directory; libpq takes host= as a path
  echo "postgresql://postgres@/postgres?host=$PG_DIR&port=$PG_PORT"
}

pg_running() {
  [ -f "$PG_DIR/data/postmaster.pid" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

pg_start() {
  if pg_running; then return 0; fi
  local bin
  bin=$(pg_bindir)
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR"
  chmod 755 "$STATE" "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (package postgresql)"
    chown postgres "$PG_DIR"
  fi
  as_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  # many conway instances with their pools may connect at once in tests;
  # CONWAY_PG_FSYNC=off trades crash safety of the machine (not of
  # processes) for speed, for test runs
  local fsync=${CONWAY_PG_FSYNC:-on} try
  # the ports lie in Linux's ephemeral range: a client socket may hold one
  # for a moment (bind fails), so try again
  for try in 1 2 3 4 5; do
    if as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=500 \
          -c shared_buffers=128MB -c log_min_messages=warning -c fsync=$fsync" \
      start >/dev/null 2>&1; then
      log "PostgreSQL on port $PG_PORT (socket in $PG_DIR)"
      return 0
    fi
    grep -q 'Address already in use' "$PG_DIR/server.log" 2>/dev/null || break
    sleep 1
  done
  tail -n 30 "$PG_DIR/server.log" >&2 || true
  die "PostgreSQL did not start"
}

pg_stop() {
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}

# ---- RabbitMQ ---------------------------------------------------------------------

rmq_bin() {
  local b
  for b in /usr/lib/rabbitmq/bin/rabbitmq-server "$(command -v rabbitmq-server 2>/dev/null || true)"; do
    if [ -n "$b" ] && [ -x "$b" ]; then dirname "$b"; return 0; fi
  done
  die "RabbitMQ not found: install rabbitmq-server"
}

# The environment every RabbitMQ/Erlang command of this node runs with.
rmq_env() {
  export HOME="$RMQ_DIR" # the Erlang cookie lives here
  export ERL_EPMD_PORT="$EPMD_PORT"
  export RABBITMQ_NODENAME="$NODENAME"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
  export RABBITMQ_LOGS="$RMQ_DIR/log/rabbit.log"
  # distribution and port mapper on loopback only
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

amqp_url() { echo "amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"; }

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Whether the recorded start script still runs (and is ours: a pid left by
# a previous machine session may belong to another process by now).
rmq_alive() {
  local pid
  [ -f "$RMQ_DIR/server.pid" ] || return 1
  pid=$(cat "$RMQ_DIR/server.pid")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q rabbitmq
}

rmq_running() {
  rmq_alive && tcp_open "$AMQP_PORT"
}

rmq_start() {
  local try
  for try in 1 2 3; do
    if rmq_start_once; then return 0; fi
    [ "$try" -lt 3 ] && log "RabbitMQ did not start, trying again"
  done
  die "RabbitMQ did not start"
}

rmq_start_once() {
  if rmq_running; then return 0; fi
  local bin
  bin=$(rmq_bin)
  rmq_stop_quiet
  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  chmod 700 "$RMQ_DIR"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  echo '[].' >"$RMQ_DIR/enabled_plugins"   # no management plugin: faster boot
  echo '[].' >"$RMQ_DIR/advanced.config"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
log.console = false
log.file.level = warning
EOF
  # a random cookie per run (Erlang wants it private)
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RMQ_DIR/.erlang.cookie"
  chmod 400 "$RMQ_DIR/.erlang.cookie"
  (
    rmq_env
    cd "$RMQ_DIR"
    setsid "$bin/rabbitmq-server" >"$RMQ_DIR/server.out" 2>&1 </dev/null &
    echo $! >"$RMQ_DIR/server.pid"
  )
  local i
  for i in $(seq 1 600); do
    if tcp_open "$AMQP_PORT"; then
      log "RabbitMQ on port $AMQP_PORT (node $NODENAME)"
      return 0
    fi
    if ! rmq_alive; then
      tail -n 30 "$RMQ_DIR/server.out" >&2 || true
      log "RabbitMQ exited during start"
      return 1
    fi
    sleep 0.1
  done
  tail -n 30 "$RMQ_DIR/server.out" >&2 || true
  log "RabbitMQ did not open port $AMQP_PORT within 60 s"
  rmq_stop_quiet
  return 1
}

# Stops the node: its process group (the start script, beam, helpers) and
# the port mapper started for it on its own port.
rmq_stop_quiet() {
  if rmq_alive; then
    local pid
    pid=$(cat "$RMQ_DIR/server.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      local i
      for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  if [ -d "$RMQ_DIR" ] && command -v epmd >/dev/null 2>&1; then
    ERL_EPMD_PORT="$EPMD_PORT" epmd -kill >/dev/null 2>&1 || true
  elif [ -d "$RMQ_DIR" ] && [ -x /usr/lib/erlang/bin/epmd ]; then
    ERL_EPMD_PORT="$EPMD_PORT" /usr/lib/erlang/bin/epmd -kill >/dev/null 2>&1 || true
  fi
}

rmq_stop() {
  rmq_stop_quiet
  rm -rf "$RMQ_DIR"
}

# ---- commands ---------------------------------------------------------------------

print_env() {
  if pg_running; then echo "export CONWAY_TEST_PG_URL='$(pg_url)'"; fi
  if rmq_running; then echo "export CONWAY_TEST_AMQP_URL='$(amqp_url)'"; fi
}

cmd=${1:-}
what=${2:-all}
case "$cmd" in
  start)
    mkdir -p "$STATE"
    case "$what" in
      pg) pg_start ;;
      amqp) rmq_start ;;
      all)
        # both boot at once: RabbitMQ's few seconds overlap PostgreSQL's
        rmq_start &
        rpid=$!
        pg_start
        wait "$rpid" || die "RabbitMQ failed to start"
        ;;
      *) die "start what? pg, amqp or all" ;;
    esac
    print_env
    ;;
  env) print_env ;;
  stop)
    pg_stop
    rmq_stop
    rmdir "$STATE" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 start [pg|amqp|all] | env | stop" >&2
    exit 2
    ;;
esac
