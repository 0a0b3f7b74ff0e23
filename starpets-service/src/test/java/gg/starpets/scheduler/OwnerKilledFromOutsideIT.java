package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.JarCluster;
import gg.starpets.support.SecondJarLane;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scenario, with real processes and the shipped quarantine settings: kill -9 of the
 * owner of a one-hour task, three times (as node failures would), each time well into the run. The
 * healthy task is not quarantined and runs on the last instance. ({@link QuarantineIT} is the other
 * side: a task whose program kills its instance is.)
 */
@SecondJarLane
class OwnerKilledFromOutsideIT {

    private final JarCluster cluster = new JarCluster();

    @AfterEach
    void tearDown() throws InterruptedException {
        cluster.close();
    }

    @Test
    void theOwnerOfAnHourLongTaskKilledThreeTimesDoesNotGetTheTaskQuarantined() throws Exception {
        Map<String, AppProcess> instances = new HashMap<>();
        for (int i = 1; i <= 4; i++) {
            Map<String, Object> settings = cluster.settings();
            settings.put("starpets.scheduler.settle", "3s");
            settings.put("starpets.scheduler.total-instances", "4");
            settings.put("starpets.tasks[0].name", "hour-long");
            settings.put("starpets.tasks[0].handler", "sleep");
            settings.put("starpets.tasks[0].schedule", "1h");
            settings.put("starpets.tasks[0].timeout", "2h");
            settings.put("starpets.tasks[0].params.duration", "1h");
            instances.put("node-" + i, cluster.start("node-" + i, settings));
        }

        for (int kill = 1; kill <= 3; kill++) {
            // Well into its run: its owner renewed its lease after the default quarantine window (10 s).
            // The first time from the start of four processes: most of the wait is their start.
            await().ignoreExceptions()
                    .atMost(Timing.START)
                    .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null"
                                    + " and owner_lock_seen_at > started_at + interval '10 seconds'")
                            == 1);
            String owner = cluster.strings("select owner_instance from tasks").getFirst();
            instances.get(owner).kill();
            int lost = kill;
            await().ignoreExceptions()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.count("select count(*) from task_runs where status = 'LOST'") == lost
                            && cluster.count("select count(*) from task_runs where status = 'RUNNING'") == 1);
        }

        assertThat(cluster.strings("select lost_streak || ' ' || (quarantined_at is null) from tasks"))
                .as("lost streak, not quarantined")
                .containsExactly("0 true");
        List<String> running = cluster.strings("select instance_id from task_runs where status = 'RUNNING'");
        assertThat(running).hasSize(1);
        assertThat(instances.get(running.getFirst()).alive()).isTrue();
        assertThat(cluster.processes().stream().filter(AppProcess::alive).count())
                .isEqualTo(1);
    }
}
