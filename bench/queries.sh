#!/usr/bin/env bash
# Query cost benchmark: what the statements every instance sends whatever the work cost PostgreSQL as
# the tasks table grows — the housekeeping round once a heartbeat (expire pauses, retire undefined
# configuration tasks, skip misfires: TaskCommands) and the share query before every claim
# (TaskRepository.SHARE) — with the indexes of V7/V8 and without them, and the share query as it was
# before V8 (one pass over tasks) for reference. One instance of the jar (its scheduler off) migrates
# an embedded PostgreSQL 17; psql fills it; pgbench sends each statement (the round as one
# transaction) from one client. Everything on 127.0.0.1; every process started here is stopped on exit.
#
#   bench/queries.sh                      # about 1 minute
#   TASKS=20000 DURATION=5 bench/queries.sh
#
# Settings (environment): TASKS (100000: 20 of them from configuration, a third SKIP, none due, 50
# running on a live instance), DURATION seconds per measurement (10), JAR (starpets-service/target/starpets-service-*.jar,
# built if missing), BUILD_DIR (target). The statements are copies of the service's (as of V8):
# QueryPlanTest checks that the service's own read these indexes.
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${TASKS:-100000}
DURATION=${DURATION:-10}
BUILD_DIR=${BUILD_DIR:-target}

die() { echo "queries.sh: $*" >&2; exit 1; }
for tool in pgbench psql curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install postgresql-client curl python3)"
done
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
JAVA=$(starpets_java)
JAR=$(starpets_bench_jar "$BUILD_DIR" BOOT-INF/lib/starpets-scheduler-)

TMP=$(mktemp -d -t starpets-queries.XXXXXX)
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
EMBEDDED_DB_DIR="$TMP/pg" EMBEDDED_DB_PORT="$PG_PORT" DB_HOST= PORT="$PORT" INSTANCE_ID=bench-queries \
  SCHEDULER_ENABLED=false "$JAVA" -Xmx512m -jar "$JAR" >"$TMP/app.log" 2>&1 &
APP=$!
starpets_wait 120 curl -fs "http://127.0.0.1:$PORT/health" || { tail -30 "$TMP/app.log"; die "the instance did not start"; }

export PGPASSWORD=postgres
# StarPets' tables are in its schema (DB_SCHEMA, default starpets): psql and pgbench find them unqualified.
export PGOPTIONS="-c search_path=starpets"
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
        (select array_agg(name) from tasks where source = 'CONFIG')),
       ('bench-me', 'bench', 'bench', 2, now(), now() + interval '1 day', 'RUNNING',
        (select array_agg(name) from tasks where source = 'CONFIG'));
-- 50 running there.
update tasks set owner_session = 1, owner_instance = 'bench-peer', lease_until = now() + interval '1 day',
       last_claimed_by = 1, last_claimed_at = now()
 where id in (select id from tasks order by id limit 50);
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

# The share query as TaskRepository sends it (asked by a second live instance, session 2).
claimable="enabled and owner_session is null and quarantined_at is null and retired_at is null
       and (paused_at is null or next_cause = 'TRIGGER')
       and not (misfire_policy = 'SKIP' and next_cause = 'SCHEDULE'
                and next_run_at < now() - misfire_threshold_ms * interval '1 millisecond')"
live="live as (select id, session_key from instances
               where state = 'RUNNING' and heartbeat_at > now() - 10000 * interval '1 millisecond'),
     peers as (select count(*) filter (where id <> 'bench-me') + 1 as live_plus_me,
                      count(*) filter (where id < 'bench-me') as rank from live)"
cat >"$TMP/share.sql" <<SQL
with $live, owned as (
    select count(*) as owned, count(*) filter (where owner_session = 2) as here,
           count(*) filter (where owner_session <> 2 and owner_session in (select session_key from live)) as elsewhere
      from tasks where owner_session is not null
), due as (select count(*) as due from tasks where $claimable and next_run_at <= now()
), recent as (
    select count(*) as recent, count(*) filter (where last_claimed_by = 2) as recent_here from tasks
     where owner_session is null and last_claimed_at > now() - 50 * interval '1 millisecond'
       and not ($claimable and next_run_at <= now())
), next_due as (select extract(epoch from min(next_run_at) - now()) as next_due_in from tasks where $claimable)
select live_plus_me, rank, owned + due + recent, here + recent_here, elsewhere, next_due_in
  from peers, owned, due, recent, next_due;
SQL
# Before V8: one pass over tasks.
cat >"$TMP/share-one-pass.sql" <<SQL
with $live, work as (
    select count(*) filter (where owner_session is not null or (enabled and next_run_at <= now())
                               or last_claimed_at > now() - 50 * interval '1 millisecond') as active_or_due,
           count(*) filter (where owner_session = 2
                               or (owner_session is null and last_claimed_by = 2
                                   and last_claimed_at > now() - 50 * interval '1 millisecond'
                                   and not (enabled and next_run_at <= now()))) as running_here,
           count(*) filter (where owner_session <> 2 and owner_session in (select session_key from live))
               as running_elsewhere,
           extract(epoch from min(next_run_at) filter (where owner_session is null and enabled) - now())
               as next_due_in
      from tasks)
select * from peers, work;
SQL

measure() { # label, script: prints the mean time of one execution
  local out
  out=$(pgbench -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared -c 1 -T "$DURATION" -f "$TMP/$2" starpets 2>&1) \
    || { echo "$out"; die "pgbench failed"; }
  printf '| %-52s | %10s |\n' "$1" "$(echo "$out" | awk -F' = ' '/latency average/ {print $2}')"
}

echo "== $TASKS tasks, PostgreSQL $("${PSQL[@]}" -c 'show server_version'), one client, ${DURATION}s each"
printf '| %-52s | %10s |\n|%s|%s|\n' "statement" "mean" "$(printf -- '-%.0s' {1..54})" "-----------:"
measure "housekeeping round" round.sql
measure "share query" share.sql
measure "share query, one pass over tasks (before V8)" share-one-pass.sql
"${PSQL[@]}" -c "drop index tasks_pause_end_idx, tasks_config_live_idx, tasks_skip_due_idx, tasks_claimed_idx"
measure "housekeeping round without the V7 indexes" round.sql
measure "share query without the V8 index" share.sql
