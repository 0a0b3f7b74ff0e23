package gg.starpets.scheduler;

/** Where a run is: RUNNING until it ends, then exactly one of the terminal states. */
public enum RunStatus {
    RUNNING,
    SUCCEEDED,
    FAILED,
    TIMED_OUT,
    /** Stopped by its own copy: shutdown, or the copy fenced itself off. */
    INTERRUPTED,
    /** Its copy died or lost its lease; another copy ended the run for it. */
    LOST;

    public boolean terminal() {
        return this != RUNNING;
    }
}
