package gg.starpets.scheduler;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * A run in progress in this process: what was claimed, its context, whether its handler is still
 * executing, and why it is being stopped, if it is. It is also the run's side of
 * {@link RunContext#mayContinue()}: a step is allowed only while the {@link LeaseGuard} says this
 * run's hold lasts (counted from its claim, or from the last lease renewal that returned it);
 * otherwise the handler waits ("parked") until a renewal confirms it again, or until the run is
 * stopped.
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

    final ClaimedRun claim;
    final RunContext context;
    /** When the claim statement was sent (this instance's monotonic clock): the lease counts from here. */
    final long claimSentAt;
    /** When its handler is to start (the guard's clock): later than the claim if it was claimed ahead. */
    final long startAt;

    private final LeaseGuard guard;
    /**
     * The send time of the claim, or of the last lease renewal that returned this run: its hold counts
     * from here. Written only by the heartbeat (one at a time), read by the run and the watchdog.
     */
    private volatile long heldSince;

    private final CountDownLatch handlerDone = new CountDownLatch(1);
    private volatile Thread thread;
    private volatile StopReason stopReason;
    private volatile boolean parked;
    private volatile Runnable onEnd = () -> {};
    /** Watchdog bookkeeping: when it interrupted the handler for executing near the end of the hold. */
    volatile long stoppedForSafetyAt = NONE;
    /** Watchdog bookkeeping: its looks since then, when it interrupted the handler only after the hold's end. */
    volatile int looksSinceLateStop = -1;

    LocalRun(ClaimedRun claim, long claimSentAt, LeaseGuard guard) {
        this(claim, claimSentAt, claimSentAt, guard);
    }

    LocalRun(ClaimedRun claim, long claimSentAt, long startAt, LeaseGuard guard) {
        this.claim = claim;
        this.claimSentAt = claimSentAt;
        this.startAt = startAt;
        this.heldSince = claimSentAt;
        this.guard = guard;
        this.context = new RunContext(
                        claim.runId(),
                        claim.fence(),
                        claim.attempt(),
                        claim.fireAt(),
                        claim.task(),
                        claim.params(),
                        claim.timeout(),
                        this,
                        "API".equals(claim.source()))
                .afterUpstream(claim.upstreamRunId());
    }

    /** A lease renewal sent at {@code sentAt} returned this run: its task is still this instance's. */
    void renewed(long sentAt) {
        if (sentAt > heldSince) {
            heldSince = sentAt;
        }
    }

    /** The end of this run's hold, on the guard's clock. */
    long holdEnd() {
        return guard.deadline(heldSince);
    }

    /**
     * Whether a step may be taken now. The stop reason is read after the hold: a heartbeat stops the
     * runs a renewal did not return before it wakes the others, so a run that sees the renewal also
     * sees its own stop.
     */
    boolean mayStep() {
        return guard.mayStep(heldSince) && stopReason == null;
    }

    @Override
    public boolean mayContinue() {
        if (stopReason == null && mayStep()) {
            return true;
        }
        // Parked for the whole wait, not only inside each park: the watchdog must never see a
        // waiting handler as executing between two parks.
        parked = true;
        try {
            while (stopReason == null) {
                if (mayStep()) {
                    return true;
                }
                guard.awaitChange(guard.marginNanos() / 5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            parked = false;
        }
        return false;
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        long end = guard.now() + duration.toNanos();
        parked = true;
        try {
            while (true) {
                if (stopReason != null || Thread.interrupted()) {
                    throw new InterruptedException("run " + claim.runId() + " of " + claim.task() + " was stopped");
                }
                long left = end - guard.now();
                if (left <= 0 && mayStep()) {
                    return;
                }
                guard.awaitChange(left > 0 ? left : guard.marginNanos() / 5);
            }
        } finally {
            parked = false;
        }
    }

    /**
     * Waits for the handler's start: until its start time, and then while a step may not be taken (a
     * freeze between the claim and the start may have let the task go elsewhere: the handler starts only
     * once a renewal confirms the hold). Throws when the run is stopped first; the handler never starts.
     */
    void awaitStart() throws InterruptedException {
        // Until the start time on a timer of this thread's own: the guard's condition wakes every waiting run
        // at each renewal and round trip, and a hundred runs waiting to start were woken a hundred times.
        long left;
        parked = true;
        try {
            while ((left = startAt - guard.now()) > 0) {
                if (stopReason != null) {
                    throw new InterruptedException("run " + claim.runId() + " of " + claim.task() + " was stopped");
                }
                Thread.sleep(Duration.ofNanos(left));
            }
        } finally {
            parked = false;
        }
        sleep(Duration.ZERO);
    }

    @Override
    public long holdEndNanos() {
        return holdEnd();
    }

    @Override
    public Duration holdMargin() {
        return Duration.ofNanos(guard.marginNanos());
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

    /**
     * The handler has returned; returns why the run was stopped, if it was. That answer is final: a
     * stop asked from now on changes nothing, so the end written is the one decided here.
     */
    synchronized StopReason handlerReturned() {
        handlerDone.countDown();
        return stopReason;
    }

    boolean handlerHasReturned() {
        return handlerDone.getCount() == 0;
    }

    void attach(Thread thread) {
        this.thread = thread;
    }

    StopReason stopReason() {
        return stopReason;
    }

    /**
     * Asks the handler to stop; the first reason given is the one recorded. Once the handler has
     * returned, nothing changes: its end is being written as it was.
     */
    synchronized void stop(StopReason reason) {
        if (handlerHasReturned()) {
            return;
        }
        if (stopReason == null) {
            stopReason = reason;
        }
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
        guard.wakeAll();
    }
}
