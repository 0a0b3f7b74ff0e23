package gg.starpets.scheduler;

import java.time.Instant;

/**
 * When a task runs next, decided as its run ends: due at {@code next} (or at once when
 * {@code dueNow}; never when null), for the schedule's time {@code fireAt}, with this cause and
 * attempt, and the number of catch-up runs in a row so far.
 */
record NextRun(Instant next, boolean dueNow, Instant fireAt, String cause, int attempt, int catchUps) {

    static NextRun now(String cause, int attempt) {
        return new NextRun(null, true, null, cause, attempt, 0);
    }
}
