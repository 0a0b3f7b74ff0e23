package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * The demo task: waits its duration (param {@code duration}, else the configured default),
 * reporting progress as it goes, and stops at once when interrupted.
 */
public final class SleepHandler implements TaskHandler {

    private static final Duration STEP = Duration.ofMillis(500);

    private final Duration defaultDuration;

    public SleepHandler(Duration defaultDuration) {
        this.defaultDuration = defaultDuration;
    }

    @Override
    public void validate(Map<String, Object> params) {
        HandlerParams.allowOnly(params, Set.of("duration"));
        HandlerParams.duration(params, "duration");
    }

    @Override
    public void run(RunContext context) throws InterruptedException {
        Duration total = HandlerParams.duration(context, defaultDuration);
        long start = System.nanoTime();
        context.reportProgress(0);
        while (true) {
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            if (elapsed.compareTo(total) >= 0) {
                break;
            }
            Duration left = total.minus(elapsed);
            context.sleep(left.compareTo(STEP) < 0 ? left : STEP);
            context.reportProgress(Math.min(1.0, (System.nanoTime() - start) / (double) Math.max(1, total.toNanos())));
        }
        context.reportProgress(1);
    }
}
