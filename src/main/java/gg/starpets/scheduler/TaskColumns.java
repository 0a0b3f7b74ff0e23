package gg.starpets.scheduler;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** How a task's policies are stored in its row (JSON and milliseconds), and read back. */
final class TaskColumns {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private TaskColumns() {}

    static String retryJson(TaskDefinition.RetryPolicy retry) {
        if (retry == null) {
            return null;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("max-attempts", retry.maxAttempts());
        json.put("initial-backoff-ms", retry.initialBackoff().toMillis());
        json.put("multiplier", retry.multiplier());
        json.put("max-backoff-ms", retry.maxBackoff().toMillis());
        return JSON.writeValueAsString(json);
    }

    static TaskDefinition.RetryPolicy retry(String json) {
        if (json == null) {
            return null;
        }
        JsonNode node = JSON.readTree(json);
        return new TaskDefinition.RetryPolicy(
                node.get("max-attempts").asInt(),
                Duration.ofMillis(node.get("initial-backoff-ms").asLong()),
                node.get("multiplier").asDouble(),
                Duration.ofMillis(node.get("max-backoff-ms").asLong()));
    }

    /**
     * The misfire policy of a row with {@code misfire_policy}, {@code misfire_threshold_ms},
     * {@code catch_up_limit} and {@code catch_up_window_ms}; throws if they make no valid policy.
     */
    static TaskDefinition.MisfirePolicy misfire(ResultSet rs) throws SQLException {
        return new TaskDefinition.MisfirePolicy(
                TaskDefinition.MisfirePolicy.Kind.valueOf(rs.getString("misfire_policy")),
                Duration.ofMillis(rs.getLong("misfire_threshold_ms")),
                rs.getInt("catch_up_limit"),
                Duration.ofMillis(rs.getLong("catch_up_window_ms")));
    }

    /** A definition with the API's field names (as GET /tasks/{name} and the request bodies use them). */
    static Map<String, Object> describe(TaskDefinition d) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", d.name());
        json.put("handler", d.handler());
        json.put("schedule", d.schedule());
        json.put("timeZone", d.timeZone().getId());
        json.put("timeoutSeconds", d.timeout().toNanos() / 1e9);
        json.put("enabled", d.enabled());
        json.put("params", d.params());
        if (d.retry() != null) {
            Map<String, Object> retry = new LinkedHashMap<>();
            retry.put("maxAttempts", d.retry().maxAttempts());
            retry.put("initialBackoffSeconds", d.retry().initialBackoff().toNanos() / 1e9);
            retry.put("multiplier", d.retry().multiplier());
            retry.put("maxBackoffSeconds", d.retry().maxBackoff().toNanos() / 1e9);
            json.put("retry", retry);
        } else {
            json.put("retry", null);
        }
        json.put("misfire", d.misfire().kind().name());
        json.put("misfireThresholdSeconds", d.misfire().threshold().toNanos() / 1e9);
        json.put("catchUpLimit", d.misfire().catchUpLimit());
        json.put("catchUpWindowSeconds", d.misfire().catchUpWindow().toNanos() / 1e9);
        json.put("jitterSeconds", d.jitter().toNanos() / 1e9);
        return json;
    }

    static String json(Object value) {
        return JSON.writeValueAsString(value);
    }
}
