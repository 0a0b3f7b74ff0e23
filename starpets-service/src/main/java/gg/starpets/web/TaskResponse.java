package gg.starpets.web;

import gg.starpets.scheduler.MisfirePolicy;
import gg.starpets.scheduler.RetryPolicy;
import gg.starpets.scheduler.RunRepository.RunRow;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskViews;
import gg.starpets.scheduler.TaskViews.TaskSnapshot;
import gg.starpets.scheduler.TaskViews.TaskView;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import org.springframework.http.ResponseEntity;

/**
 * A task as docs/api.md describes it: where it runs and for how long, when it runs next, how its last
 * run ended, and its definition (the same field names the management API reads). The fields' order
 * is the JSON's.
 */
record TaskResponse(
        String name,
        String handler,
        String schedule,
        String timeZone,
        boolean enabled,
        String state,
        String instanceId,
        Instant startedAt,
        Double elapsedSeconds,
        Double progress,
        Instant nextRunAt,
        double timeoutSeconds,
        RunRow lastRun,
        String source,
        long version,
        Pause paused,
        Instant quarantinedAt,
        boolean retired,
        boolean triggerQueued,
        Map<String, Object> params,
        Retry retry,
        String misfire,
        Double misfireThresholdSeconds,
        Integer catchUpLimit,
        Double catchUpWindowSeconds,
        Double jitterSeconds,
        String overlap,
        Integer maxConcurrent,
        List<TaskViews.RunInProgress> runsInProgress,
        Instant at,
        Integer cost,
        TaskDefinition.RunAfter runAfter,
        Integer priority,
        String concurrencyGroup,
        String waitingForGroup) {

    /** Why and until when a task is paused (null until: until resumed). */
    record Pause(Instant since, Instant until, String reason) {}

    record Retry(int maxAttempts, double initialBackoffSeconds, double multiplier, double maxBackoffSeconds) {

        static Retry of(RetryPolicy retry) {
            return retry == null
                    ? null
                    : new Retry(
                            retry.maxAttempts(),
                            seconds(retry.initialBackoff()),
                            retry.multiplier(),
                            seconds(retry.maxBackoff()));
        }
    }

    record TaskList(Instant now, List<TaskResponse> tasks) {

        static TaskList of(TaskSnapshot snapshot) {
            return new TaskList(
                    snapshot.now(),
                    snapshot.tasks().stream()
                            .map(t -> TaskResponse.of(t, snapshot.now()))
                            .toList());
        }
    }

    /** The one task a snapshot read by name holds, with its version as the ETag; 404 when there is none. */
    static ResponseEntity<TaskResponse> entity(ResponseEntity.BodyBuilder builder, TaskSnapshot snapshot, String name) {
        TaskResponse task = snapshot.tasks().stream()
                .findFirst()
                .map(t -> of(t, snapshot.now()))
                .orElseThrow(() -> notFound(name));
        return builder.eTag(Etags.of(task.version())).body(task);
    }

    static ApiException notFound(String name) {
        return ApiException.notFound("task_not_found", "No task named '" + name + "'");
    }

    /** The task as read at the database's {@code now}. */
    static TaskResponse of(TaskView t, Instant now) {
        Instant nextRunAt = t.enabled() && t.retiredAt() == null && t.quarantinedAt() == null ? t.nextRunAt() : null;
        if (t.running() && nextRunAt != null) {
            // While running, the stored due time is the one being served; show the one after it.
            nextRunAt = nextCronTime(t, now);
        }
        // Null when the stored definition cannot be read by this version (written by a newer one).
        TaskDefinition d = t.definition();
        MisfirePolicy misfire = d == null ? null : d.misfire();
        return new TaskResponse(
                t.name(),
                t.handler(),
                t.schedule(),
                t.timeZone(),
                t.enabled(),
                t.state(),
                t.instanceId(),
                t.startedAt(),
                t.elapsedSeconds(),
                t.progress(),
                nextRunAt,
                t.timeoutSeconds(),
                t.lastRun(),
                t.source(),
                t.version(),
                t.pausedAt() == null ? null : new Pause(t.pausedAt(), t.pausedUntil(), t.pauseReason()),
                t.quarantinedAt(),
                t.retiredAt() != null,
                t.triggerQueued(),
                d == null ? null : d.params(),
                d == null ? null : Retry.of(d.retry()),
                misfire == null ? null : misfire.kind().name(),
                misfire == null ? null : seconds(misfire.threshold()),
                misfire == null ? null : misfire.catchUpLimit(),
                misfire == null ? null : seconds(misfire.catchUpWindow()),
                d == null ? null : seconds(d.jitter()),
                d == null ? null : d.overlap().name(),
                d == null ? null : d.maxConcurrent(),
                // Several at once for an overlap ALLOW task; empty for every other (its run: instanceId, startedAt).
                t.runsInProgress(),
                // A one-time task's time (schedule "once"); null for every other task.
                d == null || !d.once() ? null : d.startAt(),
                d == null ? null : d.cost(),
                d == null ? null : d.runAfter(),
                d == null ? null : d.priority(),
                d == null ? null : d.concurrencyGroup(),
                // Why a due task of a group waits (state WAITING_FOR_GROUP); null otherwise.
                "WAITING_FOR_GROUP".equals(t.state()) ? t.groupWait() : null);
    }

    /** A cron's next time after now (null for a fixed delay: it counts from the run's end). */
    private static Instant nextCronTime(TaskView t, Instant now) {
        try {
            Schedule schedule = Schedule.parse(t.schedule(), ZoneId.of(t.timeZone()));
            return schedule instanceof Schedule.Cron ? schedule.nextOrNull(now) : null;
        } catch (RuntimeException e) {
            // A schedule this version cannot read (written by a newer one): show no time, never fail the list.
            return null;
        }
    }

    private static double seconds(Duration duration) {
        return duration.toNanos() / 1e9;
    }
}
