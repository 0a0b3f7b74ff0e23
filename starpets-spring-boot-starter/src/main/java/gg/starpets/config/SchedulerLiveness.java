package gg.starpets.config;

import gg.starpets.scheduler.Scheduler;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Component;

/**
 * A scheduler that has stopped working ({@link Scheduler#failure()}: one of its threads ended, or
 * another process took its instance id) makes the instance's liveness BROKEN, so that an
 * orchestrator restarts it; {@code /health} says DOWN and why (web.HealthController).
 */
@Component
final class SchedulerLiveness {

    SchedulerLiveness(Scheduler scheduler, ApplicationEventPublisher publisher) {
        scheduler.onFailure(reason -> AvailabilityChangeEvent.publish(publisher, scheduler, LivenessState.BROKEN));
    }
}
