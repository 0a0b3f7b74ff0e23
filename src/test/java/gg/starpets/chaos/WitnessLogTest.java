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
        var e = WitnessLog.parse("1700000000123456\tstep\twitness-01\t42\t7\t4711\tchaos-1\t");

        assertThat(e.micros()).isEqualTo(1_700_000_000_123_456L);
        assertThat(e.end()).isFalse();
        assertThat(e.task()).isEqualTo("witness-01");
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
        assertThat(tail.lastProgressOfTask("t2")).isEqualTo(1500);
        assertThat(tail.poll()).isEmpty();

        append("witness-a-1.log", "ep\tt1\t5\t1\t1\ta\t\n");
        var more = tail.poll();
        assertThat(more).singleElement().satisfies(e -> assertThat(e.micros()).isEqualTo(3000));
        assertThat(tail.lastStepOfRun(5)).isEqualTo(3000);
        assertThat(WitnessLog.readAll(dir)).hasSize(4);
    }
}
