package gg.starpets.web;

import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.scheduler.TaskDefinition;
import java.time.Duration;
import java.time.Instant;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bounds on what the management API may create ({@code starpets.api}; defaults in application.yml), so
 * that an operator's token, or a script gone wrong, cannot grow the tasks table or the work without end.
 * Tasks from configuration files are not bound by them: they are the deployment's own.
 *
 * @param maxTasks the most tasks created over the API that may exist at once
 * @param maxParamsSize the most a task's {@code params} may take, as JSON
 * @param minInterval the shortest time between two due times of a task's schedule
 */
@ConfigurationProperties("starpets.api")
public record TaskLimits(int maxTasks, DataSize maxParamsSize, Duration minInterval) {

    /** How many of a cron schedule's next due times are looked at for the shortest gap between two. */
    static final int FIRES_LOOKED_AT = 1_000;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    public TaskLimits {
        if (maxTasks < 1) {
            throw new IllegalArgumentException("starpets.api.max-tasks must be positive, not " + maxTasks);
        }
        if (maxParamsSize == null || maxParamsSize.toBytes() < 1) {
            throw new IllegalArgumentException("starpets.api.max-params-size must be positive, not " + maxParamsSize);
        }
        if (minInterval == null || minInterval.isNegative()) {
            throw new IllegalArgumentException("starpets.api.min-interval must not be negative, not " + minInterval);
        }
    }

    /**
     * A definition the API is about to store: its params and its schedule within bounds, else refused
     * ({@link Refusal#PARAMS_TOO_LARGE}, {@link Refusal#SCHEDULE_TOO_FREQUENT}: a 400).
     */
    void check(TaskDefinition definition) {
        long size = JSON.writeValueAsBytes(definition.params()).length;
        if (size > maxParamsSize.toBytes()) {
            throw new RefusedException(
                    Refusal.PARAMS_TOO_LARGE,
                    "Task '" + definition.name() + "': its params take " + size + " bytes as JSON; at most "
                            + maxParamsSize.toBytes() + " (API_MAX_PARAMS_SIZE)");
        }
        Duration gap = shortestGap(definition.parsedSchedule(), Instant.now());
        if (gap.compareTo(minInterval) < 0) {
            throw new RefusedException(
                    Refusal.SCHEDULE_TOO_FREQUENT,
                    "Task '" + definition.name() + "': its schedule '" + definition.schedule() + "' is due every "
                            + gap.toMillis() + " ms at times; tasks created over the API run at most every "
                            + minInterval.toMillis() + " ms (API_MIN_INTERVAL)");
        }
    }

    /**
     * Before a task is created over the API, with {@code existing} of them already there: room for one
     * more, else refused ({@link Refusal#TASK_LIMIT_REACHED}: a 409).
     */
    void roomForOneMore(long existing) {
        if (existing >= maxTasks) {
            throw new RefusedException(
                    Refusal.TASK_LIMIT_REACHED,
                    "There are " + existing + " tasks created over the API, the most allowed (API_MAX_TASKS); delete"
                            + " one first");
        }
    }

    /**
     * The shortest time between two due times: a fixed delay's delay; for a cron, the shortest gap among
     * its next {@value #FIRES_LOOKED_AT} due times (a schedule that bursts only once a year beyond those
     * is not worth the search).
     */
    static Duration shortestGap(Schedule schedule, Instant from) {
        if (schedule instanceof Schedule.Interval interval) {
            return interval.delay();
        }
        Duration shortest = null;
        Instant previous = schedule.nextOrNull(from);
        for (int i = 0; previous != null && i < FIRES_LOOKED_AT; i++) {
            Instant next = schedule.nextOrNull(previous);
            if (next == null) {
                break;
            }
            Duration gap = Duration.between(previous, next);
            shortest = shortest == null || gap.compareTo(shortest) < 0 ? gap : shortest;
            previous = next;
        }
        return shortest == null ? Duration.ofSeconds(Long.MAX_VALUE) : shortest;
    }
}
