package gg.starpets.scheduler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

/**
 * What handlers really did, recorded outside the scheduler's tables: each step a run took (instance,
 * task, run, when on this JVM's monotonic clock). Two runs of one task whose steps interleave are two
 * live handlers at once, whatever the {@code task_runs} rows say.
 */
final class Steps {

    record Step(String instance, String task, long runId, long nanos) {}

    /** Two runs of one task whose spans of steps overlap. */
    record Overlap(String task, long runA, String instanceA, long runB, String instanceB) {}

    private final ConcurrentLinkedQueue<Step> steps = new ConcurrentLinkedQueue<>();

    void record(String instance, RunContext context) {
        steps.add(new Step(instance, context.taskName(), context.runId(), System.nanoTime()));
    }

    /**
     * A handler that works in {@code count} steps of {@code step}, asking before each whether it may go
     * on (and returning when not), recording each step it takes.
     */
    TaskHandler stepper(String instance, int count, Duration step) {
        return context -> {
            for (int i = 0; i < count; i++) {
                if (!context.mayContinue()) {
                    return;
                }
                record(instance, context);
                Thread.sleep(step);
            }
        };
    }

    List<Step> all() {
        return List.copyOf(steps);
    }

    long count(String instance) {
        return steps.stream().filter(s -> s.instance().equals(instance)).count();
    }

    /** Runs of the same task whose spans (first step to last step plus one step's length) intersect. */
    List<Overlap> overlaps(Duration step) {
        Map<String, Map<Long, List<Step>>> byTaskAndRun =
                steps.stream().collect(Collectors.groupingBy(Step::task, Collectors.groupingBy(Step::runId)));
        List<Overlap> overlaps = new ArrayList<>();
        byTaskAndRun.forEach((task, runs) -> {
            List<List<Step>> spans = new ArrayList<>(runs.values());
            spans.forEach(s -> s.sort(Comparator.comparingLong(Step::nanos)));
            for (int i = 0; i < spans.size(); i++) {
                for (int j = i + 1; j < spans.size(); j++) {
                    List<Step> a = spans.get(i);
                    List<Step> b = spans.get(j);
                    long aStart = a.getFirst().nanos();
                    long aEnd = a.getLast().nanos() + step.toNanos();
                    long bStart = b.getFirst().nanos();
                    long bEnd = b.getLast().nanos() + step.toNanos();
                    if (aStart < bEnd && bStart < aEnd) {
                        overlaps.add(new Overlap(
                                task,
                                a.getFirst().runId(),
                                a.getFirst().instance(),
                                b.getFirst().runId(),
                                b.getFirst().instance()));
                    }
                }
            }
        });
        return overlaps;
    }
}
