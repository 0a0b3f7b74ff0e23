package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What anyone may send an instance cannot stop its engine; an engine that does stop says so. */
class EngineFailureTest {

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    private Scheduler runningOneTask(String id) {
        Scheduler s = cluster.create(id, Map.of("hold", ctx -> release.await()));
        s.syncTasks(SchedulerCluster.tasks(1, "held", "1h", i -> "hold"));
        s.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> s.activeRuns() == 1);
        return s;
    }

    @Test
    void aCancelNotificationThatIsNotARunIdIsIgnoredAndTheWatchGoesOn() {
        Scheduler s = runningOneTask("inst-a");
        long losses = s.watchLosses();

        cluster.execute("select pg_notify('starpets_cancel', 'not-a-number')");
        cluster.execute("select pg_notify('starpets_cancel', '')");
        // A cancel sent the same way right after still arrives: the watch thread lives.
        long runId = cluster.count("select current_run_id from tasks where name = 'held-0'");
        cluster.execute("select pg_notify('starpets_cancel', '" + runId + "')");

        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where status = 'CANCELLED'") == 1);
        assertThat(s.failure()).isEmpty();
        assertThat(s.watchLosses()).isEqualTo(losses);
    }

    @Test
    void anInstanceWhoseIdAnotherProcessTookSaysItHasStopped() {
        Scheduler s = runningOneTask("inst-a");
        assertThat(s.failure()).isEmpty();

        cluster.execute("update instances set session_key = session_key + 1 where id = 'inst-a'");

        await().atMost(Duration.ofSeconds(10)).until(() -> s.failure().isPresent());
        assertThat(s.failure()).hasValue("another process has taken instance id inst-a");
    }
}
