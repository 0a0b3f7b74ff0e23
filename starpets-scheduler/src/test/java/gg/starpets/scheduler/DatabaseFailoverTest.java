package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.ReplicatedPostgres;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Faults of the database that drop every advisory lock without moving {@code pg_postmaster_start_time()}:
 * a crash-restart (one backend SIGKILLed) and a standby promoted with the primary stopped. A missing lock
 * then proves nothing, so only the lease may decide: an owner that comes back within its lease (here
 * 2 s after the database, far past the 0.5 s a missing lock is given) loses nothing. Judged from the
 * handlers' steps, recorded by the test.
 */
@RunsAlongside
class DatabaseFailoverTest {

    private static final Duration STEP = Duration.ofMillis(50);
    /** The owner's sessions come back this long after the database does: longer than the grace, shorter than the lease. */
    private static final Duration OWNER_BACK_AFTER = Duration.ofSeconds(2);

    private ReplicatedPostgres postgres;
    private HikariDataSource pool;
    private final List<Scheduler> schedulers = new ArrayList<>();
    private final Steps steps = new Steps();
    private final AtomicInteger halts = new AtomicInteger();
    /** Until when (System.nanoTime) the owner's sessions cannot reach the database. */
    private volatile long ownerCutUntil = Long.MIN_VALUE;

    @BeforeEach
    void setUp() throws Exception {
        postgres = ReplicatedPostgres.start();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(postgres.url() + "&hostRecheckSeconds=1");
        config.setUsername("postgres");
        config.setPassword("postgres");
        config.setMaximumPoolSize(20);
        config.setConnectionTimeout(30_000);
        pool = new HikariDataSource(config);
        TestPostgres.migrate(pool);
    }

    @AfterEach
    void tearDown() throws Exception {
        schedulers.reversed().forEach(Scheduler::close);
        pool.close();
        postgres.close();
    }

    private ConnectionFactory sessions(String name, boolean owner) {
        return () -> {
            if (owner && System.nanoTime() < ownerCutUntil) {
                throw new SQLException("the test keeps the owner's network down");
            }
            Properties p = new Properties();
            p.setProperty("user", "postgres");
            p.setProperty("password", "postgres");
            p.setProperty("socketTimeout", "3");
            p.setProperty("connectTimeout", "2");
            p.setProperty("hostRecheckSeconds", "1");
            p.setProperty("ApplicationName", name);
            return DriverManager.getConnection(postgres.url(), p);
        };
    }

    private Scheduler instance(String id, boolean owner) {
        SchedulerSettings settings = SchedulerSettings.builder(id)
                .heartbeat(Duration.ofSeconds(1))
                .lease(Duration.ofSeconds(10))
                .settle(Duration.ofMillis(200))
                .poll(Duration.ofSeconds(1))
                .build();
        Scheduler s = new Scheduler(
                settings,
                pool,
                sessions("starpets-session-" + id, owner),
                sessions("starpets-watch-" + id, owner),
                // 300 steps of 50 ms: each run takes about 15 s, the fault falls in the middle.
                Map.of("step", steps.stepper(id, 300, STEP)),
                SchedulerEvents.NONE,
                halts::incrementAndGet);
        schedulers.add(s);
        return s;
    }

    private long count(String sql) throws SQLException {
        try (Connection c = pool.getConnection();
                ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The owner runs three tasks; the other instance, up, runs none and recovers what it may. */
    private void theOwnerRunsThreeTasksAndAnotherWatches() throws SQLException {
        Scheduler owner = instance("inst-owner", true);
        owner.syncTasks(SchedulerCluster.tasks(3, "work", "1h", i -> "step"));
        owner.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> owner.activeRuns() == 3);
        Scheduler other = instance("inst-other", false);
        other.start();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> count("select count(*) from instances where id = 'inst-other'") == 1);
        // Some steps before the fault, some after.
        await().atMost(Duration.ofSeconds(10)).until(() -> steps.count("inst-owner") >= 30);
    }

    private void theOwnerComesBackAfterTheDatabase() {
        ownerCutUntil = System.nanoTime() + OWNER_BACK_AFTER.toNanos();
    }

    private void assertTheOwnersRunsWentOnUntouched() {
        await().ignoreExceptions()
                .atMost(Duration.ofSeconds(60))
                .until(() -> count("select count(*) from task_runs where status <> 'RUNNING'") == 3);
        try (Connection c = pool.getConnection();
                ResultSet rs = c.createStatement().executeQuery("select instance_id || ' ' || status from task_runs")) {
            List<String> runs = new ArrayList<>();
            while (rs.next()) {
                runs.add(rs.getString(1));
            }
            assertThat(runs)
                    .as("the runs in progress at the fault ended as if nothing had happened")
                    .containsExactly("inst-owner SUCCEEDED", "inst-owner SUCCEEDED", "inst-owner SUCCEEDED");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        assertThat(steps.count("inst-other"))
                .as("steps taken by the other instance")
                .isZero();
        assertThat(steps.overlaps(STEP)).isEmpty();
        assertThat(halts).hasValue(0);
    }

    @Test
    void aCrashRestartOfTheServerLosesNoWorkOfOwnersBackWithinTheLease() throws Exception {
        theOwnerRunsThreeTasksAndAnotherWatches();
        String started = postgres.postmasterStartTime();
        ownerCutUntil = Long.MAX_VALUE;

        postgres.crashOneBackend();

        await().ignoreExceptions().atMost(Duration.ofSeconds(30)).until(() -> count("select 1") == 1);
        theOwnerComesBackAfterTheDatabase();
        assertThat(postgres.postmasterStartTime())
                .as("a crash-restart does not move the server's start time")
                .isEqualTo(started);
        assertTheOwnersRunsWentOnUntouched();
    }

    @Test
    void aStandbyPromotedWithThePrimaryStoppedLosesNoWorkOfOwnersBackWithinTheLease() throws Exception {
        postgres.addStandby();
        // Making the standby restarted the primary: the pool's connections are gone.
        pool.getHikariPoolMXBean().softEvictConnections();
        theOwnerRunsThreeTasksAndAnotherWatches();
        await().atMost(Duration.ofSeconds(20)).until(postgres::standbyCaughtUp);
        ownerCutUntil = Long.MAX_VALUE;

        postgres.stopPrimary();
        postgres.promoteStandby();

        await().ignoreExceptions().atMost(Duration.ofSeconds(30)).until(() -> count("select 1") == 1);
        theOwnerComesBackAfterTheDatabase();
        assertTheOwnersRunsWentOnUntouched();
    }
}
