package gg.starpets.notify;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a task asks to be told of: {@code notify: {on: [FAILED, …], webhook: "…", format: json|slack}}.
 *
 * @param events the events, each one of {@link #EVENTS}; empty: none
 * @param webhook where to post, as written ({@code ${NAME}} placeholders kept); null: the service-wide
 *     webhook ({@code NOTIFY_WEBHOOK_URL})
 * @param format {@code json} (the documented payload) or {@code slack} ({@code {"text": "…"}})
 */
public record TaskNotify(List<String> events, String webhook, String format) {

    /** Every event a task may ask for ({@link NotifyEvent}). */
    public static final List<String> EVENTS = NotifyEvent.NAMES;

    public static final List<String> FORMATS = List.of("json", "slack");

    public TaskNotify {
        events = List.copyOf(new LinkedHashSet<>(events));
        webhook = webhook == null || webhook.isBlank() ? null : webhook.strip();
        format = format == null || format.isBlank() ? "json" : format.strip().toLowerCase(Locale.ROOT);
        for (String e : events) {
            if (!EVENTS.contains(e)) {
                throw new IllegalArgumentException(
                        "notify.on: unknown event '" + e + "' (known: " + String.join(", ", EVENTS) + ")");
            }
        }
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("notify.format must be json or slack, not '" + format + "'");
        }
    }

    /**
     * Reads {@code notify} as a configuration file or a JSON body writes it. {@code on} absent: the
     * service-wide default events ({@code starpets.notify.on}). In YAML the key is written {@code "on"}:
     * YAML 1.1 reads a bare {@code on} as the boolean true, which Spring's YAML loader refuses.
     */
    public static TaskNotify parse(Object written, List<String> defaultEvents) {
        if (!(written instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("notify must be an object: {on: [FAILED, …], webhook: \"…\"}");
        }
        List<String> events = null;
        String webhook = null;
        String format = null;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = String.valueOf(e.getKey());
            Object value = e.getValue();
            switch (key) {
                case "on" -> events = events(value);
                case "webhook" -> webhook = value == null ? null : text("webhook", value);
                case "format" -> format = value == null ? null : text("format", value);
                default ->
                    throw new IllegalArgumentException(
                            "notify: unknown key '" + key + "' (known: format, on, webhook)");
            }
        }
        return new TaskNotify(events == null ? defaultEvents : events, webhook, format);
    }

    /** A list, a comma-separated text, or a list as Spring binds one into a map ("0", "1"…). */
    static List<String> events(Object value) {
        Collection<?> items;
        if (value == null) {
            items = List.of();
        } else if (value instanceof Collection<?> c) {
            items = c;
        } else if (value instanceof Map<?, ?> m) {
            items = m.values();
        } else if (value instanceof String s) {
            items = s.isBlank() ? List.of() : List.of(s.split(","));
        } else {
            throw new IllegalArgumentException("notify.on must be a list of events, e.g. [FAILED, TIMED_OUT]");
        }
        List<String> events = new ArrayList<>();
        for (Object item : items) {
            events.add(String.valueOf(item).strip().toUpperCase(Locale.ROOT).replace('-', '_'));
        }
        return events;
    }

    private static String text(String key, Object value) {
        if (!(value instanceof String s)) {
            throw new IllegalArgumentException("notify." + key + " must be a text");
        }
        return s;
    }
}
