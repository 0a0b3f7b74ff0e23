package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Collection;

/**
 * Configuration sync: writes the tasks the configuration files define into {@code tasks}, in the
 * caller's transaction, each change with its {@link TaskEvents audit event}. Run by every instance
 * as it starts ({@link Scheduler#syncTasks}).
 */
final class TaskConfigSync {

    private static final NamedSql UPSERT_CONFIG = NamedSql.of("""
            insert into tasks (name, handler, schedule, time_zone, params, enabled, timeout_seconds, retry,
                               misfire_policy, misfire_threshold_ms, catch_up_limit, catch_up_window_ms, jitter_ms,
                               overlap, cost, source, next_run_at, next_fire_at, config_synced_at, once_at, run_after_task,
                               run_after_when, priority, concurrency_group, max_concurrent)
            values (:name, :handler, :schedule, :zone, cast(:params as jsonb), :enabled, :timeout,
                    cast(:retry as jsonb), :misfire, :threshold, :catch_up_limit, :catch_up_window, :jitter, :overlap,
                    :cost, 'CONFIG', cast(:first as timestamptz), cast(:first as timestamptz), now(),
                    cast(:once_at as timestamptz), cast(:run_after_task as text), cast(:run_after_when as text),
                    :priority, cast(:concurrency_group as text), cast(:max_concurrent as integer))
            on conflict (name) do update
               set handler = excluded.handler, schedule = excluded.schedule, time_zone = excluded.time_zone,
                   params = excluded.params, enabled = excluded.enabled, timeout_seconds = excluded.timeout_seconds,
                   retry = excluded.retry, misfire_policy = excluded.misfire_policy,
                   misfire_threshold_ms = excluded.misfire_threshold_ms, catch_up_limit = excluded.catch_up_limit,
                   catch_up_window_ms = excluded.catch_up_window_ms, jitter_ms = excluded.jitter_ms,
                   overlap = excluded.overlap, once_at = excluded.once_at, cost = excluded.cost, retired_at = null, quarantined_at = null,
                   run_after_task = excluded.run_after_task, run_after_when = excluded.run_after_when,
                   priority = excluded.priority, concurrency_group = excluded.concurrency_group,
                   max_concurrent = excluded.max_concurrent, lost_streak = 0, version = tasks.version + 1,
                   %1$s,
                   config_synced_at = now(), updated_at = now()
             where tasks.source = 'CONFIG'
               and (tasks.handler, tasks.schedule, tasks.time_zone, tasks.params, tasks.enabled, tasks.timeout_seconds,
                    tasks.retry, tasks.misfire_policy, tasks.misfire_threshold_ms, tasks.catch_up_limit,
                    tasks.catch_up_window_ms, tasks.jitter_ms, tasks.overlap, tasks.retired_at, tasks.once_at, tasks.cost,
                    tasks.run_after_task, tasks.run_after_when, tasks.priority, tasks.concurrency_group,
                    tasks.max_concurrent)
                   is distinct from
                   (excluded.handler, excluded.schedule, excluded.time_zone, excluded.params, excluded.enabled,
                    excluded.timeout_seconds, excluded.retry, excluded.misfire_policy, excluded.misfire_threshold_ms,
                    excluded.catch_up_limit, excluded.catch_up_window_ms, excluded.jitter_ms, excluded.overlap,
                    null::timestamptz, excluded.once_at, excluded.cost, excluded.run_after_task, excluded.run_after_when,
                    excluded.priority, excluded.concurrency_group, excluded.max_concurrent)
            """.formatted(TaskColumns.rescheduled(
            // A one-time task whose 'at' changed runs again, at the new time (a COMPLETED one too).
            "tasks.",
            "(tasks.schedule, tasks.time_zone, tasks.once_at)"
                    + " is distinct from (excluded.schedule, excluded.time_zone, excluded.once_at)")));

    private TaskConfigSync() {}

    /**
     * Creates new configuration tasks (due at {@link NextRunPlan#firstRun}) and updates changed ones, in name order, writing
     * an event for each; unchanged rows are not touched. Refuses a name an API-created task holds.
     */
    static int sync(Connection c, Collection<TaskDefinition> definitions, String actor) throws SQLException {
        Instant now = DbClock.now(c);
        RunAfterRepository.Problem chain = RunAfterRepository.problem(c, definitions);
        if (chain != null) {
            throw new TaskDefinition.InvalidTaskException(chain.task(), chain.problem());
        }
        int changed = 0;
        for (TaskDefinition d : definitions) {
            StoredTask before = TaskCommands.locked(c, d.name());
            if (before != null && !"CONFIG".equals(before.source())) {
                throw new TaskDefinition.InvalidTaskException(
                        d.name(), "a task of that name was created over the API; rename one of them");
            }
            try (var st = TaskColumns.bind(UPSERT_CONFIG.prepare(c), d)
                    .set("first", NextRunPlan.firstRun(d, now))
                    .set("next", NextRunPlan.afterScheduleChange(d, now))) {
                if (st.executeUpdate() == 1) {
                    changed++;
                    TaskEvents.record(
                            c,
                            d.name(),
                            actor,
                            before == null ? AuditAction.CREATED : AuditAction.UPDATED,
                            before == null ? null : TaskColumns.auditJson(before.definition()),
                            TaskColumns.auditJson(d),
                            before != null && before.retired() ? "back in the configuration" : null);
                }
            }
        }
        return changed;
    }
}
