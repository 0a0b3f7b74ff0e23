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

/** How long each fault kept the tasks its victim was running from running normally, from the witness steps. */
final class Recovery {

    private Recovery() {}

    /** Progress of one task, in time order: steps, and runs that finished their work ("done"). */
    private record Progress(long[] micros, boolean[] done) {}

    /**
     * For each task the victim was executing at the injection: from the injection until the task
     * runs normally again, i.e. the end of its last stall within the window (more than 3 steps
     * without progress; after a run that finished its work, more than the schedule's delay and a
     * second: a run whose end could not be recorded keeps its task), or, without a
     * stall, its first progress after the fault. A victim that simply goes on recovers at once; one
     * that goes on and is stopped later recovers when the task runs again. The largest over the
     * fault's tasks; NaN when a task made no progress after the fault; no entry when the victim was
     * executing nothing.
     */
    static Map<Fault, Double> of(Input in, List<Execution> executions) {
        Map<Fault, Double> recovery = new LinkedHashMap<>();
        Map<String, Progress> progress = progress(in.events());
        long stall = 3 * in.step().toNanos() / 1_000;
        // After a finished run the task waits its delay; a claim a second later than that is a stall too.
        long stallAfterDone = (in.delay().toNanos() + 1_000_000_000L) / 1_000;
        for (Fault f : in.faults()) {
            Set<String> tasks = new HashSet<>();
            for (Execution x : executions) {
                if (f.victimPids().contains(x.pid())
                        && x.firstStep() <= f.injectedMicros()
                        && x.endMicros() > f.injectedMicros()) {
                    tasks.add(x.task());
                }
            }
            if (tasks.isEmpty()) {
                continue;
            }
            long worst = 0;
            boolean recovered = true;
            for (String task : tasks) {
                long[] t = progress.get(task).micros();
                boolean[] done = progress.get(task).done();
                int first = 0;
                while (first < t.length && t[first] <= f.appliedMicros()) {
                    first++;
                }
                if (first == t.length) {
                    recovered = false;
                    continue;
                }
                long back = t[first] - f.injectedMicros();
                for (int i = Math.max(0, first - 1); i + 1 < t.length && t[i + 1] <= f.settledMicros(); i++) {
                    if (t[i + 1] - t[i] > (done[i] ? stallAfterDone : stall)) {
                        back = Math.max(back, t[i + 1] - f.injectedMicros());
                    }
                }
                worst = Math.max(worst, back);
            }
            recovery.put(f, recovered ? worst / 1e6 : Double.NaN);
        }
        return recovery;
    }

    private static Map<String, Progress> progress(List<Event> events) {
        Map<String, List<Event>> byTask = new HashMap<>();
        for (Event e : events) {
            if (!e.end() || e.outcome().equals("done")) {
                byTask.computeIfAbsent(e.task(), k -> new ArrayList<>()).add(e);
            }
        }
        Map<String, Progress> progress = new HashMap<>();
        byTask.forEach((task, list) -> {
            list.sort(Comparator.comparingLong(Event::micros));
            long[] micros = new long[list.size()];
            boolean[] done = new boolean[list.size()];
            for (int i = 0; i < micros.length; i++) {
                micros[i] = list.get(i).micros();
                done[i] = list.get(i).end();
            }
            progress.put(task, new Progress(micros, done));
        });
        return progress;
    }
}
