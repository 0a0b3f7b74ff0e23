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
import javax.sql.DataSource;

/** SQL of the {@code task_events} table: the audit trail of every change to a task. */
public final class TaskEvents {

    /** Who changed a task, how, what it was before and after, and when. */
    public record TaskEvent(
            long id,
            String task,
            Instant at,
            String actor,
            String action,
            Map<String, Object> before,
            Map<String, Object> after,
            String detail) {}

    private static final NamedSql INSERT = NamedSql.of("""
            insert into task_events (task_name, actor, action, before, after, detail)
            values (:task, :actor, :action, cast(:before as jsonb), cast(:after as jsonb), :detail)
            """);

    private static final NamedSql FIND = NamedSql.of("""
            select id, task_name, at, actor, action, before::text as before, after::text as after, detail
              from task_events
             where task_name = :task and (cast(:before_id as bigint) is null or id < :before_id)
             order by id desc
             limit :limit
            """);

    // Retention, oldest first, along task_events_at_idx. Package-visible: QueryPlanTest.
    static final NamedSql DELETE_OLDER_THAN = NamedSql.of("""
            delete from task_events where id = any(array(
                select id from task_events
                 where at < now() - :max_age * interval '1 millisecond'
                 order by at
                 limit :limit))
            """);

    private final DataSource dataSource;

    public TaskEvents(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Writes an event in the caller's transaction; {@code before}/{@code after} are JSON or null. */
    static void record(
            Connection c, String task, String actor, AuditAction action, String before, String after, String detail)
            throws SQLException {
        try (var st = INSERT.prepare(c)
                .set("task", task)
                .set("actor", actor)
                .set("action", action.name())
                .set("before", before)
                .set("after", after)
                .set("detail", detail)) {
            st.executeUpdate();
        }
    }

    /** The events of a task, newest first, ids below {@code before} when given. */
    public List<TaskEvent> find(String task, Long before, int limit) {
        try (Connection c = dataSource.getConnection();
                var st = FIND.prepare(c)
                        .set("task", task)
                        .set("before_id", before)
                        .set("limit", limit);
                ResultSet rs = st.executeQuery()) {
            List<TaskEvent> events = new ArrayList<>();
            while (rs.next()) {
                events.add(new TaskEvent(
                        rs.getLong("id"),
                        rs.getString("task_name"),
                        instant(rs, "at"),
                        rs.getString("actor"),
                        rs.getString("action"),
                        Json.object(rs.getString("before")),
                        Json.object(rs.getString("after")),
                        rs.getString("detail")));
            }
            return events;
        } catch (SQLException e) {
            throw new SchedulerException("could not read the events of task " + task, e);
        }
    }

    /** Deletes up to {@code limit} events older than {@code maxAge}, oldest first (retention). */
    public int deleteOlderThan(Duration maxAge, int limit) {
        try (Connection c = dataSource.getConnection();
                var st = DELETE_OLDER_THAN.prepare(c).set("max_age", maxAge).set("limit", limit)) {
            return st.executeUpdate();
        } catch (SQLException e) {
            throw new SchedulerException("could not delete old task events", e);
        }
    }
}
