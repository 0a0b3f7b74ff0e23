package gg.starpets.scheduler;

/**
 * Why a task runs next ({@code tasks.next_cause}), and why a run ran ({@code task_runs.cause}). Stored
 * by name; statements spell some of them in SQL too ({@code 'TRIGGER'} in the claim rule and the run's
 * end, {@code 'RECOVERY'} in recovery, {@code 'SCHEDULE'} in skipping misfires).
 */
enum RunCause {
    /** The schedule's next time. */
    SCHEDULE,
    /** Again after a failed or timed-out run, after its back-off. */
    RETRY,
    /**
     * A time a cron task missed, run late: {@code misfire: CATCH_UP}; or a slot that came due while a run
     * of the task was in progress, run right after it ({@code RUN_ONCE}, {@code overlap: BUFFER_ONE},
     * {@code REPLACE}).
     */
    CATCH_UP,
    /** An operator asked for a run now. */
    TRIGGER,
    /** Again after its instance was lost. */
    RECOVERY,
    /** A one-off run an operator asked for ({@code POST /tasks/{name}/runs}). */
    MANUAL,
    /** A run after a run of its upstream task ended ({@code run-after}); the run says which. */
    UPSTREAM
}
