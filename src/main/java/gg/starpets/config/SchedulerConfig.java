package gg.starpets.config;

import gg.starpets.scheduler.ConnectionFactory;
import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.scheduler.TaskRepository;
import gg.starpets.tasks.CpuHandler;
import gg.starpets.tasks.SleepHandler;
import gg.starpets.tasks.WitnessHandler;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Builds the scheduler engine from the settings and runs it with the application's lifecycle. */
@Configuration(proxyBeanMethods = false)
class SchedulerConfig {

    @Bean
    Map<String, TaskHandler> taskHandlers(StarPetsProperties properties) {
        var duration = properties.scheduler().taskDuration();
        Map<String, TaskHandler> handlers =
                new HashMap<>(Map.of("sleep", new SleepHandler(duration), "cpu", new CpuHandler(duration)));
        // The chaos suite's witness, only where a witness directory is configured.
        if (properties.witness() != null && properties.witness().enabled()) {
            handlers.put(
                    "witness",
                    new WitnessHandler(Path.of(properties.witness().dir()), properties.resolvedInstanceId()));
        }
        return Map.copyOf(handlers);
    }

    @Bean
    Scheduler scheduler(
            StarPetsProperties properties,
            DataSource dataSource,
            DatabaseEndpoint endpoint,
            Map<String, TaskHandler> taskHandlers,
            ObjectProvider<SchedulerEvents> events,
            ObjectProvider<BuildProperties> build) {
        var s = properties.scheduler();
        var settings = new SchedulerSettings(
                properties.resolvedInstanceId(),
                InstanceIdentity.hostName(),
                build.getIfAvailable() == null ? "dev" : build.getIfAvailable().getVersion(),
                s.lease(),
                s.heartbeat(),
                s.poll(),
                s.settle(),
                s.totalInstances(),
                s.shutdownGrace());
        return new Scheduler(
                settings,
                dataSource,
                ownConnections(endpoint, properties, s),
                taskHandlers,
                events.getIfAvailable(() -> SchedulerEvents.NONE));
    }

    @Bean
    TaskRepository taskRepository(DataSource dataSource) {
        return new TaskRepository(dataSource);
    }

    @Bean
    RunRepository runRepository(DataSource dataSource) {
        return new RunRepository(dataSource);
    }

    @Bean
    InstanceRepository instanceRepository(DataSource dataSource) {
        return new InstanceRepository(dataSource);
    }

    @Bean
    SmartLifecycle schedulerLifecycle(Scheduler scheduler, StarPetsProperties properties) {
        List<TaskDefinition> definitions = properties.tasks().stream()
                .map(t -> TaskDefinition.of(
                        t.name(), t.handler(), t.schedule(), t.timeZone(), t.timeout(), t.enabled(), t.params()))
                .toList();
        return new SchedulerLifecycle(
                scheduler, definitions, properties.scheduler().enabled());
    }

    /** Connections outside the pool, for the instance session and LISTEN; their timeouts bound a hung call. */
    private static ConnectionFactory ownConnections(
            DatabaseEndpoint endpoint, StarPetsProperties properties, StarPetsProperties.Scheduler s) {
        Properties props = new Properties();
        props.setProperty("user", endpoint.user());
        props.setProperty("password", endpoint.password());
        props.setProperty("connectTimeout", "2");
        props.setProperty("socketTimeout", String.valueOf(Math.max(2, s.lease().toSeconds() / 3)));
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("ApplicationName", "starpets-session-" + properties.resolvedInstanceId());
        return () -> DriverManager.getConnection(endpoint.jdbcUrl(), props);
    }
}
