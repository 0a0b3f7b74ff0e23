package gg.starpets.scheduler;

/** Where a run is: RUNNING until it ends, then exactly one of the terminal states. */
public enum RunStatus {
    RUNNING,
    SUCCEEDED,
    FAILED,
    TIMED_OUT,
    /** Stopped by its own instance: shutdown, or it could not confirm its lease in time. */
    INTERRUPTED,
    /** Its instance died or lost its lease; another instance ended the run for it. */
    LOST,
    /** Stopped by an operator ({@code POST /runs/{id}/cancel}). */
    CANCELLED;

    public boolean terminal() {
        return this != RUNNING;
    }
}
