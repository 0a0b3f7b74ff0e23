package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Changes to tasks, from configuration and from operators: create, edit, delete, pause, resume,
 * trigger, cancel. Each is one transaction that also writes its {@link TaskEvents audit event}; edits
 * are conditional on the task's version (the API's ETag). A change reaches every instance at its next
 * claim (definitions are read at the claim) — a run in progress finishes under the definition it
 * started with unless cancelled.
 */
public final class TaskCommands {

    /** Why a command was refused; the API maps each to a status and a stable code. */
    public enum Refusal {
        TASK_NOT_FOUND,
        RUN_NOT_FOUND,
        TASK_EXISTS,
        FROM_CONFIGURATION,
        VERSION_MISMATCH,
        RUNNING,
        /** A run is in progress: the task cannot be deleted now. */
        BUSY,
        NOT_RUNNING,
        DISABLED,
        QUARANTINED
    }

    public static final class RefusedException extends RuntimeException {
        private final Refusal refusal;

        RefusedException(Refusal refusal, String message) {
            super(message);
            this.refusal = refusal;
        }

        public Refusal refusal() {
            return refusal;
        }
    }

    /** A task's definition as stored, with what commands need to know of its state. */
    public record StoredTask(
            long id,
            TaskDefinition definition,
            String source,
            long version,
            boolean running,
            Long currentRunId,
            boolean paused,
            boolean quarantined,
            boolean retired) {}

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final String DEFINITION_COLUMNS = """
            id, name, handler, schedule, time_zone, params::text as params, enabled, timeout_seconds,
            retry::text as retry, misfire_policy, misfire_threshold_ms, catch_up_limit, catch_up_window_ms,
            jitter_ms, source, version, owner_session is not null as running, current_run_id,
            paused_at is not null as paused, quarantined_at is not null as quarantined,
            retired_at is not null as retired
            """;

    private static final NamedSql LOCK =
            NamedSql.of("select " + DEFINITION_COLUMNS + " from tasks where name = :name for update");

    private static final NamedSql UPSERT_CONFIG = NamedSql.of("""
            insert into tasks (name, handler, schedule, time_zone, params, enabled, timeout_seconds, retry,
                               misfire_policy, misfire_threshold_ms, catch_up_limit, catch_up_window_ms, jitter_ms,
                               source, next_run_at, next_fire_at, config_synced_at)
            values (:name, :handler, :schedule, :zone, cast(:params as jsonb), :enabled, :timeout,
                    cast(:retry as jsonb), :misfire, :threshold, :catch_up_limit, :catch_up_window, :jitter,
                    'CONFIG', now(), now(), now())
            on conflict (name) do update
               set handler = excluded.handler, schedule = excluded.schedule, time_zone = excluded.time_zone,
                   params = excluded.params, enabled = excluded.enabled, timeout_seconds = excluded.timeout_seconds,
                   retry = excluded.retry, misfire_policy = excluded.misfire_policy,
                   misfire_threshold_ms = excluded.misfire_threshold_ms, catch_up_limit = excluded.catch_up_limit,
                   catch_up_window_ms = excluded.catch_up_window_ms, jitter_ms = excluded.jitter_ms,
                   retired_at = null, quarantined_at = null, lost_streak = 0, version = tasks.version + 1,
                   %1$s,
                   config_synced_at = now(), updated_at = now()
             where tasks.source = 'CONFIG'
               and (tasks.handler, tasks.schedule, tasks.time_zone, tasks.params, tasks.enabled, tasks.timeout_seconds,
                    tasks.retry, tasks.misfire_policy, tasks.misfire_threshold_ms, tasks.catch_up_limit,
                    tasks.catch_up_window_ms, tasks.jitter_ms, tasks.retired_at)
                   is distinct from
                   (excluded.handler, excluded.schedule, excluded.time_zone, excluded.params, excluded.enabled,
                    excluded.timeout_seconds, excluded.retry, excluded.misfire_policy, excluded.misfire_threshold_ms,
                    excluded.catch_up_limit, excluded.catch_up_window_ms, excluded.jitter_ms, null::timestamptz)
            """.formatted(rescheduled(
            "tasks.", "(tasks.schedule, tasks.time_zone) is distinct from (excluded.schedule, excluded.time_zone)")));

    /**
     * The columns a schedule change sets: a new schedule counts from now ({@code :next}) for a task
     * waiting for its schedule; a trigger, retry or recovery pending keeps its time (it is not the
     * schedule's to move), and a running task gets its next time when its run ends. A catch-up pending
     * was the old schedule's: the new one's next time replaces it.
     *
     * @param t the table's qualifier, as the statement needs it ({@code "tasks."} or empty)
     * @param changed the condition that the schedule or its time zone changed
     */
    private static String rescheduled(String t, String changed) {
        String applies = "(%2$s) and %1$sowner_session is null and %1$snext_cause in ('SCHEDULE', 'CATCH_UP')"
                .formatted(t, changed);
        return """
                next_run_at = case when %1$s then cast(:next as timestamptz) else %2$snext_run_at end,
                next_fire_at = case when %1$s then cast(:next as timestamptz) else %2$snext_fire_at end,
                catch_ups = case when %1$s then 0 else %2$scatch_ups end,
                next_cause = case when %1$s then 'SCHEDULE' else %2$snext_cause end""".formatted(applies, t);
    }

    private static final NamedSql INSERT_API = NamedSql.of("""
            insert into tasks (name, handler, schedule, time_zone, params, enabled, timeout_seconds, retry,
                               misfire_policy, misfire_threshold_ms, catch_up_limit, catch_up_window_ms, jitter_ms,
                               source, next_run_at, next_fire_at)
            values (:name, :handler, :schedule, :zone, cast(:params as jsonb), :enabled, :timeout,
                    cast(:retry as jsonb), :misfire, :threshold, :catch_up_limit, :catch_up_window, :jitter,
                    'API', cast(:next as timestamptz), cast(:next as timestamptz))
            on conflict (name) do nothing
            """);

    private static final NamedSql UPDATE_API = NamedSql.of("""
            update tasks
               set handler = :handler, schedule = :schedule, time_zone = :zone, params = cast(:params as jsonb),
                   enabled = :enabled, timeout_seconds = :timeout, retry = cast(:retry as jsonb),
                   misfire_policy = :misfire, misfire_threshold_ms = :threshold, catch_up_limit = :catch_up_limit,
                   catch_up_window_ms = :catch_up_window, jitter_ms = :jitter,
                   quarantined_at = null, lost_streak = 0, version = version + 1, updated_at = now(),
                   %s
             where id = :id and name = :name
            """.formatted(rescheduled("", ":rescheduled")));

    private static final NamedSql DELETE = NamedSql.of("delete from tasks where id = :id");

    private static final NamedSql PAUSE = NamedSql.of("""
            update tasks set paused_at = now(), paused_until = cast(:until as timestamptz), pause_reason = :reason,
                   version = version + 1, updated_at = now()
             where id = :id
            """);

    private static final NamedSql RESUME = NamedSql.of("""
            update tasks set paused_at = null, paused_until = null, pause_reason = null, quarantined_at = null,
                   lost_streak = 0, version = version + 1, updated_at = now()
             where id = :id
            """);

    private static final NamedSql TRIGGER = NamedSql.of("""
            update tasks
               set trigger_queued = owner_session is not null,
                   next_run_at = case when owner_session is null then now() else next_run_at end,
                   next_fire_at = case when owner_session is null then now() else next_fire_at end,
                   next_cause = case when owner_session is null then 'TRIGGER' else next_cause end,
                   next_attempt = case when owner_session is null then 1 else next_attempt end,
                   updated_at = now()
             where id = :id
            """);

    private static final NamedSql CANCEL = NamedSql.of("""
            update tasks set cancel_requested = true, updated_at = now()
             where current_run_id = :run and owner_session is not null
            returning name, owner_instance
            """);

    private static final NamedSql RUN_EXISTS = NamedSql.of("select task_name, status from task_runs where id = :run");

    private static final NamedSql NOTIFY = NamedSql.of("select pg_notify(:channel, :payload)");

    // Package-visible: QueryPlanTest checks that it reads its index.
    static final NamedSql EXPIRE_PAUSES = NamedSql.of("""
            update tasks set paused_at = null, paused_until = null, pause_reason = null, version = version + 1,
                   updated_at = now()
             where paused_until <= now()
            returning name
            """);

    // Package-visible: QueryPlanTest checks that it reads its index.
    static final NamedSql RETIRE = NamedSql.of("""
            with live as (
                select config_tasks from instances
                 where state = 'RUNNING' and heartbeat_at > now() - :lease * interval '1 millisecond'
            )
            update tasks t set retired_at = now(), version = version + 1, updated_at = now()
             where t.source = 'CONFIG' and t.retired_at is null
               -- Just created or changed by an instance that has synced its configuration but not yet
               -- registered what it defines (its start, or a rolling update): not before a lease.
               and (t.config_synced_at is null or t.config_synced_at < now() - :lease * interval '1 millisecond')
               and exists (select 1 from live)
               -- Every live instance says what it defines (an older version would not: then wait).
               and not exists (select 1 from live where config_tasks is null)
               and not exists (select 1 from live where t.name = any(config_tasks))
            returning t.name
            """);

    // Package-visible: QueryPlanTest checks that it reads its index.
    static final NamedSql SKIPPABLE = NamedSql.of("""
            select id, schedule, time_zone, next_run_at from tasks
             where misfire_policy = 'SKIP' and next_cause = 'SCHEDULE' and owner_session is null
               -- Implied by the next line (thresholds are not negative); lets tasks_skip_due_idx be read as a range.
               and next_run_at < now()
               and next_run_at < now() - misfire_threshold_ms * interval '1 millisecond'
            """);

    // A row locked elsewhere (a claim, an operator) is left for the next heartbeat, never waited for.
    private static final NamedSql SKIP = NamedSql.of("""
            update tasks set next_run_at = cast(:next as timestamptz), next_fire_at = cast(:next as timestamptz),
                   updated_at = now()
             where id = (select id from tasks
                          where id = :id and next_run_at = cast(:was as timestamptz) and owner_session is null
                            for update skip locked)
            """);

    private final DataSource dataSource;

    public TaskCommands(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    // ---- from configuration ------------------------------------------------------------------

    /**
     * Creates new configuration tasks (due at once) and updates changed ones, in name order, writing
     * an event for each; unchanged rows are not touched. Refuses a name an API-created task holds.
     */
    int syncConfiguration(Connection c, Collection<TaskDefinition> definitions, String actor) throws SQLException {
        Instant now = TaskRepository.dbNow(c);
        int changed = 0;
        for (TaskDefinition d : definitions) {
            StoredTask before = lock(c, d.name());
            if (before != null && !"CONFIG".equals(before.source())) {
                throw new TaskDefinition.InvalidTaskException(
                        d.name(), "a task of that name was created over the API; rename one of them");
            }
            try (var st = bindDefinition(UPSERT_CONFIG.prepare(c), d)
                    .set("next", d.parsedSchedule().nextOrNull(now))) {
                if (st.executeUpdate() == 1) {
                    changed++;
                    TaskEvents.record(
                            c,
                            d.name(),
                            actor,
                            before == null ? "CREATED" : "UPDATED",
                            before == null ? null : json(before.definition()),
                            json(d),
                            before != null && before.retired() ? "back in the configuration" : null);
                }
            }
        }
        return changed;
    }

    /** Disables configuration tasks that no live instance defines any more; returns their names. */
    List<String> retireUndefined(Connection c, Duration lease, String actor) throws SQLException {
        List<String> retired = names(RETIRE.prepare(c).set("lease", lease));
        for (String name : retired) {
            TaskEvents.record(
                    c, name, actor, "RETIRED", null, null, "no live instance defines it in its configuration");
        }
        return retired;
    }

    /** Ends pauses whose time has come; returns the tasks resumed. */
    List<String> expirePauses(Connection c, String actor) throws SQLException {
        List<String> resumed = names(EXPIRE_PAUSES.prepare(c));
        for (String name : resumed) {
            TaskEvents.record(c, name, actor, "RESUMED", null, null, "the pause ended at its set time");
        }
        return resumed;
    }

    /**
     * Moves SKIP tasks that missed their time by more than their threshold on to their next future
     * time, each in a statement of its own when {@code c} auto-commits (so no row stays locked longer).
     */
    int skipMisfires(Connection c) throws SQLException {
        Instant now = TaskRepository.dbNow(c);
        record Missed(long id, String schedule, String zone, Instant was) {}
        List<Missed> missed = new ArrayList<>();
        try (var st = SKIPPABLE.prepare(c);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                missed.add(new Missed(
                        rs.getLong(1),
                        rs.getString(2),
                        rs.getString(3),
                        InstanceRepository.instant(rs, "next_run_at")));
            }
        }
        int skipped = 0;
        for (Missed m : missed) {
            try (var st = SKIP.prepare(c)
                    .set("next", NextRunPlan.nextOrNull(m.schedule(), m.zone(), now))
                    .set("id", m.id())
                    .set("was", m.was())) {
                skipped += st.executeUpdate();
            }
        }
        return skipped;
    }

    // ---- from operators ----------------------------------------------------------------------

    /** Creates a task over the API: due at its schedule's next time (trigger it to run now). */
    public StoredTask create(TaskDefinition d, String actor) {
        return inTransaction(c -> {
            Instant now = TaskRepository.dbNow(c);
            try (var st = bindDefinition(INSERT_API.prepare(c), d)
                    .set("next", d.parsedSchedule().nextOrNull(now))) {
                if (st.executeUpdate() == 0) {
                    throw new RefusedException(Refusal.TASK_EXISTS, "A task named '" + d.name() + "' exists");
                }
            }
            TaskEvents.record(c, d.name(), actor, "CREATED", null, json(d), null);
            notifyChanged(c);
            return lock(c, d.name());
        });
    }

    /** Replaces an API task's definition (the caller merged its changes in); {@code version} null: any. */
    public StoredTask update(String name, Long version, TaskDefinition d, String actor) {
        return inTransaction(c -> {
            StoredTask before = editable(c, name, version);
            boolean rescheduled = !before.definition().schedule().equals(d.schedule())
                    || !before.definition().timeZone().equals(d.timeZone());
            Instant now = TaskRepository.dbNow(c);
            try (var st = bindDefinition(UPDATE_API.prepare(c), d)
                    .set("rescheduled", rescheduled)
                    .set("next", d.parsedSchedule().nextOrNull(now))
                    .set("id", before.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(c, name, actor, "UPDATED", json(before.definition()), json(d), null);
            notifyChanged(c);
            return lock(c, name);
        });
    }

    /** Deletes an API task and its history (its events stay); refused while a run is in progress. */
    public void delete(String name, Long version, String actor) {
        inTransaction(c -> {
            StoredTask before = editable(c, name, version);
            if (before.running()) {
                throw new RefusedException(Refusal.BUSY, "Task '" + name + "' has a run in progress; cancel it first");
            }
            try (var st = DELETE.prepare(c).set("id", before.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(c, name, actor, "DELETED", json(before.definition()), null, null);
            return null;
        });
    }

    /** Pauses a task (no new run starts; one in progress goes on), until resumed or {@code until}. */
    public StoredTask pause(String name, Long version, Instant until, String reason, String actor) {
        return inTransaction(c -> {
            StoredTask task = existing(c, name, version);
            try (var st =
                    PAUSE.prepare(c).set("until", until).set("reason", reason).set("id", task.id())) {
                st.executeUpdate();
            }
            Map<String, Object> after = new LinkedHashMap<>();
            after.put("pausedUntil", until == null ? null : until.toString());
            after.put("reason", reason);
            TaskEvents.record(c, name, actor, "PAUSED", null, JSON.writeValueAsString(after), reason);
            return lock(c, name);
        });
    }

    /** Resumes a paused or quarantined task. */
    public StoredTask resume(String name, Long version, String actor) {
        return inTransaction(c -> {
            StoredTask task = existing(c, name, version);
            try (var st = RESUME.prepare(c).set("id", task.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(c, name, actor, "RESUMED", null, null, task.quarantined() ? "from quarantine" : null);
            notifyChanged(c);
            return lock(c, name);
        });
    }

    /**
     * Runs a task now. While a run is in progress: refused, unless {@code queue}, when it runs again as
     * soon as that one ends. A paused task runs once; a disabled or quarantined one does not.
     */
    public StoredTask trigger(String name, boolean queue, String actor) {
        return inTransaction(c -> {
            StoredTask task = existing(c, name, null);
            if (!task.definition().enabled() || task.retired()) {
                throw new RefusedException(Refusal.DISABLED, "Task '" + name + "' is disabled");
            }
            if (task.quarantined()) {
                throw new RefusedException(Refusal.QUARANTINED, "Task '" + name + "' is quarantined; resume it first");
            }
            if (task.running() && !queue) {
                throw new RefusedException(
                        Refusal.RUNNING, "Task '" + name + "' is running; ask with queue=true to run it again after");
            }
            try (var st = TRIGGER.prepare(c).set("id", task.id())) {
                st.executeUpdate();
            }
            TaskEvents.record(c, name, actor, "TRIGGERED", null, null, task.running() ? "queued after the run" : null);
            notifyChanged(c);
            return lock(c, name);
        });
    }

    /** Asks the instance running this run to stop it; it is recorded CANCELLED. Returns the task's name. */
    public String cancel(long runId, String actor) {
        return inTransaction(c -> {
            String task;
            try (var st = CANCEL.prepare(c).set("run", runId);
                    ResultSet rs = st.executeQuery()) {
                task = rs.next() ? rs.getString("name") : null;
            }
            if (task == null) {
                try (var st = RUN_EXISTS.prepare(c).set("run", runId);
                        ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) {
                        throw new RefusedException(Refusal.RUN_NOT_FOUND, "No run " + runId);
                    }
                    throw new RefusedException(
                            Refusal.NOT_RUNNING, "Run " + runId + " is not in progress (" + rs.getString(2) + ")");
                }
            }
            TaskEvents.record(c, task, actor, "CANCELLED", null, null, "run " + runId);
            try (var st = NOTIFY.prepare(c)
                            .set("channel", SessionWatch.CANCEL_CHANNEL)
                            .set("payload", Long.toString(runId));
                    ResultSet rs = st.executeQuery()) {
                rs.next();
            }
            return task;
        });
    }

    /** The task as stored, or null. */
    public StoredTask find(String name) {
        return inTransaction(c -> lock(c, name));
    }

    // ---- helpers -----------------------------------------------------------------------------

    private StoredTask existing(Connection c, String name, Long version) throws SQLException {
        StoredTask task = lock(c, name);
        if (task == null) {
            throw new RefusedException(Refusal.TASK_NOT_FOUND, "No task named '" + name + "'");
        }
        if (version != null && version != task.version()) {
            throw new RefusedException(
                    Refusal.VERSION_MISMATCH,
                    "Task '" + name + "' is at version " + task.version() + ", not " + version + ": read it again");
        }
        return task;
    }

    private StoredTask editable(Connection c, String name, Long version) throws SQLException {
        StoredTask task = existing(c, name, version);
        if (!"API".equals(task.source())) {
            throw new RefusedException(
                    Refusal.FROM_CONFIGURATION,
                    "Task '" + name + "' comes from the configuration files: change it there (the API can pause,"
                            + " resume, trigger and cancel it)");
        }
        return task;
    }

    private static StoredTask lock(Connection c, String name) throws SQLException {
        try (var st = LOCK.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            TaskDefinition d = new TaskDefinition(
                    rs.getString("name"),
                    rs.getString("handler"),
                    rs.getString("schedule"),
                    ZoneId.of(rs.getString("time_zone")),
                    Duration.ofNanos((long) (rs.getDouble("timeout_seconds") * 1e9)),
                    rs.getBoolean("enabled"),
                    JSON.readValue(rs.getString("params"), new TypeReference<Map<String, Object>>() {}),
                    TaskColumns.retry(rs.getString("retry")),
                    TaskColumns.misfire(rs),
                    Duration.ofMillis(rs.getLong("jitter_ms")));
            long run = rs.getLong("current_run_id");
            return new StoredTask(
                    rs.getLong("id"),
                    d,
                    rs.getString("source"),
                    rs.getLong("version"),
                    rs.getBoolean("running"),
                    rs.wasNull() ? null : run,
                    rs.getBoolean("paused"),
                    rs.getBoolean("quarantined"),
                    rs.getBoolean("retired"));
        }
    }

    private static NamedSql.Statement bindDefinition(NamedSql.Statement st, TaskDefinition d) throws SQLException {
        return st.set("name", d.name())
                .set("handler", d.handler())
                .set("schedule", d.schedule())
                .set("zone", d.timeZone().getId())
                .set("params", JSON.writeValueAsString(d.params()))
                .set("enabled", d.enabled())
                .set("timeout", d.timeout().toNanos() / 1e9)
                .set("retry", TaskColumns.retryJson(d.retry()))
                .set("misfire", d.misfire().kind().name())
                .set("threshold", d.misfire().threshold().toMillis())
                .set("catch_up_limit", d.misfire().catchUpLimit())
                .set("catch_up_window", d.misfire().catchUpWindow().toMillis())
                .set("jitter", d.jitter().toMillis());
    }

    /** A definition as the audit trail keeps it (the API's field names). */
    static String json(TaskDefinition d) {
        return JSON.writeValueAsString(TaskColumns.describe(d));
    }

    private static List<String> names(NamedSql.Statement statement) throws SQLException {
        try (statement;
                ResultSet rs = statement.executeQuery()) {
            List<String> names = new ArrayList<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        }
    }

    private static void notifyChanged(Connection c) throws SQLException {
        try (var st = NOTIFY.prepare(c).set("channel", SessionWatch.CHANNEL).set("payload", "");
                ResultSet rs = st.executeQuery()) {
            rs.next();
        }
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T inTransaction(Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not change the task", e);
        }
    }
}
