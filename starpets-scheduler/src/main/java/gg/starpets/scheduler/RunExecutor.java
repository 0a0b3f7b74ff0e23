package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each claimed run on its own virtual thread (an instance runs any number at once), enforces its
 * timeout, and writes its end: history row and release of the task, both conditional on the fence.
 * A run stays registered here, and so its lease is renewed, exactly while its handler executes or
 * its end is being written (for at most a lease after the handler returned).
 */
final class RunExecutor {

    private static final Logger log = LoggerFactory.getLogger(RunExecutor.class);

    private final DataSource dataSource;
    private final TaskRepository tasks;
    private final Map<String, TaskHandler> handlers;
    private final SchedulerEvents events;
    private final ScheduledExecutorService timers;
    private final long sessionKey;
    private final SchedulerSettings settings;
    private final LeaseGuard guard;
    private final Runnable onRunEnded;
    private final Map<Long, LocalRun> active = new ConcurrentHashMap<>();
    private final Map<String, Schedule> schedules = new ConcurrentHashMap<>();
    private final NextRunPlan nextRuns = new NextRunPlan();
    private final RunEndBatcher ends;
    private volatile RunAdmission admission = RunAdmission.ALL;
    private volatile RunTracing tracing = RunTracing.NONE;

    RunExecutor(
            DataSource dataSource,
            TaskRepository tasks,
            Map<String, TaskHandler> handlers,
            SchedulerEvents events,
            ScheduledExecutorService timers,
            long sessionKey,
            SchedulerSettings settings,
            LeaseGuard guard,
            Runnable onRunEnded) {
        this.dataSource = dataSource;
        this.tasks = tasks;
        this.handlers = Map.copyOf(handlers);
        this.events = events;
        this.timers = timers;
        this.sessionKey = sessionKey;
        this.settings = settings;
        this.guard = guard;
        this.onRunEnded = onRunEnded;
        this.ends = new RunEndBatcher(dataSource, tasks, sessionKey);
    }

    /**
     * Starts a claimed run: its handler at once, or at its due time if it was claimed ahead (then its
     * thread waits, the run registered and renewed meanwhile). {@code claimSentAt}/{@code claimReturnedAt}: when
     * its claim statement was sent and returned (the guard's clock); the start waits from the return, so that it
     * is never earlier than the due time on the database's clock. {@code claimSent}/{@code claimReturned}: the
     * wall-clock bounds of its claim statement when runs are traced ({@link #traced()}), else null.
     */
    void start(ClaimedRun claim, long claimSentAt, long claimReturnedAt, Instant claimSent, Instant claimReturned) {
        long delay = Math.max(0, claim.startIn().toNanos());
        LocalRun run = new LocalRun(claim, claimSentAt, delay == 0 ? claimSentAt : claimReturnedAt + delay, guard);
        active.put(claim.runId(), run);
        Thread thread = Thread.ofVirtual()
                .name("starpets-run-" + claim.task() + "-" + claim.runId())
                .unstarted(() -> execute(run, claimSent, claimReturned));
        run.attach(thread);
        var timeout =
                timers.schedule(() -> timeOut(run), delay + claim.timeout().toNanos(), TimeUnit.NANOSECONDS);
        run.onEnd(() -> timeout.cancel(false));
        thread.start();
    }

    void admitRuns(RunAdmission admission) {
        this.admission = admission;
    }

    void traceRuns(RunTracing tracing) {
        this.tracing = tracing;
    }

    /** Whether runs are traced: the claim reads the clock for its span only then. */
    boolean traced() {
        return tracing.enabled();
    }

    int activeCount() {
        return active.size();
    }

    List<LocalRun> activeRuns() {
        return List.copyOf(active.values());
    }

    /** Stops a run of this instance that an operator cancelled; another instance's runs are ignored. */
    void cancel(long runId) {
        LocalRun run = active.get(runId);
        if (run != null && !run.handlerHasReturned()) {
            log.info("Run {} of {} cancelled by an operator", runId, run.claim.task());
            run.stop(LocalRun.StopReason.CANCELLED);
        }
    }

    void stopAll(LocalRun.StopReason reason) {
        active.values().forEach(run -> run.stop(reason));
    }

    /** Runs whose handler has not returned yet. */
    List<LocalRun> notReturned() {
        return active.values().stream().filter(r -> !r.handlerHasReturned()).toList();
    }

    /**
     * The timeout: the handler is interrupted. If it does not return within a heartbeat, the run is
     * recorded TIMED_OUT now and the task shown STUCK; it stays owned (its lease renewed) until the
     * handler returns, so that the task is not started anywhere else meanwhile.
     */
    private void timeOut(LocalRun run) {
        run.stop(LocalRun.StopReason.TIMEOUT);
        markStuckLater(run, 0);
    }

    /** Records the run stuck a heartbeat from now if its handler is still executing then. */
    private void markStuckLater(LocalRun run, int failures) {
        var check = timers.schedule(
                () -> {
                    if (!run.handlerHasReturned()) {
                        markStuck(run, failures);
                    }
                },
                settings.heartbeat().toNanos(),
                TimeUnit.NANOSECONDS);
        run.onEnd(() -> check.cancel(false));
    }

    /** Writes the run TIMED_OUT and its task STUCK; tried again every heartbeat while that write fails. */
    private void markStuck(LocalRun run, int failures) {
        if (failures == 0) {
            log.error(
                    "Run {} of {} ignores its timeout: recorded TIMED_OUT; the task stays with this instance until"
                            + " the handler returns",
                    run.claim.runId(),
                    run.claim.task());
            events.runStuck(run.claim.task());
        }
        try (Connection c = dataSource.getConnection()) {
            tasks.markStuck(c, run.claim, sessionKey, RunStatus.TIMED_OUT, LocalRun.StopReason.TIMEOUT.message);
            if (failures > 0) {
                log.info("Run {} recorded as stuck after {} failed attempt(s)", run.claim.runId(), failures);
            }
        } catch (SQLException | RuntimeException e) {
            if (failures == 0) {
                log.warn(
                        "Could not record run {} as stuck ({}); trying again each heartbeat",
                        run.claim.runId(),
                        e.getMessage());
            }
            markStuckLater(run, failures + 1);
        }
    }

    private void execute(LocalRun run, Instant claimSent, Instant claimReturned) {
        ClaimedRun claim = run.claim;
        RunTracing.Trace trace = claimSent == null ? null : trace(run, claimSent, claimReturned);
        long startNanos = System.nanoTime();
        RunStatus outcome;
        String error = null;
        TaskHandler handler = handlers.get(claim.handler());
        try {
            run.awaitStart();
            events.runStarted(
                    claim.task(),
                    Duration.between(claim.scheduledFor(), now(run)).toNanos() / 1e9);
            if (handler == null) {
                throw new IllegalStateException("no handler named '" + claim.handler() + "' on this instance");
            }
            String refusal = admission.refusal(run.context, claim.handler());
            if (refusal != null) {
                throw new RunAdmission.RefusedException(refusal);
            }
            try (RunTracing.Scope scope = trace == null ? null : trace.open()) {
                handler.run(run.context);
            }
            outcome = RunStatus.SUCCEEDED;
        } catch (InterruptedException e) {
            outcome = RunStatus.INTERRUPTED;
        } catch (Throwable e) {
            outcome = RunStatus.FAILED;
            error = e.toString();
        }
        // Decided at once with the handler's return: a stop asked later cannot change what is written.
        LocalRun.StopReason reason = run.handlerReturned();
        RunStatus status = reason == null ? outcome : reason.status;
        if (reason != null && error == null) {
            error = reason.message;
        }
        Thread.interrupted();
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        boolean written = false;
        try {
            // A failed run too: a sql statement whose connection broke runs on until the server notices.
            if ((reason != null || outcome != RunStatus.SUCCEEDED)
                    && handler != null
                    && OrphanRecovery.fencesOff(handler)
                    && !fencedOff(run, handler)) {
                log.error(
                        "Run {} of {} ended {}, but what it started outside this process could not be ended"
                                + " within a lease: nothing written; its lease runs out and recovery ends that"
                                + " first, before the task runs again",
                        claim.runId(),
                        claim.task(),
                        status);
            } else if (reason == LocalRun.StopReason.FENCE_LOST || !writeEnd(run, status, error, trace)) {
                events.fenceLost(claim.task());
                log.warn(
                        "Run {} of {} ended {}, but the task was taken over: nothing written",
                        claim.runId(),
                        claim.task(),
                        status);
            } else {
                written = true;
                // In the run's span: the duration histogram takes its trace id as an exemplar.
                try (RunTracing.Scope scope = trace == null ? null : trace.open()) {
                    events.runFinished(claim.task(), status, seconds);
                }
            }
        } finally {
            if (trace != null) {
                endTrace(trace, status, error, written);
            }
            active.remove(claim.runId());
            run.ended();
            onRunEnded.run();
        }
    }

    /**
     * Starts the run's trace and records its id with the run (a statement of its own, before the
     * handler; a failure to write it is logged, the run goes on). Null if the trace could not be begun.
     */
    private RunTracing.Trace trace(LocalRun run, Instant claimSent, Instant claimReturned) {
        ClaimedRun claim = run.claim;
        RunTracing.Trace trace;
        try {
            trace = tracing.start(new RunTracing.Run(
                    claim.task(),
                    claim.runId(),
                    claim.attempt(),
                    claim.fence(),
                    settings.instanceId(),
                    claim.cause(),
                    claimSent,
                    claimReturned));
        } catch (RuntimeException e) {
            log.warn("Could not begin the trace of run {}: {}", claim.runId(), e.toString());
            return null;
        }
        run.context.traceparent(trace.traceparent());
        try (Connection c = dataSource.getConnection()) {
            RunRepository.setTraceId(c, claim.runId(), trace.traceId());
        } catch (SQLException | RuntimeException e) {
            log.warn("Could not record the trace id of run {}: {}", claim.runId(), e.getMessage());
        }
        return trace;
    }

    /** Ends the run's span; a failure of the tracer never fails the run's bookkeeping. */
    private static void endTrace(RunTracing.Trace trace, RunStatus status, String error, boolean written) {
        try {
            trace.end(status, error, written);
        } catch (RuntimeException e) {
            log.warn("Could not end the trace of a run: {}", e.toString());
        }
    }

    /**
     * Before the end of a stopped or failed run is written (which lets the task start anywhere), what its
     * handler started outside this process is ended ({@link TaskHandler#fenceOff}): an aborted sql
     * statement, or one whose connection broke, runs on the server until the server notices its client
     * went away, up to a second later. Retried
     * for at most a lease (the run's lease is renewed meanwhile); false if it could not be done.
     */
    private boolean fencedOff(LocalRun run, TaskHandler handler) {
        Boolean done = retryForALease(
                () -> handler.fenceOff(run.claim.runId(), run.claim.params()) ? Boolean.TRUE : null,
                e -> log.warn("Ending what run {} started failed ({}); retrying", run.claim.runId(), e.getMessage()),
                last -> {});
        return done != null;
    }

    /**
     * Writes the end of a run, retrying for at most a lease (its lease is renewed meanwhile); then it
     * gives up: the task is no longer renewed, its lease runs out and another instance ends the run
     * as LOST. Returns false if the fence moved.
     */
    private boolean writeEnd(LocalRun run, RunStatus status, String error, RunTracing.Trace trace) {
        Instant now = now(run);
        NextRun next = plan(run, status, now);
        // A one-off run serves no slot of the schedule: it leaves none missed; an ALLOW task's claim moved it on.
        RunEndSlots slots = run.claim.oneOff() || run.claim.ownsItself()
                ? new RunEndSlots(run.claim, List.of(), null)
                : RunEndSlots.of(run.claim, run.stopReason(), status, next, () -> schedule(run.claim), now);
        try (RunTracing.Scope scope = trace == null ? null : trace.endWrite()) {
            return writeEnd(run, status, slots.error(error), next, slots);
        }
    }

    private boolean writeEnd(LocalRun run, RunStatus status, String error, NextRun next, RunEndSlots slots) {
        Boolean released = retryForALease(
                () -> {
                    // Written with the other ends waiting now, in one statement (RunEndBatcher); not a run of
                    // an ALLOW task: its own row, not its task's, is what its fence guards (OwnedRunRepository).
                    if (slots.missed().isEmpty() && !run.claim.ownsItself()) {
                        return ends.finish(run.claim, next, RunEnd.of(status, error, run.context));
                    }
                    try (Connection c = dataSource.getConnection()) {
                        boolean done =
                                tasks.finish(c, run.claim, sessionKey, next, RunEnd.of(status, error, run.context));
                        if (done) {
                            slots.record(c, settings.instanceId(), events);
                        }
                        return done;
                    }
                },
                e -> log.warn("Recording the end of run {} failed ({}); retrying", run.claim.runId(), e.getMessage()),
                last -> log.error(
                        "Could not record the end of run {} of {}; its lease will run out and another instance"
                                + " will end it as LOST",
                        run.claim.runId(),
                        run.claim.task(),
                        last));
        return released == null || released;
    }

    /**
     * Calls {@code attempt} until it returns a result (null: not yet), for at most a lease, backing off
     * from 100 ms to 1 s between calls. Null when the lease has passed ({@code gaveUp} is told the last
     * exception, if any) or the thread was interrupted. {@code firstFailure} is told the first exception.
     */
    private <T> T retryForALease(Callable<T> attempt, Consumer<Exception> firstFailure, Consumer<Exception> gaveUp) {
        long deadline = System.nanoTime() + settings.lease().toNanos();
        int attempts = 0;
        Exception last = null;
        while (true) {
            try {
                T result = attempt.call();
                if (result != null) {
                    return result;
                }
            } catch (Exception e) {
                if (last == null) {
                    firstFailure.accept(e);
                }
                last = e;
            }
            if (System.nanoTime() > deadline) {
                gaveUp.accept(last);
                return null;
            }
            try {
                Thread.sleep(Math.min(1_000, 50L << Math.min(++attempts, 5)));
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /**
     * "Now" as a run starts or ends: its start on the database's clock (the claim's time, or its due time if
     * claimed ahead) plus the time elapsed since its start time on this instance's monotonic clock: no wall
     * clock is read.
     */
    private Instant now(LocalRun run) {
        return run.claim.startedAt().plusNanos(guard.now() - run.startAt);
    }

    /** When the task runs next ({@link NextRunPlan}); a one-off run: whether it is asked for again. */
    private NextRun plan(LocalRun run, RunStatus status, Instant now) {
        if (run.claim.ownsItself()) {
            return nextRuns.afterOwnedRun(run.claim, status, run.stopReason(), now);
        }
        if (run.claim.oneOff()) {
            return nextRuns.afterOneOffRun(run.claim, status, run.stopReason(), now);
        }
        return nextRuns.afterRun(run.claim, status, run.stopReason(), () -> schedule(run.claim), now);
    }

    private Schedule schedule(ClaimedRun claim) {
        return schedules.computeIfAbsent(
                claim.schedule() + "|" + claim.timeZone(),
                k -> Schedule.parse(claim.schedule(), ZoneId.of(claim.timeZone())));
    }
}
