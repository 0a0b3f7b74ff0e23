package gg.starpets.chaos;

import gg.starpets.chaos.ChaosJudge.Execution;
import gg.starpets.chaos.ChaosJudge.Input;
import gg.starpets.chaos.WitnessLog.Event;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** How long each fault kept the tasks its victim was running from running normally, from the witness steps. */
final class Recovery {

    private Recovery() {}

    /**
     * For each task ({@code tasks} accepts) the victim was executing at the injection: from the injection
     * until the task runs normally again, i.e. the end of its last stall within the window (more than 3
     * steps without progress; after an execution that finished its work, more than the schedule's delay
     * and a second: a run whose end could not be recorded keeps its task), or, without a stall, its first
     * progress after the fault. Progress is work of a live JVM: not steps of a dead JVM's orphan program
     * or statement, nor of a frozen victim's programs while it is frozen. A victim that simply goes on
     * recovers at once; one that goes on and is stopped later recovers when the task runs again. The
     * largest over the fault's tasks; NaN when a task made no progress after the fault; no entry when the
     * victim was executing nothing.
     */
    static Map<Fault, Double> of(Input in, List<Execution> executions, Predicate<String> tasks) {
        Map<Fault, Double> recovery = new LinkedHashMap<>();
        Map<String, List<Event>> progress = progress(in.events());
        long stall = 3 * in.step().toNanos() / 1_000;
        // After a finished run the task waits its delay; a claim a second later than that is a stall too.
        long stallAfterDone = (in.delay().toNanos() + 1_000_000_000L) / 1_000;
        for (Fault f : in.faults()) {
            Set<String> victimTasks = new HashSet<>();
            for (Execution x : executions) {
                if (f.victimPids().contains(x.host())
                        && tasks.test(x.task())
                        && x.firstStep() <= f.injectedMicros()
                        && x.endMicros() > f.injectedMicros()) {
                    victimTasks.add(x.task());
                }
            }
            if (victimTasks.isEmpty()) {
                continue;
            }
            long worst = 0;
            boolean recovered = true;
            for (String task : victimTasks) {
                List<Event> list = progress.get(task).stream()
                        .filter(e -> counts(e, f, in.deaths()))
                        .toList();
                int first = 0;
                while (first < list.size() && list.get(first).micros() <= f.appliedMicros()) {
                    first++;
                }
                if (first == list.size()) {
                    recovered = false;
                    continue;
                }
                long back = list.get(first).micros() - f.injectedMicros();
                for (int i = Math.max(0, first - 1);
                        i + 1 < list.size() && list.get(i + 1).micros() <= f.settledMicros();
                        i++) {
                    long gap = list.get(i + 1).micros() - list.get(i).micros();
                    if (gap > (list.get(i).end() ? stallAfterDone : stall)) {
                        back = Math.max(back, list.get(i + 1).micros() - f.injectedMicros());
                    }
                }
                worst = Math.max(worst, back);
            }
            recovery.put(f, recovered ? worst / 1e6 : Double.NaN);
        }
        return recovery;
    }

    /** Whether this step is progress of a live JVM's run, as far as fault {@code f} is concerned. */
    private static boolean counts(Event e, Fault f, Map<Long, Long> deaths) {
        Long death = deaths.get(e.host());
        if (death != null && e.micros() > death) {
            return false;
        }
        boolean freeze = f.kind() == FaultKind.SIGSTOP_SHORT || f.kind() == FaultKind.SIGSTOP_LONG;
        return !(freeze
                && f.victimPids().contains(e.host())
                && e.micros() >= f.appliedMicros()
                && e.micros() <= f.appliedMicros() + f.lengthMicros());
    }

    /** Progress of each task, in time order: steps, and executions that finished their work. */
    private static Map<String, List<Event>> progress(List<Event> events) {
        Map<String, List<Event>> byTask = new HashMap<>();
        for (Event e : events) {
            if (!e.end() || WitnessLog.finishedItsWork(e)) {
                byTask.computeIfAbsent(e.task(), k -> new ArrayList<>()).add(e);
            }
        }
        byTask.values().forEach(list -> list.sort(Comparator.comparingLong(Event::micros)));
        return byTask;
    }
}
