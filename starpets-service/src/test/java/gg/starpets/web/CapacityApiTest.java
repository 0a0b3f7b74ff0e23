package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Capacity through the service: {@code SCHEDULER_MAX_CONCURRENT_RUNS} bound, a configured task's
 * {@code cost}, {@code cost} over the management API, used/capacity in {@code /instances} and
 * {@code /metrics}.
 */
class CapacityApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-0123456789abcdef";
    private static String database;
    private static AppInstance app;

    @BeforeAll
    static void start() {
        database = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "heavy-config", "sleep", "1h", "30m", "10m"));
        props.put("starpets.tasks[0].cost", "2");
        props.put("starpets.scheduler.max-concurrent-runs", "3");
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(database, "capacity-a", props);
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

    @Test
    void theInstanceShowsTheUnitsItsRunsUseOfItsCapacity() {
        await().atMost(Timing.SOON).untilAsserted(() -> {
            JsonNode instance = json(app.get("/instances")).get("instances").get(0);
            assertThat(instance.get("id").asString()).isEqualTo("capacity-a");
            assertThat(instance.get("capacity").asInt()).isEqualTo(3);
            assertThat(instance.get("runsUsed").asInt())
                    .as("the configured task of cost 2 runs")
                    .isEqualTo(2);
        });
        String metrics = app.get("/metrics").body();
        assertThat(metrics)
                .containsPattern("(?m)^starpets_capacity_units\\{instance_id=\"capacity-a\"} 3\\.0$")
                .containsPattern("(?m)^starpets_capacity_used_units\\{instance_id=\"capacity-a\"} 2\\.0$");
        JsonNode task = json(call("GET", "/tasks/heavy-config", null));
        assertThat(task.get("cost").asInt()).isEqualTo(2);
    }

    @Test
    void aTaskIsCreatedAndEditedWithItsCostAndABadCostIsRefused() {
        HttpResponse<String> created = call("POST", "/tasks", """
                {"name": "weighed", "handler": "sleep", "schedule": "0 3 * * *", "timeout": "5m",
                 "params": {"duration": "100ms"}, "cost": 3}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(json(created).get("cost").asInt()).isEqualTo(3);

        HttpResponse<String> edited = call("PATCH", "/tasks/weighed", "{\"cost\": 1}");
        assertThat(edited.statusCode()).as(edited.body()).isEqualTo(200);
        assertThat(json(edited).get("cost").asInt()).isEqualTo(1);
        HttpResponse<String> untouched = call("PATCH", "/tasks/weighed", "{\"timeout\": \"6m\"}");
        assertThat(json(untouched).get("cost").asInt())
                .as("an edit of another field keeps it")
                .isEqualTo(1);

        for (String bad : new String[] {"0", "1001", "2.5", "\"heavy\""}) {
            HttpResponse<String> refused = call("PATCH", "/tasks/weighed", "{\"cost\": " + bad + "}");
            assertThat(refused.statusCode()).as(bad + ": " + refused.body()).isEqualTo(400);
            assertThat(json(refused).get("code").asString()).isEqualTo("invalid_task");
        }
        HttpResponse<String> defaulted = call("POST", "/tasks", """
                {"name": "unweighed", "handler": "sleep", "schedule": "0 3 * * *", "timeout": "5m"}
                """);
        assertThat(json(defaulted).get("cost").asInt()).isEqualTo(1);
    }

    @Test
    void aConfiguredTaskCostingMoreThanTheInstancesCapacityOrLessThanOneStopsTheStartNamingIt() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "too-heavy", "sleep", "1h", "1m", "1s"));
        props.put("starpets.tasks[0].cost", "4");
        props.put("starpets.scheduler.max-concurrent-runs", "3");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "capacity-b", props))
                .rootCause()
                .hasMessageContaining("Task 'too-heavy'")
                .hasMessageContaining("exceeds this instance's whole capacity");
        props.put("starpets.tasks[0].cost", "0");
        assertThatThrownBy(() -> AppInstance.start(TestPostgres.createDatabase(), "capacity-c", props))
                .rootCause()
                .hasMessageContaining("Task 'too-heavy': the cost must be between 1 and 1000, not 0");
    }
}
