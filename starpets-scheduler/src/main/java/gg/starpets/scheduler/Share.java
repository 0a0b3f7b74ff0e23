package gg.starpets.scheduler;

import java.time.Duration;

/**
 * What an instance needs to take its fair share. Of {@code activeOrDue} tasks (running anywhere,
 * due, or claimed a moment ago) over {@code liveInstances}, every instance may hold the floor of
 * the quotient, and the instances ranked first by id one more each for the remainder: 12 tasks on
 * 5 instances give 3, 3, 2, 2, 2. {@code runningHere} counts this instance's runs and its claims of
 * a moment ago, so that short runs are shared too. {@code groupLimits}: some concurrency group has a
 * limit, so the claim needs its group steps.
 */
record Share(
        long activeOrDue,
        long liveInstances,
        long rank,
        long runningHere,
        long runningElsewhere,
        Duration nextDueIn,
        boolean groupLimits) {

    Share(
            long activeOrDue,
            long liveInstances,
            long rank,
            long runningHere,
            long runningElsewhere,
            Duration nextDueIn) {
        this(activeOrDue, liveInstances, rank, runningHere, runningElsewhere, nextDueIn, true);
    }

    /**
     * {@link #quota()} in SQL, over the columns or values {@code %1$s} active or due, {@code %2$s} live
     * instances (at least 1), {@code %3$s} rank, {@code %4$s} running here (the claim's share step;
     * ShareQuotaTest holds the two equal).
     */
    static final String QUOTA = "greatest(0, %1$s / %2$s + case when %3$s < %1$s %% %2$s then 1 else 0 end - %4$s)";

    int quota() {
        long instances = Math.max(1, liveInstances);
        long fair = activeOrDue / instances + (rank < activeOrDue % instances ? 1 : 0);
        return (int) Math.max(0, fair - runningHere);
    }
}
