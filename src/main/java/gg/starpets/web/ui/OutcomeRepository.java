package gg.starpets.web.ui;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The console's one read of its own: each task's schedule and its last finished runs, for every
 * task in one statement (a board of 1,000 tasks must not cost 1,000 requests).
 */
@Repository
class OutcomeRepository {

    /** The newest {@code :limit} finished runs of each task, one index range scan per task. */
    private static final String LAST_OUTCOMES = """
            select t.name, t.schedule, t.time_zone, r.id, r.status, r.finished_at,
                   extract(epoch from r.finished_at - r.started_at) as duration
              from tasks t
              left join lateral (
                    select id, status, started_at, finished_at
                      from task_runs
                     where task_id = t.id and status <> 'RUNNING'
                     order by id desc
                     limit :limit) r on true
             where :names::text is null or t.name = any (string_to_array(:names::text, ','))
             order by t.name, r.id
            """;

    /** A finished run, as a cell of the board's strip. */
    record Outcome(long id, String status, Instant finishedAt, Double durationSeconds) {}

    /** A task's schedule and its last outcomes, oldest first. */
    record TaskOutcomes(String name, String schedule, String timeZone, List<Outcome> outcomes) {}

    private final JdbcClient jdbc;

    OutcomeRepository(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** For the tasks named (every task when {@code names} is empty), up to {@code limit} outcomes each. */
    List<TaskOutcomes> lastOutcomes(Collection<String> names, int limit) {
        Map<String, TaskOutcomes> byTask = new LinkedHashMap<>();
        jdbc.sql(LAST_OUTCOMES)
                // Task names cannot hold a comma (the tasks table checks them).
                .param("names", names.isEmpty() ? null : String.join(",", names))
                .param("limit", limit)
                .query(rs -> {
                    String schedule = rs.getString("schedule");
                    String timeZone = rs.getString("time_zone");
                    TaskOutcomes task = byTask.computeIfAbsent(
                            rs.getString("name"),
                            name -> new TaskOutcomes(name, schedule, timeZone, new ArrayList<>()));
                    long id = rs.getLong("id");
                    if (!rs.wasNull()) {
                        var finished = rs.getTimestamp("finished_at");
                        double duration = rs.getDouble("duration");
                        task.outcomes()
                                .add(new Outcome(
                                        id,
                                        rs.getString("status"),
                                        finished == null ? null : finished.toInstant(),
                                        rs.wasNull() ? null : duration));
                    }
                });
        return List.copyOf(byTask.values());
    }
}
