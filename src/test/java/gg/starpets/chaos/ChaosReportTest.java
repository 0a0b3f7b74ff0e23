package gg.starpets.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.chaos.ChaosJudge.Row;
import gg.starpets.chaos.ChaosJudge.Verdict;
import gg.starpets.chaos.ChaosReport.Target;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChaosReportTest {

    private static Row row(FaultKind kind, int overlaps, int stuck, int lost, List<Double> recovery) {
        return new Row(kind, 1, 10, overlaps, 0, stuck, lost, 0, 0, recovery, 0);
    }

    private static Target target(Verdict v, String prefix) {
        return ChaosReport.targets(v).stream()
                .filter(t -> t.name().startsWith(prefix))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void aCleanRunMeetsEveryTarget() {
        var v = new Verdict(
                List.of(
                        row(FaultKind.SIGKILL, 0, 0, 3, List.of(0.3, 0.5)),
                        row(FaultKind.PG_RESTART, 0, 0, 0, List.of(0.1)),
                        row(null, 0, 0, 0, List.of())),
                List.of(),
                List.of());

        assertThat(ChaosReport.targets(v))
                .allSatisfy(t -> assertThat(t.met()).as(t.name()).isTrue());
    }

    @Test
    void overlapsStuckRunsAndLossOnARestartFailTheCorrectnessTargets() {
        var v = new Verdict(
                List.of(
                        row(FaultKind.SIGSTOP_LONG, 2, 0, 1, List.of(6.0)),
                        row(FaultKind.PG_RESTART, 0, 0, 4, List.of(0.1)),
                        row(FaultKind.PROXY_RESET, 0, 0, 2, List.of(0.1)),
                        row(null, 0, 1, 0, List.of())),
                List.of(),
                List.of());

        assertThat(target(v, "0 overlapping").met()).isFalse();
        assertThat(target(v, "0 overlapping").figure()).isEqualTo("2");
        assertThat(target(v, "0 runs left").met()).isFalse();
        assertThat(target(v, "0 runs LOST: pg-restart").met()).isFalse();
        assertThat(ChaosReport.targets(v))
                .as("LOST is allowed where the fault may outlast the lease")
                .noneMatch(t -> t.name().contains("proxy-reset") || t.name().contains("sigstop"));
    }

    @Test
    void aSlowCrashRecoveryFailsATimingTargetThatIsNotACorrectnessOne() {
        var v = new Verdict(List.of(row(FaultKind.SIGKILL, 0, 0, 1, List.of(0.4, 1.2))), List.of(), List.of());

        Target t = target(v, "crash");
        assertThat(t.met()).isFalse();
        assertThat(t.correctness()).isFalse();
        assertThat(t.figure()).isEqualTo("1.20 s");
    }

    @Test
    void theTableHasARowPerFaultKindWithItsPercentiles() {
        var v = new Verdict(
                List.of(row(FaultKind.SIGKILL, 0, 0, 1, List.of(0.2, 0.4, 0.9)), row(null, 0, 0, 0, List.of())),
                List.of(),
                List.of());
        var bytes = new ByteArrayOutputStream();
        var settings = ChaosSettings.fromEnvironment(new String[] {"1", "3"}, Map.of());

        ChaosReport.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), settings, v, Map.of(), "");

        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(text)
                .contains(
                        "| SIGKILL of an instance, then started again | 1 | 10 | 0 | 0 | 0 | 1 | 0 | 0 | 0.40 s | 0.90 s |");
        assertThat(text).contains("| crash (SIGKILL) recovery p99 <= 1 s | 0.90 s | PASS |");
        assertThat(text).contains("3 instances, 1 round(s); lease 10 s, heartbeat 1 s");
    }
}
