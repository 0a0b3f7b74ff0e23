package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.JarCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exec supervisor as the packaged jar starts it (its classes copied out of BOOT-INF): the
 * programs of a killed instance are gone before another instance may start their tasks.
 */
class ExecFencingIT {

    /** How soon after an instance's death another may start its task, with the default heartbeat. */
    private static final Duration LOCK_LOSS_GRACE = Duration.ofMillis(500);

    private final JarCluster cluster = new JarCluster();
    private final List<Long> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void noProcessOfATestOutlivesIt() throws InterruptedException {
        cluster.close();
        // A safety net for a failing test; the test itself asserts that its processes are gone.
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    @Test
    void theProgramsOfAKilledInstanceAreGoneWithinTheLockLossGrace() throws Exception {
        Path file = dir.resolve("steps");
        Map<String, Object> settings = cluster.settings();
        settings.put("starpets.tasks[0].name", "witnessed");
        settings.put("starpets.tasks[0].handler", "exec");
        settings.put("starpets.tasks[0].schedule", "1h");
        settings.put("starpets.tasks[0].timeout", "1h");
        settings.put("starpets.tasks[0].params.shell", "true");
        settings.put("starpets.tasks[0].params.command", ExecHostProcess.witness(file, true));
        AppProcess instance = cluster.start("exec-1", settings);
        List<Long> pids = ProgramSteps.awaitSteps(file, 3, Duration.ofMinutes(2));
        started.addAll(pids);
        assertThat(instance.log()).contains("Exec supervisor started");

        instance.kill();

        await().atMost(LOCK_LOSS_GRACE)
                .pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(pids).allMatch(ProgramSteps::gone));
    }
}
