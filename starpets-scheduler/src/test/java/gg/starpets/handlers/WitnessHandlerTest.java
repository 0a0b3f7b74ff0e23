package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.RunContext;
import gg.starpets.support.Timing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WitnessHandlerTest {

    @TempDir
    Path dir;

    private List<String[]> lines() throws Exception {
        try (var files = Files.list(dir)) {
            Path file = files.findFirst().orElseThrow();
            assertThat(file.getFileName().toString())
                    .isEqualTo("witness-instance_1-" + ProcessHandle.current().pid() + ".log");
            return Files.readAllLines(file).stream().map(l -> l.split("\t", -1)).toList();
        }
    }

    @Test
    void eachStepIsWrittenWithItsTimeTaskRunFenceAndProcessThenTheEnd() throws Exception {
        var handler = new WitnessHandler(dir, "instance/1");
        long before = System.currentTimeMillis() * 1_000;

        handler.run(
                RunContext.detached("witness-01", Map.of("duration", "500ms", "step", "100ms"), Duration.ofMinutes(1)));

        var lines = lines();
        var steps = lines.stream().filter(l -> l[1].equals("step")).toList();
        assertThat(steps).hasSizeBetween(4, 5);
        assertThat(steps).allSatisfy(l -> {
            assertThat(Long.parseLong(l[0])).isGreaterThanOrEqualTo(before);
            assertThat(l[2]).isEqualTo("witness-01");
            assertThat(l[3]).isEqualTo("0");
            assertThat(l[5]).isEqualTo(Long.toString(ProcessHandle.current().pid()));
            assertThat(l[6]).isEqualTo("instance/1");
        });
        assertThat(Long.parseLong(steps.get(1)[0]) - Long.parseLong(steps.get(0)[0]))
                .as("a step apart, in microseconds")
                .isGreaterThanOrEqualTo(100_000);
        assertThat(lines.getLast()[1]).isEqualTo("end");
        assertThat(lines.getLast()[7]).isEqualTo("done");
    }

    @Test
    void anInterruptedRunStopsAtOnceAndSaysSo() throws Exception {
        var handler = new WitnessHandler(dir, "instance/1");
        Thread run = Thread.ofVirtual()
                .start(() ->
                        handler.run(RunContext.detached("witness-02", Map.of("duration", "1h"), Duration.ofHours(2))));
        await().atMost(Timing.SOON).until(() -> Files.list(dir).findAny().isPresent());

        run.interrupt();

        assertThat(run.join(Duration.ofSeconds(10))).isTrue();
        var last = lines().getLast();
        assertThat(last[1]).isEqualTo("end");
        assertThat(last[7]).isIn("interrupted", "stopped");
    }

    @Test
    void unknownOrNonsenseParamsAreRefused() {
        var handler = new WitnessHandler(dir, "instance-1");

        handler.validate(Map.of("duration", "5s", "step", "100ms"));
        assertThatThrownBy(() -> handler.validate(Map.of("speed", "fast"))).hasMessageContaining("speed");
        assertThatThrownBy(() -> handler.validate(Map.of("step", "0ms"))).hasMessageContaining("step");
        assertThatThrownBy(() -> handler.validate(Map.of("duration", "soon"))).hasMessageContaining("duration");
    }
}
