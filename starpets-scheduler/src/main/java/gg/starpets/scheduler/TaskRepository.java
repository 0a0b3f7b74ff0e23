package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's statements on the {@code tasks} table through a run: the claim ({@link #claim}),
 * leases, progress, fences and the run's end. The shares are {@link ShareRepository}'s, recovery is
 * {@link OrphanRepository}'s; readers use {@link TaskViews}.
 */
final class TaskRepository {

    private static final Logger log = LoggerFactory.getLogger(TaskRepository.class);

    /** How a run's end left its task. */
    record Finished(boolean released, String schedule, String timeZone) {}

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

    private static final NamedSql FINISH =
            NamedSql.of("""
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
                   set status = :status, finished_at = greatest(now(), started_at), error = :error,
                       progress = coalesce(cast(:progress as float8), progress),
                       output = cast(:output as text), result = cast(:result as jsonb)
                 where id = :run and status = 'RUNNING' and exists (select 1 from released)
                returning id, task_id, status, scheduled_for
            ), %s
            select exists (select 1 from released) as released,
                   (select schedule from released) as schedule, (select time_zone from released) as time_zone,
                   -- Due at once (or a run after this one asked for): wake the other instances' claim loops.
                   case when ((:due_now or (select next_cause from released) = 'TRIGGER')
                              and exists (select 1 from released))
                             or exists (select 1 from downstream)
                        then pg_notify('%s', '') end
            """.formatted(OneOffRepository.startDownstream("ended", ""), SessionWatch.CHANNEL));

    private static final NamedSql RESCHEDULE = NamedSql.of("""
            update tasks set next_run_at = cast(:next as timestamptz), next_fire_at = cast(:next as timestamptz),
                   updated_at = now()
             where id = :task and fence = :fence and owner_session is null and next_cause = 'SCHEDULE'
            """);

    private static final NamedSql MARK_STUCK =
            NamedSql.of("""
            with marked as (
                update tasks set stuck_since = now(), updated_at = now()
                 where id = :task and fence = :fence and owner_session = :key
                returning id
            ), ended as (
                update task_runs set status = :status, finished_at = greatest(now(), started_at), error = :error
                 where id = :run and status = 'RUNNING' and exists (select 1 from marked)
                returning id, task_id, status, scheduled_for
            ), %s
            select case when exists (select 1 from downstream) then pg_notify('%s', '') end
            """.formatted(OneOffRepository.startDownstream("ended", ""), SessionWatch.CHANNEL));

    /**
     * The run still holds its task: same fence, still its current run, still owned. Shared, so that a
     * renewal (which updates the row) waits at most for the commit, while a takeover (recovery, a
     * claim: both lock the row for update) cannot happen until the transaction holding it ends.
     * Through a function of the schema's owner (V13): sql tasks run as a role with no right on tasks.
     * Named with its schema where the connection's search_path is not StarPets' (sql tasks' own).
     */
    private static final String LOCK_FENCE = "select %sstarpets_lock_fence(:task, :fence, :run)";

    private static final NamedSql NOTIFY = NamedSql.of("select pg_notify('" + SessionWatch.CHANNEL + "', '')");

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
        return claim(
                c,
                instanceId,
                sessionKey,
                lease,
                quota,
                new long[0],
                Capacity.Room.UNLIMITED,
                null,
                true,
                Duration.ZERO);
    }

    /** The starvation bound, which only the claim by priority reads. */
    private static NamedSql.Statement bindAging(NamedSql.Statement st, Capacity.Room room, Duration aging)
            throws SQLException {
        return room.limited() ? st.set("aging", aging) : st;
    }

    /**
     * As above, never taking the tasks {@code busyTaskIds} (their earlier run's handler still executes
     * here), and only as many due tasks, in order, as their costs fit in {@code room}: by due time with
     * no capacity, by priority with one ({@link ClaimSql#CLAIM_BY_PRIORITY}; {@code aging}: its starvation
     * bound). {@code groupLimits} false (the share query saw no group with a limit): without the claim's
     * group steps, taking no task of a group with a limit ({@link ClaimSql#CLAIM_UNGROUPED}). {@code ahead}:
     * tasks due within this long are claimed too ({@link SchedulerSettings#claimAhead()}).
     */
    List<ClaimedRun> claim(
            Connection c,
            String instanceId,
            long sessionKey,
            Duration lease,
            int quota,
            long[] busyTaskIds,
            Capacity.Room room,
            Duration aging,
            boolean groupLimits,
            Duration ahead)
            throws SQLException {
        List<ClaimedRun> runs = new ArrayList<>();
        List<Unreadable> unreadable = new ArrayList<>();
        NamedSql claim = groupLimits
                ? (room.limited() ? ClaimSql.CLAIM_BY_PRIORITY : ClaimSql.CLAIM)
                : (room.limited() ? ClaimSql.CLAIM_BY_PRIORITY_UNGROUPED : ClaimSql.CLAIM_UNGROUPED);
        try (var st = bindAging(claim.prepare(c), room, aging)
                        .set("quota", quota)
                        .set("busy", busyTaskIds)
                        .set("capacity", room.capacity())
                        .set("free", room.free())
                        .set("instance", instanceId)
                        .set("key", sessionKey)
                        .set("lease", lease)
                        .set("ahead", ahead);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                try {
                    runs.add(ClaimedRun.read(rs));
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
                    NextRun.scheduled(NextRunPlan.nextOrNull(u.schedule(), u.timeZone(), DbClock.now(c))),
                    RunEnd.failed(error));
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
        return renewLeases(c, sessionKey, lease, aliveRunIds, new long[0]);
    }

    /** As above; {@code ownedRunIds}: the runs alive here that own themselves ({@link OwnedRunRepository}). */
    List<Renewed> renewLeases(Connection c, long sessionKey, Duration lease, long[] aliveRunIds, long[] ownedRunIds)
            throws SQLException {
        if (aliveRunIds.length == 0 && ownedRunIds.length == 0) {
            return List.of();
        }
        return Transactions.inTransaction(c, lease.dividedBy(10), () -> {
            if (aliveRunIds.length == 0) {
                return OwnedRunRepository.renew(c, sessionKey, lease, ownedRunIds);
            }
            try (var st = RENEW.prepare(c)
                            .set("lease", lease)
                            .set("key", sessionKey)
                            .set("runs", aliveRunIds);
                    ResultSet rs = st.executeQuery()) {
                List<Renewed> owned = new ArrayList<>();
                while (rs.next()) {
                    owned.add(new Renewed(rs.getLong(1), rs.getBoolean(2)));
                }
                if (ownedRunIds.length > 0) {
                    owned.addAll(OwnedRunRepository.renew(c, sessionKey, lease, ownedRunIds));
                }
                return owned;
            }
        });
    }

    /**
     * In the caller's transaction: locks the task's row while run {@code runId} holds it with
     * {@code fence}, waiting for it at most {@code wait}; false when it does not hold it any more.
     * {@code schema}: StarPets' schema, a plain identifier, or null for the connection's search_path.
     */
    static boolean lockFence(Connection c, String schema, String task, long runId, long fence, Duration wait)
            throws SQLException {
        Transactions.setLockTimeout(c, wait);
        try (var st = NamedSql.of(LOCK_FENCE.formatted(schema == null ? "" : schema + "."))
                        .prepare(c)
                        .set("task", task)
                        .set("fence", fence)
                        .set("run", runId);
                ResultSet rs = st.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
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
    boolean finish(Connection c, ClaimedRun run, long sessionKey, NextRun next, RunEnd ended) throws SQLException {
        if (run.ownsItself()) {
            return OwnedRunRepository.finish(c, run, sessionKey, next, ended);
        }
        if (run.oneOff()) {
            return OneOffRepository.finish(c, run, sessionKey, next, ended);
        }
        Finished finished = end(c, run.taskId(), run.fence(), run.runId(), sessionKey, next, ended);
        followEditedSchedule(c, run, next, finished);
        return finished.released();
    }

    /** After a run's end ({@code finished}): if the task's schedule was changed while it ran, its next time from the new one. */
    static void followEditedSchedule(Connection c, ClaimedRun run, NextRun next, Finished finished)
            throws SQLException {
        if (finished.released()
                && NextRunPlan.followsEditedSchedule(
                        next, run.schedule(), run.timeZone(), finished.schedule(), finished.timeZone())) {
            Instant rescheduled = NextRunPlan.nextOrNull(finished.schedule(), finished.timeZone(), DbClock.now(c));
            try (var st = RESCHEDULE
                    .prepare(c)
                    .set("next", rescheduled)
                    .set("task", run.taskId())
                    .set("fence", run.fence())) {
                st.executeUpdate();
            }
        }
    }

    private static Finished end(
            Connection c, long taskId, long fence, long runId, long sessionKey, NextRun next, RunEnd ended)
            throws SQLException {
        try (var st = ended.bind(
                        FINISH.prepare(c)
                                .set("due_now", next.dueNow())
                                .set("next", next.next())
                                .set("fire", next.fireAt())
                                .set("cause", next.cause().name())
                                .set("attempt", next.attempt())
                                .set("catch_ups", next.catchUps())
                                .set("task", taskId)
                                .set("fence", fence)
                                .set("key", sessionKey),
                        runId);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return new Finished(rs.getBoolean("released"), rs.getString("schedule"), rs.getString("time_zone"));
        }
    }

    /** Records a run ended (timed out) while its handler still executes; the task stays owned, shown STUCK. */
    void markStuck(Connection c, ClaimedRun run, long sessionKey, RunStatus status, String error) throws SQLException {
        if (run.ownsItself()) {
            OwnedRunRepository.markStuck(c, run, sessionKey, status, error);
            return;
        }
        try (var st = MARK_STUCK
                        .prepare(c)
                        .set("task", run.taskId())
                        .set("fence", run.fence())
                        .set("key", sessionKey)
                        .set("status", status.name())
                        .set("error", error)
                        .set("run", run.runId());
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }

    /** Wakes every instance's claim loop: a task may have become claimable (sent at the commit). */
    static void notifyTasksChanged(Connection c) throws SQLException {
        try (var st = NOTIFY.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }
}
