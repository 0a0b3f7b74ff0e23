package gg.starpets.config;

import gg.starpets.scheduler.Scheduler;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The Actuator health contributor {@code starpets}: DOWN with the reason once the scheduler has stopped
 * working ({@link Scheduler#failure()}: one of its threads ended, or another process took its instance id),
 * else UP with this instance's id and its runs in progress.
 */
final class StarPetsHealth implements HealthIndicator {

    private final Scheduler scheduler;

    StarPetsHealth(Scheduler scheduler) {
        this.scheduler = scheduler;
    }

    @Override
    public Health health() {
        var failure = scheduler.failure();
        if (failure.isPresent()) {
            return Health.down().withDetail("reason", failure.get()).build();
        }
        return Health.up()
                .withDetail("instance", scheduler.instanceId())
                .withDetail("activeRuns", scheduler.activeRuns())
                .build();
    }
}
