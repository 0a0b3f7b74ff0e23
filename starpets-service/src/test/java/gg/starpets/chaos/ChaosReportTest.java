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

    private static Row row(
            FaultKind kind, HandlerKind handler, int overlaps, int stuck, int lost, List<Double> recovery) {
        return new Row(kind, handler, 1, 10, overlaps, 0, stuck, lost, 0, 0, recovery, 0);
    }

    private static Row row(FaultKind kind, int overlaps, int stuck, int lost, List<Double> recovery) {
        return row(kind, null, overlaps, stuck, lost, recovery);
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
                List.of(
                        row(FaultKind.SIGKILL, HandlerKind.EXEC, 0, 0, 3, List.of(0.3)),
                        row(FaultKind.PG_RESTART, HandlerKind.EXEC, 0, 0, 0, List.of(0.1))),
                List.of(),
                List.of());

        assertThat(ChaosReport.targets(v))
                .allSatisfy(t -> assertThat(t.met()).as(t.name()).isTrue());
    }

    @Test
    void overlapsAndStuckRunsFailTheTargetOfTheirHandlerKind() {
        var v = new Verdict(
                List.of(row(FaultKind.SIGSTOP_LONG, 2, 1, 1, List.of(6.0)), row(null, 0, 0, 0, List.of())),
                List.of(
                        row(FaultKind.SIGSTOP_LONG, HandlerKind.WITNESS, 0, 0, 0, List.of(6.0)),
                        row(FaultKind.SIGSTOP_LONG, HandlerKind.EXEC, 2, 0, 1, List.of(6.0)),
                        row(FaultKind.SIGSTOP_LONG, HandlerKind.SQL, 0, 1, 0, List.of(6.0))),
                List.of(),
                List.of());

        assertThat(target(v, "0 overlapping live handlers: exec").met()).isFalse();
        assertThat(target(v, "0 overlapping live handlers: exec").figure()).isEqualTo("2");
        assertThat(target(v, "0 overlapping live handlers: witness").met()).isTrue();
        assertThat(target(v, "0 runs left non-terminal: sql").met()).isFalse();
        assertThat(target(v, "0 runs left non-terminal: exec").met()).isTrue();
        assertThat(ChaosReport.targets(v).stream().filter(t -> t.correctness() && !t.met()))
                .hasSize(2);
    }

    @Test
    void aRunSteppingAfterItsRecordedEndFailsItsHandlersTarget() {
        Row late = new Row(FaultKind.PROXY_RESET, HandlerKind.SQL, 1, 10, 0, 0, 0, 0, 1, 1, List.of(0.1), 0);
        var v = new Verdict(
                List.of(row(FaultKind.PROXY_RESET, 0, 0, 0, List.of(0.1))),
                List.of(late, row(FaultKind.PROXY_RESET, HandlerKind.EXEC, 0, 0, 0, List.of(0.1))),
                List.of(),
                List.of());

        Target t = target(v, "0 runs stepping after their end: sql");
        assertThat(t.met()).isFalse();
        assertThat(t.correctness()).isTrue();
        assertThat(t.figure()).isEqualTo("1");
        assertThat(target(v, "0 runs stepping after their end: exec").met()).isTrue();
    }

    @Test
    void aRunLostToAFaultShorterThanTheLeaseFailsItsTarget() {
        var v = new Verdict(
                List.of(
                        row(FaultKind.SIGSTOP_LONG, 0, 0, 1, List.of(6.0)),
                        row(FaultKind.PG_RESTART, 0, 0, 4, List.of(0.1)),
                        row(FaultKind.PG_CRASH, 0, 0, 0, List.of(0.1)),
                        row(FaultKind.PROXY_RESET, 0, 0, 2, List.of(0.1)),
                        row(FaultKind.CUT_LONG, 0, 0, 3, List.of(9.0))),
                List.of(),
                List.of(),
                List.of());

        assertThat(target(v, "0 runs LOST: pg-restart").met()).isFalse();
        assertThat(target(v, "0 runs LOST: proxy-reset").met()).isFalse();
        assertThat(target(v, "0 runs LOST: pg-crash").met()).isTrue();
        assertThat(ChaosReport.targets(v))
                .as("LOST is allowed where the fault outlasts the lease")
                .noneMatch(t -> t.name().contains("sigstop-long") || t.name().contains("cut-long"));
    }

    @Test
    void aSlowCrashRecoveryFailsATimingTargetThatIsNotACorrectnessOne() {
        var v = new Verdict(
                List.of(row(FaultKind.SIGKILL, 0, 0, 1, List.of(0.4, 1.2))), List.of(), List.of(), List.of());

        Target t = target(v, "crash");
        assertThat(t.met()).isFalse();
        assertThat(t.correctness()).isFalse();
        assertThat(t.figure()).isEqualTo("1.20 s");
    }

    @Test
    void theTablesHaveARowPerFaultKindAndOnePerFaultAndHandlerKind() {
        var v = new Verdict(
                List.of(row(FaultKind.SIGKILL, 0, 0, 1, List.of(0.2, 0.4, 0.9)), row(null, 0, 0, 0, List.of())),
                List.of(row(FaultKind.SIGKILL, HandlerKind.SQL, 3, 0, 1, List.of(0.9))),
                List.of(),
                List.of());
        var bytes = new ByteArrayOutputStream();
        var settings = ChaosSettings.fromEnvironment(new String[] {"1", "3"}, Map.of());

        ChaosReport.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), settings, v, Map.of(), "");

        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(text)
                .contains(
                        "| SIGKILL of an instance, then started again | 1 | 10 | 0 | 0 | 0 | 1 | 0 | 0 | 0.40 s | 0.90 s |");
        assertThat(text)
                .contains(
                        "| SIGKILL of an instance, then started again | sql | 1 | 10 | 3 | 0 | 0 | 1 | 0 | 0 | 0.90 s | 0.90 s |");
        assertThat(text).contains("| crash (SIGKILL) recovery p99 <= 1 s | 0.90 s | PASS |");
        assertThat(text).contains("| 0 overlapping live handlers: sql (every fault kind) | 3 | FAIL |");
        assertThat(text).contains("3 instances, 1 round(s); lease 10 s, heartbeat 1 s; 12 tasks (witness, exec, sql)");
    }
}
