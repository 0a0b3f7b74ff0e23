package gg.starpets.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;

/** Answers "can this instance reach PostgreSQL now?" within about two seconds, whatever the main pool is doing. */
public final class HealthProbe implements AutoCloseable {

    private final HikariDataSource pool;

    HealthProbe(DatabaseEndpoint endpoint) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("starpets-health");
        config.setJdbcUrl(endpoint.jdbcUrl());
        config.setUsername(endpoint.user());
        config.setPassword(endpoint.password());
        config.setMaximumPoolSize(1);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(2_000);
        config.setValidationTimeout(1_000);
        // The service must start (and say DOWN) even when the database is not there yet.
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("connectTimeout", "2");
        config.addDataSourceProperty("socketTimeout", "2");
        this.pool = new HikariDataSource(config);
    }

    public boolean databaseReachable() {
        try (Connection c = pool.getConnection();
                var st = c.createStatement()) {
            st.setQueryTimeout(2);
            return st.execute("select 1");
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
