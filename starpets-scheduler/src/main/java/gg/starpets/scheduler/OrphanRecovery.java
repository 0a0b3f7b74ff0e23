package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * clock — and only if the lock had been seen since the locks held now were taken
 * ({@link TaskRepository#LOCK_EPOCH}: a restart, a crash-restart or a promotion drops every lock; then
 * the lease decides). The grace gives a live owner whose sessions all ended at once time
 * to stop its runs' steps ({@link LeaseGuard}); a killed process is recovered within about that much.
 *
 * <p>A task whose handler overrides {@link TaskHandler#fenceOff} is recovered only once its handler
 * has said that nothing of the lost run still executes; until then it stays owned, so no instance
 * starts it, and it is asked again every round. Tasks of other handlers cost no extra statement.
 */
final class OrphanRecovery {

    private static final Logger log = LoggerFactory.getLogger(OrphanRecovery.class);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final SchedulerEvents events;
    /** The handlers that fence off a lost run before its task is released, by name. */
    private final Map<String, TaskHandler> fencing;

    private final String[] fencingNames;
    /** Task id and the lock stamp seen then → when this instance first saw that lock missing (ticker). */
    private final Map<LockMissing, Long> missingSince = new HashMap<>();
    /** The same for owned runs (run id and lock stamp). */
    private final Map<LockMissing, Long> runsMissingSince = new HashMap<>();
    /** Lost runs whose handler has not fenced them off yet, and said so in the log already. */
    private final Set<Long> fenceRefusalsLogged = new HashSet<>();
    /** Lost runs whose handler is being asked to fence them off now (its thread may outlive the round). */
    private final Set<Long> fenceOffsInFlight = ConcurrentHashMap.newKeySet();

    private ScheduledExecutorService pool;
    private boolean lookAgainScheduled;

    OrphanRecovery(
            SchedulerSettings settings,
            DataSource dataSource,
            InstanceRepository instances,
            TaskRepository tasks,
            SchedulerEvents events,
            Map<String, TaskHandler> handlers) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.instances = instances;
        this.tasks = tasks;
        this.events = events;
        Map<String, TaskHandler> fencing = new HashMap<>();
        handlers.forEach((name, handler) -> {
            if (fencesOff(handler)) {
                fencing.put(name, handler);
            }
        });
        this.fencing = Map.copyOf(fencing);
        this.fencingNames = fencing.keySet().stream().sorted().toArray(String[]::new);
    }

    /** Whether the handler overrides {@link TaskHandler#fenceOff} (the default has nothing to do). */
    static boolean fencesOff(TaskHandler handler) {
        try {
            return handler.getClass()
                            .getMethod("fenceOff", long.class, Map.class)
                            .getDeclaringClass()
                    != TaskHandler.class;
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    void start(ScheduledExecutorService pool) {
        this.pool = pool;
        long nanos = settings.recoveryInterval().toNanos();
        pool.scheduleWithFixedDelay(this::runOnce, 0, nanos, TimeUnit.NANOSECONDS);
    }

    /** One recovery statement, with the lost runs whose handler has fenced them off. */
    @FunctionalInterface
    private interface Round {
        Recovery recover(Connection c, long[] fencedRuns) throws SQLException;
    }

    /**
     * One round: the tasks of instances that are gone, then the runs of {@code overlap: ALLOW} tasks, which
     * own themselves ({@link OwnedRunRepository}), by the same rules.
     */
    synchronized int runOnce() {
        List<LockMissing> eligible;
        List<LockMissing> eligibleRuns;
        try (Connection c = dataSource.getConnection()) {
            int gone = instances.markGone(c, settings.lease());
            if (gone > 0) {
                log.info("{} instance(s) marked GONE", gone);
            }
            eligible = eligible(OrphanRepository.findLockMissing(c), missingSince);
            eligibleRuns = eligible(OwnedRunRepository.findLockMissing(c), runsMissingSince);
        } catch (SQLException | RuntimeException e) {
            log.warn("Recovery check failed: {}", e.getMessage());
            return 0;
        }
        return recover((c, fenced) -> OrphanRepository.recoverOrphans(
                        c, eligible, settings.quarantineAfter(), settings.quarantineWindow(), fencingNames, fenced))
                + recover((c, fenced) -> OwnedRunRepository.recover(c, eligibleRuns, fencingNames, fenced));
    }

    private int recover(Round round) {
        Recovery recovery;
        try (Connection c = dataSource.getConnection()) {
            recovery = round.recover(c, NO_RUNS);
            report(c, recovery.recovered());
        } catch (SQLException | RuntimeException e) {
            log.warn("Recovery check failed: {}", e.getMessage());
            return 0;
        }
        int recovered = recovery.recovered().size();
        fenceRefusalsLogged.retainAll(recovery.awaitingFence().stream()
                .map(Recovery.AwaitingFence::runId)
                .toList());
        if (recovery.awaitingFence().isEmpty()) {
            return recovered;
        }
        long[] fenced = fenceOff(recovery.awaitingFence());
        if (fenced.length == 0) {
            return recovered;
        }
        // The same rule again, in a new statement: a task whose owner came back meanwhile is left alone.
        try (Connection c = dataSource.getConnection()) {
            List<Recovery.Recovered> released = round.recover(c, fenced).recovered();
            report(c, released);
            return recovered + released.size();
        } catch (SQLException | RuntimeException e) {
            log.warn("Recovery of fenced-off tasks failed: {}", e.getMessage());
            return recovered;
        }
    }

    private static final long[] NO_RUNS = {};

    /**
     * Never closed: closing waits for every thread, and a handler that ignores the interrupt sent at
     * {@link #fenceOffLimit()} (a call blocked where interruption does not reach) would then hold the
     * recovery of every task for as long as it blocks. Its threads are virtual: nothing to release.
     */
    private static final ExecutorService FENCE_OFF_THREADS = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("starpets-fence-off-", 1).factory());

    private void report(Connection c, List<Recovery.Recovered> recovered) throws SQLException {
        if (recovered.isEmpty()) {
            return;
        }
        tasks.notifyTasksChanged(c);
        for (Recovery.Recovered r : recovered) {
            log.warn(
                    "Recovered task {} from instance {}: run {} marked LOST ({}); {} toward quarantine: {}{}",
                    r.task(),
                    r.formerInstance(),
                    r.lostRunId(),
                    r.reason(),
                    r.counted() ? "counted" : "not counted",
                    r.blame(),
                    r.counted() ? " (" + r.lostStreak() + " in a row)" : "");
            if (r.quarantined()) {
                log.error("Task {} quarantined: its last {} runs were lost", r.task(), r.lostStreak());
                TaskEvents.record(
                        c,
                        r.task(),
                        "scheduler:" + settings.instanceId(),
                        AuditAction.QUARANTINED,
                        null,
                        null,
                        r.lostStreak() + " runs in a row ended LOST (last on " + r.formerInstance() + ")");
                events.taskQuarantined(r.task());
            }
        }
        events.tasksRecovered(recovered.size());
    }

    /**
     * Asks each lost run's handler to fence it off, all at once, each on its own virtual thread, waiting
     * at most {@link #fenceOffLimit()}; returns the runs whose handler answered true in time.
     */
    private long[] fenceOff(List<Recovery.AwaitingFence> awaiting) {
        List<Callable<Boolean>> calls =
                awaiting.stream().<Callable<Boolean>>map(a -> () -> askOnce(a)).toList();
        List<Future<Boolean>> answers;
        try {
            answers = FENCE_OFF_THREADS.invokeAll(calls, fenceOffLimit().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return NO_RUNS;
        }
        List<Long> fenced = new ArrayList<>();
        for (int i = 0; i < awaiting.size(); i++) {
            Recovery.AwaitingFence a = awaiting.get(i);
            String refusal;
            try {
                refusal = Boolean.TRUE.equals(answers.get(i).get()) ? null : "its handler answered false";
            } catch (ExecutionException e) {
                refusal = "its handler failed: " + e.getCause();
            } catch (java.util.concurrent.CancellationException e) {
                refusal = "its handler did not answer within " + fenceOffLimit();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                refusal = "interrupted";
            }
            if (refusal == null) {
                fenced.add(a.runId());
                fenceRefusalsLogged.remove(a.runId());
                continue;
            }
            events.fenceOffFailed(a.task());
            if (fenceRefusalsLogged.add(a.runId())) {
                log.warn(
                        "Task {}: lost run {} is not fenced off yet ({}); the task stays unstartable and is asked"
                                + " again every {}",
                        a.task(),
                        a.runId(),
                        refusal,
                        settings.recoveryInterval());
            }
        }
        return fenced.stream().mapToLong(Long::longValue).toArray();
    }

    /** One question at a time per lost run: a handler still blocked on the last one is not asked again. */
    private boolean askOnce(Recovery.AwaitingFence a) throws Exception {
        if (!fenceOffsInFlight.add(a.runId())) {
            throw new IllegalStateException("its handler has not answered an earlier request yet");
        }
        try {
            return fencing.get(a.handler()).fenceOff(a.runId(), a.params());
        } finally {
            fenceOffsInFlight.remove(a.runId());
        }
    }

    /** How long a recovery round waits for handlers to fence off lost runs ("a few seconds" in their contract). */
    Duration fenceOffLimit() {
        return settings.lease().dividedBy(2);
    }

    private synchronized void lookAgain() {
        lookAgainScheduled = false;
        runOnce();
    }

    /** The tasks whose owner's lock has been missing, unchanged, for the grace; looks again when the next is. */
    private List<LockMissing> eligible(List<LockMissing> missing, Map<LockMissing, Long> missingSince) {
        long now = settings.nanos();
        long grace = settings.lockLossGrace().toNanos();
        missingSince.keySet().retainAll(missing);
        List<LockMissing> eligible = new ArrayList<>();
        long soonest = Long.MAX_VALUE;
        for (LockMissing m : missing) {
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
