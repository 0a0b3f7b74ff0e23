package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The HTTP contract of api.md, through a real instance of the service on a real database. */
class WebApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "long-one", "sleep", "*/5 * * * *", "5m", "10m"));
        // Running at once, not at its next five minutes.
        props.put("starpets.tasks[0].start-at", Instant.now().toString());
        props.putAll(AppInstance.task(1, "quick-one", "sleep", "1h", "1m", "100ms"));
        props.putAll(AppInstance.task(2, "switched-off", "cpu", "30s", "1m", null));
        props.put("starpets.tasks[2].enabled", "false");
        props.putAll(AppInstance.task(3, "odd-one", "sleep", "1h", "1m", "10m"));
        app = AppInstance.start(TestPostgres.createDatabase(), "instance-web", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    @Test
    void everyResponseCarriesTheInstanceIdIncludingProblemsAnd404s() {
        for (String path : new String[] {"/health", "/", "/tasks", "/no-such-route", "/tasks/none", "/runs?limit=x"}) {
            assertThat(app.get(path).headers().firstValue("X-Instance-Id"))
                    .as(path)
                    .hasValue("instance-web");
        }
        HttpResponse<String> post = app.send(
                HttpRequest.newBuilder(URI.create(app.url("/health"))).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("X-Instance-Id")).hasValue("instance-web");
    }

    @Test
    void healthSaysUpWithTheInstanceId() {
        HttpResponse<String> health = app.get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(json(health).get("status").asString()).isEqualTo("UP");
        assertThat(json(health).get("instanceId").asString()).isEqualTo("instance-web");
    }

    @Test
    void theIndexLinksTheRoutes() {
        JsonNode links = json(app.get("/")).get("links");
        assertThat(links.get("tasks").asString()).isEqualTo("/tasks");
        assertThat(links.get("health").asString()).isEqualTo("/health");
        assertThat(links.get("metrics").asString()).isEqualTo("/metrics");
    }

    @Test
    void theIndexAndHealthAnswerTheirFieldsInTheDocumentedOrder() {
        JsonNode index = json(app.get("/"));
        assertThat(index.propertyNames()).containsExactly("name", "links");
        assertThat(index.get("links").propertyNames())
                .containsExactly(
                        "health",
                        "metrics",
                        "instances",
                        "tasks",
                        "task",
                        "taskRuns",
                        "runs",
                        "balance",
                        "balanceUpdate");
        assertThat(json(app.get("/health")).propertyNames()).containsExactly("status", "instanceId", "database");
    }

    @Test
    void unknownRoutesAndBadParametersAreProblemDetailsWithAStableCode() {
        HttpResponse<String> missing = app.get("/no-such-route");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        assertThat(json(missing).get("code").asString()).isEqualTo("not_found");

        assertProblem(app.get("/tasks/none"), 404, "task_not_found");
        assertProblem(app.get("/tasks/none/runs"), 404, "task_not_found");
        assertProblem(app.get("/runs?limit=0"), 400, "invalid_parameter");
        assertProblem(app.get("/runs?limit=100000"), 400, "invalid_parameter");
        assertProblem(app.get("/runs?limit=abc"), 400, "invalid_parameter");
        assertProblem(app.get("/runs?status=DANCING"), 400, "invalid_parameter");
        assertProblem(app.get("/runs?before=-3"), 400, "invalid_parameter");
        assertProblem(app.get("/tasks/long-one/runs?before=x"), 400, "invalid_parameter");
    }

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.uri().toString()).isEqualTo(status);
        JsonNode body = json(response);
        assertThat(body.get("code").asString()).isEqualTo(code);
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.has("type") && body.has("title") && body.has("detail")).isTrue();
    }

    @Test
    void tasksListsRunningTasksWithTheirInstanceAndElapsedTimeAndWaitingOnesWithTheirNextRun() {
        await().atMost(Timing.SOON).until(() -> {
            JsonNode tasks = json(app.get("/tasks")).get("tasks");
            return state(tasks, "long-one").equals("RUNNING")
                    && state(tasks, "quick-one").equals("WAITING")
                    && find(tasks, "quick-one").get("lastRun").hasNonNull("id");
        });
        JsonNode list = json(app.get("/tasks"));
        assertThat(list.get("now").asString()).endsWith("Z");
        JsonNode running = find(list.get("tasks"), "long-one");
        assertThat(running.get("instanceId").asString()).isEqualTo("instance-web");
        assertThat(running.get("elapsedSeconds").asDouble()).isGreaterThanOrEqualTo(0);
        assertThat(running.hasNonNull("startedAt")).isTrue();
        assertThat(running.get("nextRunAt").asString()).endsWith(":00Z");
        JsonNode waiting = find(list.get("tasks"), "quick-one");
        assertThat(waiting.get("instanceId").isNull()).isTrue();
        assertThat(waiting.hasNonNull("nextRunAt")).isTrue();
        assertThat(waiting.get("lastRun").get("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(state(list.get("tasks"), "switched-off")).isEqualTo("DISABLED");
        assertThat(find(list.get("tasks"), "switched-off").get("nextRunAt").isNull())
                .as("a disabled task has no next run")
                .isTrue();

        JsonNode one = json(app.get("/tasks/quick-one"));
        assertThat(one.get("name").asString()).isEqualTo("quick-one");
        assertThat(one.get("schedule").asString()).isEqualTo("1h");
    }

    @Test
    void aScheduleThisVersionCannotReadNeverTurnsTheTaskListIntoAnError() throws Exception {
        await().atMost(Timing.SOON)
                .until(() ->
                        state(json(app.get("/tasks")).get("tasks"), "odd-one").equals("RUNNING"));
        try (var c = app.context().getBean(javax.sql.DataSource.class).getConnection();
                var st = c.createStatement()) {
            st.executeUpdate("update tasks set schedule = 'every full moon' where name = 'odd-one'");
        }

        HttpResponse<String> list = app.get("/tasks");
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(find(json(list).get("tasks"), "odd-one").get("nextRunAt").isNull())
                .isTrue();
        assertThat(app.get("/tasks/odd-one").statusCode()).isEqualTo(200);
    }

    @Test
    void runHistoryIsNewestFirstAndFiltersByTaskStatusAndInstance() {
        await().atMost(Timing.SOON)
                .until(() -> json(app.get("/runs?status=SUCCEEDED")).get("runs").size() >= 1);
        JsonNode succeeded = json(app.get("/runs?status=succeeded&instanceId=instance-web&limit=10"))
                .get("runs");
        assertThat(succeeded.size()).isGreaterThanOrEqualTo(1);
        succeeded.forEach(run -> {
            assertThat(run.get("status").asString()).isEqualTo("SUCCEEDED");
            assertThat(run.get("instanceId").asString()).isEqualTo("instance-web");
            assertThat(run.hasNonNull("finishedAt") && run.hasNonNull("durationSeconds"))
                    .isTrue();
        });
        JsonNode all = json(app.get("/runs?limit=50")).get("runs");
        for (int i = 1; i < all.size(); i++) {
            assertThat(all.get(i).get("id").asLong())
                    .isLessThan(all.get(i - 1).get("id").asLong());
        }
        JsonNode ofTask = json(app.get("/tasks/long-one/runs")).get("runs");
        assertThat(ofTask)
                .allSatisfy(run -> assertThat(run.get("task").asString()).isEqualTo("long-one"));
        assertThat(json(app.get("/runs?instanceId=nobody")).get("runs").size()).isZero();
        assertThat(json(app.get("/runs?task=quick-one")).get("runs"))
                .isNotEmpty()
                .allSatisfy(run -> assertThat(run.get("task").asString()).isEqualTo("quick-one"));
        assertThat(json(app.get("/runs?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z"))
                        .get("runs")
                        .size())
                .isZero();
        assertThat(json(app.get("/runs?from=2000-01-01T00:00:00Z")).get("runs").size())
                .isEqualTo(all.size());
        assertProblem(app.get("/runs?from=yesterday"), 400, "invalid_parameter");
    }

    private static JsonNode find(JsonNode tasks, String name) {
        for (JsonNode t : tasks) {
            if (t.get("name").asString().equals(name)) {
                return t;
            }
        }
        throw new AssertionError("no task " + name + " in " + tasks);
    }

    private static String state(JsonNode tasks, String name) {
        return find(tasks, name).get("state").asString();
    }
}
