package gg.starpets.scheduler;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A run in progress in this process: what was claimed, its context, whether its handler is still
 * executing, and why it is being stopped, if it is. It is also the run's side of
 * {@link RunContext#mayContinue()}: a step is allowed only while the {@link LeaseGuard} says the
 * instance still holds the task; otherwise the handler waits ("parked") until it does again, or
 * until the run is stopped.
 */
final class LocalRun implements RunContext.Gate {

    /** Why this instance stops a run before its handler returns. */
    enum StopReason {
        TIMEOUT(RunStatus.TIMED_OUT, "the run exceeded its timeout"),
        SHUTDOWN(RunStatus.INTERRUPTED, "the instance is shutting down"),
        SELF_FENCED(RunStatus.INTERRUPTED, "the instance could not confirm its lease in time"),
        FENCE_LOST(RunStatus.LOST, "another instance took the task over"),
        CANCELLED(RunStatus.CANCELLED, "cancelled by an operator");

        final RunStatus status;
        final String message;

        StopReason(RunStatus status, String message) {
            this.status = status;
            this.message = message;
        }
    }

    static final long NONE = Long.MIN_VALUE;

    final TaskRepository.ClaimedRun claim;
    final RunContext context;
    /** When the claim statement was sent (this instance's monotonic clock): the lease counts from here. */
    final long claimSentAt;

    private final LeaseGuard guard;
    private final CountDownLatch handlerDone = new CountDownLatch(1);
    private volatile Thread thread;
    private volatile StopReason stopReason;
    private volatile boolean parked;
    private volatile Runnable onEnd = () -> {};
    /** Watchdog bookkeeping: when it saw the handler executing past the hold, and when it stopped it. */
    volatile long overdueSince = NONE;

    volatile long stoppedForSafetyAt = NONE;

    LocalRun(TaskRepository.ClaimedRun claim, long claimSentAt, LeaseGuard guard) {
        this.claim = claim;
        this.claimSentAt = claimSentAt;
        this.guard = guard;
        this.context = new RunContext(
                claim.runId(),
                claim.fence(),
                claim.attempt(),
                claim.task(),
                claim.params(),
                claim.timeout(),
                this,
                "API".equals(claim.source()));
    }

    @Override
    public boolean mayContinue() {
        try {
            while (stopReason == null) {
                if (guard.mayStep(claimSentAt)) {
                    return true;
                }
                park(guard.marginNanos() / 5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        long end = guard.now() + duration.toNanos();
        while (true) {
            if (stopReason != null || Thread.interrupted()) {
                throw new InterruptedException("run " + claim.runId() + " of " + claim.task() + " was stopped");
            }
            long left = end - guard.now();
            if (left <= 0 && guard.mayStep(claimSentAt)) {
                return;
            }
            park(left > 0 ? left : guard.marginNanos() / 5);
        }
    }

    @Override
    public long holdEndNanos() {
        return guard.deadline(claimSentAt);
    }

    @Override
    public Duration holdMargin() {
        return Duration.ofNanos(guard.marginNanos());
    }

    private void park(long nanos) throws InterruptedException {
        parked = true;
        try {
            guard.awaitChange(nanos);
        } finally {
            parked = false;
        }
    }

    /** True while the handler runs its own code: neither returned nor waiting in its context. */
    boolean executing() {
        return handlerDone.getCount() > 0 && !parked;
    }

    /** What to undo when the run is over (its timers). */
    void onEnd(Runnable action) {
        Runnable previous = onEnd;
        onEnd = () -> {
            previous.run();
            action.run();
        };
    }

    void ended() {
        onEnd.run();
    }

    void handlerReturned() {
        handlerDone.countDown();
    }

    boolean handlerHasReturned() {
        return handlerDone.getCount() == 0;
    }

    boolean awaitHandlerReturned(Duration limit) {
        try {
            return handlerDone.await(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return handlerHasReturned();
        }
    }

    void attach(Thread thread) {
        this.thread = thread;
    }

    StopReason stopReason() {
        return stopReason;
    }

    /** Asks the handler to stop; the first reason given is the one recorded. */
    synchronized void stop(StopReason reason) {
        if (stopReason == null) {
            stopReason = reason;
        }
        Thread t = thread;
        if (t != null && !handlerHasReturned()) {
            t.interrupt();
        }
        guard.wakeAll();
    }
}
