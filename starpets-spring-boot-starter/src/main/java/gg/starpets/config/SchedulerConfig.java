package gg.starpets.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.handlers.ApiTaskAdmission;
import gg.starpets.handlers.HandlerRegistry;
import gg.starpets.scheduler.Backfills;
import gg.starpets.scheduler.ConnectionFactory;
import gg.starpets.scheduler.GroupRepository;
import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.OneOffRuns;
import gg.starpets.scheduler.OutcomeViews;
import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.RunTracing;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.StarPets;
import gg.starpets.scheduler.TaskCommands;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.scheduler.TaskRules;
import gg.starpets.scheduler.TaskViews;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.DriverManager;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.info.BuildProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/** Builds the scheduler engine from the settings and runs it with the application's lifecycle. */
@Configuration(proxyBeanMethods = false)
class SchedulerConfig {

    /**
     * Every bean implementing {@link TaskHandler}, under its bean name (the built-in ones are in
     * {@link BuiltInHandlers}): Spring refuses two beans of one name, so two handlers cannot share one.
     */
    @Bean
    @ConditionalOnMissingBean
    HandlerRegistry handlerRegistry(Map<String, TaskHandler> handlers, StarPetsProperties properties) {
        return new HandlerRegistry(handlers, properties.handlers().apiAllowed());
    }

    /**
     * The engine's own small pool (claims, recovery, run ends): requests queueing for the service's
     * pool under HTTP load cannot delay a claim or a recovery.
     */
    @Bean(name = StarPetsAutoConfiguration.SCHEDULER_DATA_SOURCE, destroyMethod = "close", defaultCandidate = false)
    @ConditionalOnMissingBean(name = StarPetsAutoConfiguration.SCHEDULER_DATA_SOURCE)
    HikariDataSource schedulerDataSource(
            DatabaseEndpoint endpoint,
            StarPetsProperties properties,
            StarPetsMigrations migrated,
            ObjectProvider<MeterRegistry> meters) {
        int size = Math.max(2, properties.db().schedulerPoolSize());
        HikariConfig config = DatabaseConfig.poolConfig(
                endpoint,
                "starpets-scheduler-db",
                "starpets-scheduler-" + properties.resolvedInstanceId(),
                DatabaseConfig.idleInTransaction(properties.scheduler().lease()));
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(Math.min(2, size));
        config.setConnectionTimeout(properties.scheduler().lease().toMillis());
        DatabaseConfig.measured(config, meters);
        return new HikariDataSource(config);
    }

    @Bean
    @ConditionalOnMissingBean
    Scheduler scheduler(
            StarPetsProperties properties,
            @Qualifier(StarPetsAutoConfiguration.SCHEDULER_DATA_SOURCE) DataSource schedulerDataSource,
            DatabaseEndpoint endpoint,
            HandlerRegistry handlerRegistry,
            TaskCommands taskCommands,
            ObjectProvider<SchedulerEvents> events,
            ObjectProvider<RunTracing> tracing,
            ObjectProvider<BuildProperties> build) {
        var s = properties.scheduler();
        var settings = SchedulerSettings.builder(properties.resolvedInstanceId())
                .host(InstanceIdentity.hostName())
                .version(
                        build.getIfAvailable() == null
                                ? "dev"
                                : build.getIfAvailable().getVersion())
                .lease(s.lease())
                .heartbeat(s.heartbeat())
                .poll(s.poll())
                .settle(s.settle())
                .totalInstances(s.totalInstances())
                .shutdownGrace(s.shutdownGrace())
                .quarantineAfter(s.quarantineAfter())
                .quarantineWindow(s.quarantineWindow())
                .maxConcurrentRuns(s.maxConcurrentRuns())
                .priorityAging(s.priorityAging())
                .claimAhead(s.claimAhead())
                .build();
        Scheduler scheduler = new Scheduler(
                settings,
                schedulerDataSource,
                ownConnections(endpoint, properties, s, "starpets-session-"),
                ownConnections(endpoint, properties, s, "starpets-watch-"),
                handlerRegistry.handlers(),
                events.getIfAvailable(() -> SchedulerEvents.NONE),
                Scheduler.HALT);
        // Operator-only handlers are checked again at each run of an API task, not only when it is written.
        scheduler.admitRuns(
                new ApiTaskAdmission(handlerRegistry, taskCommands, "scheduler:" + properties.resolvedInstanceId()));
        scheduler.traceRuns(tracing.getIfAvailable(() -> RunTracing.NONE));
        return scheduler;
    }

    @Bean
    @ConditionalOnMissingBean
    TaskViews taskViews(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new TaskViews(dataSource);
    }

    /** Operators' changes, on the service's pool: API calls never take the scheduler's connections. */
    @Bean
    @ConditionalOnMissingBean
    TaskCommands taskCommands(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new TaskCommands(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean
    OneOffRuns oneOffRuns(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new OneOffRuns(dataSource);
    }

    /**
     * StarPets from Java ({@link StarPets}): the same commands, rules ({@code web.ApiTaskRules}) and audit
     * trail as the HTTP API, on the service's pool; its changes are by {@code app:<instance>} unless the
     * caller names another ({@link StarPets#as}).
     */
    /** An application without rules of its own: only what a definition checks itself (the service has web.ApiTaskRules). */
    @Bean
    @ConditionalOnMissingBean
    TaskRules taskRules() {
        return TaskRules.NONE;
    }

    @Bean
    @ConditionalOnMissingBean
    StarPets starPets(
            @Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource,
            TaskRules rules,
            StarPetsProperties properties) {
        return new StarPets(dataSource, rules, "app:" + properties.resolvedInstanceId());
    }

    @Bean
    @ConditionalOnMissingBean
    Backfills backfills(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new Backfills(dataSource);
    }

    /** The console board's read of each task's last outcomes. */
    @Bean
    @ConditionalOnMissingBean
    OutcomeViews outcomeViews(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new OutcomeViews(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean
    TaskEvents taskEvents(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new TaskEvents(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean
    RunRepository runRepository(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new RunRepository(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean
    InstanceRepository instanceRepository(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new InstanceRepository(dataSource);
    }

    @Bean
    @ConditionalOnMissingBean(name = "schedulerLifecycle")
    SmartLifecycle schedulerLifecycle(
            Scheduler scheduler,
            StarPetsProperties properties,
            HandlerRegistry handlerRegistry,
            Environment environment,
            GroupRepository groups) {
        List<TaskDefinition> definitions = ConfiguredTasks.read(properties, environment, handlerRegistry);
        ConfiguredTasks.checkGroupKeys(environment);
        Map<String, GroupRepository.Limits> limits = configuredGroups(properties);
        String actor = "config:" + properties.resolvedInstanceId();
        return new SchedulerLifecycle(
                scheduler,
                () -> groups.sync(limits, actor),
                definitions,
                properties.scheduler().enabled());
    }

    /** The groups of the configuration files, checked before anything is written: a bad one stops the start. */
    static Map<String, GroupRepository.Limits> configuredGroups(StarPetsProperties properties) {
        Map<String, GroupRepository.Limits> limits = new TreeMap<>();
        properties.groups().forEach((name, g) -> {
            try {
                GroupRepository.checkName(name);
                limits.put(name, new GroupRepository.Limits(g.maxConcurrent(), GroupRepository.rate(g.maxStarts())));
            } catch (GroupRepository.InvalidGroupException e) {
                throw new IllegalStateException("starpets.groups." + name + ": " + e.getMessage(), e);
            }
        });
        return limits;
    }

    @Bean
    @ConditionalOnMissingBean
    GroupRepository groupRepository(@Qualifier(StarPetsAutoConfiguration.DATA_SOURCE) DataSource dataSource) {
        return new GroupRepository(dataSource);
    }

    /**
     * Connections outside any pool, for the instance's two sessions (primary and watch); their
     * timeouts bound a hung call. They hold a session advisory lock and a LISTEN, so they go to
     * DB_SESSION_HOST/PORT: a direct or session-mode connection even when the pool goes through a
     * transaction-mode pooler.
     */
    private static ConnectionFactory ownConnections(
            DatabaseEndpoint endpoint, StarPetsProperties properties, StarPetsProperties.Scheduler s, String name) {
        Properties props = sessionProperties(endpoint, s.lease(), name + properties.resolvedInstanceId());
        var db = properties.db();
        String url = db.embedded() ? endpoint.jdbcUrl() : db.sessionJdbcUrl();
        return () -> DriverManager.getConnection(url, props);
    }

    /**
     * The session connections' properties. The heartbeat renews leases on the primary session inside a
     * transaction: a JVM frozen before its commit would keep its tasks' rows locked, and their recovery
     * elsewhere (which skips locked rows) waiting, for the whole freeze. So the server ends such a session
     * after half the lease, as it does for the scheduler's pool; the watch session still holds the lock.
     */
    static Properties sessionProperties(DatabaseEndpoint endpoint, java.time.Duration lease, String applicationName) {
        Properties props = new Properties();
        props.setProperty("user", endpoint.user());
        props.setProperty("password", endpoint.password());
        props.setProperty(DatabaseEndpoint.SEARCH_PATH_PROPERTY, endpoint.searchPath());
        props.setProperty("connectTimeout", "2");
        props.setProperty("socketTimeout", String.valueOf(Math.max(2, lease.toSeconds() / 3)));
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("ApplicationName", applicationName);
        props.setProperty(
                "options",
                "-c idle_in_transaction_session_timeout="
                        + Math.max(1, DatabaseConfig.idleInTransaction(lease).toMillis()));
        return props;
    }
}
