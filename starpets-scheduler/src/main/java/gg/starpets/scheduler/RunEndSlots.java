package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a run's end says about the slots of its schedule that came due while it ran: the MISSED rows
 * it records ({@link NextRunPlan#missed}) and, for a run {@code overlap: REPLACE} cancelled, which run
 * replaces it (its error). Decided once, before the end is written (and retried).
 *
 * @param replacedBy the slot whose run replaces this cancelled one; null when not replaced
 */
record RunEndSlots(ClaimedRun claim, List<MissedSlots> missed, Instant replacedBy) {

    private static final Logger log = LoggerFactory.getLogger(RunEndSlots.class);

    /**
     * For {@code claim}'s run ending with {@code status} at {@code now}, going on with {@code next};
     * nothing when it was handed back (shutdown, a hold it could not confirm) or its schedule cannot be read.
     */
    static RunEndSlots of(
            ClaimedRun claim,
            LocalRun.StopReason reason,
            RunStatus status,
            NextRun next,
            Supplier<Schedule> schedule,
            Instant now) {
        if (reason == LocalRun.StopReason.SHUTDOWN || reason == LocalRun.StopReason.SELF_FENCED) {
            return new RunEndSlots(claim, List.of(), null);
        }
        try {
            Schedule parsed = schedule.get();
            Instant replacedBy = status == RunStatus.CANCELLED && claim.overlap() == TaskDefinition.Overlap.REPLACE
                    ? NextRunPlan.dueWhileRunning(parsed, claim.fireAt(), claim.startedAt(), now)
                    : null;
            return new RunEndSlots(claim, NextRunPlan.missed(claim, next, parsed, now), replacedBy);
        } catch (RuntimeException e) {
            return new RunEndSlots(claim, List.of(), null);
        }
    }

    /** The run's error: which run replaces it ({@code overlap: REPLACE}), else {@code error}. */
    String error(String error) {
        return replacedBy == null ? error : "replaced by the run for " + replacedBy + " (overlap REPLACE)";
    }

    /**
     * Records the skipped slots (MISSED rows) once the run's end released the task; a failure loses those
     * rows only (logged), never the end already written.
     */
    void record(Connection c, String instanceId, SchedulerEvents events) {
        if (missed.isEmpty()) {
            return;
        }
        try {
            RunRepository.recordMissed(c, claim.taskId(), instanceId, missed);
            missed.forEach(m -> events.runsMissed(claim.task(), m.kind(), m.count()));
        } catch (SQLException | RuntimeException e) {
            log.warn("Could not record the slots {} skipped: {}", claim.task(), e.getMessage());
        }
    }
}
