package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.FileSystemResource;

/**
 * The switch read as the service reads it: application.yml with an environment that has, or has not,
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT} (RunTracingTest sets the property instead: it runs in this JVM).
 */
class TracingEnvironmentTest {

    private static StandardEnvironment environment(Map<String, Object> variables) throws IOException {
        StandardEnvironment env = new StandardEnvironment();
        MutablePropertySources sources = env.getPropertySources();
        sources.remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        sources.replace(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(
                        StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
        new YamlPropertySourceLoader()
                .load("application.yml", new FileSystemResource("starpets-service/src/main/resources/application.yml"))
                .forEach(sources::addLast);
        new TracingEnvironment().postProcessEnvironment(env, null);
        return env;
    }

    @Test
    void anOtlpEndpointTurnsTracingOnWithEveryTraceKeptAndExemplarsOnBucketsOnly() throws IOException {
        StandardEnvironment env = environment(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://tempo:4318/"));

        assertThat(TracingEnvironment.enabled(env)).isTrue();
        assertThat(env.getProperty(TracingEnvironment.ENABLED)).isEqualTo("true");
        assertThat(env.getProperty("management.opentelemetry.tracing.export.otlp.endpoint"))
                .isEqualTo("http://tempo:4318/v1/traces");
        assertThat(env.getProperty("management.tracing.sampling.probability")).isEqualTo("1.0");
        assertThat(
                        env.getProperty(
                                "management.prometheus.metrics.export.properties[io.prometheus.exporter.exemplarsOnAllMetricTypes]"))
                .isEqualTo("false");
        assertThat(env.getProperty("management.observations.enable.http.server.requests"))
                .isNull();
    }

    @Test
    void noEndpointMeansNoTracerNoRequestObservationNoExemplars() throws IOException {
        StandardEnvironment env = environment(Map.of("OTEL_TRACES_SAMPLER_ARG", "0.5"));

        assertThat(TracingEnvironment.enabled(env)).isFalse();
        assertThat(env.getProperty(TracingEnvironment.ENABLED)).isEqualTo("false");
        assertThat(env.getProperty("management.tracing.export.enabled")).isEqualTo("false");
        assertThat(env.getProperty("management.tracing.exemplars.include")).isEqualTo("none");
        assertThat(env.getProperty("management.observations.enable.http.server.requests"))
                .isEqualTo("false");
        assertThat(env.getProperty("management.opentelemetry.tracing.export.otlp.endpoint"))
                .isNull();
    }

    @Test
    void aBlankEndpointIsNoEndpoint() throws IOException {
        assertThat(TracingEnvironment.enabled(environment(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "  "))))
                .isFalse();
    }
}
