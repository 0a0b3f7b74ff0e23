package gg.starpets.scheduler;

import java.sql.SQLException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code starpets-claim} thread: settles, then claims ({@link Claimer}, one claim per turn) and
 * sleeps until the next task can be claimed ({@link SchedulerSettings#claimAhead()} before its due time), a notification or the end of one of this instance's runs
 * ({@link Wakeup}), until the instance drains. How long it sleeps is decided here, from what each claim
 * did ({@link #sleepAfter}).
 */
final class ClaimLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ClaimLoop.class);

    private final SchedulerSettings settings;
    private final Claimer claimer;
    private final Wakeup wakeup;
    private final BooleanSupplier draining;
    /** Claims in a row that took nothing though something due was this instance's share. */
    private int misses;

    ClaimLoop(SchedulerSettings settings, Claimer claimer, Wakeup wakeup, BooleanSupplier draining) {
        this.settings = settings;
        this.claimer = claimer;
        this.wakeup = wakeup;
        this.draining = draining;
    }

    @Override
    public void run() {
        try {
            settle();
            while (!draining.getAsBoolean()) {
                Duration sleep;
                try {
                    sleep = sleepAfter(claimer.runOnce());
                } catch (SQLException | RuntimeException e) {
                    log.warn("Claim failed: {}", e.getMessage());
                    sleep = settings.heartbeat();
                }
                wakeup.await(sleep);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * How long to sleep after a claim that did {@code outcome}: a quarter heartbeat when this instance
     * could not claim now (its hold unsure), else {@link #sleep}; counts the claims in a row that missed.
     */
    Duration sleepAfter(Claimer.Outcome outcome) {
        if (outcome == Claimer.Outcome.NOT_NOW) {
            misses = 0;
            return settings.heartbeat().dividedBy(4);
        }
        boolean missed = outcome.claimed() == 0
                && outcome.quota() > 0
                && outcome.nextDueIn() != null
                && !outcome.nextDueIn().isPositive();
        misses = missed ? misses + 1 : 0;
        return sleep(outcome, settings.poll(), settings.heartbeat(), misses);
    }

    /**
     * How long the claim loop may sleep before the next claim; a notification or the end of one of this
     * instance's runs wakes it earlier. {@code misses}: claims in a row that took nothing though
     * something due was this instance's share.
     */
    static Duration sleep(Claimer.Outcome outcome, Duration poll, Duration heartbeat, int misses) {
        if (outcome.claimed() > 0 && outcome.claimed() == outcome.quota()) {
            return Duration.ZERO; // there may be more to take
        }
        Duration nextDueIn = outcome.nextDueIn();
        if (nextDueIn == null) {
            return poll;
        }
        if (nextDueIn.isPositive()) {
            // Nothing due yet: wake when the first one is, whatever our share is now.
            return nextDueIn.compareTo(poll) < 0 ? nextDueIn : poll;
        }
        if (outcome.quota() == 0) {
            // Due tasks that are other instances' share: look again when their turn has passed
            // (SchedulerSettings.spreadWindow), so that a slow peer's share waits no longer.
            return heartbeat.dividedBy(20);
        }
        // Due rows we could not lock: other instances claiming them (gone in a moment), or an
        // open transaction holding them. Back off, so that such a row never makes the loop spin.
        long nanos = 1_000_000L << Math.min(misses, 10);
        return nanos < heartbeat.toNanos() ? Duration.ofNanos(nanos) : heartbeat;
    }

    /**
     * Instances started together wait a moment before their first claim so that all of them are
     * registered and each takes only its share; with a configured total, until that many are alive.
     * An instance that joins a running cluster (another live instance already runs tasks) does not
     * wait: the split has begun, and while it waited the others would leave its share of any task
     * falling due (or recovered from a dead instance) unclaimed. Likewise once a peer registered no
     * earlier than this one has ended its settling, even if it is gone since: a total that one instance
     * dying at once never lets the others reach made them wait ten settles.
     */
    private void settle() throws InterruptedException {
        long deadline = settleUntil(settings.nanos());
        while (!draining.getAsBoolean() && settings.nanos() < deadline) {
            try {
                if (settled(claimer.peers())) {
                    break;
                }
            } catch (SQLException | RuntimeException e) {
                log.warn("Could not read the other instances' state: {}", e.getMessage());
            }
            long left =
                    Math.min(deadline - settings.nanos(), settings.heartbeat().toNanos());
            if (left > 0) {
                wakeup.await(Duration.ofNanos(left));
            }
        }
        try {
            claimer.settled();
        } catch (SQLException | RuntimeException e) {
            // The others then settle by their own rules, as before this mark existed.
            log.warn("Could not record that this instance has settled: {}", e.getMessage());
        }
    }

    /** Until when (the settings' ticker) settling may last, begun at {@code now}: ten settles with a total. */
    long settleUntil(long now) {
        Duration settle = settings.totalInstances() > 0 ? settings.settle().multipliedBy(10) : settings.settle();
        return now + settle.toNanos();
    }

    /** Whether settling is over, with {@code peers} as the database says now (only instances holding their lock). */
    boolean settled(ShareRepository.Peers peers) {
        return peers.runningElsewhere() > 0
                // The split has begun with this instance counted in it: waiting on leaves its part due.
                || peers.settledSince() > 0
                || (settings.totalInstances() > 0 && peers.liveInstances() >= settings.totalInstances());
    }
}
