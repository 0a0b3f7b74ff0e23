package gg.starpets.observability;

import gg.starpets.scheduler.RunTracing;
import io.micrometer.tracing.Tracer;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The tracer of the service and of its runs, on or off as {@link TracingEnvironment} decided. */
@Configuration(proxyBeanMethods = false)
class TracingConfig {

    /**
     * Off: Micrometer's no-op tracer, so that Spring Boot's OpenTelemetry tracer (and its span objects
     * for every observation) is never made.
     */
    @Bean
    @ConditionalOnProperty(name = TracingEnvironment.ENABLED, havingValue = "false")
    Tracer noopTracer() {
        return Tracer.NOOP;
    }

    @Bean
    RunTracing runTracing(ObjectProvider<Tracer> tracer, org.springframework.core.env.Environment environment) {
        return TracingEnvironment.enabled(environment) ? new RunTraces(tracer.getObject()) : RunTracing.NONE;
    }
}
