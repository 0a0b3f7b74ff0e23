package gg.starpets.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.sql.DataSource;

/**
 * The extra databases {@code sql} tasks may name ({@code starpets.handlers.sql-data-sources}): a
 * small pool each, opened lazily, so that an unreachable one fails only the tasks that use it, and
 * not the service's start.
 */
public final class SqlDataSources implements AutoCloseable {

    private final Map<String, HikariDataSource> pools = new LinkedHashMap<>();

    public SqlDataSources(Map<String, StarPetsProperties.Handlers.SqlDataSource> settings) {
        settings.forEach((name, s) -> {
            if (s.url() == null || !s.url().startsWith("jdbc:")) {
                throw new IllegalArgumentException(
                        "starpets.handlers.sql-data-sources." + name + ".url must be a JDBC URL, not " + s.url());
            }
            HikariConfig config = new HikariConfig();
            config.setPoolName("starpets-sql-" + name);
            config.setJdbcUrl(s.url());
            config.setUsername(s.user());
            config.setPassword(s.password());
            config.setMaximumPoolSize(Math.max(1, s.poolSize()));
            config.setMinimumIdle(0);
            // Not at start-up: the first task that needs it connects.
            config.setInitializationFailTimeout(-1);
            config.addDataSourceProperty("ApplicationName", "starpets-sql-" + name);
            pools.put(name, new HikariDataSource(config));
        });
    }

    public Map<String, DataSource> byName() {
        return Map.copyOf(pools);
    }

    @Override
    public void close() {
        pools.values().forEach(HikariDataSource::close);
    }
}
