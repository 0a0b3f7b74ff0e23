package gg.starpets.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.util.ClassUtils;

/** The connection pool: to the configured PostgreSQL, or to an embedded one when none is. */
@Configuration(proxyBeanMethods = false)
class DatabaseConfig {

    private static final Logger log = LoggerFactory.getLogger(DatabaseConfig.class);
    private static final String EMBEDDED_CLASS = "io.zonky.test.db.postgres.embedded.EmbeddedPostgres";

    @Bean(destroyMethod = "close")
    DatabaseEndpoint databaseEndpoint(StarPetsProperties properties) {
        StarPetsProperties.Db db = properties.db();
        if (!db.embedded()) {
            log.info("Database: PostgreSQL at {}:{}/{} as {}", db.host(), db.port(), db.name(), db.user());
            if (db.sessionSeparate()) {
                log.info("Instance session and LISTEN: {}", db.sessionJdbcUrl());
            }
            return new DatabaseEndpoint(db.jdbcUrl(db.host(), db.port()), db.user(), db.password(), () -> {});
        }
        if (!ClassUtils.isPresent(EMBEDDED_CLASS, DatabaseConfig.class.getClassLoader())) {
            throw new IllegalStateException(
                    "DB_HOST is not set and this build has no embedded PostgreSQL: set DB_HOST (and DB_PORT,"
                            + " DB_NAME, DB_USER, DB_PASSWORD) to the database to use");
        }
        return EmbeddedPostgresServer.start(db);
    }

    /** The service's pool (HTTP requests, metrics); the scheduler has its own (SchedulerConfig). */
    @Primary
    @Bean(destroyMethod = "close")
    HikariDataSource dataSource(DatabaseEndpoint endpoint, StarPetsProperties properties) {
        HikariConfig config = poolConfig(endpoint, "starpets-db", "starpets-" + properties.resolvedInstanceId());
        config.setMaximumPoolSize(properties.db().poolSize());
        config.setMinimumIdle(Math.min(4, properties.db().poolSize()));
        config.setConnectionTimeout(properties.db().connectionTimeout().toMillis());
        return new HikariDataSource(config);
    }

    /** What every pool of the service shares: the endpoint, timeouts, and a name in pg_stat_activity. */
    static HikariConfig poolConfig(DatabaseEndpoint endpoint, String poolName, String applicationName) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        config.setJdbcUrl(endpoint.jdbcUrl());
        config.setUsername(endpoint.user());
        config.setPassword(endpoint.password());
        config.setValidationTimeout(2_000);
        config.addDataSourceProperty("connectTimeout", "5");
        config.addDataSourceProperty("tcpKeepAlive", "true");
        // Every query here is short: a network that swallows packets must not hang a thread for hours.
        config.addDataSourceProperty("socketTimeout", "30");
        config.addDataSourceProperty("ApplicationName", applicationName);
        return config;
    }

    /** A one-connection pool for health checks, so /health answers fast even when the main pool is busy. */
    @Bean(destroyMethod = "close")
    HealthProbe healthProbe(DatabaseEndpoint endpoint) {
        return new HealthProbe(endpoint);
    }
}
