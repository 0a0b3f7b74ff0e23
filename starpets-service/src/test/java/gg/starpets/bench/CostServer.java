package gg.starpets.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TestPostgres;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.sql.DataSource;

/**
 * The one PostgreSQL 17 of the cost benchmark (embedded, its own data directory), with
 * {@code pg_stat_statements} preloaded so that every statement the instances send is counted and
 * timed by the server. Durable like a production server ({@code fsync}, {@code synchronous_commit}
 * on) unless asked otherwise. A fresh database per step; the benchmark's own reads go to the
 * {@code postgres} database, which the statistics leave out.
 */
final class CostServer implements AutoCloseable {

    /** Linux reports process CPU in clock ticks of 1/100 s (USER_HZ). */
    private static final double TICKS_PER_SECOND = 100;

    private final EmbeddedPostgres server;
    private final long postmasterPid;
    private final HikariDataSource admin;
    private final AtomicInteger databases = new AtomicInteger();

    private CostServer(EmbeddedPostgres server, Path dataDir) throws IOException {
        this.server = server;
        this.postmasterPid = Long.parseLong(
                Files.readAllLines(dataDir.resolve("postmaster.pid")).getFirst().trim());
        this.admin = pool("postgres", 2, 1);
    }

    static CostServer start(boolean durable) throws IOException, SQLException {
        Path dataDir = Files.createTempDirectory("starpets-cost-pg");
        String onOff = durable ? "on" : "off";
        EmbeddedPostgres server = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(true)
                .setServerConfig("max_connections", "600")
                .setServerConfig("shared_preload_libraries", "pg_stat_statements")
                .setServerConfig("pg_stat_statements.max", "1000")
                .setServerConfig("fsync", onOff)
                .setServerConfig("synchronous_commit", onOff)
                .setServerConfig("full_page_writes", onOff)
                .start();
        CostServer cost = new CostServer(server, dataDir);
        try (Connection c = cost.admin.getConnection();
                var st = c.createStatement()) {
            st.execute("create extension if not exists pg_stat_statements");
        }
        return cost;
    }

    /** A new database with the service's schema (Flyway migrations); returns its name. */
    String createDatabase() {
        String name = "cost_" + databases.incrementAndGet();
        execute("create database " + name);
        try (HikariDataSource pool = pool(name, 2, 1)) {
            TestPostgres.migrate(pool);
        }
        return name;
    }

    void dropDatabase(String name) {
        execute("drop database if exists " + name + " with (force)");
    }

    String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + server.getPort() + "/" + database;
    }

    /** A pool like the scheduler's own in the service ({@code DB_SCHEDULER_POOL_SIZE}). */
    HikariDataSource pool(String database, int size, int minIdle) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl(database));
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(minIdle);
        config.setConnectionTimeout(Duration.ofSeconds(10).toMillis());
        config.addDataSourceProperty("socketTimeout", "30");
        return new HikariDataSource(config);
    }

    /** Forgets every statement counted so far (server-wide). */
    void resetStatements() {
        execute("select pg_stat_statements_reset()");
    }

    /** What the server counted for one database since the last reset, and its CPU so far. */
    Snapshot snapshot(String database) {
        List<StatementStats> statements = new ArrayList<>();
        long transactions;
        try (Connection c = admin.getConnection()) {
            try (var st = c.prepareStatement("""
                            select s.query, s.calls, s.total_exec_time, s.max_exec_time, s.rows
                              from pg_stat_statements s join pg_database d on d.oid = s.dbid
                             where d.datname = ?
                            """)) {
                st.setString(1, database);
                try (var rs = st.executeQuery()) {
                    while (rs.next()) {
                        statements.add(new StatementStats(
                                rs.getString(1), rs.getLong(2), rs.getDouble(3), rs.getDouble(4), rs.getLong(5)));
                    }
                }
            }
            try (var st =
                    c.prepareStatement("select xact_commit + xact_rollback from pg_stat_database where datname = ?")) {
                st.setString(1, database);
                try (var rs = st.executeQuery()) {
                    transactions = rs.next() ? rs.getLong(1) : 0;
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not read the server's statistics", e);
        }
        return new Snapshot(statements, transactions, databaseCpuSeconds(), jvmCpuSeconds(), HostCpu.read());
    }

    /**
     * CPU time of the whole server so far: the postmaster and its live children (backends, WAL
     * writer, checkpointer...), and what its children that have exited used (cutime, cstime).
     */
    double databaseCpuSeconds() {
        long ticks = 0;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .toList()) {
                String[] f = stat(p);
                if (f == null) {
                    continue;
                }
                long pid = Long.parseLong(p.getFileName().toString());
                if (pid == postmasterPid) {
                    ticks += Long.parseLong(f[11])
                            + Long.parseLong(f[12])
                            + Long.parseLong(f[13])
                            + Long.parseLong(f[14]);
                } else if (Long.parseLong(f[1]) == postmasterPid) {
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ticks / TICKS_PER_SECOND;
    }

    /** The fields of /proc/PID/stat after the command name: state, ppid, ... (utime is [11]). */
    private static String[] stat(Path proc) {
        try {
            String s = Files.readString(proc.resolve("stat"));
            return s.substring(s.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null; // the process ended meanwhile
        }
    }

    static double jvmCpuSeconds() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return os.getProcessCpuTime() / 1e9;
    }

    DataSource admin() {
        return admin;
    }

    private void execute(String sql) {
        try (Connection c = admin.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        admin.close();
        server.close();
    }

    /** One statement as pg_stat_statements normalises it, with its counters. */
    record StatementStats(String query, long calls, double totalMs, double maxMs, long rows) {}

    /** The whole machine's CPU (all cores) from /proc/stat: busy and total jiffies. */
    record HostCpu(long busy, long total) {
        static HostCpu read() {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat"))
                        .getFirst()
                        .trim()
                        .split("\\s+");
                long total = 0;
                for (int i = 1; i < f.length; i++) {
                    total += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                return new HostCpu(total - idle, total);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    record Snapshot(List<StatementStats> statements, long transactions, double dbCpu, double jvmCpu, HostCpu host) {}
}
