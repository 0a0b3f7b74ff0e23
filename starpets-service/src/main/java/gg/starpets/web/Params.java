package gg.starpets.web;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Query and path parameters as every route reads them: taken as text, so that a bad value is a 400
 * {@code invalid_parameter} naming the parameter rather than a conversion error; blank is absent.
 */
public final class Params {

    /** How many rows a page holds when the request does not say. */
    public static final int DEFAULT_LIMIT = 50;

    /** The most rows one page may ask for. */
    public static final int MAX_LIMIT = 500;

    private Params() {}

    /** A page size: {@link #DEFAULT_LIMIT} when absent, else 1 … {@link #MAX_LIMIT}. */
    public static int limit(@Nullable String text) {
        return limit(text, DEFAULT_LIMIT, MAX_LIMIT);
    }

    /** A page size: {@code fallback} when absent, else 1 … {@code max}. */
    public static int limit(@Nullable String text, int fallback, int max) {
        Long value = positiveLong("limit", text);
        if (value == null) {
            return fallback;
        }
        if (value > max) {
            throw invalid("'limit' must be between 1 and " + max);
        }
        return value.intValue();
    }

    /** A whole number of at least 1 (a row id such as {@code before}), or null when absent. */
    public static @Nullable Long positiveLong(String name, @Nullable String text) {
        if (absent(text)) {
            return null;
        }
        try {
            long value = Long.parseLong(text.strip());
            if (value >= 1) {
                return value;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw invalid("'" + name + "' must be a positive whole number");
    }

    /** An ISO-8601 instant, or null when absent. */
    public static @Nullable Instant instant(String name, @Nullable String text) {
        if (absent(text)) {
            return null;
        }
        try {
            return Instant.parse(text.strip());
        } catch (DateTimeParseException e) {
            throw invalid("'" + name + "' must be an ISO-8601 instant, e.g. 2026-11-29T10:00:00Z");
        }
    }

    /** One of {@code type}'s constants, in any case, or null when absent. */
    public static <E extends Enum<E>> @Nullable E oneOf(String name, @Nullable String text, Class<E> type) {
        if (absent(text)) {
            return null;
        }
        try {
            return Enum.valueOf(type, text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw invalid("'" + name + "' must be one of " + Arrays.toString(type.getEnumConstants()));
        }
    }

    /** The text stripped, or null when absent. */
    public static @Nullable String text(@Nullable String text) {
        return absent(text) ? null : text.strip();
    }

    private static boolean absent(@Nullable String text) {
        return text == null || text.isBlank();
    }

    private static ApiException invalid(String detail) {
        return ApiException.badRequest("invalid_parameter", detail);
    }
}
