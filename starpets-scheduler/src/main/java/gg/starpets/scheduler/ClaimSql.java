package gg.starpets.scheduler;

/**
 * The claim, {@link TaskRepository}'s statement that takes due tasks for this instance and starts their
 * runs in one round trip; kept apart only for its length, in the two orders it takes tasks in.
 */
final class ClaimSql {

    /**
     * The claim's admission by concurrency groups ({@link GroupRepository}'s tables): of the tasks it locked ({@code locked}), those it may
     * start ({@code admitted}, with the group rows each takes): a task in no group or in a group with
     * no limit; else the group's n-th due task (in the claim's order, {@code %s}) while the group has n
     * free rows of each limit it has. The free rows are locked skipping those another claim holds, and
     * PostgreSQL checks {@code task_id is null} again on the newest version of a row it locks: a slot
     * taken by a claim that committed since this statement's snapshot is not taken twice (a count of
     * running tasks read from the snapshot would be). A task with no free row waits for a later claim.
     */
    private static final String ADMISSION = """
            grouped as (
                select id, concurrency_group, row_number() over (partition by concurrency_group order by %s) as nth
                  from locked
                 where concurrency_group is not null
            ), group_limits as (
                select name, max_concurrent, max_starts, starts_window_ms
                  from task_groups
                 where name in (select concurrency_group from grouped)
            ), free_slots as (
                select group_name, slot
                  from group_slots
                 where task_id is null and group_name in (select name from group_limits where max_concurrent is not null)
                   for update skip locked
            ), free_starts as (
                select group_name, slot
                  from group_starts
                 where free_at <= now() and group_name in (select name from group_limits where max_starts is not null)
                   for update skip locked
            ), admitted as (
                select l.*, s.slot as group_slot, r.slot as start_slot
                  from locked l
                  left join grouped g on g.id = l.id
                  left join group_limits m on m.name = g.concurrency_group
                  left join (select group_name, slot, row_number() over (partition by group_name order by slot) as nth
                               from free_slots) s on s.group_name = g.concurrency_group and s.nth = g.nth
                  left join (select group_name, slot, row_number() over (partition by group_name order by slot) as nth
                               from free_starts) r on r.group_name = g.concurrency_group and r.nth = g.nth
                 where m.name is null
                    or ((m.max_concurrent is null or s.slot is not null) and (m.max_starts is null or r.slot is not null))
            )""";

    /**
     * The claim's taking of the rows its admitted tasks were matched to, for the tasks it claimed: a
     * slot is held by the task until its release frees it (V22's trigger); a start row comes free a
     * window after this start (its recorded start: a run claimed ahead starts later than its claim).
     */
    private static final String TAKE = """
            took_slots as (
                update group_slots gs set task_id = d.id
                  from due d
                 where gs.group_name = d.concurrency_group and gs.slot = d.group_slot
                   and d.id in (select id from claimed)
            ), took_starts as (
                -- A window from the run's start as recorded (its due time if claimed ahead), not from the claim.
                update group_starts gs set free_at = c.started_at + m.starts_window_ms * interval '1 millisecond'
                  from due d join group_limits m on m.name = d.concurrency_group join claimed c on c.id = d.id
                 where gs.group_name = d.concurrency_group and gs.slot = d.start_slot
            )""";

    /**
     * The claim statement, with the order it takes due tasks in: {@code %4$s} more columns of
     * {@code locked}, {@code %5$s} the order of {@code locked}, {@code %6$s} the same order over its columns,
     * {@code %7$s} the admission by concurrency groups ({@link #ADMISSION}), {@code %8$s}
     * the group rows the claimed tasks take, {@code %9$s} which tasks of a group (row {@code g}) it leaves out,
     * {@code %10$s} the runs of {@code overlap: ALLOW} tasks, which own themselves ({@link OwnedRunRepository#CLAIM_ALLOW});
     * {@code claimed} takes every other task.
     */
    private static final String CLAIM_TEMPLATE = """
            with %1$s, me as (
                select exists (select 1 from held where key = :key) as holds_lock
            ), locked as (
                select id, fence, cost, concurrency_group, next_run_at, max_concurrent,
                       least(next_run_at, next_request_at) as due_at%4$s,
                       -- A one-off run is due, and the schedule's own time is not earlier: it starts first.
                       coalesce(next_request_at <= now() + :ahead * interval '1 millisecond'
                                and (next_run_at is null or next_run_at > now() + :ahead * interval '1 millisecond'
                                     or next_request_at <= next_run_at),
                                false) as one_off
                  from tasks
                 -- Due within :ahead (ms): claimed a little ahead, its handler started on this instance's
                 -- timer at the due time (Claimer), so that a start does not wait for a claim loop's turn.
                 where %2$s and least(next_run_at, next_request_at) <= now() + :ahead * interval '1 millisecond'
                   -- No claim without this instance's own session lock held at this moment.
                   and (select holds_lock from me)
                   -- Nor of a task whose earlier run's handler has not returned in this process.
                   and id <> all(cast(:busy as bigint[]))
                   -- Nor of a task that costs more than this instance's whole capacity (Capacity).
                   and cost <= :capacity
                   and (concurrency_group is null or not exists (
                        select 1 from task_groups g where g.name = tasks.concurrency_group and %9$s))
                 order by %5$s
                 limit :quota
                 for update skip locked
            ), %7$s, due as (
                -- The admitted tasks in their order while their costs fit in what is free here (Capacity): a
                -- claimed run must start. The others stay unowned; their row locks end with this statement.
                select id, fence, one_off, concurrency_group, group_slot, start_slot, next_run_at, max_concurrent, due_at
                  from (select *, sum(cost) over (order by %6$s) as upto from admitted) l
                 where upto <= :free
            ), %3$s, claimed as (
                update tasks t
                   set owner_instance = :instance, owner_session = :key,
                       lease_until = now() + :lease * interval '1 millisecond',
                       fence = t.fence + 1,
                       current_run_id = case when s.id is not null then s.id
                                             else nextval(pg_get_serial_sequence('task_runs', 'id')) end,
                       -- A run claimed ahead starts at its due time (RunExecutor waits for it). Else the time
                       -- read after this statement's snapshot, not now() (its transaction's start, before parsing
                       -- and planning): a run ended and committed meanwhile, which this claim sees, ended earlier.
                       started_at = coalesce(s.started_at, greatest(clock_timestamp(), due.due_at)), progress = null, stuck_since = null, cancel_requested = false,
                       updated_at = now(), owner_lock_seen_at = now(), last_claimed_by = :key, last_claimed_at = now()
                  from due left join started s on s.task_id = due.id
                 -- A one-off run cancelled since this statement began: the task waits for the next claim.
                 where t.id = due.id and (not due.one_off or s.id is not null) and due.max_concurrent is null
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
            ), %10$s, %8$s
            -- start_in: from now, near the statement's end, to each run's start (a run claimed ahead waits it from
            -- the claim's return on its instance's clock: never early, late only by the commit and the answer).
            select c.*, extract(epoch from c.started_at - clock_timestamp()) as start_in
              from (select * from claimed union all select * from claimed_allow) c
             order by next_run_at
            """;

    /**
     * Which tasks of a group the claim leaves out ({@code tasks.concurrency_group} names the group row
     * {@code g}): with the group steps, those of a group with no room when the statement began (the
     * oldest due tasks of a full group would fill the quota at every claim, be refused by the admission,
     * and keep every later due task waiting while the group stays full; the admission still decides on
     * the newest rows, this only leaves out, at worst for one claim).
     */
    private static final String FULL_GROUP = GroupRepository.NO_ROOM;

    /**
     * Without the group steps: those of any group with a limit. A claim that believed no group had one
     * when a group has since got one only leaves its tasks to the next claim with the steps: it can
     * delay a task of a group, never start one beyond a limit.
     */
    private static final String LIMITED_GROUP = "(g.max_concurrent is not null or g.max_starts is not null)";

    /** No group rows to match or take: every task the claim locks is in no group with a limit. */
    private static final String NO_ADMISSION =
            "admitted as (select *, null::integer as group_slot, null::integer as start_slot from locked)";

    private static final String NO_TAKE = "took_nothing as (select 1)";

    /** The claim in the order {@code order} ({@code columns}: more columns of {@code locked} it needs). */
    private static NamedSql claim(String columns, String tasksOrder, String order, boolean groups) {
        return NamedSql.of(CLAIM_TEMPLATE.formatted(
                SqlFragments.HELD_LOCKS,
                SqlFragments.CLAIMABLE,
                OneOffRepository.START_DUE,
                columns,
                tasksOrder,
                order,
                groups ? ADMISSION.formatted(order) : NO_ADMISSION,
                groups ? TAKE : NO_TAKE,
                groups ? FULL_GROUP : LIMITED_GROUP,
                OwnedRunRepository.CLAIM_ALLOW));
    }

    private static final String PRIORITY_COLUMNS = """
            , priority,
                       case when least(next_run_at, next_request_at) <= now() - :aging * interval '1 millisecond'
                            then least(next_run_at, next_request_at) end as aged_at""";

    private static final String PRIORITY_ORDER = "aged_at, priority desc, due_at, id";

    /**
     * The claim with no capacity: due tasks in their due order, read in that order from tasks_due_idx
     * (nothing waits for room, so no order but the index's is needed). Package-visible: QueryPlanTest.
     */
    static final NamedSql CLAIM = claim("", "least(next_run_at, next_request_at), id", "due_at, id", true);

    /**
     * The claim of an instance with a capacity, where what fits is short: a task due longer ago than
     * {@code :aging} (milliseconds) first, the oldest first (no starvation), then by priority (higher
     * first), then by due time. It sorts the due rows it reads from tasks_due_idx. Package-visible:
     * QueryPlanTest.
     */
    static final NamedSql CLAIM_BY_PRIORITY = claim(PRIORITY_COLUMNS, PRIORITY_ORDER, PRIORITY_ORDER, true);

    /**
     * {@link #CLAIM} and {@link #CLAIM_BY_PRIORITY} without the group steps, for when the share query saw
     * no group with a limit: they take no task of a group with a limit (see {@link #LIMITED_GROUP}).
     */
    static final NamedSql CLAIM_UNGROUPED = claim("", "least(next_run_at, next_request_at), id", "due_at, id", false);

    static final NamedSql CLAIM_BY_PRIORITY_UNGROUPED = claim(PRIORITY_COLUMNS, PRIORITY_ORDER, PRIORITY_ORDER, false);

    private ClaimSql() {}
}
