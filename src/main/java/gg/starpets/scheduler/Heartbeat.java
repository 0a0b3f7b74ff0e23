package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Once a heartbeat: tells the database this copy is alive, renews the leases of its runs, writes
 * their progress, and stops runs whose task was taken over. When renewals keep failing it fences
 * itself: stops its own runs (and claiming) before the leases run out and another copy may take them.
 */
final class Heartbeat {

    private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

    private final SchedulerSettings settings;
    private final InstanceSession session;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final RunExecutor executor;
    private volatile long lastRenewalNanos = System.nanoTime();
    private volatile boolean fenced;

    Heartbeat(
            SchedulerSettings settings,
            InstanceSession session,
            InstanceRepository instances,
            TaskRepository tasks,
            RunExecutor executor) {
        this.settings = settings;
        this.session = session;
        this.instances = instances;
        this.tasks = tasks;
        this.executor = executor;
    }

    /** True while this copy may not trust its leases: it claims nothing until a renewal succeeds. */
    boolean fenced() {
        return fenced;
    }

    void runOnce() {
        long startNanos = System.nanoTime();
        try {
            Connection c = session.connection();
            if (!instances.heartbeat(c, settings.instanceId(), session.key())) {
                log.warn(
                        "Instance row {} was missing or taken by another process; registering again",
                        settings.instanceId());
                instances.register(c, settings.instanceId(), settings.host(), settings.version(), session.key());
            }
            Set<Long> owned = new HashSet<>(tasks.renewLeases(c, session.key(), settings.lease()));
            writeProgress(c);
            lastRenewalNanos = startNanos;
            if (fenced) {
                log.info("Leases renewed again; claiming resumes");
                fenced = false;
            }
            for (LocalRun run : executor.activeRuns()) {
                // A run registered after the renewal began may not be visible to it yet.
                if (run.registeredAtNanos < startNanos && !owned.contains(run.claim.runId())) {
                    log.warn(
                            "Task {} was taken over by another instance; stopping run {}",
                            run.claim.task(),
                            run.claim.runId());
                    run.stop(LocalRun.StopReason.FENCE_LOST);
                }
            }
        } catch (SQLException | RuntimeException e) {
            log.warn("Heartbeat failed: {}", e.getMessage());
            // Dropping the session drops the instance lock, and other copies may take the tasks over
            // at once: stop our runs first.
            fence("the instance session failed");
            session.invalidate();
        }
        checkFence();
    }

    private void writeProgress(Connection c) throws SQLException {
        List<LocalRun> reporting = executor.activeRuns().stream()
                .filter(r -> r.context.progress() != null)
                .toList();
        long[] ids = new long[reporting.size()];
        double[] values = new double[reporting.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = reporting.get(i).claim.runId();
            values[i] = reporting.get(i).context.progress();
        }
        tasks.writeProgress(c, ids, values);
    }

    /**
     * Fences this copy when its leases have not been renewed for most of a lease. Scheduled on its
     * own, so that a heartbeat hanging on a dead network cannot delay it.
     */
    void checkFence() {
        Duration sinceRenewal = Duration.ofNanos(System.nanoTime() - lastRenewalNanos);
        if (sinceRenewal.compareTo(settings.selfFenceAfter()) > 0) {
            fence("no lease renewal for " + sinceRenewal.toMillis() + " ms");
        }
    }

    private void fence(String why) {
        if (!fenced || executor.activeCount() > 0) {
            log.error(
                    "Fencing this instance ({}): stopping its {} run(s) before others may take them over",
                    why,
                    executor.activeCount());
        }
        fenced = true;
        executor.stopAll(LocalRun.StopReason.SELF_FENCED);
        executor.awaitIdle(settings.heartbeat());
    }
}
