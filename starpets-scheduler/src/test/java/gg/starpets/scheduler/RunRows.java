package gg.starpets.scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** A task's run rows as the tests of missed slots and overlap read them. */
record RunRows(long id, String status, Instant slot, Instant started, Instant finished, String error) {

    /** A SKIP misfire with a threshold shorter than the period of the tests' schedules. */
    static final MisfirePolicy SKIP_200MS =
            new MisfirePolicy(MisfirePolicy.Kind.SKIP, Duration.ofMillis(200), 10, Duration.ofHours(1));

    /** The rows of {@code task}, ordered by {@code order} (a column list). */
    static List<RunRows> of(SchedulerCluster cluster, String task, String order) {
        return cluster.query(
                "select id, status, scheduled_for, started_at, finished_at, error from task_runs where task_name = '"
                        + task + "' order by " + order,
                rs -> new RunRows(
                        rs.getLong(1),
                        rs.getString(2),
                        rs.getTimestamp(3).toInstant(),
                        rs.getTimestamp(4).toInstant(),
                        rs.getTimestamp(5) == null ? null : rs.getTimestamp(5).toInstant(),
                        rs.getString(6)));
    }
}
