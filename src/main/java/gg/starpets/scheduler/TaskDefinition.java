package gg.starpets.scheduler;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;
import java.util.regex.Pattern;

/** A task: its unique name, the handler it calls, its schedule and limits. */
public record TaskDefinition(
        String name,
        String handler,
        String schedule,
        ZoneId timeZone,
        Duration timeout,
        boolean enabled,
        Map<String, Object> params) {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");
    public static final String MISFIRE_POLICY = "RUN_ONCE";

    public TaskDefinition {
        params = params == null ? Map.of() : Map.copyOf(params);
    }

    /** Checks everything that can be checked without the database; the message names the task. */
    public static TaskDefinition of(
            String name,
            String handler,
            String schedule,
            String timeZone,
            Duration timeout,
            Boolean enabled,
            Map<String, Object> params) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidTaskException(
                    name,
                    "the name must be 1-100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
        }
        if (handler == null || handler.isBlank()) {
            throw new InvalidTaskException(name, "no handler is given");
        }
        ZoneId zone;
        try {
            zone = ZoneId.of(timeZone == null || timeZone.isBlank() ? "UTC" : timeZone);
        } catch (DateTimeException e) {
            throw new InvalidTaskException(name, "unknown time zone '" + timeZone + "'");
        }
        try {
            Schedule.parse(schedule, zone);
        } catch (IllegalArgumentException e) {
            throw new InvalidTaskException(name, "invalid schedule: " + e.getMessage());
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new InvalidTaskException(name, "the timeout must be positive, not " + timeout);
        }
        return new TaskDefinition(name, handler, schedule.strip(), zone, timeout, enabled == null || enabled, params);
    }

    public Schedule parsedSchedule() {
        return Schedule.parse(schedule, timeZone);
    }

    /** A task definition that cannot be used; the service refuses to start with it. */
    public static final class InvalidTaskException extends IllegalArgumentException {
        public InvalidTaskException(String task, String problem) {
            super("Task '" + task + "': " + problem);
        }
    }
}
