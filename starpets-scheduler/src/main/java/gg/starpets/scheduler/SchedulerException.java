package gg.starpets.scheduler;

/** The scheduler could not talk to its database. */
public final class SchedulerException extends RuntimeException {
    public SchedulerException(String message, Throwable cause) {
        super(message, cause);
    }
}
