package gg.starpets.tasks;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.Schedule;
import java.time.Duration;

/** Reads the parameters the built-in handlers share. */
final class HandlerParams {

    private HandlerParams() {}

    /** {@code duration}: "2m", "30s", "PT2M"; absent: the default. */
    static Duration duration(RunContext context, Duration defaultDuration) {
        Object value = context.params().get("duration");
        if (value == null) {
            return defaultDuration;
        }
        Duration parsed = Schedule.Interval.parseDuration(value.toString().strip());
        if (parsed != null && !parsed.isNegative()) {
            return parsed;
        }
        throw new IllegalArgumentException("param 'duration' must be a duration such as 2m or PT30S, not " + value);
    }
}
