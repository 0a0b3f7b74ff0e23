package gg.starpets.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.chaos.ChaosJudge.Input;
import gg.starpets.chaos.ChaosJudge.RunRow;
import gg.starpets.chaos.ChaosJudge.Verdict;
import gg.starpets.chaos.WitnessLog.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The judge on synthetic witness logs: times in ms below, steps of 100 ms. */
class ChaosJudgeTest {

    private static final Duration STEP = Duration.ofMillis(100);
    private static final Duration DELAY = Duration.ofSeconds(1);

    /** Steps of one run every 100 ms from {@code fromMs} to {@code toMs}, both included. */
    private static List<Event> steps(String task, long run, long pid, long fromMs, long toMs) {
        List<Event> events = new ArrayList<>();
        for (long t = fromMs; t <= toMs; t += 100) {
            events.add(Event.step(t * 1_000, task, run, pid));
        }
        return events;
    }

    private static Event end(String task, long run, long pid, long atMs, String outcome) {
        return Event.end(atMs * 1_000, task, run, pid, outcome);
    }

    @SafeVarargs
    private static List<Event> log(List<Event>... parts) {
        List<Event> all = new ArrayList<>();
        for (List<Event> p : parts) {
            all.addAll(p);
        }
        return all;
    }

    private static Fault fault(FaultKind kind, Set<Long> victims, long injectedMs, long settledMs, Long... stuck) {
        return lasting(kind, victims, injectedMs, 0, settledMs, stuck);
    }

    /** A fault applied 5 ms after its injection that lasted {@code lengthMs} (a freeze). */
    private static Fault lasting(
            FaultKind kind, Set<Long> victims, long injectedMs, long lengthMs, long settledMs, Long... stuck) {
        return new Fault(
                kind,
                1,
                List.of("victim"),
                victims,
                injectedMs * 1_000,
                injectedMs * 1_000 + 5_000,
                settledMs * 1_000,
                lengthMs * 1_000,
                true,
                Set.of(stuck));
    }

    /** Steps every 100 ms of a witness execution outside the JVM: an exec program, or a sql statement. */
    private static List<Event> outside(
            HandlerKind kind, String task, long run, long pid, long host, String execution, long fromMs, long toMs) {
        List<Event> events = new ArrayList<>();
        for (long t = fromMs; t <= toMs; t += 100) {
            events.add(new Event(t * 1_000, false, task, run, 0, pid, "i" + host, "", kind, host, execution));
        }
        return events;
    }

    private static List<Event> program(String task, long run, long pid, long host, long fromMs, long toMs) {
        return outside(HandlerKind.EXEC, task, run, pid, host, "x:" + run + ":" + pid, fromMs, toMs);
    }

    private static Event outsideEnd(
            HandlerKind kind, String task, long run, long pid, long host, String execution, long atMs, String outcome) {
        return new Event(atMs * 1_000, true, task, run, 0, pid, "i" + host, outcome, kind, host, execution);
    }

    private static Verdict judge(List<Event> events, List<Fault> faults, Map<Long, Long> deathsMs, List<RunRow> runs) {
        Map<Long, Long> deaths = new java.util.HashMap<>();
        deathsMs.forEach((pid, ms) -> deaths.put(pid, ms * 1_000));
        return ChaosJudge.judge(new Input(events, STEP, DELAY, faults, deaths, runs, Set.of(), Set.of()));
    }

    private static RunRow run(long id, String task, String status, long startedMs, Long finishedMs) {
        return new RunRow(id, task, "i", status, startedMs * 1_000, finishedMs == null ? null : finishedMs * 1_000);
    }

    @Test
    void twoProcessesSteppingOneTaskInTheSameIntervalAreAnOverlap() {
        var events = log(steps("a", 1, 100, 0, 1_000), steps("a", 2, 200, 500, 1_500));

        Verdict v =
                judge(events, List.of(fault(FaultKind.SESSION_KILL, Set.of(100L), 400, 2_000)), Map.of(), List.of());

        assertThat(v.overlaps()).hasSize(1);
        var o = v.overlaps().getFirst();
        assertThat(o.task()).isEqualTo("a");
        assertThat(o.fromMicros()).isEqualTo(500_000);
        assertThat(o.toMicros()).isEqualTo(1_100_000);
        assertThat(v.row(FaultKind.SESSION_KILL).overlaps()).isEqualTo(1);
        assertThat(v.row(null).overlaps()).isZero();
    }

    @Test
    void anOverlapOutsideEveryFaultWindowIsCountedBetweenFaults() {
        var events = log(steps("a", 1, 100, 0, 1_000), steps("a", 2, 200, 500, 1_500));

        Verdict v = judge(events, List.of(), Map.of(), List.of());

        assertThat(v.row(null).overlaps()).isEqualTo(1);
    }

    @Test
    void aRunThatStartsAfterTheOtherHandlerReturnedIsNoOverlap() {
        // Run 1's last step at 900 ms would count until 1000 ms, but its handler returned at 920 ms.
        var events =
                log(steps("a", 1, 100, 0, 900), List.of(end("a", 1, 100, 920, "done")), steps("a", 2, 200, 950, 2_000));

        assertThat(judge(events, List.of(), Map.of(), List.of()).overlaps()).isEmpty();
    }

    @Test
    void aKilledProcessIsLiveOnlyUntilItsDeath() {
        var events = log(steps("a", 1, 100, 0, 900), steps("a", 2, 200, 950, 2_000));

        assertThat(judge(events, List.of(), Map.of(100L, 910L), List.of()).overlaps())
                .as("dead at 910 ms")
                .isEmpty();
        assertThat(judge(events, List.of(), Map.of(), List.of()).overlaps())
                .as("without the death, its last step counts until 1000 ms")
                .hasSize(1);
    }

    @Test
    void aFrozenHandlerThatTakesAStepAfterWakingOverlapsTheRunThatTookOver() {
        // Frozen at 550 ms for 15 s; another instance ran the task from 10 s; the frozen one stepped once at 15 s.
        var events = log(
                steps("a", 1, 100, 0, 500),
                List.of(Event.step(15_000_000, "a", 1, 100), end("a", 1, 100, 15_020, "interrupted")),
                steps("a", 2, 200, 10_000, 14_000),
                steps("a", 3, 200, 15_000, 16_000));

        Verdict v =
                judge(events, List.of(fault(FaultKind.SIGSTOP_LONG, Set.of(100L), 550, 20_000)), Map.of(), List.of());

        assertThat(v.overlaps()).hasSize(2);
        assertThat(v.row(FaultKind.SIGSTOP_LONG).overlaps()).isEqualTo(2);
    }

    @Test
    void aFrozenHandlerThatStopsWithoutAnotherStepDoesNotOverlap() {
        var events = log(
                steps("a", 1, 100, 0, 500),
                List.of(end("a", 1, 100, 15_020, "stopped")),
                steps("a", 2, 200, 10_000, 14_000));

        assertThat(judge(events, List.of(), Map.of(), List.of()).overlaps()).isEmpty();
    }

    @Test
    void twoRunsOfOneTaskInOneProcessAreASameProcessOverlap() {
        var events = log(steps("a", 1, 100, 0, 1_000), steps("a", 2, 100, 300, 800));

        Verdict v = judge(events, List.of(), Map.of(), List.of());

        assertThat(v.row(null).sameProcessOverlaps()).isEqualTo(1);
        assertThat(v.row(null).overlaps()).isZero();
    }

    @Test
    void differentTasksStepAtOnceWithoutOverlap() {
        var events = log(steps("a", 1, 100, 0, 1_000), steps("b", 2, 200, 0, 1_000));

        assertThat(judge(events, List.of(), Map.of(), List.of()).overlaps()).isEmpty();
    }

    @Test
    void runsLostOrCutShortAreCountedForTheFaultWhoseWindowTheyEndedIn() {
        var runs = List.of(
                run(1, "a", "LOST", 0, 1_500L),
                run(2, "b", "LOST", 0, 5_000L),
                run(3, "c", "INTERRUPTED", 0, 1_200L),
                run(4, "d", "SUCCEEDED", 0, 1_100L),
                run(5, "e", "RUNNING", 1_900, null));

        Verdict v = judge(List.of(), List.of(fault(FaultKind.PG_RESTART, Set.of(), 1_000, 2_000)), Map.of(), runs);

        var restart = v.row(FaultKind.PG_RESTART);
        assertThat(restart.lost()).isEqualTo(1);
        assertThat(restart.cutShort()).isEqualTo(1);
        assertThat(restart.runs()).as("runs in progress during the window").isEqualTo(5);
        assertThat(v.row(null).lost()).isEqualTo(1);
    }

    @Test
    void stepsAfterTheRunWasRecordedLostAreReported() {
        var events = log(steps("a", 7, 100, 0, 1_200));
        var runs = List.of(run(7, "a", "LOST", 0, 1_000L));

        Verdict v = judge(events, List.of(fault(FaultKind.PROXY_RESET, Set.of(100L), 900, 3_000)), Map.of(), runs);

        assertThat(v.late()).hasSize(1);
        assertThat(v.late().getFirst().steps()).isEqualTo(2);
        assertThat(v.late().getFirst().status()).isEqualTo("LOST");
        assertThat(v.row(FaultKind.PROXY_RESET).lateRuns()).isEqualTo(1);
    }

    @Test
    void aRunLeftRunningIsCountedOnceForTheFirstFaultThatFoundIt() {
        var runs = List.of(run(9, "a", "RUNNING", 500, null), run(10, "b", "RUNNING", 4_500, null));
        var faults = List.of(
                fault(FaultKind.SIGSTOP_LONG, Set.of(), 1_000, 2_000, 9L),
                fault(FaultKind.PROXY_RESET, Set.of(), 4_000, 5_000, 9L));

        Verdict v =
                ChaosJudge.judge(new Input(List.of(), STEP, DELAY, faults, Map.of(), runs, Set.of(9L, 10L), Set.of()));

        assertThat(v.row(FaultKind.SIGSTOP_LONG).nonTerminal()).isEqualTo(1);
        assertThat(v.row(FaultKind.PROXY_RESET).nonTerminal())
                .as("run 10, stuck at the end, started in this window")
                .isEqualTo(1);
    }

    @Test
    void recoveryIsUntilEveryTaskTheVictimWasRunningTakesAStepAgain() {
        // pid 100 runs a and b, killed at 1000 ms; a runs again at 1400 ms, b at 1600 ms; c (pid 200) is untouched.
        var events = log(
                steps("a", 1, 100, 0, 1_000),
                steps("b", 2, 100, 0, 1_000),
                steps("c", 3, 200, 0, 3_000),
                steps("a", 4, 200, 1_400, 2_000),
                steps("b", 5, 300, 1_600, 2_000));

        Verdict v = judge(
                events, List.of(fault(FaultKind.SIGKILL, Set.of(100L), 1_000, 3_000)), Map.of(100L, 1_005L), List.of());

        assertThat(v.row(FaultKind.SIGKILL).recoverySeconds()).containsExactly(0.6);
        assertThat(v.row(FaultKind.SIGKILL).unrecovered()).isZero();
    }

    @Test
    void aTaskThatNeverRunsAgainLeavesTheFaultUnrecovered() {
        var events = log(steps("a", 1, 100, 0, 1_000), steps("b", 2, 100, 0, 1_000), steps("a", 4, 200, 1_400, 2_000));

        Verdict v = judge(
                events, List.of(fault(FaultKind.SIGKILL, Set.of(100L), 1_000, 3_000)), Map.of(100L, 1_005L), List.of());

        assertThat(v.row(FaultKind.SIGKILL).recoverySeconds()).isEmpty();
        assertThat(v.row(FaultKind.SIGKILL).unrecovered()).isEqualTo(1);
    }

    @Test
    void aVictimThatGoesOnWithItsOwnRunRecoversWhenItStepsAgain() {
        // Frozen from 1000 ms to 3000 ms, then it goes on with the same run.
        var events = log(steps("a", 1, 100, 0, 1_000), steps("a", 1, 100, 3_000, 4_000));

        Verdict v =
                judge(events, List.of(fault(FaultKind.SIGSTOP_SHORT, Set.of(100L), 1_000, 5_000)), Map.of(), List.of());

        assertThat(v.row(FaultKind.SIGSTOP_SHORT).recoverySeconds()).containsExactly(2.0);
        assertThat(v.overlaps()).isEmpty();
    }

    @Test
    void aRunWhoseLengthRanOutDuringAFreezeRecoversWhenItFinishesNotAtTheNextRun() {
        // Frozen from 1000 ms to 3000 ms; its 1.5 s were over by then, so it returned without a step.
        var events = log(
                steps("a", 1, 100, 0, 1_000),
                List.of(end("a", 1, 100, 3_010, "done")),
                steps("a", 2, 100, 4_100, 5_000));

        Verdict v =
                judge(events, List.of(fault(FaultKind.SIGSTOP_SHORT, Set.of(100L), 1_000, 6_000)), Map.of(), List.of());

        assertThat(v.row(FaultKind.SIGSTOP_SHORT).recoverySeconds()).containsExactly(2.01);
    }

    @Test
    void aRunToldToStopIsNoRecovery() {
        var events = log(
                steps("a", 1, 100, 0, 1_000),
                List.of(end("a", 1, 100, 3_010, "stopped")),
                steps("a", 2, 200, 4_000, 5_000));

        Verdict v =
                judge(events, List.of(fault(FaultKind.SIGSTOP_LONG, Set.of(100L), 1_000, 6_000)), Map.of(), List.of());

        assertThat(v.row(FaultKind.SIGSTOP_LONG).recoverySeconds()).containsExactly(3.0);
    }

    @Test
    void aVictimThatGoesOnAndIsStoppedLaterRecoversWhenTheTaskRunsAgainElsewhere() {
        // Cut off at 1000 ms, it steps on until it fences itself at 3000 ms; another instance runs the task from 5200
        // ms.
        var events = log(
                steps("a", 1, 100, 0, 3_000),
                List.of(end("a", 1, 100, 3_010, "interrupted")),
                steps("a", 2, 200, 5_200, 6_000));

        Verdict v = judge(events, List.of(fault(FaultKind.CUT_LONG, Set.of(100L), 1_000, 7_000)), Map.of(), List.of());

        assertThat(v.row(FaultKind.CUT_LONG).recoverySeconds()).containsExactly(4.2);
    }

    @Test
    void thePauseAfterARunThatFinishedItsWorkIsNoStall() {
        // The run finishes at 2050 ms; the next one starts a schedule's delay later.
        var events = log(
                steps("a", 1, 100, 0, 2_000),
                List.of(end("a", 1, 100, 2_050, "done")),
                steps("a", 2, 200, 3_050, 4_000));

        Verdict v = judge(events, List.of(fault(FaultKind.SIGTERM, Set.of(100L), 1_000, 5_000)), Map.of(), List.of());

        assertThat(v.row(FaultKind.SIGTERM).recoverySeconds()).containsExactly(0.1);
    }

    @Test
    void aRunThatFinishedButWhoseEndWasNotRecordedStallsItsTaskUntilAnotherInstanceTakesItOver() {
        // Cut off at 1000 ms; its run finishes at 2050 ms, but the task stays its own until the lease runs out.
        var events = log(
                steps("a", 1, 100, 0, 2_000),
                List.of(end("a", 1, 100, 2_050, "done")),
                steps("a", 2, 200, 9_000, 10_000));

        Verdict v = judge(events, List.of(fault(FaultKind.CUT_LONG, Set.of(100L), 1_000, 11_000)), Map.of(), List.of());

        assertThat(v.row(FaultKind.CUT_LONG).recoverySeconds()).containsExactly(8.0);
    }

    @Test
    void anOrphanProgramOfAKilledJvmStaysLiveAndOverlapsTheRunThatTookOver() {
        // JVM 100 is killed at 1000 ms; its program 300 goes on stepping until 3000 ms; JVM 200's program from 1600 ms.
        // Its program 301 was last seen at 990 ms: nothing says it died with the JVM, it is live until 1090 ms.
        var events = log(
                program("01-exec", 1, 300, 100, 0, 3_000),
                program("01-exec", 2, 400, 200, 1_600, 5_000),
                program("02-exec", 3, 301, 100, 90, 990),
                program("02-exec", 4, 401, 200, 1_050, 2_000));

        Verdict v = judge(
                events, List.of(fault(FaultKind.SIGKILL, Set.of(100L), 1_000, 6_000)), Map.of(100L, 1_000L), List.of());

        assertThat(v.overlaps()).hasSize(2);
        assertThat(v.overlaps().getLast()).satisfies(o -> {
            assertThat(o.fromMicros()).isEqualTo(1_600_000);
            assertThat(o.toMicros()).as("the orphan's last step plus a step").isEqualTo(3_100_000);
        });
        assertThat(v.row(FaultKind.SIGKILL, HandlerKind.EXEC).overlaps()).isEqualTo(2);
    }

    @Test
    void committedSqlWorkIsLiveUntilItsCommit() {
        // Statement A ends at 1000 ms; its JVM, frozen before the commit, commits at 12 s; B started at 10 s.
        String a = "s:500:0";
        String b = "s:600:10000000";
        var events = log(
                outside(HandlerKind.SQL, "01-sql", 1, 500, 100, a, 0, 900),
                List.of(
                        outsideEnd(HandlerKind.SQL, "01-sql", 1, 500, 100, a, 1_000, "done"),
                        outsideEnd(HandlerKind.SQL, "01-sql", 1, 500, 100, a, 12_000, "committed")),
                outside(HandlerKind.SQL, "01-sql", 2, 600, 200, b, 10_000, 14_000));

        Verdict v = judge(events, List.of(), Map.of(), List.of());

        assertThat(v.overlaps()).singleElement().satisfies(o -> {
            assertThat(o.fromMicros()).isEqualTo(10_000_000);
            assertThat(o.toMicros()).isEqualTo(12_000_000);
        });
        assertThat(v.row(null, HandlerKind.SQL).overlaps()).isEqualTo(1);
    }

    @Test
    void aStatementIsLiveOnlyUntilPostgresShowedItEndedWhenItsWorkNeverCommitted() {
        String a = "s:500:0";
        var events = log(
                outside(HandlerKind.SQL, "01-sql", 1, 500, 100, a, 0, 900),
                List.of(outsideEnd(HandlerKind.SQL, "01-sql", 1, 500, 100, a, 920, "done")),
                outside(HandlerKind.SQL, "01-sql", 2, 600, 200, "s:600:950000", 950, 2_000));

        assertThat(judge(events, List.of(), Map.of(), List.of()).overlaps()).isEmpty();
    }

    @Test
    void executionsAreToldApartByTheirIdNotByProcessAndRun() {
        // Backend 500 runs two statements of sql-01 (its runs unknown: 0), 5 s apart; backend 600 runs one between.
        var events = log(
                outside(HandlerKind.SQL, "01-sql", 0, 500, 100, "s:500:0", 0, 1_000),
                outside(HandlerKind.SQL, "01-sql", 0, 600, 200, "s:600:2000000", 2_000, 3_000),
                outside(HandlerKind.SQL, "01-sql", 0, 500, 100, "s:500:5000000", 5_000, 6_000));

        assertThat(judge(events, List.of(), Map.of(), List.of()).overlaps()).isEmpty();
    }

    @Test
    void twoProgramsOfOneTaskStartedByOneJvmAreASameProcessOverlap() {
        var events = log(program("01-exec", 1, 300, 100, 0, 1_000), program("01-exec", 2, 301, 100, 500, 1_500));

        Verdict v = judge(events, List.of(), Map.of(), List.of());

        assertThat(v.row(null).sameProcessOverlaps()).isEqualTo(1);
        assertThat(v.row(null).overlaps()).isZero();
        assertThat(v.row(null, HandlerKind.EXEC).sameProcessOverlaps()).isEqualTo(1);
    }

    @Test
    void aCommitAfterTheRunWasRecordedLostIsWorkAfterItsEnd() {
        String a = "s:500:0";
        var events = log(
                outside(HandlerKind.SQL, "01-sql", 7, 500, 100, a, 0, 900),
                List.of(
                        outsideEnd(HandlerKind.SQL, "01-sql", 7, 500, 100, a, 950, "done"),
                        outsideEnd(HandlerKind.SQL, "01-sql", 7, 500, 100, a, 5_000, "committed")));
        var runs = List.of(run(7, "01-sql", "LOST", 0, 3_000L));

        Verdict v = judge(events, List.of(), Map.of(), runs);

        assertThat(v.late()).singleElement().satisfies(l -> {
            assertThat(l.steps()).isZero();
            assertThat(l.committed()).isTrue();
            assertThat(l.lastMicros()).isEqualTo(5_000_000);
        });
    }

    @Test
    void everyFigureIsAlsoKeptPerHandlerKind() {
        var events = log(
                program("01-exec", 1, 300, 100, 0, 3_000),
                program("01-exec", 2, 400, 200, 1_600, 5_000),
                steps("01-witness", 3, 100, 0, 500));
        var runs = List.of(
                run(1, "01-exec", "LOST", 0, 1_500L),
                run(3, "01-witness", "LOST", 0, 1_500L),
                run(4, "01-sql", "LOST", 0, 1_400L),
                run(5, "01-sql", "RUNNING", 1_200, null));
        var faults = List.of(lasting(FaultKind.SIGSTOP_LONG, Set.of(100L), 1_000, 500, 6_000, 5L));

        Verdict v = judge(events, faults, Map.of(), runs);

        assertThat(v.row(FaultKind.SIGSTOP_LONG).lost()).isEqualTo(3);
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.EXEC).overlaps()).isEqualTo(1);
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.EXEC).lost()).isEqualTo(1);
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.WITNESS).overlaps())
                .isZero();
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.SQL).lost()).isEqualTo(1);
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.SQL).nonTerminal()).isEqualTo(1);
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.SQL).faults()).isEqualTo(1);
        assertThat(v.row(FaultKind.SIGSTOP_LONG, HandlerKind.EXEC).runs()).isEqualTo(1);
    }

    @Test
    void stepsOfADeadJvmsOrphanProgramAreNoRecovery() {
        // JVM 100 is killed at 1000 ms; its orphan steps on until 4500 ms; the task runs again (JVM 200) from 4000 ms.
        var events = log(program("01-exec", 1, 300, 100, 0, 4_500), program("01-exec", 2, 400, 200, 4_000, 5_000));

        Verdict v = judge(
                events, List.of(fault(FaultKind.SIGKILL, Set.of(100L), 1_000, 6_000)), Map.of(100L, 1_000L), List.of());

        assertThat(v.row(FaultKind.SIGKILL).recoverySeconds()).containsExactly(3.0);
        assertThat(v.row(FaultKind.SIGKILL, HandlerKind.EXEC).recoverySeconds()).containsExactly(3.0);
    }

    @Test
    void aFrozenVictimsProgramSteppingThroughTheFreezeIsNoRecovery() {
        // JVM 100 is frozen from 1005 ms for 15 s; its program steps on; JVM 200 runs the task from 11 s.
        var events = log(program("01-exec", 1, 300, 100, 0, 20_000), program("01-exec", 2, 400, 200, 11_000, 20_000));

        Verdict v = judge(
                events,
                List.of(lasting(FaultKind.SIGSTOP_LONG, Set.of(100L), 1_000, 15_000, 21_000)),
                Map.of(),
                List.of());

        assertThat(v.row(FaultKind.SIGSTOP_LONG).recoverySeconds()).containsExactly(10.0);
    }

    @Test
    void aGroupsTasksLiveAtOnceAreCountedAcrossProcessesEndsBeforeStarts() {
        // 01-witness and 04-witness in the group, from two processes; 07-witness outside it.
        var events = log(
                steps("01-witness", 1, 100, 0, 1_000),
                List.of(end("01-witness", 1, 100, 1_050, "done")),
                steps("04-witness", 2, 200, 500, 2_000),
                List.of(end("04-witness", 2, 200, 2_050, "done")),
                // Starts when the first has ended: never three at once.
                steps("01-witness", 3, 200, 1_050, 3_000),
                List.of(end("01-witness", 3, 200, 3_050, "done")),
                steps("07-witness", 4, 100, 0, 3_000));
        var input = new Input(events, STEP, DELAY, List.of(), Map.of(), List.of(), Set.of(), Set.of());

        assertThat(ChaosJudge.mostAtOnce(ChaosJudge.executions(input), Set.of("01-witness", "04-witness")))
                .isEqualTo(2);
        assertThat(ChaosJudge.mostAtOnce(
                        ChaosJudge.executions(input), Set.of("01-witness", "04-witness", "07-witness")))
                .isEqualTo(3);
        assertThat(ChaosReport.groupTarget(3, 2).met()).isFalse();
        assertThat(ChaosReport.groupTarget(2, 2).met()).isTrue();
    }

    @Test
    void recoveryIsMeasuredOverTheTasksInNoGroupNotOverThoseWaitingForASlot() {
        // JVM 100 is killed at 1 s (reaped at 1.05 s). 10-witness runs again elsewhere at 1.5 s; 01-witness, in
        // the group, waits for a slot until 15 s: the group's turnover, not the failover.
        var events = log(
                steps("01-witness", 1, 100, 0, 1_000),
                steps("10-witness", 2, 100, 0, 1_000),
                steps("10-witness", 3, 200, 1_500, 20_000),
                steps("01-witness", 4, 300, 15_000, 20_000));
        var input = new Input(
                events,
                STEP,
                DELAY,
                List.of(fault(FaultKind.SIGKILL, Set.of(100L), 1_000, 20_000)),
                Map.of(100L, 1_050_000L),
                List.of(),
                Set.of(),
                Set.of("01-witness"));

        Verdict v = ChaosJudge.judge(input);

        assertThat(v.row(FaultKind.SIGKILL).recoverySeconds()).containsExactly(0.5);
        assertThat(v.row(FaultKind.SIGKILL, HandlerKind.WITNESS).recoverySeconds())
                .containsExactly(0.5);
    }

    /** A group of limit 2 over 01-, 04- and 07-witness: 01 on JVM 100 until {@code firstEndsMs}, 04 throughout. */
    private static List<ChaosJudge.Execution> groupOfTwo(long firstEndsMs, Long thirdStartsMs) {
        var events = log(
                steps("01-witness", 1, 100, 0, firstEndsMs),
                steps("04-witness", 2, 200, 0, 30_000),
                thirdStartsMs == null ? List.of() : steps("07-witness", 3, 200, thirdStartsMs, 30_000));
        var input = new Input(events, STEP, DELAY, List.of(), Map.of(), List.of(), Set.of(), Set.of());
        return ChaosJudge.executions(input);
    }

    private static final Set<String> GROUP = Set.of("01-witness", "04-witness", "07-witness");

    @Test
    void aGroupBelowItsLimitAfterAFaultIsMeasuredFromTheFaultsEndUntilBackAtItsLimit() {
        // 01 last stepped at 5 s (live until 5.1 s; the fault is over at 5.005 s); 07 takes the slot at 5.7 s.
        Fault kill = fault(FaultKind.SIGKILL, Set.of(100L), 5_000, 10_000);

        var below = ChaosJudge.belowLimitAfter(groupOfTwo(5_000, 5_700L), GROUP, 2, List.of(kill));

        assertThat(below.get(kill)).isCloseTo(0.6, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(ChaosReport.groupBackTarget(below, Duration.ofSeconds(5)).met())
                .isTrue();
        assertThat(ChaosReport.groupBackTarget(below, Duration.ofMillis(500)).met())
                .isFalse();
    }

    @Test
    void aSlotThatNeverComesBackFailsTheGroupTarget() {
        Fault kill = fault(FaultKind.SIGKILL, Set.of(100L), 5_000, 10_000);

        var below = ChaosJudge.belowLimitAfter(groupOfTwo(5_000, null), GROUP, 2, List.of(kill));

        assertThat(below.get(kill)).isNaN();
        var target = ChaosReport.groupBackTarget(below, Duration.ofSeconds(5));
        assertThat(target.met()).isFalse();
        assertThat(target.correctness()).isTrue();
        assertThat(target.figure()).contains("never back after round 1 sigkill");
    }

    @Test
    void aStretchBelowTheLimitCountsOnlyFromTheFaultsEnd() {
        // A freeze of 8 s from 1 s: 01 stops at 1 s, 07 takes over at 6 s (a lease), the freeze ends at 9.005 s.
        Fault freeze = lasting(FaultKind.SIGSTOP_LONG, Set.of(100L), 1_000, 8_000, 12_000);
        // Another fault later, over at 20.005 s: the group has been at its limit since 6 s.
        Fault later = fault(FaultKind.SESSION_KILL, Set.of(200L), 20_000, 22_000);

        var below = ChaosJudge.belowLimitAfter(groupOfTwo(1_000, 6_000L), GROUP, 2, List.of(freeze, later));

        assertThat(below.get(freeze)).isZero();
        assertThat(below.get(later)).isZero();
        // Taken over only at 9.5 s: below from 1.1 s, counted from the freeze's end.
        assertThat(ChaosJudge.belowLimitAfter(groupOfTwo(1_000, 9_500L), GROUP, 2, List.of(freeze))
                        .get(freeze))
                .isCloseTo(0.495, org.assertj.core.data.Offset.offset(1e-9));
    }
}
