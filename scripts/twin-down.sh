#!/usr/bin/env bash
# Stops everything scripts/twin-up.sh started: SIGTERM, then SIGKILL after TWIN_STOP_SECONDS (40).
# PostgreSQL goes last, once the instances that use it are gone. Leaves no process behind.
# A pid from a pid file is signalled only while it is still ours: a live process whose command line
# names the twin's directory (twin-up.sh puts it on every command line). A pid file left by an instance
# that died (or was killed by a test) may by now name someone else's process: it is only removed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dir=$(realpath -m "${TWIN_DIR:-$root/tmp/twin}")
limit=${TWIN_STOP_SECONDS:-40}

# True if $1 is a live process started for this twin: one of its arguments is $dir or lies under it.
ours() {
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # nginx rewrites its arguments into one ("nginx: master process nginx -c …"): split on spaces too.
  tr '\0 ' '\n\n' <"/proc/$pid/cmdline" 2>/dev/null | awk -v d="$dir" '
    { sub(/^-[^=]*=/, "") }
    $0 == d || index($0, d "/") == 1 { found = 1 }
    END { exit !found }'
}

stop() { # pid files…
  local f pid deadline child
  local pids=()
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null
      pids+=("$pid")
    elif [ -n "$pid" ]; then
      echo "twin: $(basename "$f" .pid): pid $pid is gone (or no longer ours), left alone"
    fi
    rm -f "$f"
  done
  deadline=$(($(date +%s) + limit))
  for pid in "${pids[@]}"; do
    while ours "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.2
    done
    if ours "$pid"; then
      echo "twin: pid $pid did not stop within ${limit}s: SIGKILL"
      # Its children first (nginx's workers), while they are still known as its children.
      for child in $(pgrep -P "$pid" 2>/dev/null); do
        kill -KILL "$child" 2>/dev/null || true
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

[ -d "$dir/pids" ] || { echo "no twin in $dir"; exit 0; }
stop "$dir"/pids/nginx.pid "$dir"/pids/prometheus.pid "$dir"/pids/alertmanager.pid
stop "$dir"/pids/app-*.pid
stop "$dir"/pids/postgres.pid
# PostgreSQL itself, should its JVM have died without stopping it: its postmaster (pid in the
# data directory), fast shutdown, then SIGKILL after 10 s (its backends exit with it).
pm=$(head -n 1 "$dir/postgres-data/postmaster.pid" 2>/dev/null || true)
if [ -n "$pm" ] && ours "$pm"; then
  kill -INT "$pm" 2>/dev/null
  deadline=$(($(date +%s) + 10))
  while ours "$pm" && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
  done
  ours "$pm" && kill -KILL "$pm" 2>/dev/null
fi
echo "twin: stopped"
