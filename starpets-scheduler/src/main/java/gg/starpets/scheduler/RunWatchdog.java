package gg.starpets.scheduler;

import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes "never two live handlers of one task" hold for handlers that do not cooperate. Each run's
 * hold ends at {@link LocalRun#holdEnd()} (E), no later than the moment another instance may start
 * its task; its steps stop at E − margin (M, the {@link LeaseGuard}'s margin). A handler still
 * executing its own code (not waiting in its context) is interrupted from E − M/2, and if it is
 * still executing at E − M/4 − P, where P is this watchdog's period, this process halts: the last
 * resort, since a handler that ignores interruption cannot be stopped otherwise.
 *
 * <p>It looks every P (M/20, 25 ms with the default heartbeat), so the halt is decided between
 * E − M/4 − P and E − M/4: at least M/4 (125 ms) before another instance may start the task. The
 * halt ({@link HaltRecord}) then waits at most half of what is left for its write, so it lands at
 * least M/8 (62 ms) before E, which covers a late wake-up of this thread. A process that was frozen
 * past E (SIGSTOP, a long GC pause) cannot halt before E: there it interrupts at once on waking and
 * halts M/4 − P later (100 ms), the time an interrupted handler has to return before E too, and not
 * before this watchdog has looked as many times ((M/4 − P)/P, 4) since: a JVM woken from a freeze on
 * a loaded machine runs every thread late, this one too, and the handler's thread needs as many turns
 * on the CPU as this one took. One period was not enough: an sql handler woken from a freeze needed
 * 17 ms to unwind its aborted statement and the process halted; 100 ms counted from before the
 * interrupt was logged were not either, at a load average of 14.
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

    /** How often it looks: a twentieth of the margin, at least a millisecond. */
    long periodNanos() {
        return Math.max(1_000_000, guard.marginNanos() / 20);
    }

    /** How long before the end of a run's hold it halts at the latest (M/4), when it looks on time. */
    long haltLeadNanos() {
        return guard.marginNanos() / 4;
    }

    /**
     * How long an interrupted handler has to return before the halt: M/4 − P (at least a period). Before
     * E this puts the halt in its window; after a freeze past E it is the same time, counted from waking.
     */
    long returnGraceNanos() {
        return Math.max(periodNanos(), haltLeadNanos() - periodNanos());
    }

    /** The looks an interrupted handler is given after a freeze past the end of its hold: (M/4 − P)/P. */
    int graceLooks() {
        return (int) Math.max(1, returnGraceNanos() / periodNanos());
    }

    @Override
    public void run() {
        long period = periodNanos();
        while (!stopping) {
            try {
                checkOnce();
            } catch (RuntimeException e) {
                log.error("Watchdog check failed; looking again", e);
            }
            try {
                Thread.sleep(period / 1_000_000, (int) (period % 1_000_000));
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
        long period = periodNanos();
        for (LocalRun run : runs.get()) {
            if (!run.executing()) {
                continue;
            }
            long now = guard.now();
            long end = run.holdEnd();
            if (now < end - margin / 2) {
                continue;
            }
            if (run.stoppedForSafetyAt == LocalRun.NONE) {
                run.stop(LocalRun.StopReason.SELF_FENCED);
                // The handler's time to return runs from its interrupt, not from before it.
                run.stoppedForSafetyAt = guard.now();
                if (now >= end) {
                    run.looksSinceLateStop = 0;
                }
                log.warn(
                        "Run {} of {} keeps executing while this instance cannot confirm its hold; interrupting it",
                        run.claim.runId(),
                        run.claim.task());
                continue;
            }
            if (run.looksSinceLateStop >= 0) {
                run.looksSinceLateStop++;
            }
            boolean graceOver = now - run.stoppedForSafetyAt >= returnGraceNanos();
            boolean inWindow = run.looksSinceLateStop < 0
                    ? now >= end - haltLeadNanos() - period
                    : run.looksSinceLateStop >= graceLooks();
            if (graceOver && inWindow) {
                log.error(
                        "Run {} of {} ignores interruption and this instance cannot confirm its hold: halting the"
                                + " process before another instance may start the task ({} ms before the end of"
                                + " the hold)",
                        run.claim.runId(),
                        run.claim.task(),
                        (end - now) / 1_000_000);
                stopping = true;
                halt.run();
                return;
            }
        }
    }
}
