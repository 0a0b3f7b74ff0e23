package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds tasks whose instance is gone, ends their runs as LOST and makes the tasks due at once, for
 * any live instance to claim. Every instance does this; row locks make sure each is recovered once.
 *
 * <p>Gone means: the lease ran out (database clock); or the owner's session lock has been missing,
 * without the owner renewing since, for {@link SchedulerSettings#lockLossGrace()} on this instance's
 * clock — and only if the lock had been seen after the server's current start (a restart drops every
 * lock; then the lease decides). The grace gives a live owner whose sessions all ended at once time
 * to stop its runs' steps ({@link LeaseGuard}); a killed process is recovered within about that much.
 */
final class OrphanRecovery {

    private static final Logger log = LoggerFactory.getLogger(OrphanRecovery.class);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final SchedulerEvents events;
    /** Task id and the lock stamp seen then → when this instance first saw that lock missing (ticker). */
    private final Map<TaskRepository.LockMissing, Long> missingSince = new HashMap<>();

    private ScheduledExecutorService pool;
    private boolean lookAgainScheduled;

    OrphanRecovery(
            SchedulerSettings settings,
            DataSource dataSource,
            InstanceRepository instances,
            TaskRepository tasks,
            SchedulerEvents events) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.instances = instances;
        this.tasks = tasks;
        this.events = events;
    }

    void start(ScheduledExecutorService pool) {
        this.pool = pool;
        long nanos = settings.recoveryInterval().toNanos();
        pool.scheduleWithFixedDelay(this::runOnce, 0, nanos, TimeUnit.NANOSECONDS);
    }

    synchronized int runOnce() {
        try (Connection c = dataSource.getConnection()) {
            int gone = instances.markGone(c, settings.lease());
            if (gone > 0) {
                log.info("{} instance(s) marked GONE", gone);
            }
            List<TaskRepository.Recovered> recovered =
                    tasks.recoverOrphans(c, eligible(tasks.findLockMissing(c)), settings.quarantineAfter());
            if (!recovered.isEmpty()) {
                tasks.notifyTasksChanged(c);
                for (TaskRepository.Recovered r : recovered) {
                    log.warn(
                            "Recovered task {} from instance {}: run {} marked LOST ({})",
                            r.task(),
                            r.formerInstance(),
                            r.lostRunId(),
                            r.reason());
                    if (r.quarantined()) {
                        log.error("Task {} quarantined: its last {} runs were lost", r.task(), r.lostStreak());
                        TaskEvents.record(
                                c,
                                r.task(),
                                "scheduler:" + settings.instanceId(),
                                "QUARANTINED",
                                null,
                                null,
                                r.lostStreak() + " runs in a row ended LOST (last on " + r.formerInstance() + ")");
                        events.taskQuarantined(r.task());
                    }
                }
                events.tasksRecovered(recovered.size());
            }
            return recovered.size();
        } catch (SQLException | RuntimeException e) {
            log.warn("Recovery check failed: {}", e.getMessage());
            return 0;
        }
    }

    private synchronized void lookAgain() {
        lookAgainScheduled = false;
        runOnce();
    }

    /** The tasks whose owner's lock has been missing, unchanged, for the grace; looks again when the next is. */
    private List<TaskRepository.LockMissing> eligible(List<TaskRepository.LockMissing> missing) {
        long now = settings.nanos();
        long grace = settings.lockLossGrace().toNanos();
        missingSince.keySet().retainAll(missing);
        List<TaskRepository.LockMissing> eligible = new ArrayList<>();
        long soonest = Long.MAX_VALUE;
        for (TaskRepository.LockMissing m : missing) {
            long since = missingSince.computeIfAbsent(m, k -> now);
            if (now - since >= grace) {
                eligible.add(m);
            } else {
                soonest = Math.min(soonest, since + grace - now);
            }
        }
        if (soonest != Long.MAX_VALUE && !lookAgainScheduled && pool != null && !pool.isShutdown()) {
            try {
                pool.schedule(this::lookAgain, soonest, TimeUnit.NANOSECONDS);
                lookAgainScheduled = true;
            } catch (RejectedExecutionException ignored) {
                // Shutting down.
            }
        }
        return eligible;
    }
}
