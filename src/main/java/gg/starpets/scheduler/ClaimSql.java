package gg.starpets.scheduler;

/**
 * The claim, {@link TaskRepository}'s statement that takes due tasks for this instance and starts their
 * runs in one round trip; kept apart only for its length, in the two orders it takes tasks in.
 */
final class ClaimSql {

    /**
     * The claim statement, with the order it takes due tasks in: {@code %4$s} more columns of
     * {@code locked}, {@code %5$s} the order of {@code locked}, {@code %6$s} the same order over its columns,
     * {@code %7$s} the admission by concurrency groups ({@link GroupRepository#ADMISSION}), {@code %8$s}
     * the group rows the claimed tasks take.
     */
    private static final String CLAIM_TEMPLATE = """
            with %1$s, me as (
                select exists (select 1 from held where key = :key) as holds_lock
            ), locked as (
                select id, fence, cost, concurrency_group, least(next_run_at, next_request_at) as due_at%4$s,
                       -- A one-off run is due, and the schedule's own time is not earlier: it starts first.
                       coalesce(next_request_at <= now()
                                and (next_run_at is null or next_run_at > now() or next_request_at <= next_run_at),
                                false) as one_off
                  from tasks
                 where %2$s and least(next_run_at, next_request_at) <= now()
                   -- No claim without this instance's own session lock held at this moment.
                   and (select holds_lock from me)
                   -- Nor of a task whose earlier run's handler has not returned in this process.
                   and id <> all(cast(:busy as bigint[]))
                   -- Nor of a task that costs more than this instance's whole capacity (Capacity).
                   and cost <= :capacity
                 order by %5$s
                 limit :quota
                 for update skip locked
            ), %7$s, due as (
                -- The admitted tasks in their order while their costs fit in what is free here (Capacity): a
                -- claimed run must start. The others stay unowned; their row locks end with this statement.
                select id, fence, one_off, concurrency_group, group_slot, start_slot
                  from (select *, sum(cost) over (order by %6$s) as upto from admitted) l
                 where upto <= :free
            ), %3$s, claimed as (
                update tasks t
                   set owner_instance = :instance, owner_session = :key,
                       lease_until = now() + :lease * interval '1 millisecond',
                       fence = t.fence + 1,
                       current_run_id = case when s.id is not null then s.id
                                             else nextval(pg_get_serial_sequence('task_runs', 'id')) end,
                       started_at = now(), progress = null, stuck_since = null, cancel_requested = false,
                       updated_at = now(), owner_lock_seen_at = now(), last_claimed_by = :key, last_claimed_at = now()
                  from due left join started s on s.task_id = due.id
                 -- A one-off run cancelled since this statement began: the task waits for the next claim.
                 where t.id = due.id and (not due.one_off or s.id is not null)
                returning t.id, t.name, t.handler, t.schedule, t.time_zone, coalesce(s.params, t.params::text) as params,
                          t.timeout_seconds, t.fence, t.current_run_id, coalesce(s.attempt, t.next_attempt) as next_attempt,
                          coalesce(s.scheduled_for, t.next_run_at) as next_run_at, t.started_at,
                          coalesce(s.cause, t.next_cause) as next_cause,
                          coalesce(s.scheduled_for, t.next_fire_at, t.next_run_at) as fire_at,
                          t.retry::text as retry, t.misfire_policy, t.misfire_threshold_ms, t.catch_up_limit,
                          t.catch_up_window_ms, t.catch_ups, t.jitter_ms, t.source, t.overlap, t.cost,
                          s.id is not null as one_off, s.upstream_run_id
            ), runs as (
                insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for, started_at,
                                       status, attempt, cause)
                select current_run_id, id, name, :instance, fence, next_run_at, started_at, 'RUNNING', next_attempt,
                       next_cause
                  from claimed
                 where not one_off
            ), %8$s
            select * from claimed order by next_run_at
            """;

    /**
     * The claim with no capacity: due tasks in their due order, read in that order from tasks_due_idx
     * (nothing waits for room, so no order but the index's is needed). Package-visible: QueryPlanTest.
     */
    static final NamedSql CLAIM = NamedSql.of(CLAIM_TEMPLATE.formatted(
            SqlFragments.HELD_LOCKS,
            SqlFragments.CLAIMABLE,
            OneOffRepository.START_DUE,
            "",
            "least(next_run_at, next_request_at), id",
            "due_at, id",
            GroupRepository.ADMISSION.formatted("due_at, id"),
            GroupRepository.TAKE));

    /**
     * The claim of an instance with a capacity, where what fits is short: a task due longer ago than
     * {@code :aging} (milliseconds) first, the oldest first (no starvation), then by priority (higher
     * first), then by due time. It sorts the due rows it reads from tasks_due_idx. Package-visible:
     * QueryPlanTest.
     */
    static final NamedSql CLAIM_BY_PRIORITY = NamedSql.of(CLAIM_TEMPLATE.formatted(
            SqlFragments.HELD_LOCKS,
            SqlFragments.CLAIMABLE,
            OneOffRepository.START_DUE,
            """
            , priority,
                       case when least(next_run_at, next_request_at) <= now() - :aging * interval '1 millisecond'
                            then least(next_run_at, next_request_at) end as aged_at""",
            "aged_at, priority desc, due_at, id",
            "aged_at, priority desc, due_at, id",
            GroupRepository.ADMISSION.formatted("aged_at, priority desc, due_at, id"),
            GroupRepository.TAKE));

    private ClaimSql() {}
}
