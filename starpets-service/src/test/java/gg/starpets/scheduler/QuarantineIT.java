package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.JarCluster;
import gg.starpets.support.SecondJarLane;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A task whose handler kills its own process would hop from instance to instance, killing each.
 * After three runs LOST in a row it is quarantined, and the last instance lives.
 */
@SecondJarLane
class QuarantineIT {

    private final JarCluster cluster = new JarCluster();

    @AfterEach
    void tearDown() throws InterruptedException {
        cluster.close();
    }

    @Test
    void aHandlerThatKillsItsProcessIsQuarantinedAfterThreeLostRunsAndTheLastInstanceLives() throws Exception {
        for (int i = 1; i <= 4; i++) {
            Map<String, Object> settings = cluster.settings();
            settings.put("starpets.scheduler.settle", "3s");
            settings.put("starpets.scheduler.total-instances", "4");
            settings.put("starpets.tasks[0].name", "deadly");
            settings.put("starpets.tasks[0].handler", "exec");
            settings.put("starpets.tasks[0].schedule", "1h");
            settings.put("starpets.tasks[0].timeout", "1m");
            settings.put("starpets.tasks[0].params.shell", "true");
            // The program's parent is the instance's JVM: it dies by SIGKILL, as with an OOM killer.
            settings.put("starpets.tasks[0].params.command", "kill -9 $PPID; sleep 5");
            settings.put("starpets.handlers.api-allowed", "");
            cluster.start("victim-" + i, settings);
        }

        // From the start of four processes: most of the wait is their start.
        // The audit row is written just after the quarantine commits (OrphanRecovery.report): both are waited for.
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() ->
                        cluster.count("select count(*) from tasks where name = 'deadly' and quarantined_at is not null")
                                        == 1
                                && cluster.count("select count(*) from task_events where task_name = 'deadly'"
                                                + " and action = 'QUARANTINED'")
                                        == 1);

        assertThat(cluster.count("select count(*) from task_runs where status = 'LOST'"))
                .isEqualTo(3);
        assertThat(cluster.processes().stream().filter(AppProcess::alive).count())
                .as("instances alive")
                .isEqualTo(1);
        // Quarantined: nobody runs it again, the last instance included.
        Timing.holdsFor(Duration.ofSeconds(3))
                .until(() -> cluster.count("select count(*) from task_runs") == 3
                        && cluster.processes().stream()
                                        .filter(AppProcess::alive)
                                        .count()
                                == 1);
    }
}
