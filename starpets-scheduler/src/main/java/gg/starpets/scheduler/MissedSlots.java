package gg.starpets.scheduler;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Slots of a schedule that were skipped, and why, as the {@code MISSED} run rows that record them: at
 * most {@link #ROWS} slots one by one, the first ones; the rest in one summary row (for the last of
 * them) that says how many it stands for. A per-second task down for a day so writes 101 rows, not
 * 86,400. Counting stops at {@link #COUNTED} slots ("at least"), so that no decision enumerates a
 * long downtime slot by slot (measured once on a loaded 2-core machine: 1,000 slots of a per-second
 * cron enumerated in 41 ms; the housekeeping pass that skipped a day of them and wrote 101 rows, 187 ms).
 *
 * @param slots the first skipped slots, oldest first, at most {@link #ROWS}
 * @param more how many more were skipped after them (at least this many when {@code moreCounted} is false)
 * @param moreFrom the first of those, null when none
 * @param moreTo the last of those counted, null when none
 */
record MissedSlots(
        List<Instant> slots, long more, boolean moreCounted, Instant moreFrom, Instant moreTo, String reason) {

    /** Slots recorded one by one in one decision. */
    static final int ROWS = 100;

    /** Slots counted in one decision; past it the summary row says "at least". */
    static final int COUNTED = 1_000;

    static final MissedSlots NONE = new MissedSlots(List.of(), 0, true, null, null, "");

    MissedSlots {
        slots = List.copyOf(slots);
    }

    /** The slots of {@code schedule} after {@code after} up to and including {@code through}. */
    static MissedSlots between(Schedule schedule, Instant after, Instant through, String reason) {
        return between(schedule, after, through, null, reason);
    }

    /** As above, leaving out the slot {@code except} (one that runs, late). */
    static MissedSlots between(Schedule schedule, Instant after, Instant through, Instant except, String reason) {
        List<Instant> first = new ArrayList<>();
        long more = 0;
        Instant moreFrom = null;
        Instant moreTo = null;
        int seen = 0;
        for (Instant slot = schedule.nextOrNull(after);
                slot != null && !slot.isAfter(through);
                slot = schedule.nextOrNull(slot)) {
            if (++seen > COUNTED) {
                return new MissedSlots(first, more, false, moreFrom, moreTo, reason);
            }
            if (slot.equals(except)) {
                continue;
            }
            if (first.size() < ROWS) {
                first.add(slot);
            } else {
                more++;
                moreFrom = moreFrom == null ? slot : moreFrom;
                moreTo = slot;
            }
        }
        return new MissedSlots(first, more, true, moreFrom, moreTo, reason);
    }

    /** {@link #between}, {@code first} included. */
    static MissedSlots startingAt(Schedule schedule, Instant first, Instant through, String reason) {
        return between(schedule, first.minusNanos(1), through, null, reason);
    }

    /** One slot. */
    static MissedSlots of(Instant slot, String reason) {
        return new MissedSlots(List.of(slot), 0, true, null, null, reason);
    }

    /** The last slot of {@code schedule} after {@code after} up to {@code through}, null if none (counting stops at {@link #COUNTED}). */
    static Instant last(Schedule schedule, Instant after, Instant through) {
        Instant last = null;
        int seen = 0;
        for (Instant slot = schedule.nextOrNull(after);
                slot != null && !slot.isAfter(through) && seen++ < COUNTED;
                slot = schedule.nextOrNull(slot)) {
            last = slot;
        }
        return last;
    }

    /** How many slots in all (the summary's count included). */
    long count() {
        return slots.size() + more;
    }

    /** {@code misfire} or {@code overlap}: the reason's first word. */
    String kind() {
        int colon = reason.indexOf(':');
        return colon < 0 ? reason : reason.substring(0, colon);
    }

    boolean isEmpty() {
        return count() == 0;
    }

    /** The rows to write: each slot and its error, the summary row last. */
    List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        slots.forEach(slot -> rows.add(new Row(slot, reason)));
        if (more > 0) {
            rows.add(new Row(
                    moreTo,
                    reason + "; this row stands for " + (moreCounted ? "" : "at least ") + more + " slots from "
                            + moreFrom + " to " + moreTo + " (at most " + ROWS + " are recorded one by one)"));
        }
        return rows;
    }

    /** One MISSED row: the slot it was for, and why it did not run. */
    record Row(Instant slot, String error) {}
}
