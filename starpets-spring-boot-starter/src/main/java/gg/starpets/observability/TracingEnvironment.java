package gg.starpets.observability;

import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.env.MapPropertySource;

/**
 * Turns tracing on or off from {@code OTEL_EXPORTER_OTLP_ENDPOINT} ({@code starpets.tracing.otlp-endpoint}),
 * before the beans are made (docs/observability.md, "Tracing").
 *
 * <p>Set: Spring Boot's OTLP/HTTP span exporter sends to {@code <endpoint>/v1/traces} (the OTLP
 * specification's path for the base endpoint), every trace sampled unless {@code OTEL_TRACES_SAMPLER_ARG}
 * says otherwise, and the run-duration histogram carries trace ids as exemplars.
 *
 * <p>Unset: {@link TracingConfig} puts Micrometer's no-op tracer in place of OpenTelemetry's, the HTTP
 * server observation is off, exemplars are off, and the engine gets {@code RunTracing.NONE}: no span is
 * built, nothing exported, no clock read for it.
 *
 * <p>The properties are added last: a {@code management.*} property set explicitly still wins.
 */
public final class TracingEnvironment implements EnvironmentPostProcessor {

    static final String ENDPOINT = "starpets.tracing.otlp-endpoint";
    static final String SAMPLING = "starpets.tracing.sampling-probability";
    /** Derived here, read by {@link TracingConfig}: whether runs and requests are traced. */
    static final String ENABLED = "starpets.tracing.enabled";

    /** Whether tracing is on in {@code environment}. */
    static boolean enabled(Environment environment) {
        return !environment.getProperty(ENDPOINT, "").isBlank();
    }

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        Map<String, Object> properties = new HashMap<>();
        if (enabled(environment)) {
            String base = environment.getProperty(ENDPOINT, "").strip().replaceAll("/+$", "");
            properties.put(ENABLED, "true");
            properties.put("management.opentelemetry.tracing.export.otlp.endpoint", base + "/v1/traces");
            properties.put("management.tracing.sampling.probability", environment.getProperty(SAMPLING, "1.0"));
            // Exemplars on histogram buckets and counters only, as OpenMetrics 1.0 allows: Micrometer also
            // puts them on a histogram's _count, and Prometheus then refuses the whole scrape ("metric name
            // ..._count does not support exemplars", seen with Prometheus 2.42).
            properties.put(
                    "management.prometheus.metrics.export.properties[io.prometheus.exporter.exemplarsOnAllMetricTypes]",
                    "false");
        } else {
            properties.put(ENABLED, "false");
            properties.put("management.tracing.export.enabled", "false");
            properties.put("management.tracing.sampling.probability", "0.0");
            properties.put("management.tracing.exemplars.include", "none");
            properties.put("management.observations.enable.http.server.requests", "false");
        }
        environment.getPropertySources().addLast(new MapPropertySource("starpets-tracing", properties));
    }
}
