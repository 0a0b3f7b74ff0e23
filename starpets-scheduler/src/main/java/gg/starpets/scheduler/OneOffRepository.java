package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements of one-off runs ({@code POST /tasks/{name}/runs}) on {@code task_runs} and
 * {@code tasks}. A one-off run is a {@code PENDING} row from the moment it is asked for; the task's
 * {@code next_request_at} holds the earliest time among its pending runs, so that the claim
 * ({@code ClaimSql.CLAIM}, through {@link #START_DUE}) takes a task whose one-off run is due and
 * turns that row into its {@code RUNNING} run, leaving the task's own schedule ({@code next_run_at}) as
 * it was. Every statement that changes which runs are pending holds the task's row locked first and
 * computes {@code next_request_at} in a later statement of the same transaction, so that it sees every
 * pending row committed before it (a claim holds the row only for its one statement, and skips it
 * while locked). A one-off run keeps cause {@code MANUAL} (a run-after run {@code UPSTREAM}) through its retries and
 * recoveries.
 */
final class OneOffRepository {

    /**
     * The claim's part ({@code ClaimSql.CLAIM}; after its {@code due} CTE, which locks the tasks
     * and says which are claimed for a one-off run): each such task's earliest due pending run, started
     * with the fence the claim gives the task. A pending run cancelled since the claim's statement began
     * is not started (its row no longer says PENDING), and then the claim leaves the task alone.
     */
    static final String START_DUE =
            """
            request as (
                select distinct on (r.task_id) r.id, r.task_id
                  from task_runs r join due d on d.id = r.task_id
                 where d.one_off and r.status = 'PENDING' and r.scheduled_for <= now() + :ahead * interval '1 millisecond'
                   -- An ALLOW task's backfill: at most its max_parallel slots at once (OwnedRunRepository).
                   and (r.backfill_id is null or d.max_concurrent is null or %s)
                 order by r.task_id, r.scheduled_for, r.id
            ), started as (
                update task_runs r
                   set status = 'RUNNING', instance_id = :instance, fence = d.fence + 1,
                       started_at = greatest(clock_timestamp(), r.scheduled_for),
                       -- A run of an overlap ALLOW task owns itself (OwnedRunRepository).
                       %s
                  from request q join due d on d.id = q.task_id
                 where r.id = q.id and r.status = 'PENDING'
                returning r.id, r.task_id, r.params::text as params, r.attempt, r.cause, r.scheduled_for, r.upstream_run_id,
                          r.started_at
            )""".formatted(OwnedRunRepository.BACKFILL_ROOM, OwnedRunRepository.START_OWNED.strip());

    private static final NamedSql FIND_KEY = NamedSql.of("""
            select id, request::text as request from task_runs where task_id = :task and idempotency_key = :key
            """);

    private static final NamedSql INSERT_PENDING = NamedSql.of("""
            insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause, params,
                                   requested_by, idempotency_key, request)
            values (:task, :name, cast(:at as timestamptz), null, 'PENDING', 1, 'MANUAL', cast(:params as jsonb),
                    :by, :key, cast(:request as jsonb))
            returning id
            """);

    private static final NamedSql EARLIER = NamedSql.of("""
            update tasks set next_request_at = least(next_request_at, cast(:at as timestamptz)), updated_at = now()
             where id = :task
            returning next_request_at <= now() as due
            """);

    private static final NamedSql RUN = NamedSql.of("select task_id, task_name, status from task_runs where id = :run");

    private static final NamedSql LOCK_TASK = NamedSql.of("select 1 from tasks where id = :task for update");

    private static final NamedSql WITHDRAW = NamedSql.of("""
            update task_runs set status = 'CANCELLED', finished_at = now(), error = :error
             where id = :run and status = 'PENDING'
            """);

    /** The earliest pending time of the task; run after the statements that changed its pending runs. */
    static final String EARLIEST_PENDING = """
            (select min(r.scheduled_for) from task_runs r where r.task_id = tasks.id and r.status = 'PENDING')""";

    private static final NamedSql RECOMPUTE =
            NamedSql.of("update tasks set next_request_at = %s where id = :task".formatted(EARLIEST_PENDING));

    private static final NamedSql PENDING = NamedSql.of("select " + RunRepository.COLUMNS + """
              from task_runs r
             where r.task_id = (select id from tasks where name = :name) and r.status = 'PENDING'
             order by r.scheduled_for, r.id
             limit :limit
            """);

    private static final NamedSql LOCK_OWNED = NamedSql.of("""
            select 1 from tasks where id = :task and fence = :fence and owner_session = :key for update
            """);

    private static final NamedSql END_RUN = NamedSql.of("""
            with ended as (
                update task_runs
                   set status = :status, finished_at = greatest(now(), started_at), error = :error,
                       progress = coalesce(cast(:progress as float8), progress),
                       output = cast(:output as text), result = cast(:result as jsonb)
                 where id = :run and status = 'RUNNING'
                returning id, task_id, status, scheduled_for
            ), %s
            select exists (select 1 from downstream) as downstream
            """.formatted(startDownstream("ended", "")));

    /**
     * The CTEs {@code downstream} and {@code downstream_due} (run after, {@code RunAfterRepository}): for each
     * run of the CTE {@code ended} ({@code id, task_id, status, scheduled_for}: runs this statement ended),
     * a PENDING run of each task that runs after its task when it ends that way, carrying the run's id
     * ({@code upstream_run_id}) and its {@code scheduled_for}; and those tasks' earliest pending time
     * moved to it ({@code least}: a later statement's recompute sees the row once committed, see the
     * class comment). Written in the statement that writes the end, so both commit or neither.
     * {@code SUCCEEDED} follows SUCCEEDED ends; {@code FAILED} follows FAILED, TIMED_OUT and LOST;
     * {@code ANY} every end. A retired task does not start (a paused one's runs wait, as one-off runs do).
     *
     * @param skipDue a condition on {@code tasks d} whose rows the statement updates itself (it sets
     *     their earliest pending time from {@code downstream}: a row is updated once per statement); ""
     *     for none
     */
    static String startDownstream(String ended, String skipDue) {
        return """
                downstream as (
                    insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause,
                                           upstream_run_id)
                    select d.id, d.name, e.scheduled_for, null, 'PENDING', 1, 'UPSTREAM', e.id
                      from %1$s e join tasks u on u.id = e.task_id
                      join tasks d on d.run_after_task = u.name and d.id <> u.id and d.retired_at is null
                     where d.run_after_when = 'ANY'
                        or d.run_after_when = case when e.status = 'SUCCEEDED' then 'SUCCEEDED'
                                                   when e.status in ('FAILED', 'TIMED_OUT', 'LOST') then 'FAILED' end
                    returning task_id, scheduled_for
                ), downstream_due as (
                    update tasks d set next_request_at = least(d.next_request_at, q.at), updated_at = now()
                      from (select task_id, min(scheduled_for) as at from downstream group by task_id) q
                     where d.id = q.task_id %2$s
                )""".formatted(ended, skipDue.isEmpty() ? "" : "and not (" + skipDue + ")");
    }

    // Again, with the same params and requester, at its :ats (null: now), as its :attempts, for each of
    // :runs. A backfill's run keeps its slot (so it is due at once, before the later slots) unless the
    // backfill was cancelled.
    static final NamedSql FOLLOW_UP = NamedSql.of("""
            insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause, params,
                                   requested_by, backfill_id, upstream_run_id)
            select r.task_id, r.task_name,
                   case when r.backfill_id is null then coalesce(f.at, now()) else r.scheduled_for end,
                   null, 'PENDING', cast(f.attempt as integer), r.cause, r.params, r.requested_by, r.backfill_id,
                   r.upstream_run_id
              from unnest(cast(:runs as bigint[]), cast(:ats as timestamptz[]), cast(:attempts as bigint[]))
                       as f(run, at, attempt)
              join task_runs r on r.id = f.run
             where not exists (select 1 from backfills b where b.id = r.backfill_id and b.cancelled_at is not null)
            """);

    // Each of :tasks given back. The task's own schedule stays as it was; an operator's trigger queued
    // meanwhile is due at once.
    static final NamedSql RELEASE = NamedSql.of("""
            update tasks
               set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                   started_at = null, progress = null, stuck_since = null, owner_lock_seen_at = null,
                   cancel_requested = false, lost_streak = 0, last_run_id = current_run_id,
                   next_run_at = case when trigger_queued then now() else next_run_at end,
                   next_fire_at = case when trigger_queued then now() else next_fire_at end,
                   next_cause = case when trigger_queued then 'TRIGGER' else next_cause end,
                   next_attempt = case when trigger_queued then 1 else next_attempt end,
                   trigger_queued = false, updated_at = now(), next_request_at = %s
             where id = any(cast(:tasks as bigint[]))
            returning coalesce(least(next_run_at, next_request_at) <= now(), false) as due
            """.formatted(EARLIEST_PENDING));

    /** A run as asked for: its id, and whether it was asked for before under the same key. */
    record Requested(long runId, boolean replayed) {}

    /** The row of a run an operator names: its task, and where it is. */
    record RunOf(long taskId, String task, RunStatus status) {}

    private OneOffRepository() {}

    /**
     * In the caller's transaction, which holds the task's row locked: the run asked for earlier under
     * {@code key} with the request {@code requestJson} (null when there is none); throws
     * {@link IllegalStateException} when the key was used with another request.
     */
    static Long earlierRequest(Connection c, long taskId, String key, String requestJson) throws SQLException {
        try (var st = FIND_KEY.prepare(c).set("task", taskId).set("key", key);
                ResultSet rs = st.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            if (!Json.object(rs.getString("request")).equals(Json.object(requestJson))) {
                throw new IllegalStateException("key used with another request");
            }
            return rs.getLong("id");
        }
    }

    /**
     * In the caller's transaction, which holds the task's row locked: writes the pending run and moves
     * the task's earliest pending time; wakes the claim loops when it is due now.
     */
    static long insertPending(
            Connection c,
            long taskId,
            String task,
            Instant at,
            String paramsJson,
            String requestedBy,
            String key,
            String requestJson)
            throws SQLException {
        long runId;
        try (var st = INSERT_PENDING
                        .prepare(c)
                        .set("task", taskId)
                        .set("name", task)
                        .set("at", at)
                        .set("params", paramsJson)
                        .set("by", requestedBy)
                        .set("key", key)
                        .set("request", requestJson);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            runId = rs.getLong(1);
        }
        earlier(c, taskId, at);
        return runId;
    }

    /** Moves the task's earliest pending time to {@code at} if earlier; wakes the claim loops when due now. */
    static void earlier(Connection c, long taskId, Instant at) throws SQLException {
        try (var st = EARLIER.prepare(c).set("at", at).set("task", taskId);
                ResultSet rs = st.executeQuery()) {
            if (rs.next() && rs.getBoolean("due")) {
                TaskRepository.notifyTasksChanged(c);
            }
        }
    }

    /** Locks the task's row for the rest of the caller's transaction, before changing its pending runs. */
    static void lockTask(Connection c, long taskId) throws SQLException {
        try (var st = LOCK_TASK.prepare(c).set("task", taskId);
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }

    /** Computes the task's earliest pending time again, after its pending runs changed. */
    static void recompute(Connection c, long taskId) throws SQLException {
        try (var st = RECOMPUTE.prepare(c).set("task", taskId)) {
            st.executeUpdate();
        }
    }

    /** The run's task and status, or null when there is no such run. */
    static RunOf run(Connection c, long runId) throws SQLException {
        try (var st = RUN.prepare(c).set("run", runId);
                ResultSet rs = st.executeQuery()) {
            return rs.next() ? new RunOf(rs.getLong(1), rs.getString(2), RunStatus.valueOf(rs.getString(3))) : null;
        }
    }

    /**
     * In the caller's transaction: locks the task's row, then ends the run CANCELLED if it is still
     * pending; false when it is not (started, or ended). Recomputes the task's earliest pending time.
     */
    static boolean withdraw(Connection c, long taskId, long runId, String error) throws SQLException {
        lockTask(c, taskId);
        int withdrawn;
        try (var st = WITHDRAW.prepare(c).set("run", runId).set("error", error)) {
            withdrawn = st.executeUpdate();
        }
        recompute(c, taskId);
        return withdrawn == 1;
    }

    /** The task's pending one-off runs, the earliest first. */
    static List<RunRepository.RunRow> pending(Connection c, String task, int limit) throws SQLException {
        try (var st = PENDING.prepare(c).set("name", task).set("limit", limit);
                ResultSet rs = st.executeQuery()) {
            List<RunRepository.RunRow> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(RunRepository.row(rs));
            }
            return rows;
        }
    }

    /**
     * Ends a one-off run (the claim's {@code run}), in one transaction, only while its fence holds:
     * writes its end, asks for it again as {@code next} says (at once after a stop by this instance,
     * after its back-off when a retry is left: {@link NextRunPlan#afterOneOffRun}; null: not again), and gives the task
     * back with its schedule as it was and its earliest pending time computed again. False when another
     * instance has taken the task over (nothing written).
     */
    /** The runs after {@code runs} as their {@code nexts} ask for (FOLLOW_UP), in the caller's transaction. */
    static void followUp(Connection c, List<ClaimedRun> runs, List<NextRun> nexts) throws SQLException {
        int n = runs.size();
        long[] ids = new long[n];
        Timestamp[] ats = new Timestamp[n];
        long[] attempts = new long[n];
        for (int k = 0; k < n; k++) {
            NextRun next = nexts.get(k);
            ids[k] = runs.get(k).runId();
            ats[k] = next.dueNow() || next.next() == null ? null : Timestamp.from(next.next());
            attempts[k] = next.attempt();
        }
        try (var st = FOLLOW_UP.prepare(c).set("runs", ids).set("ats", ats).set("attempts", attempts)) {
            st.executeUpdate();
        }
    }

    /** Gives {@code tasks} back (RELEASE), in the caller's transaction; whether any is due at once. */
    static boolean release(Connection c, long[] tasks) throws SQLException {
        boolean due = false;
        try (var st = RELEASE.prepare(c).set("tasks", tasks);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                due |= rs.getBoolean("due");
            }
        }
        return due;
    }

    static boolean finish(Connection c, ClaimedRun run, long sessionKey, NextRun next, RunEnd ended)
            throws SQLException {
        return Transactions.inTransaction(c, Duration.ofSeconds(5), () -> {
            try (var st = LOCK_OWNED
                            .prepare(c)
                            .set("task", run.taskId())
                            .set("fence", run.fence())
                            .set("key", sessionKey);
                    ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
            }
            boolean downstream;
            try (var st = ended.bind(END_RUN.prepare(c), run.runId());
                    ResultSet rs = st.executeQuery()) {
                downstream = rs.next() && rs.getBoolean("downstream");
            }
            if (next != null) {
                followUp(c, List.of(run), List.of(next));
            }
            if (release(c, new long[] {run.taskId()}) || downstream) {
                TaskRepository.notifyTasksChanged(c);
            }
            return true;
        });
    }
}
