package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.RunRepository.RunFilter;
import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.StarPets;
import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@link StarPets} bean of a real instance against its HTTP API: each operation through the facade
 * leaves the same rows in the audit trail ({@code task_events}) as its HTTP counterpart, and what the
 * API refuses, the facade refuses with the engine's refusal, writing nothing.
 */
class StarPetsFacadeTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-facade-0123456789";
    private static final String LATER = "2099-01-01T00:00:00Z";
    private static AppInstance app;
    private static StarPets starPets;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "from-config", "sleep", "0 0 1 1 *", "1m", "10ms"));
        // An operator-only handler's task, from the configuration: runs of it may not be given params.
        props.putAll(AppInstance.task(1, "program", "exec", "0 0 1 1 *", "1m", null));
        props.put("starpets.tasks[1].params.command[0]", "true");
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "facade-a", props);
        starPets = app.context().getBean(StarPets.class);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static HttpResponse<String> call(String method, String path, String body, String... headers) {
        HttpResponse<String> response = app.call(TOKEN, method, path, body, headers);
        assertThat(response.statusCode())
                .as(method + " " + path + ": " + response.body())
                .isLessThan(300);
        return response;
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    /** The task's audit rows, oldest first, with its name and run ids made alike: what the two ways must share. */
    private static List<String> trail(String task) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Connection c = app.context().getBean(DataSource.class).getConnection();
                var st = c.prepareStatement("select actor, action, before::text, after::text, detail"
                        + " from task_events where task_name = ? order by id")) {
            st.setString(1, task);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    rows.add(String.join(
                                    " | ",
                                    rs.getString(1),
                                    rs.getString(2),
                                    rs.getString(3),
                                    rs.getString(4),
                                    rs.getString(5))
                            .replace(task, "<task>")
                            .replaceAll("run \\d+", "run <id>"));
                }
            }
        }
        return rows;
    }

    private static long runningRun(String task) {
        return await().atMost(Timing.SOON)
                .until(
                        () -> starPets.runs(new RunFilter(task, RunStatus.RUNNING, null, null, 1, null, null)).stream()
                                .findFirst()
                                .map(r -> r.id())
                                .orElse(0L),
                        id -> id > 0);
    }

    private static void awaitNoRunInProgress(String task) {
        await().atMost(Timing.SOON)
                .until(() -> !starPets.findTask(task).orElseThrow().running());
    }

    @Test
    void eachOperationThroughTheFacadeLeavesTheSameAuditTrailAsOverHttp() throws Exception {
        // Over HTTP, as the operator ann.
        call("POST", "/tasks", """
                {"name": "via-http", "handler": "sleep", "schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
                 "timeout": "5m", "params": {"duration": "30s"}}
                """);
        call("PATCH", "/tasks/via-http", "{\"params\": {\"duration\": \"20s\"}}");
        call("POST", "/tasks/via-http/pause", "{\"until\": \"" + LATER + "\", \"reason\": \"holidays\"}");
        call("POST", "/tasks/via-http/resume", null);
        long pending = json(call(
                        "POST",
                        "/tasks/via-http/runs",
                        "{\"params\": {\"duration\": \"1s\"}, \"at\": \"" + LATER + "\"}",
                        "Idempotency-Key",
                        "key-1"))
                .get("runId")
                .asLong();
        call("DELETE", "/runs/" + pending, null);
        call("POST", "/tasks/via-http/runs", "{\"params\": {\"duration\": \"2s\"}, \"at\": \"" + LATER + "\"}");
        call("POST", "/tasks/via-http/trigger", null);
        call("POST", "/runs/" + runningRun("via-http") + "/cancel", null);
        awaitNoRunInProgress("via-http");
        call("DELETE", "/tasks/via-http", null);
        List<String> overHttp = trail("via-http");
        String actor = overHttp.getFirst().substring(0, overHttp.getFirst().indexOf(" | "));

        // The same through the facade, as the same actor.
        StarPets ann = starPets.as(actor);
        ann.create(TaskDefinition.of(
                "via-java",
                "sleep",
                "0 3 * * *",
                "Europe/Berlin",
                Duration.ofMinutes(5),
                true,
                Map.of("duration", "30s")));
        ann.update("via-java", null, d -> d.withParams(Map.of("duration", "20s")));
        ann.pause("via-java", null, Instant.parse(LATER), "holidays");
        ann.resume("via-java", null);
        long pendingJava = ann.run("via-java", Map.of("duration", "1s"), Instant.parse(LATER), "key-1")
                .runId();
        ann.withdraw(pendingJava);
        try (Connection c = app.context().getBean(DataSource.class).getConnection()) {
            c.setAutoCommit(false);
            ann.enqueue(c, "via-java", Map.of("duration", "2s"), Instant.parse(LATER));
            c.commit();
        }
        ann.trigger("via-java", false);
        ann.cancel(runningRun("via-java"));
        awaitNoRunInProgress("via-java");
        ann.delete("via-java", null);

        assertThat(overHttp).hasSize(10);
        assertThat(trail("via-java")).containsExactlyElementsOf(overHttp);
    }

    @Test
    void whatTheApiRefusesTheFacadeRefusesWithTheEnginesRefusalAndWritesNothing() throws Exception {
        starPets.create(
                TaskDefinition.of("checked", "sleep", "0 3 * * *", "UTC", Duration.ofMinutes(1), true, Map.of()));
        List<String> before = trail("checked");
        List<String> programBefore = trail("program");

        refused(
                () -> starPets.create(TaskDefinition.of(
                        "run-a-program",
                        "exec",
                        "0 3 * * *",
                        "UTC",
                        Duration.ofMinutes(1),
                        true,
                        Map.of("command", List.of("true")))),
                Refusal.HANDLER_NOT_ALLOWED);
        refused(
                () -> starPets.create(
                        TaskDefinition.of("too-often", "sleep", "1s", "UTC", Duration.ofMinutes(1), true, Map.of())),
                Refusal.SCHEDULE_TOO_FREQUENT);
        refused(
                () -> starPets.create(TaskDefinition.of(
                        "checked", "sleep", "0 4 * * *", "UTC", Duration.ofMinutes(1), true, Map.of())),
                Refusal.TASK_EXISTS);
        refused(() -> starPets.pause("checked", null, null, "x".repeat(501)), Refusal.REASON_TOO_LONG);
        refused(() -> starPets.run("checked", null, null, "not,ascii é"), Refusal.INVALID_IDEMPOTENCY_KEY);
        refused(
                () -> starPets.run("program", Map.of("command", List.of("false")), null, null),
                Refusal.HANDLER_NOT_ALLOWED);
        assertThatThrownBy(() -> starPets.run("checked", Map.of("duration", "soon"), null, null))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class);
        assertThatThrownBy(() -> starPets.update("checked", null, d -> d.withParams(Map.of("colour", "red"))))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class);
        assertThatThrownBy(() -> starPets.update(
                        "checked",
                        null,
                        d -> TaskDefinition.of(
                                "renamed", "sleep", "0 3 * * *", "UTC", Duration.ofMinutes(1), true, Map.of())))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageContaining("cannot be renamed");

        assertThat(trail("checked")).isEqualTo(before);
        assertThat(trail("run-a-program")).isEmpty();
        assertThat(trail("too-often")).isEmpty();
        assertThat(starPets.findTask("run-a-program")).isEmpty();
        assertThat(starPets.runs(new RunFilter("checked", null, null, null, 10, null, null)))
                .isEmpty();
        // The API's answers to the same: the same rules, each with its status and code.
        problem(app.call(TOKEN, "POST", "/tasks", """
                {"name": "run-a-program", "handler": "exec", "schedule": "0 3 * * *", "timeout": "1m",
                 "params": {"command": ["true"]}}
                """), 403, "handler_not_allowed");
        problem(app.call(TOKEN, "POST", "/tasks", """
                {"name": "too-often", "handler": "sleep", "schedule": "1s", "timeout": "1m"}
                """), 400, "schedule_too_frequent");
        problem(
                app.call(TOKEN, "POST", "/tasks/checked/pause", "{\"reason\": \"" + "x".repeat(501) + "\"}"),
                400,
                "invalid_request");
        problem(
                app.call(TOKEN, "POST", "/tasks/checked/runs", null, "Idempotency-Key", "not,ascii"),
                400,
                "invalid_idempotency_key");
        problem(
                app.call(TOKEN, "POST", "/tasks/program/runs", "{\"params\": {\"command\": [\"false\"]}}"),
                403,
                "handler_not_allowed");
        problem(
                app.call(TOKEN, "POST", "/tasks/checked/runs", "{\"params\": {\"duration\": \"soon\"}}"),
                400,
                "invalid_params");
        assertThat(trail("checked")).isEqualTo(before);
        assertThat(trail("program")).isEqualTo(programBefore);
    }

    private static void problem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(json(response).get("code").asString()).isEqualTo(code);
    }

    private static void refused(Executable call, Refusal refusal) {
        assertThatThrownBy(call::execute)
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(refusal));
    }
}
