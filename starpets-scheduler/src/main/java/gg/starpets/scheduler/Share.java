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

    int quota() {
        long instances = Math.max(1, liveInstances);
        long fair = activeOrDue / instances + (rank < activeOrDue % instances ? 1 : 0);
        return (int) Math.max(0, fair - runningHere);
    }
}
