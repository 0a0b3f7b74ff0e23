package gg.starpets.observability;

import gg.starpets.config.StarPetsProperties;
import gg.starpets.scheduler.Scheduler;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
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
    static final String OPENMETRICS_FORMAT = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    private static final String OPENMETRICS_END = "# EOF\n";

    private final PrometheusMeterRegistry registry;
    private final Scheduler scheduler;
    private final String instanceLabel;
    private final boolean openMetrics;

    MetricsController(
            PrometheusMeterRegistry registry,
            Scheduler scheduler,
            StarPetsProperties properties,
            Environment environment) {
        this.registry = registry;
        this.scheduler = scheduler;
        Gauge.builder(MetricNames.CAPACITY_USED, scheduler, Scheduler::capacityUsed)
                .description("Units of this instance's capacity its live handlers use now")
                .register(registry);
        Gauge.builder(MetricNames.CAPACITY, scheduler, Scheduler::capacity)
                .description("This instance's capacity (SCHEDULER_MAX_CONCURRENT_RUNS); 0: no limit")
                .register(registry);
        this.openMetrics = TracingEnvironment.enabled(environment);
        this.instanceLabel =
                properties.resolvedInstanceId().replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /**
     * The classic text format; OpenMetrics when asked for ({@code Accept}, as Prometheus does) while
     * tracing is on: only that format carries exemplars (the trace ids of runs, docs/observability.md).
     */
    @GetMapping(value = "/metrics")
    ResponseEntity<String> metrics(@RequestHeader(value = HttpHeaders.ACCEPT, required = false) String accept) {
        String format = openMetrics && accept != null && accept.contains("application/openmetrics-text")
                ? OPENMETRICS_FORMAT
                : TEXT_FORMAT;
        String registryText = registry.scrape(format);
        String activeTasks = "# HELP " + MetricNames.ACTIVE_TASKS + " Runs in progress on this instance now\n"
                + "# TYPE " + MetricNames.ACTIVE_TASKS + " gauge\n"
                + MetricNames.ACTIVE_TASKS + "{instance_id=\"" + instanceLabel + "\"} " + scheduler.activeRuns() + "\n";
        String body = format.equals(OPENMETRICS_FORMAT) && registryText.endsWith(OPENMETRICS_END)
                ? registryText.substring(0, registryText.length() - OPENMETRICS_END.length())
                        + activeTasks
                        + OPENMETRICS_END
                : registryText + activeTasks;
        return ResponseEntity.ok().contentType(MediaType.parseMediaType(format)).body(body);
    }
}
