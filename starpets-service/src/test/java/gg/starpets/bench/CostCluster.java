package gg.starpets.bench;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.TaskHandler;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

/**
 * Scheduler instances in this JVM on a fresh database of the {@link CostServer}, built as the
 * service builds them (production heartbeat, lease and poll; the scheduler's pool of 4 with 2 kept
 * open; two session connections each), with a no-op handler that records when it is entered.
 */
final class CostCluster implements AutoCloseable {

    /** The engine's wake-up channel ({@code SessionWatch.CHANNEL}): the seeded tasks are claimable. */
    private static final String WAKE_UP = "select pg_notify('starpets_tasks', '')";

    private final CostServer server;
    private final String database;
    private final HikariDataSource data;
    private final List<HikariDataSource> pools = new ArrayList<>();
    private final List<Scheduler> schedulers = new ArrayList<>();
    /** Run id → when its handler was entered (epoch microseconds, this JVM's clock = the host's). */
    private final Map<Long, Long> handlerEntered = new ConcurrentHashMap<>();

    private final Map<TimedDataSource.Kind, Samples> statementMicros = new EnumMap<>(TimedDataSource.Kind.class);
    /** Due time → claim (the database's now() in the claim), as the engine reports it to its events. */
    private final Samples claimLagMicros = new Samples();

    private volatile boolean recording;

    CostCluster(CostServer server, int instances) {
        this.server = server;
        this.database = server.createDatabase();
        this.data = server.pool(database, 2, 1);
        for (TimedDataSource.Kind kind : TimedDataSource.Kind.values()) {
            statementMicros.put(kind, new Samples());
        }
        TaskHandler noop = context -> handlerEntered.put(context.runId(), nowMicros());
        SchedulerEvents events = new SchedulerEvents() {
            @Override
            public void runStarted(String task, double lagSeconds) {
                if (recording) {
                    claimLagMicros.add((long) (lagSeconds * 1e6));
                }
            }
        };
        for (int i = 1; i <= instances; i++) {
            HikariDataSource pool = server.pool(database, 4, 2);
            pools.add(pool);
            String url = server.jdbcUrl(database);
            Properties session = new Properties();
            session.setProperty("user", "postgres");
            session.setProperty("password", "postgres");
            session.setProperty("connectTimeout", "2");
            session.setProperty("socketTimeout", "3");
            session.setProperty("tcpKeepAlive", "true");
            schedulers.add(new Scheduler(
                    SchedulerSettings.builder("cost-" + i)
                            .host("bench")
                            .version("bench")
                            .settle(Duration.ofSeconds(1))
                            .totalInstances(instances)
                            .shutdownGrace(Duration.ofSeconds(5))
                            .claimAhead(SchedulerBenchmark.claimAhead())
                            .build(),
                    new TimedDataSource(pool, statementMicros, () -> recording),
                    () -> DriverManager.getConnection(url, session),
                    Map.of("noop", noop),
                    events));
        }
    }

    String database() {
        return database;
    }

    /**
     * Starts every instance as the service does (its configuration synced first: here, none) and
     * waits until all of them are registered.
     */
    void start() throws Exception {
        for (Scheduler scheduler : schedulers) {
            scheduler.syncTasks(List.of());
            scheduler.start();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (count("select count(*) from instances where state = 'RUNNING'") < schedulers.size()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the instances did not all register within 60 s");
            }
            Thread.sleep(100);
        }
    }

    /**
     * Adds {@code tasks} tasks created as the API creates them (source API), in one statement: the
     * first falls due after {@code firstDueIn}, the others spread evenly over {@code spread}, so that
     * they are due at a steady rate from the start. Then wakes the instances.
     */
    void seed(int tasks, String schedule, Duration firstDueIn, Duration spread) throws SQLException {
        try (Connection c = data.getConnection()) {
            try (var st = c.prepareStatement("""
                    insert into tasks (name, handler, schedule, timeout_seconds, source, next_run_at, next_fire_at)
                    select 'cost-' || i, 'noop', ?, 60, 'API', due, due
                      from (select i, now() + (? + random() * ?) * interval '1 millisecond' as due
                              from generate_series(1, ?) i) s
                    """)) {
                st.setString(1, schedule);
                st.setLong(2, firstDueIn.toMillis());
                st.setLong(3, spread.toMillis());
                st.setInt(4, tasks);
                st.executeUpdate();
            }
            try (var st = c.createStatement()) {
                st.execute("analyze tasks");
                st.execute(WAKE_UP);
            }
        }
    }

    /**
     * Lets the instances run for {@code warmUp}, then counts for {@code window}: the server's
     * statistics and CPU are read at both ends; runs are those claimed within the window.
     */
    Window measure(Duration warmUp, Duration window) throws Exception {
        Thread.sleep(warmUp);
        Instant from = databaseClock();
        server.resetStatements();
        statementMicros.values().forEach(Samples::clear);
        claimLagMicros.clear();
        recording = true;
        CostServer.Snapshot before = server.snapshot(database);
        long started = System.nanoTime();
        Thread.sleep(window);
        CostServer.Snapshot after = server.snapshot(database);
        double seconds = (System.nanoTime() - started) / 1e9;
        recording = false;
        Instant to = databaseClock();
        Samples lagMicros = new Samples();
        int[] runs = new int[3];
        try (Connection c = data.getConnection();
                var st = c.prepareStatement("""
                        select id, (extract(epoch from scheduled_for) * 1000000)::bigint, cause <> 'SCHEDULE'
                          from task_runs where started_at >= ? and started_at < ?
                        """)) {
            st.setTimestamp(1, Timestamp.from(from));
            st.setTimestamp(2, Timestamp.from(to));
            try (var rs = st.executeQuery()) {
                while (rs.next()) {
                    runs[0]++;
                    if (rs.getBoolean(3)) {
                        runs[2]++;
                    }
                    Long entered = handlerEntered.get(rs.getLong(1));
                    if (entered == null) {
                        runs[1]++;
                    } else {
                        lagMicros.add(entered - rs.getLong(2));
                    }
                }
            }
        }
        return new Window(
                schedulers.size(),
                seconds,
                before,
                after,
                runs[0],
                runs[1],
                runs[2],
                lagMicros,
                claimLagMicros,
                Map.copyOf(statementMicros));
    }

    long count(String sql) throws SQLException {
        try (Connection c = data.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Instant databaseClock() throws SQLException {
        try (Connection c = data.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery("select clock_timestamp()")) {
            rs.next();
            return rs.getTimestamp(1).toInstant();
        }
    }

    private static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }

    /** Stops every instance at once (each drains its runs), then drops the database. */
    @Override
    public void close() {
        try (var stopping = Executors.newVirtualThreadPerTaskExecutor()) {
            schedulers.forEach(s -> stopping.submit(s::close));
        }
        pools.forEach(HikariDataSource::close);
        data.close();
        server.dropDatabase(database);
    }

    /**
     * What one window measured. {@code runs}: claimed within it; {@code unentered}: of those, runs
     * whose handler was not entered before the window was read; {@code offSchedule}: of those, runs
     * not started by their schedule (again after a lost run: recovery, retry). Lags are in microseconds: due time
     * to handler entry, and due time to claim (the database's clock, as the engine reports it).
     */
    record Window(
            int instances,
            double seconds,
            CostServer.Snapshot before,
            CostServer.Snapshot after,
            int runs,
            int unentered,
            int offSchedule,
            Samples lagMicros,
            Samples claimLagMicros,
            Map<TimedDataSource.Kind, Samples> statementMicros) {}
}
