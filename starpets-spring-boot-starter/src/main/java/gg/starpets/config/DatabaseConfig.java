package gg.starpets.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.config.DatabaseEndpoint.Login;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.boot.flyway.autoconfigure.FlywayMigrationStrategy;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.util.ClassUtils;

/**
 * The connection pools, to the configured PostgreSQL or to an embedded one when none is, each as the
 * role it needs (docs/security.md, "Database roles"): the migrations as the schema's owner, the service
 * as a role that may only read and write rows, {@code sql} tasks as a role of their own.
 */
@Configuration(proxyBeanMethods = false)
class DatabaseConfig {

    private static final Logger log = LoggerFactory.getLogger(DatabaseConfig.class);
    private static final String EMBEDDED_CLASS = "io.zonky.test.db.postgres.embedded.EmbeddedPostgres";

    @Bean(destroyMethod = "close")
    DatabaseEndpoint databaseEndpoint(StarPetsProperties properties) {
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
        if (!ClassUtils.isPresent(EMBEDDED_CLASS, DatabaseConfig.class.getClassLoader())) {
            throw new IllegalStateException(
                    "DB_HOST is not set and this build has no embedded PostgreSQL: set DB_HOST (and DB_PORT,"
                            + " DB_NAME, DB_USER, DB_PASSWORD, DB_OWNER_USER, DB_OWNER_PASSWORD) to the database to use");
        }
        return EmbeddedPostgresServer.start(db);
    }

    /**
     * Flyway connects as the schema's owner (its own connection, closed after the migrations), migrates
     * StarPets' schema only (created when missing; its history table in it, so other schemas, public
     * included, may hold anything), and after every migration grants the service's role the rows of the
     * tables and the sql tasks' role the fenced commit's lock (db/starpets/callback/afterMigrate.sql).
     */
    @Bean
    FlywayConfigurationCustomizer migrationsAsTheOwner(DatabaseEndpoint endpoint) {
        return flyway -> flyway.dataSource(
                        endpoint.jdbcUrl(),
                        endpoint.owner().user(),
                        endpoint.owner().password())
                .schemas(endpoint.schema())
                .defaultSchema(endpoint.schema())
                .createSchemas(true)
                .placeholders(Map.of(
                        "runtimeRole", endpoint.service().user(),
                        "sqlRole", endpoint.sqlTasks().user()));
    }

    /** Before the migrations, an older StarPets' tables in public are moved to the schema (LegacyLayout). */
    @Bean
    FlywayMigrationStrategy movingLegacyLayoutFirst() {
        return flyway -> {
            LegacyLayout.moveToSchema(flyway.getConfiguration());
            flyway.migrate();
        };
    }

    /** The service's pool (HTTP requests, metrics); the scheduler has its own (SchedulerConfig). */
    @Primary
    @Bean(destroyMethod = "close")
    HikariDataSource dataSource(DatabaseEndpoint endpoint, StarPetsProperties properties) {
        HikariConfig config = poolConfig(
                endpoint, "starpets-db", "starpets-" + properties.resolvedInstanceId(), NO_IDLE_IN_TRANSACTION_LIMIT);
        config.setMaximumPoolSize(properties.db().poolSize());
        config.setMinimumIdle(Math.min(4, properties.db().poolSize()));
        config.setConnectionTimeout(properties.db().connectionTimeout().toMillis());
        return new HikariDataSource(config);
    }

    /**
     * What {@code sql} tasks without a {@code data-source} run on: the StarPets database as the sql
     * tasks' role, which has no right on StarPets' tables, so a statement cannot touch the scheduler's
     * rows. Its search_path is the role's own (public by default), not StarPets' schema: statements
     * address the user's tables as they would anywhere (docs/handlers.md). Opened at the first such task, so an instance without them never connects as that role.
     */
    @Bean(destroyMethod = "close")
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
    HealthProbe healthProbe(DatabaseEndpoint endpoint) {
        return new HealthProbe(endpoint);
    }
}
