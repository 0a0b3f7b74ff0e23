package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
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
 * {@code runAfter} over HTTP on a real instance: a task created with only a run-after shows it, runs after
 * its upstream's run with {@code upstreamRunId} on {@code /runs} and {@code /runs/{id}}; a loop, an unknown
 * upstream and fan-in are refused (400, nothing written); an upstream with downstream tasks is not deleted
 * (409).
 */
class RunAfterApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-runafter-0123456789";
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "runafter-a", props);
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

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(json(response).get("code").asString()).isEqualTo(code);
    }

    @Test
    void aTaskRunsAfterItsUpstreamCarryingItsRunIdAndLoopsUnknownUpstreamsAndFanInAreRefused() {
        assertThat(call("POST", "/tasks", """
                        {"name": "import-orders", "handler": "sleep", "schedule": "0 0 1 1 *", "timeout": "1m",
                         "params": {"duration": "10ms"}}
                        """).statusCode()).isEqualTo(201);
        HttpResponse<String> created = call("POST", "/tasks", """
                {"name": "report", "handler": "sleep", "timeout": "1m", "params": {"duration": "10ms"},
                 "runAfter": {"task": "import-orders", "when": "SUCCEEDED"}}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode report = json(call("GET", "/tasks/report", null));
        assertThat(report.get("runAfter").get("task").asString()).isEqualTo("import-orders");
        assertThat(report.get("runAfter").get("when").asString()).isEqualTo("SUCCEEDED");
        assertThat(report.get("schedule").asString()).isEqualTo("once");
        assertThat(report.get("state").asString()).isEqualTo("WAITING");

        assertProblem(
                call("PATCH", "/tasks/import-orders", "{\"runAfter\": {\"task\": \"report\"}}"), 400, "run_after_loop");
        assertThat(json(call("GET", "/tasks/import-orders", null))
                        .get("runAfter")
                        .isNull())
                .isTrue();
        assertProblem(call("POST", "/tasks", """
                        {"name": "orphan", "handler": "sleep", "timeout": "1m", "runAfter": {"task": "nobody"}}
                        """), 400, "unknown_upstream");
        HttpResponse<String> fanIn = call("POST", "/tasks", """
                {"name": "both", "handler": "sleep", "timeout": "1m", "runAfter": ["import-orders", "report"]}
                """);
        assertProblem(fanIn, 400, "invalid_task");
        assertThat(json(fanIn).get("detail").asString()).contains("fan-in");
        assertThat(call("GET", "/tasks/orphan", null).statusCode()).isEqualTo(404);
        assertThat(call("GET", "/tasks/both", null).statusCode()).isEqualTo(404);
        assertProblem(call("DELETE", "/tasks/import-orders", null), 409, "has_downstream");

        assertThat(call("POST", "/tasks/import-orders/trigger", null).statusCode())
                .isBetween(200, 299);
        await().atMost(Timing.SOON)
                .until(() -> json(app.get("/runs?task=report&status=SUCCEEDED"))
                                .get("runs")
                                .size()
                        == 1);
        long upstreamRun = json(app.get("/runs?task=import-orders"))
                .get("runs")
                .get(0)
                .get("id")
                .asLong();
        JsonNode run = json(app.get("/runs?task=report")).get("runs").get(0);
        assertThat(run.get("upstreamRunId").asLong()).isEqualTo(upstreamRun);
        assertThat(run.get("cause").asString()).isEqualTo("UPSTREAM");
        assertThat(json(app.get("/runs/" + run.get("id").asLong()))
                        .get("upstreamRunId")
                        .asLong())
                .isEqualTo(upstreamRun);
        assertThat(json(call("GET", "/tasks/report", null)).get("state").asString())
                .as("it waits for its upstream's next run, not COMPLETED")
                .isEqualTo("WAITING");
    }

    @Test
    void theOpenApiDescriptionHasRunAfterAndUpstreamRunId() {
        JsonNode schemas =
                json(call("GET", "/v3/api-docs", null)).get("components").get("schemas");
        assertThat(schemas.get("TaskResponse").get("properties").has("runAfter"))
                .isTrue();
        assertThat(schemas.get("RunRow").get("properties").has("upstreamRunId")).isTrue();
        assertThat(schemas.get("RunAfter").get("properties").propertyNames()).containsExactlyInAnyOrder("task", "when");
    }
}
