package gg.starpets.handlers;

import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.Schedule;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads the parameters of the built-in handlers. Values come typed from YAML and from the database
 * (JSON), but as text from environment variables and the command line: every reader accepts both.
 * Each failure is an {@link IllegalArgumentException} naming the parameter.
 */
final class HandlerParams {

    private HandlerParams() {}

    /** {@code duration}: "2m", "30s", "PT2M"; absent: the default. */
    static Duration duration(RunContext context, Duration defaultDuration) {
        Duration parsed = duration(context.params(), "duration");
        return parsed == null ? defaultDuration : parsed;
    }

    /** Refuses keys the handler does not know: a typo must not be silently ignored. */
    static void allowOnly(Map<String, Object> params, Set<String> known) {
        for (String key : params.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException(
                        "unknown param '" + key + "' (known: " + String.join(", ", new TreeSet<>(known)) + ")");
            }
        }
    }

    static String string(Map<String, Object> params, String key) {
        Object value = params.get(key);
        if (value == null) {
            return null;
        }
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            throw new IllegalArgumentException("param '" + key + "' must be text, not " + value);
        }
        return value.toString();
    }

    static String requiredString(Map<String, Object> params, String key) {
        String value = string(params, key);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("param '" + key + "' is required");
        }
        return value;
    }

    /** A positive duration ("500ms", "30s", "5m", "2h", "7d", ISO-8601), or null when absent. */
    static Duration duration(Map<String, Object> params, String key) {
        String text = string(params, key);
        if (text == null) {
            return null;
        }
        Duration parsed;
        try {
            parsed = Schedule.Interval.parseDuration(text.strip());
        } catch (IllegalArgumentException e) {
            parsed = null;
        }
        if (parsed == null || parsed.isNegative() || parsed.isZero()) {
            throw new IllegalArgumentException(
                    "param '" + key + "' must be a positive duration such as 30s, 5m or PT1H, not '" + text + "'");
        }
        return parsed;
    }

    static Boolean bool(Map<String, Object> params, String key) {
        Object value = params.get(key);
        if (value == null || value instanceof Boolean) {
            return (Boolean) value;
        }
        return switch (value.toString().strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default ->
                throw new IllegalArgumentException("param '" + key + "' must be true or false, not '" + value + "'");
        };
    }

    static int positiveInt(Map<String, Object> params, String key, int defaultValue) {
        Object value = params.get(key);
        if (value == null) {
            return defaultValue;
        }
        try {
            int parsed = value instanceof Number n && n.doubleValue() == n.intValue()
                    ? n.intValue()
                    : Integer.parseInt(value.toString().strip());
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("param '" + key + "' must be a positive whole number, not '" + value + "'");
    }

    /** A map of names to text values ({@code headers}, {@code env}); empty when absent. */
    static Map<String, String> stringMap(Map<String, Object> params, String key) {
        Object value = params.get(key);
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("param '" + key + "' must be a map of names to values, not " + value);
        }
        Map<String, String> result = new LinkedHashMap<>();
        map.forEach((k, v) -> {
            if (v == null || v instanceof Map<?, ?> || v instanceof List<?>) {
                throw new IllegalArgumentException("param '" + key + "." + k + "' must be text, not " + v);
            }
            result.put(k.toString(), v.toString());
        });
        return result;
    }

    /** A list of text values, or null when the value is not a list. */
    static List<String> stringList(String key, Object value) {
        if (!(value instanceof List<?> list)) {
            return null;
        }
        List<String> result = new ArrayList<>();
        for (Object item : list) {
            if (item == null || item instanceof Map<?, ?> || item instanceof List<?>) {
                throw new IllegalArgumentException("param '" + key + "' must hold only text, not " + item);
            }
            result.add(item.toString());
        }
        return result;
    }

    /** A duration as it is written in params: "30d", "5m", "1500ms". */
    static String text(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000 == 0) {
            return ms / 86_400_000 + "d";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
