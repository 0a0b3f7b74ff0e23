package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/**
 * The console's board as it reads it: each task's schedule and its last finished runs, for every
 * task in one statement (a board of 1,000 tasks must not cost 1,000 requests).
 */
public final class OutcomeViews {

    /** The newest {@code :limit} finished runs of each task, one index range scan per task. */
    private static final NamedSql LAST_OUTCOMES = NamedSql.of("""
            select t.name, t.schedule, t.time_zone, r.id, r.status, r.finished_at,
                   extract(epoch from r.finished_at - r.started_at) as duration
              from tasks t
              left join lateral (
                    select id, status, started_at, finished_at
                      from task_runs
                     where task_id = t.id and status not in ('RUNNING', 'PENDING')
                     order by id desc
                     limit :limit) r on true
             where cast(:names as text) is null or t.name = any (string_to_array(cast(:names as text), ','))
             order by t.name, r.id
            """);

    /** A finished run, as a cell of the board's strip. */
    public record Outcome(long id, String status, Instant finishedAt, Double durationSeconds) {}

    /** A task's schedule and its last outcomes, oldest first. */
    public record TaskOutcomes(String name, String schedule, String timeZone, List<Outcome> outcomes) {}

    private final DataSource dataSource;

    public OutcomeViews(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** For the tasks named (every task when {@code names} is empty), up to {@code limit} outcomes each. */
    public List<TaskOutcomes> lastOutcomes(Collection<String> names, int limit) {
        Map<String, TaskOutcomes> byTask = new LinkedHashMap<>();
        try (Connection c = dataSource.getConnection();
                var st = LAST_OUTCOMES
                        .prepare(c)
                        // Task names cannot hold a comma (the tasks table checks them).
                        .set("names", names.isEmpty() ? null : String.join(",", names))
                        .set("limit", limit);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                String schedule = rs.getString("schedule");
                String timeZone = rs.getString("time_zone");
                TaskOutcomes task = byTask.computeIfAbsent(
                        rs.getString("name"), name -> new TaskOutcomes(name, schedule, timeZone, new ArrayList<>()));
                long id = rs.getLong("id");
                if (!rs.wasNull()) {
                    task.outcomes()
                            .add(new Outcome(
                                    id,
                                    rs.getString("status"),
                                    instant(rs, "finished_at"),
                                    RunRepository.nullableDouble(rs, "duration")));
                }
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not read the tasks' last outcomes", e);
        }
        return List.copyOf(byTask.values());
    }
}
