package gg.starpets.scheduler;

import java.time.Duration;

/**
 * How one copy's scheduler behaves. Durations are measured on this copy's monotonic clock only
 * (how long to sleep); due times, leases and expiry are always computed by the database.
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
        Duration shutdownGrace) {

    public SchedulerSettings {
        if (heartbeat.multipliedBy(3).compareTo(lease) > 0) {
            throw new IllegalArgumentException(
                    "the lease (" + lease + ") must be at least 3 heartbeats (" + heartbeat + ")");
        }
    }

    /** Past this much time without a renewal, a copy stops its own runs before anyone may take them. */
    public Duration selfFenceAfter() {
        return lease.multipliedBy(6).dividedBy(10);
    }

    /** How often to look for tasks whose copy is gone. */
    public Duration recoveryInterval() {
        return heartbeat.dividedBy(2);
    }
}
