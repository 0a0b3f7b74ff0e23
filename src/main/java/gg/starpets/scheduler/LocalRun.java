package gg.starpets.scheduler;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A run in progress on this copy: what was claimed, its context, and why it is being stopped, if it is. */
final class LocalRun {

    /** Why this copy stops a run before its handler returns. */
    enum StopReason {
        TIMEOUT(RunStatus.TIMED_OUT, "the run exceeded its timeout"),
        SHUTDOWN(RunStatus.INTERRUPTED, "the instance is shutting down"),
        SELF_FENCED(RunStatus.INTERRUPTED, "the instance could not renew its lease"),
        FENCE_LOST(RunStatus.LOST, "another instance took the task over");

        final RunStatus status;
        final String message;

        StopReason(RunStatus status, String message) {
            this.status = status;
            this.message = message;
        }
    }

    final TaskRepository.ClaimedRun claim;
    private final CountDownLatch handlerDone = new CountDownLatch(1);
    final RunContext context;
    final long registeredAtNanos;
    private volatile Thread thread;
    private volatile StopReason stopReason;

    LocalRun(TaskRepository.ClaimedRun claim, long registeredAtNanos) {
        this.claim = claim;
        this.context = new RunContext(
                claim.runId(),
                claim.fence(),
                claim.attempt(),
                claim.task(),
                claim.params(),
                claim.timeout(),
                RunContext.Gate.OPEN);
        this.registeredAtNanos = registeredAtNanos;
    }

    private volatile Runnable onEnd = () -> {};

    /** What to undo when the run is over (its timeout timer). */
    void onEnd(Runnable action) {
        onEnd = action;
    }

    void ended() {
        onEnd.run();
    }

    void handlerReturned() {
        handlerDone.countDown();
    }

    void awaitHandlerReturned(Duration limit) {
        try {
            handlerDone.await(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        if (t != null) {
            t.interrupt();
        }
    }
}
