package gg.starpets.scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * A run this instance has just claimed, with the task's definition as it was at the claim (a run
 * finishes under the definition it started with); its history row is already written as RUNNING.
 * {@code source}: {@code CONFIG} or {@code API}, where the task comes from.
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
        TaskDefinition.RetryPolicy retry,
        TaskDefinition.MisfirePolicy misfire,
        int catchUps,
        Duration jitter,
        String source) {}
