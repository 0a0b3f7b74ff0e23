package gg.starpets.handlers;

import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.scheduler.TaskHandler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * {@code prune-history}: keeps the run history bounded. Deletes, task by task, the runs beyond its
 * newest {@code keep-per-task} and those that ended more than {@code max-age} ago, then instances
 * GONE for longer than {@code instances-gone-for}, then audit events (task_events) older than
 * {@code events-max-age}; in batches of {@code batch-size} rows,
 * each batch one short statement of its own. A run in progress, and a task's last or current run,
 * are never deleted; nor is a live instance. Between batches it asks whether it may go on, so a
 * stopped run ends after at most one batch.
 */
public final class PruneHistoryHandler implements TaskHandler {

    static final Set<String> PARAMS =
            Set.of("max-age", "keep-per-task", "batch-size", "instances-gone-for", "events-max-age");
    static final Duration DEFAULT_MAX_AGE = Duration.ofDays(30);
    static final int DEFAULT_KEEP_PER_TASK = 1_000;
    static final int DEFAULT_BATCH_SIZE = 1_000;
    static final Duration DEFAULT_INSTANCES_GONE_FOR = Duration.ofDays(7);
    /** The audit trail is kept longer than runs: it answers "who changed this, and when". */
    static final Duration DEFAULT_EVENTS_MAX_AGE = Duration.ofDays(365);

    private record Settings(
            Duration maxAge, int keepPerTask, int batchSize, Duration instancesGoneFor, Duration eventsMaxAge) {

        static Settings of(Map<String, Object> params) {
            HandlerParams.allowOnly(params, PARAMS);
            Duration maxAge = HandlerParams.duration(params, "max-age");
            Duration goneFor = HandlerParams.duration(params, "instances-gone-for");
            Duration eventsMaxAge = HandlerParams.duration(params, "events-max-age");
            return new Settings(
                    maxAge == null ? DEFAULT_MAX_AGE : maxAge,
                    HandlerParams.positiveInt(params, "keep-per-task", DEFAULT_KEEP_PER_TASK),
                    HandlerParams.positiveInt(params, "batch-size", DEFAULT_BATCH_SIZE),
                    goneFor == null ? DEFAULT_INSTANCES_GONE_FOR : goneFor,
                    eventsMaxAge == null ? DEFAULT_EVENTS_MAX_AGE : eventsMaxAge);
        }
    }

    private final RunRepository runs;
    private final InstanceRepository instances;
    private final TaskEvents events;

    public PruneHistoryHandler(RunRepository runs, InstanceRepository instances, TaskEvents events) {
        this.runs = runs;
        this.instances = instances;
        this.events = events;
    }

    @Override
    public void validate(Map<String, Object> params) {
        Settings.of(params);
    }

    @Override
    public void run(RunContext context) throws InterruptedException {
        Settings s = Settings.of(context.params());
        long start = System.nanoTime();
        context.reportProgress(0);
        List<Long> tasks = runs.tasksWithRuns();
        long beyond = 0;
        long old = 0;
        for (int i = 0; i < tasks.size(); i++) {
            long task = tasks.get(i);
            // The bound first: then the age pass of a task reads at most keep-per-task rows.
            beyond += inBatches(
                    context, s.batchSize(), () -> runs.deleteBeyondNewest(task, s.keepPerTask(), s.batchSize()));
            old += inBatches(context, s.batchSize(), () -> runs.deleteEndedBefore(task, s.maxAge(), s.batchSize()));
            context.result("deletedRunsBeyondKeep", beyond);
            context.result("deletedOldRuns", old);
            context.reportProgress((i + 1.0) / (tasks.size() + 1));
        }
        context.result("deletedRunsBeyondKeep", beyond);
        context.result("deletedOldRuns", old);
        long gone =
                inBatches(context, s.batchSize(), () -> instances.deleteGoneFor(s.instancesGoneFor(), s.batchSize()));
        context.result("deletedInstances", gone);
        long oldEvents =
                inBatches(context, s.batchSize(), () -> events.deleteOlderThan(s.eventsMaxAge(), s.batchSize()));
        context.result("deletedEvents", oldEvents);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        context.result("durationMs", millis);
        context.output("deleted " + beyond + " run(s) beyond the newest " + s.keepPerTask() + " per task and " + old
                + " more that ended over " + HandlerParams.text(s.maxAge()) + " ago (" + tasks.size() + " task(s)), "
                + gone + " instance(s) gone for over " + HandlerParams.text(s.instancesGoneFor()) + ", " + oldEvents
                + " audit event(s) older than " + HandlerParams.text(s.eventsMaxAge()) + ", in " + millis + " ms");
        context.reportProgress(1);
    }

    /** Repeats a batch until one deletes less than a full batch; stops between batches when the run must stop. */
    private static long inBatches(RunContext context, int batchSize, IntSupplier batch) throws InterruptedException {
        long total = 0;
        while (true) {
            if (!context.mayContinue()) {
                throw new InterruptedException("run " + context.runId() + " of " + context.taskName() + " was stopped");
            }
            int deleted = batch.getAsInt();
            total += deleted;
            if (deleted < batchSize) {
                return total;
            }
        }
    }
}
