package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.JarCluster;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Instances as separate processes of the real jar: one is killed or frozen, the other takes over. */
class ProcessFailoverIT {

    private final JarCluster cluster = new JarCluster();

    @AfterEach
    void tearDown() throws InterruptedException {
        cluster.close();
    }

    private AppProcess start(String instanceId) throws Exception {
        Map<String, Object> settings = cluster.settings();
        settings.put("starpets.scheduler.settle", "200ms");
        settings.put("starpets.scheduler.heartbeat", "500ms");
        settings.put("starpets.scheduler.lease", "6s");
        for (int i = 0; i < 3; i++) {
            settings.put("starpets.tasks[" + i + "].name", "long-" + i);
            settings.put("starpets.tasks[" + i + "].handler", "sleep");
            settings.put("starpets.tasks[" + i + "].schedule", "1h");
            settings.put("starpets.tasks[" + i + "].timeout", "30m");
            settings.put("starpets.tasks[" + i + "].params.duration", "20m");
        }
        return cluster.start(instanceId, settings);
    }

    /** Instance A runs all three tasks; instance B is up, with nothing to do. */
    private AppProcess[] aOwnsEverythingAndBWaits() throws Exception {
        AppProcess a = start("proc-a");
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'proc-a'") == 3);
        AppProcess b = start("proc-b");
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() ->
                        cluster.count("select count(*) from instances where id = 'proc-b' and state = 'RUNNING'") == 1);
        return new AppProcess[] {a, b};
    }

    @Test
    void whenTheOwnerIsKilledItsTasksRunElsewhereAtOnceAndItsRunsEndLost() throws Exception {
        AppProcess[] instances = aOwnsEverythingAndBWaits();

        // On a starved machine an instance may have fenced itself and run a task again before: what
        // matters are the runs in progress when it dies.
        List<String> inProgress = cluster.strings("select current_run_id from tasks where owner_instance = 'proc-a'");
        long killed = System.nanoTime();
        instances[0].kill();
        await().ignoreExceptions()
                .atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'proc-b'") == 3);
        Duration failover = Duration.ofNanos(System.nanoTime() - killed);

        assertThat(failover).as("failover after SIGKILL").isLessThan(Duration.ofSeconds(5));
        assertThat(inProgress).hasSize(3);
        assertThat(cluster.strings("select status || ': ' || error from task_runs where id in ("
                        + String.join(",", inProgress) + ")"))
                .hasSize(3)
                .containsOnly("LOST: instance proc-a is gone (database session ended)");
        assertThat(cluster.count("select count(*) from task_runs where instance_id = 'proc-a' and status = 'RUNNING'"))
                .isZero();
        assertThat(cluster.strings("select state from instances where id = 'proc-a'"))
                .containsExactly("GONE");
        assertThat(cluster.count("select count(*) from task_runs where instance_id = 'proc-b' and attempt >= 2"))
                .isEqualTo(3);
    }

    @Test
    void aFrozenOwnerIsTakenOverOnlyAfterItsLeaseAndWhenItResumesItOverwritesNothing() throws Exception {
        AppProcess[] instances = aOwnsEverythingAndBWaits();
        AppProcess a = instances[0];

        List<String> inProgress = cluster.strings("select current_run_id from tasks where owner_instance = 'proc-a'");
        String frozenRuns = "select status from task_runs where id in (" + String.join(",", inProgress) + ")";
        a.signal("STOP");
        // Its leases as the database has them once it is frozen (a renewal sent just before may still
        // land, which only moves them later). Judged on the database clock, not by how long the test
        // waited: on a loaded machine the last renewal may be late, so the lease may end well before
        // the 6 s after the freeze.
        String leaseEnd = cluster.strings("select min(lease_until)::text from tasks where owner_instance = 'proc-a'")
                .getFirst();
        await().ignoreExceptions()
                .atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'proc-b'") == 3);
        assertThat(inProgress).hasSize(3);
        assertThat(cluster.strings(frozenRuns)).containsOnly("LOST");
        assertThat(cluster.strings("select finished_at::text from task_runs where id in ("
                        + String.join(",", inProgress) + ") and finished_at < '" + leaseEnd + "'"))
                .as("runs ended before the frozen instance's lease (%s) ran out", leaseEnd)
                .isEmpty();
        long fences = cluster.count("select sum(fence) from tasks");

        a.signal("CONT");
        await().ignoreExceptions()
                .atMost(Timing.SOON)
                .until(() ->
                        a.log().contains("Fencing this instance") || a.log().contains("was taken over"));
        await().ignoreExceptions()
                .atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from instances where id = 'proc-a' and state = 'RUNNING'"
                                + " and heartbeat_at > now() - interval '2 seconds'")
                        == 1);

        assertThat(cluster.strings(frozenRuns))
                .as("the resumed instance overwrote nothing")
                .containsOnly("LOST");
        assertThat(cluster.count("select count(*) from task_runs where instance_id = 'proc-a' and status = 'RUNNING'"))
                .isZero();
        assertThat(cluster.count("select count(*) from tasks where owner_instance = 'proc-b'"))
                .isEqualTo(3);
        assertThat(cluster.count("select sum(fence) from tasks")).isEqualTo(fences);
        assertThat(a.alive()).isTrue();
    }
}
