package gg.starpets.scheduler;

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
