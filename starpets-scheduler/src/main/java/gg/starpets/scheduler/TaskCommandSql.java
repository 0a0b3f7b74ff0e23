package gg.starpets.scheduler;

/**
 * The statements of {@link TaskCommands} on the tasks table (and the one read of a run it refuses by);
 * kept apart only for their length, as {@link ClaimSql} is for the claim.
 */
final class TaskCommandSql {

    static final NamedSql LOCK = NamedSql.of("""
            select t.id, %s, t.source, t.version, t.owner_session is not null or t.runs_owned > 0 as running,
                   t.paused_at is not null as paused, t.quarantined_at is not null as quarantined,
                   t.retired_at is not null as retired
              from tasks t
             where t.name = :name
               for update
            """.formatted(TaskColumns.DEFINITION));

    static final NamedSql INSERT_API = NamedSql.of("""
            insert into tasks (name, handler, schedule, time_zone, params, enabled, timeout_seconds, retry,
                               misfire_policy, misfire_threshold_ms, catch_up_limit, catch_up_window_ms, jitter_ms,
                               overlap, cost, source, next_run_at, next_fire_at, once_at, run_after_task, run_after_when, priority,
                               concurrency_group, max_concurrent)
            values (:name, :handler, :schedule, :zone, cast(:params as jsonb), :enabled, :timeout,
                    cast(:retry as jsonb), :misfire, :threshold, :catch_up_limit, :catch_up_window, :jitter, :overlap,
                    :cost, 'API', cast(:next as timestamptz), cast(:next as timestamptz), cast(:once_at as timestamptz),
                    cast(:run_after_task as text), cast(:run_after_when as text), :priority,
                    cast(:concurrency_group as text), cast(:max_concurrent as integer))
            on conflict (name) do nothing
            """);

    static final NamedSql UPDATE_API = NamedSql.of("""
            update tasks
               set handler = :handler, schedule = :schedule, time_zone = :zone, params = cast(:params as jsonb),
                   enabled = :enabled, timeout_seconds = :timeout, retry = cast(:retry as jsonb),
                   misfire_policy = :misfire, misfire_threshold_ms = :threshold, catch_up_limit = :catch_up_limit,
                   catch_up_window_ms = :catch_up_window, jitter_ms = :jitter, overlap = :overlap, cost = :cost,
                   once_at = cast(:once_at as timestamptz), run_after_task = cast(:run_after_task as text),
                   run_after_when = cast(:run_after_when as text), priority = :priority,
                   concurrency_group = cast(:concurrency_group as text),
                   max_concurrent = cast(:max_concurrent as integer), quarantined_at = null, lost_streak = 0, version = version + 1, updated_at = now(),
                   %s
             where id = :id and name = :name
            """.formatted(TaskColumns.rescheduled("", ":rescheduled")));

    static final NamedSql DELETE = NamedSql.of("delete from tasks where id = :id");

    static final NamedSql PAUSE = NamedSql.of("""
            update tasks set paused_at = now(), paused_until = cast(:until as timestamptz), pause_reason = :reason,
                   version = version + 1, updated_at = now()
             where id = :id
            """);

    static final NamedSql RESUME = NamedSql.of("""
            update tasks set paused_at = null, paused_until = null, pause_reason = null, quarantined_at = null,
                   lost_streak = 0, version = version + 1, updated_at = now()
             where id = :id
            """);

    // Only a task a trigger may run (the refusals below, in their order, explain a row it leaves alone).
    static final NamedSql TRIGGER = NamedSql.of("""
            update tasks
               set trigger_queued = owner_session is not null,
                   next_run_at = case when owner_session is null then now() else next_run_at end,
                   next_fire_at = case when owner_session is null then now() else next_fire_at end,
                   next_cause = case when owner_session is null then 'TRIGGER' else next_cause end,
                   next_attempt = case when owner_session is null then 1 else next_attempt end,
                   updated_at = now()
             where name = :name and enabled and retired_at is null and quarantined_at is null
               and (owner_session is null or :queue)
            returning owner_session is not null as queued
            """);

    // The run's task's row; a run of an overlap ALLOW task, its own (OwnedRunRepository).
    static final NamedSql CANCEL = NamedSql.of("""
            with task as (
                update tasks set cancel_requested = true, updated_at = now()
                 where current_run_id = :run and owner_session is not null
                returning name, owner_instance
            ), owned as (
                update task_runs set cancel_requested = true
                 where id = :run and owner_session is not null
                returning task_name as name, instance_id as owner_instance
            )
            select * from task union all select * from owned
            """);

    static final NamedSql RUN_EXISTS = NamedSql.of("select task_name, status from task_runs where id = :run");

    static final NamedSql NOTIFY = NamedSql.of("select pg_notify(:channel, :payload)");

    private TaskCommandSql() {}
}
