package gg.starpets.scheduler;

/** What a change did to a task, as its {@link TaskEvents audit event} records it ({@code task_events.action}). */
public enum AuditAction {
    CREATED,
    UPDATED,
    DELETED,
    PAUSED,
    RESUMED,
    TRIGGERED,
    CANCELLED,
    /** No live instance defines the configuration task any more: disabled. */
    RETIRED,
    QUARANTINED,
    /** A one-off run was asked for ({@code POST /tasks/{name}/runs}); the detail names the run and its time. */
    RUN_REQUESTED,
    /** A pending one-off run was cancelled before it started ({@code DELETE /runs/{id}}). */
    RUN_WITHDRAWN,
    /** A backfill was asked for ({@code POST /tasks/{name}/backfill}); the detail names it, its range and slots. */
    BACKFILL_REQUESTED,
    /** A backfill was cancelled: its pending runs ended CANCELLED ({@code DELETE /backfills/{id}}). */
    BACKFILL_CANCELLED,
    /**
     * A concurrency group's limits were set ({@code PUT /groups/{name}}, or the configuration files at a
     * start): recorded under the name {@code group:<name>}.
     */
    GROUP_CHANGED
}
