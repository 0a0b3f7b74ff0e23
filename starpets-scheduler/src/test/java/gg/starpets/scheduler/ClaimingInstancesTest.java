package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Fair shares count only instances that can claim now. A live instance that cannot (its claim thread
 * hangs, its watch session cannot be opened) would otherwise keep its share of the due tasks for
 * ever while the others idle.
 */
class ClaimingInstancesTest {

    /**
     * How long the others may take to claim everything: the hung claim loop is noticed when it has not
     * come back for poll + heartbeat (1.25 s), the next heartbeat says so, and the others' claim loops
     * look again within a poll. Sized for a loaded 2-core machine.
     */
    private static final Duration ALL_CLAIMED_WITHIN = Duration.ofSeconds(15);

    private static final int TASKS = 9;

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);
    private final Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    /** The pool as the claim thread of one instance sees it: every call hangs (until the test ends). */
    private DataSource hangingForTheClaimThread() {
        return (DataSource) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")
                            && Thread.currentThread().getName().equals("starpets-claim")) {
                        release.await(1, TimeUnit.MINUTES);
                        throw new SQLException("the test's hung connection");
                    }
                    try {
                        return method.invoke(cluster.pool, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private void assertTheOthersTakeEveryDueTask(String unable) {
        await().atMost(ALL_CLAIMED_WITHIN)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null") == TASKS);
        assertThat(cluster.runningByInstance()).doesNotContainKey(unable);
        assertThat(cluster.count("select count(*) from instances where id = '" + unable
                        + "' and state = 'RUNNING' and not claiming"))
                .as("the instance that cannot claim is alive, and says it cannot claim")
                .isEqualTo(1);
    }

    @Test
    void anInstanceWhoseClaimThreadHangsLeavesItsShareToTheOthers() {
        Scheduler a = cluster.create("inst-a", handlers);
        Scheduler b = cluster.create("inst-b", handlers);
        Scheduler c = cluster.create(
                SchedulerCluster.settings("inst-c"), handlers, cluster::connection, hangingForTheClaimThread());
        a.syncTasks(SchedulerCluster.tasks(TASKS, "task", "1h", i -> "hold"));

        c.start();
        a.start();
        b.start();

        assertTheOthersTakeEveryDueTask("inst-c");
    }

    @Test
    void anInstanceWhoseWatchSessionCannotBeOpenedLeavesItsShareToTheOthers() {
        Scheduler a = cluster.create("inst-a", handlers);
        Scheduler b = cluster.create("inst-b", handlers);
        Scheduler c = new Scheduler(
                SchedulerCluster.settings("inst-c"),
                cluster.pool,
                cluster::connection,
                () -> {
                    throw new SQLException("the test refuses the watch session");
                },
                handlers,
                SchedulerEvents.NONE,
                () -> {});
        a.syncTasks(SchedulerCluster.tasks(TASKS, "task", "1h", i -> "hold"));

        c.start();
        a.start();
        b.start();
        try {
            assertTheOthersTakeEveryDueTask("inst-c");
        } finally {
            c.close();
        }
    }
}
