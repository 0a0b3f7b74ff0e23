package gg.starpets.web;

import gg.starpets.scheduler.MisfirePolicy;
import gg.starpets.scheduler.RetryPolicy;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskViews;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Task definitions as the management API reads them: the field names of {@code GET /tasks/{name}}
 * (and the configuration's, in kebab case: {@code time-zone}, {@code max-attempts}…). Durations are
 * seconds (numbers) or text ({@code "30s"}, {@code "5m"}, {@code "PT1H"}). A PATCH body is a JSON
 * merge patch over the definition: fields present change, {@code null} resets an optional one.
 */
final class TaskRequests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final Set<String> FIELDS = Set.of(
            "name",
            "notify",
            "handler",
            "schedule",
            "timeZone",
            "timeout",
            "timeoutSeconds",
            "enabled",
            "params",
            "retry",
            "misfire",
            "misfireThreshold",
            "misfireThresholdSeconds",
            "catchUpLimit",
            "catchUpWindow",
            "catchUpWindowSeconds",
            "jitter",
            "jitterSeconds",
            "startAt",
            "at",
            "overlap",
            "cost",
            "runAfter",
            "priority",
            "concurrencyGroup",
            "maxConcurrent");

    private static final Set<String> RETRY_FIELDS = Set.of(
            "maxAttempts", "initialBackoff", "initialBackoffSeconds", "multiplier", "maxBackoff", "maxBackoffSeconds");

    private TaskRequests() {}

    /** A new task from a POST body. */
    static TaskDefinition create(JsonNode body) {
        requireObject(body);
        Map<String, Object> fields = normalized(
                body,
                FIELDS,
                "",
                body.get("name") != null && body.get("name").isString()
                        ? body.get("name").asString()
                        : null);
        return build(fields);
    }

    /** The task after a PATCH: the stored definition with the body's fields merged in (the name stays). */
    static TaskDefinition patch(TaskDefinition stored, JsonNode body) {
        requireObject(body);
        Map<String, Object> merged = new LinkedHashMap<>(TaskViews.describe(stored));
        Map<String, Object> changes = normalized(body, FIELDS, "", stored.name());
        if (changes.containsKey("name") && !stored.name().equals(changes.get("name"))) {
            throw invalid("a task cannot be renamed: create a new one");
        }
        // A new overlap policy without maxConcurrent does not keep the stored one (only ALLOW takes it).
        if (changes.containsKey("overlap") && !changes.containsKey("maxConcurrent")) {
            merged.remove("maxConcurrent");
        }
        // A timeout given in either form replaces the stored one.
        if (changes.containsKey("timeout")) {
            merged.remove("timeoutSeconds");
        }
        changes.forEach((k, v) -> {
            String canonical = canonical(k);
            merged.remove(canonical + "Seconds");
            merged.put(k, v);
        });
        return build(merged);
    }

    /** The body's fields by their camel-case names; refuses one nobody reads, naming it and {@code task}. */
    private static Map<String, Object> normalized(JsonNode body, Set<String> allowed, String prefix, String task) {
        Map<String, Object> fields = new LinkedHashMap<>();
        for (var entry : body.properties()) {
            String key = camel(entry.getKey());
            if (!allowed.contains(key)) {
                throw invalid((task == null ? "" : "Task '" + task + "': ") + "unknown field '" + prefix
                        + entry.getKey() + "' (known: " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
            fields.put(key, JSON.treeToValue(entry.getValue(), Object.class));
        }
        return fields;
    }

    private static TaskDefinition build(Map<String, Object> f) {
        String name = text(f, "name", true);
        Duration timeout = duration(f, "timeout", f.containsKey("timeout") ? null : "timeoutSeconds");
        if (timeout == null) {
            throw invalid("'timeout' is required (seconds, or text such as \"5m\")");
        }
        TaskDefinition d;
        try {
            d = TaskDefinition.of(
                    name,
                    text(f, "handler", true),
                    // Only an 'at': a one-time task; only a run-after: one that runs after its upstream, no schedule.
                    f.get("schedule") == null && (f.get("at") != null || f.get("runAfter") != null)
                            ? Schedule.ONCE
                            : text(f, "schedule", true),
                    text(f, "timeZone", false),
                    timeout,
                    bool(f, "enabled"),
                    params(f.get("params")));
            d = d.withRetry(retry(f.get("retry"), name))
                    .withMisfire(new MisfirePolicy(
                            MisfirePolicy.kind(text(f, "misfire", false)),
                            orDefault(
                                    duration(f, "misfireThreshold", "misfireThresholdSeconds"),
                                    MisfirePolicy.DEFAULT.threshold()),
                            f.get("catchUpLimit") == null
                                    ? MisfirePolicy.DEFAULT.catchUpLimit()
                                    : integer(f, "catchUpLimit"),
                            orDefault(
                                    duration(f, "catchUpWindow", "catchUpWindowSeconds"),
                                    MisfirePolicy.DEFAULT.catchUpWindow())))
                    .withJitter(orDefault(duration(f, "jitter", "jitterSeconds"), Duration.ZERO))
                    .withRunAfter(runAfter(f.get("runAfter"), name))
                    .withFirstRun(
                            TaskDefinition.startAt(name, "startAt", text(f, "startAt", false)),
                            TaskDefinition.startAt(name, "at", text(f, "at", false)))
                    .withOverlap(
                            TaskDefinition.Overlap.of(name, text(f, "overlap", false)),
                            f.get("maxConcurrent") == null ? null : integer(f, "maxConcurrent"))
                    .withCost(f.get("cost") == null ? 1 : integer(f, "cost"))
                    .withPriority(f.get("priority") == null ? 0 : integer(f, "priority"))
                    .withConcurrencyGroup(text(f, "concurrencyGroup", false));
        } catch (IllegalArgumentException e) { // InvalidTaskException included
            throw invalid(e.getMessage());
        }
        return d;
    }

    private static RetryPolicy retry(Object value, String task) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Map<?, ?> raw)) {
            throw invalid("'retry' must be an object");
        }
        Map<String, Object> r = normalized(JSON.valueToTree(raw), RETRY_FIELDS, "retry.", task);
        return RetryPolicy.of(
                r.get("maxAttempts") == null ? null : integer(r, "maxAttempts"),
                duration(r, "initialBackoff", "initialBackoffSeconds"),
                r.get("multiplier") == null ? null : number(r, "multiplier"),
                duration(r, "maxBackoff", "maxBackoffSeconds"));
    }

    /** {@code runAfter: {task, when}}; a list (fan-in: after several tasks) is refused. */
    private static TaskDefinition.RunAfter runAfter(Object value, String task) {
        if (value == null) {
            return null;
        }
        if (value instanceof java.util.List<?>) {
            throw invalid("Task '" + task + "': " + TaskDefinition.RunAfter.NO_FAN_IN);
        }
        if (!(value instanceof Map<?, ?> raw)) {
            throw invalid("'runAfter' must be an object: {\"task\": \"import-orders\", \"when\": \"SUCCEEDED\"}");
        }
        Map<String, Object> r = normalized(JSON.valueToTree(raw), Set.of("task", "when"), "runAfter.", task);
        return TaskDefinition.RunAfter.of(task, text(r, "task", false), text(r, "when", false));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> params(Object value) {
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw invalid("'params' must be an object");
        }
        return (Map<String, Object>) map;
    }

    /** {@code textKey}: "30s", "PT1M" or seconds; {@code secondsKey}: seconds only. Null when absent. */
    private static Duration duration(Map<String, Object> f, String textKey, String secondsKey) {
        Object value = f.get(textKey);
        String key = textKey;
        if (value == null && secondsKey != null) {
            value = f.get(secondsKey);
            key = secondsKey;
        }
        if (value == null) {
            return null;
        }
        if (value instanceof Number n) {
            if (n.doubleValue() < 0) {
                throw invalid("'" + key + "' must not be negative");
            }
            if (!Double.isFinite(n.doubleValue())) {
                throw invalid("'" + key + "' is out of range");
            }
            try {
                // In decimal, as written: 4.35 × 1e9 in binary floating point is 4349999999.999999.
                return Duration.ofNanos(BigDecimal.valueOf(n.doubleValue())
                        .movePointRight(9)
                        .setScale(0, RoundingMode.HALF_UP)
                        .longValueExact());
            } catch (ArithmeticException e) {
                throw invalid("'" + key + "' is out of range");
            }
        }
        Duration parsed;
        try {
            parsed = Schedule.Interval.parseDuration(value.toString().strip());
        } catch (IllegalArgumentException e) {
            throw invalid("'" + key + "': " + e.getMessage());
        }
        if (parsed == null) {
            throw invalid("'" + key + "' must be seconds or a duration such as 30s, 5m or PT1H");
        }
        return parsed;
    }

    private static String text(Map<String, Object> f, String key, boolean required) {
        Object value = f.get(key);
        if (value == null) {
            if (required) {
                throw invalid("'" + key + "' is required");
            }
            return null;
        }
        if (!(value instanceof String s)) {
            throw invalid("'" + key + "' must be text");
        }
        return s;
    }

    private static Boolean bool(Map<String, Object> f, String key) {
        Object value = f.get(key);
        if (value != null && !(value instanceof Boolean)) {
            throw invalid("'" + key + "' must be true or false");
        }
        return (Boolean) value;
    }

    private static int integer(Map<String, Object> f, String key) {
        if (!(f.get(key) instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw invalid("'" + key + "' must be a whole number");
        }
        // Beyond an int it would wrap round to another number.
        if (n.doubleValue() > Integer.MAX_VALUE || n.doubleValue() < Integer.MIN_VALUE) {
            throw invalid("'" + key + "' is out of range");
        }
        return n.intValue();
    }

    private static double number(Map<String, Object> f, String key) {
        if (!(f.get(key) instanceof Number n)) {
            throw invalid("'" + key + "' must be a number");
        }
        return n.doubleValue();
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }

    /** {@code time-zone} → {@code timeZone}, as the configuration spells it. */
    private static String camel(String key) {
        StringBuilder out = new StringBuilder();
        boolean upper = false;
        for (char ch : key.toCharArray()) {
            if (ch == '-' || ch == '_') {
                upper = true;
            } else {
                out.append(upper ? Character.toUpperCase(ch) : ch);
                upper = false;
            }
        }
        return out.toString();
    }

    private static String canonical(String key) {
        return key.endsWith("Seconds") ? key.substring(0, key.length() - "Seconds".length()) : key;
    }

    private static void requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw invalid("the body must be a JSON object");
        }
    }

    /** 400 {@code invalid_task}: one title for every way a task can be invalid. */
    static ApiException invalid(String detail) {
        return new ApiException(
                org.springframework.http.HttpStatus.BAD_REQUEST, "invalid_task", "Invalid task", detail);
    }
}
