package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.TaskHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * Real work for its duration: chains SHA-256 over its own output, yielding now and then so that
 * it does not starve the other runs, and checking for interruption between rounds.
 */
public final class CpuHandler implements TaskHandler {

    private static final int ROUNDS_PER_SLICE = 2_000;

    private final Duration defaultDuration;

    public CpuHandler(Duration defaultDuration) {
        this.defaultDuration = defaultDuration;
    }

    @Override
    public void validate(Map<String, Object> params) {
        HandlerParams.allowOnly(params, Set.of("duration"));
        HandlerParams.duration(params, "duration");
    }

    @Override
    public void run(RunContext context) throws InterruptedException, NoSuchAlgorithmException {
        Duration total = HandlerParams.duration(context, defaultDuration);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] digest = context.taskName().getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        while (System.nanoTime() - start < total.toNanos()) {
            for (int i = 0; i < ROUNDS_PER_SLICE; i++) {
                digest = sha.digest(digest);
            }
            // A step at a time: stops when asked, waits while its instance is reconnecting.
            if (!context.mayContinue()) {
                throw new InterruptedException("run " + context.runId() + " was stopped");
            }
            context.reportProgress((System.nanoTime() - start) / (double) Math.max(1, total.toNanos()));
            // Leave the core to other runs between slices: this is background work.
            context.sleep(Duration.ofMillis(5));
        }
        context.reportProgress(1);
    }
}
