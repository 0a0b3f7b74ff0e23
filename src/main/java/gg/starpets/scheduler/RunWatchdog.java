package gg.starpets.scheduler;

import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes "never two live handlers of one task" hold for handlers that do not cooperate. Once the
 * {@link LeaseGuard}'s hold on a run is about to end (its gate has closed), a cooperative handler
 * waits in its context; one still executing its own code is interrupted; and if it is still
 * executing shortly before the hold ends, when another instance may start the task, this process
 * halts: the last resort, since a handler that ignores interruption cannot be stopped otherwise.
 *
 * <p>It runs on its own platform thread ({@code starpets-watchdog}), so that no call hanging on the
 * database can delay it.
 */
final class RunWatchdog implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(RunWatchdog.class);

    private final LeaseGuard guard;
    private final Supplier<? extends Iterable<LocalRun>> runs;
    private final Runnable halt;
    private volatile boolean stopping;

    RunWatchdog(LeaseGuard guard, Supplier<? extends Iterable<LocalRun>> runs, Runnable halt) {
        this.guard = guard;
        this.runs = runs;
        this.halt = halt;
    }

    @Override
    public void run() {
        Duration period = Duration.ofNanos(Math.max(1_000_000, guard.marginNanos() / 10));
        while (!stopping) {
            checkOnce();
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void stop() {
        stopping = true;
    }

    void checkOnce() {
        long margin = guard.marginNanos();
        for (LocalRun run : runs.get()) {
            if (!run.executing()) {
                run.overdueSince = LocalRun.NONE;
                continue;
            }
            long now = guard.now();
            if (now < run.holdEnd() - margin) {
                run.overdueSince = LocalRun.NONE;
                continue;
            }
            if (run.overdueSince == LocalRun.NONE) {
                run.overdueSince = now;
            }
            if (run.stoppedForSafetyAt == LocalRun.NONE && now - run.overdueSince >= margin / 2) {
                log.warn(
                        "Run {} of {} keeps executing while this instance cannot confirm its lease; interrupting it",
                        run.claim.runId(),
                        run.claim.task());
                run.stoppedForSafetyAt = now;
                run.stop(LocalRun.StopReason.SELF_FENCED);
            } else if (run.stoppedForSafetyAt != LocalRun.NONE && now - run.stoppedForSafetyAt >= margin * 4 / 10) {
                log.error(
                        "Run {} of {} ignores interruption and this instance cannot confirm its lease: halting the"
                                + " process before another instance may start the task",
                        run.claim.runId(),
                        run.claim.task());
                stopping = true;
                halt.run();
                return;
            }
        }
    }
}
