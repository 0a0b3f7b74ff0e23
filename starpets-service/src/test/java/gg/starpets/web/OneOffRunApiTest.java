package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /tasks/{name}/runs}, {@code DELETE /runs/{id}} and one-time tasks over HTTP on a real
 * instance: the run's id and Location, its params checked by the handler, Idempotency-Key, pending runs
 * listed and withdrawn, the operator role, and a task created with only {@code at}.
 */
class OneOffRunApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-oneoff-0123456789";
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        // Once a year: only one-off runs run it during the test.
        props.putAll(AppInstance.task(0, "yearly", "sleep", "0 0 1 1 *", "1m", "10ms"));
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "oneoff-a", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static HttpResponse<String> call(String method, String path, String body, String... headers) {
        return app.call(TOKEN, method, path, body, headers);
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(json(response).get("code").asString()).isEqualTo(code);
    }

    private static long runs(String query) {
        return json(app.get("/runs?" + query)).get("runs").size();
    }

    @Test
    void aOneOffRunIsAnsweredWithItsIdAndLocationAndRunsWithItsParams() {
        HttpResponse<String> asked = call("POST", "/tasks/yearly/runs", "{\"params\": {\"duration\": \"20ms\"}}");

        assertThat(asked.statusCode()).as(asked.body()).isEqualTo(201);
        long runId = json(asked).get("runId").asLong();
        assertThat(asked.headers().firstValue("Location")).hasValue("/runs/" + runId);
        await().atMost(Timing.SOON)
                .until(() -> json(app.get("/runs?task=yearly&status=SUCCEEDED"))
                                .get("runs")
                                .size()
                        == 1);
        JsonNode run =
                json(app.get("/runs?task=yearly&status=SUCCEEDED")).get("runs").get(0);
        assertThat(run.get("id").asLong()).isEqualTo(runId);
        assertThat(run.get("cause").asString()).isEqualTo("MANUAL");
        assertThat(run.get("requestedBy").asString()).contains("ann");
        assertThat(run.get("params").get("duration").asString()).isEqualTo("20ms");
        HttpResponse<String> located =
                app.get(asked.headers().firstValue("Location").orElseThrow());
        assertThat(located.statusCode()).as("the Location answers the run").isEqualTo(200);
        assertThat(json(located).get("id").asLong()).isEqualTo(runId);
        assertThat(json(located).get("status").asString()).isEqualTo("SUCCEEDED");
        HttpResponse<String> unknown = app.get("/runs/999999999");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("code").asString()).isEqualTo("run_not_found");
        assertThat(json(app.get("/tasks/yearly/events"))
                        .get("events")
                        .get(0)
                        .get("action")
                        .asString())
                .isEqualTo("RUN_REQUESTED");
    }

    @Test
    void aPendingRunIsListedAndWithdrawnButNotOnceWithdrawn() {
        String at = Instant.now().plus(1, ChronoUnit.HOURS).toString();
        HttpResponse<String> asked = call("POST", "/tasks/yearly/runs", "{\"at\": \"" + at + "\"}");
        long runId = json(asked).get("runId").asLong();

        assertThat(json(app.get("/runs?status=PENDING"))
                        .get("runs")
                        .get(0)
                        .get("id")
                        .asLong())
                .isEqualTo(runId);
        assertThat(json(app.get("/tasks/yearly/runs"))
                        .get("runs")
                        .get(0)
                        .get("status")
                        .asString())
                .isEqualTo("PENDING");

        HttpResponse<String> withdrawn = call("DELETE", "/runs/" + runId, null);
        assertThat(withdrawn.statusCode()).as(withdrawn.body()).isEqualTo(200);
        assertThat(json(withdrawn).get("status").asString()).isEqualTo("CANCELLED");
        assertThat(runs("status=PENDING")).isZero();
        assertProblem(call("DELETE", "/runs/" + runId, null), 409, "run_started");
        assertProblem(call("DELETE", "/runs/987654321", null), 404, "run_not_found");
    }

    @Test
    void theSameIdempotencyKeyAnswersTheSameRunAndAnotherBodyUnderItIsRefused() {
        String body = "{\"at\": \"2099-01-01T00:00:00Z\"}";
        HttpResponse<String> first = call("POST", "/tasks/yearly/runs", body, "Idempotency-Key", "key-1");
        HttpResponse<String> again = call("POST", "/tasks/yearly/runs", body, "Idempotency-Key", "key-1");

        assertThat(again.statusCode()).isEqualTo(201);
        assertThat(json(again).get("runId").asLong())
                .isEqualTo(json(first).get("runId").asLong());
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertProblem(
                call("POST", "/tasks/yearly/runs", "{\"at\": \"2099-01-02T00:00:00Z\"}", "Idempotency-Key", "key-1"),
                422,
                "idempotency_key_reused");
        assertThat(json(app.get("/runs?status=PENDING")).get("runs").findValues("id").stream()
                        .filter(id -> id.asLong() == json(first).get("runId").asLong())
                        .count())
                .isEqualTo(1);
        call("DELETE", "/runs/" + json(first).get("runId").asLong(), null);
    }

    @Test
    void badRequestsAreProblemsAndWriteNothing() {
        long before = json(app.get("/runs?task=yearly&limit=500")).get("runs").size();

        assertProblem(call("POST", "/tasks/yearly/runs", "{\"params\": {\"bogus\": 1}}"), 400, "invalid_params");
        assertProblem(
                call("POST", "/tasks/yearly/runs", "{\"params\": {\"duration\": \"soon\"}}"), 400, "invalid_params");
        assertProblem(call("POST", "/tasks/yearly/runs", "{\"at\": \"tomorrow\"}"), 400, "invalid_request");
        assertProblem(call("POST", "/tasks/yearly/runs", "{\"when\": \"now\"}"), 400, "invalid_request");
        assertProblem(call("POST", "/tasks/nothing/runs", "{}"), 404, "task_not_found");

        assertThat(json(app.get("/runs?task=yearly&limit=500")).get("runs").size())
                .isEqualTo(before);
        // A viewer may read, not ask for runs.
        HttpResponse<String> viewer = app.send(
                TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/tasks/yearly/runs"))), TestTokens.VIEWER)
                        .POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertThat(viewer.statusCode()).isEqualTo(403);
    }

    @Test
    void aTaskCreatedWithOnlyAnAtRunsOnceThenShowsCompleted() {
        String at = Instant.now().plusSeconds(1).truncatedTo(ChronoUnit.MILLIS).toString();
        HttpResponse<String> created = call("POST", "/tasks", """
                {"name": "launch", "handler": "sleep", "timeout": "1m", "params": {"duration": "10ms"},
                 "at": "%s"}""".formatted(at));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(json(created).get("schedule").asString()).isEqualTo("once");
        assertThat(json(created).get("at").asString()).isEqualTo(at);

        await().atMost(Timing.SOON)
                .until(() ->
                        json(app.get("/tasks/launch")).get("state").asString().equals("COMPLETED"));
        JsonNode task = json(app.get("/tasks/launch"));
        assertThat(task.get("lastRun").get("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(task.get("lastRun").get("scheduledFor").asString()).isEqualTo(at);
        assertThat(task.get("nextRunAt").isNull()).isTrue();
    }
}
