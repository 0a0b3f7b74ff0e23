package gg.starpets.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.chaos.WitnessLog.Event;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exec witness program (bench/chaos-exec-witness.sh), run as the exec handler runs it: a real process. */
class ExecWitnessTest {

    private static final Path PROGRAM = Path.of("bench/chaos-exec-witness.sh").toAbsolutePath();

    @TempDir
    Path dir;

    /** Started as the JVM of instance {@code chaos-9} would: its parent's command line names the instance. */
    private Process start(String durationMs) throws Exception {
        // `; true` keeps the shell as the parent (no exec): it stands for the JVM, whose arguments name the instance.
        ProcessBuilder pb = new ProcessBuilder(
                "bash",
                "-c",
                "\"$0\" \"$1\" \"$2\" 100; true",
                PROGRAM.toString(),
                dir.toString(),
                durationMs,
                "--starpets.instance-id=chaos-9");
        pb.environment().put("STARPETS_TASK", "01-exec");
        pb.environment().put("STARPETS_RUN_ID", "42");
        pb.environment().put("STARPETS_FENCE", "7");
        return pb.redirectErrorStream(true).start();
    }

    @Test
    void itWritesEveryStepWithItsRunItsPidAndItsJvmUntilItsDurationEnds() throws Exception {
        Process shell = start("1000");
        assertThat(shell.waitFor(10, TimeUnit.SECONDS)).isTrue();

        List<Event> events = WitnessLog.readAll(dir);

        Event last = events.getLast();
        assertThat(last.end()).isTrue();
        assertThat(last.outcome()).isEqualTo("done");
        List<Event> steps = events.stream().filter(e -> !e.end()).toList();
        assertThat(steps).as("a step every 100 ms (fewer on a loaded machine)").hasSizeGreaterThanOrEqualTo(2);
        assertThat(steps.getLast().micros() - steps.getFirst().micros())
                .as("no step after its 1000 ms")
                .isLessThan(1_100_000L);
        assertThat(last.micros() - steps.getFirst().micros())
                .as("it ends once its 1000 ms are over")
                .isGreaterThanOrEqualTo(900_000L);
        assertThat(events).allSatisfy(e -> {
            assertThat(e.kind()).isEqualTo(HandlerKind.EXEC);
            assertThat(e.task()).isEqualTo("01-exec");
            assertThat(e.runId()).isEqualTo(42);
            assertThat(e.fence()).isEqualTo(7);
            assertThat(e.host())
                    .as("the parent whose command line names the instance")
                    .isEqualTo(shell.pid());
            assertThat(e.instance()).isEqualTo("chaos-9");
            assertThat(e.execution()).isEqualTo("x:42:" + e.pid());
            assertThat(e.pid()).isNotEqualTo(shell.pid());
        });
    }

    @Test
    void stoppedBySigtermItWritesThatItWasTerminated() throws Exception {
        Process shell = start("60000");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !WitnessLog.readAll(dir).isEmpty());
        long program = WitnessLog.readAll(dir).getFirst().pid();

        ProcessHandle.of(program).orElseThrow().destroy();

        assertThat(shell.waitFor(10, TimeUnit.SECONDS)).isTrue();
        Event last = WitnessLog.readAll(dir).getLast();
        assertThat(last.end()).isTrue();
        assertThat(last.outcome()).isEqualTo("terminated");
    }
}
