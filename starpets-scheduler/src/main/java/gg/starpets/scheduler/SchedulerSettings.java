package gg.starpets.scheduler;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How one instance's scheduler behaves. Durations are measured on this instance's monotonic clock
 * only (how long to sleep, how long since a lease was last confirmed); due times, leases and
 * expiry are always computed by the database. Build with {@link #builder(String)}: its defaults are
 * the service's defaults (application.yml maps each environment variable here without repeating
 * them; {@code SettingsAgreementTest} holds them equal to the README's configuration table).
 *
 * @param instanceId this instance's unique id, in the {@code instances} row, logs, {@code X-Instance-Id}
 *     and every run it owns; no default ({@code INSTANCE_ID}, else the host's name)
 * @param host the machine it runs on, shown beside the id in {@code instances}; default {@code localhost}
 *     (the service sets the host's name)
 * @param version the service's version, shown in {@code instances}; default {@code dev} (the service
 *     sets the build's version)
 * @param lease how long a claim holds without renewal ({@code SCHEDULER_LEASE}): a frozen or cut-off
 *     instance loses its tasks this long after its last renewal, and a handler's step must end before
 *     it. At least 3 heartbeats. Default 10 s, ten heartbeats: several renewals in a row may fail (a GC
 *     pause, a loaded database) before a task is lost, while a frozen owner's tasks move within 10 s
 * @param heartbeat how often the instance renews its leases and its {@code instances} row
 *     ({@code SCHEDULER_HEARTBEAT}); also the unit of the engine's other periods: recovery looks every
 *     quarter of it, a missing session lock counts as death after half of it ({@link #lockLossGrace()}),
 *     and half of it is the margin a step must end before its lease. Default 1 s: a dead instance's
 *     tasks start elsewhere within about a second (0.6 s typical, docs/benchmarks-scheduler.md) for one
 *     short renewal statement per instance per second
 * @param poll the longest the claim loop sleeps with nothing due and no notification
 *     ({@code SCHEDULER_POLL}); due times and {@code LISTEN starpets_tasks} usually wake it first, so it
 *     bounds only what a lost notification can delay. Default 5 s; it also bounds a stop's wait for
 *     that loop
 * @param settle at start, how long the first claim waits so that instances started together split the
 *     tasks evenly ({@code SCHEDULER_SETTLE}); it ends early once another instance runs a task (a
 *     cluster that is already running). Default 3 s: longer than the spread of a compose or rolling start
 * @param totalInstances how many instances the first claim waits to see alive, for at most ten settle
 *     periods ({@code TOTAL_INSTANCES}); default 0: not set, wait one settle period
 * @param shutdownGrace on a stop (SIGTERM), how long runs in progress may finish before they are
 *     interrupted and their tasks handed back ({@code SHUTDOWN_GRACE}). Default 20 s: the demo tasks
 *     stop at once when interrupted; with the request drain, poll and lease it fits the 2 minutes
 *     compose and the Helm chart give a stop
 * @param quarantineAfter runs of a task ended LOST in a row before it is quarantined
 *     ({@code SCHEDULER_QUARANTINE_AFTER}; 0: never); only runs the task may have caused count (see
 *     {@code docs/scheduler.md}, quarantine). Default 3: a handler that kills its process would
 *     otherwise kill one instance after another, while a single unlucky loss does not stop a task
 * @param quarantineWindow a LOST run counts toward quarantine only if its instance was proven dead within
 *     this long after the run started ({@code SCHEDULER_QUARANTINE_WINDOW}; zero: at any time). Default
 *     10 s: a handler that kills its process does so well within seconds of its start, while a kill from
 *     outside lands within the first 10 s of an hour-long run in under 0.3 % of kills (docs/scheduler.md)
 * @param maxConcurrentRuns this instance's capacity ({@code SCHEDULER_MAX_CONCURRENT_RUNS}): the most units its
 *     live handlers (started and not returned, an interrupted or timed-out one included) may use at once,
 *     a run using its task's {@code cost} (1 by default); a full instance claims nothing and leaves its
 *     share of due tasks to the others. Default 0: no limit, as before capacity existed: the service
 *     cannot know what a run costs the machine (a {@code sleep} or {@code http} run is a parked virtual
 *     thread, an {@code exec} one a process), and any number here would change how existing
 *     deployments and the 20,000-task benchmark (4,000 tasks an instance) share work; set it where
 *     heavy {@code exec}/{@code cpu} tasks run
 * @param priorityAging the starvation bound of priorities ({@code SCHEDULER_PRIORITY_AGING}): where capacity is
 *     short, a claim takes due tasks by {@code priority}, then due time, except that a task due longer ago than
 *     this goes ahead of every newer one, whatever their priorities (the oldest such first). Positive. Default
 *     1 m: far longer than a claim turn, so priorities decide in a normal backlog, while a low-priority task
 *     under a steady stream of higher ones still starts about a minute late, not never
 * @param claimAhead how long before its due time a task is claimed ({@code SCHEDULER_CLAIM_AHEAD}; 0: when due);
 *     its handler then starts on this instance's own timer at the due time, once its hold is sure
 *     ({@link LocalRun#awaitStart()}), so that a start waits neither for a claim loop's turn nor for the
 *     claim's round trip. At most half a heartbeat: a run claimed ahead has that much less of its first
 *     lease. 100 ms (twice the {@link #spreadWindow()} at the default heartbeat, so that a task is claimed
 *     before it is due even when the instance whose share it is was looking elsewhere for one window) cut
 *     the start lag p99 at 1,000 tasks a second to a fifth, and doubled the database time per run (the
 *     tasks claimed and waiting are counted by every share query; starts, so ends, come smoothly and are
 *     written in smaller batches; docs/benchmarks-scheduler.md). Default 0: the database's capacity, which
 *     the README states, is the default's; an operator who wants starts on time opts in
 * @param ticker this instance's monotonic clock in nanoseconds; default {@code System::nanoTime}; tests
 *     may move it forward
 */
public record SchedulerSettings(
        String instanceId,
        String host,
        String version,
        Duration lease,
        Duration heartbeat,
        Duration poll,
        Duration settle,
        int totalInstances,
        Duration shutdownGrace,
        int quarantineAfter,
        Duration quarantineWindow,
        int maxConcurrentRuns,
        Duration priorityAging,
        Duration claimAhead,
        LongSupplier ticker) {

    /**
     * How long after the server may have dropped this instance's session locks without the instance
     * knowing (PostgreSQL's TCP keepalive on those sessions: idle 2 s, then 3 probes 1 s apart, so
     * never less than about 5 s after the last exchange; 4 s leaves a margin).
     */
    static final Duration SILENT_SESSION_LOSS = Duration.ofSeconds(4);

    public SchedulerSettings {
        if (heartbeat.multipliedBy(3).compareTo(lease) > 0) {
            throw new IllegalArgumentException(
                    "the lease (" + lease + ") must be at least 3 heartbeats (" + heartbeat + ")");
        }
        if (maxConcurrentRuns < 0) {
            throw new IllegalArgumentException(
                    "the most concurrent runs must be 0 (no limit) or more, not " + maxConcurrentRuns);
        }
        if (priorityAging == null || priorityAging.isNegative() || priorityAging.isZero()) {
            throw new IllegalArgumentException("the priority aging must be positive, not " + priorityAging);
        }
        if (claimAhead == null || claimAhead.isNegative() || claimAhead.compareTo(heartbeat.dividedBy(2)) > 0) {
            throw new IllegalArgumentException("the claim ahead must be 0 or more and at most half a heartbeat ("
                    + heartbeat + "), not " + claimAhead);
        }
    }

    public static Builder builder(String instanceId) {
        return new Builder(instanceId);
    }

    /** Every default of the builder (the one place they are written), for an instance not named yet. */
    public static SchedulerSettings defaults() {
        return builder("").build();
    }

    public Builder toBuilder() {
        return new Builder(instanceId)
                .host(host)
                .version(version)
                .lease(lease)
                .heartbeat(heartbeat)
                .poll(poll)
                .settle(settle)
                .totalInstances(totalInstances)
                .shutdownGrace(shutdownGrace)
                .quarantineAfter(quarantineAfter)
                .quarantineWindow(quarantineWindow)
                .maxConcurrentRuns(maxConcurrentRuns)
                .priorityAging(priorityAging)
                .claimAhead(claimAhead)
                .ticker(ticker);
    }

    /**
     * How long an instance's session lock must stay missing before other instances take it as dead
     * (unless it was last seen before the locks held now were taken, as after a restart, a crash-restart or a
     * promotion: then only the lease counts).
     * A live instance that loses all its sessions at once stops its runs' steps within this time.
     */
    public Duration lockLossGrace() {
        return heartbeat.dividedBy(2);
    }

    /** How often to look for tasks whose instance is gone. */
    public Duration recoveryInterval() {
        return heartbeat.dividedBy(4);
    }

    /** How long a run's claim counts in its instance's share after a short run has ended (spreads short runs). */
    public Duration spreadWindow() {
        return heartbeat.dividedBy(20);
    }

    long nanos() {
        return ticker.getAsLong();
    }

    /** Starts from the defaults explained on each component above. */
    public static final class Builder {
        private final String instanceId;
        private String host = "localhost";
        private String version = "dev";
        private Duration lease = Duration.ofSeconds(10);
        private Duration heartbeat = Duration.ofSeconds(1);
        private Duration poll = Duration.ofSeconds(5);
        private Duration settle = Duration.ofSeconds(3);
        private int totalInstances;
        private Duration shutdownGrace = Duration.ofSeconds(20);
        private int quarantineAfter = 3;
        private Duration quarantineWindow = Duration.ofSeconds(10);
        private int maxConcurrentRuns;
        private Duration priorityAging = Duration.ofMinutes(1);
        private Duration claimAhead = Duration.ZERO;
        private LongSupplier ticker = System::nanoTime;

        private Builder(String instanceId) {
            this.instanceId = instanceId;
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        public Builder version(String version) {
            this.version = version;
            return this;
        }

        public Builder lease(Duration lease) {
            this.lease = lease;
            return this;
        }

        public Builder heartbeat(Duration heartbeat) {
            this.heartbeat = heartbeat;
            return this;
        }

        public Builder poll(Duration poll) {
            this.poll = poll;
            return this;
        }

        public Builder settle(Duration settle) {
            this.settle = settle;
            return this;
        }

        public Builder totalInstances(int totalInstances) {
            this.totalInstances = totalInstances;
            return this;
        }

        public Builder shutdownGrace(Duration shutdownGrace) {
            this.shutdownGrace = shutdownGrace;
            return this;
        }

        public Builder quarantineAfter(int quarantineAfter) {
            this.quarantineAfter = quarantineAfter;
            return this;
        }

        public Builder quarantineWindow(Duration quarantineWindow) {
            this.quarantineWindow = quarantineWindow;
            return this;
        }

        public Builder maxConcurrentRuns(int maxConcurrentRuns) {
            this.maxConcurrentRuns = maxConcurrentRuns;
            return this;
        }

        public Builder priorityAging(Duration priorityAging) {
            this.priorityAging = priorityAging;
            return this;
        }

        public Builder claimAhead(Duration claimAhead) {
            this.claimAhead = claimAhead;
            return this;
        }

        public Builder ticker(LongSupplier ticker) {
            this.ticker = ticker;
            return this;
        }

        public SchedulerSettings build() {
            return new SchedulerSettings(
                    instanceId,
                    host,
                    version,
                    lease,
                    heartbeat,
                    poll,
                    settle,
                    totalInstances,
                    shutdownGrace,
                    quarantineAfter,
                    quarantineWindow,
                    maxConcurrentRuns,
                    priorityAging,
                    claimAhead,
                    ticker);
        }
    }
}
