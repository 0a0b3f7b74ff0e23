package gg.starpets.scheduler;

/**
 * SQL fragments that statements on several tables share: the session locks held now (how a dead
 * instance is proven dead), which instances are live, and which tasks a claim may take.
 */
final class SqlFragments {

    private SqlFragments() {}

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
     * A task a claim may take once it is due ({@code and next_run_at <= now()}). The share query counts
     * and waits by the same rule: a task no claim would take (paused, quarantined, retired) neither
     * raises the shares nor keeps the claim loop waking for it. Reads {@code tasks_due_idx}.
     */
    static final String CLAIMABLE = """
            enabled and owner_session is null and quarantined_at is null and retired_at is null
                   -- An overlap ALLOW task with max-concurrent runs in progress waits for one to end (V24); any
                   -- other task, for every run left from before its policy changed: one live handler at a time.
                   and runs_owned < coalesce(max_concurrent, 1)
                   -- A paused task runs only when an operator triggers it.
                   and (paused_at is null or next_cause = 'TRIGGER')
                   -- Missed by more than its threshold: skipped (TaskHousekeeping.skipMisfires moves it on).
                   and not (misfire_policy = 'SKIP' and next_cause = 'SCHEDULE'
                            and next_run_at < now() - misfire_threshold_ms * interval '1 millisecond')""";

    /**
     * The condition on {@code instances} that an instance is live: running, with a heartbeat within
     * {@code :lease} (milliseconds).
     */
    static final String LIVE_INSTANCE =
            "state = 'RUNNING' and heartbeat_at > now() - :lease * interval '1 millisecond'";
}
