package gg.starpets.scheduler;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One instance's scheduler. Threads, all built here (through {@link EngineThreads}: none ends
 * silently; if one does end, {@link #failure()} says so):
 * <ul>
 *   <li>{@code starpets-claim}: the claim loop ({@link ClaimLoop}), sleeping until the next due time, a
 *       notification, or a run's end;
 *   <li>{@code starpets-housekeeping-N} (3): heartbeat and lease renewal, recovery of dead instances' tasks, run
 *       timeouts; several threads, so that one call hanging on the network delays no other duty;
 *   <li>{@code starpets-watch}: the second session holding the instance lock; LISTENs for tasks that became
 *       claimable and notices at once when the session is lost ({@link SessionWatch});
 *   <li>{@code starpets-watchdog}: stops (as a last resort, halts) handlers that keep executing when this instance
 *       can no longer be sure it holds their tasks ({@link RunWatchdog});
 *   <li>{@code starpets-run-*}: one virtual thread per run.
 * </ul>
 */
public final class Scheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    /** The last resort of {@link RunWatchdog}: exit at once, without shutdown hooks. */
    public static final Runnable HALT = () -> Runtime.getRuntime().halt(70);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final Map<String, TaskHandler> handlers;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final LeaseGuard guard;
    private final InstanceSession session;
    private final ScheduledExecutorService housekeeping;
    private final Wakeup wakeup = new Wakeup();
    private final EngineThreads threads = new EngineThreads();
    private final RunExecutor executor;
    private final Capacity capacity;
    private final Heartbeat heartbeat;
    private final OrphanRecovery recovery;
    private final Claimer claimer;
    private final TaskHousekeeping taskHousekeeping;
    /** The names of the tasks this instance's configuration defines; null until syncTasks says. */
    private volatile String[] configTasks;

    private final SessionWatch watch;
    private final RunWatchdog watchdog;
    private final Runnable halt;
    private final Thread claimThread;
    private final Thread watchThread;
    private final Thread watchdogThread;
    private volatile boolean draining;
    private volatile boolean started;
    private boolean closed;

    public Scheduler(
            SchedulerSettings settings,
            DataSource dataSource,
            ConnectionFactory ownConnections,
            Map<String, TaskHandler> handlers,
            SchedulerEvents events) {
        this(settings, dataSource, ownConnections, ownConnections, handlers, events, HALT);
    }

    /**
     * @param dataSource a pool for the engine's statements (claims, recovery, run ends), best its own
     *     so that load on the service cannot starve the scheduler
     * @param sessionConnections opens the instance's primary session (outside any pool; direct to
     *     PostgreSQL or through a session-mode pooler, since it holds a session-level lock)
     * @param watchConnections opens the watch session (likewise; it LISTENs)
     * @param halt what to do when a handler that ignores interruption must not run on: {@link #HALT}
     */
    public Scheduler(
            SchedulerSettings settings,
            DataSource dataSource,
            ConnectionFactory sessionConnections,
            ConnectionFactory watchConnections,
            Map<String, TaskHandler> handlers,
            SchedulerEvents events,
            Runnable halt) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.handlers = Map.copyOf(handlers);
        this.instances = new InstanceRepository(dataSource);
        this.tasks = new TaskRepository();
        this.guard = new LeaseGuard(settings);
        this.session = new InstanceSession(
                sessionConnections, watchConnections, new SecureRandom().nextLong(), settings.lease(), guard);
        this.housekeeping = threads.housekeeping(3, "starpets-housekeeping-");
        this.executor = new RunExecutor(
                dataSource, tasks, handlers, events, housekeeping, session.key(), settings, guard, this::runEnded);
        this.capacity = new Capacity(settings.maxConcurrentRuns(), executor::notReturned);
        // Says which runs made this process halt before it does (quarantine counts only those). Only a
        // test's halt returns: the scheduler is over then, its loops may end.
        this.halt = new HaltRecord(dataSource, executor, guard, () -> {
            threads.closing();
            halt.run();
        });
        this.heartbeat = new Heartbeat(
                settings, session, instances, tasks, executor, capacity, guard, this::standDown, () -> configTasks);
        this.recovery = new OrphanRecovery(settings, dataSource, instances, tasks, events, this.handlers);
        this.claimer = new Claimer(
                settings, dataSource, tasks, executor, guard, session, capacity, heartbeat::requestNow, events);
        this.taskHousekeeping = new TaskHousekeeping(settings, dataSource, events);
        this.watch =
                new SessionWatch(session, guard, wakeup, heartbeat::requestNow, executor::cancel, settings.heartbeat());
        this.watchdog = new RunWatchdog(guard, executor::activeRuns, this.halt);
        this.claimThread =
                threads.thread("starpets-claim", false, new ClaimLoop(settings, claimer, wakeup, () -> draining));
        this.watchThread = threads.thread("starpets-watch", true, watch);
        this.watchdogThread = threads.thread("starpets-watchdog", true, watchdog);
    }

    /** What each claimed run is checked against before its handler is called; call before {@link #start}. */
    public void admitRuns(RunAdmission admission) {
        executor.admitRuns(admission);
    }

    /** Traces each run ({@link RunTracing}); call before {@link #start}. Default: {@link RunTracing#NONE}. */
    public void traceRuns(RunTracing tracing) {
        executor.traceRuns(tracing);
    }

    /**
     * Writes the task definitions into the database: new ones created, changed ones updated (a new
     * schedule takes effect at once). Safe when many instances do it at once. Refuses definitions
     * whose handler is unknown or refuses their parameters.
     */
    public int syncTasks(List<TaskDefinition> definitions) {
        for (TaskDefinition d : definitions) {
            TaskHandler handler = handlers.get(d.handler());
            if (handler == null) {
                throw new TaskDefinition.InvalidTaskException(
                        d.name(), "unknown handler '" + d.handler() + "' (known: " + handlers.keySet() + ")");
            }
            try {
                handler.validate(d.params());
            } catch (IllegalArgumentException e) {
                throw new TaskDefinition.InvalidTaskException(d.name(), "invalid params: " + e.getMessage());
            }
        }
        for (TaskDefinition d : definitions) {
            if (settings.maxConcurrentRuns() > 0 && d.cost() > settings.maxConcurrentRuns()) {
                throw new TaskDefinition.InvalidTaskException(
                        d.name(),
                        "its cost (" + d.cost() + ") exceeds this instance's whole capacity"
                                + " (SCHEDULER_MAX_CONCURRENT_RUNS=" + settings.maxConcurrentRuns()
                                + "): it could never start here");
            }
        }
        List<String> names = definitions.stream().map(TaskDefinition::name).toList();
        names.stream()
                .filter(n -> names.indexOf(n) != names.lastIndexOf(n))
                .findFirst()
                .ifPresent(n -> {
                    throw new TaskDefinition.InvalidTaskException(n, "the name is defined more than once");
                });
        // The same order on every instance, so that instances syncing together cannot deadlock.
        List<TaskDefinition> sorted = definitions.stream()
                .sorted(Comparator.comparing(TaskDefinition::name))
                .toList();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                int changed = TaskConfigSync.sync(c, sorted, "config:" + settings.instanceId());
                if (changed > 0) {
                    tasks.notifyTasksChanged(c);
                }
                c.commit();
                configTasks = sorted.stream().map(TaskDefinition::name).toArray(String[]::new);
                log.info("Task definitions synced: {} defined, {} created or changed", sorted.size(), changed);
                return changed;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new SchedulerException("could not sync task definitions", e);
        }
    }

    /**
     * Registers this instance (refused, with {@link InstanceRepository.DuplicateInstanceException},
     * when a live process already uses its id), then starts heartbeating, recovering and claiming.
     */
    public synchronized void start() {
        try {
            Connection c = session.primary();
            instances.register(
                    c, settings.instanceId(), settings.host(), settings.version(), session.key(), configTasks);
        } catch (SQLException e) {
            session.primaryFailed();
            throw new SchedulerException("could not register instance " + settings.instanceId(), e);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
        claimer.starting();
        heartbeat.start(housekeeping);
        recovery.start(housekeeping);
        taskHousekeeping.start(housekeeping);
        watchThread.start();
        watchdogThread.start();
        claimThread.start();
        started = true;
        log.info(
                "Scheduler started as instance {} (lease {}, heartbeat {})",
                settings.instanceId(),
                settings.lease(),
                settings.heartbeat());
    }

    /** Runs in progress in this instance now. */
    public int activeRuns() {
        return executor.activeCount();
    }

    /** The units of this instance's capacity its live handlers use now (each run its task's cost). */
    public int capacityUsed() {
        return capacity.used();
    }

    /** This instance's capacity ({@code SCHEDULER_MAX_CONCURRENT_RUNS}); 0: no limit. */
    public int capacity() {
        return capacity.max();
    }

    /** A run of this instance ended: the claim loop may take more; the others learn at once that it is no longer full. */
    private void runEnded() {
        wakeup.signal();
        if (capacity.stale()) {
            heartbeat.requestNow();
        }
    }

    public String instanceId() {
        return settings.instanceId();
    }

    /**
     * Why this instance's scheduler no longer works, if it does not: one of its threads ended, a
     * periodic duty died, or another process took its instance id. Empty while it works, and before
     * it starts.
     */
    public Optional<String> failure() {
        return threads.failure();
    }

    /** Called once, with the reason, if {@link #failure()} ever becomes non-empty. */
    public void onFailure(Consumer<String> listener) {
        threads.onFailure(listener);
    }

    /** Claim statements sent so far (a claim loop that spins would show here). */
    long claimStatements() {
        return claimer.claimStatements();
    }

    /** How many times the watch session was lost. */
    long watchLosses() {
        return watch.losses();
    }

    /** Another process took this instance's id: claim nothing more and stop the runs here. */
    private void standDown() {
        threads.failed("another process has taken instance id " + settings.instanceId());
        draining = true;
        wakeup.signal();
        executor.stopAll(LocalRun.StopReason.FENCE_LOST);
    }

    /**
     * Graceful stop: claim nothing more, let running runs finish within the grace period, interrupt
     * the rest and hand their tasks back (due at once, for another instance), then leave. A handler
     * that ignores interruption keeps its task: the process halts rather than let another instance
     * start it while the handler still executes.
     */
    @Override
    public synchronized void close() {
        if (!started || closed) {
            return;
        }
        closed = true;
        threads.closing();
        draining = true;
        log.info(
                "Scheduler stopping: {} run(s) in progress, grace {}",
                executor.activeCount(),
                settings.shutdownGrace());
        setState(InstanceState.DRAINING);
        wakeup.signal();
        join(claimThread, settings.poll());
        awaitRuns(settings.shutdownGrace());
        if (executor.activeCount() > 0) {
            log.info("Interrupting {} run(s) that did not finish within the grace period", executor.activeCount());
            executor.stopAll(LocalRun.StopReason.SHUTDOWN);
            awaitRuns(settings.lease().dividedBy(2));
        }
        List<LocalRun> stuck = executor.notReturned();
        if (!stuck.isEmpty()) {
            stuck.forEach(r -> log.error(
                    "Run {} of {} ignores interruption: halting so that no other instance starts it while it executes",
                    r.claim.runId(),
                    r.claim.task()));
            halt.run();
            // Only a test's halt returns: stop the threads, hand nothing over.
            abandon();
            return;
        }
        watchdog.stop();
        heartbeat.stop();
        housekeeping.shutdownNow();
        setState(InstanceState.GONE);
        watch.stop();
        join(watchThread, Duration.ofSeconds(2));
        session.close();
        log.info("Scheduler stopped");
    }

    private void abandon() {
        watchdog.stop();
        heartbeat.stop();
        housekeeping.shutdownNow();
        watch.stop();
        session.close();
    }

    private void awaitRuns(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (executor.activeCount() > 0 && System.nanoTime() < deadline) {
            try {
                wakeup.await(Duration.ofMillis(50));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void setState(InstanceState state) {
        try {
            instances.setState(session.primary(), settings.instanceId(), session.key(), state.name());
        } catch (SQLException e) {
            session.primaryFailed();
            log.warn("Could not mark instance {}: {}", state, e.getMessage());
        }
    }

    private static void join(Thread thread, Duration limit) {
        try {
            thread.join(limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
