package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each claimed run on its own virtual thread (a copy runs any number at once), enforces its
 * timeout, and writes its end: history row and release of the task, both conditional on the fence.
 */
final class RunExecutor {

    private static final Logger log = LoggerFactory.getLogger(RunExecutor.class);

    private final DataSource dataSource;
    private final TaskRepository tasks;
    private final Map<String, TaskHandler> handlers;
    private final SchedulerEvents events;
    private final ScheduledExecutorService timers;
    private final long sessionKey;
    private final Duration lease;
    private final Runnable onRunEnded;
    private final Map<Long, LocalRun> active = new ConcurrentHashMap<>();
    private final Map<String, Schedule> schedules = new ConcurrentHashMap<>();

    RunExecutor(
            DataSource dataSource,
            TaskRepository tasks,
            Map<String, TaskHandler> handlers,
            SchedulerEvents events,
            ScheduledExecutorService timers,
            long sessionKey,
            Duration lease,
            Runnable onRunEnded) {
        this.dataSource = dataSource;
        this.tasks = tasks;
        this.handlers = Map.copyOf(handlers);
        this.events = events;
        this.timers = timers;
        this.sessionKey = sessionKey;
        this.lease = lease;
        this.onRunEnded = onRunEnded;
    }

    void start(TaskRepository.ClaimedRun claim) {
        LocalRun run = new LocalRun(claim, System.nanoTime());
        active.put(claim.runId(), run);
        Thread thread = Thread.ofVirtual()
                .name("starpets-run-" + claim.task() + "-" + claim.runId())
                .unstarted(() -> execute(run));
        run.attach(thread);
        var timeout = timers.schedule(
                () -> run.stop(LocalRun.StopReason.TIMEOUT), claim.timeout().toNanos(), TimeUnit.NANOSECONDS);
        run.onEnd(() -> timeout.cancel(false));
        thread.start();
    }

    int activeCount() {
        return active.size();
    }

    Collection<LocalRun> activeRuns() {
        return List.copyOf(active.values());
    }

    void stopAll(LocalRun.StopReason reason) {
        active.values().forEach(run -> run.stop(reason));
    }

    /** Waits, at most {@code limit}, until every handler has returned (its end may still be being written). */
    void awaitIdle(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        for (LocalRun run : activeRuns()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            run.awaitHandlerReturned(Duration.ofNanos(left));
        }
    }

    private void execute(LocalRun run) {
        TaskRepository.ClaimedRun claim = run.claim;
        long startNanos = System.nanoTime();
        events.runStarted(
                claim.task(),
                Duration.between(claim.scheduledFor(), claim.startedAt()).toNanos() / 1e9);
        RunStatus status;
        String error = null;
        TaskHandler handler = handlers.get(claim.handler());
        try {
            if (handler == null) {
                throw new IllegalStateException("no handler named '" + claim.handler() + "' on this instance");
            }
            handler.run(run.context);
            status = run.stopReason() == null ? RunStatus.SUCCEEDED : run.stopReason().status;
        } catch (InterruptedException e) {
            status = run.stopReason() == null ? RunStatus.INTERRUPTED : run.stopReason().status;
        } catch (Throwable e) {
            status = run.stopReason() == null ? RunStatus.FAILED : run.stopReason().status;
            error = e.toString();
        }
        if (run.stopReason() != null && error == null) {
            error = run.stopReason().message;
        }
        run.handlerReturned();
        Thread.interrupted();
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        try {
            if (run.stopReason() == LocalRun.StopReason.FENCE_LOST || !writeEnd(run, status, error)) {
                events.fenceLost(claim.task());
                log.warn(
                        "Run {} of {} ended {}, but the task was taken over: nothing written",
                        claim.runId(),
                        claim.task(),
                        status);
            } else {
                events.runFinished(claim.task(), status, seconds);
            }
        } finally {
            active.remove(claim.runId());
            run.ended();
            onRunEnded.run();
        }
    }

    /** Writes the end of a run, retrying while the lease could still be ours. Returns false if the fence moved. */
    private boolean writeEnd(LocalRun run, RunStatus status, String error) {
        long deadline = System.nanoTime() + lease.toNanos();
        while (true) {
            try {
                return writeEndOnce(run, status, error);
            } catch (SQLException | RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    log.error(
                            "Could not record the end of run {} of {}; another instance will mark it LOST",
                            run.claim.runId(),
                            run.claim.task(),
                            e);
                    return true;
                }
                log.warn("Recording the end of run {} failed ({}); retrying", run.claim.runId(), e.getMessage());
                try {
                    Thread.sleep(250);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return true;
                }
            }
        }
    }

    private boolean writeEndOnce(LocalRun run, RunStatus status, String error) throws SQLException {
        TaskRepository.ClaimedRun claim = run.claim;
        // Cut short by this copy (shutdown, fencing): due again at once (null: the database's now()),
        // anywhere. Otherwise the next time after now, so that a misfired run runs once and is not
        // followed by a burst of catch-up runs. "Now" is the database's time at the claim plus the
        // time elapsed since on this copy's monotonic clock: no wall clock is read.
        LocalRun.StopReason reason = run.stopReason();
        Instant next = reason == LocalRun.StopReason.SHUTDOWN || reason == LocalRun.StopReason.SELF_FENCED
                ? null
                : schedule(claim).next(claim.startedAt().plusNanos(System.nanoTime() - run.registeredAtNanos));
        try (Connection c = dataSource.getConnection()) {
            return tasks.finish(c, claim, sessionKey, next, status, error, run.context.progress());
        }
    }

    private Schedule schedule(TaskRepository.ClaimedRun claim) {
        return schedules.computeIfAbsent(
                claim.schedule() + "|" + claim.timeZone(),
                k -> Schedule.parse(claim.schedule(), ZoneId.of(claim.timeZone())));
    }
}
