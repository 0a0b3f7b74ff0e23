package gg.starpets.observability;

import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.TaskRepository;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.ZoneId;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/** The scheduler's metrics: what this copy's engine reports, and what the database says of all tasks. */
@Component
class SchedulerMetrics implements SchedulerEvents {

    private static final Logger log = LoggerFactory.getLogger(SchedulerMetrics.class);
    private static final long REFRESH_NANOS = Duration.ofSeconds(1).toNanos();

    private final MeterRegistry registry;
    private final TaskRepository tasks;
    private final InstanceRepository instances;
    private final Duration lease;
    private final AtomicLong liveInstances = new AtomicLong();
    private final MultiGauge sinceLastStart;
    private final MultiGauge expectedInterval;
    private volatile long refreshedAt = System.nanoTime() - REFRESH_NANOS;

    SchedulerMetrics(
            MeterRegistry registry,
            TaskRepository tasks,
            InstanceRepository instances,
            gg.starpets.config.StarPetsProperties properties) {
        this.registry = registry;
        this.tasks = tasks;
        this.instances = instances;
        this.lease = properties.scheduler().lease();
        // Registered up front, so that "no recovery yet" reads 0 rather than no data.
        recoveredCounter().increment(0);
        Gauge.builder(MetricNames.LIVE_INSTANCES, liveInstances, AtomicLong::get)
                .description("Copies alive as the database sees them")
                .register(registry);
        this.sinceLastStart = MultiGauge.builder(MetricNames.TASK_SINCE_LAST_START)
                .description("Seconds since the task's last run started (or since it was created)")
                .register(registry);
        this.expectedInterval = MultiGauge.builder(MetricNames.TASK_EXPECTED_INTERVAL)
                .description("The longest normal gap between two starts of the task")
                .register(registry);
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
        Counter.builder(MetricNames.RUNS_FINISHED)
                .description("Runs ended on this copy")
                .tags("task", task, "status", status.name())
                .register(registry)
                .increment();
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

    private Counter recoveredCounter() {
        return Counter.builder(MetricNames.TASKS_RECOVERED)
                .description("Tasks this copy took back from copies that were gone")
                .register(registry);
    }

    @Override
    public void fenceLost(String task) {
        Counter.builder(MetricNames.FENCE_LOST)
                .description("Runs that found their task taken over; nothing they did was written")
                .tags("task", task)
                .register(registry)
                .increment();
    }

    /** Reads the database-wide gauges, at most once a second (a scrape calls this). */
    void refreshFromDatabase() {
        long now = System.nanoTime();
        if (now - refreshedAt < REFRESH_NANOS) {
            return;
        }
        refreshedAt = now;
        try {
            liveInstances.set(instances.countLive(lease));
            var timings = tasks.findTimings();
            sinceLastStart.register(
                    timings.stream()
                            .map(t -> MultiGauge.Row.of(Tags.of("task", t.name()), t.secondsSinceLastStart()))
                            .toList(),
                    true);
            expectedInterval.register(
                    timings.stream()
                            .map(t -> MultiGauge.Row.of(Tags.of("task", t.name()), expectedGapSeconds(t)))
                            .toList(),
                    true);
        } catch (RuntimeException e) {
            log.warn("Could not read scheduler gauges from the database: {}", e.getMessage());
        }
    }

    /** Cron: the period between two fire times. Fixed delay: the delay plus the longest allowed run. */
    static double expectedGapSeconds(TaskRepository.TaskTiming t) {
        Schedule schedule = Schedule.parse(t.schedule(), ZoneId.of(t.timeZone()));
        if (schedule instanceof Schedule.Interval interval) {
            return interval.delay().toNanos() / 1e9 + t.timeoutSeconds();
        }
        var first = schedule.next(java.time.Instant.now());
        return Duration.between(first, schedule.next(first)).toNanos() / 1e9;
    }
}
