package gg.starpets.scheduler;

import java.time.Duration;
import java.util.Locale;

/**
 * What to do with due times missed while nobody could run the task (all instances down, the task
 * paused or still running): {@code RUN_ONCE} runs once, late, then the next future time;
 * {@code SKIP} does not run a time missed by more than {@code threshold}, only the next future one;
 * {@code CATCH_UP} runs each missed time, at most {@code catchUpLimit} in a row, those within
 * {@code catchUpWindow} of now.
 */
public record MisfirePolicy(Kind kind, Duration threshold, int catchUpLimit, Duration catchUpWindow) {

    public enum Kind {
        RUN_ONCE,
        SKIP,
        CATCH_UP
    }

    public static final MisfirePolicy DEFAULT =
            new MisfirePolicy(Kind.RUN_ONCE, Duration.ofMinutes(1), 10, Duration.ofHours(1));

    public MisfirePolicy {
        if (kind == null) {
            throw new IllegalArgumentException("misfire must be one of RUN_ONCE, SKIP, CATCH_UP");
        }
        if (threshold == null || threshold.isNegative()) {
            throw new IllegalArgumentException("misfire-threshold must not be negative");
        }
        TaskDefinition.inMillis("misfire-threshold", threshold);
        if (catchUpLimit < 1) {
            throw new IllegalArgumentException("catch-up-limit must be at least 1");
        }
        if (catchUpWindow == null || catchUpWindow.isNegative() || catchUpWindow.isZero()) {
            throw new IllegalArgumentException("catch-up-window must be positive");
        }
        TaskDefinition.inMillis("catch-up-window", catchUpWindow);
    }

    /** Reads {@code RUN_ONCE}, {@code skip}, {@code catch-up}… as users write them; null: the default. */
    public static Kind kind(String text) {
        if (text == null || text.isBlank()) {
            return Kind.RUN_ONCE;
        }
        try {
            return Kind.valueOf(text.strip().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "misfire must be one of RUN_ONCE, SKIP, CATCH_UP, not '" + text.strip() + "'");
        }
    }
}
