package gg.starpets.scheduler;

import java.time.Instant;

/**
 * When a task runs next, decided as its run ends ({@link NextRunPlan}): due at {@code next} (or at once
 * when {@code dueNow}; never when null), for the schedule's time {@code fireAt}, with this cause and
 * attempt, and the number of catch-up runs in a row so far.
 */
record NextRun(Instant next, boolean dueNow, Instant fireAt, RunCause cause, int attempt, int catchUps) {

    /** Due at once, anywhere (the database's {@code now()}), keeping the run's cause and attempt. */
    static NextRun now(RunCause cause, int attempt) {
        return new NextRun(null, true, null, cause, attempt, 0);
    }

    /** At the schedule's time {@code next}; none (shown so) when null. */
    static NextRun scheduled(Instant next) {
        return new NextRun(next, false, next, RunCause.SCHEDULE, 1, 0);
    }
}
