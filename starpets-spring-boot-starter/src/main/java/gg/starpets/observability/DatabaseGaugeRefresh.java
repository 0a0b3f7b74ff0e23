package gg.starpets.observability;

import static java.util.stream.Collectors.toMap;

import gg.starpets.config.PeriodicDuty;
import gg.starpets.config.StarPetsProperties;
import gg.starpets.scheduler.InstanceRepository;
import gg.starpets.scheduler.RunRepository;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskViews;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Reads the database-wide gauges (live instances, when each task last started) every 5 s, on its own
 * thread, so that a scrape never waits for the database: with PostgreSQL down or the pool
 * saturated, /metrics still answers at once with the last values read, and
 * {@code starpets_database_gauges_age_seconds} says how old they are.
 */
@Component
class DatabaseGaugeRefresh extends PeriodicDuty {

    /** The scrape interval: a shorter one would only add queries. */
    static final Duration INTERVAL = Duration.ofSeconds(5);

    static final String THREAD_NAME = "starpets-metrics-db";

    private static final Logger log = LoggerFactory.getLogger(DatabaseGaugeRefresh.class);

    private final TaskViews tasks;
    private final InstanceRepository instances;
    private final SchedulerMetrics schedulerMetrics;
    private final Duration lease;
    private final AtomicLong liveInstances;
    private final AtomicLong stuckTasks;
    private final AtomicLong quarantinedTasks;
    private final AtomicLong historyBytes;
    private final AtomicLong historyRows;
    private final RunRepository runs;
    private final MultiGauge sinceLastStart;
    private final MultiGauge expectedInterval;
    private final MultiGauge taskQuarantined;
    /*
     * The two task gauges' rows read their values from these maps, so a refresh registers a row only
     * for a new task. Registering every row again (MultiGauge's overwrite) removes and re-adds the
     * series, and a scrape at that moment sees it twice and fails (DuplicateLabelsException, a 500).
     */
    private final Map<String, Double> secondsSinceLastStart = new ConcurrentHashMap<>();
    private final Map<String, Double> expectedIntervalSeconds = new ConcurrentHashMap<>();
    private final Map<String, Double> expectedGaps = new ConcurrentHashMap<>();
    private final Map<String, Double> quarantinedByTask = new ConcurrentHashMap<>();
    /** Until the first read succeeds, the age counts from start-up. */
    private volatile long readAtNanos = System.nanoTime();

    DatabaseGaugeRefresh(
            MeterRegistry registry,
            TaskViews tasks,
            InstanceRepository instances,
            RunRepository runs,
            SchedulerMetrics schedulerMetrics,
            StarPetsProperties properties) {
        super(THREAD_NAME);
        this.tasks = tasks;
        this.instances = instances;
        this.runs = runs;
        this.schedulerMetrics = schedulerMetrics;
        this.lease = properties.scheduler().lease();
        this.liveInstances = gauge(registry, MetricNames.LIVE_INSTANCES, "Instances alive as the database sees them");
        this.quarantinedTasks = gauge(
                registry,
                MetricNames.QUARANTINED_TASKS,
                "Tasks quarantined (their runs were lost again and again) until resumed");
        this.historyBytes = new AtomicLong();
        Gauge.builder(MetricNames.RUN_HISTORY_BYTES, historyBytes, AtomicLong::get)
                .description("The run history table (task_runs) with its indexes, in bytes")
                .baseUnit("bytes")
                .register(registry);
        this.historyRows =
                gauge(registry, MetricNames.RUN_HISTORY_ROWS, "Runs kept in the history (PostgreSQL's estimate)");
        this.stuckTasks = gauge(
                registry,
                MetricNames.TASKS_STUCK,
                "Tasks whose run timed out while the handler still executes (kept by their instance)");
        Gauge.builder(MetricNames.DATABASE_GAUGES_AGE, this, DatabaseGaugeRefresh::ageSeconds)
                .description("Seconds since the database-wide gauges were last read")
                .register(registry);
        this.sinceLastStart = MultiGauge.builder(MetricNames.TASK_SINCE_LAST_START)
                .description("Seconds since the task's last run started (or since it was created)")
                .register(registry);
        this.expectedInterval = MultiGauge.builder(MetricNames.TASK_EXPECTED_INTERVAL)
                .description("The longest normal gap between two starts of the task")
                .register(registry);
        this.taskQuarantined = MultiGauge.builder(MetricNames.TASK_QUARANTINED)
                .description("1 while the task is quarantined (until resumed)")
                .register(registry);
    }

    private static AtomicLong gauge(MeterRegistry registry, String name, String description) {
        AtomicLong value = new AtomicLong();
        Gauge.builder(name, value, AtomicLong::get).description(description).register(registry);
        return value;
    }

    /** One read of the database; on failure the gauges keep their last values. */
    @Override
    protected void runOnce() {
        try {
            long live = instances.countLive(lease);
            List<TaskViews.TaskTiming> timings = tasks.findTimings();
            long[] stuckAndQuarantined = tasks.countStuckAndQuarantined();
            List<String> quarantined = tasks.findQuarantinedNames();
            long[] history = runs.tableSize();
            liveInstances.set(live);
            stuckTasks.set(stuckAndQuarantined[0]);
            quarantinedTasks.set(stuckAndQuarantined[1]);
            historyBytes.set(history[0]);
            historyRows.set(history[1]);
            publish(timings);
            setRows(taskQuarantined, quarantinedByTask, quarantined.stream().collect(toMap(name -> name, name -> 1.0)));
            readAtNanos = System.nanoTime();
        } catch (RuntimeException e) {
            log.warn("Could not read scheduler gauges from the database: {}", e.getMessage());
        }
    }

    /** The task gauges: values set in place, a series added for a new task and removed for a gone one. */
    void publish(List<TaskViews.TaskTiming> timings) {
        setRows(
                sinceLastStart,
                secondsSinceLastStart,
                timings.stream()
                        .collect(toMap(TaskViews.TaskTiming::name, TaskViews.TaskTiming::secondsSinceLastStart)));
        setRows(
                expectedInterval,
                expectedIntervalSeconds,
                timings.stream().collect(toMap(TaskViews.TaskTiming::name, this::expectedGapSeconds)));
        timings.forEach(t -> schedulerMetrics.registerTask(t.name()));
    }

    private static void setRows(MultiGauge gauge, Map<String, Double> values, Map<String, Double> latest) {
        values.putAll(latest);
        values.keySet().retainAll(latest.keySet());
        gauge.register(
                latest.keySet().stream()
                        .map(task ->
                                MultiGauge.Row.of(Tags.of("task", task), values, v -> v.getOrDefault(task, Double.NaN)))
                        .toList(),
                false);
    }

    double ageSeconds() {
        return (System.nanoTime() - readAtNanos) / 1e9;
    }

    /**
     * Cron: the longest gap between two fire times (twice a day at 9 and 17 is 16 h, weekdays only
     * includes the weekend). Fixed delay: the delay plus the longest allowed run. Computed once per
     * schedule: a cron's gaps do not change (but for daylight saving, an hour either way).
     */
    double expectedGapSeconds(TaskViews.TaskTiming t) {
        return expectedGaps.computeIfAbsent(t.schedule() + "|" + t.timeZone() + "|" + t.timeoutSeconds(), k -> {
            Schedule schedule;
            double gap;
            try {
                schedule = Schedule.parse(t.schedule(), ZoneId.of(t.timeZone()));
                gap = schedule.longestGap(Instant.now()).toNanos() / 1e9;
            } catch (RuntimeException neverOrUnreadable) {
                // No next time: no expected interval (the overdue alert compares against NaN: never fires).
                return Double.NaN;
            }
            return schedule instanceof Schedule.Interval ? gap + t.timeoutSeconds() : gap;
        });
    }

    @Override
    protected Duration initialDelay() {
        return Duration.ZERO;
    }

    @Override
    protected Duration interval() {
        return INTERVAL;
    }
}
