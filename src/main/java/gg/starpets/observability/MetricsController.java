package gg.starpets.observability;

import gg.starpets.config.StarPetsProperties;
import gg.starpets.scheduler.Scheduler;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * GET /metrics — Prometheus text exposition (0.0.4). Everything comes from Micrometer's registry
 * except {@code app_active_tasks_total}: the seed requires a <em>gauge</em> under that name, and
 * the Prometheus client refuses (renames) a gauge ending in {@code _total}, so that one family is
 * written here, in the same format. A scrape reads nothing from the database: the database-wide
 * gauges are read in the background ({@link DatabaseGaugeRefresh}), so /metrics answers at once
 * even when PostgreSQL is down.
 */
@RestController
class MetricsController {

    static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final Scheduler scheduler;
    private final String instanceLabel;

    MetricsController(PrometheusMeterRegistry registry, Scheduler scheduler, StarPetsProperties properties) {
        this.registry = registry;
        this.scheduler = scheduler;
        this.instanceLabel =
                properties.resolvedInstanceId().replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @GetMapping(value = "/metrics")
    ResponseEntity<String> metrics() {
        String body = registry.scrape(TEXT_FORMAT)
                + "# HELP " + MetricNames.ACTIVE_TASKS + " Runs in progress on this instance now\n"
                + "# TYPE " + MetricNames.ACTIVE_TASKS + " gauge\n"
                + MetricNames.ACTIVE_TASKS + "{instance_id=\"" + instanceLabel + "\"} " + scheduler.activeRuns() + "\n";
        return ResponseEntity.ok()
                .contentType(MediaType.parseMediaType(TEXT_FORMAT))
                .body(body);
    }
}
