package gg.starpets.config;

import gg.starpets.scheduler.Scheduler;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * StarPets in a Spring Boot application (docs/library.md): binds {@code starpets.*}, migrates StarPets'
 * schema, makes its pools on the application's database (spring.datasource.*) unless starpets.db.* names
 * another, registers every {@link gg.starpets.scheduler.TaskHandler} bean under its name, and starts the
 * engine. Each bean backs off when the application declares its own (by type, or by name for the pools
 * and the lifecycle).
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class)
@EnableConfigurationProperties(StarPetsProperties.class)
@Import({DatabaseConfig.class, SchedulerConfig.class, BuiltInHandlers.class, SchedulerLiveness.class})
public class StarPetsAutoConfiguration {

    /** StarPets' pool, by name (not a default candidate: an application's own DataSource is not replaced). */
    public static final String DATA_SOURCE = "starpetsDataSource";

    /** The scheduler's own pool (claims, recovery, run ends), by name. */
    public static final String SCHEDULER_DATA_SOURCE = "schedulerDataSource";

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {

        @Bean
        @ConditionalOnEnabledHealthIndicator("starpets")
        HealthIndicator starpetsHealthIndicator(Scheduler scheduler) {
            return new StarPetsHealth(scheduler);
        }
    }
}
