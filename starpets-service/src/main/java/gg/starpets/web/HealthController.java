package gg.starpets.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import gg.starpets.config.HealthProbe;
import gg.starpets.config.StarPetsProperties;
import gg.starpets.scheduler.Scheduler;
import java.util.Optional;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * UP while this instance can reach PostgreSQL and its scheduler works; DOWN (503) while it cannot
 * reach PostgreSQL, or once its scheduler has stopped working (one of its threads ended, or another
 * process took its instance id: {@link Scheduler#failure()}, then named under {@code scheduler}).
 */
@RestController
class HealthController {

    /** {@code scheduler} only once the scheduler has stopped working: why. */
    record Health(
            String status,
            String instanceId,
            String database,
            @JsonInclude(JsonInclude.Include.NON_NULL) String scheduler) {}

    private final HealthProbe probe;
    private final ObjectProvider<Scheduler> scheduler;
    private final String instanceId;

    HealthController(HealthProbe probe, ObjectProvider<Scheduler> scheduler, StarPetsProperties properties) {
        this.probe = probe;
        this.scheduler = scheduler;
        this.instanceId = properties.resolvedInstanceId();
    }

    @GetMapping("/health")
    ResponseEntity<Health> health() {
        boolean reachable = probe.databaseReachable();
        Scheduler engine = scheduler.getIfAvailable();
        Optional<String> failure = engine == null ? Optional.empty() : engine.failure();
        boolean up = reachable && failure.isEmpty();
        return ResponseEntity.status(up ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
                .body(new Health(
                        up ? "UP" : "DOWN",
                        instanceId,
                        reachable ? "reachable" : "unreachable",
                        failure.map(f -> "stopped: " + f).orElse(null)));
    }
}
