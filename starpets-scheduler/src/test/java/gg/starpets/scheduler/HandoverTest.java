package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tasks change hands: at a graceful shutdown, and when an instance is cut off from the database. */
class HandoverTest {

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);
    /** Per "instance:task", when its handler started and when it saw the interruption (nanoTime). */
    private final Map<String, Long> started = new ConcurrentHashMap<>();

    private final Map<String, Long> interrupted = new ConcurrentHashMap<>();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    private Map<String, TaskHandler> watchingHandler(String instance) {
        return Map.of("watch", ctx -> {
            started.put(instance + ":" + ctx.taskName(), System.nanoTime());
            try {
                release.await();
            } catch (InterruptedException e) {
                interrupted.put(instance + ":" + ctx.taskName(), System.nanoTime());
                throw e;
            }
        });
    }

    @Test
    void aGracefulShutdownInterruptsWhatDoesNotFinishAndHandsItToAnotherInstanceAtOnce() {
        Scheduler a = cluster.create("instance-a", watchingHandler("instance-a"));
        a.syncTasks(SchedulerCluster.tasks(3, "long", "1h", i -> "watch"));
        a.start();
        await().atMost(Timing.SOON).until(() -> a.activeRuns() == 3);
        Scheduler b = cluster.create("instance-b", watchingHandler("instance-b"));
        b.start();

        long closing = System.nanoTime();
        a.close();

        await().atMost(Timing.SOON).until(() -> b.activeRuns() == 3);
        assertThat(Duration.ofNanos(System.nanoTime() - closing)).isLessThan(Duration.ofSeconds(8));
        assertThat(cluster.query(
                        "select status || ': ' || error from task_runs where instance_id = 'instance-a'",
                        rs -> rs.getString(1)))
                .hasSize(3)
                .containsOnly("INTERRUPTED: the instance is shutting down");
        assertThat(cluster.query("select state from instances where id = 'instance-a'", rs -> rs.getString(1)))
                .containsExactly("GONE");
        assertThat(cluster.runningByInstance()).containsExactly(Map.entry("instance-b", 3L));
    }

    @Test
    void anInstanceCutOffFromTheDatabaseStopsItsRunsBeforeAnotherTakesThemAndLaterWritesNothing() throws Exception {
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port());
                HikariDataSource poolA = cluster.poolThrough(proxy)) {
            String urlA = poolA.getJdbcUrl();
            Scheduler a = cluster.create(
                    SchedulerCluster.settings("instance-a"),
                    watchingHandler("instance-a"),
                    () -> SchedulerCluster.connect(urlA, 1),
                    poolA);
            a.syncTasks(SchedulerCluster.tasks(2, "guarded", "1h", i -> "watch"));
            a.start();
            await().atMost(Timing.SOON).until(() -> started.size() == 2);
            Scheduler b = cluster.create("instance-b", watchingHandler("instance-b"));
            b.start();

            proxy.freeze();

            await().atMost(Timing.SOON)
                    .until(() -> started.keySet().stream()
                                    .filter(k -> k.startsWith("instance-b:"))
                                    .count()
                            == 2);
            for (String task : List.of("guarded-0", "guarded-1")) {
                assertThat(interrupted.get("instance-a:" + task))
                        .as("instance-a stopped %s before instance-b started it", task)
                        .isNotNull()
                        .isLessThan(started.get("instance-b:" + task));
            }
            assertThat(cluster.query(
                            "select status || ': ' || error from task_runs where instance_id = 'instance-a'",
                            rs -> rs.getString(1)))
                    .hasSize(2)
                    .allSatisfy(row -> assertThat(row).startsWith("LOST: instance instance-a is gone"));
            long fences = cluster.count("select sum(fence) from tasks");

            proxy.resume();
            await().atMost(Timing.SOON)
                    .until(() ->
                            cluster.count("select count(*) from instances where id = 'instance-a' and state = 'RUNNING'"
                                            + " and heartbeat_at > now() - interval '1 second'")
                                    == 1);
            await().atMost(Timing.SOON).until(() -> a.activeRuns() == 0);
            assertThat(cluster.query(
                            "select status from task_runs where instance_id = 'instance-a'", rs -> rs.getString(1)))
                    .containsOnly("LOST");
            assertThat(cluster.runningByInstance()).containsExactly(Map.entry("instance-b", 2L));
            assertThat(cluster.count("select sum(fence) from tasks")).isEqualTo(fences);
        }
    }
}
