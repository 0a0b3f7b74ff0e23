package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Concurrency groups through the service: {@code starpets.groups.<name>} in configuration, a task's
 * {@code concurrency-group}, {@code GET /groups}, {@code PUT /groups/{name}} (audited; bad input a 400
 * {@code invalid_group} writing nothing), and WAITING_FOR_GROUP on {@code GET /tasks}.
 */
class GroupsApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-0123456789abcdef";
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "partner-sync", "sleep", "1h", "30m", "10m"));
        props.put("starpets.tasks[0].concurrency-group", "partner-api");
        props.put("starpets.groups.partner-api.max-concurrent", "2");
        props.put("starpets.groups.partner-api.max-starts", "10/1m");
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "groups-a", props);
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
    void aConfiguredGroupIsShownAndOnlyTheConfigurationChangesIt() {
        JsonNode group = json(call("GET", "/groups/partner-api", null));
        assertThat(group.get("maxConcurrent").asInt()).isEqualTo(2);
        assertThat(group.get("maxStarts").asString()).isEqualTo("10/1m");
        assertThat(group.get("source").asString()).isEqualTo("CONFIG");
        assertThat(group.get("tasks").asInt()).isEqualTo(1);
        assertThat(json(call("GET", "/groups", null)).get("groups").findValuesAsString("name"))
                .contains("partner-api");
        assertThat(listed("partner-sync").get("concurrencyGroup").asString()).isEqualTo("partner-api");

        HttpResponse<String> refused = call("PUT", "/groups/partner-api", "{\"maxConcurrent\": 5}");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
        assertThat(json(refused).get("code").asString()).isEqualTo("group_from_configuration");
        assertThat(json(call("GET", "/groups/partner-api", null))
                        .get("maxConcurrent")
                        .asInt())
                .isEqualTo(2);
        JsonNode schemas = json(app.get("/v3/api-docs")).get("components").get("schemas");
        assertThat(schemas.get("TaskResponse").get("properties").has("concurrencyGroup"))
                .as("the OpenAPI description of a task")
                .isTrue();
    }

    @Test
    void aGroupIsSetOverTheApiAuditedAndBadInputIsRefusedWritingNothing() {
        HttpResponse<String> set = call("PUT", "/groups/reports", "{\"maxConcurrent\": 3, \"maxStarts\": \"5/30s\"}");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        assertThat(json(set).get("maxConcurrent").asInt()).isEqualTo(3);
        assertThat(json(set).get("maxStarts").asString()).isEqualTo("5/30s");
        assertThat(json(set).get("source").asString()).isEqualTo("API");
        assertThat(json(set).get("updatedBy").asString()).contains("ann");

        List<String> bad = List.of(
                "{\"maxConcurrent\": 0}",
                "{\"maxConcurrent\": -1}",
                "{\"maxConcurrent\": 2.5}",
                "{\"maxConcurrent\": \"two\"}",
                "{\"maxStarts\": \"10/x\"}",
                "{\"maxStarts\": \"0/1m\"}",
                "{\"maxStarts\": \"10\"}",
                "{\"maxStarts\": \"10/2d\"}",
                "{\"maxConcurent\": 2}",
                "[]");
        for (String body : bad) {
            HttpResponse<String> refused = call("PUT", "/groups/reports", body);
            assertThat(refused.statusCode()).as(body + ": " + refused.body()).isEqualTo(400);
            assertThat(json(refused).get("code").asString()).isEqualTo("invalid_group");
            HttpResponse<String> refusedNew = call("PUT", "/groups/never-written", body);
            assertThat(refusedNew.statusCode()).as(body).isEqualTo(400);
        }
        HttpResponse<String> badName = call("PUT", "/groups/Bad.Name", "{\"maxConcurrent\": 1}");
        assertThat(badName.statusCode()).as(badName.body()).isEqualTo(400);
        assertThat(json(badName).get("code").asString()).isEqualTo("invalid_group");
        assertThat(call("GET", "/groups/never-written", null).statusCode()).isEqualTo(404);
        JsonNode after = json(call("GET", "/groups/reports", null));
        assertThat(after.get("maxConcurrent").asInt()).as("nothing written").isEqualTo(3);
        assertThat(after.get("maxStarts").asString()).isEqualTo("5/30s");

        assertThat(app.call(null, "PUT", "/groups/reports", "{\"maxConcurrent\": 9}")
                        .statusCode())
                .as("no token")
                .isEqualTo(401);

        HttpResponse<String> lifted = call("PUT", "/groups/reports", "{\"maxConcurrent\": null}");
        assertThat(lifted.statusCode()).isEqualTo(200);
        assertThat(json(lifted).get("maxConcurrent").isNull()).isTrue();
        assertThat(json(lifted).get("maxStarts").isNull()).isTrue();

        JsonNode events = json(call("GET", "/tasks/group:reports/events", null)).get("events");
        assertThat(events.findValuesAsString("action")).containsExactly("GROUP_CHANGED", "GROUP_CHANGED");
        assertThat(events.get(1).get("after").get("maxConcurrent").asInt()).isEqualTo(3);
        assertThat(events.get(0).get("before").get("maxStarts").asString()).isEqualTo("5/30s");

        HttpResponse<String> badTask = call("POST", "/tasks", """
                {"name": "misgrouped", "handler": "sleep", "schedule": "1h", "timeout": "5m",
                 "concurrencyGroup": "Not A Group"}
                """);
        assertThat(badTask.statusCode()).as(badTask.body()).isEqualTo(400);
        assertThat(json(badTask).get("code").asString()).isEqualTo("invalid_task");
        assertThat(call("GET", "/tasks/misgrouped", null).statusCode()).isEqualTo(404);
    }

    @Test
    void aDueTaskWhoseGroupIsFullShowsWaitingForGroupAndWhyOnGetTasks() {
        assertThat(call("PUT", "/groups/narrow", "{\"maxConcurrent\": 1}").statusCode())
                .isEqualTo(200);
        // A new task with an interval is due at once.
        for (String name : List.of("narrow-1", "narrow-2")) {
            HttpResponse<String> created = call("POST", "/tasks", """
                    {"name": "%s", "handler": "sleep", "schedule": "1h", "timeout": "5m",
                     "params": {"duration": "5m"}, "concurrencyGroup": "narrow"}
                    """.formatted(name));
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        }
        await().atMost(Timing.SOON).untilAsserted(() -> {
            List<String> states = List.of(
                    listed("narrow-1").get("state").asString(),
                    listed("narrow-2").get("state").asString());
            assertThat(states).containsExactlyInAnyOrder("RUNNING", "WAITING_FOR_GROUP");
        });
        JsonNode waiting = listed("narrow-1").get("state").asString().equals("WAITING_FOR_GROUP")
                ? listed("narrow-1")
                : listed("narrow-2");
        assertThat(waiting.get("waitingForGroup").asString()).contains("narrow").contains("1 of 1");
        assertThat(json(call("GET", "/groups/narrow", null)).get("running").asInt())
                .isEqualTo(1);
    }

    @Test
    void aConfiguredGroupWithABadLimitStopsTheStart() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "fine", "sleep", "1h", "1m", "1s"));
        props.put("starpets.groups.metered.max-starts", "10/x");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "groups-b", props))
                .rootCause()
                .hasMessageContaining("max-starts must be starts per window");
        Map<String, Object> unknown = new HashMap<>(AppInstance.task(0, "fine", "sleep", "1h", "1m", "1s"));
        unknown.put("starpets.tasks[0].concurrency-grup", "metered");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "groups-c", unknown))
                .rootCause()
                .hasMessageContaining("unknown key 'concurrency-grup'");
        Map<String, Object> misspelt = new HashMap<>(AppInstance.task(0, "fine", "sleep", "1h", "1m", "1s"));
        misspelt.put("starpets.groups.metered.max-concurent", "2");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "groups-d", misspelt))
                .rootCause()
                .hasMessageContaining("starpets.groups.metered: unknown key 'max-concurent'");
    }
}
