package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a handler knows about the run it is doing, and how it reports back: progress, a bounded
 * text output and a small structured result, both kept with the run's history row.
 *
 * <p>A handler that works in steps asks {@link #mayContinue()} before each one: that is how a run
 * stops (timeout, shutdown, cancel, lost lease) and how it pauses while its instance cannot be
 * sure it still holds the task.
 */
public final class RunContext {

    /** Output longer than this keeps its last characters (a program's tail is where the error is). */
    public static final int MAX_OUTPUT_CHARS = 16 * 1024;
    /** At most this many entries in a run's result. */
    public static final int MAX_RESULT_ENTRIES = 32;

    /** The engine's side of {@link #mayContinue()} and {@link #sleep}. */
    interface Gate {
        /** True to go on; false when the run must stop; may wait while the answer is unknown. */
        boolean mayContinue();

        /** Waits {@code duration}, and then while a step may not be taken; throws when the run stops. */
        void sleep(Duration duration) throws InterruptedException;

        /** See {@link RunContext#holdEndNanos()}. */
        long holdEndNanos();

        /** See {@link RunContext#holdMargin()}. */
        Duration holdMargin();

        /** For runs outside the scheduler: stops only when interrupted. */
        Gate OPEN = new Gate() {
            @Override
            public boolean mayContinue() {
                return !Thread.currentThread().isInterrupted();
            }

            @Override
            public void sleep(Duration duration) throws InterruptedException {
                Thread.sleep(duration);
            }

            @Override
            public long holdEndNanos() {
                return Long.MAX_VALUE;
            }

            @Override
            public Duration holdMargin() {
                return Duration.ZERO;
            }
        };
    }

    private final long runId;
    private final long fence;
    private final int attempt;
    private final Instant scheduledFor;
    private final String taskName;
    private final Map<String, Object> params;
    private final Duration timeout;
    private final Gate gate;
    private final boolean fromApi;
    private final Map<String, Object> result = Collections.synchronizedMap(new LinkedHashMap<>());
    private volatile Double progress;
    private volatile String output;
    private volatile String traceparent;
    private volatile Long upstreamRunId;

    RunContext(
            long runId,
            long fence,
            int attempt,
            Instant scheduledFor,
            String taskName,
            Map<String, Object> params,
            Duration timeout,
            Gate gate,
            boolean fromApi) {
        this.runId = runId;
        this.fence = fence;
        this.attempt = attempt;
        this.scheduledFor = scheduledFor;
        this.taskName = taskName;
        this.params = Map.copyOf(params);
        this.timeout = timeout;
        this.gate = gate;
        this.fromApi = fromApi;
    }

    /**
     * A context for calling a handler outside the scheduler (tests, tools), for the time it is made:
     * never paused, never stopped.
     */
    public static RunContext detached(String taskName, Map<String, Object> params, Duration timeout) {
        return new RunContext(0, 0, 1, Instant.now(), taskName, params, timeout, Gate.OPEN, false);
    }

    /**
     * A context for calling a handler outside the scheduler as run {@code runId} of its task with
     * {@code fence}, whose hold ends at {@code holdEndNanos} ({@link System#nanoTime()}) and is never
     * renewed: for tools, and tests of handlers whose work reaches outside the JVM. Never paused; it
     * may not continue once interrupted or past the hold less {@code holdMargin}.
     */
    public static RunContext detached(
            String taskName,
            Map<String, Object> params,
            Duration timeout,
            long runId,
            long fence,
            long holdEndNanos,
            Duration holdMargin) {
        Gate held = new Gate() {
            @Override
            public boolean mayContinue() {
                return !Thread.currentThread().isInterrupted()
                        && System.nanoTime() < holdEndNanos - holdMargin.toNanos();
            }

            @Override
            public void sleep(Duration duration) throws InterruptedException {
                Thread.sleep(duration);
            }

            @Override
            public long holdEndNanos() {
                return holdEndNanos;
            }

            @Override
            public Duration holdMargin() {
                return holdMargin;
            }
        };
        return new RunContext(runId, fence, 1, Instant.now(), taskName, params, timeout, held, false);
    }

    /**
     * This context, not yet used, as for a run of a task created over the API (detached contexts are
     * as for a task from the configuration files): for tests and tools.
     */
    public RunContext asApiTask() {
        return new RunContext(runId, fence, attempt, scheduledFor, taskName, params, timeout, gate, true)
                .afterUpstream(upstreamRunId);
    }

    /** This context, not yet used, as for a traced run whose span {@code traceparent} names: for tests and tools. */
    public RunContext asTraced(String traceparent) {
        RunContext traced =
                new RunContext(runId, fence, attempt, scheduledFor, taskName, params, timeout, gate, fromApi);
        traced.traceparent = traceparent;
        return traced.afterUpstream(upstreamRunId);
    }

    /** This context, not yet used, as for a run for {@code time} ({@link #scheduledFor()}): for tests and tools. */
    public RunContext asScheduledFor(Instant time) {
        return new RunContext(runId, fence, attempt, time, taskName, params, timeout, gate, fromApi)
                .afterUpstream(upstreamRunId);
    }

    /** This context, not yet used, as for a run started after run {@code runId} of its upstream (null: none). */
    public RunContext afterUpstream(Long runId) {
        this.upstreamRunId = runId;
        return this;
    }

    /**
     * The run of the upstream task whose end started this one ({@code run-after}; its time is this run's
     * {@link #scheduledFor()}), or null when this run was not started by another's end.
     */
    public Long upstreamRunId() {
        return upstreamRunId;
    }

    public long runId() {
        return runId;
    }

    /** Grows with every claim of the task: a receiver can refuse a caller whose fence is older than one it saw. */
    public long fence() {
        return fence;
    }

    /** 1 for a scheduled run; more for a retry or a run again after its instance was lost. */
    public int attempt() {
        return attempt;
    }

    /**
     * The time this run is for (the claim's {@code coalesce(next_fire_at, next_run_at)}): the
     * schedule's time it serves, before jitter (for a catch-up run, the missed time it catches up);
     * for a retry, that of the run it retries; for a triggered run, or one due again after its
     * instance was lost or stopped, when it was made due. Not when it started.
     */
    public Instant scheduledFor() {
        return scheduledFor;
    }

    public String taskName() {
        return taskName;
    }

    /**
     * True when the run's task was created over the API; false when it comes from the configuration
     * files (written by whoever deploys the service). Handlers give the first less reach.
     */
    public boolean fromApi() {
        return fromApi;
    }

    public Map<String, Object> params() {
        return params;
    }

    /** The task's timeout: the run is stopped once it has run this long. */
    public Duration timeout() {
        return timeout;
    }

    /**
     * Whether the handler may take its next step. False once the run must stop: the handler should
     * return promptly. While this instance has lost its database session and cannot be sure it still
     * holds the task, the call waits until it can (the step goes on) or until the run must stop.
     */
    public boolean mayContinue() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            return false;
        }
        return gate.mayContinue();
    }

    /** Reports how far the run is, from 0 to 1; written to the database with the next heartbeat. */
    public void reportProgress(double fraction) {
        if (Double.isNaN(fraction)) {
            return;
        }
        progress = Math.max(0, Math.min(1, fraction));
    }

    public Double progress() {
        return progress;
    }

    /** Sets the run's text output; past {@link #MAX_OUTPUT_CHARS} only the end is kept. */
    public void output(String text) {
        if (text == null) {
            output = null;
        } else if (text.length() > MAX_OUTPUT_CHARS) {
            output = text.substring(text.length() - MAX_OUTPUT_CHARS);
        } else {
            output = text;
        }
    }

    public String output() {
        return output;
    }

    /**
     * Adds an entry to the run's small structured result (strings, numbers, booleans); beyond
     * {@link #MAX_RESULT_ENTRIES} entries, new keys are ignored.
     */
    public void result(String key, Object value) {
        synchronized (result) {
            if (result.size() < MAX_RESULT_ENTRIES || result.containsKey(key)) {
                result.put(key, value);
            }
        }
    }

    public Map<String, Object> result() {
        synchronized (result) {
            return Map.copyOf(result);
        }
    }

    /**
     * Sleeps, or throws at once when the run is stopped. Past the sleep, it also waits while a step
     * may not be taken (like {@link #mayContinue()}): a handler that sleeps between steps pauses
     * rather than fails while its instance is reconnecting.
     */
    public void sleep(Duration duration) throws InterruptedException {
        gate.sleep(duration);
    }

    /**
     * The end of this run's hold as known now, on {@link System#nanoTime()}'s clock: before it, no
     * other instance can start this task. Work done on the run's behalf outside this process (a
     * program, a statement on the server, a request to a receiver) must be over by then; steps in this
     * process stop {@link #holdMargin()} earlier. It moves later with each lease renewal of this run
     * (and only of this run), and earlier when the instance loses its database session.
     * {@link Long#MAX_VALUE} for a detached context (no hold: nothing else can start it).
     */
    public long holdEndNanos() {
        return gate.holdEndNanos();
    }

    /** How long before {@link #holdEndNanos()} the run's steps stop: a step must fit in it. */
    public Duration holdMargin() {
        return gate.holdMargin();
    }

    /**
     * For a handler whose work commits in a transaction on the StarPets database: in that transaction,
     * locks this run's task row ({@code FOR SHARE}) if the run still holds its fence, and says whether
     * it does. Call it right before the commit: until the transaction ends no other instance can take
     * the task over (recovery and claims lock the row), so what commits, commits under the fence.
     * False: the task was taken over, roll back. The row is waited for at most until the hold ends.
     * True at once for a context with no hold ({@link #detached(String, Map, Duration)}).
     * On a connection whose search_path finds StarPets' tables (the service's own).
     */
    public boolean lockFence(Connection c) throws SQLException {
        return lockFence(c, null);
    }

    /**
     * {@link #lockFence(Connection)} on a connection whose search_path is not StarPets' (sql tasks' own):
     * {@code schema} is StarPets' schema ({@code starpets.db.schema}), a plain identifier.
     */
    public boolean lockFence(Connection c, String schema) throws SQLException {
        long holdEnd = holdEndNanos();
        if (holdEnd == Long.MAX_VALUE) {
            return true;
        }
        Duration left = Duration.ofNanos(Math.max(0, holdEnd - System.nanoTime()));
        return TaskRepository.lockFence(c, schema, taskName, runId, fence, left);
    }

    /**
     * The W3C {@code traceparent} of this run's span when runs are traced (docs/observability.md,
     * "Tracing"), else null: handlers pass it on to the work they ask elsewhere (an http task's request,
     * an exec task's {@code TRACEPARENT}), so that a receiver's spans join the run's trace.
     */
    public String traceparent() {
        return traceparent;
    }

    /** Set by the engine before the handler is called. */
    void traceparent(String value) {
        traceparent = value;
    }

    /** Throws if the run has been asked to stop; for handlers that compute without blocking. */
    public void checkInterrupted() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("run " + runId + " of " + taskName + " was interrupted");
        }
    }
}
