package gg.starpets.bench;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.support.TestPostgres;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * Start lag and throughput of three scheduler instances on one local PostgreSQL, in one JVM with
 * the production settings (heartbeat 1 s, lease 10 s). Prints markdown table rows. Not a test:
 * run by bench/scheduler.sh.
 */
public final class SchedulerBenchmark {

    private SchedulerBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        startLag(1_000, seconds);
        throughput(1_000, seconds);
        System.exit(0);
    }

    /**
     * 1,000 tasks due every second (a 1 s delay after each run) on 3 instances. The lag is from the
     * due time (the run's {@code scheduled_for}, database clock) to the moment its handler is
     * entered (this JVM's wall clock: the same host's clock as the database's).
     */
    private static void startLag(int tasks, int seconds) throws Exception {
        Map<Long, Instant> handlerStarts = new ConcurrentHashMap<>();
        TaskHandler recordStart = ctx -> handlerStarts.put(ctx.runId(), Instant.now());
        try (Cluster cluster = new Cluster(3, "lag", tasks, "1s", recordStart)) {
            cluster.runFor(seconds);
            List<Double> lags = lags(cluster, handlerStarts);
            List<String> shares = new ArrayList<>();
            cluster.rows("""
                    select instance_id, round(100.0 * count(*) / sum(count(*)) over ()) from task_runs
                     group by 1 order by 1
                    """, rs -> shares.add(rs.getLong(2) + " %"));
            double p50 = lags.get((int) (lags.size() * 0.5));
            double p99 = lags.get((int) (lags.size() * 0.99));
            System.out.printf(
                    "| start lag (due time -> handler entered), %d tasks due every second, 3 instances, claim ahead %d ms | %.1f ms | %.1f ms | p99 <= 10 ms | %s | %d runs, max %.1f ms; runs per instance %s |%n",
                    tasks,
                    claimAhead().toMillis(),
                    p50,
                    p99,
                    p99 <= 10 ? "met" : "NOT met",
                    lags.size(),
                    lags.getLast(),
                    String.join(" / ", shares));
            claimLag(cluster, tasks);
        }
    }

    /**
     * Due time to the start as recorded, on the database's clock alone (the run's {@code started_at} minus
     * its {@code scheduled_for}: the claim's {@code now()}, or the due time for a run claimed ahead of it),
     * after the same warm-up, and whether every run was on
     * time: none later than its next slot (1 s), none recorded MISSED, none ended otherwise than SUCCEEDED
     * (runs still running when the rows are read are counted apart).
     */
    private static void claimLag(Cluster cluster, int tasks) throws Exception {
        double[] row = cluster.query("""
                with steady as (
                    select extract(epoch from started_at - scheduled_for) * 1000 as lag, status from task_runs
                     where started_at > (select min(started_at) + interval '5 seconds' from task_runs)
                )
                select percentile_cont(0.5) within group (order by lag), percentile_cont(0.99) within group (order by lag),
                       max(lag), count(*), count(*) filter (where lag > 1000),
                       count(*) filter (where status = 'MISSED'),
                       count(*) filter (where status not in ('SUCCEEDED', 'MISSED', 'RUNNING')),
                       count(*) filter (where status = 'RUNNING'),
                       count(*) filter (where lag = 0)
                  from steady
                """);
        System.out.printf(
                "| recorded start lag (due time -> started_at: claimed, or claimed ahead and started at the due time; database clock), %d tasks due every second, 3 instances | %.1f ms | %.1f ms | | | %d runs, max %.1f ms; claimed ahead (started_at = scheduled_for): %d; later than the next slot (1 s): %d; MISSED: %d; ended otherwise than SUCCEEDED: %d; still running when read: %d |%n",
                tasks,
                row[0],
                row[1],
                (long) row[3],
                row[2],
                (long) row[8],
                (long) row[4],
                (long) row[5],
                (long) row[6],
                (long) row[7]);
    }

    /**
     * The start lags (ms, sorted) of the runs started after the first 5 s: from the due time (the
     * run's {@code scheduled_for}, database clock) to the handler's entry as it recorded it in
     * {@code handlerStarts} (this JVM's wall clock: the same host's clock as the database's).
     */
    static List<Double> lags(Cluster cluster, Map<Long, Instant> handlerStarts) throws Exception {
        List<Double> lags = new ArrayList<>();
        cluster.rows("""
                select id, scheduled_for from task_runs
                 where started_at > (select min(started_at) + interval '5 seconds' from task_runs)
                """, rs -> {
            Instant started = handlerStarts.get(rs.getLong(1));
            if (started != null) {
                lags.add(Duration.between(rs.getTimestamp(2).toInstant(), started)
                                .toNanos()
                        / 1e6);
            }
        });
        Collections.sort(lags);
        return lags;
    }

    /** As many short runs as the instances can do: tasks with the shortest delay and a no-op handler. */
    private static void throughput(int tasks, int seconds) throws Exception {
        try (Cluster cluster = new Cluster(3, "tp", tasks, "100ms", ctx -> {})) {
            cluster.runFor(seconds);
            var row = cluster.query("""
                    with steady as (
                        select finished_at from task_runs
                         where status = 'SUCCEEDED'
                           and finished_at > (select min(started_at) + interval '5 seconds' from task_runs)
                    )
                    select count(*), extract(epoch from max(finished_at) - min(finished_at)) from steady
                    """);
            double perSecond = row[0] / row[1];
            System.out.printf(
                    "| short runs per second, 3 instances (%d tasks, no-op handler) | %.0f /s | | >= 2,000 /s | %s | %d runs in %.0f s |%n",
                    tasks, perSecond, perSecond >= 2000 ? "met" : "NOT met", (long) row[0], row[1]);
        }
    }

    /**
     * The instances' claim ahead: {@code SCHEDULER_CLAIM_AHEAD} as the service reads it ({@code 0}, {@code 50ms},
     * {@code 1s}), else the engine's default; the benchmarks print it, so that one build measures both ways.
     */
    static Duration claimAhead() {
        String value = System.getenv("SCHEDULER_CLAIM_AHEAD");
        if (value == null || value.isBlank()) {
            return SchedulerSettings.defaults().claimAhead();
        }
        var m = java.util.regex.Pattern.compile("(\\d+)(ms|s)?").matcher(value.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("SCHEDULER_CLAIM_AHEAD: 0, <n>ms or <n>s, not " + value);
        }
        long n = Long.parseLong(m.group(1));
        return "s".equals(m.group(2)) ? Duration.ofSeconds(n) : Duration.ofMillis(n);
    }

    @FunctionalInterface
    interface RowConsumer {
        void accept(ResultSet rs) throws SQLException;
    }

    /** Instances on a fresh database, with {@code tasks} tasks of one handler on one schedule. */
    static final class Cluster implements AutoCloseable {

        private final String db;
        private final HikariDataSource admin;
        private final List<HikariDataSource> pools = new ArrayList<>();
        private final List<Scheduler> schedulers = new ArrayList<>();

        Cluster(int instances, String prefix, int tasks, String schedule, TaskHandler handler) {
            this(instances, prefix, tasks, schedule, handler, UnaryOperator.identity());
        }

        /** As above, each task's definition passed through {@code shape} before it is synced. */
        Cluster(
                int instances,
                String prefix,
                int tasks,
                String schedule,
                TaskHandler handler,
                UnaryOperator<TaskDefinition> shape) {
            db = TestPostgres.createDatabase();
            admin = TestPostgres.pool(db, 2);
            TestPostgres.migrate(admin);
            Map<String, TaskHandler> handlers = Map.of("noop", handler);
            for (int i = 1; i <= instances; i++) {
                HikariDataSource pool = TestPostgres.pool(db, 10);
                pools.add(pool);
                String url = pool.getJdbcUrl();
                schedulers.add(new Scheduler(
                        SchedulerSettings.builder(prefix + "-" + i)
                                .host("bench")
                                .version("bench")
                                .settle(Duration.ofSeconds(1))
                                .totalInstances(instances)
                                .shutdownGrace(Duration.ofSeconds(5))
                                .claimAhead(claimAhead())
                                .build(),
                        pool,
                        () -> {
                            Properties p = new Properties();
                            p.setProperty("user", "postgres");
                            p.setProperty("password", "postgres");
                            p.setProperty("socketTimeout", "3");
                            return DriverManager.getConnection(url, p);
                        },
                        handlers,
                        SchedulerEvents.NONE));
            }
            List<TaskDefinition> definitions = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                definitions.add(shape.apply(TaskDefinition.of(
                        prefix + "-task-" + i, "noop", schedule, "UTC", Duration.ofMinutes(1), true, Map.of())));
            }
            schedulers.getFirst().syncTasks(definitions);
        }

        void runFor(int seconds) throws InterruptedException {
            start();
            Thread.sleep(Duration.ofSeconds(seconds));
        }

        void start() {
            schedulers.forEach(Scheduler::start);
        }

        /** A new pool of {@code size} connections on the cluster's database (the caller closes it). */
        HikariDataSource pool(int size) {
            return TestPostgres.pool(db, size);
        }

        void rows(String sql, RowConsumer consumer) throws Exception {
            try (var c = admin.getConnection();
                    var rs = c.createStatement().executeQuery(sql)) {
                while (rs.next()) {
                    consumer.accept(rs);
                }
            }
        }

        double[] query(String sql) throws Exception {
            try (var c = admin.getConnection();
                    var rs = c.createStatement().executeQuery(sql)) {
                rs.next();
                double[] row = new double[rs.getMetaData().getColumnCount()];
                for (int i = 0; i < row.length; i++) {
                    row[i] = rs.getDouble(i + 1);
                }
                return row;
            }
        }

        @Override
        public void close() {
            schedulers.forEach(Scheduler::close);
            pools.forEach(HikariDataSource::close);
            admin.close();
        }
    }
}
