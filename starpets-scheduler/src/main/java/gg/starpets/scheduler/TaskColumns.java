package gg.starpets.scheduler;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * How a task's definition is stored in its row (JSON and milliseconds), bound into statements and
 * read back: the one row mapper of {@code tasks}.
 */
final class TaskColumns {

    /** What {@link #definition} reads, of the {@code tasks} row aliased {@code t}. */
    static final String DEFINITION = """
            t.name, t.handler, t.schedule, t.time_zone, t.params::text as params, t.enabled, t.timeout_seconds,
                   t.retry::text as retry, t.misfire_policy, t.misfire_threshold_ms, t.catch_up_limit,
                   t.catch_up_window_ms, t.jitter_ms, t.overlap, t.once_at, t.cost, t.run_after_task, t.run_after_when,
                   t.priority, t.concurrency_group, t.max_concurrent""";

    private TaskColumns() {}

    /**
     * The definition of a row with the columns of a definition ({@code params} and {@code retry} as
     * text); throws if they make no valid definition.
     */
    static TaskDefinition definition(ResultSet rs) throws SQLException {
        return new TaskDefinition(
                rs.getString("name"),
                rs.getString("handler"),
                rs.getString("schedule"),
                ZoneId.of(rs.getString("time_zone")),
                timeout(rs),
                rs.getBoolean("enabled"),
                params(rs),
                retry(rs.getString("retry")),
                misfire(rs),
                jitter(rs),
                InstanceRepository.instant(rs, "once_at"),
                TaskDefinition.Overlap.valueOf(rs.getString("overlap")),
                rs.getInt("cost"),
                runAfter(rs),
                rs.getInt("priority"),
                rs.getString("concurrency_group"),
                rs.getObject("max_concurrent", Integer.class));
    }

    static TaskDefinition.RunAfter runAfter(ResultSet rs) throws SQLException {
        String task = rs.getString("run_after_task");
        return task == null
                ? null
                : new TaskDefinition.RunAfter(
                        task, TaskDefinition.RunAfter.When.valueOf(rs.getString("run_after_when")));
    }

    static Map<String, Object> params(ResultSet rs) throws SQLException {
        return Json.object(rs.getString("params"));
    }

    static Duration timeout(ResultSet rs) throws SQLException {
        return Duration.ofNanos((long) (rs.getDouble("timeout_seconds") * 1e9));
    }

    static Duration jitter(ResultSet rs) throws SQLException {
        return Duration.ofMillis(rs.getLong("jitter_ms"));
    }

    /** Binds a definition to the parameters of the same names of an insert or update. */
    static NamedSql.Statement bind(NamedSql.Statement st, TaskDefinition d) throws SQLException {
        return st.set("name", d.name())
                .set("handler", d.handler())
                .set("schedule", d.schedule())
                .set("zone", d.timeZone().getId())
                .set("params", Json.write(d.params()))
                .set("enabled", d.enabled())
                .set("timeout", d.timeout().toNanos() / 1e9)
                .set("retry", retryJson(d.retry()))
                .set("misfire", d.misfire().kind().name())
                .set("threshold", d.misfire().threshold().toMillis())
                .set("catch_up_limit", d.misfire().catchUpLimit())
                .set("catch_up_window", d.misfire().catchUpWindow().toMillis())
                .set("jitter", d.jitter().toMillis())
                .set("overlap", d.overlap().name())
                .set("once_at", d.once() ? d.startAt() : null)
                .set("cost", d.cost())
                .set(
                        "run_after_task",
                        d.runAfter() == null ? null : d.runAfter().task())
                .set(
                        "run_after_when",
                        d.runAfter() == null ? null : d.runAfter().when().name())
                .set("priority", d.priority())
                .set("concurrency_group", d.concurrencyGroup())
                .set("max_concurrent", d.maxConcurrent());
    }

    /**
     * The columns a schedule change sets: a new schedule counts from now ({@code :next}) for a task
     * waiting for its schedule; a trigger, retry or recovery pending keeps its time (it is not the
     * schedule's to move), and a running task gets its next time when its run ends. A catch-up pending
     * was the old schedule's: the new one's next time replaces it.
     *
     * @param t the table's qualifier, as the statement needs it ({@code "tasks."} or empty)
     * @param changed the condition that the schedule or its time zone changed
     */
    static String rescheduled(String t, String changed) {
        String applies = "(%2$s) and %1$sowner_session is null and %1$snext_cause in ('SCHEDULE', 'CATCH_UP')"
                .formatted(t, changed);
        return """
                next_run_at = case when %1$s then cast(:next as timestamptz) else %2$snext_run_at end,
                next_fire_at = case when %1$s then cast(:next as timestamptz) else %2$snext_fire_at end,
                catch_ups = case when %1$s then 0 else %2$scatch_ups end,
                next_cause = case when %1$s then 'SCHEDULE' else %2$snext_cause end""".formatted(applies, t);
    }

    static String retryJson(RetryPolicy retry) {
        if (retry == null) {
            return null;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("max-attempts", retry.maxAttempts());
        json.put("initial-backoff-ms", retry.initialBackoff().toMillis());
        json.put("multiplier", retry.multiplier());
        json.put("max-backoff-ms", retry.maxBackoff().toMillis());
        return Json.write(json);
    }

    static RetryPolicy retry(String json) {
        if (json == null) {
            return null;
        }
        JsonNode node = Json.MAPPER.readTree(json);
        return new RetryPolicy(
                node.get("max-attempts").asInt(),
                Duration.ofMillis(node.get("initial-backoff-ms").asLong()),
                node.get("multiplier").asDouble(),
                Duration.ofMillis(node.get("max-backoff-ms").asLong()));
    }

    /**
     * The misfire policy of a row with {@code misfire_policy}, {@code misfire_threshold_ms},
     * {@code catch_up_limit} and {@code catch_up_window_ms}; throws if they make no valid policy.
     */
    static MisfirePolicy misfire(ResultSet rs) throws SQLException {
        return new MisfirePolicy(
                MisfirePolicy.Kind.valueOf(rs.getString("misfire_policy")),
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
        json.put("overlap", d.overlap().name());
        if (d.maxConcurrent() != null) {
            json.put("maxConcurrent", d.maxConcurrent());
        }
        json.put("cost", d.cost());
        json.put("priority", d.priority());
        if (d.concurrencyGroup() != null) {
            json.put("concurrencyGroup", d.concurrencyGroup());
        }
        if (d.once()) {
            json.put("at", d.startAt() == null ? null : d.startAt().toString());
        }
        if (d.runAfter() != null) {
            json.put(
                    "runAfter",
                    Map.of(
                            "task",
                            d.runAfter().task(),
                            "when",
                            d.runAfter().when().name()));
        }
        return json;
    }

    /** A definition as the audit trail keeps it (the API's field names). */
    static String auditJson(TaskDefinition d) {
        return Json.write(describe(d));
    }
}
