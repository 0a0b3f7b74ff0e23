package gg.starpets.scheduler;

import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Run contexts whose hold a test controls, for handlers tested outside the scheduler: the hold ends
 * where the test says, on {@link System#nanoTime()}'s clock, and moves when the test renews it.
 */
public final class HeldRunContext {

    private HeldRunContext() {}

    /**
     * @param holdEnd the end of the hold as known now (asked at each use)
     * @param margin steps stop this much before the end
     */
    public static RunContext of(
            String taskName, Map<String, Object> params, Duration timeout, LongSupplier holdEnd, Duration margin) {
        return new RunContext(
                1,
                1,
                1,
                java.time.Instant.now(),
                taskName,
                params,
                timeout,
                new RunContext.Gate() {
                    @Override
                    public boolean mayContinue() {
                        return !Thread.currentThread().isInterrupted()
                                && System.nanoTime() - (holdEnd.getAsLong() - margin.toNanos()) < 0;
                    }

                    @Override
                    public void sleep(Duration duration) throws InterruptedException {
                        Thread.sleep(duration);
                    }

                    @Override
                    public long holdEndNanos() {
                        return holdEnd.getAsLong();
                    }

                    @Override
                    public Duration holdMargin() {
                        return margin;
                    }
                },
                false);
    }
}
