package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The share query: how many tasks are running, due or just claimed, over how many live instances
 * that claim, and this instance's rank among them ({@link Share#quota}). Read before every claim.
 */
final class ShareRepository {

    // Sent before every claim, so each part reads an index and its cost grows with the work (tasks
    // running, due or just claimed), not with the table: tasks_owner_idx, tasks_due_idx,
    // tasks_claimed_idx. Package-visible: QueryPlanTest checks the plan.
    static final NamedSql SHARE = NamedSql.of("""
            with live as (
                -- A full instance (no unit of its capacity free) cannot claim now either.
                select id, session_key, claiming and (capacity = 0 or runs_used < capacity) as claiming
                  from instances where %2$s
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
                -- Due within :ahead (ms), as the claim takes them.
                select count(*) as due from tasks where %1$s and least(next_run_at, next_request_at) <= now() + :ahead * interval '1 millisecond'
            ), recent as (
                -- Claimed a moment ago and ended already (short runs): still in their claimer's share,
                -- unless due again.
                select count(*) as recent, count(*) filter (where last_claimed_by = :key) as recent_here
                  from tasks
                 where owner_session is null and last_claimed_at > now() - :window * interval '1 millisecond'
                   and not (%1$s and least(next_run_at, next_request_at) <= now() + :ahead * interval '1 millisecond')
            ), next_due as (
                -- Until the first task can be claimed (:ahead before it is due).
                select extract(epoch from min(least(next_run_at, next_request_at)) - (%3$s)) as next_due_in
                  from tasks where %1$s
            )
            select live_plus_me, rank, owned + due + recent as active_or_due, here + recent_here as running_here,
                   elsewhere as running_elsewhere, next_due_in,
                   -- Whether the claim needs its group steps (ClaimSql.CLAIM_UNGROUPED): task_groups has a row per
                   -- group defined, a handful.
                   exists (select 1 from task_groups where max_concurrent is not null or max_starts is not null)
                       as group_limits
              from peers, owned, due, recent, next_due
            """.formatted(
                    SqlFragments.CLAIMABLE, SqlFragments.LIVE_INSTANCE, "now() + :ahead * interval '1 millisecond'"));

    /**
     * For settling only (once, at start): instances whose session lock is held right now, and the tasks
     * they own besides this instance's. An unclean stop of every instance leaves their rows looking
     * alive for up to a lease, owning tasks: counted by heartbeat (as {@link #SHARE} does, per claim,
     * without reading {@code pg_locks}), they would end settling at once, before the instances started
     * with this one have registered, and the first to claim would take more than its share.
     */
    static final NamedSql PEERS = NamedSql.of("""
            with %1$s, live as (
                select id, session_key, claiming from instances
                 where %2$s and session_key in (select key from held)
            )
            -- As the share query counts them: instances that can claim now, this one counted as it.
            select (select count(*) filter (where id <> :instance and claiming) + 1 from live) as live,
                   (select count(*) from tasks
                     where owner_session <> :key and owner_session in (select session_key from live)) as elsewhere,
                   -- Peers that ended their settling since this instance registered, gone ones too.
                   (select count(*) from instances o, instances me
                     where me.id = :instance and me.session_key = :key
                       and o.id <> :instance and o.settled_at >= me.started_at) as settled
            """.formatted(SqlFragments.HELD_LOCKS, SqlFragments.LIVE_INSTANCE));

    /**
     * What settling looks at: live instances that can claim (this one too), tasks running on the others,
     * and the instances that have ended their settling since this one registered.
     */
    record Peers(long liveInstances, long runningElsewhere, long settledSince) {}

    private ShareRepository() {}

    static Peers peers(Connection c, String instanceId, long sessionKey, Duration lease) throws SQLException {
        try (var st = PEERS.prepare(c)
                        .set("instance", instanceId)
                        .set("key", sessionKey)
                        .set("lease", lease);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return new Peers(rs.getLong("live"), rs.getLong("elsewhere"), rs.getLong("settled"));
        }
    }

    /** {@code ahead}: how long before its due time a task is claimed ({@link SchedulerSettings#claimAhead()}). */
    static Share share(
            Connection c, String instanceId, long sessionKey, Duration lease, Duration window, Duration ahead)
            throws SQLException {
        try (var st = SHARE.prepare(c)
                        .set("instance", instanceId)
                        .set("ahead", ahead)
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
                    nextDueIn,
                    rs.getBoolean("group_limits"));
        }
    }
}
