package gg.starpets.scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A monotonic clock the test moves by hand ({@link SchedulerSettings#ticker()}), with a {@link LeaseGuard}
 * and runs on it, for the hold's arithmetic without a database: the service's timing (lease 10 s,
 * heartbeat 1 s, so a grace and margin of 500 ms).
 */
final class ManualClock {

    static final Duration LEASE = Duration.ofSeconds(10);
    static final Duration HEARTBEAT = Duration.ofSeconds(1);

    private final AtomicLong nanos = new AtomicLong(1_000_000_000_000L);
    final SchedulerSettings settings = SchedulerSettings.builder("inst-clock")
            .lease(LEASE)
            .heartbeat(HEARTBEAT)
            .ticker(nanos::get)
            .build();
    final LeaseGuard guard = new LeaseGuard(settings);

    long now() {
        return nanos.get();
    }

    void advance(Duration by) {
        nanos.addAndGet(by.toNanos());
    }

    /** Both sessions answered just now: only the leases and a noticed loss limit the holds. */
    void sessionsAnswered() {
        guard.primaryRoundTrip(now());
        guard.watchRoundTrip(now());
    }

    /** A run of task {@code task} claimed by a statement sent now. */
    LocalRun claim(long runId, String task) {
        return claimAhead(runId, task, Duration.ZERO);
    }

    /** As {@link #claim}, claimed {@code ahead} of its due time: its handler is to start that much later. */
    LocalRun claimAhead(long runId, String task, Duration ahead) {
        ClaimedRun claim = new ClaimedRun(
                runId,
                task,
                "step",
                "1h",
                "UTC",
                Map.of(),
                Duration.ofMinutes(10),
                1,
                runId,
                1,
                Instant.EPOCH,
                Instant.EPOCH,
                "SCHEDULE",
                null,
                null,
                MisfirePolicy.DEFAULT,
                0,
                Duration.ZERO,
                "CONFIG",
                TaskDefinition.Overlap.SKIP,
                1,
                null);
        return new LocalRun(claim, now(), now() + ahead.toNanos(), guard);
    }
}
