package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.scheduler.Schedule;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** The bounds on tasks created over the API (web.TaskLimits), on a real instance. */
class TaskLimitsTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.put("starpets.scheduler.enabled", "false");
        props.put("starpets.api.max-tasks", 2);
        props.put("starpets.api.max-params-size", "200B");
        // Configuration tasks count for nothing, and are bound by nothing: this one is due every second.
        props.putAll(AppInstance.task(0, "from-config", "sleep", "1s", "1m", "10ms"));
        app = AppInstance.start(TestPostgres.createDatabase(), "instance-limits", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    @Test
    void aScheduleDueMoreOftenThanTheShortestIntervalIsRefusedAtCreateAndAtEdit() {
        for (String schedule : new String[] {"1s", "9999ms", "PT5S", "* * * * * *", "0,5 0 3 * * *"}) {
            assertProblem(create("too-often", schedule, "{}"), 400, "schedule_too_frequent");
        }
        assertThat(create("every-ten", "*/10 * * * * *", "{}").statusCode()).isEqualTo(201);
        HttpResponse<String> edit = call("PATCH", "/tasks/every-ten", "{\"schedule\": \"2s\"}");
        assertProblem(edit, 400, "schedule_too_frequent");
        assertThat(JSON.readTree(app.get("/tasks/every-ten").body())
                        .get("schedule")
                        .asString())
                .isEqualTo("*/10 * * * * *");
        assertThat(call("DELETE", "/tasks/every-ten", null).statusCode()).isEqualTo(204);
    }

    @Test
    void paramsLargerThanTheirBoundAreRefusedAndNothingIsStored() {
        // A public destination: only the size may be what is refused.
        String big = "{\"url\": \"https://hooks.example.com/hook\", \"body\": \"" + "x".repeat(200) + "\"}";
        assertProblem(create("big-params", "http", "1m", big), 400, "params_too_large");
        assertThat(app.get("/tasks/big-params").statusCode()).isEqualTo(404);
    }

    @Test
    void noMoreTasksThanTheBoundAreCreatedOverTheApiAndDeletingOneMakesRoom() {
        assertThat(create("one", "1m", "{}").statusCode()).isEqualTo(201);
        assertThat(create("two", "1m", "{}").statusCode()).isEqualTo(201);
        assertProblem(create("three", "1m", "{}"), 409, "task_limit_reached");
        assertThat(app.get("/tasks/three").statusCode()).isEqualTo(404);
        assertThat(call("DELETE", "/tasks/two", null).statusCode()).isEqualTo(204);
        assertThat(create("three", "1m", "{}").statusCode()).isEqualTo(201);
        call("DELETE", "/tasks/one", null);
        call("DELETE", "/tasks/three", null);
    }

    @Test
    void theShortestGapOfACronIsFoundAmongItsNextDueTimes() {
        Instant from = Instant.parse("2026-06-01T00:00:00Z");
        assertThat(TaskLimits.shortestGap(Schedule.parse("0,1 0 3 * * *", ZoneId.of("UTC")), from))
                .isEqualTo(Duration.ofSeconds(1));
        assertThat(TaskLimits.shortestGap(Schedule.parse("*/15 * * * *", ZoneId.of("UTC")), from))
                .isEqualTo(Duration.ofMinutes(15));
        assertThat(TaskLimits.shortestGap(Schedule.parse("45s", ZoneId.of("UTC")), from))
                .isEqualTo(Duration.ofSeconds(45));
    }

    private static HttpResponse<String> create(String name, String schedule, String params) {
        return create(name, "sleep", schedule, params);
    }

    private static HttpResponse<String> create(String name, String handler, String schedule, String params) {
        return call(
                "POST",
                "/tasks",
                "{\"name\": \"" + name + "\", \"handler\": \"" + handler + "\", \"schedule\": \"" + schedule
                        + "\", \"timeout\": \"1m\", \"params\": " + params + "}");
    }

    private static HttpResponse<String> call(String method, String path, String body) {
        return app.send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url(path))), TestTokens.OPERATOR)
                .header("Content-Type", "application/json")
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(body)));
    }

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(JSON.readTree(response.body()).get("code").asString()).isEqualTo(code);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
    }
}
