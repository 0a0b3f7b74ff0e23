package gg.starpets.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import gg.starpets.config.DatabaseEndpoint.Login;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

/**
 * The connection pools, to the configured PostgreSQL or to an embedded one when none is, each as the
 * role it needs (docs/security.md, "Database roles"): the migrations as the schema's owner, the service
 * as a role that may only read and write rows, {@code sql} tasks as a role of their own.
 */
@Configuration(proxyBeanMethods = false)
class DatabaseConfig {

    private static final Logger log = LoggerFactory.getLogger(DatabaseConfig.class);
    /** The application's own database, which StarPets uses when starpets.db.host is not set. */
    static final String APPLICATION_URL = "spring.datasource.url";

    private static final String EMBEDDED_CLASS = "io.zonky.test.db.postgres.embedded.EmbeddedPostgres";

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    DatabaseEndpoint databaseEndpoint(StarPetsProperties properties, Environment environment) {
        StarPetsProperties.Db db = properties.db();
        if (!db.embedded()) {
            DatabaseEndpoint endpoint = new DatabaseEndpoint(
                    db.jdbcUrl(db.host(), db.port()),
                    new Login(db.user(), db.password()),
                    new Login(db.ownerUser(), db.ownerPassword()),
                    new Login(db.sqlUser(), db.sqlPassword()),
                    () -> {},
                    db.schema());
            log.info(
                    "Database: PostgreSQL at {}:{}/{}, schema {}, as {} (migrations as {}, sql tasks as {})",
                    db.host(),
                    db.port(),
                    db.name(),
                    db.schema(),
                    endpoint.service(),
                    endpoint.owner(),
                    endpoint.sqlTasks());
            if (db.sessionSeparate()) {
                log.info("Instance session and LISTEN: {}", db.sessionJdbcUrl());
            }
            return endpoint;
        }
        // A library user's application: its own database (spring.datasource.*), StarPets' tables in their
        // own schema there, one login for the migrations, the engine and sql tasks.
        String applicationUrl = environment.getProperty(APPLICATION_URL, "");
        if (!applicationUrl.isBlank()) {
            Login login = new Login(
                    environment.getProperty("spring.datasource.username", ""),
                    environment.getProperty("spring.datasource.password", ""));
            log.info("Database: the application's ({}), schema {}, as {}", APPLICATION_URL, db.schema(), login);
            return new DatabaseEndpoint(applicationUrl, login, login, login, () -> {}, db.schema());
        }
        if (!ClassUtils.isPresent(EMBEDDED_CLASS, DatabaseConfig.class.getClassLoader())) {
            throw new IllegalStateException(
                    "DB_HOST is not set and this build has no embedded PostgreSQL: set DB_HOST (and DB_PORT,"
                            + " DB_NAME, DB_USER, DB_PASSWORD, DB_OWNER_USER, DB_OWNER_PASSWORD) to the database to use");
        }
        return EmbeddedPostgresServer.start(db);
    }

    /**
     * StarPets' migrations, by a Flyway of its own (never the application's spring.flyway): as the schema's
     * owner (its own connection, closed after the migrations), StarPets' schema only (created when missing;
     * its history table in it, so other schemas, public included, may hold anything), and after every
     * migration the service's role gets the rows of the tables and the sql tasks' role the fenced commit's
     * lock (db/starpets/callback/afterMigrate.sql). Before them, an older StarPets' tables in public are
     * moved to the schema (LegacyLayout). Locations an application adds ({@link MigrationLocations}, the
     * service's balance tables) are migrated with them, in the same history.
     */
    @Bean
    @ConditionalOnMissingBean
    StarPetsMigrations starPetsMigrations(DatabaseEndpoint endpoint, ObjectProvider<MigrationLocations> extra) {
        List<String> locations = new ArrayList<>(StarPetsMigrations.LOCATIONS);
        extra.orderedStream().forEach(l -> locations.addAll(l.locations()));
        Flyway flyway = Flyway.configure()
                .dataSource(
                        endpoint.jdbcUrl(),
                        endpoint.owner().user(),
                        endpoint.owner().password())
                .schemas(endpoint.schema())
                .defaultSchema(endpoint.schema())
                .createSchemas(true)
                .locations(locations.toArray(String[]::new))
                .placeholders(Map.of(
                        "runtimeRole", endpoint.service().user(),
                        "sqlRole", endpoint.sqlTasks().user()))
                .load();
        LegacyLayout.moveToSchema(flyway.getConfiguration());
        flyway.migrate();
        return new StarPetsMigrations(endpoint.schema(), List.copyOf(locations));
    }

    /**
     * StarPets' pool (operators' commands, reads, metrics; the service's requests too): not a default
     * candidate, so an application's own DataSource stays the one injected by type (and Spring Boot still
     * makes one from spring.datasource.*); StarPets' beans ask for it by name. The service makes it its
     * primary DataSource. The scheduler has its own (SchedulerConfig).
     */
    @Bean(name = StarPetsAutoConfiguration.DATA_SOURCE, destroyMethod = "close", defaultCandidate = false)
    @ConditionalOnMissingBean(name = StarPetsAutoConfiguration.DATA_SOURCE)
    HikariDataSource starPetsDataSource(
            DatabaseEndpoint endpoint,
            StarPetsProperties properties,
            StarPetsMigrations migrated,
            ObjectProvider<MeterRegistry> meters) {
        HikariConfig config = poolConfig(
                endpoint, "starpets-db", "starpets-" + properties.resolvedInstanceId(), NO_IDLE_IN_TRANSACTION_LIMIT);
        config.setMaximumPoolSize(properties.db().poolSize());
        config.setMinimumIdle(Math.min(4, properties.db().poolSize()));
        config.setConnectionTimeout(properties.db().connectionTimeout().toMillis());
        measured(config, meters);
        return new HikariDataSource(config);
    }

    /**
     * The pool's metrics (hikaricp_*), here because Spring Boot binds them only for default candidates;
     * Boot leaves a pool that already has its tracker alone.
     */
    static void measured(HikariConfig config, ObjectProvider<MeterRegistry> meters) {
        MeterRegistry registry = meters.getIfAvailable();
        if (registry != null) {
            config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(registry));
        }
    }

    /**
     * What {@code sql} tasks without a {@code data-source} run on: the StarPets database as the sql
     * tasks' role, which has no right on StarPets' tables, so a statement cannot touch the scheduler's
     * rows. Its search_path is the role's own (public by default), not StarPets' schema: statements
     * address the user's tables as they would anywhere (docs/handlers.md). Opened at the first such task, so an instance without them never connects as that role.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    SqlTaskDatabase sqlTaskDatabase(DatabaseEndpoint endpoint, StarPetsProperties properties) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("starpets-sql-tasks");
        config.setJdbcUrl(endpoint.jdbcUrl());
        config.setUsername(endpoint.sqlTasks().user());
        config.setPassword(endpoint.sqlTasks().password());
        config.setMaximumPoolSize(Math.max(1, properties.db().sqlPoolSize()));
        config.setMinimumIdle(0);
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("connectTimeout", "5");
        config.addDataSourceProperty("tcpKeepAlive", "true");
        config.addDataSourceProperty("ApplicationName", "starpets-sql-tasks-" + properties.resolvedInstanceId());
        return new SqlTaskDatabase(new HikariDataSource(config), endpoint.schema());
    }

    /**
     * The service's pool: no limit. Its transactions (balance batches, operators' commands) run under
     * HTTP load, where a long GC pause inside one is not rare; ending their sessions turned such a
     * pause into 500s (FailoverUnderLoadIT, with the limit at half a 6 s lease).
     */
    static final Duration NO_IDLE_IN_TRANSACTION_LIMIT = Duration.ZERO;

    /**
     * How long the server lets a session of the scheduler's pool sit idle inside a transaction before
     * it ends the session: half the lease. A JVM frozen between a lease renewal and its commit holds
     * its tasks' row locks; without this the locks, and so the tasks' recovery by another instance,
     * would wait for the whole freeze. Half the lease: gone before the frozen instance's last renewal
     * runs out, and far longer than the moments between the engine's own statements in a transaction.
     */
    static Duration idleInTransaction(Duration lease) {
        return lease.dividedBy(2);
    }

    /**
     * What every pool of the service shares: the endpoint, StarPets' schema as the search_path, timeouts,
     * and a name in pg_stat_activity.
     */
    static HikariConfig poolConfig(
            DatabaseEndpoint endpoint, String poolName, String applicationName, Duration idleInTransaction) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        config.setJdbcUrl(endpoint.jdbcUrl());
        config.setUsername(endpoint.user());
        config.setPassword(endpoint.password());
        config.setValidationTimeout(2_000);
        config.addDataSourceProperty(DatabaseEndpoint.SEARCH_PATH_PROPERTY, endpoint.searchPath());
        config.addDataSourceProperty("connectTimeout", "5");
        config.addDataSourceProperty("tcpKeepAlive", "true");
        // Every query here is short: a network that swallows packets must not hang a thread for hours.
        config.addDataSourceProperty("socketTimeout", "30");
        config.addDataSourceProperty("ApplicationName", applicationName);
        if (idleInTransaction.isPositive()) {
            config.addDataSourceProperty(
                    "options", "-c idle_in_transaction_session_timeout=" + Math.max(1, idleInTransaction.toMillis()));
        }
        return config;
    }

    /** A one-connection pool for health checks, so /health answers fast even when the main pool is busy. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    HealthProbe healthProbe(DatabaseEndpoint endpoint) {
        return new HealthProbe(endpoint);
    }
}
