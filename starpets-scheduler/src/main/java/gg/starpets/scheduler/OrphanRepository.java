package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The recovery protocol's statements on {@code tasks} and {@code task_runs}: which tasks' owners are
 * proven gone, taking their tasks back with a new fence, and what a halting process says of its runs.
 * {@link OrphanRecovery} and {@link HaltRecord} run them; the claim and a run's end are in
 * {@link TaskRepository}.
 */
final class OrphanRepository {

    private static final NamedSql LOCK_MISSING =
            NamedSql.of("""
            with %s, %s
            select t.id, (extract(epoch from t.owner_lock_seen_at) * 1000000)::bigint as seen
              from tasks t
             where t.owner_session is not null and t.lease_until >= now()
               and t.owner_lock_seen_at > %s
               and t.owner_session not in (select key from held)
            """.formatted(SqlFragments.HELD_LOCKS, SqlFragments.FILL_EPOCH, SqlFragments.LOCK_EPOCH));

    private static final NamedSql RECOVER = NamedSql.of("""
            with %1$s, eligible as (
                select * from unnest(cast(:ids as bigint[]), cast(:seen as bigint[])) as e(id, seen)
            ), orphaned as (
                select t.id, t.name, t.handler, t.params, t.owner_instance, t.current_run_id,
                       -- A lost one-off run is asked for again, not the task's schedule (OneOffRepository).
                       coalesce(r.cause in ('MANUAL', 'UPSTREAM'), false) as one_off,
                       -- Of a backfill cancelled since it started: not asked for again.
                       exists (select 1 from backfills b where b.id = r.backfill_id and b.cancelled_at is not null)
                           as withdrawn,
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
                   set status = 'LOST', finished_at = greatest(now(), r.started_at),
                       error = 'instance ' || o.owner_instance || ' is gone (' || o.reason || ')'
                  from orphaned o
                 where r.id = o.current_run_id and r.status = 'RUNNING' and not o.awaiting_fence
                returning r.id, r.task_id, 'LOST' as status, r.scheduled_for
            ), %3$s, released as (
                update tasks t
                   set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                       started_at = null, progress = null, stuck_since = null, owner_lock_seen_at = null,
                       cancel_requested = false, last_run_id = o.current_run_id,
                       next_run_at = case when o.one_off then t.next_run_at else now() end,
                       next_fire_at = case when o.one_off then t.next_fire_at else now() end,
                       next_cause = case when o.one_off then t.next_cause else 'RECOVERY' end,
                       next_attempt = case when o.one_off then t.next_attempt else t.next_attempt + 1 end,
                       next_request_at = least(case when o.one_off and not o.withdrawn then now() else t.next_request_at end,
                                               -- Runs after a lost run of another task recovered here.
                                               (select min(q.scheduled_for) from downstream q where q.task_id = t.id)),
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
            ), requeued as (
                -- The lost one-off run again at once, as its next attempt, with its params and requester.
                insert into task_runs (task_id, task_name, scheduled_for, started_at, status, attempt, cause, params,
                                       requested_by, backfill_id, upstream_run_id)
                select r.task_id, r.task_name, case when r.backfill_id is null then now() else r.scheduled_for end,
                       null, 'PENDING', r.attempt + 1, r.cause, r.params, r.requested_by, r.backfill_id, r.upstream_run_id
                  from orphaned o join task_runs r on r.id = o.current_run_id
                 where o.one_off and not o.awaiting_fence and not o.withdrawn
            )
            select r.name, o.owner_instance, o.current_run_id, o.reason, r.quarantined, r.lost_streak,
                   false as awaiting_fence, null as handler, null as params, o.counted, o.blame
              from released r join orphaned o on o.id = r.id
            union all
            select o.name, o.owner_instance, o.current_run_id, o.reason, false, 0, true, o.handler, o.params::text,
                   o.counted, o.blame
              from orphaned o
             where o.awaiting_fence
            """.formatted(
            SqlFragments.HELD_LOCKS,
            SqlFragments.LOCK_EPOCH,
            OneOffRepository.startDownstream("lost", "d.id in (select id from orphaned where not awaiting_fence)")));

    /**
     * Written just before this process halts itself: which runs made it halt (their handler ignored
     * interruption past its hold) and which were merely halted with them. Only while they are RUNNING.
     */
    private static final NamedSql RECORD_HALT = NamedSql.of("""
            update task_runs set halt_culprit = id = any(cast(:culprits as bigint[]))
             where id = any(cast(:runs as bigint[])) and status = 'RUNNING'
            """);

    private OrphanRepository() {}

    /**
     * Tasks owned by a session whose lock is missing, though it was seen held since the locks held now
     * were taken ({@link SqlFragments#LOCK_EPOCH}). Fills that epoch first if a crash-restart or a promotion emptied it.
     */
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

    /**
     * Ends the runs of instances that are gone, marks them LOST, and makes their tasks due at once
     * with a new fence, so that the old owner can write nothing: tasks whose lease has expired, and
     * the {@code eligible} ones whose owner's lock is still missing and was last seen when it was.
     * Tasks whose handler is one of {@code fencedHandlers} are left owned (returned as awaiting their
     * fence) unless their lost run is one of {@code fencedRuns}.
     */
    static Recovery recoverOrphans(
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
    static void recordHalt(Connection c, long[] culprits, long[] runs) throws SQLException {
        try (var st = RECORD_HALT.prepare(c).set("culprits", culprits).set("runs", runs)) {
            st.executeUpdate();
        }
    }
}
