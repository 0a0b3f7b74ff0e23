package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
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
