#!/usr/bin/env bash
# Stops everything scripts/twin-up.sh started: SIGTERM, then SIGKILL after TWIN_STOP_SECONDS (40).
# PostgreSQL goes last, once the copies that use it are gone. Leaves no process behind.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=${TWIN_DIR:-$root/tmp/twin}
limit=${TWIN_STOP_SECONDS:-40}

stop() { # pid files…
  local f pid deadline
  local pids=()
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  deadline=$(($(date +%s) + limit))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

[ -d "$dir/pids" ] || { echo "no twin in $dir"; exit 0; }
stop "$dir"/pids/nginx.pid "$dir"/pids/prometheus.pid
stop "$dir"/pids/app-*.pid
stop "$dir"/pids/postgres.pid
# PostgreSQL itself, should its JVM have died without stopping it: its postmaster (pid in the
# data directory), fast shutdown, then SIGKILL after 10 s (its backends exit with it).
pm=$(head -n 1 "$dir/postgres-data/postmaster.pid" 2>/dev/null || true)
if [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null && grep -q postgres "/proc/$pm/cmdline" 2>/dev/null; then
  kill -INT "$pm" 2>/dev/null
  deadline=$(($(date +%s) + 10))
  while kill -0 "$pm" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
  done
  kill -KILL "$pm" 2>/dev/null || true
fi
echo "twin: stopped"
