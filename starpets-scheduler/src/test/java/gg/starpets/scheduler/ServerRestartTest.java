package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.StoppablePostgres;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL restarted (fast shutdown, then start) while five instances run ten tasks: every lock
 * vanishes with the server, so a missing lock proves nothing and only the lease decides. A restart
 * shorter than the lease costs no work, and the split stays even.
 */
@RunsAlongside
class ServerRestartTest {

    private static final Duration STEP = Duration.ofMillis(50);

    private StoppablePostgres postgres;
    private HikariDataSource pool;
    private final List<Scheduler> schedulers = new ArrayList<>();
    private final Steps steps = new Steps();
    private final AtomicInteger halts = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        postgres = StoppablePostgres.start();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url());
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(30);
        config.setConnectionTimeout(20_000);
        pool = new HikariDataSource(config);
        TestPostgres.migrate(pool);
    }

    @AfterEach
    void tearDown() throws Exception {
        schedulers.reversed().forEach(Scheduler::close);
        pool.close();
        postgres.close();
    }

    private String url() {
        return "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + StoppablePostgres.DATABASE;
    }

    private ConnectionFactory named(String name) {
        return () -> {
            Properties p = new Properties();
            p.setProperty("user", "postgres");
            p.setProperty("password", "postgres");
            p.setProperty("socketTimeout", "3");
            p.setProperty("connectTimeout", "2");
            p.setProperty("ApplicationName", name);
            return DriverManager.getConnection(url(), p);
        };
    }

    private Scheduler instance(String id) {
        SchedulerSettings settings = SchedulerSettings.builder(id)
                .heartbeat(Duration.ofSeconds(1))
                .lease(Duration.ofSeconds(10))
                .settle(Duration.ofSeconds(1))
                .totalInstances(5)
                .poll(Duration.ofSeconds(1))
                .build();
        Scheduler s = new Scheduler(
                settings,
                pool,
                named("starpets-session-" + id),
                named("starpets-watch-" + id),
                // 120 steps of 50 ms: each run takes about 6 s, then the task is due again 1 s later.
                Map.of("step", steps.stepper(id, 120, STEP)),
                SchedulerEvents.NONE,
                halts::incrementAndGet);
        schedulers.add(s);
        return s;
    }

    private long count(String sql) throws Exception {
        try (Connection c = pool.getConnection();
                ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Map<String, Long> runningByInstance() throws Exception {
        Map<String, Long> counts = new HashMap<>();
        try (Connection c = pool.getConnection();
                ResultSet rs = c.createStatement()
                        .executeQuery("select owner_instance, count(*) from tasks where owner_instance is not null"
                                + " group by 1")) {
            while (rs.next()) {
                counts.put(rs.getString(1), rs.getLong(2));
            }
        }
        return counts;
    }

    private static final Map<String, Long> TWO_EACH =
            Map.of("inst-1", 2L, "inst-2", 2L, "inst-3", 2L, "inst-4", 2L, "inst-5", 2L);

    @Test
    void aRestartShorterThanTheLeaseCostsNoWorkAndTheSplitStaysEven() throws Exception {
        for (int i = 1; i <= 5; i++) {
            instance("inst-" + i);
        }
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(10, "work", "1s", i -> "step"));
        schedulers.forEach(Scheduler::start);
        await().atMost(Timing.SOON).until(() -> runningByInstance().equals(TWO_EACH));
        long before = count("select count(*) from task_runs");

        postgres.stop();
        postgres.restart();

        // The runs in progress at the restart go on and end SUCCEEDED; the next round splits as evenly.
        await().ignoreExceptions()
                .atMost(Duration.ofSeconds(40))
                .until(() -> count("select count(*) from task_runs where id <= " + before + " and status <> 'RUNNING'")
                        == before);
        assertThat(count("select count(*) from task_runs where id <= " + before + " and status <> 'SUCCEEDED'"))
                .as("runs in progress at the restart that did not succeed")
                .isZero();
        await().ignoreExceptions()
                .atMost(Timing.SOON)
                .until(() -> count("select count(*) from task_runs where id > " + before) >= 10
                        && runningByInstance().equals(TWO_EACH));
        assertThat(count("select count(*) from task_runs where status = 'LOST'"))
                .isZero();
        assertThat(steps.overlaps(STEP)).isEmpty();
        assertThat(halts).hasValue(0);
    }
}
