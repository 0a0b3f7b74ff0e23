package gg.starpets.scheduler;

/**
 * Where a run is: a one-off run is PENDING until a claim starts it; RUNNING until it ends, then exactly
 * one of the terminal states.
 */
public enum RunStatus {
    /** A one-off run asked for and not started yet ({@code POST /tasks/{name}/runs}). */
    PENDING,
    RUNNING,
    SUCCEEDED,
    FAILED,
    TIMED_OUT,
    /** Stopped by its own instance: shutdown, or it could not confirm its lease in time. */
    INTERRUPTED,
    /** Its instance died or lost its lease; another instance ended the run for it. */
    LOST,
    /** Stopped by an operator ({@code POST /runs/{id}/cancel}), or a pending run withdrawn ({@code DELETE /runs/{id}}). */
    CANCELLED,
    /**
     * A slot of the schedule that did not run, recorded as it was skipped ({@code misfire: SKIP}: no
     * instance ran it within its threshold, or it came due while a run of the task was in progress);
     * its error says why. Never started, so never RUNNING.
     */
    MISSED;

    public boolean terminal() {
        return this != RUNNING && this != PENDING;
    }
}
