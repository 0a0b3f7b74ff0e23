package gg.starpets.chaos;

import gg.starpets.chaos.WitnessLog.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Judges a chaos run by what really ran. Each process's execution of a run is the interval from its
 * first witness step to its last step plus one step length (cut at the handler's recorded return, or
 * at the process's death); two executions of one task whose intervals intersect are an overlap of
 * live handlers. The database's rows are the cross-check: runs LOST or cut short within a fault's
 * window, runs left RUNNING with no live owner, steps taken after a run's end was recorded.
 */
final class ChaosJudge {

    /** A run as the database recorded it; times in epoch µs, {@code finishedMicros} null while RUNNING. */
    record RunRow(long id, String task, String instance, String status, long startedMicros, Long finishedMicros) {}

    /** One process's execution of one run, live from its first step until {@code endMicros}. */
    record Execution(
            String task,
            long runId,
            long pid,
            String instance,
            long firstStep,
            long lastStep,
            int steps,
            long endMicros) {}

    /** Two executions of one task live at once, from {@code fromMicros} to {@code toMicros}. */
    record Overlap(String task, Execution first, Execution second, long fromMicros, long toMicros) {

        boolean sameProcess() {
            return first.pid() == second.pid();
        }
    }

    /** Steps an execution took after the database had recorded its run's end (LOST by another instance, say). */
    record LateSteps(Execution execution, String status, long finishedMicros, int steps, long lastMicros) {}

    /**
     * The figures of one fault kind; {@code kind} null for what happened outside every fault's window.
     * {@code recoverySeconds} has one value per fault whose victim was running tasks and all of them ran again.
     */
    record Row(
            FaultKind kind,
            int faults,
            int runs,
            int overlaps,
            int sameProcessOverlaps,
            int nonTerminal,
            int lost,
            int cutShort,
            int lateRuns,
            List<Double> recoverySeconds,
            int unrecovered) {}

    record Verdict(List<Row> rows, List<Overlap> overlaps, List<LateSteps> late) {

        Row row(FaultKind kind) {
            return rows.stream().filter(r -> r.kind() == kind).findFirst().orElseThrow();
        }
    }

    /**
     * @param delay the schedule's pause between the end of a run and the next (fixed delay)
     * @param deaths when each process that died did (a SIGKILL reaped, a SIGTERM exited), epoch µs
     * @param stuckAtEnd runs left RUNNING without a live, stepping owner once the cluster had settled at the end
     */
    record Input(
            List<Event> events,
            Duration step,
            Duration delay,
            List<Fault> faults,
            Map<Long, Long> deaths,
            List<RunRow> runs,
            Set<Long> stuckAtEnd) {}

    private static final Set<String> CUT_SHORT = Set.of("INTERRUPTED", "TIMED_OUT", "FAILED");

    private ChaosJudge() {}

    static Verdict judge(Input in) {
        List<Execution> executions = executions(in);
        List<Overlap> overlaps = overlaps(executions);
        List<LateSteps> late = lateSteps(in, executions);
        Map<FaultKind, Tally> tallies = new LinkedHashMap<>();
        Arrays.stream(FaultKind.values())
                .filter(k -> in.faults().stream().anyMatch(f -> f.kind() == k))
                .forEach(k -> tallies.put(k, new Tally()));
        tallies.put(null, new Tally());
        for (Fault f : in.faults()) {
            tallies.get(f.kind()).faults++;
        }
        for (Overlap o : overlaps) {
            Tally t = tallies.get(kindAt(in.faults(), o.fromMicros()));
            if (o.sameProcess()) {
                t.sameProcessOverlaps++;
            } else {
                t.overlaps++;
            }
        }
        for (LateSteps l : late) {
            tallies.get(kindAt(in.faults(), l.lastMicros())).lateRuns++;
        }
        countRuns(in, tallies);
        countNonTerminal(in, tallies);
        recoveries(in, executions, tallies);
        List<Row> rows = new ArrayList<>();
        tallies.forEach((kind, t) -> rows.add(new Row(
                kind,
                t.faults,
                t.runs,
                t.overlaps,
                t.sameProcessOverlaps,
                t.nonTerminal,
                t.lost,
                t.cutShort,
                t.lateRuns,
                List.copyOf(t.recovery),
                t.unrecovered)));
        return new Verdict(rows, overlaps, late);
    }

    private static final class Tally {
        int faults, runs, overlaps, sameProcessOverlaps, nonTerminal, lost, cutShort, lateRuns, unrecovered;
        final List<Double> recovery = new ArrayList<>();
    }

    static List<Execution> executions(Input in) {
        long stepMicros = in.step().toNanos() / 1_000;
        record Key(long runId, long pid) {}
        Map<Key, List<Event>> byExecution = new LinkedHashMap<>();
        for (Event e : in.events()) {
            byExecution
                    .computeIfAbsent(new Key(e.runId(), e.pid()), k -> new ArrayList<>())
                    .add(e);
        }
        List<Execution> executions = new ArrayList<>();
        byExecution.forEach((key, events) -> {
            long first = Long.MAX_VALUE;
            long last = Long.MIN_VALUE;
            Long endMarker = null;
            int steps = 0;
            for (Event e : events) {
                if (e.end()) {
                    endMarker = endMarker == null ? e.micros() : Math.min(endMarker, e.micros());
                } else {
                    steps++;
                    first = Math.min(first, e.micros());
                    last = Math.max(last, e.micros());
                }
            }
            if (steps == 0) {
                return; // Told to stop before its first step: never live.
            }
            long end = last + stepMicros;
            if (endMarker != null) {
                end = Math.min(end, endMarker);
            }
            Long death = in.deaths().get(key.pid());
            if (death != null && death >= last) {
                end = Math.min(end, death);
            }
            Event any = events.getFirst();
            executions.add(new Execution(
                    any.task(), key.runId(), key.pid(), any.instance(), first, last, steps, Math.max(end, last)));
        });
        return executions;
    }

    static List<Overlap> overlaps(List<Execution> executions) {
        Map<String, List<Execution>> byTask = new HashMap<>();
        executions.forEach(
                e -> byTask.computeIfAbsent(e.task(), k -> new ArrayList<>()).add(e));
        List<Overlap> overlaps = new ArrayList<>();
        for (List<Execution> list : byTask.values()) {
            list.sort(Comparator.comparingLong(Execution::firstStep));
            for (int i = 0; i < list.size(); i++) {
                Execution a = list.get(i);
                for (int j = i + 1; j < list.size() && list.get(j).firstStep() < a.endMicros(); j++) {
                    Execution b = list.get(j);
                    overlaps.add(new Overlap(a.task(), a, b, b.firstStep(), Math.min(a.endMicros(), b.endMicros())));
                }
            }
        }
        overlaps.sort(Comparator.comparingLong(Overlap::fromMicros));
        return overlaps;
    }

    private static List<LateSteps> lateSteps(Input in, List<Execution> executions) {
        Map<Long, RunRow> rows = new HashMap<>();
        in.runs().forEach(r -> rows.put(r.id(), r));
        record Key(long runId, long pid) {}
        Map<Key, int[]> count = new HashMap<>();
        Map<Key, Long> lastLate = new HashMap<>();
        for (Event e : in.events()) {
            RunRow row = rows.get(e.runId());
            if (!e.end() && row != null && row.finishedMicros() != null && e.micros() > row.finishedMicros()) {
                Key k = new Key(e.runId(), e.pid());
                count.computeIfAbsent(k, x -> new int[1])[0]++;
                lastLate.merge(k, e.micros(), Math::max);
            }
        }
        List<LateSteps> late = new ArrayList<>();
        for (Execution x : executions) {
            Key k = new Key(x.runId(), x.pid());
            if (count.containsKey(k)) {
                RunRow row = rows.get(x.runId());
                late.add(new LateSteps(x, row.status(), row.finishedMicros(), count.get(k)[0], lastLate.get(k)));
            }
        }
        return late;
    }

    private static void countRuns(Input in, Map<FaultKind, Tally> tallies) {
        for (RunRow r : in.runs()) {
            long end = r.finishedMicros() == null ? Long.MAX_VALUE : r.finishedMicros();
            boolean inAnyWindow = false;
            for (Fault f : in.faults()) {
                if (r.startedMicros() <= f.settledMicros() && end >= f.injectedMicros()) {
                    tallies.get(f.kind()).runs++;
                    inAnyWindow = true;
                }
            }
            if (!inAnyWindow) {
                tallies.get(null).runs++;
            }
            if (r.finishedMicros() != null) {
                Tally t = tallies.get(kindAt(in.faults(), r.finishedMicros()));
                if ("LOST".equals(r.status())) {
                    t.lost++;
                } else if (CUT_SHORT.contains(r.status())) {
                    t.cutShort++;
                }
            }
        }
    }

    private static void countNonTerminal(Input in, Map<FaultKind, Tally> tallies) {
        Set<Long> counted = new HashSet<>();
        for (Fault f : in.faults()) {
            for (long id : f.stuckRuns()) {
                if (counted.add(id)) {
                    tallies.get(f.kind()).nonTerminal++;
                }
            }
        }
        Map<Long, RunRow> rows = new HashMap<>();
        in.runs().forEach(r -> rows.put(r.id(), r));
        for (long id : in.stuckAtEnd()) {
            if (counted.add(id)) {
                RunRow row = rows.get(id);
                tallies.get(row == null ? null : kindAt(in.faults(), row.startedMicros())).nonTerminal++;
            }
        }
    }

    private static void recoveries(Input in, List<Execution> executions, Map<FaultKind, Tally> tallies) {
        Recovery.of(in, executions).forEach((fault, seconds) -> {
            Tally t = tallies.get(fault.kind());
            if (Double.isNaN(seconds)) {
                t.unrecovered++;
            } else {
                t.recovery.add(seconds);
            }
        });
    }

    /** The kind of the fault whose window holds this moment; null outside every window. */
    static FaultKind kindAt(List<Fault> faults, long micros) {
        for (Fault f : faults) {
            if (f.contains(micros)) {
                return f.kind();
            }
        }
        return null;
    }
}
