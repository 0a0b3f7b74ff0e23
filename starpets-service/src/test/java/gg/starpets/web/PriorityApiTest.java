package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A task's {@code priority} through the service: in configuration, over the management API (created,
 * edited, refused out of range with nothing written), on {@code GET /tasks} and in the audit trail;
 * and {@code SCHEDULER_PRIORITY_AGING} bound.
 */
class PriorityApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-0123456789abcdef";
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "urgent-config", "sleep", "1h", "30m", "10m"));
        props.put("starpets.tasks[0].priority", "50");
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "priority-a", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static HttpResponse<String> call(String method, String path, String body) {
        return app.call(TOKEN, method, path, body);
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    private static JsonNode listed(String name) {
        return StreamSupport.stream(json(app.get("/tasks")).get("tasks").spliterator(), false)
                .filter(t -> t.get("name").asString().equals(name))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void aConfiguredTasksPriorityIsShown() {
        assertThat(json(call("GET", "/tasks/urgent-config", null))
                        .get("priority")
                        .asInt())
                .isEqualTo(50);
        assertThat(listed("urgent-config").get("priority").asInt()).isEqualTo(50);
        JsonNode schemas = json(app.get("/v3/api-docs")).get("components").get("schemas");
        assertThat(schemas.get("TaskResponse").get("properties").has("priority"))
                .as("the OpenAPI description of a task")
                .isTrue();
    }

    @Test
    void aTaskIsCreatedAndEditedWithItsPriorityABadOneIsRefusedAndEachChangeIsAudited() {
        HttpResponse<String> created = call("POST", "/tasks", """
                {"name": "ranked", "handler": "sleep", "schedule": "0 3 * * *", "timeout": "5m",
                 "params": {"duration": "100ms"}, "priority": 7}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(json(created).get("priority").asInt()).isEqualTo(7);
        assertThat(listed("ranked").get("priority").asInt()).isEqualTo(7);

        HttpResponse<String> edited = call("PATCH", "/tasks/ranked", "{\"priority\": -100}");
        assertThat(edited.statusCode()).as(edited.body()).isEqualTo(200);
        assertThat(json(edited).get("priority").asInt()).isEqualTo(-100);
        HttpResponse<String> untouched = call("PATCH", "/tasks/ranked", "{\"timeout\": \"6m\"}");
        assertThat(json(untouched).get("priority").asInt())
                .as("an edit of another field keeps it")
                .isEqualTo(-100);
        long version = json(untouched).get("version").asLong();

        for (String bad : new String[] {"101", "-101", "2.5", "\"high\""}) {
            HttpResponse<String> refused = call("PATCH", "/tasks/ranked", "{\"priority\": " + bad + "}");
            assertThat(refused.statusCode()).as(bad + ": " + refused.body()).isEqualTo(400);
            assertThat(json(refused).get("code").asString()).isEqualTo("invalid_task");
        }
        JsonNode after = json(call("GET", "/tasks/ranked", null));
        assertThat(after.get("priority").asInt()).as("nothing written").isEqualTo(-100);
        assertThat(after.get("version").asLong()).isEqualTo(version);
        HttpResponse<String> refusedCreate = call("POST", "/tasks", """
                {"name": "over-ranked", "handler": "sleep", "schedule": "0 3 * * *", "timeout": "5m", "priority": 1000}
                """);
        assertThat(refusedCreate.statusCode()).isEqualTo(400);
        assertThat(json(refusedCreate).get("code").asString()).isEqualTo("invalid_task");
        assertThat(json(refusedCreate).get("detail").asString())
                .contains("the priority must be between -100 and 100, not 1000");
        assertThat(call("GET", "/tasks/over-ranked", null).statusCode()).isEqualTo(404);

        HttpResponse<String> defaulted = call("POST", "/tasks", """
                {"name": "unranked", "handler": "sleep", "schedule": "0 3 * * *", "timeout": "5m"}
                """);
        assertThat(json(defaulted).get("priority").asInt()).isZero();

        JsonNode events = json(call("GET", "/tasks/ranked/events", null)).get("events");
        assertThat(events.findValuesAsString("action")).containsExactly("UPDATED", "UPDATED", "CREATED");
        assertThat(events.get(2).get("after").get("priority").asInt()).isEqualTo(7);
        assertThat(events.get(1).get("before").get("priority").asInt()).isEqualTo(7);
        assertThat(events.get(1).get("after").get("priority").asInt()).isEqualTo(-100);
    }

    @Test
    void aConfiguredPriorityOutOfRangeOrABadAgingStopsTheStart() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "too-urgent", "sleep", "1h", "1m", "1s"));
        props.put("starpets.tasks[0].priority", "101");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "priority-b", props))
                .rootCause()
                .hasMessageContaining("Task 'too-urgent': the priority must be between -100 and 100, not 101");

        Map<String, Object> aging = new HashMap<>(AppInstance.task(0, "fine", "sleep", "1h", "1m", "1s"));
        aging.put("starpets.scheduler.priority-aging", "0s");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "priority-c", aging))
                .rootCause()
                .hasMessageContaining("the priority aging must be positive");
    }
}
