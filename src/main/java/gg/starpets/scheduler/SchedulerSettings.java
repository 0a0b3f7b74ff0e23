package gg.starpets.scheduler;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How one instance's scheduler behaves. Durations are measured on this instance's monotonic clock
 * only (how long to sleep, how long since a lease was last confirmed); due times, leases and
 * expiry are always computed by the database. Build with {@link #builder(String)}.
 *
 * @param quarantineAfter runs of a task ended LOST in a row before it is quarantined (0: never); only runs
 *     the task may have caused count (see {@code docs/scheduler.md}, quarantine)
 * @param quarantineWindow a LOST run counts toward quarantine only if its instance was proven dead within this
 *     long after the run started (a handler that kills its process does so soon after it starts); zero: at any time
 * @param ticker this instance's monotonic clock in nanoseconds ({@code System::nanoTime}); tests
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
    }

    public static Builder builder(String instanceId) {
        return new Builder(instanceId);
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
                    ticker);
        }
    }
}
