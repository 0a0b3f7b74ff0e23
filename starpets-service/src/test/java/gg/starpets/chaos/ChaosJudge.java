package gg.starpets.chaos;

import gg.starpets.chaos.WitnessLog.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Judges a chaos run by what really ran. An execution (one process's work on one run: an in-JVM
 * handler, an exec program, a statement on the server) is live from its first witnessed step to its
 * last step plus one step length, cut at its recorded end (the handler's return, the program's exit,
 * the statement's end as PostgreSQL showed it) and, for an in-JVM handler, at its process's death;
 * committed sql work is live until its commit. Two executions of one task whose intervals intersect are
 * an overlap of live handlers, whichever process or machine part they ran in. The database's rows are
 * the cross-check: runs LOST or cut short within a fault's window, runs left RUNNING with no live
 * owner, steps (or commits) after a run's end was recorded. Every figure is kept per fault kind, and
 * per fault and handler kind.
 */
final class ChaosJudge {

    /** A run as the database recorded it; times in epoch µs, {@code finishedMicros} null while RUNNING. */
    record RunRow(long id, String task, String instance, String status, long startedMicros, Long finishedMicros) {}

    /** One execution of one run, live from its first step until {@code endMicros}; {@code host} the JVM whose it is. */
    record Execution(
            String task,
            HandlerKind kind,
            String id,
            long runId,
            long pid,
            long host,
            String instance,
            long firstStep,
            long lastStep,
            int steps,
            long endMicros) {}

    /** Two executions of one task live at once, from {@code fromMicros} to {@code toMicros}. */
    record Overlap(String task, Execution first, Execution second, long fromMicros, long toMicros) {

        /** Both started by one JVM: it started a task again while its own previous handler of it was live. */
        boolean sameProcess() {
            return first.host() != 0 && first.host() == second.host();
        }
    }

    /**
     * Steps an execution took, and whether its work committed ({@code sql}), after the database had
     * recorded its run's end (LOST by another instance, say).
     */
    record LateSteps(
            Execution execution, String status, long finishedMicros, int steps, boolean committed, long lastMicros) {}

    /**
     * The figures of one fault kind ({@code kind} null: outside every fault's window), for one handler
     * kind or, with {@code handler} null, for all. {@code recoverySeconds} has one value per fault whose
     * victim was running tasks and all of them ran again.
     */
    record Row(
            FaultKind kind,
            HandlerKind handler,
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

    /** {@code rows}: per fault kind, all handlers; {@code byHandler}: per fault kind and handler kind. */
    record Verdict(List<Row> rows, List<Row> byHandler, List<Overlap> overlaps, List<LateSteps> late) {

        Row row(FaultKind kind) {
            return rows.stream().filter(r -> r.kind() == kind).findFirst().orElseThrow();
        }

        Row row(FaultKind kind, HandlerKind handler) {
            return byHandler.stream()
                    .filter(r -> r.kind() == kind && r.handler() == handler)
                    .findFirst()
                    .orElseThrow();
        }
    }

    /**
     * @param delay the schedule's pause between the end of a run and the next (fixed delay)
     * @param deaths when each JVM that died did (a SIGKILL reaped, a SIGTERM exited), epoch µs
     * @param stuckAtEnd runs left RUNNING without a live, stepping owner once the cluster had settled at the end
     * @param grouped the tasks of a concurrency group with a limit that binds: a recovered one may wait for a slot
     *     as long as a run lasts, a wait the group imposes, so recovery is measured over the other tasks
     */
    record Input(
            List<Event> events,
            Duration step,
            Duration delay,
            List<Fault> faults,
            Map<Long, Long> deaths,
            List<RunRow> runs,
            Set<Long> stuckAtEnd,
            Set<String> grouped) {}

    private static final Set<String> CUT_SHORT = Set.of("INTERRUPTED", "TIMED_OUT", "FAILED");

    private ChaosJudge() {}

    static Verdict judge(Input in) {
        List<Execution> executions = executions(in);
        List<Overlap> overlaps = overlaps(executions);
        List<LateSteps> late = lateSteps(in, executions);
        Tallies t = new Tallies(in, handlers(in));
        for (Fault f : in.faults()) {
            t.forFault(f.kind(), x -> x.faults++);
        }
        for (Overlap o : overlaps) {
            t.add(kindAt(in.faults(), o.fromMicros()), o.task(), x -> {
                if (o.sameProcess()) {
                    x.sameProcessOverlaps++;
                } else {
                    x.overlaps++;
                }
            });
        }
        for (LateSteps l : late) {
            t.add(kindAt(in.faults(), l.lastMicros()), l.execution().task(), x -> x.lateRuns++);
        }
        countRuns(in, t);
        countNonTerminal(in, t);
        recoveries(in, executions, t);
        return t.verdict(overlaps, late);
    }

    /** The handler kinds of the suite's tasks seen in the witness lines or the rows, in their order. */
    private static Set<HandlerKind> handlers(Input in) {
        Set<HandlerKind> kinds = new TreeSet<>();
        in.events().forEach(e -> kinds.add(e.kind()));
        in.runs().stream()
                .map(r -> HandlerKind.ofTask(r.task()))
                .filter(k -> k != null)
                .forEach(kinds::add);
        return kinds;
    }

    private static final class Tally {
        int faults, runs, overlaps, sameProcessOverlaps, nonTerminal, lost, cutShort, lateRuns, unrecovered;
        final List<Double> recovery = new ArrayList<>();

        Row row(FaultKind kind, HandlerKind handler) {
            return new Row(
                    kind,
                    handler,
                    faults,
                    runs,
                    overlaps,
                    sameProcessOverlaps,
                    nonTerminal,
                    lost,
                    cutShort,
                    lateRuns,
                    List.copyOf(recovery),
                    unrecovered);
        }
    }

    /** A tally per fault kind (null: between faults), in total and per handler kind. */
    private static final class Tallies {
        final Map<FaultKind, Tally> total = new LinkedHashMap<>();
        final Map<FaultKind, Map<HandlerKind, Tally>> byHandler = new LinkedHashMap<>();

        Tallies(Input in, Set<HandlerKind> handlers) {
            List<FaultKind> kinds = new ArrayList<>(Arrays.stream(FaultKind.values())
                    .filter(k -> in.faults().stream().anyMatch(f -> f.kind() == k))
                    .toList());
            kinds.add(null);
            for (FaultKind k : kinds) {
                total.put(k, new Tally());
                Map<HandlerKind, Tally> perHandler = new EnumMap<>(HandlerKind.class);
                handlers.forEach(h -> perHandler.put(h, new Tally()));
                byHandler.put(k, perHandler);
            }
        }

        /** To the fault kind's total and to the tally of the task's handler kind. */
        void add(FaultKind kind, String task, Consumer<Tally> change) {
            change.accept(total.get(kind));
            Tally h = byHandler.get(kind).get(HandlerKind.ofTask(task));
            if (h != null) {
                change.accept(h);
            }
        }

        /** To the fault kind's total and to every handler kind (a fault applies to all). */
        void forFault(FaultKind kind, Consumer<Tally> change) {
            change.accept(total.get(kind));
            byHandler.get(kind).values().forEach(change);
        }

        Verdict verdict(List<Overlap> overlaps, List<LateSteps> late) {
            List<Row> rows = new ArrayList<>();
            total.forEach((kind, t) -> rows.add(t.row(kind, null)));
            List<Row> perHandler = new ArrayList<>();
            byHandler.forEach((kind, m) -> m.forEach((h, t) -> perHandler.add(t.row(kind, h))));
            return new Verdict(rows, perHandler, overlaps, late);
        }
    }

    static List<Execution> executions(Input in) {
        long stepMicros = in.step().toNanos() / 1_000;
        Map<String, List<Event>> byExecution = new LinkedHashMap<>();
        for (Event e : in.events()) {
            byExecution.computeIfAbsent(e.execution(), k -> new ArrayList<>()).add(e);
        }
        List<Execution> executions = new ArrayList<>();
        byExecution.forEach((id, events) -> {
            long first = Long.MAX_VALUE;
            long last = Long.MIN_VALUE;
            Long endMarker = null;
            Long commit = null;
            int steps = 0;
            for (Event e : events) {
                if (e.end() && e.outcome().equals("committed")) {
                    commit = commit == null ? e.micros() : Math.max(commit, e.micros());
                } else if (e.end()) {
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
            Event any = events.getFirst();
            // An in-JVM handler dies with its JVM; a program or a statement does not (that is what is judged).
            Long death = any.kind() == HandlerKind.WITNESS ? in.deaths().get(any.pid()) : null;
            if (death != null && death >= last) {
                end = Math.min(end, death);
            }
            if (commit != null) {
                end = Math.max(end, commit); // Its work was not done (visible) before its commit.
            }
            executions.add(new Execution(
                    any.task(),
                    any.kind(),
                    id,
                    any.runId(),
                    any.pid(),
                    any.host(),
                    any.instance(),
                    first,
                    last,
                    steps,
                    Math.max(end, last)));
        });
        return executions;
    }

    /**
     * The most executions of {@code tasks} live at once, each from its first step to its end, whichever
     * process ran them (a concurrency group's, judged against its limit). Ends go before starts at one time.
     */
    static int mostAtOnce(List<Execution> executions, Set<String> tasks) {
        List<long[]> events = startsAndEnds(executions, tasks);
        int live = 0;
        int most = 0;
        for (long[] e : events) {
            live += (int) e[1];
            most = Math.max(most, live);
        }
        return most;
    }

    /**
     * For each fault: how long after it was over (its end: the process reaped, the freeze thawed, the
     * cut healed, the server back) the executions of {@code tasks} were fewer than {@code limit} at
     * once, the longest such stretch that reaches into the fault's window, each counted from the fault's
     * end at the earliest (a group whose due tasks outnumber its limit is back at its limit as soon as
     * every slot is free again and taken: a slot that leaked keeps it below). A stretch that lasts until
     * the witnesses end never came back: NaN. Counted as {@link #mostAtOnce} counts.
     */
    static Map<Fault, Double> belowLimitAfter(
            List<Execution> executions, Set<String> tasks, int limit, List<Fault> faults) {
        List<long[]> events = startsAndEnds(executions, tasks);
        // The stretches below the limit, [from, to), to = Long.MAX_VALUE when it lasts until the end.
        List<long[]> below = new ArrayList<>();
        int live = 0;
        long since = Long.MIN_VALUE;
        for (long[] e : events) {
            live += (int) e[1];
            if (live < limit && since == Long.MAX_VALUE) {
                since = e[0];
            } else if (live >= limit && since != Long.MAX_VALUE) {
                below.add(new long[] {since, e[0]});
                since = Long.MAX_VALUE;
            }
        }
        if (since != Long.MAX_VALUE) {
            below.add(new long[] {since, Long.MAX_VALUE});
        }
        Map<Fault, Double> result = new LinkedHashMap<>();
        for (Fault f : faults) {
            long over = f.appliedMicros() + f.lengthMicros();
            double longest = 0;
            for (long[] b : below) {
                if (b[1] > over && b[0] <= f.settledMicros()) {
                    longest = b[1] == Long.MAX_VALUE
                            ? Double.NaN
                            : Math.max(longest, (b[1] - Math.max(b[0], over)) / 1e6);
                }
                if (Double.isNaN(longest)) {
                    break;
                }
            }
            result.put(f, longest);
        }
        return result;
    }

    /** {time, +1} at each execution's first step and {time, -1} at its end, of {@code tasks}: in time order, ends first. */
    private static List<long[]> startsAndEnds(List<Execution> executions, Set<String> tasks) {
        List<long[]> events = new ArrayList<>();
        for (Execution e : executions) {
            if (tasks.contains(e.task())) {
                events.add(new long[] {e.firstStep(), 1});
                events.add(new long[] {e.endMicros(), -1});
            }
        }
        events.sort(Comparator.<long[]>comparingLong(e -> e[0]).thenComparingLong(e -> e[1]));
        return events;
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
        Map<String, int[]> count = new HashMap<>();
        Set<String> committed = new HashSet<>();
        Map<String, Long> lastLate = new HashMap<>();
        for (Event e : in.events()) {
            RunRow row = rows.get(e.runId());
            boolean commit = e.end() && e.outcome().equals("committed");
            if ((!e.end() || commit)
                    && row != null
                    && row.finishedMicros() != null
                    && e.micros() > row.finishedMicros()) {
                int[] steps = count.computeIfAbsent(e.execution(), x -> new int[1]);
                if (commit) {
                    committed.add(e.execution());
                } else {
                    steps[0]++;
                }
                lastLate.merge(e.execution(), e.micros(), Math::max);
            }
        }
        List<LateSteps> late = new ArrayList<>();
        for (Execution x : executions) {
            if (count.containsKey(x.id())) {
                RunRow row = rows.get(x.runId());
                late.add(new LateSteps(
                        x,
                        row.status(),
                        row.finishedMicros(),
                        count.get(x.id())[0],
                        committed.contains(x.id()),
                        lastLate.get(x.id())));
            }
        }
        return late;
    }

    private static void countRuns(Input in, Tallies t) {
        for (RunRow r : in.runs()) {
            long end = r.finishedMicros() == null ? Long.MAX_VALUE : r.finishedMicros();
            boolean inAnyWindow = false;
            for (Fault f : in.faults()) {
                if (r.startedMicros() <= f.settledMicros() && end >= f.injectedMicros()) {
                    t.add(f.kind(), r.task(), x -> x.runs++);
                    inAnyWindow = true;
                }
            }
            if (!inAnyWindow) {
                t.add(null, r.task(), x -> x.runs++);
            }
            if (r.finishedMicros() != null) {
                FaultKind at = kindAt(in.faults(), r.finishedMicros());
                if ("LOST".equals(r.status())) {
                    t.add(at, r.task(), x -> x.lost++);
                } else if (CUT_SHORT.contains(r.status())) {
                    t.add(at, r.task(), x -> x.cutShort++);
                }
            }
        }
    }

    private static void countNonTerminal(Input in, Tallies t) {
        Map<Long, RunRow> rows = new HashMap<>();
        in.runs().forEach(r -> rows.put(r.id(), r));
        Set<Long> counted = new HashSet<>();
        for (Fault f : in.faults()) {
            for (long id : f.stuckRuns()) {
                if (counted.add(id)) {
                    t.add(f.kind(), taskOf(rows, id), x -> x.nonTerminal++);
                }
            }
        }
        for (long id : in.stuckAtEnd()) {
            if (counted.add(id)) {
                RunRow row = rows.get(id);
                t.add(
                        row == null ? null : kindAt(in.faults(), row.startedMicros()),
                        taskOf(rows, id),
                        x -> x.nonTerminal++);
            }
        }
    }

    private static String taskOf(Map<Long, RunRow> rows, long runId) {
        RunRow row = rows.get(runId);
        return row == null ? "" : row.task();
    }

    /** Recovery over the tasks in no group with a limit ({@link Input#grouped}): a slot's wait is the group's. */
    private static void recoveries(Input in, List<Execution> executions, Tallies t) {
        Recovery.of(in, executions, task -> !in.grouped().contains(task))
                .forEach((fault, seconds) -> record(t.total.get(fault.kind()), seconds));
        t.byHandler.values().stream()
                .findFirst()
                .ifPresent(any -> any.keySet()
                        .forEach(h -> Recovery.of(
                                        in,
                                        executions,
                                        task -> HandlerKind.ofTask(task) == h
                                                && !in.grouped().contains(task))
                                .forEach((fault, seconds) ->
                                        record(t.byHandler.get(fault.kind()).get(h), seconds))));
    }

    private static void record(Tally t, double seconds) {
        if (Double.isNaN(seconds)) {
            t.unrecovered++;
        } else {
            t.recovery.add(seconds);
        }
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
