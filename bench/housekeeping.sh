#!/usr/bin/env bash
# Housekeeping benchmark: what the three statements every instance sends once a heartbeat (expire
# pauses, retire undefined configuration tasks, skip misfires: TaskCommands) cost PostgreSQL per round,
# with TASKS tasks in the table, with the V7 indexes and without them. One instance of the jar (its
# scheduler off) migrates an embedded PostgreSQL 17; psql fills it; pgbench sends the round, as one
# transaction, from one client. Everything on 127.0.0.1; every process started here is stopped on exit.
#
#   bench/housekeeping.sh                 # about 1 minute
#   TASKS=20000 DURATION=5 bench/housekeeping.sh
#
# Settings (environment): TASKS (100000: 20 of them from configuration, a third SKIP, none due),
# DURATION seconds per measurement (10), JAR (target/starpets-*.jar, built if missing), BUILD_DIR (target).
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${TASKS:-100000}
DURATION=${DURATION:-10}
BUILD_DIR=${BUILD_DIR:-target}

die() { echo "housekeeping.sh: $*" >&2; exit 1; }
for tool in pgbench psql curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install postgresql-client curl python3)"
done
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
JAVA=$(starpets_java)
JAR=${JAR:-$(ls "$BUILD_DIR"/starpets-*.jar 2>/dev/null | head -1 || true)}
if [ -z "$JAR" ] || ! unzip -l "$JAR" 2>/dev/null | grep 'db/migration/V7__housekeeping_indexes.sql' >/dev/null; then
  echo "== building the jar into $BUILD_DIR"
  ./mvnw -q -B -Dbuild.dir="$BUILD_DIR" -DskipTests package
  JAR=$(ls "$BUILD_DIR"/starpets-*.jar | head -1)
fi

TMP=$(mktemp -d -t starpets-housekeeping.XXXXXX)
APP=
cleanup() {
  set +e
  [ -n "$APP" ] && starpets_stop "$APP"
  starpets_stop_postgres "$TMP/pg"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port)
PORT=$(free_port)
EMBEDDED_DB_DIR="$TMP/pg" EMBEDDED_DB_PORT="$PG_PORT" DB_HOST= PORT="$PORT" INSTANCE_ID=bench-housekeeping \
  SCHEDULER_ENABLED=false "$JAVA" -Xmx512m -jar "$JAR" >"$TMP/app.log" 2>&1 &
APP=$!
starpets_wait 120 curl -fs "http://127.0.0.1:$PORT/health" || { tail -30 "$TMP/app.log"; die "the instance did not start"; }

export PGPASSWORD=postgres
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d starpets -qAtX -v ON_ERROR_STOP=1)
"${PSQL[@]}" <<SQL
insert into tasks (name, handler, schedule, timeout_seconds, next_run_at, source, misfire_policy)
select 'task-' || g, 'sleep', '1h', 60, now() + interval '1 hour' + (g % 600) * interval '1 second',
       case when g % ($TASKS / 20) = 0 then 'CONFIG' else 'API' end,
       case when g % 3 = 0 then 'SKIP' else 'RUN_ONCE' end
  from generate_series(1, $TASKS) g;
-- A live instance defining the configuration tasks, as the running ones do.
insert into instances (id, host, version, session_key, started_at, heartbeat_at, state, config_tasks)
values ('bench-peer', 'bench', 'bench', 1, now(), now() + interval '1 day', 'RUNNING',
        (select array_agg(name) from tasks where source = 'CONFIG'));
vacuum analyze tasks;
SQL

# The round as TaskHousekeeping sends it (the statements of TaskCommands, the lease at its default 10 s).
cat >"$TMP/round.sql" <<'SQL'
begin;
update tasks set paused_at = null, paused_until = null, pause_reason = null, version = version + 1,
       updated_at = now()
 where paused_until <= now() returning name;
with live as (
    select config_tasks from instances
     where state = 'RUNNING' and heartbeat_at > now() - 10000 * interval '1 millisecond')
update tasks t set retired_at = now(), version = version + 1, updated_at = now()
 where t.source = 'CONFIG' and t.retired_at is null and exists (select 1 from live)
   and not exists (select 1 from live where config_tasks is null)
   and not exists (select 1 from live where t.name = any(config_tasks))
returning t.name;
select id, schedule, time_zone, next_run_at from tasks
 where misfire_policy = 'SKIP' and next_cause = 'SCHEDULE' and owner_session is null
   and next_run_at < now() and next_run_at < now() - misfire_threshold_ms * interval '1 millisecond';
commit;
SQL

measure() { # label: prints the mean and the round's server time
  local out
  out=$(pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared -c 1 -T "$DURATION" -f "$TMP/round.sql" starpets 2>&1) \
    || { echo "$out"; die "pgbench failed"; }
  printf '%-22s %s\n' "$1" "$(echo "$out" | awk -F' = ' '/latency average/ {print "round mean " $2}')"
}

echo "== $TASKS tasks, PostgreSQL $("${PSQL[@]}" -c 'show server_version'), one client, ${DURATION}s each"
measure "with the indexes"
"${PSQL[@]}" -c "drop index tasks_pause_end_idx, tasks_config_live_idx, tasks_skip_due_idx"
measure "without them"
