package gg.starpets.observability;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * The service's {@code /metrics} (Prometheus text) and its HTTP request metrics, imported by the service; an
 * application that uses StarPets as a library has Actuator's own endpoints instead.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Import({HttpMetricsFilter.class, MetricsController.class})
public class MetricsEndpoint {}
