package gg.starpets.scheduler;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Until when this instance can be sure that no other instance starts the task of one of its runs,
 * measured on its own monotonic clock: the run's <em>hold</em>. A run takes a step only before that
 * moment (less a margin); past it, it waits (cooperative handlers pause in
 * {@link RunContext#mayContinue()}) until a lease renewal that returned it confirms the hold again,
 * or until it is stopped.
 *
 * <p>Other instances may take a task over when its lease ends (database clock), or once the
 * instance's session lock has been missing for {@link SchedulerSettings#lockLossGrace()} (if the
 * lock was seen after the server's current start). So a run's hold ends at the earliest of:
 * <ul>
 *   <li>its lease: the send time of its claim or of the last renewal that returned it (its
 *       {@code heldSince}, kept by {@link LocalRun}), plus the lease. A renewal extends only the
 *       runs it returned: one whose task was taken over meanwhile keeps its old, lapsed hold;
 *   <li>a silent session loss: the server drops an unreachable session by TCP keepalive no sooner
 *       than {@link SchedulerSettings#SILENT_SESSION_LOSS} after the last exchange on it, plus the grace;
 *   <li>a noticed loss: when the watch connection (one of the two holding the lock) fails, the lock
 *       may be gone now, so plus the grace only. Renewing again needs the watch back first.
 * </ul>
 * The instant a statement was sent is always taken before sending, which errs on the safe side.
 */
final class LeaseGuard {

    private static final long NONE = Long.MIN_VALUE;

    private final SchedulerSettings settings;
    private final long leaseNanos;
    private final long graceNanos;
    private final long silentNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    // All guarded by lock.
    private long primaryRoundTrip = NONE;
    private long watchRoundTrip = NONE;
    /** When the watch connection now in use took the lock; NONE while there is none. */
    private long watchOpened = NONE;

    /** When the watch was lost and not yet confirmed back by a renewal; NONE when the watch holds. */
    private long lossNoticed = NONE;

    LeaseGuard(SchedulerSettings settings) {
        this.settings = settings;
        this.leaseNanos = settings.lease().toNanos();
        this.graceNanos = settings.lockLossGrace().toNanos();
        this.silentNanos = SchedulerSettings.SILENT_SESSION_LOSS.toNanos();
    }

    /** The margin kept before the end of the hold: a handler's step must fit in it. */
    long marginNanos() {
        return graceNanos;
    }

    long now() {
        return settings.nanos();
    }

    /** A statement sent at {@code sentAt} on the primary session connection succeeded. */
    void primaryRoundTrip(long sentAt) {
        update(() -> primaryRoundTrip = Math.max(primaryRoundTrip, sentAt));
    }

    /** The primary session connection failed; the watch may still hold the lock. */
    void primaryLost() {
        update(() -> {
            primaryRoundTrip = NONE;
            if (watchRoundTrip == NONE && lossNoticed == NONE) {
                lossNoticed = now();
            }
        });
    }

    /** A watch connection opened by a statement sent at {@code sentAt} holds the lock. */
    void watchOpened(long sentAt) {
        update(() -> {
            watchOpened = sentAt;
            watchRoundTrip = sentAt;
        });
    }

    /** A statement sent at {@code sentAt} on the watch connection succeeded (it holds the lock). */
    void watchRoundTrip(long sentAt) {
        update(() -> watchRoundTrip = Math.max(watchRoundTrip, sentAt));
    }

    /** The watch connection failed: the lock may be gone from now on (if the primary is gone too). */
    void watchLost() {
        update(() -> {
            watchRoundTrip = NONE;
            watchOpened = NONE;
            if (lossNoticed == NONE) {
                lossNoticed = now();
            }
        });
    }

    /**
     * A lease renewal sent at {@code sentAt} on the primary connection (which holds the lock)
     * succeeded; the runs it returned have been told ({@link LocalRun#renewed}) before this call, and
     * those it did not return have been stopped. It ends a noticed loss if the watch holds the lock
     * again and the renewal was sent after it did: other instances that saw the lock missing see its
     * renewal stamp change. Wakes the runs waiting for their hold.
     */
    void renewed(long sentAt) {
        update(() -> {
            primaryRoundTrip = Math.max(primaryRoundTrip, sentAt);
            if (lossNoticed != NONE && watchOpened != NONE && sentAt > watchOpened && sentAt > lossNoticed) {
                lossNoticed = NONE;
            }
        });
    }

    /**
     * The end of the hold on a run whose claim, or last renewal that returned it, was sent at
     * {@code heldSince}.
     */
    long deadline(long heldSince) {
        lock.lock();
        try {
            long end = heldSince + leaseNanos;
            long freshest = Math.min(orMax(primaryRoundTrip), orMax(watchRoundTrip));
            if (freshest != Long.MAX_VALUE) {
                end = Math.min(end, freshest + silentNanos + graceNanos);
            }
            if (lossNoticed != NONE) {
                end = Math.min(end, lossNoticed + graceNanos);
            }
            return end;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a run held since {@code heldSince} (see {@link #deadline}) may take a step now. */
    boolean mayStep(long heldSince) {
        return now() < deadline(heldSince) - graceNanos;
    }

    /** Whether this instance may claim: a run claimed now could take steps for a while. */
    boolean mayClaim() {
        lock.lock();
        try {
            return lossNoticed == NONE && watchRoundTrip != NONE && primaryRoundTrip != NONE && mayStep(now());
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code nanos}, or less when the hold changes (a renewal, a loss). */
    void awaitChange(long nanos) throws InterruptedException {
        lock.lock();
        try {
            changed.awaitNanos(nanos);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every run waiting in {@link #awaitChange} (a run was stopped, the instance is closing). */
    void wakeAll() {
        update(() -> {});
    }

    private void update(Runnable change) {
        lock.lock();
        try {
            change.run();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private static long orMax(long value) {
        return value == NONE ? Long.MAX_VALUE : value;
    }
}
