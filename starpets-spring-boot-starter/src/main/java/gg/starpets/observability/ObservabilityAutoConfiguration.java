package gg.starpets.observability;

import gg.starpets.config.StarPetsAutoConfiguration;
import gg.starpets.scheduler.Scheduler;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Import;

/**
 * StarPets' metrics (the engine's events, the database gauges: {@link MetricNames}) and the runs' traces, in
 * an application that has StarPets' engine. An application's own {@link gg.starpets.scheduler.SchedulerEvents}
 * or {@link gg.starpets.scheduler.RunTracing} bean replaces StarPets'. The service's {@code /metrics} and HTTP
 * metrics are not here: the service imports {@link MetricsEndpoint}.
 */
@AutoConfiguration(after = StarPetsAutoConfiguration.class)
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean(Scheduler.class)
@Import({TracingConfig.class, SchedulerMetrics.class, DatabaseGaugeRefresh.class})
public class ObservabilityAutoConfiguration {}
