#!/usr/bin/env bash
# milvus-standin.sh start|stop|status DIR -- run the Milvus stand-in (tests/milvus-standin,
# for tests and demos only; production points mvbackupfs at a real Milvus) in the background.
#
#   start DIR   starts it (log DIR/standin.log, pid DIR/standin.pid), waits until it answers,
#               prints "export MILVUS_ADDRESS=127.0.0.1", "export MILVUS_PORT=NNNN" and
#               "export MILVUS_STANDIN_ADMIN=http://127.0.0.1:MMMM" (also written to
#               DIR/milvus.env). If DIR's stand-in is already running, it only prints them.
#   stop DIR    stops the process whose pid is in DIR/standin.pid (SIGTERM, SIGKILL after 5 s).
#   status DIR  exit 0 if DIR's stand-in is running.
#
# Settings come from the environment: S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
# (the S3 server), MILVUS_BUCKET, MILVUS_ROOT_PATH, MILVUS_VERSION, MILVUS_AUTH,
# MILVUS_STATE_FILE and the STANDIN_* knobs (tests/milvus-standin/README.md). The gRPC port is
# MILVUS_PORT (default 0 = a free port; STANDIN_PORT is an alias).  A shell that has eval'ed one
# stand-in's exports must pass MILVUS_PORT=0 to start a second one.  START_TIMEOUT (seconds,
# default 30).
set -euo pipefail

prog=milvus-standin
# shellcheck source=lib-server.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-server.sh"
srv_args "start|stop|status" "$@"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC="$HERE/../tests/milvus-standin"
PIDFILE="$DIR/standin.pid"
PORTFILE="$DIR/ports"
LOG="$DIR/standin.log"
START_TIMEOUT=${START_TIMEOUT:-30}

# A pid is ours while it is alive and is the stand-in.
ours() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep 'milvus-standin/src/main.js' >/dev/null
}

# Our pid, if the process is alive and is the stand-in.
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  ours "$pid" || return 1
  echo "$pid"
}

print_env() {
  local port admin
  port=$(sed -n 's/^MILVUS_PORT=//p' "$PORTFILE")
  admin=$(sed -n 's/^STANDIN_ADMIN_URL=//p' "$PORTFILE")
  {
    echo "export MILVUS_ADDRESS=127.0.0.1"
    echo "export MILVUS_PORT=$port"
    echo "export MILVUS_STANDIN_ADMIN=$admin"
  } > "$DIR/milvus.env"
  cat "$DIR/milvus.env"
}

start() {
  mkdir -p "$DIR"
  if pid=$(running_pid) && [ -f "$PORTFILE" ]; then
    log "already running in $DIR (pid $pid)"
    print_env
    return 0
  fi
  : "${S3_ENDPOINT:?S3_ENDPOINT must be set (the S3 server holding the Milvus bucket)}"
  if [ ! -d "$SRC/node_modules/@zilliz/milvus2-sdk-node" ]; then
    log "installing node dependencies (npm ci) in $SRC"
    (cd "$SRC" && npm ci --no-audit --no-fund >&2)
  fi
  rm -f "$PORTFILE" "$PIDFILE"
  MILVUS_PORT=${MILVUS_PORT:-${STANDIN_PORT:-0}} STANDIN_PORT_FILE="$PORTFILE" \
    setsid node "$SRC/src/main.js" >>"$LOG" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "ERROR: the stand-in exited during start; last lines of $LOG:"
      tail -n 20 "$LOG" >&2
      rm -f "$PIDFILE"
      exit 1
    fi
    if [ -s "$PORTFILE" ]; then
      port=$(sed -n 's/^MILVUS_PORT=//p' "$PORTFILE")
      if [ -n "$port" ] && port_busy "$port"; then break; fi
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "ERROR: no answer within ${START_TIMEOUT}s; stopping pid $pid; see $LOG"
      kill "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 0.1
  done
  log "running in $DIR (pid $pid, port $port)"
  print_env
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    log "not running in $DIR"
    rm -f "$PIDFILE"
    return 0
  fi
  srv_stop_pid stand-in "$pid" 5
  rm -f "$PIDFILE" "$PORTFILE"
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  status) if pid=$(running_pid); then echo "running (pid $pid)"; else echo "not running"; exit 1; fi ;;
  *) usage ;;
esac
