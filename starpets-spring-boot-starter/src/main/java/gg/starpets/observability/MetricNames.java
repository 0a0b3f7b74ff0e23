package gg.starpets.observability;

/**
 * Every metric name StarPets exports, as Prometheus shows it (Micrometer adds {@code _total} to
 * counters and {@code _seconds}/{@code _bucket}… to timers). The first three are required by name.
 */
public final class MetricNames {

    /** Gauge, label instance_id: runs in progress on this instance now. Written by {@code MetricsController}. */
    public static final String ACTIVE_TASKS = "app_active_tasks_total";

    /** Counter {@code http_requests_total}, labels method, path (route template), status. */
    public static final String HTTP_REQUESTS = "http.requests";

    /** Histogram {@code http_request_duration_seconds}, same labels. */
    public static final String HTTP_REQUEST_DURATION = "http.request.duration";

    /** Counter {@code starpets_runs_finished_total}, labels task, status: runs this instance ended. */
    public static final String RUNS_FINISHED = "starpets.runs.finished";

    /** Histogram {@code starpets_run_duration_seconds}, label task. */
    public static final String RUN_DURATION = "starpets.run.duration";

    /** Histogram {@code starpets_run_start_lag_seconds}: from a run's due time to its start. */
    public static final String RUN_START_LAG = "starpets.run.start.lag";

    /** Counter {@code starpets_tasks_recovered_total}: tasks this instance took back from dead instances. */
    public static final String TASKS_RECOVERED = "starpets.tasks.recovered";

    /** Counter {@code starpets_fence_lost_total}, label task: runs whose claim was taken over. */
    public static final String FENCE_LOST = "starpets.fence.lost";

    /**
     * Counter {@code starpets_fence_off_failed_total}, label task: recovery rounds of this instance in which the
     * handler of a task whose instance is gone could not yet make sure its lost run no longer executes; the task
     * is started nowhere until it can.
     */
    public static final String FENCE_OFF_FAILED = "starpets.fence.off.failed";

    /**
     * Counter {@code starpets_runs_missed_total}, labels task, reason ({@code misfire}: not started within
     * its threshold, or paused; {@code overlap}: due while a run of the task was in progress): slots of the
     * schedule this instance recorded as MISSED runs (misfire SKIP).
     */
    public static final String RUNS_MISSED = "starpets.runs.missed";

    /** Counter {@code starpets_runs_stuck_total}, label task: runs past their timeout whose handler ignored it. */
    public static final String RUNS_STUCK = "starpets.runs.stuck";

    /**
     * Gauge {@code starpets_tasks_stuck} (from the database): tasks whose run ended (timed out) while
     * the handler still executes; no other instance may start them until it returns.
     */
    public static final String TASKS_STUCK = "starpets.tasks.stuck";

    /** Gauge {@code starpets_run_history_bytes} (from the database): the run history table with its indexes. */
    public static final String RUN_HISTORY_BYTES = "starpets.run.history.bytes";

    /** Gauge {@code starpets_run_history_rows} (from the database, PostgreSQL's estimate): runs kept. */
    public static final String RUN_HISTORY_ROWS = "starpets.run.history.rows";

    /** Gauge {@code starpets_quarantined_tasks} (from the database): tasks quarantined now, until resumed. */
    public static final String QUARANTINED_TASKS = "starpets.quarantined.tasks";

    /** Counter {@code starpets_tasks_quarantined_total}, label task: tasks this instance quarantined. */
    public static final String TASKS_QUARANTINED = "starpets.tasks.quarantined";

    /** Gauge {@code starpets_live_instances}: instances alive as the database sees them. */
    public static final String LIVE_INSTANCES = "starpets.live.instances";

    /**
     * Gauge {@code starpets_task_quarantined}, label task (from the database): 1 while the task is
     * quarantined; its series goes when the task is resumed. Names the task in the quarantine alert.
     */
    public static final String TASK_QUARANTINED = "starpets.task.quarantined";

    /** Gauge {@code starpets_task_seconds_since_last_start}, label task (from the database). */
    public static final String TASK_SINCE_LAST_START = "starpets.task.seconds.since.last.start";

    /** Gauge {@code starpets_task_expected_interval_seconds}, label task: the longest normal gap between starts. */
    public static final String TASK_EXPECTED_INTERVAL = "starpets.task.expected.interval.seconds";

    /**
     * Gauge {@code starpets_database_gauges_age_seconds}: since the three gauges above were last read
     * from the database (every 5 s; it grows while the database cannot be read).
     */
    public static final String DATABASE_GAUGES_AGE = "starpets.database.gauges.age.seconds";

    /** Histogram {@code starpets_balance_batch_size}: changes of one user applied by one statement. */
    public static final String BALANCE_BATCH_SIZE = "starpets.balance.batch.size";

    /** Counter {@code starpets_balance_idempotent_replays_total}: first answers given again for an Idempotency-Key. */
    public static final String BALANCE_IDEMPOTENT_REPLAYS = "starpets.balance.idempotent.replays";

    /** Counter {@code starpets_balance_idempotency_keys_pruned_total}: expired keys this instance deleted. */
    public static final String BALANCE_IDEMPOTENCY_KEYS_PRUNED = "starpets.balance.idempotency.keys.pruned";

    /** Counter {@code starpets_balance_ledger_rows_pruned_total}: ledger rows past their retention this instance deleted. */
    public static final String BALANCE_LEDGER_ROWS_PRUNED = "starpets.balance.ledger.rows.pruned";

    /** Counter {@code starpets_http_overloaded_total}: requests refused with 503 {@code overloaded} (admission limit). */
    public static final String HTTP_OVERLOADED = "starpets.http.overloaded";

    /** Gauge {@code starpets_http_in_flight}: requests this instance serves now (those the admission limit counts). */
    public static final String HTTP_IN_FLIGHT = "starpets.http.in.flight";

    /** Gauge {@code starpets_http_in_flight_limit}: this instance's admission limit. */
    public static final String HTTP_IN_FLIGHT_LIMIT = "starpets.http.in.flight.limit";

    /**
     * Gauge {@code starpets_capacity_used_units}: the units of this instance's capacity its live handlers use
     * now (each run its task's cost). Registered by {@code MetricsController}.
     */
    public static final String CAPACITY_USED = "starpets.capacity.used.units";

    /** Gauge {@code starpets_capacity_units}: this instance's capacity ({@code SCHEDULER_MAX_CONCURRENT_RUNS}); 0: no limit. */
    public static final String CAPACITY = "starpets.capacity.units";

    private MetricNames() {}

    /** Counter {@code starpets_notifications_sent_total}: notifications this instance delivered (docs/notifications.md). */
    public static final String NOTIFICATIONS_SENT = "starpets.notifications.sent";

    /** Counter {@code starpets_notifications_failed_total}: attempts of this instance to send one that failed. */
    public static final String NOTIFICATIONS_FAILED = "starpets.notifications.failed";
}
