package gg.starpets.web;

import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.RunRepository.RunFilter;
import gg.starpets.scheduler.RunRepository.RunRow;
import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskViews;
import gg.starpets.scheduler.TaskViews.TaskSnapshot;
import gg.starpets.scheduler.TaskViews.TaskView;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The tasks and their history, read from the database at request time: the same through every instance (B9). */
@RestController
class TasksController {

    static final int MAX_LIMIT = 500;

    /**
     * A task as docs/api.md describes it: where it runs and for how long, when it runs next, how its
     * last run ended, and its definition (the same field names the management API reads).
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
            Map<String, Object> retry,
            String misfire,
            Double misfireThresholdSeconds,
            Integer catchUpLimit,
            Double catchUpWindowSeconds,
            Double jitterSeconds) {}

    /** Why and until when a task is paused (null until: until resumed). */
    record Pause(Instant since, Instant until, String reason) {}

    record TaskList(Instant now, List<TaskResponse> tasks) {}

    record RunList(List<RunRow> runs) {}

    private final TaskViews tasks;
    private final RunRepository runs;

    TasksController(TaskViews tasks, RunRepository runs) {
        this.tasks = tasks;
        this.runs = runs;
    }

    @GetMapping("/tasks")
    TaskList list() {
        TaskSnapshot snapshot = tasks.find(null);
        return new TaskList(
                snapshot.now(),
                snapshot.tasks().stream().map(t -> response(t, snapshot.now())).toList());
    }

    @GetMapping("/tasks/{name}")
    ResponseEntity<TaskResponse> get(@PathVariable String name) {
        return withEtag(ResponseEntity.ok(), name);
    }

    TaskResponse one(String name) {
        TaskSnapshot snapshot = tasks.find(name);
        return snapshot.tasks().stream()
                .findFirst()
                .map(t -> response(t, snapshot.now()))
                .orElseThrow(() -> taskNotFound(name));
    }

    /** The task as it is now, with its version as the ETag. */
    ResponseEntity<TaskResponse> withEtag(ResponseEntity.BodyBuilder response, String name) {
        TaskResponse task = one(name);
        return response.eTag(Etags.of(task.version())).body(task);
    }

    @GetMapping("/tasks/{name}/runs")
    RunList runsOfTask(
            @PathVariable String name,
            @RequestParam(required = false) String limit,
            @RequestParam(required = false) String before) {
        if (tasks.find(name).tasks().isEmpty()) {
            throw taskNotFound(name);
        }
        return new RunList(
                runs.find(new RunFilter(name, null, null, positiveLong("before", before), limit(limit), null, null)));
    }

    /** Across tasks, newest first; {@code from}/{@code to}: runs started in that time (ISO-8601 instants). */
    @GetMapping("/runs")
    RunList allRuns(
            @RequestParam(required = false) String task,
            @RequestParam(required = false) String status,
            @RequestParam(required = false) String instanceId,
            @RequestParam(required = false) String from,
            @RequestParam(required = false) String to,
            @RequestParam(required = false) String limit,
            @RequestParam(required = false) String before) {
        return new RunList(runs.find(new RunFilter(
                blankToNull(task),
                status(status),
                blankToNull(instanceId),
                positiveLong("before", before),
                limit(limit),
                instant("from", from),
                instant("to", to))));
    }

    private static Instant instant(String name, String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(text.strip());
        } catch (java.time.format.DateTimeParseException e) {
            throw ApiException.badRequest(
                    "invalid_parameter", "'" + name + "' must be an ISO-8601 instant, e.g. 2026-11-29T10:00:00Z");
        }
    }

    private static TaskResponse response(TaskView t, Instant now) {
        Instant nextRunAt = t.enabled() && t.retiredAt() == null && t.quarantinedAt() == null ? t.nextRunAt() : null;
        if (t.running() && nextRunAt != null) {
            // While running, the stored due time is the one being served; show the one after it.
            nextRunAt = nextCronTime(t, now);
        }
        Map<String, Object> d = t.definition() == null ? Map.of() : TaskViews.describe(t.definition());
        @SuppressWarnings("unchecked")
        Map<String, Object> retry = (Map<String, Object>) d.get("retry");
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
                t.definition() == null ? null : t.definition().params(),
                retry,
                (String) d.get("misfire"),
                (Double) d.get("misfireThresholdSeconds"),
                (Integer) d.get("catchUpLimit"),
                (Double) d.get("catchUpWindowSeconds"),
                (Double) d.get("jitterSeconds"));
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

    static ApiException taskNotFound(String name) {
        return ApiException.notFound("task_not_found", "No task named '" + name + "'");
    }

    static int limit(String text) {
        if (text == null || text.isBlank()) {
            return 50;
        }
        Long value = positiveLong("limit", text);
        if (value > MAX_LIMIT) {
            throw ApiException.badRequest("invalid_parameter", "'limit' must be between 1 and " + MAX_LIMIT);
        }
        return value.intValue();
    }

    static Long positiveLong(String name, String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            long value = Long.parseLong(text.strip());
            if (value < 1) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_parameter", "'" + name + "' must be a positive whole number");
        }
    }

    private static RunStatus status(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return RunStatus.valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(
                    "invalid_parameter", "'status' must be one of " + Arrays.toString(RunStatus.values()));
        }
    }

    private static String blankToNull(String text) {
        return text == null || text.isBlank() ? null : text.strip();
    }
}
