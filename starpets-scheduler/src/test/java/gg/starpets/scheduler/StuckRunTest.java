package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Handlers that ignore interruption. Past its timeout such a run is recorded TIMED_OUT, but its task
 * stays with its instance (shown STUCK) until the handler returns; and when the instance can no
 * longer be sure it holds the task, it halts rather than let another instance start it.
 */
@RunsAlongside
class StuckRunTest {

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);
    /** When each instance's handler started, per task (nanoTime). */
    private final Map<String, Long> started = new ConcurrentHashMap<>();

    private final AtomicLong haltedAt = new AtomicLong();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    /**
     * Deaf to interruption until released: it swallows every interrupt. It waits rather than spins, so
     * that two of them do not take both cores of a small machine from the schedulers under test.
     */
    private TaskHandler stubborn(String instance) {
        return ctx -> {
            started.putIfAbsent(instance + ":" + ctx.taskName(), System.nanoTime());
            boolean released = false;
            while (!released) {
                try {
                    release.await();
                    released = true;
                } catch (InterruptedException deaf) {
                    // Ignored: this handler does not stop when told to.
                }
            }
        };
    }

    private void halt() {
        haltedAt.compareAndSet(0, System.nanoTime());
    }

    private Scheduler instance(String id, TaskHandler handler) {
        return cluster.createNamed(SchedulerCluster.settings(id), Map.of("stubborn", handler), this::halt);
    }

    @Test
    void aRunPastItsTimeoutIsRecordedTimedOutButItsTaskIsStartedNowhereElseUntilTheHandlerReturns() {
        Scheduler a = instance("inst-a", stubborn("inst-a"));
        a.syncTasks(List.of(TaskDefinition.of("deaf", "stubborn", "1h", "UTC", Duration.ofMillis(500), true, null)));
        a.start();
        Scheduler b = instance("inst-b", stubborn("inst-b"));
        b.start();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'TIMED_OUT'") == 1);
        TaskViews.TaskView view =
                new TaskViews(cluster.pool).find("deaf").tasks().getFirst();
        assertThat(view.stuck()).isTrue();
        assertThat(view.instanceId()).isEqualTo("inst-a");
        assertThat(new TaskViews(cluster.pool).countStuckAndQuarantined()).containsExactly(1, 0);
        // Well past the lease (4 s): still kept by its instance, and not started anywhere else.
        Timing.holdsFor(Duration.ofSeconds(5))
                .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'inst-a'") == 1
                        && !started.containsKey("inst-b:deaf"));
        assertThat(cluster.count("select count(*) from task_runs")).isEqualTo(1);

        release.countDown();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_session is null"
                                + " and stuck_since is null and last_run_id is not null")
                        == 1);
        assertThat(cluster.query("select status from task_runs", rs -> rs.getString(1)))
                .containsExactly("TIMED_OUT");
        assertThat(haltedAt).hasValue(0);
    }

    @Test
    void anInstanceThatLosesItsDatabaseWhileAHandlerIgnoresInterruptionHaltsBeforeAnotherMayStartTheTask()
            throws Exception {
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port());
                HikariDataSource poolA = cluster.poolThrough(proxy)) {
            String urlA = poolA.getJdbcUrl();
            Scheduler cutOff = new Scheduler(
                    SchedulerCluster.settings("inst-a"),
                    poolA,
                    () -> SchedulerCluster.connect(urlA, 1),
                    () -> SchedulerCluster.connect(urlA, 1),
                    Map.of("stubborn", stubborn("inst-a")),
                    SchedulerEvents.NONE,
                    this::halt);
            cutOff.syncTasks(
                    List.of(TaskDefinition.of("deaf", "stubborn", "1h", "UTC", Duration.ofMinutes(5), true, null)));
            cutOff.start();
            await().atMost(Timing.SOON).until(() -> started.containsKey("inst-a:deaf"));
            Scheduler b = instance("inst-b", stubborn("inst-b"));
            b.start();

            proxy.freeze();

            await().atMost(Timing.SOON).until(() -> started.containsKey("inst-b:deaf"));
            assertThat(haltedAt.get())
                    .as("inst-a halted before inst-b could start the task")
                    .isNotZero()
                    .isLessThan(started.get("inst-b:deaf"));
            release.countDown();
            proxy.resume();
            cutOff.close();
        }
    }

    @Test
    void aShutdownWithAHandlerThatIgnoresInterruptionHaltsRatherThanHandTheTaskOver() {
        Scheduler a = instance("inst-a", stubborn("inst-a"));
        a.syncTasks(List.of(TaskDefinition.of("deaf", "stubborn", "1h", "UTC", Duration.ofMinutes(5), true, null)));
        a.start();
        await().atMost(Timing.SOON).until(() -> started.containsKey("inst-a:deaf"));

        a.close();

        assertThat(haltedAt.get()).isNotZero();
        assertThat(cluster.count("select count(*) from tasks where owner_instance = 'inst-a'"))
                .as("the task was not handed over")
                .isEqualTo(1);
    }
}
