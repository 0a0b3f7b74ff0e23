package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * The engine's statements on the {@code tasks} table: definitions, shares, claims, leases, fences,
 * recovery. The claim is {@link #claim}. Readers use {@link TaskViews}.
 */
final class TaskRepository {

    private static final Logger log = LoggerFactory.getLogger(TaskRepository.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** The keys of the advisory locks held now, in this database: the sessions of live instances. */
    static final String HELD_LOCKS = """
            held as (
                select (l.classid::bigint << 32) | l.objid::bigint as key
                  from pg_locks l
                 where l.locktype = 'advisory' and l.granted and l.objsubid = 1
                   and l.database = (select oid from pg_database where datname = current_database())
            )""";

    /**
     * The moment since which every advisory lock held now was taken: the latest of the server's start
     * and the time stored in {@code scheduler_epoch}, an unlogged table that crash recovery empties and
     * that is empty on a promoted standby ({@code pg_postmaster_start_time()} moves with neither).
     * Null while that table is empty: then no missing lock proves anything, and the lease decides.
     * A lock seen held after this moment and missing now proves its session has ended.
     */
    static final String LOCK_EPOCH =
            "(select greatest(pg_postmaster_start_time(), e.started_at) from scheduler_epoch e where e.id = 1)";

    /**
     * Fills {@code scheduler_epoch} when it is empty (after a crash-restart or a promotion), with the
     * time of the statement that finds it so. Visible from the next statement on.
     */
    static final String FILL_EPOCH = """
            fill_epoch as (
                insert into scheduler_epoch (id, started_at)
                select 1, now() where not exists (select 1 from scheduler_epoch)
                on conflict (id) do nothing
            )""";

    /**
     * A run this instance has just claimed, with the task's definition as it was at the claim (a run
     * finishes under the definition it started with); its history row is already written as RUNNING.
     * {@code source}: {@code CONFIG} or {@code API}, where the task comes from.
     */
    record ClaimedRun(
            long taskId,
            String task,
            String handler,
            String schedule,
            String timeZone,
            Map<String, Object> params,
            Duration timeout,
            long fence,
            long runId,
            int attempt,
            Instant scheduledFor,
            Instant startedAt,
            String cause,
            Instant fireAt,
            TaskDefinition.RetryPolicy retry,
            TaskDefinition.MisfirePolicy misfire,
            int catchUps,
            Duration jitter,
            String source) {}

    /**
     * What an instance needs to take its fair share. Of {@code activeOrDue} tasks (running anywhere,
     * due, or claimed a moment ago) over {@code liveInstances}, every instance may hold the floor of
     * the quotient, and the instances ranked first by id one more each for the remainder: 12 tasks on
     * 5 instances give 3, 3, 2, 2, 2. {@code runningHere} counts this instance's runs and its claims of
     * a moment ago, so that short runs are shared too.
     */
    record Share(
            long activeOrDue,
            long liveInstances,
            long rank,
            long runningHere,
            long runningElsewhere,
            Duration nextDueIn) {

        int quota() {
            long instances = Math.max(1, liveInstances);
            long fair = activeOrDue / instances + (rank < activeOrDue % instances ? 1 : 0);
            return (int) Math.max(0, fair - runningHere);
        }
    }

    /**
     * A task whose instance was gone, made due again (or quarantined) by {@link #recoverOrphans}.
     * {@code counted}: the loss counted toward quarantine, for the reason {@code blame} gives.
     */
    record Recovered(
            String task,
            String formerInstance,
            long lostRunId,
            String reason,
            boolean quarantined,
            int lostStreak,
            boolean counted,
            String blame) {}

    /**
     * A task whose instance is gone, left owned by {@link #recoverOrphans} until its handler has
     * fenced off the lost run ({@link TaskHandler#fenceOff}).
     */
    record AwaitingFence(String task, String handler, long runId, Map<String, Object> params) {}

    /** What one recovery statement did: tasks recovered, and tasks left owned until their run is fenced off. */
    record Recovery(List<Recovered> recovered, List<AwaitingFence> awaitingFence) {}

    /** A run still owned, and whether an operator asked to cancel it. */
    record Renewed(long runId, boolean cancelRequested) {}

    /** A task owned by a session whose lock is missing: the lock was seen at {@code seenMicros}. */
    record LockMissing(long taskId, long seenMicros) {}

    /** How a run's end left its task. */
    record Finished(boolean released, String schedule, String timeZone) {}

    private static final NamedSql NOW = NamedSql.of("select now()");

    /** For the rest of the transaction. */
    private static final NamedSql LOCK_TIMEOUT = NamedSql.of("select set_config('lock_timeout', :ms, true)");

    /**
     * A task a claim may take once it is due ({@code and next_run_at <= now()}). The share query counts
     * and waits by the same rule: a task no claim would take (paused, quarantined, retired) neither
     * raises the shares nor keeps the claim loop waking for it. Reads {@code tasks_due_idx}.
     */
    static final String CLAIMABLE = """
            enabled and owner_session is null and quarantined_at is null and retired_at is null
                   -- A paused task runs only when an operator triggers it.
                   and (paused_at is null or next_cause = 'TRIGGER')
                   -- Missed by more than its threshold: skipped (TaskCommands.skipMisfires moves it on).
                   and not (misfire_policy = 'SKIP' and next_cause = 'SCHEDULE'
                            and next_run_at < now() - misfire_threshold_ms * interval '1 millisecond')""";

    // Sent before every claim, so each part reads an index and its cost grows with the work (tasks
    // running, due or just claimed), not with the table: tasks_owner_idx, tasks_due_idx,
    // tasks_claimed_idx. Package-visible: QueryPlanTest checks the plan.
    static final NamedSql SHARE = NamedSql.of("""
            with live as (
                select id, session_key, claiming
                  from instances
                 where state = 'RUNNING' and heartbeat_at > now() - :lease * interval '1 millisecond'
            ), peers as (
                -- Only instances that can claim now share the work (this one, claiming, is counted as it).
                select count(*) filter (where id <> :instance and claiming) + 1 as live_plus_me,
                       count(*) filter (where id < :instance and claiming) as rank
                  from live
            ), owned as (
                -- Runs of a live instance that cannot claim are outside the split, as that instance is.
                select count(*) filter (where owner_session not in (select session_key from live
                                                                     where not claiming and session_key <> :key))
                           as owned,
                       count(*) filter (where owner_session = :key) as here,
                       count(*) filter (where owner_session <> :key
                                           and owner_session in (select session_key from live)) as elsewhere
                  from tasks
                 where owner_session is not null
            ), due as (
                select count(*) as due from tasks where %1$s and next_run_at <= now()
            ), recent as (
                -- Claimed a moment ago and ended already (short runs): still in their claimer's share,
                -- unless due again.
                select count(*) as recent, count(*) filter (where last_claimed_by = :key) as recent_here
                  from tasks
                 where owner_session is null and last_claimed_at > now() - :window * interval '1 millisecond'
                   and not (%1$s and next_run_at <= now())
            ), next_due as (
                select extract(epoch from min(next_run_at) - now()) as next_due_in from tasks where %1$s
            )
            select live_plus_me, rank, owned + due + recent as active_or_due, here + recent_here as running_here,
                   elsewhere as running_elsewhere, next_due_in
              from peers, owned, due, recent, next_due
            """.formatted(CLAIMABLE));

    private static final NamedSql CLAIM = NamedSql.of("""
            with %1$s, me as (
                select exists (select 1 from held where key = :key) as holds_lock
            ), due as (
                select id from tasks
                 where %2$s and next_run_at <= now()
                   -- No claim without this instance's own session lock held at this moment.
                   and (select holds_lock from me)
                   -- Nor of a task whose earlier run's handler has not returned in this process.
                   and id <> all(cast(:busy as bigint[]))
                 order by next_run_at, id
                 limit :quota
                 for update skip locked
            ), claimed as (
                update tasks t
                   set owner_instance = :instance, owner_session = :key,
                       lease_until = now() + :lease * interval '1 millisecond',
                       fence = t.fence + 1,
                       current_run_id = nextval(pg_get_serial_sequence('task_runs', 'id')),
                       started_at = now(), progress = null, stuck_since = null, cancel_requested = false,
                       updated_at = now(), owner_lock_seen_at = now(), last_claimed_by = :key, last_claimed_at = now()
                  from due
                 where t.id = due.id
                returning t.id, t.name, t.handler, t.schedule, t.time_zone, t.params::text as params,
                          t.timeout_seconds, t.fence, t.current_run_id, t.next_attempt, t.next_run_at,
                          t.started_at, t.next_cause, coalesce(t.next_fire_at, t.next_run_at) as fire_at,
                          t.retry::text as retry, t.misfire_policy, t.misfire_threshold_ms, t.catch_up_limit,
                          t.catch_up_window_ms, t.catch_ups, t.jitter_ms, t.source
            ), runs as (
                insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for, started_at,
                                       status, attempt, cause)
                select current_run_id, id, name, :instance, fence, next_run_at, started_at, 'RUNNING', next_attempt,
                       next_cause
                  from claimed
            )
            select * from claimed order by next_run_at
            """.formatted(HELD_LOCKS, CLAIMABLE));

    private static final NamedSql RENEW = NamedSql.of("""
            update tasks
               set lease_until = now() + :lease * interval '1 millisecond', owner_lock_seen_at = now()
             where owner_session = :key and current_run_id = any(:runs)
            returning current_run_id, cancel_requested
            """);

    // Every heartbeat of a busy instance: reads tasks_current_run_idx. Package-visible: QueryPlanTest.
    static final NamedSql PROGRESS = NamedSql.of("""
            update tasks t set progress = p.progress
              from unnest(cast(:runs as bigint[]), cast(:values as float8[])) as p(run_id, progress)
             where t.current_run_id = p.run_id
            """);

    private static final NamedSql FINISH = NamedSql.of("""
            with released as (
                update tasks
                   set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                       started_at = null, progress = null, stuck_since = null, owner_lock_seen_at = null,
                       cancel_requested = false, lost_streak = 0, last_run_id = current_run_id,
                       -- An operator's trigger queued while the run was in progress: due at once.
                       next_run_at = case when trigger_queued or :due_now then now()
                                          else cast(:next as timestamptz) end,
                       next_fire_at = case when trigger_queued or :due_now then now()
                                           else cast(:fire as timestamptz) end,
                       next_cause = case when trigger_queued then 'TRIGGER' else :cause end,
                       next_attempt = case when trigger_queued then 1 else :attempt end,
                       catch_ups = :catch_ups, trigger_queued = false, updated_at = now()
                 where id = :task and fence = :fence and owner_session = :key
                returning id, schedule, time_zone, next_cause
            ), ended as (
                update task_runs
                   set status = :status, finished_at = now(), error = :error,
                       progress = coalesce(cast(:progress as float8), progress),
                       output = cast(:output as text), result = cast(:result as jsonb)
                 where id = :run and status = 'RUNNING' and exists (select 1 from released)
            )
            select exists (select 1 from released) as released,
                   (select schedule from released) as schedule, (select time_zone from released) as time_zone,
                   -- Due at once: wake the other instances' claim loops.
                   case when (:due_now or (select next_cause from released) = 'TRIGGER')
                             and exists (select 1 from released)
                        then pg_notify('%s', '') end
            """.formatted(SessionWatch.CHANNEL));

    private static final NamedSql RESCHEDULE = NamedSql.of("""
            update tasks set next_run_at = cast(:next as timestamptz), next_fire_at = cast(:next as timestamptz),
                   updated_at = now()
             where id = :task and fence = :fence and owner_session is null and next_cause = 'SCHEDULE'
            """);

    private static final NamedSql MARK_STUCK = NamedSql.of("""
            with marked as (
                update tasks set stuck_since = now(), updated_at = now()
                 where id = :task and fence = :fence and owner_session = :key
                returning id
            )
            update task_runs set status = :status, finished_at = now(), error = :error
             where id = :run and status = 'RUNNING' and exists (select 1 from marked)
            """);

    private static final NamedSql LOCK_MISSING = NamedSql.of("""
            with %s, %s
            select t.id, (extract(epoch from t.owner_lock_seen_at) * 1000000)::bigint as seen
              from tasks t
             where t.owner_session is not null and t.lease_until >= now()
               and t.owner_lock_seen_at > %s
               and t.owner_session not in (select key from held)
            """.formatted(HELD_LOCKS, FILL_EPOCH, LOCK_EPOCH));

    private static final NamedSql RECOVER = NamedSql.of("""
            with %1$s, eligible as (
                select * from unnest(cast(:ids as bigint[]), cast(:seen as bigint[])) as e(id, seen)
            ), orphaned as (
                select t.id, t.name, t.handler, t.params, t.owner_instance, t.current_run_id,
                       case when t.lease_until < now() then 'lease expired'
                            else 'database session ended' end as reason,
                       -- Its handler must first fence off the lost run (TaskHandler.fenceOff), unless it has.
                       t.current_run_id is not null and t.handler = any(cast(:fenced_handlers as text[]))
                           and t.current_run_id <> all(cast(:fenced_runs as bigint[])) as awaiting_fence,
                       -- Whether the task may have caused the loss (docs/scheduler.md, quarantine): its process
                       -- said so as it halted; else its instance is proven dead (lock seen since the epoch,
                       -- gone now: not frozen, not cut off by a failover) within the window after the start.
                       case when r.halt_culprit then 'its handler made its process halt'
                            when not r.halt_culprit then 'its process halted for another run'
                            when t.owner_session in (select key from held) then 'its instance still holds its lock'
                            when coalesce(t.owner_lock_seen_at <= %2$s, true) then 'its instance is not proven dead'
                            when :window > 0 and t.owner_lock_seen_at >= t.started_at + :window * interval '1 millisecond'
                                 then 'its instance died after the quarantine window'
                            else 'its instance died within the quarantine window' end as blame,
                       coalesce(r.halt_culprit,
                                t.owner_session not in (select key from held) and t.owner_lock_seen_at > %2$s
                                and (:window = 0
                                     or t.owner_lock_seen_at < t.started_at + :window * interval '1 millisecond'),
                                false) as counted
                  from tasks t left join task_runs r on r.id = t.current_run_id
                 where t.owner_session is not null
                   and (t.lease_until < now()
                        or (t.owner_session not in (select key from held)
                            and exists (select 1 from eligible e
                                         where e.id = t.id
                                           and e.seen = (extract(epoch from t.owner_lock_seen_at) * 1000000)::bigint)))
                   for update of t skip locked
            ), lost as (
                update task_runs r
                   set status = 'LOST', finished_at = now(),
                       error = 'instance ' || o.owner_instance || ' is gone (' || o.reason || ')'
                  from orphaned o
                 where r.id = o.current_run_id and r.status = 'RUNNING' and not o.awaiting_fence
            ), released as (
                update tasks t
                   set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                       started_at = null, progress = null, stuck_since = null, owner_lock_seen_at = null,
                       cancel_requested = false, last_run_id = o.current_run_id, next_run_at = now(),
                       next_fire_at = now(), next_cause = 'RECOVERY', next_attempt = t.next_attempt + 1,
                       fence = t.fence + 1,
                       -- Only losses the task may have caused count; the others neither count nor clear the streak.
                       lost_streak = t.lost_streak + case when o.counted then 1 else 0 end,
                       -- Lost again and again (a handler that kills its process): quarantined.
                       quarantined_at = case when o.counted and :quarantine_after > 0
                                                  and t.lost_streak + 1 >= :quarantine_after then now()
                                             else t.quarantined_at end,
                       updated_at = now()
                  from orphaned o
                 where t.id = o.id and not o.awaiting_fence
                returning t.id, t.name, t.quarantined_at is not null as quarantined, t.lost_streak
            )
            select r.name, o.owner_instance, o.current_run_id, o.reason, r.quarantined, r.lost_streak,
                   false as awaiting_fence, null as handler, null as params, o.counted, o.blame
              from released r join orphaned o on o.id = r.id
            union all
            select o.name, o.owner_instance, o.current_run_id, o.reason, false, 0, true, o.handler, o.params::text,
                   o.counted, o.blame
              from orphaned o
             where o.awaiting_fence
            """.formatted(HELD_LOCKS, LOCK_EPOCH));

    /**
     * Written just before this process halts itself: which runs made it halt (their handler ignored
     * interruption past its hold) and which were merely halted with them. Only while they are RUNNING.
     */
    private static final NamedSql RECORD_HALT = NamedSql.of("""
            update task_runs set halt_culprit = id = any(cast(:culprits as bigint[]))
             where id = any(cast(:runs as bigint[])) and status = 'RUNNING'
            """);

    /**
     * The run still holds its task: same fence, still its current run, still owned. Shared, so that a
     * renewal (which updates the row) waits at most for the commit, while a takeover (recovery, a
     * claim: both lock the row for update) cannot happen until the transaction holding it ends.
     */
    /** Through a function of the schema's owner (V13): sql tasks run as a role with no right on tasks. */
    private static final NamedSql LOCK_FENCE = NamedSql.of("select starpets_lock_fence(:task, :fence, :run)");

    private static final NamedSql NOTIFY = NamedSql.of("select pg_notify('" + SessionWatch.CHANNEL + "', '')");

    /** The database's clock, the only clock due times are computed from. */
    Instant now(Connection c) throws SQLException {
        return dbNow(c);
    }

    static Instant dbNow(Connection c) throws SQLException {
        try (var st = NOW.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return instant(rs, "now");
        }
    }

    Share share(Connection c, String instanceId, long sessionKey, Duration lease, Duration window) throws SQLException {
        try (var st = SHARE.prepare(c)
                        .set("instance", instanceId)
                        .set("lease", lease)
                        .set("key", sessionKey)
                        .set("window", window);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            double nextDue = rs.getDouble("next_due_in");
            Duration nextDueIn = rs.wasNull() ? null : Duration.ofNanos((long) (Math.max(0, nextDue) * 1e9));
            return new Share(
                    rs.getLong("active_or_due"),
                    rs.getLong("live_plus_me"),
                    rs.getLong("rank"),
                    rs.getLong("running_here"),
                    rs.getLong("running_elsewhere"),
                    nextDueIn);
        }
    }

    /**
     * The claim: in one statement, and only while this instance's session lock is held, locks up to
     * {@code quota} due unowned tasks (skipping rows other instances are claiming), makes this instance
     * their owner with a lease and a new fence, and writes each run's history row.
     *
     * <p>The claim is committed before its rows are read, so each row is read on its own: a row this
     * version cannot read (a definition stored by another version, or by hand) ends its run FAILED
     * with the reason, at once, and the others run. The task is not lost: it waits for its next time.
     */
    List<ClaimedRun> claim(Connection c, String instanceId, long sessionKey, Duration lease, int quota)
            throws SQLException {
        return claim(c, instanceId, sessionKey, lease, quota, new long[0]);
    }

    /** As above, never taking the tasks {@code busyTaskIds}: their earlier run's handler still executes here. */
    List<ClaimedRun> claim(
            Connection c, String instanceId, long sessionKey, Duration lease, int quota, long[] busyTaskIds)
            throws SQLException {
        List<ClaimedRun> runs = new ArrayList<>();
        List<Unreadable> unreadable = new ArrayList<>();
        try (var st = CLAIM.prepare(c)
                        .set("quota", quota)
                        .set("busy", busyTaskIds)
                        .set("instance", instanceId)
                        .set("key", sessionKey)
                        .set("lease", lease);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                try {
                    runs.add(claimedRun(rs));
                } catch (RuntimeException e) {
                    unreadable.add(new Unreadable(
                            rs.getLong("id"),
                            rs.getString("name"),
                            rs.getLong("fence"),
                            rs.getLong("current_run_id"),
                            rs.getString("schedule"),
                            rs.getString("time_zone"),
                            e.getMessage() == null ? e.toString() : e.getMessage()));
                }
            }
        }
        for (Unreadable u : unreadable) {
            failUnreadable(c, sessionKey, u);
        }
        return runs;
    }

    /** A claimed row whose definition could not be read. */
    private record Unreadable(
            long taskId, String task, long fence, long runId, String schedule, String timeZone, String reason) {}

    private static ClaimedRun claimedRun(ResultSet rs) throws SQLException {
        return new ClaimedRun(
                rs.getLong("id"),
                rs.getString("name"),
                rs.getString("handler"),
                rs.getString("schedule"),
                rs.getString("time_zone"),
                JSON.readValue(rs.getString("params"), new TypeReference<Map<String, Object>>() {}),
                Duration.ofNanos((long) (rs.getDouble("timeout_seconds") * 1e9)),
                rs.getLong("fence"),
                rs.getLong("current_run_id"),
                rs.getInt("next_attempt"),
                instant(rs, "next_run_at"),
                instant(rs, "started_at"),
                rs.getString("next_cause"),
                instant(rs, "fire_at"),
                TaskColumns.retry(rs.getString("retry")),
                TaskColumns.misfire(rs),
                rs.getInt("catch_ups"),
                Duration.ofMillis(rs.getLong("jitter_ms")),
                rs.getString("source"));
    }

    /**
     * Ends the run of a row that could not be read FAILED, with the reason, and gives the task back due
     * at its schedule's next time (none if the schedule cannot be read either: a new definition sets
     * one). Should this fail too, the run stays with this instance unrenewed and is ended when its
     * lease runs out.
     */
    private void failUnreadable(Connection c, long sessionKey, Unreadable u) {
        String error = "the task's definition as stored cannot be read: " + u.reason();
        try {
            end(
                    c,
                    u.taskId(),
                    u.fence(),
                    u.runId(),
                    sessionKey,
                    NextRun.scheduled(NextRunPlan.nextOrNull(u.schedule(), u.timeZone(), now(c))),
                    RunStatus.FAILED,
                    error,
                    null,
                    null,
                    null);
            log.error("Run {} of {} FAILED: {}", u.runId(), u.task(), error);
        } catch (SQLException | RuntimeException e) {
            log.error("Run {} of {} could not be read ({}), nor ended: {}", u.runId(), u.task(), error, e.getMessage());
        }
    }

    /**
     * Extends the leases of the runs alive in this process (and no others); returns those still owned.
     * A row another transaction holds locked is waited for at most a tenth of the lease: then the
     * renewal fails (the heartbeat tries again soon) instead of holding the heartbeat thread for as long
     * as the lock is held.
     */
    List<Renewed> renewLeases(Connection c, long sessionKey, Duration lease, long[] aliveRunIds) throws SQLException {
        if (aliveRunIds.length == 0) {
            return List.of();
        }
        return inTransaction(c, lease.dividedBy(10), () -> {
            try (var st = RENEW.prepare(c)
                            .set("lease", lease)
                            .set("key", sessionKey)
                            .set("runs", aliveRunIds);
                    ResultSet rs = st.executeQuery()) {
                List<Renewed> owned = new ArrayList<>();
                while (rs.next()) {
                    owned.add(new Renewed(rs.getLong(1), rs.getBoolean(2)));
                }
                return owned;
            }
        });
    }

    /**
     * In the caller's transaction: locks the task's row while run {@code runId} holds it with
     * {@code fence}, waiting for it at most {@code wait}; false when it does not hold it any more.
     */
    static boolean lockFence(Connection c, String task, long runId, long fence, Duration wait) throws SQLException {
        setLockTimeout(c, wait);
        try (var st = LOCK_FENCE
                        .prepare(c)
                        .set("task", task)
                        .set("fence", fence)
                        .set("run", runId);
                ResultSet rs = st.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    @FunctionalInterface
    interface Work<T> {
        T run() throws SQLException;
    }

    /**
     * Runs {@code work} in a transaction of its own on {@code c} in which no row lock is waited for
     * longer than {@code lockTimeout} (an error then, SQLSTATE 55P03); restores the connection's
     * auto-commit after.
     */
    static <T> T inTransaction(Connection c, Duration lockTimeout, Work<T> work) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            setLockTimeout(c, lockTimeout);
            T result = work.run();
            c.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // The connection is broken: the server rolls back when it notices.
            }
            throw e;
        } finally {
            if (!c.isClosed()) {
                c.setAutoCommit(autoCommit);
            }
        }
    }

    /** Writes the progress of runs in progress, all in one statement. */
    void writeProgress(Connection c, long[] runIds, double[] progress) throws SQLException {
        if (runIds.length == 0) {
            return;
        }
        try (var st = PROGRESS.prepare(c).set("runs", runIds).set("values", progress)) {
            st.executeUpdate();
        }
    }

    /**
     * Ends a run in one statement: gives the task back (unowned, due as {@code next} says, or at once
     * if an operator's trigger was queued) and writes the run's terminal status, output and result,
     * both only while the fence still holds. Nothing is written when another instance has taken the
     * task over. If the task's schedule was changed while it ran, its next time is computed again
     * from the new one.
     */
    boolean finish(
            Connection c,
            ClaimedRun run,
            long sessionKey,
            NextRun next,
            RunStatus status,
            String error,
            RunContext context)
            throws SQLException {
        Finished finished = end(
                c,
                run.taskId(),
                run.fence(),
                run.runId(),
                sessionKey,
                next,
                status,
                error,
                context.progress(),
                context.output(),
                context.result().isEmpty() ? null : JSON.writeValueAsString(context.result()));
        if (finished.released()
                && NextRunPlan.followsEditedSchedule(
                        next, run.schedule(), run.timeZone(), finished.schedule(), finished.timeZone())) {
            Instant rescheduled = NextRunPlan.nextOrNull(finished.schedule(), finished.timeZone(), now(c));
            try (var st = RESCHEDULE
                    .prepare(c)
                    .set("next", rescheduled)
                    .set("task", run.taskId())
                    .set("fence", run.fence())) {
                st.executeUpdate();
            }
        }
        return finished.released();
    }

    private static Finished end(
            Connection c,
            long taskId,
            long fence,
            long runId,
            long sessionKey,
            NextRun next,
            RunStatus status,
            String error,
            Double progress,
            String output,
            String resultJson)
            throws SQLException {
        try (var st = FINISH.prepare(c)
                        .set("due_now", next.dueNow())
                        .set("next", next.next())
                        .set("fire", next.fireAt())
                        .set("cause", next.cause().name())
                        .set("attempt", next.attempt())
                        .set("catch_ups", next.catchUps())
                        .set("task", taskId)
                        .set("fence", fence)
                        .set("key", sessionKey)
                        .set("status", status.name())
                        .set("error", error)
                        .set("progress", progress)
                        .set("output", output)
                        .set("result", resultJson)
                        .set("run", runId);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return new Finished(rs.getBoolean("released"), rs.getString("schedule"), rs.getString("time_zone"));
        }
    }

    /** For the rest of the caller's transaction: no row lock is waited for longer (at least a millisecond). */
    private static void setLockTimeout(Connection c, Duration wait) throws SQLException {
        try (var st = LOCK_TIMEOUT.prepare(c).set("ms", Long.toString(Math.max(1, wait.toMillis())));
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }

    /** Records a run ended (timed out) while its handler still executes; the task stays owned, shown STUCK. */
    void markStuck(Connection c, ClaimedRun run, long sessionKey, RunStatus status, String error) throws SQLException {
        try (var st = MARK_STUCK
                .prepare(c)
                .set("task", run.taskId())
                .set("fence", run.fence())
                .set("key", sessionKey)
                .set("status", status.name())
                .set("error", error)
                .set("run", run.runId())) {
            st.executeUpdate();
        }
    }

    /**
     * Tasks owned by a session whose lock is missing, though it was seen held since the locks held now
     * were taken ({@link #LOCK_EPOCH}). Fills that epoch first if a crash-restart or a promotion emptied it.
     */
    List<LockMissing> findLockMissing(Connection c) throws SQLException {
        try (var st = LOCK_MISSING.prepare(c);
                ResultSet rs = st.executeQuery()) {
            List<LockMissing> missing = new ArrayList<>();
            while (rs.next()) {
                missing.add(new LockMissing(rs.getLong(1), rs.getLong(2)));
            }
            return missing;
        }
    }

    /**
     * Ends the runs of instances that are gone, marks them LOST, and makes their tasks due at once
     * with a new fence, so that the old owner can write nothing: tasks whose lease has expired, and
     * the {@code eligible} ones whose owner's lock is still missing and was last seen when it was.
     * Tasks whose handler is one of {@code fencedHandlers} are left owned (returned as awaiting their
     * fence) unless their lost run is one of {@code fencedRuns}.
     */
    Recovery recoverOrphans(
            Connection c,
            List<LockMissing> eligible,
            int quarantineAfter,
            Duration quarantineWindow,
            String[] fencedHandlers,
            long[] fencedRuns)
            throws SQLException {
        long[] ids = eligible.stream().mapToLong(LockMissing::taskId).toArray();
        long[] seen = eligible.stream().mapToLong(LockMissing::seenMicros).toArray();
        try (var st = RECOVER.prepare(c)
                        .set("ids", ids)
                        .set("seen", seen)
                        .set("quarantine_after", quarantineAfter)
                        .set("window", quarantineWindow)
                        .set("fenced_handlers", fencedHandlers)
                        .set("fenced_runs", fencedRuns);
                ResultSet rs = st.executeQuery()) {
            List<Recovered> recovered = new ArrayList<>();
            List<AwaitingFence> awaiting = new ArrayList<>();
            while (rs.next()) {
                if (rs.getBoolean("awaiting_fence")) {
                    awaiting.add(new AwaitingFence(
                            rs.getString(1),
                            rs.getString("handler"),
                            rs.getLong(3),
                            JSON.readValue(rs.getString("params"), new TypeReference<Map<String, Object>>() {})));
                } else {
                    recovered.add(new Recovered(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getLong(3),
                            rs.getString(4),
                            rs.getBoolean(5),
                            rs.getInt(6),
                            rs.getBoolean("counted"),
                            rs.getString("blame")));
                }
            }
            return new Recovery(recovered, awaiting);
        }
    }

    /** Records, before this process halts, the runs that made it halt and those halted with them. */
    void recordHalt(Connection c, long[] culprits, long[] runs) throws SQLException {
        try (var st = RECORD_HALT.prepare(c).set("culprits", culprits).set("runs", runs)) {
            st.executeUpdate();
        }
    }

    void notifyTasksChanged(Connection c) throws SQLException {
        try (var st = NOTIFY.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }
}
