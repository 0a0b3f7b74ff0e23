package gg.starpets.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WitnessLogTest {

    @TempDir
    Path dir;

    private void append(String file, String text) throws Exception {
        Files.writeString(
                dir.resolve(file), text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Test
    void aLineNamesTheStepItsRunFenceProcessAndInstance() {
        var e = WitnessLog.parse("1700000000123456\tstep\t01-witness\t42\t7\t4711\tchaos-1\t");

        assertThat(e.micros()).isEqualTo(1_700_000_000_123_456L);
        assertThat(e.end()).isFalse();
        assertThat(e.task()).isEqualTo("01-witness");
        assertThat(e.runId()).isEqualTo(42);
        assertThat(e.fence()).isEqualTo(7);
        assertThat(e.pid()).isEqualTo(4711);
        assertThat(e.instance()).isEqualTo("chaos-1");
        assertThat(WitnessLog.parse("1\tend\tt\t1\t1\t1\ti\tstopped").outcome()).isEqualTo("stopped");
        assertThatThrownBy(() -> WitnessLog.parse("garbage")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theTailReturnsEachCompleteLineOnceAndWaitsForALineCutShort() throws Exception {
        append("witness-a-1.log", "1000\tstep\tt1\t5\t1\t1\ta\t\n2000\tstep\tt1\t5\t1\t1\ta\t\n3000\tst");
        append("witness-b-2.log", "1500\tstep\tt2\t6\t1\t2\tb\t\n");
        append("other.txt", "not a witness file\n");
        var tail = new WitnessLog.Tail(dir);

        assertThat(tail.poll()).hasSize(3);
        assertThat(tail.lastStepOfRun(5)).isEqualTo(2000);
        assertThat(tail.lastProgressOfTask("t2", host -> true)).isEqualTo(1500);
        assertThat(tail.poll()).isEmpty();

        append("witness-a-1.log", "ep\tt1\t5\t1\t1\ta\t\n");
        var more = tail.poll();
        assertThat(more).singleElement().satisfies(e -> assertThat(e.micros()).isEqualTo(3000));
        assertThat(tail.lastStepOfRun(5)).isEqualTo(3000);
        assertThat(WitnessLog.readAll(dir)).hasSize(4);
    }

    @Test
    void aLineOfAWitnessOutsideTheJvmNamesItsKindItsJvmAndItsExecution() {
        var e = WitnessLog.parse("1700000000123456\tstep\t01-exec\t42\t7\t5150\tchaos-2\t\texec\t4711\tx:42:5150");

        assertThat(e.kind()).isEqualTo(HandlerKind.EXEC);
        assertThat(e.pid()).isEqualTo(5150);
        assertThat(e.host()).isEqualTo(4711);
        assertThat(e.execution()).isEqualTo("x:42:5150");
        assertThat(WitnessLog.parse(e.line().strip())).isEqualTo(e);
        var inJvm = WitnessLog.parse("1\tstep\t01-witness\t42\t7\t4711\tchaos-1\t");
        assertThat(inJvm.kind()).isEqualTo(HandlerKind.WITNESS);
        assertThat(inJvm.host())
                .as("an in-JVM handler's JVM is its own process")
                .isEqualTo(4711);
        assertThat(inJvm.execution()).isEqualTo("w:42:4711");
    }

    @Test
    void theTailTellsTheProgressOfLiveJvmsFromThatOfADeadJvmsOrphans() throws Exception {
        append(
                "witness-exec-1.log",
                "1000\tstep\t01-exec\t5\t1\t300\ta\t\texec\t100\tx:5:300\n"
                        + "3000\tstep\t01-exec\t5\t1\t300\ta\t\texec\t100\tx:5:300\n");
        append("witness-exec-2.log", "2000\tstep\t01-exec\t6\t1\t400\tb\t\texec\t200\tx:6:400\n");
        var tail = new WitnessLog.Tail(dir);
        tail.poll();

        assertThat(tail.lastProgressOfTask("01-exec", host -> true)).isEqualTo(3000);
        assertThat(tail.lastProgressOfTask("01-exec", host -> host != 100)).isEqualTo(2000);
        assertThat(tail.lastEventOfTask("01-exec", host -> host != 100).pid()).isEqualTo(400);
        assertThat(tail.lastEventOfTask("01-exec", host -> false)).isNull();
    }
}
