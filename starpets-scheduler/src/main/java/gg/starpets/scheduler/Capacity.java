package gg.starpets.scheduler;

import java.util.List;
import java.util.function.Supplier;

/**
 * This instance's capacity ({@link SchedulerSettings#maxConcurrentRuns()}, 0: no limit) and what its
 * live handlers use of it: each run whose handler has not returned (an interrupted, cancelled or
 * timed-out one still executing included) uses its task's {@code cost}. Only the claim thread adds
 * runs, and it reads what is free right before its claim: runs only end meanwhile, so what it claims
 * always fits.
 */
final class Capacity {

    /** What a claim may take: tasks costing at most {@code capacity}, in order while their costs fit in {@code free}. */
    record Room(int capacity, int free) {

        static final Room UNLIMITED = new Room(Integer.MAX_VALUE, Integer.MAX_VALUE);

        /** Whether the instance has a capacity: then what fits may be short, and priorities decide. */
        boolean limited() {
            return capacity != Integer.MAX_VALUE;
        }
    }

    private final int max;
    private final Supplier<List<LocalRun>> notReturned;
    /** Whether the last heartbeat told the others this instance is full. */
    private volatile boolean publishedFull;

    Capacity(int max, Supplier<List<LocalRun>> notReturned) {
        this.max = max;
        this.notReturned = notReturned;
    }

    /** The capacity; 0: no limit. */
    int max() {
        return max;
    }

    /** The units the live handlers use now. */
    int used() {
        return notReturned.get().stream().mapToInt(r -> r.claim.cost()).sum();
    }

    /** What a claim made now may take. */
    Room room() {
        return max == 0 ? Room.UNLIMITED : new Room(max, Math.max(0, max - used()));
    }

    /** No unit free: the instance claims nothing, and the others do not count it in their shares. */
    boolean full() {
        return max > 0 && used() >= max;
    }

    /** The units used now, as a heartbeat is about to tell the others (and whether that is full). */
    int publish() {
        int used = used();
        publishedFull = max > 0 && used >= max;
        return used;
    }

    /** Whether the others were told otherwise than is true now (a heartbeat should tell them at once). */
    boolean stale() {
        return max > 0 && publishedFull != full();
    }
}
