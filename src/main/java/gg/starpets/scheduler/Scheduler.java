package gg.starpets.scheduler;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One copy's scheduler. Threads, all built here:
 * <ul>
 *   <li>{@code starpets-claim}: the claim loop, sleeping until the next due time, a notification, or a run's end;
 *   <li>{@code starpets-housekeeping-N} (3): heartbeat and lease renewal, the self-fence check, recovery of dead
 *       copies' tasks, run timeouts; several threads, so that one call hanging on the network delays no other duty;
 *   <li>{@code starpets-listen}: LISTEN for tasks that became claimable;
 *   <li>{@code starpets-run-*}: one virtual thread per run.
 * </ul>
 */
public final class Scheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final SchedulerSettings settings;
    private final DataSource dataSource;
    private final Map<String, TaskHandler> handlers;
    private final InstanceRepository instances;
    private final TaskRepository tasks;
    private final InstanceSession session;
    private final ScheduledExecutorService housekeeping;
    private final Wakeup wakeup = new Wakeup();
    private final RunExecutor executor;
    private final Heartbeat heartbeat;
    private final OrphanRecovery recovery;
    private final Claimer claimer;
    private final TaskNotifications notifications;
    private final Thread claimThread;
    private final Thread listenThread;
    private volatile boolean draining;
    private volatile boolean started;

    public Scheduler(
            SchedulerSettings settings,
            DataSource dataSource,
            ConnectionFactory ownConnections,
            Map<String, TaskHandler> handlers,
            SchedulerEvents events) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.handlers = Map.copyOf(handlers);
        this.instances = new InstanceRepository(dataSource);
        this.tasks = new TaskRepository(dataSource);
        this.session = new InstanceSession(ownConnections, new SecureRandom().nextLong(), settings.lease());
        var pool = new ScheduledThreadPoolExecutor(
                3,
                Thread.ofPlatform().name("starpets-housekeeping-", 1).daemon().factory());
        // Every run schedules its timeout; a run that ends in time must not leave its timer behind.
        pool.setRemoveOnCancelPolicy(true);
        this.housekeeping = pool;
        this.executor = new RunExecutor(
                dataSource, tasks, handlers, events, housekeeping, session.key(), settings.lease(), wakeup::signal);
        this.heartbeat = new Heartbeat(settings, session, instances, tasks, executor);
        this.recovery = new OrphanRecovery(settings, dataSource, instances, tasks, events);
        this.claimer = new Claimer(settings, dataSource, tasks, executor, session.key());
        this.notifications = new TaskNotifications(ownConnections, wakeup, settings.poll());
        this.claimThread = new Thread(this::claimLoop, "starpets-claim");
        this.listenThread = new Thread(notifications, "starpets-listen");
    }

    /**
     * Writes the task definitions into the database: new ones created, changed ones updated.
     * Safe when many copies do it at once. Refuses definitions whose handler is unknown.
     */
    public int syncTasks(List<TaskDefinition> definitions) {
        for (TaskDefinition d : definitions) {
            if (!handlers.containsKey(d.handler())) {
                throw new TaskDefinition.InvalidTaskException(
                        d.name(), "unknown handler '" + d.handler() + "' (known: " + handlers.keySet() + ")");
            }
        }
        long distinct =
                definitions.stream().map(TaskDefinition::name).distinct().count();
        if (distinct != definitions.size()) {
            String duplicate = definitions.stream()
                    .map(TaskDefinition::name)
                    .filter(n ->
                            definitions.stream().filter(d -> d.name().equals(n)).count() > 1)
                    .findFirst()
                    .orElseThrow();
            throw new TaskDefinition.InvalidTaskException(duplicate, "the name is defined more than once");
        }
        // The same order on every copy, so that copies syncing together cannot deadlock.
        List<TaskDefinition> sorted = definitions.stream()
                .sorted(Comparator.comparing(TaskDefinition::name))
                .toList();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                int changed = tasks.upsertDefinitions(c, sorted);
                c.commit();
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

    /** Registers this copy, then starts heartbeating, recovering and claiming. */
    public synchronized void start() {
        try {
            Connection c = session.connection();
            instances.register(c, settings.instanceId(), settings.host(), settings.version(), session.key());
        } catch (SQLException e) {
            session.invalidate();
            throw new SchedulerException("could not register instance " + settings.instanceId(), e);
        }
        long heartbeatNanos = settings.heartbeat().toNanos();
        housekeeping.scheduleWithFixedDelay(heartbeat::runOnce, heartbeatNanos, heartbeatNanos, TimeUnit.NANOSECONDS);
        housekeeping.scheduleAtFixedRate(
                heartbeat::checkFence, heartbeatNanos, heartbeatNanos / 2, TimeUnit.NANOSECONDS);
        long recoveryNanos = settings.recoveryInterval().toNanos();
        housekeeping.scheduleWithFixedDelay(recovery::runOnce, 0, recoveryNanos, TimeUnit.NANOSECONDS);
        listenThread.start();
        claimThread.start();
        started = true;
        log.info(
                "Scheduler started as instance {} (lease {}, heartbeat {})",
                settings.instanceId(),
                settings.lease(),
                settings.heartbeat());
    }

    /** Runs in progress on this copy now. */
    public int activeRuns() {
        return executor.activeCount();
    }

    public String instanceId() {
        return settings.instanceId();
    }

    private void claimLoop() {
        try {
            settle();
            while (!draining) {
                Duration sleep = settings.poll();
                if (!heartbeat.fenced()) {
                    try {
                        sleep = claimer.runOnce().sleep(settings.poll(), settings.heartbeat());
                    } catch (SQLException | RuntimeException e) {
                        log.warn("Claim failed: {}", e.getMessage());
                        sleep = settings.heartbeat();
                    }
                }
                wakeup.await(sleep);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Copies started together wait a moment before their first claim so that all of them are
     * registered and each takes only its share; with a configured total, until that many are alive.
     * A copy that joins a running cluster (another copy already runs tasks) does not wait: the split
     * has begun, and while it waited the others would leave its share of any task falling due (or
     * recovered from a dead copy) unclaimed.
     */
    private void settle() throws InterruptedException {
        long deadline = System.nanoTime()
                + (settings.totalInstances() > 0 ? settings.settle().multipliedBy(10) : settings.settle()).toNanos();
        while (!draining && System.nanoTime() < deadline) {
            try {
                TaskRepository.Share share = claimer.share();
                if (share.runningElsewhere() > 0) {
                    return;
                }
                if (settings.totalInstances() > 0 && share.liveCopies() >= settings.totalInstances()) {
                    return;
                }
            } catch (SQLException e) {
                log.warn("Could not read the other copies' state: {}", e.getMessage());
            }
            wakeupFor(Duration.ofNanos(
                    Math.min(deadline - System.nanoTime(), settings.heartbeat().toNanos())));
        }
    }

    private void wakeupFor(Duration d) throws InterruptedException {
        if (!d.isNegative()) {
            Thread.sleep(d);
        }
    }

    /**
     * Graceful stop: claim nothing more, let running runs finish within the grace period,
     * interrupt the rest and hand their tasks back (due at once, for another copy), then leave.
     */
    @Override
    public synchronized void close() {
        if (!started || draining) {
            return;
        }
        draining = true;
        log.info(
                "Scheduler stopping: {} run(s) in progress, grace {}",
                executor.activeCount(),
                settings.shutdownGrace());
        setState("DRAINING");
        wakeup.signal();
        join(claimThread, settings.poll());
        awaitRuns(settings.shutdownGrace());
        if (executor.activeCount() > 0) {
            log.info("Interrupting {} run(s) that did not finish within the grace period", executor.activeCount());
            executor.stopAll(LocalRun.StopReason.SHUTDOWN);
            awaitRuns(settings.lease());
        }
        housekeeping.shutdownNow();
        setState("GONE");
        notifications.stop();
        join(listenThread, Duration.ofSeconds(2));
        session.close();
        log.info("Scheduler stopped");
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

    private void setState(String state) {
        try {
            instances.setState(session.connection(), settings.instanceId(), session.key(), state);
        } catch (SQLException e) {
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
