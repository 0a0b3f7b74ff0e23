package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No program of an {@code exec} run outlives the run's hold, whatever happens to the JVM that runs it:
 * frozen longer than its hold, killed, halted. The JVM under test is an {@link ExecHost} of its own;
 * the witnesses are outside it: the program's own steps in a file, and /proc.
 */
class ExecFencingTest {

    /** The runs' hold, from each renewal (every 50 ms); a freeze lasts longer. */
    private static final Duration HOLD = Duration.ofSeconds(2);
    /** As the engine's margin (the lock-loss grace) is to its lease. */
    private static final Duration MARGIN = Duration.ofMillis(500);
    /**
     * How soon after an instance's death another may start its task (the lock-loss grace with the
     * default heartbeat): every process of the dead JVM's runs must be gone by then.
     */
    private static final Duration LOCK_LOSS_GRACE = Duration.ofMillis(500);
    /** Generous bounds for what has no deadline of its own (a JVM starting on a loaded machine). */
    private static final Duration SLOW = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final List<ExecHostProcess> hosts = new ArrayList<>();
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void noProcessOfATestOutlivesIt() throws Exception {
        for (ExecHostProcess host : hosts) {
            host.close();
        }
        // A safety net for a failing test; the tests themselves assert that their processes are gone.
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private ExecHostProcess host() throws IOException {
        ExecHostProcess host = ExecHostProcess.start(dir.resolve("host-" + hosts.size() + ".log"));
        hosts.add(host);
        return host;
    }

    /** Starts a run of the witness program on {@code host}; returns its pids once it took a few steps. */
    private List<Long> witnessed(ExecHostProcess host, String id, Path file, boolean ignoreTerm) throws IOException {
        host.run(id, HOLD, MARGIN, "5s", ExecHostProcess.witness(file, ignoreTerm));
        List<Long> pids = ProgramSteps.awaitSteps(file, 3, SLOW);
        started.addAll(pids);
        return pids;
    }

    @Test
    void theProgramOfAJvmFrozenLongerThanItsHoldEndsBeforeTheHoldDoes() throws Exception {
        ExecHostProcess host = host();
        Path file = dir.resolve("steps");
        List<Long> pids = witnessed(host, "frozen", file, false);

        host.freeze();
        await().atMost(SLOW).until(() -> ProgramSteps.stopped(host.pid()));
        // Its last renewal was before this instant: the hold ends no later than this.
        ProgramSteps.assertEndedBefore(System.nanoTime() + HOLD.toNanos(), file, pids, HOLD.plus(SLOW));
        assertThat(ProgramSteps.stopped(host.pid())).as("the host still frozen").isTrue();

        host.thaw();
        assertThat(host.answer("ended frozen", SLOW))
                .contains("exited with code 143")
                .contains("the exec supervisor sent SIGTERM");
    }

    @Test
    void noProcessOfARunOutlivesItsKilledJvmByTheLockLossGrace() throws Exception {
        ExecHostProcess host = host();
        Path file = dir.resolve("steps");
        // It ignores SIGTERM: only SIGKILL ends it.
        List<Long> pids = witnessed(host, "killed", file, true);

        host.kill();

        await().atMost(LOCK_LOSS_GRACE)
                .pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(pids).allMatch(ProgramSteps::gone));
    }

    @Test
    void noProcessOfARunOutlivesItsJvmHaltedByTheWatchdog() throws Exception {
        ExecHostProcess host = host();
        Path file = dir.resolve("steps");
        List<Long> pids = witnessed(host, "halted", file, true);

        host.halt();
        assertThat(host.process().waitFor(SLOW.toSeconds(), TimeUnit.SECONDS)).isTrue();

        await().atMost(LOCK_LOSS_GRACE)
                .pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(pids).allMatch(ProgramSteps::gone));
    }

    @Test
    void aProgramNeverStartsIfItsJvmDiesBeforeTheSupervisorWatchesIt() throws Exception {
        ExecHostProcess host = host();
        host.run("first", HOLD, MARGIN, "5s", "sleep 0.5");
        assertThat(host.answer("ended first", SLOW)).contains("succeeded");
        long supervisor = host.supervisor()[0];
        // A frozen supervisor acknowledges nothing, and kills nothing: only the gate can keep the program from
        // starting.
        ExecHostProcess.signal("STOP", supervisor);
        await().atMost(SLOW).until(() -> ProgramSteps.stopped(supervisor));
        Path file = dir.resolve("steps");
        host.run("second", HOLD, MARGIN, "5s", ExecHostProcess.witness(file, false));
        ProcessHandle gate = await().atMost(SLOW)
                .until(() -> runOf(host, file), Optional::isPresent)
                .orElseThrow();
        started.add(gate.pid());

        host.kill();

        await().atMost(SLOW).until(() -> ProgramSteps.gone(gate.pid()) || Files.exists(file));
        assertThat(file).as("the program's steps").doesNotExist();
        assertThat(ProgramSteps.gone(gate.pid())).as("the gate gone").isTrue();
        assertThat(ProcessHandle.allProcesses()
                        .filter(p -> p.info()
                                .arguments()
                                .map(a -> String.join(" ", a).contains(file.toString()))
                                .orElse(false))
                        .toList())
                .as("processes of the run")
                .isEmpty();
    }

    /** The host's child that runs the command writing to {@code file} (its gate, until it becomes the program). */
    private static Optional<ProcessHandle> runOf(ExecHostProcess host, Path file) {
        return ProcessHandle.of(host.pid()).stream()
                .flatMap(ProcessHandle::children)
                .filter(p -> p.info()
                        .arguments()
                        .map(a -> String.join(" ", a).contains(file.toString()))
                        .orElse(false))
                .findFirst();
    }
}
