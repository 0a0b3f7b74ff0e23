package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/** SQL of the {@code task_runs} table: the history, one row per run. */
public final class RunRepository {

    /** One run in the history. */
    public record RunRow(
            long id,
            String task,
            String instanceId,
            RunStatus status,
            Instant scheduledFor,
            Instant startedAt,
            Instant finishedAt,
            Double durationSeconds,
            String error,
            int attempt,
            Double progress,
            String cause,
            String output,
            Map<String, Object> result,
            String traceId,
            String requestedBy,
            Map<String, Object> params,
            Long upstreamRunId) {}

    /**
     * Which runs to list: all filters optional; newest first, ids below {@code before}, started at or
     * after {@code from} and before {@code to}.
     */
    public record RunFilter(
            String task, RunStatus status, String instanceId, Long before, int limit, Instant from, Instant to) {}

    /** The columns {@link #row} reads, from {@code task_runs r}. */
    static final String COLUMNS = """
            r.id, r.task_name, r.instance_id, r.status, r.scheduled_for, r.started_at, r.finished_at,
            extract(epoch from coalesce(r.finished_at, now()) - r.started_at) as duration, r.error, r.attempt, r.progress,
            r.cause, r.output, r.result::text as result, r.trace_id, r.requested_by, r.params::text as run_params,
            r.upstream_run_id
            """;

    private static final NamedSql SET_TRACE_ID =
            NamedSql.of("update task_runs set trace_id = :trace_id where id = :id");

    private static final NamedSql FIND = NamedSql.of("select " + COLUMNS + """
              from task_runs r
             where (cast(:task as text) is null or r.task_name = :task)
               and (cast(:status as text) is null or r.status = :status)
               and (cast(:instance as text) is null or r.instance_id = :instance)
               and (cast(:before as bigint) is null or r.id < :before)
               and (cast(:from as timestamptz) is null or r.started_at >= :from)
               and (cast(:to as timestamptz) is null or r.started_at < :to)
             order by r.id desc
             limit :limit
            """);

    private static final NamedSql FIND_ONE = NamedSql.of("select " + COLUMNS + " from task_runs r where r.id = :id");

    /**
     * The MISSED rows of skipped slots of a task, in one statement: each for its slot, with why; recorded
     * by {@code :instance}, at the task's fence, started and finished now.
     */
    private static final NamedSql INSERT_MISSED = NamedSql.of("""
            insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, started_at, finished_at,
                                   status, attempt, cause, error)
            select t.id, t.name, :instance, t.fence, m.slot, now(), now(), 'MISSED', 1, 'SCHEDULE', m.error
              from tasks t, unnest(cast(:slots as timestamptz[]), cast(:errors as text[])) as m(slot, error)
             where t.id = :task
            """);

    private final DataSource dataSource;

    public RunRepository(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public List<RunRow> find(RunFilter filter) {
        try (Connection c = dataSource.getConnection();
                var st = FIND.prepare(c)
                        .set("task", filter.task())
                        .set(
                                "status",
                                filter.status() == null ? null : filter.status().name())
                        .set("instance", filter.instanceId())
                        .set("before", filter.before())
                        .set("from", filter.from())
                        .set("to", filter.to())
                        .set("limit", filter.limit());
                ResultSet rs = st.executeQuery()) {
            List<RunRow> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(row(rs));
            }
            return rows;
        } catch (SQLException e) {
            throw new SchedulerException("could not read the run history", e);
        }
    }

    /** One run of the history, if kept (pruning deletes ended runs past retention). */
    public Optional<RunRow> findById(long id) {
        try (Connection c = dataSource.getConnection();
                var st = FIND_ONE.prepare(c).set("id", id);
                ResultSet rs = st.executeQuery()) {
            return rs.next() ? Optional.of(row(rs)) : Optional.empty();
        } catch (SQLException e) {
            throw new SchedulerException("could not read run " + id, e);
        }
    }

    /** Writes the MISSED rows of {@code missed} for task {@code taskId}; returns how many slots they stand for. */
    static long recordMissed(Connection c, long taskId, String instanceId, List<MissedSlots> missed)
            throws SQLException {
        List<MissedSlots.Row> rows =
                missed.stream().flatMap(m -> m.rows().stream()).toList();
        if (rows.isEmpty()) {
            return 0;
        }
        try (var st = INSERT_MISSED
                .prepare(c)
                .set("instance", instanceId)
                .set("task", taskId)
                .set(
                        "slots",
                        rows.stream()
                                .map(r -> java.sql.Timestamp.from(r.slot()))
                                .toArray(java.sql.Timestamp[]::new))
                .set("errors", rows.stream().map(MissedSlots.Row::error).toArray(String[]::new))) {
            st.executeUpdate();
        }
        return missed.stream().mapToLong(MissedSlots::count).sum();
    }

    // --- Retention: deletes in small batches, each its own short statement, task by task along the
    // (task_id, id) index, so that a batch reads little more than what it deletes. Never a run in
    // progress, never a task's last or current run. Claims insert new rows and lock tasks rows, which
    // these statements never touch, so they delay no claim.

    // Probed through tasks_last_run_idx and tasks_current_run_idx (a bitmap "or" of the two).
    // Nor a run that owns itself (overlap ALLOW): one recorded TIMED_OUT has ended but is still owned.
    private static final String NOT_REFERENCED = """
            not exists (select 1 from tasks t where t.last_run_id = r.id or t.current_run_id = r.id)
               and r.owner_session is null
            """;

    private static final NamedSql TASKS_WITH_RUNS = NamedSql.of("""
            select t.id from tasks t
             where exists (select 1 from task_runs r where r.task_id = t.id)
             order by t.id
            """);

    // Package-visible: QueryPlanTest checks that they read their indexes.
    static final NamedSql DELETE_BEYOND_NEWEST = NamedSql.of("""
            delete from task_runs where id = any(array(
                select r.id from task_runs r
                 where r.task_id = :task
                   and r.finished_at is not null
                   and r.id < (select n.id from task_runs n where n.task_id = :task
                                order by n.id desc offset :skip limit 1)
                   and %s
                 order by r.id
                 limit :limit))
            """.formatted(NOT_REFERENCED));

    static final NamedSql DELETE_ENDED_BEFORE = NamedSql.of("""
            delete from task_runs where id = any(array(
                select r.id from task_runs r
                 where r.task_id = :task
                   and r.finished_at < now() - :max_age * interval '1 millisecond'
                   and %s
                 order by r.id
                 limit :limit))
            """.formatted(NOT_REFERENCED));

    private static final NamedSql TABLE_SIZE = NamedSql.of(
            "select pg_total_relation_size('task_runs'), (select reltuples::bigint from pg_class where relname = 'task_runs')");

    /** The ids of the tasks that have runs. */
    public List<Long> tasksWithRuns() {
        try (Connection c = dataSource.getConnection();
                var st = TASKS_WITH_RUNS.prepare(c);
                ResultSet rs = st.executeQuery()) {
            List<Long> ids = new ArrayList<>();
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
            return ids;
        } catch (SQLException e) {
            throw new SchedulerException("could not list the tasks with runs", e);
        }
    }

    /** Deletes up to {@code limit} of a task's ended runs older than its newest {@code keep}, oldest first. */
    public int deleteBeyondNewest(long taskId, int keep, int limit) {
        return delete(
                DELETE_BEYOND_NEWEST,
                st -> st.set("task", taskId).set("skip", keep - 1).set("limit", limit));
    }

    /** Deletes up to {@code limit} of a task's runs that ended more than {@code maxAge} ago, oldest first. */
    public int deleteEndedBefore(long taskId, Duration maxAge, int limit) {
        return delete(
                DELETE_ENDED_BEFORE,
                st -> st.set("task", taskId).set("max_age", maxAge).set("limit", limit));
    }

    /** The history table's size on disk (with its indexes) in bytes, and its estimated number of rows. */
    public long[] tableSize() {
        try (Connection c = dataSource.getConnection();
                var st = TABLE_SIZE.prepare(c);
                ResultSet rs = st.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong(1), Math.max(0, rs.getLong(2))};
        } catch (SQLException e) {
            throw new SchedulerException("could not read the size of the run history", e);
        }
    }

    @FunctionalInterface
    private interface Binding {
        NamedSql.Statement bind(NamedSql.Statement statement) throws SQLException;
    }

    private int delete(NamedSql sql, Binding binding) {
        try (Connection c = dataSource.getConnection();
                var st = binding.bind(sql.prepare(c))) {
            return st.executeUpdate();
        } catch (SQLException e) {
            throw new SchedulerException("could not delete old runs", e);
        }
    }

    static Double nullableDouble(ResultSet rs, String column) throws SQLException {
        double value = rs.getDouble(column);
        return rs.wasNull() ? null : value;
    }

    /** One run from a row selected with {@link #COLUMNS}. */
    static RunRow row(ResultSet rs) throws SQLException {
        Double duration = nullableDouble(rs, "duration");
        Double progress = nullableDouble(rs, "progress");
        return new RunRow(
                rs.getLong("id"),
                rs.getString("task_name"),
                rs.getString("instance_id"),
                RunStatus.valueOf(rs.getString("status")),
                instant(rs, "scheduled_for"),
                instant(rs, "started_at"),
                instant(rs, "finished_at"),
                duration,
                rs.getString("error"),
                rs.getInt("attempt"),
                progress,
                rs.getString("cause"),
                rs.getString("output"),
                Json.object(rs.getString("result")),
                rs.getString("trace_id"),
                rs.getString("requested_by"),
                Json.object(rs.getString("run_params")),
                rs.getObject("upstream_run_id", Long.class));
    }

    /** Records the trace of run {@code runId} (tracing on): a statement of its own, at the run's start. */
    static void setTraceId(Connection c, long runId, String traceId) throws SQLException {
        try (var st = SET_TRACE_ID.prepare(c).set("trace_id", traceId).set("id", runId)) {
            st.executeUpdate();
        }
    }
}
