package gg.starpets.scheduler;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/** Several scheduler instances in one JVM against one real PostgreSQL database, as instances would run. */
final class SchedulerCluster implements AutoCloseable {

    static final Duration HEARTBEAT = Duration.ofMillis(250);
    static final Duration LEASE = Duration.ofSeconds(4);

    final HikariDataSource pool;
    private final String jdbcUrl;
    private final List<Scheduler> schedulers = new ArrayList<>();

    SchedulerCluster() {
        this.pool = TestPostgres.migratedDatabase(30);
        this.jdbcUrl = pool.getJdbcUrl();
    }

    static SchedulerSettings settings(String instanceId) {
        return SchedulerSettings.builder(instanceId)
                .host("test-host")
                .version("test")
                .lease(LEASE)
                .heartbeat(HEARTBEAT)
                .poll(Duration.ofSeconds(1))
                .settle(Duration.ofMillis(500))
                .shutdownGrace(Duration.ofSeconds(1))
                .build();
    }

    /**
     * Settings of an instance a test starts together with {@code total - 1} others, one after another,
     * as compose and Helm start theirs (TOTAL_INSTANCES set): the first claim waits until all are alive
     * (at most 10 settle windows), so the first split does not depend on how fast the machine starts
     * them. A settle window alone did not: at a load average of 15 the fifth instance registered after
     * the first one's window had ended, and the first claimed 3 of 10 tasks.
     */
    static SchedulerSettings startedTogether(String instanceId, int total) {
        return settings(instanceId).toBuilder()
                .settle(Timing.TOGETHER)
                .totalInstances(total)
                .build();
    }

    Scheduler create(String instanceId, Map<String, TaskHandler> handlers) {
        return create(settings(instanceId), handlers, this::connection);
    }

    Scheduler create(SchedulerSettings settings, Map<String, TaskHandler> handlers, ConnectionFactory own) {
        return create(settings, handlers, own, pool);
    }

    Scheduler create(
            SchedulerSettings settings,
            Map<String, TaskHandler> handlers,
            ConnectionFactory own,
            javax.sql.DataSource dataSource) {
        return add(new Scheduler(settings, dataSource, own, handlers, SchedulerEvents.NONE));
    }

    /** A scheduler built by the test, closed with the cluster. */
    Scheduler add(Scheduler scheduler) {
        schedulers.add(scheduler);
        return scheduler;
    }

    /**
     * An instance whose two sessions are named as the service names them ({@code starpets-session-<id>},
     * {@code starpets-watch-<id>}), so that a test can end one of them; {@code halt} is recorded, not run.
     */
    Scheduler createNamed(SchedulerSettings settings, Map<String, TaskHandler> handlers, Runnable halt) {
        Scheduler scheduler = new Scheduler(
                settings,
                pool,
                named("starpets-session-" + settings.instanceId()),
                named("starpets-watch-" + settings.instanceId()),
                handlers,
                SchedulerEvents.NONE,
                halt);
        schedulers.add(scheduler);
        return scheduler;
    }

    /** A small pool to this cluster's database through {@code proxy}, as an instance cut off with it would use. */
    HikariDataSource poolThrough(TcpProxy proxy) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl.replace(":" + TestPostgres.port() + "/", ":" + proxy.port() + "/"));
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(5);
        config.setConnectionTimeout(2_000);
        config.addDataSourceProperty("socketTimeout", "2");
        config.addDataSourceProperty("connectTimeout", "2");
        return new HikariDataSource(config);
    }

    ConnectionFactory named(String applicationName) {
        return () -> {
            Properties props = new Properties();
            props.setProperty("user", "postgres");
            props.setProperty("password", "postgres");
            props.setProperty("socketTimeout", "2");
            props.setProperty("connectTimeout", "2");
            props.setProperty("ApplicationName", applicationName);
            return DriverManager.getConnection(jdbcUrl, props);
        };
    }

    /** Ends the database sessions with these application names, as {@code pg_terminate_backend} does. */
    long terminate(String... applicationNames) {
        return count("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                + " where datname = current_database() and application_name in ('"
                + String.join("','", applicationNames) + "')");
    }

    Connection connection() throws SQLException {
        return connect(jdbcUrl, 2);
    }

    /** A connection of its own, as the scheduler opens for its session; the timeout bounds a hung call. */
    static Connection connect(String url, int timeoutSeconds) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        props.setProperty("password", "postgres");
        props.setProperty("socketTimeout", String.valueOf(timeoutSeconds));
        props.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        return DriverManager.getConnection(url, props);
    }

    /** One value per row of a query on the test database. */
    <T> List<T> query(String sql, RowMapper<T> mapper) {
        try (Connection c = pool.getConnection();
                var st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            List<T> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(mapper.map(rs));
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    long count(String sql) {
        return query(sql, rs -> rs.getLong(1)).getFirst();
    }

    void execute(String sql) {
        try (Connection c = pool.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** Running tasks per instance, from the tasks table. */
    Map<String, Long> runningByInstance() {
        Map<String, Long> counts = new HashMap<>();
        query("select owner_instance, count(*) from tasks where owner_instance is not null group by 1", rs -> {
            counts.put(rs.getString(1), rs.getLong(2));
            return null;
        });
        return counts;
    }

    static List<TaskDefinition> tasks(int n, String prefix, String schedule, Function<Integer, String> handler) {
        List<TaskDefinition> definitions = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            definitions.add(TaskDefinition.of(
                    prefix + "-" + i, handler.apply(i), schedule, "UTC", Duration.ofMinutes(1), true, Map.of()));
        }
        return definitions;
    }

    @Override
    public void close() {
        schedulers.reversed().forEach(Scheduler::close);
        pool.close();
    }

    @FunctionalInterface
    interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }
}
