package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a claim does after it returned runs of {@code overlap: ALLOW} tasks ({@link OwnedRunRepository}):
 * each claim of a slot has left its task not due by its schedule ({@code next_run_at} infinity) until
 * this instance writes the schedule's next time, computed here as a run's end computes it for every other
 * task ({@link NextRunPlan#afterClaim}); a claim of a pending run has its task's earliest pending time
 * computed again.
 */
final class OwnedRuns {

    private static final Logger log = LoggerFactory.getLogger(OwnedRuns.class);

    /** Tries of the write after a claim: a failure of all leaves the task waiting until its run ends or is recovered. */
    private static final int TRIES = 3;

    private final DataSource dataSource;
    private final String instanceId;
    private final SchedulerEvents events;
    private final NextRunPlan nextRuns = new NextRunPlan();
    private final Map<String, Schedule> schedules = new ConcurrentHashMap<>();

    OwnedRuns(DataSource dataSource, String instanceId, SchedulerEvents events) {
        this.dataSource = dataSource;
        this.instanceId = instanceId;
        this.events = events;
    }

    /**
     * Moves on the schedules of the ALLOW tasks among {@code claimed}; returns whether one of them is due
     * again now (another run may start at once). Tried again on a new connection when it fails.
     */
    boolean afterClaim(Connection c, List<ClaimedRun> claimed) {
        List<ClaimedRun> runs = new ArrayList<>();
        List<NextRun> next = new ArrayList<>();
        List<List<MissedSlots>> missed = new ArrayList<>();
        for (ClaimedRun run : claimed) {
            if (run.ownsItself()) {
                runs.add(run);
                NextRun n = nextRuns.afterClaim(run, () -> schedule(run));
                next.add(n);
                missed.add(n == null ? List.of() : NextRunPlan.missedAtClaim(run, n, schedule(run)));
            }
        }
        if (runs.isEmpty()) {
            return false;
        }
        SQLException last = null;
        for (int i = 0; i < TRIES; i++) {
            try {
                if (i == 0) {
                    return OwnedRunRepository.afterClaim(c, runs, next, missed, instanceId, events);
                }
                try (Connection again = dataSource.getConnection()) {
                    return OwnedRunRepository.afterClaim(again, runs, next, missed, instanceId, events);
                }
            } catch (SQLException e) {
                last = e;
            }
        }
        // The runs go on. A task whose next time is still unwritten gets it when its run is recovered; a
        // claim-side failure this persistent is an unreachable database, which ends in that recovery.
        log.error(
                "Could not move on the schedule of {} after claiming runs {}: {}",
                runs.stream().map(ClaimedRun::task).distinct().toList(),
                runs.stream().map(ClaimedRun::runId).toList(),
                last.getMessage());
        return false;
    }

    private Schedule schedule(ClaimedRun claim) {
        return schedules.computeIfAbsent(
                claim.schedule() + "|" + claim.timeZone(),
                k -> Schedule.parse(claim.schedule(), ZoneId.of(claim.timeZone())));
    }
}
