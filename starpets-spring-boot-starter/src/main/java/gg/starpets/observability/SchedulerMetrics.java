package gg.starpets.observability;

import gg.starpets.config.StarPetsProperties;
import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.SchedulerEvents;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import org.springframework.stereotype.Component;

/**
 * What this instance's scheduler engine reports: runs started and finished, recoveries, lost fences.
 * The database-wide gauges are {@link DatabaseGaugeRefresh}'s.
 */
@Component
class SchedulerMetrics implements SchedulerEvents {

    /** Why a slot is MISSED: {@code MissedSlots}' reasons' first word. */
    private static final java.util.List<String> MISSED_REASONS = java.util.List.of("misfire", "overlap");

    private final MeterRegistry registry;

    SchedulerMetrics(MeterRegistry registry, StarPetsProperties properties) {
        this.registry = registry;
        recoveredCounter();
        properties.tasks().forEach(t -> registerTask(t.name()));
    }

    /**
     * Registers the task's counters at 0. Prometheus' increase() and rate() cannot see the first
     * increment of a series whose first sample is already 1, so a counter that appeared only at the
     * first timeout or failure would never raise the alert for it. Called for every configured task
     * at start, and for every task the database knows (so tasks defined by other instances count too).
     */
    void registerTask(String task) {
        for (RunStatus status : RunStatus.values()) {
            // A MISSED slot never ran: counted in RUNS_MISSED, not as a run that ended.
            if (status.terminal() && status != RunStatus.MISSED) {
                runsFinished(task, status);
            }
        }
        for (String reason : MISSED_REASONS) {
            missedCounter(task, reason);
        }
        fenceLostCounter(task);
        fenceOffFailedCounter(task);
        stuckCounter(task);
        quarantinedCounter(task);
    }

    @Override
    public void runStarted(String task, double lagSeconds) {
        Timer.builder(MetricNames.RUN_START_LAG)
                .description("From a run's due time to its start")
                .serviceLevelObjectives(
                        Duration.ofMillis(5),
                        Duration.ofMillis(10),
                        Duration.ofMillis(25),
                        Duration.ofMillis(50),
                        Duration.ofMillis(100),
                        Duration.ofMillis(250),
                        Duration.ofMillis(500),
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(5),
                        Duration.ofSeconds(30))
                .register(registry)
                .record(Duration.ofNanos((long) (Math.max(0, lagSeconds) * 1e9)));
    }

    @Override
    public void runFinished(String task, RunStatus status, double durationSeconds) {
        runsFinished(task, status).increment();
        Timer.builder(MetricNames.RUN_DURATION)
                .description("How long runs took")
                .tags("task", task)
                .serviceLevelObjectives(
                        Duration.ofMillis(100),
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(10),
                        Duration.ofSeconds(30),
                        Duration.ofMinutes(1),
                        Duration.ofMinutes(2),
                        Duration.ofMinutes(5),
                        Duration.ofMinutes(10))
                .register(registry)
                .record(Duration.ofNanos((long) (durationSeconds * 1e9)));
    }

    @Override
    public void tasksRecovered(int count) {
        recoveredCounter().increment(count);
    }

    @Override
    public void fenceLost(String task) {
        fenceLostCounter(task).increment();
    }

    @Override
    public void fenceOffFailed(String task) {
        fenceOffFailedCounter(task).increment();
    }

    private Counter fenceOffFailedCounter(String task) {
        return taskCounter(
                MetricNames.FENCE_OFF_FAILED,
                "Recovery rounds in which a lost run's handler could not fence it off yet; the task"
                        + " starts nowhere meanwhile",
                task);
    }

    @Override
    public void taskQuarantined(String task) {
        quarantinedCounter(task).increment();
    }

    private Counter quarantinedCounter(String task) {
        return taskCounter(
                MetricNames.TASKS_QUARANTINED,
                "Tasks this instance quarantined: their runs were lost again and again",
                task);
    }

    @Override
    public void runStuck(String task) {
        stuckCounter(task).increment();
    }

    private Counter stuckCounter(String task) {
        return taskCounter(
                MetricNames.RUNS_STUCK, "Runs past their timeout whose handler ignored the interruption", task);
    }

    @Override
    public void runsMissed(String task, String reason, long count) {
        missedCounter(task, reason).increment(count);
    }

    private Counter missedCounter(String task, String reason) {
        return Counter.builder(MetricNames.RUNS_MISSED)
                .description("Slots of a schedule recorded as MISSED runs")
                .tags("task", task, "reason", reason)
                .register(registry);
    }

    private Counter runsFinished(String task, RunStatus status) {
        return Counter.builder(MetricNames.RUNS_FINISHED)
                .description("Runs ended on this instance")
                .tags("task", task, "status", status.name())
                .register(registry);
    }

    private Counter recoveredCounter() {
        return Counter.builder(MetricNames.TASKS_RECOVERED)
                .description("Tasks this instance took back from instances that were gone")
                .register(registry);
    }

    private Counter fenceLostCounter(String task) {
        return taskCounter(
                MetricNames.FENCE_LOST, "Runs that found their task taken over; nothing they did was written", task);
    }

    private Counter taskCounter(String name, String description, String task) {
        return Counter.builder(name).description(description).tags("task", task).register(registry);
    }
}
