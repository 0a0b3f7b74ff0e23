package gg.starpets.scheduler;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.field.CronFieldName;
import com.cronutils.model.field.expression.Always;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When a task runs next. A cron expression (5 fields, 6 with seconds, or a macro such as
 * {@code @hourly}) in the task's time zone, a fixed delay ({@code PT30S}, {@code 30s}) counted
 * from the end of the previous run, or {@code once}: a one-time task, which runs at its {@code at}
 * and never again ({@link Once}).
 */
public sealed interface Schedule {

    /** The schedule of a one-time task. */
    String ONCE = "once";

    /** The first time strictly after {@code after} at which the task is due; throws if there is none. */
    Instant next(Instant after);

    /** {@link #next}, or null when the schedule never fires again. */
    default Instant nextOrNull(Instant after) {
        try {
            return next(after);
        } catch (IllegalStateException e) {
            return null;
        }
    }

    /**
     * The longest normal gap between two due times from {@code from} on: a fixed delay is its delay;
     * a cron is searched over a little more than a week (so that a weekdays-only or twice-a-day
     * schedule shows its long gap), at most 20,000 fire times, and at least one gap.
     */
    Duration longestGap(Instant from);

    static Schedule parse(String expression, ZoneId zone) {
        if (expression == null || expression.isBlank()) {
            throw new IllegalArgumentException("the schedule is empty");
        }
        String text = expression.strip();
        if (ONCE.equalsIgnoreCase(text)) {
            return Once.INSTANCE;
        }
        Duration interval = Interval.parseDuration(text);
        if (interval != null) {
            return new Interval(interval);
        }
        return Cron.parse(text, zone);
    }

    /**
     * A one-time task's: its only run is placed by its {@code at} ({@code NextRunPlan.firstRun}); after
     * it (and its retries) there is no next time, and the task shows COMPLETED.
     */
    record Once() implements Schedule {

        static final Once INSTANCE = new Once();

        @Override
        public Instant next(Instant after) {
            throw new IllegalStateException("a one-time task runs only at its 'at'");
        }

        @Override
        public Duration longestGap(Instant from) {
            throw new IllegalStateException("a one-time task has no gaps");
        }
    }

    record Interval(Duration delay) implements Schedule {

        private static final Pattern SHORT = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
        private static final Duration SHORTEST = Duration.ofMillis(100);

        public Interval {
            if (delay.compareTo(SHORTEST) < 0) {
                throw new IllegalArgumentException("an interval must be at least " + SHORTEST.toMillis() + "ms");
            }
            if (delay.compareTo(TaskDefinition.LONGEST) > 0) {
                throw new IllegalArgumentException(
                        "an interval must be at most " + TaskDefinition.LONGEST.toDays() + " days");
            }
        }

        @Override
        public Instant next(Instant after) {
            return after.plus(delay);
        }

        @Override
        public Duration longestGap(Instant from) {
            return delay;
        }

        /**
         * "500ms", "30s", "5m", "2h", "1d" or ISO-8601 ("PT30S"); null when the text is neither. Text
         * too large for a {@link Duration} ({@code 99999999999999999d}) is refused as out of range.
         */
        public static Duration parseDuration(String text) {
            Matcher m = SHORT.matcher(text.toLowerCase(Locale.ROOT));
            if (m.matches()) {
                try {
                    long n = Long.parseLong(m.group(1));
                    return switch (m.group(2)) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        case "h" -> Duration.ofHours(n);
                        default -> Duration.ofDays(n);
                    };
                } catch (ArithmeticException | NumberFormatException e) {
                    throw new IllegalArgumentException("'" + text + "' is out of range");
                }
            }
            if (text.toUpperCase(Locale.ROOT).startsWith("P")) {
                try {
                    return Duration.parse(text);
                } catch (DateTimeParseException e) {
                    throw new IllegalArgumentException("'" + text + "' is not an ISO-8601 duration");
                }
            }
            return null;
        }
    }

    /**
     * A cron expression evaluated in a time zone. Across daylight-saving changes: a local time that
     * does not exist (spring forward) fires once, at the first valid instant after it (no day is
     * skipped); a local time that occurs twice (fall back) fires once, the first time. Expressions that
     * fire every hour ({@code *} in the hour field) follow elapsed time instead, as cron does: they
     * fire in both passes of a repeated hour and skip nothing in a missing one.
     */
    record Cron(String expression, ZoneId zone, ExecutionTime executionTime, boolean everyHour) implements Schedule {

        private static final CronParser FIVE_FIELDS =
                new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
        private static final CronParser SIX_FIELDS =
                new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.SPRING53));
        private static final Duration GAP_SEARCH_HORIZON = Duration.ofDays(8);
        private static final int GAP_SEARCH_LIMIT = 20_000;
        private static final Instant NEVER_CHECK_FROM = Instant.parse("2000-01-01T00:00:00Z");
        private static final Map<String, String> MACROS = Map.of(
                "@yearly", "0 0 1 1 *",
                "@annually", "0 0 1 1 *",
                "@monthly", "0 0 1 * *",
                "@weekly", "0 0 * * 0",
                "@daily", "0 0 * * *",
                "@midnight", "0 0 * * *",
                "@hourly", "0 * * * *");

        /** {@code text} with its macro ({@code @daily}…) written out as five fields; null for an unknown macro. */
        public static String expanded(String text) {
            return text.startsWith("@") ? MACROS.get(text.toLowerCase(Locale.ROOT)) : text;
        }

        static Cron parse(String text, ZoneId zone) {
            String expanded = expanded(text);
            if (expanded == null) {
                throw new IllegalArgumentException("unknown macro '" + text + "' (known: " + MACROS.keySet() + ")");
            }
            int fields = expanded.split("\\s+").length;
            CronParser parser = switch (fields) {
                case 5 -> FIVE_FIELDS;
                case 6 -> SIX_FIELDS;
                default ->
                    throw new IllegalArgumentException(
                            "'" + text + "' has " + fields + " fields; a cron expression has 5 or 6");
            };
            com.cronutils.model.Cron model;
            try {
                model = parser.parse(expanded);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + text + "' is not a valid cron expression: " + e.getMessage());
            }
            ExecutionTime executionTime = ExecutionTime.forCron(model);
            // A date that never comes (30 February) parses, but never fires.
            if (executionTime
                    .nextExecution(NEVER_CHECK_FROM.atZone(ZoneOffset.UTC))
                    .isEmpty()) {
                throw new IllegalArgumentException("'" + text + "' never fires");
            }
            boolean everyHour = model.retrieve(CronFieldName.HOUR).getExpression() instanceof Always;
            return new Cron(text, zone, executionTime, everyHour);
        }

        @Override
        public Instant next(Instant fractionalAfter) {
            // Cron times are whole seconds, and the search keeps the fraction it starts from: start it
            // at the whole second (the next time after that one is after the fraction too).
            Instant after = fractionalAfter.truncatedTo(ChronoUnit.SECONDS);
            if (everyHour) {
                return executionTime
                        .nextExecution(after.atZone(zone))
                        .map(ZonedDateTime::toInstant)
                        .orElseThrow(this::neverAgain);
            }
            // Search in local time (the expression evaluated as if local time were UTC), then place
            // each local time on the time line.
            ZoneRules rules = zone.getRules();
            LocalDateTime cursor = LocalDateTime.ofInstant(after, zone);
            for (int i = 0; i < 1_000; i++) {
                LocalDateTime local = executionTime
                        .nextExecution(cursor.atZone(ZoneOffset.UTC))
                        .orElseThrow(this::neverAgain)
                        .toLocalDateTime();
                Instant at = place(local, rules);
                if (at.isAfter(after)) {
                    return at;
                }
                // The first pass of a repeated local time was already due: so were those of every later
                // one in that repeated hour. Go on from its end, not one fire time at a time (a 6-field
                // cron firing every second of the hour would give up long before the end).
                ZoneOffsetTransition transition = rules.getTransition(local);
                cursor = transition == null
                        ? local
                        : max(local, localEnd(transition).minusSeconds(1));
            }
            throw neverAgain();
        }

        /** The local time at which a daylight-saving change ends: the later of its two local readings. */
        private static LocalDateTime localEnd(ZoneOffsetTransition t) {
            return max(t.getDateTimeBefore(), t.getDateTimeAfter());
        }

        private static LocalDateTime max(LocalDateTime a, LocalDateTime b) {
            return a.isAfter(b) ? a : b;
        }

        /** A local time on the time line: in a gap, the gap's end; when repeated, its first occurrence. */
        private static Instant place(LocalDateTime local, ZoneRules rules) {
            List<ZoneOffset> offsets = rules.getValidOffsets(local);
            if (offsets.size() == 1) {
                return local.toInstant(offsets.getFirst());
            }
            ZoneOffsetTransition transition = rules.getTransition(local);
            return offsets.isEmpty() ? transition.getInstant() : local.toInstant(transition.getOffsetBefore());
        }

        private IllegalStateException neverAgain() {
            return new IllegalStateException("'" + expression + "' never fires again");
        }

        @Override
        public Duration longestGap(Instant from) {
            Instant horizon = from.plus(GAP_SEARCH_HORIZON);
            Instant previous = next(from);
            Duration longest = Duration.ZERO;
            for (int i = 0; i < GAP_SEARCH_LIMIT && (longest.isZero() || previous.isBefore(horizon)); i++) {
                Instant following = next(previous);
                Duration gap = Duration.between(previous, following);
                if (gap.compareTo(longest) > 0) {
                    longest = gap;
                }
                previous = following;
            }
            return longest;
        }
    }
}
