package gg.starpets.notify;

import java.util.Arrays;
import java.util.List;

/** What a task may be notified of (its {@code notify.on}): STUCK, QUARANTINED are its state; the others a run's end. */
public enum NotifyEvent {
    FAILED("failed"),
    TIMED_OUT("timed out"),
    STUCK("is stuck: its run ignored its timeout"),
    QUARANTINED("was quarantined after failing again and again"),
    MISSED("missed a run"),
    RECOVERED("recovered: it ran successfully again");

    /** Every name, in this order (how tasks and the database write them). */
    public static final List<String> NAMES =
            Arrays.stream(values()).map(Enum::name).toList();

    private final String phrase;

    NotifyEvent(String phrase) {
        this.phrase = phrase;
    }

    /** What the task did, after "task NAME" in a message. */
    public String phrase() {
        return phrase;
    }
}
