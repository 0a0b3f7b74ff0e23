package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * The {@code tasks} table as readers see it (the HTTP API, metrics): what each task is, who runs it
 * and for how long, read at the database's {@code now}. The engine's own statements are in
 * {@link TaskRepository}.
 */
public final class TaskViews {

    /** A task as the API shows it. */
    public record TaskView(
            String name,
            String handler,
            String schedule,
            String timeZone,
            boolean enabled,
            String instanceId,
            Instant startedAt,
            Double elapsedSeconds,
            Double progress,
            Instant nextRunAt,
            double timeoutSeconds,
            long fence,
            Instant stuckSince,
            RunRepository.RunRow lastRun,
            String source,
            long version,
            Instant pausedAt,
            Instant pausedUntil,
            String pauseReason,
            Instant quarantinedAt,
            Instant retiredAt,
            boolean triggerQueued,
            TaskDefinition definition,
            String groupWait,
            List<RunInProgress> runsInProgress) {

        /** A run in progress: of its task's row, or (overlap ALLOW) one of the runs in {@link #runsInProgress}. */
        public boolean running() {
            return instanceId != null || !runsInProgress.isEmpty();
        }

        /**
         * RUNNING, WAITING, PAUSED, DISABLED (or retired: no live instance defines it), QUARANTINED
         * (runs lost in a row), STUCK (its run timed out but the handler still executes), or COMPLETED
         * (a one-time task that has run), or WAITING_FOR_GROUP (due, but its concurrency group has no
         * free slot or start now: {@link #groupWait} says why).
         */
        public String state() {
            if (stuck()) {
                return "STUCK";
            }
            if (running()) {
                return "RUNNING";
            }
            if (quarantinedAt != null) {
                return "QUARANTINED";
            }
            if (!enabled || retiredAt != null) {
                return "DISABLED";
            }
            if (completed()) {
                return "COMPLETED";
            }
            if (pausedAt != null) {
                return "PAUSED";
            }
            return groupWait != null ? "WAITING_FOR_GROUP" : "WAITING";
        }

        /**
         * A one-time task ({@code schedule: once}) whose run has ended, with its retries: it has no next
         * run. Its last run says how it ended (COMPLETED whether that run SUCCEEDED or finally FAILED).
         */
        public boolean completed() {
            return Schedule.ONCE.equals(schedule)
                    && nextRunAt == null
                    && lastRun != null
                    && !running()
                    // A task that runs after another (with no schedule of its own) waits for its upstream.
                    && (definition == null || definition.runAfter() == null);
        }

        /** Its run has been ended (timed out) but the handler still executes on its instance. */
        public boolean stuck() {
            return stuckSince != null;
        }
    }

    /**
     * A run of an {@code overlap: ALLOW} task in progress (several may be at once, each owning itself; the
     * task's own instance, start and progress are then null).
     */
    public record RunInProgress(
            long runId, String instanceId, Instant startedAt, Double progress, int attempt, Instant scheduledFor) {}

    /** When a task last started, for the "not run within twice its interval" alert. */
    public record TaskTiming(
            String name, String schedule, String timeZone, double timeoutSeconds, double secondsSinceLastStart) {}

    /** Every task (or the one named), and the database time they were read at. */
    public record TaskSnapshot(Instant now, List<TaskView> tasks) {}

    private static final NamedSql VIEWS =
            NamedSql.of("""
            select now() as db_now, %s,
                   t.owner_instance, t.started_at as task_started_at,
                   extract(epoch from now() - t.started_at) as elapsed, t.progress as task_progress,
                   t.next_run_at, t.fence, t.stuck_since, t.source, t.version, t.paused_at,
                   t.paused_until, t.pause_reason, t.quarantined_at, t.retired_at, t.trigger_queued,
                   %s,
                   %s,
                   -- The runs in progress of an overlap ALLOW task (task_runs_owner_idx: only owned runs).
                   case when t.max_concurrent is not null then
                       (select json_agg(json_build_object(
                                   'id', o.id, 'instance', o.instance_id,
                                   'started', (extract(epoch from o.started_at) * 1000)::bigint,
                                   'progress', o.progress, 'attempt', o.attempt,
                                   'for', (extract(epoch from o.scheduled_for) * 1000)::bigint) order by o.id)::text
                          from task_runs o where o.owner_session is not null and o.task_id = t.id)
                   end as runs_in_progress
              from tasks t left join task_runs r on r.id = t.last_run_id
             where cast(:name as text) is null or t.name = :name
             order by t.name
            """.formatted(TaskColumns.DEFINITION, RunRepository.COLUMNS, GroupRepository.WAIT));

    private static final NamedSql TIMINGS = NamedSql.of("""
            select t.name, t.schedule, t.time_zone, t.timeout_seconds,
                   extract(epoch from now() - coalesce(t.started_at, r.started_at, t.created_at)) as since
              from tasks t left join task_runs r on r.id = t.last_run_id
             where t.enabled
            """);

    private static final NamedSql COUNTS = NamedSql.of("""
            select count(*) filter (where stuck_since is not null) as stuck,
                   count(*) filter (where quarantined_at is not null) as quarantined
              from tasks
            """);

    private static final NamedSql QUARANTINED_NAMES = NamedSql.of("""
            select name from tasks where quarantined_at is not null order by name
            """);

    private static final NamedSql COUNT_API = NamedSql.of("""
            select count(*) from tasks where source = 'API'
            """);

    private static final NamedSql EXISTS = NamedSql.of("select exists (select 1 from tasks where name = :name)");

    private final DataSource dataSource;

    public TaskViews(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public TaskSnapshot find(String onlyName) {
        try (Connection c = dataSource.getConnection()) {
            return find(c, onlyName);
        } catch (SQLException e) {
            throw new SchedulerException("could not read the tasks", e);
        }
    }

    /** As {@link #find(String)}, on {@code c} (in its transaction, if any). */
    static TaskSnapshot find(Connection c, String onlyName) throws SQLException {
        try (var st = VIEWS.prepare(c).set("name", onlyName);
                ResultSet rs = st.executeQuery()) {
            Instant now = null;
            List<TaskView> views = new ArrayList<>();
            while (rs.next()) {
                now = instant(rs, "db_now");
                views.add(view(rs));
            }
            return new TaskSnapshot(now == null ? DbClock.now(c) : now, views);
        }
    }

    /** Whether a task of that name is stored: for the reads that answer 404 for a name never seen (no row lock). */
    public boolean exists(String name) {
        try (Connection c = dataSource.getConnection();
                var st = EXISTS.prepare(c).set("name", name);
                ResultSet rs = st.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        } catch (SQLException e) {
            throw new SchedulerException("could not read the tasks", e);
        }
    }

    public List<TaskTiming> findTimings() {
        try (Connection c = dataSource.getConnection();
                var st = TIMINGS.prepare(c);
                ResultSet rs = st.executeQuery()) {
            List<TaskTiming> timings = new ArrayList<>();
            while (rs.next()) {
                timings.add(new TaskTiming(
                        rs.getString(1), rs.getString(2), rs.getString(3), rs.getDouble(4), rs.getDouble(5)));
            }
            return timings;
        } catch (SQLException e) {
            throw new SchedulerException("could not read task timings", e);
        }
    }

    /** Tasks stuck (a run ended while its handler still executes) and quarantined, in that order. */
    public long[] countStuckAndQuarantined() {
        try (Connection c = dataSource.getConnection();
                var st = COUNTS.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong("stuck"), rs.getLong("quarantined")};
        } catch (SQLException e) {
            throw new SchedulerException("could not count stuck and quarantined tasks", e);
        }
    }

    /** The names of the tasks quarantined now (until resumed). */
    public List<String> findQuarantinedNames() {
        try (Connection c = dataSource.getConnection();
                var st = QUARANTINED_NAMES.prepare(c);
                ResultSet rs = st.executeQuery()) {
            List<String> names = new ArrayList<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        } catch (SQLException e) {
            throw new SchedulerException("could not read the quarantined tasks", e);
        }
    }

    /** Tasks created over the management API (the API's bound on their number counts these). */
    public long countApiTasks() {
        try (Connection c = dataSource.getConnection();
                var st = COUNT_API.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new SchedulerException("could not count the API's tasks", e);
        }
    }

    private static TaskView view(ResultSet rs) throws SQLException {
        String owner = rs.getString("owner_instance");
        Double elapsed = RunRepository.nullableDouble(rs, "elapsed");
        Double progress = RunRepository.nullableDouble(rs, "task_progress");
        rs.getLong("id");
        RunRepository.RunRow lastRun = rs.wasNull() ? null : RunRepository.row(rs);
        return new TaskView(
                rs.getString("name"),
                rs.getString("handler"),
                rs.getString("schedule"),
                rs.getString("time_zone"),
                rs.getBoolean("enabled"),
                owner,
                owner == null ? null : instant(rs, "task_started_at"),
                owner == null ? null : elapsed,
                owner == null ? null : progress,
                instant(rs, "next_run_at"),
                rs.getDouble("timeout_seconds"),
                rs.getLong("fence"),
                instant(rs, "stuck_since"),
                lastRun,
                rs.getString("source"),
                rs.getLong("version"),
                instant(rs, "paused_at"),
                instant(rs, "paused_until"),
                rs.getString("pause_reason"),
                instant(rs, "quarantined_at"),
                instant(rs, "retired_at"),
                rs.getBoolean("trigger_queued"),
                definition(rs),
                rs.getString("group_wait"),
                runsInProgress(rs.getString("runs_in_progress")));
    }

    private static List<RunInProgress> runsInProgress(String json) {
        if (json == null) {
            return List.of();
        }
        List<RunInProgress> runs = new ArrayList<>();
        for (var run : Json.MAPPER.readTree(json)) {
            runs.add(new RunInProgress(
                    run.get("id").asLong(),
                    run.get("instance").asString(),
                    Instant.ofEpochMilli(run.get("started").asLong()),
                    run.get("progress").isNull() ? null : run.get("progress").asDouble(),
                    run.get("attempt").asInt(),
                    Instant.ofEpochMilli(run.get("for").asLong())));
        }
        return runs;
    }

    /** The definition as stored (a schedule or zone this version cannot read gives null). */
    private static TaskDefinition definition(ResultSet rs) throws SQLException {
        try {
            return TaskColumns.definition(rs);
        } catch (RuntimeException unreadable) {
            return null;
        }
    }

    /** A definition with the API's field names (as the management API reads and answers them). */
    public static java.util.Map<String, Object> describe(TaskDefinition d) {
        return TaskColumns.describe(d);
    }
}
