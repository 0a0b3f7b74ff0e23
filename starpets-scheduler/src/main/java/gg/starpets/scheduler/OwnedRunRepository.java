package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements of runs that own themselves: the runs of {@code overlap: ALLOW} tasks (V24), several
 * of which may be in progress at once. Such a run's row in {@code task_runs} carries what the task's row
 * carries for every other task: its owner's session, its lease, and the fence its claim gave it (the
 * task's next). Its claim ({@link #CLAIM_ALLOW}) leaves the task unowned and moves its schedule on;
 * its lease renewal, progress, timeout, end and recovery work on the run's row, each only while the
 * run is still owned with its fence, so that a run whose instance froze or was cut off past its lease
 * can write nothing once recovery has ended it. The task's {@code runs_owned} counts the runs owned now
 * (V24's trigger lowers it whichever statement ends an ownership); the claim admits a run only while it
 * is below {@code max_concurrent} ({@link SqlFragments#CLAIMABLE}).
 */
final class OwnedRunRepository {

    /**
     * The claim's part for {@code overlap: ALLOW} tasks ({@code ClaimSql}; after {@code due} and
     * {@code started}): the task gets its next fence and one more owned run, and stays unowned. A run for
     * the schedule's slot sets {@code next_run_at} to infinity, so that no claim takes the same slot again,
     * until the claiming instance has computed and written the next time ({@link #ADVANCE}); the columns
     * returned are those of {@code claimed}, the run's ownership is written on its row ({@code runs_allow};
     * a pending run's in {@code OneOffRepository.START_DUE}).
     */
    static final String CLAIM_ALLOW = """
            claimed_allow as (
                update tasks t
                   set fence = t.fence + 1, runs_owned = t.runs_owned + 1,
                       next_run_at = case when s.id is null then 'infinity' else t.next_run_at end,
                       updated_at = now(), last_claimed_by = :key, last_claimed_at = now()
                  from due left join started s on s.task_id = due.id
                 where t.id = due.id and (not due.one_off or s.id is not null) and due.max_concurrent is not null
                returning t.id, t.name, t.handler, t.schedule, t.time_zone, coalesce(s.params, t.params::text) as params,
                          t.timeout_seconds, t.fence,
                          coalesce(s.id, nextval(pg_get_serial_sequence('task_runs', 'id'))) as current_run_id,
                          coalesce(s.attempt, t.next_attempt) as next_attempt,
                          coalesce(s.scheduled_for, due.next_run_at) as next_run_at,
                          coalesce(s.started_at, greatest(clock_timestamp(), due.due_at)) as started_at,
                          coalesce(s.cause, t.next_cause) as next_cause,
                          coalesce(s.scheduled_for, t.next_fire_at, due.next_run_at) as fire_at,
                          t.retry::text as retry, t.misfire_policy, t.misfire_threshold_ms, t.catch_up_limit,
                          t.catch_up_window_ms, t.catch_ups, t.jitter_ms, t.source, t.overlap, t.cost,
                          s.id is not null as one_off, s.upstream_run_id
            ), runs_allow as (
                insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for, started_at,
                                       status, attempt, cause, owner_session, lease_until, owner_lock_seen_at)
                select current_run_id, id, name, :instance, fence, next_run_at, started_at, 'RUNNING', next_attempt,
                       next_cause, :key, now() + :lease * interval '1 millisecond', now()
                  from claimed_allow
                 where not one_off
            )""";

    /**
     * Whether a pending run {@code r} of a backfill may start for an ALLOW task (row {@code d} of the claim's
     * {@code due}: locked, its newest version): fewer than the backfill's max_parallel of its runs in progress.
     * That count is read from the statement's snapshot; it is exact only if no claim of the task committed
     * since the snapshot was taken (a claim of the task holds its row locked, so claims of one task follow one
     * another, and each moves its fence): the task's fence as the snapshot saw it must be the locked row's.
     * Otherwise the slot waits for the next claim. Runs that end since only make the count too high: later.
     */
    static final String BACKFILL_ROOM = """
            ((select s.fence from tasks s where s.id = d.id) = d.fence
                        and (select count(*) from task_runs x where x.backfill_id = r.backfill_id and x.status = 'RUNNING')
                            < (select b.max_parallel from backfills b where b.id = r.backfill_id))""";

    /** The ownership {@code OneOffRepository.START_DUE} gives a pending run it starts for an ALLOW task ({@code d}: due). */
    static final String START_OWNED = """
                       owner_session = case when d.max_concurrent is not null then :key end,
                       lease_until = case when d.max_concurrent is not null
                                          then now() + :lease * interval '1 millisecond' end,
                       owner_lock_seen_at = case when d.max_concurrent is not null then now() end""";

    /**
     * After a claim of a slot: the schedule's next time, unless someone has set one since (an operator's
     * trigger or edit). Then the task is due by its schedule again.
     */
    private static final NamedSql ADVANCE = NamedSql.of("""
            update tasks
               set next_run_at = cast(:next as timestamptz), next_fire_at = cast(:fire as timestamptz),
                   next_cause = :cause, next_attempt = 1, catch_ups = :catch_ups, updated_at = now()
             where id = :task and next_run_at = 'infinity'
            returning next_run_at <= now() as due
            """);

    private static final NamedSql LOCK_TASK = NamedSql.of("select 1 from tasks where id = :task for update");

    /** After a claim of a pending run: the task's earliest pending time again (its row locked first). */
    private static final NamedSql RECOMPUTE = NamedSql.of("""
            update tasks
               set next_request_at = (select min(r.scheduled_for) from task_runs r
                                       where r.task_id = tasks.id and r.status = 'PENDING')
             where id = :task
            returning coalesce(next_request_at <= now(), false) as due
            """);

    private static final NamedSql RENEW = NamedSql.of("""
            update task_runs
               set lease_until = now() + :lease * interval '1 millisecond', owner_lock_seen_at = now()
             where owner_session = :key and id = any(:runs)
            returning id, cancel_requested
            """);

    private static final NamedSql PROGRESS = NamedSql.of("""
            update task_runs r set progress = p.progress
              from unnest(cast(:runs as bigint[]), cast(:values as float8[])) as p(run_id, progress)
             where r.id = p.run_id and r.owner_session = :key
            """);

    /**
     * A run's end, only while it is owned with its fence: its status (a run already recorded TIMED_OUT
     * keeps it), its ownership cleared (V24's trigger frees its place), the task's last run; and, when
     * {@code :again} (a stop by this instance, a retry left), the same run again as a pending run at
     * {@code :at} as attempt {@code :attempt} ({@code :cause}: RETRY, or the run's own for a one-off).
     * Wakes the claim loops when the task is due: a place has come free.
     */
    private static final NamedSql FINISH =
            NamedSql.of("""
            with before as (
                select status from task_runs where id = :run
            ), released as (
                update task_runs
                   set status = case when status = 'RUNNING' then :status else status end,
                       finished_at = coalesce(finished_at, now()),
                       error = case when status = 'RUNNING' then :error else error end,
                       progress = coalesce(cast(:progress as float8), progress),
                       output = cast(:output as text), result = cast(:result as jsonb),
                       owner_session = null, lease_until = null, owner_lock_seen_at = null, cancel_requested = false
                 where id = :run and fence = :fence and owner_session = :key
                returning id, task_id, status, scheduled_for, attempt, cause, params, requested_by, backfill_id,
                          upstream_run_id
            ), ended as (
                -- The end downstream tasks follow, once: not again for a run recorded TIMED_OUT while stuck.
                select id, task_id, status, scheduled_for from released
                 where (select status from before) = 'RUNNING'
            ), again as (
                insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause, params,
                                       requested_by, backfill_id, upstream_run_id)
                select r.task_id, t.name,
                       case when r.backfill_id is null then coalesce(cast(:at as timestamptz), now()) else r.scheduled_for end,
                       null, 'PENDING', :attempt, :cause, r.params, r.requested_by, r.backfill_id, r.upstream_run_id
                  from released r join tasks t on t.id = r.task_id
                 where cast(:again as boolean)
                   and not exists (select 1 from backfills b where b.id = r.backfill_id and b.cancelled_at is not null)
                returning scheduled_for
            ), %s, task as (
                update tasks
                   set last_run_id = :run, lost_streak = 0, updated_at = now(),
                       next_request_at = least(next_request_at, (select min(scheduled_for) from again))
                 where id = :task and exists (select 1 from released)
                returning least(next_run_at, next_request_at) <= now() as due
            )
            select exists (select 1 from released) as released,
                   case when coalesce((select due from task), false) or exists (select 1 from downstream)
                        then pg_notify('%s', '') end
            """.formatted(OneOffRepository.startDownstream("ended", ""), SessionWatch.CHANNEL));

    private static final NamedSql MARK_STUCK =
            NamedSql.of("""
            with ended as (
                update task_runs set status = :status, finished_at = greatest(now(), started_at), error = :error
                 where id = :run and fence = :fence and owner_session = :key and status = 'RUNNING'
                returning id, task_id, status, scheduled_for
            ), %s
            select case when exists (select 1 from downstream) then pg_notify('%s', '') end
            """.formatted(OneOffRepository.startDownstream("ended", ""), SessionWatch.CHANNEL));

    /**
     * Owned runs whose owner's lock is missing though it was seen since the locks held now were taken.
     * Package-visible: QueryPlanTest.
     */
    static final NamedSql LOCK_MISSING =
            NamedSql.of("""
            with %s, %s
            select r.id, (extract(epoch from r.owner_lock_seen_at) * 1000000)::bigint as seen
              from task_runs r
             where r.owner_session is not null and r.lease_until >= now()
               and r.owner_lock_seen_at > %s
               and r.owner_session not in (select key from held)
            """.formatted(SqlFragments.HELD_LOCKS, SqlFragments.FILL_EPOCH, SqlFragments.LOCK_EPOCH));

    /**
     * Recovery of owned runs whose instance is gone (lease expired, or lock missing for the grace: the
     * {@code eligible} runs, with the lock stamp then): ended LOST, their ownership cleared (their places
     * free), and run again as a pending run (attempt + 1; a one-off's with its params and requester). A
     * run whose claim had not yet moved its task's schedule on ({@code next_run_at} still infinity) is run
     * again through the schedule instead: its task is due at once. Runs whose handler fences off a lost run
     * first ({@link TaskHandler#fenceOff}) stay owned until it has ({@code :fenced_runs}).
     */
    private static final NamedSql RECOVER = NamedSql.of("""
            with %1$s, eligible as (
                select * from unnest(cast(:ids as bigint[]), cast(:seen as bigint[])) as e(id, seen)
            ), orphaned as (
                select r.id, r.task_id, r.task_name, t.handler, coalesce(r.params, t.params) as params, r.instance_id,
                       case when r.lease_until < now() then 'lease expired' else 'database session ended' end as reason,
                       t.handler = any(cast(:fenced_handlers as text[])) and r.id <> all(cast(:fenced_runs as bigint[]))
                           as awaiting_fence
                  from task_runs r join tasks t on t.id = r.task_id
                 where r.owner_session is not null
                   and (r.lease_until < now()
                        or (r.owner_session not in (select key from held)
                            and exists (select 1 from eligible e
                                         where e.id = r.id
                                           and e.seen = (extract(epoch from r.owner_lock_seen_at) * 1000000)::bigint)))
                   for update of r skip locked
            ), released as (
                update task_runs r
                   set status = case when r.status = 'RUNNING' then 'LOST' else r.status end,
                       finished_at = coalesce(r.finished_at, now()),
                       error = case when r.status = 'RUNNING'
                                    then 'instance ' || o.instance_id || ' is gone (' || o.reason || ')'
                                    else r.error end,
                       owner_session = null, lease_until = null, owner_lock_seen_at = null, cancel_requested = false
                  from orphaned o
                 where r.id = o.id and not o.awaiting_fence
                returning r.id, r.task_id, r.status, r.scheduled_for, r.attempt, r.cause, r.params, r.requested_by,
                          r.backfill_id, r.upstream_run_id, r.fence
            ), lost as (
                select id, task_id, 'LOST' as status, scheduled_for from released where status = 'LOST'
            ), %2$s, through_schedule as (
                -- The run whose claim set infinity: the newest of its task's runs lost here, if the task still waits.
                select distinct on (r.task_id) r.task_id, r.id, r.attempt
                  from released r join tasks t on t.id = r.task_id
                 where t.next_run_at = 'infinity'
                 order by r.task_id, r.fence desc
            ), again as (
                insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause, params,
                                       requested_by, backfill_id, upstream_run_id)
                select r.task_id, t.name, case when r.backfill_id is null then now() else r.scheduled_for end, null,
                       'PENDING', r.attempt + 1, case when r.cause in ('MANUAL', 'UPSTREAM') then r.cause else 'RECOVERY' end,
                       r.params, r.requested_by, r.backfill_id, r.upstream_run_id
                  from released r join tasks t on t.id = r.task_id
                 where r.id not in (select id from through_schedule)
                   and not exists (select 1 from backfills b where b.id = r.backfill_id and b.cancelled_at is not null)
                returning task_id, scheduled_for
            ), tasks_due as (
                update tasks t
                   set next_run_at = case when t.next_run_at = 'infinity' then now() else t.next_run_at end,
                       next_fire_at = case when t.next_run_at = 'infinity' then coalesce(t.next_fire_at, now())
                                           else t.next_fire_at end,
                       next_cause = case when t.next_run_at = 'infinity' then 'RECOVERY' else t.next_cause end,
                       next_attempt = coalesce((select s.attempt + 1 from through_schedule s where s.task_id = t.id),
                                               t.next_attempt),
                       next_request_at = least(t.next_request_at,
                                               (select min(a.scheduled_for) from again a where a.task_id = t.id),
                                               (select min(q.scheduled_for) from downstream q where q.task_id = t.id)),
                       last_run_id = (select max(r.id) from released r where r.task_id = t.id),
                       updated_at = now()
                 where t.id in (select task_id from released)
            )
            select o.task_name, o.instance_id, o.id, o.reason, o.awaiting_fence, o.handler, o.params::text as params
              from orphaned o
             where o.awaiting_fence or o.id in (select id from released)
            """.formatted(
                    SqlFragments.HELD_LOCKS,
                    OneOffRepository.startDownstream("lost", "d.id in (select task_id from released)")));

    private OwnedRunRepository() {}

    /**
     * After a claim that returned runs of ALLOW tasks ({@code runs}, each with {@code next}: the schedule's
     * time after it, null for a pending run it started, and the slots it skipped, {@code missed}): moves
     * each task's schedule on (and records the skipped slots, if this moved it), or computes its earliest
     * pending time again. Returns whether one of them is due now (the claim loops should look).
     */
    static boolean afterClaim(
            Connection c,
            List<ClaimedRun> runs,
            List<NextRun> next,
            List<List<MissedSlots>> missed,
            String instanceId,
            SchedulerEvents events)
            throws SQLException {
        boolean due = false;
        for (int i = 0; i < runs.size(); i++) {
            ClaimedRun run = runs.get(i);
            NextRun n = next.get(i);
            if (n != null) {
                boolean moved;
                try (var st = ADVANCE.prepare(c)
                                .set("next", n.next())
                                .set("fire", n.fireAt())
                                .set("cause", n.cause().name())
                                .set("catch_ups", n.catchUps())
                                .set("task", run.taskId());
                        ResultSet rs = st.executeQuery()) {
                    moved = rs.next();
                    due |= moved && rs.getBoolean(1);
                }
                if (moved) {
                    RunRepository.recordMissed(c, run.taskId(), instanceId, missed.get(i));
                    // Counted once written, as a run's end counts the slots it records (RunEndSlots).
                    missed.get(i).forEach(m -> events.runsMissed(run.task(), m.kind(), m.count()));
                }
            } else {
                // The row first, then the pending runs: a run asked for since is seen (OneOffRepository).
                due |= Transactions.inTransaction(c, Duration.ofSeconds(5), () -> {
                    try (var st = LOCK_TASK.prepare(c).set("task", run.taskId());
                            ResultSet rs = st.executeQuery()) {
                        rs.next();
                    }
                    try (var st = RECOMPUTE.prepare(c).set("task", run.taskId());
                            ResultSet rs = st.executeQuery()) {
                        return rs.next() && rs.getBoolean(1);
                    }
                });
            }
        }
        return due;
    }

    /** In the caller's transaction: the leases of this session's owned runs {@code runIds}; those still owned. */
    static List<Renewed> renew(Connection c, long sessionKey, Duration lease, long[] runIds) throws SQLException {
        try (var st = RENEW.prepare(c)
                        .set("lease", lease)
                        .set("key", sessionKey)
                        .set("runs", runIds);
                ResultSet rs = st.executeQuery()) {
            List<Renewed> owned = new ArrayList<>();
            while (rs.next()) {
                owned.add(new Renewed(rs.getLong(1), rs.getBoolean(2)));
            }
            return owned;
        }
    }

    static void writeProgress(Connection c, long sessionKey, long[] runIds, double[] progress) throws SQLException {
        try (var st =
                PROGRESS.prepare(c).set("runs", runIds).set("values", progress).set("key", sessionKey)) {
            st.executeUpdate();
        }
    }

    /**
     * Ends an owned run while it holds its fence (see {@link #FINISH}); {@code next}: it again, as
     * {@link NextRunPlan#afterOwnedRun} says (null: not again). False when it was taken over.
     */
    static boolean finish(Connection c, ClaimedRun run, long sessionKey, NextRun next, RunEnd ended)
            throws SQLException {
        try (var st = ended.bind(
                        FINISH.prepare(c)
                                .set("fence", run.fence())
                                .set("key", sessionKey)
                                .set("task", run.taskId())
                                .set("again", next != null)
                                .set("at", next == null || next.dueNow() ? null : next.next())
                                .set("attempt", next == null ? run.attempt() : next.attempt())
                                .set(
                                        "cause",
                                        next == null
                                                ? run.cause()
                                                : next.cause().name()),
                        run.runId());
                ResultSet rs = st.executeQuery()) {
            return rs.next() && rs.getBoolean("released");
        }
    }

    /** Records an owned run TIMED_OUT while its handler still executes; it stays owned (renewed) until it returns. */
    static void markStuck(Connection c, ClaimedRun run, long sessionKey, RunStatus status, String error)
            throws SQLException {
        try (var st = MARK_STUCK
                        .prepare(c)
                        .set("run", run.runId())
                        .set("fence", run.fence())
                        .set("key", sessionKey)
                        .set("status", status.name())
                        .set("error", error);
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }

    /** Owned runs whose owner's lock is missing (keyed by run id, with the lock stamp seen). */
    static List<LockMissing> findLockMissing(Connection c) throws SQLException {
        try (var st = LOCK_MISSING.prepare(c);
                ResultSet rs = st.executeQuery()) {
            List<LockMissing> missing = new ArrayList<>();
            while (rs.next()) {
                missing.add(new LockMissing(rs.getLong(1), rs.getLong(2)));
            }
            return missing;
        }
    }

    /** Recovers owned runs of instances that are gone; returns those recovered and those awaiting their fence. */
    static Recovery recover(Connection c, List<LockMissing> eligible, String[] fencedHandlers, long[] fencedRuns)
            throws SQLException {
        try (var st = RECOVER.prepare(c)
                        .set(
                                "ids",
                                eligible.stream().mapToLong(LockMissing::taskId).toArray())
                        .set(
                                "seen",
                                eligible.stream()
                                        .mapToLong(LockMissing::seenMicros)
                                        .toArray())
                        .set("fenced_handlers", fencedHandlers)
                        .set("fenced_runs", fencedRuns);
                ResultSet rs = st.executeQuery()) {
            List<Recovery.Recovered> recovered = new ArrayList<>();
            List<Recovery.AwaitingFence> awaiting = new ArrayList<>();
            while (rs.next()) {
                if (rs.getBoolean("awaiting_fence")) {
                    awaiting.add(new Recovery.AwaitingFence(
                            rs.getString(1), rs.getString("handler"), rs.getLong(3), TaskColumns.params(rs)));
                } else {
                    recovered.add(new Recovery.Recovered(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getLong(3),
                            rs.getString(4),
                            false,
                            0,
                            false,
                            "a run of an overlap ALLOW task (not counted toward quarantine)"));
                }
            }
            return new Recovery(recovered, awaiting);
        }
    }
}
