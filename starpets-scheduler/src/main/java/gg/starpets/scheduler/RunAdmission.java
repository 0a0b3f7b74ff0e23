package gg.starpets.scheduler;

/**
 * Consulted as each claimed run starts, before its handler is called. A run it refuses ends FAILED
 * with {@code not run: <why>} as its error, and its handler is never called. The service checks again
 * here, at every run, what it checked when the task was written: the configuration may have changed
 * since, or the task's row been edited in the database ({@code handlers.ApiTaskAdmission}).
 */
@FunctionalInterface
public interface RunAdmission {

    /** Admits every run. */
    RunAdmission ALL = (run, handler) -> null;

    /**
     * Why this run may not start, or null when it may. Called on the run's thread, while the run holds
     * its task: it may write to the database, and must not take long.
     */
    String refusal(RunContext run, String handler);

    /** The error of a refused run. */
    final class RefusedException extends RuntimeException {

        public RefusedException(String reason) {
            super("not run: " + reason);
        }

        /** The run's recorded error is this text, without the class name. */
        @Override
        public String toString() {
            return getMessage();
        }
    }
}
