package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Recording a stuck run (past its timeout, handler deaf to interruption) is a write like any other:
 * when it fails it is tried again every heartbeat while the handler lives, so the run does not stay
 * RUNNING for ever.
 */
class StuckRunRecordTest {

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch stuck = new CountDownLatch(1);
    private volatile boolean refusing;
    private final AtomicInteger refusedStuckWrites = new AtomicInteger();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    /** The engine's pool, refusing connections while {@link #refusing}; counts refusals to record a stuck run. */
    private DataSource refusingWhenAsked(DataSource pool) {
        return (DataSource) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (refusing && method.getName().equals("getConnection")) {
                        if (StackWalker.getInstance()
                                .walk(frames ->
                                        frames.anyMatch(f -> f.getMethodName().equals("markStuck")))) {
                            refusedStuckWrites.incrementAndGet();
                        }
                        throw new SQLException("connection refused (test)");
                    }
                    try {
                        return method.invoke(pool, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void aStuckRunWhoseRecordFailsIsRecordedOnceTheDatabaseAnswersAgain() {
        TaskHandler deaf = ctx -> {
            while (release.getCount() > 0) {
                Thread.onSpinWait();
                Thread.interrupted();
                Thread.yield();
            }
        };
        SchedulerEvents events = new SchedulerEvents() {
            @Override
            public void runStuck(String task) {
                stuck.countDown();
            }
        };
        Scheduler a = new Scheduler(
                SchedulerCluster.settings("inst-a"),
                refusingWhenAsked(cluster.pool),
                cluster::connection,
                Map.of("deaf", deaf),
                events);
        a.syncTasks(List.of(TaskDefinition.of("deaf", "deaf", "1h", "UTC", Duration.ofMillis(500), true, null)));
        a.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> a.activeRuns() == 1);

        refusing = true;
        await().atMost(Duration.ofSeconds(10)).until(() -> stuck.getCount() == 0 && refusedStuckWrites.get() >= 2);
        assertThat(cluster.query("select status from task_runs", rs -> rs.getString(1)))
                .containsExactly("RUNNING");

        refusing = false;
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.query("select status from task_runs", rs -> rs.getString(1))
                        .equals(List.of("TIMED_OUT")));
        assertThat(cluster.count(
                        "select count(*) from tasks where stuck_since is not null and owner_instance = 'inst-a'"))
                .isEqualTo(1);
        release.countDown();
        a.close();
    }
}
