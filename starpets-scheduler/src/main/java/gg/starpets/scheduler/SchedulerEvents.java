package gg.starpets.scheduler;

/** What the engine reports as it works; metrics listen here. Every method must be quick and never throw. */
public interface SchedulerEvents {

    SchedulerEvents NONE = new SchedulerEvents() {};

    /** A run started, {@code lagSeconds} after it was due. */
    default void runStarted(String task, double lagSeconds) {}

    /** A run ended on this instance (not counted: runs whose fence was lost). */
    default void runFinished(String task, RunStatus status, double durationSeconds) {}

    /** This instance ended runs of tasks whose instance was gone, and made the tasks due again. */
    default void tasksRecovered(int count) {}

    /** A run of this instance found that its claim had been taken over; nothing it did was written. */
    default void fenceLost(String task) {}

    /**
     * A task's lost run could not be fenced off by its handler in this recovery round ({@link TaskHandler#fenceOff}
     * answered false, failed or did not answer): the task stays unstartable and is asked again next round.
     */
    default void fenceOffFailed(String task) {}

    /** A task was quarantined: its runs were lost too many times in a row. */
    default void taskQuarantined(String task) {}

    /**
     * {@code count} slots of a task were skipped and recorded MISSED, for {@code reason}: {@code misfire}
     * (not started within the threshold) or {@code overlap} (due while a run of the task was in progress).
     */
    default void runsMissed(String task, String reason, long count) {}

    /** A run timed out but its handler ignores interruption: recorded TIMED_OUT, the task kept until it returns. */
    default void runStuck(String task) {}
}
