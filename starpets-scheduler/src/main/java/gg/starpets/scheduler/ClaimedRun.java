package gg.starpets.scheduler;

import static gg.starpets.scheduler.InstanceRepository.instant;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * A run this instance has just claimed, with the task's definition as it was at the claim (a run
 * finishes under the definition it started with); its history row is already written as RUNNING.
 * {@code source}: {@code CONFIG} or {@code API}, where the task comes from; {@code overlap}: what a slot due
 * while it runs does; {@code cost}: the units of this instance's capacity the run uses while its handler
 * executes ({@link Capacity}); {@code upstreamRunId}: the run of another task whose end started this one
 * (run-after), else null; {@code pending}: the claim started a pending run (one-off, backfill, or a run of an
 * {@code overlap: ALLOW} task again), not the task's own next time; {@code startedAt}: when its handler is to
 * start, its due time if it was claimed ahead ({@link SchedulerSettings#claimAhead()}), else the claim's
 * time (the database's clock); {@code startIn}: how long from the end of the claim statement until then
 * (zero or less: at once).
 */
record ClaimedRun(
        long taskId,
        String task,
        String handler,
        String schedule,
        String timeZone,
        Map<String, Object> params,
        Duration timeout,
        long fence,
        long runId,
        int attempt,
        Instant scheduledFor,
        Instant startedAt,
        String cause,
        Instant fireAt,
        RetryPolicy retry,
        MisfirePolicy misfire,
        int catchUps,
        Duration jitter,
        String source,
        TaskDefinition.Overlap overlap,
        int cost,
        Long upstreamRunId,
        boolean pending,
        Duration startIn) {

    ClaimedRun(
            long taskId,
            String task,
            String handler,
            String schedule,
            String timeZone,
            Map<String, Object> params,
            Duration timeout,
            long fence,
            long runId,
            int attempt,
            Instant scheduledFor,
            Instant startedAt,
            String cause,
            Instant fireAt,
            RetryPolicy retry,
            MisfirePolicy misfire,
            int catchUps,
            Duration jitter,
            String source,
            TaskDefinition.Overlap overlap,
            int cost,
            Long upstreamRunId) {
        this(
                taskId,
                task,
                handler,
                schedule,
                timeZone,
                params,
                timeout,
                fence,
                runId,
                attempt,
                scheduledFor,
                startedAt,
                cause,
                fireAt,
                retry,
                misfire,
                catchUps,
                jitter,
                source,
                overlap,
                cost,
                upstreamRunId,
                false,
                Duration.ZERO);
    }

    /**
     * A run of an {@code overlap: ALLOW} task: it owns itself (its row carries its owner, lease and fence;
     * {@link OwnedRunRepository}), and its task stays unowned.
     */
    boolean ownsItself() {
        return overlap == TaskDefinition.Overlap.ALLOW;
    }

    /**
     * A one-off run ({@link OneOffRepository}): asked for by an operator, or after a run of its upstream
     * (run-after), through its retries and recoveries.
     */
    boolean oneOff() {
        return RunCause.MANUAL.name().equals(cause) || RunCause.UPSTREAM.name().equals(cause);
    }

    /** A row the claim returned; throws if its definition cannot be read. */
    static ClaimedRun read(ResultSet rs) throws SQLException {
        return new ClaimedRun(
                rs.getLong("id"),
                rs.getString("name"),
                rs.getString("handler"),
                rs.getString("schedule"),
                rs.getString("time_zone"),
                TaskColumns.params(rs),
                TaskColumns.timeout(rs),
                rs.getLong("fence"),
                rs.getLong("current_run_id"),
                rs.getInt("next_attempt"),
                instant(rs, "next_run_at"),
                instant(rs, "started_at"),
                rs.getString("next_cause"),
                instant(rs, "fire_at"),
                TaskColumns.retry(rs.getString("retry")),
                TaskColumns.misfire(rs),
                rs.getInt("catch_ups"),
                TaskColumns.jitter(rs),
                rs.getString("source"),
                TaskDefinition.Overlap.valueOf(rs.getString("overlap")),
                rs.getInt("cost"),
                rs.getObject("upstream_run_id", Long.class),
                rs.getBoolean("one_off"),
                Duration.ofNanos((long) (rs.getDouble("start_in") * 1e9)));
    }
}
