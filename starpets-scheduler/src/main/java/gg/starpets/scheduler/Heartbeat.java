package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Once a heartbeat, on the primary session: tells the database this instance is alive, renews the
 * leases of the runs alive in this process (and only those: a task whose run has ended here is never
 * kept), writes their progress, and stops runs whose task was taken over. A failure re-opens the
 * session and tries again soon; meanwhile the {@link LeaseGuard} decides how long runs may go on.
 */
final class Heartbeat {

    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    private final SchedulerSettings settings;
    private final InstanceSession session;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final RunExecutor executor;
    private final Capacity capacity;
    private final LeaseGuard guard;
    private final Runnable standDown;
    private final java.util.function.Supplier<String[]> configTasks;
    private ScheduledExecutorService pool;
    private int failures;
    private final AtomicBoolean retryPending = new AtomicBoolean();
    /** A requested heartbeat is queued on the pool and has not started yet. */
    private final AtomicBoolean requestQueued = new AtomicBoolean();
    /** A heartbeat is wanted that has not started yet; whoever is beating does it next. */
    private final AtomicBoolean beatWanted = new AtomicBoolean();
    /** A thread is beating: one at a time, and no other waits for it. */
    private final AtomicBoolean beating = new AtomicBoolean();

    private volatile boolean stopped;

    /** @param standDown called once if another process has taken this instance's id */
    Heartbeat(
            SchedulerSettings settings,
            InstanceSession session,
            InstanceRepository instances,
            TaskRepository tasks,
            RunExecutor executor,
            Capacity capacity,
            LeaseGuard guard,
            Runnable standDown,
            java.util.function.Supplier<String[]> configTasks) {
        this.configTasks = configTasks;
        this.settings = settings;
        this.session = session;
        this.instances = instances;
        this.tasks = tasks;
        this.executor = executor;
        this.capacity = capacity;
        this.guard = guard;
        this.standDown = standDown;
    }

    void start(ScheduledExecutorService pool) {
        this.pool = pool;
        long nanos = settings.heartbeat().toNanos();
        pool.scheduleWithFixedDelay(this::runOnce, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Runs a heartbeat as soon as a housekeeping thread is free. Requests coalesce: at most one is
     * queued, and one made while a heartbeat is in progress is served by that thread right after it,
     * so that requests (the watch sends one per loss and per reconnection) never hold more than one
     * housekeeping thread, even while a heartbeat hangs on the network.
     */
    void requestNow() {
        ScheduledExecutorService p = pool;
        if (p != null && !p.isShutdown() && requestQueued.compareAndSet(false, true)) {
            try {
                p.execute(() -> {
                    requestQueued.set(false);
                    runOnce();
                });
            } catch (RejectedExecutionException ignored) {
                requestQueued.set(false); // shutting down
            }
        }
    }

    void stop() {
        stopped = true;
    }

    /**
     * One heartbeat, sent after this call began: here, or by the thread beating now, right after its
     * beat (this one then returns at once).
     */
    void runOnce() {
        beatWanted.set(true);
        while (beatWanted.get() && beating.compareAndSet(false, true)) {
            try {
                if (beatWanted.getAndSet(false)) {
                    beatOrRetry();
                }
            } finally {
                beating.set(false);
            }
        }
    }

    private void beatOrRetry() {
        // A session killed since the last beat fails at once: try again straight away on a new one.
        if (!stopped && !beat() && !stopped && !beat()) {
            retrySoon();
        }
    }

    /** One heartbeat; false if the session failed. */
    private boolean beat() {
        long sent = guard.now();
        try {
            Connection c = session.primary();
            if (!instances.heartbeat(
                    c, settings.instanceId(), session.key(), session.claiming(), capacity.max(), capacity.publish())) {
                if (instances.takenByAnother(c, settings.instanceId(), session.key())) {
                    log.error(
                            "Another process has taken instance id {}; this one stops scheduling (give each"
                                    + " instance its own INSTANCE_ID)",
                            settings.instanceId());
                    stopped = true;
                    standDown.run();
                    return true;
                }
                instances.register(
                        c,
                        settings.instanceId(),
                        settings.host(),
                        settings.version(),
                        session.key(),
                        configTasks.get());
            }
            List<LocalRun> alive = executor.activeRuns();
            // A run of an ALLOW task holds its own row; every other run its task's.
            long[] runIds = alive.stream()
                    .filter(r -> !r.claim.ownsItself())
                    .mapToLong(r -> r.claim.runId())
                    .toArray();
            long[] ownedRunIds = alive.stream()
                    .filter(r -> r.claim.ownsItself())
                    .mapToLong(r -> r.claim.runId())
                    .toArray();
            Set<Long> owned = new HashSet<>();
            Set<Long> cancelled = new HashSet<>();
            for (Renewed r : tasks.renewLeases(c, session.key(), settings.lease(), runIds, ownedRunIds)) {
                owned.add(r.runId());
                if (r.cancelRequested()) {
                    cancelled.add(r.runId());
                }
            }
            // Runs the renewal did not return first: their task was taken over, and they must not see
            // the renewal as theirs. A run claimed after the renewal was sent may not be visible to it;
            // one whose handler has returned is ending, and its end is written only while its fence holds.
            for (LocalRun run : alive) {
                if (run.claimSentAt < sent && !run.handlerHasReturned() && !owned.contains(run.claim.runId())) {
                    log.warn(
                            "Task {} was taken over by another instance; stopping run {}",
                            run.claim.task(),
                            run.claim.runId());
                    run.stop(LocalRun.StopReason.FENCE_LOST);
                }
            }
            // Only the runs it returned are held longer.
            for (LocalRun run : alive) {
                if (owned.contains(run.claim.runId())) {
                    run.renewed(sent);
                }
            }
            guard.renewed(sent);
            writeProgress(c, alive);
            if (failures > 0) {
                log.info("Instance session back after {} failed heartbeat(s)", failures);
                failures = 0;
            }
            // Cancels are sent by NOTIFY at once; this catches one sent while the watch was away.
            cancelled.forEach(executor::cancel);
            return true;
        } catch (SQLException | RuntimeException e) {
            if (failures++ == 0) {
                log.warn("Heartbeat failed ({}); re-opening the instance session", e.getMessage());
            }
            session.primaryFailed();
            return false;
        }
    }

    private void retrySoon() {
        ScheduledExecutorService p = pool;
        // One retry pending at most, between the regular heartbeats.
        if (p != null && !p.isShutdown() && retryPending.compareAndSet(false, true)) {
            try {
                p.schedule(
                        () -> {
                            retryPending.set(false);
                            runOnce();
                        },
                        settings.heartbeat().toNanos() / 4,
                        TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException ignored) {
                // Shutting down.
            }
        }
    }

    private void writeProgress(Connection c, List<LocalRun> alive) throws SQLException {
        List<LocalRun> owning = alive.stream()
                .filter(r -> r.claim.ownsItself() && r.context.progress() != null)
                .toList();
        if (!owning.isEmpty()) {
            OwnedRunRepository.writeProgress(
                    c,
                    session.key(),
                    owning.stream().mapToLong(r -> r.claim.runId()).toArray(),
                    owning.stream().mapToDouble(r -> r.context.progress()).toArray());
        }
        List<LocalRun> reporting = alive.stream()
                .filter(r -> !r.claim.ownsItself() && r.context.progress() != null)
                .toList();
        long[] ids = new long[reporting.size()];
        double[] values = new double[reporting.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = reporting.get(i).claim.runId();
            values[i] = reporting.get(i).context.progress();
        }
        tasks.writeProgress(c, ids, values);
    }
}
