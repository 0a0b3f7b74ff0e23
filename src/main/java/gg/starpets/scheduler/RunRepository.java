package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
            Double progress) {}

    /** Which runs to list: all filters optional; newest first, ids below {@code before}. */
    public record RunFilter(String task, RunStatus status, String instanceId, Long before, int limit) {}

    /** The columns {@link #row} reads, from {@code task_runs r}. */
    static final String COLUMNS = """
            r.id, r.task_name, r.instance_id, r.status, r.scheduled_for, r.started_at, r.finished_at,
            extract(epoch from coalesce(r.finished_at, now()) - r.started_at) as duration, r.error, r.attempt, r.progress
            """;

    private final DataSource dataSource;

    public RunRepository(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public List<RunRow> find(RunFilter filter) {
        StringBuilder sql = new StringBuilder("select " + COLUMNS + " from task_runs r where true");
        List<Object> args = new ArrayList<>();
        if (filter.task() != null) {
            sql.append(" and r.task_name = ?");
            args.add(filter.task());
        }
        if (filter.status() != null) {
            sql.append(" and r.status = ?");
            args.add(filter.status().name());
        }
        if (filter.instanceId() != null) {
            sql.append(" and r.instance_id = ?");
            args.add(filter.instanceId());
        }
        if (filter.before() != null) {
            sql.append(" and r.id < ?");
            args.add(filter.before());
        }
        sql.append(" order by r.id desc limit ?");
        args.add(filter.limit());
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
                st.setObject(i + 1, args.get(i));
            }
            try (ResultSet rs = st.executeQuery()) {
                List<RunRow> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(row(rs));
                }
                return rows;
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not read the run history", e);
        }
    }

    // --- Retention: deletes in small batches, each its own short statement, task by task along the
    // (task_id, id) index, so that a batch reads little more than what it deletes. Never a run in
    // progress, never a task's last or current run. Claims insert new rows and lock tasks rows, which
    // these statements never touch, so they delay no claim.

    private static final String NOT_REFERENCED = """
            not exists (select 1 from tasks t where t.last_run_id = r.id or t.current_run_id = r.id)
            """;

    /** The ids of the tasks that have runs. */
    public List<Long> tasksWithRuns() {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement("""
                        select t.id from tasks t
                         where exists (select 1 from task_runs r where r.task_id = t.id)
                         order by t.id
                        """);
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
        return delete("""
                delete from task_runs where id = any(array(
                    select r.id from task_runs r
                     where r.task_id = ?
                       and r.finished_at is not null
                       and r.id < (select n.id from task_runs n where n.task_id = ?
                                    order by n.id desc offset ? limit 1)
                       and %s
                     order by r.id
                     limit ?))
                """.formatted(NOT_REFERENCED), taskId, taskId, keep - 1, limit);
    }

    /** Deletes up to {@code limit} of a task's runs that ended more than {@code maxAge} ago, oldest first. */
    public int deleteEndedBefore(long taskId, Duration maxAge, int limit) {
        return delete("""
                delete from task_runs where id = any(array(
                    select r.id from task_runs r
                     where r.task_id = ?
                       and r.finished_at < now() - ? * interval '1 millisecond'
                       and %s
                     order by r.id
                     limit ?))
                """.formatted(NOT_REFERENCED), taskId, maxAge.toMillis(), limit);
    }

    private int delete(String sql, Object... args) {
        try (Connection c = dataSource.getConnection();
                var st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
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
                progress);
    }
}
