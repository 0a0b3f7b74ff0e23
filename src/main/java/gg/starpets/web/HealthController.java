package gg.starpets.web;

import gg.starpets.config.HealthProbe;
import gg.starpets.config.StarPetsProperties;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** UP while this instance can reach PostgreSQL, DOWN (503) while it cannot. */
@RestController
class HealthController {

    private final HealthProbe probe;
    private final String instanceId;

    HealthController(HealthProbe probe, StarPetsProperties properties) {
        this.probe = probe;
        this.instanceId = properties.resolvedInstanceId();
    }

    @GetMapping("/health")
    ResponseEntity<Map<String, Object>> health() {
        boolean up = probe.databaseReachable();
        return ResponseEntity.status(up ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
                .body(Map.of(
                        "status", up ? "UP" : "DOWN",
                        "instanceId", instanceId,
                        "database", up ? "reachable" : "unreachable"));
    }
}
