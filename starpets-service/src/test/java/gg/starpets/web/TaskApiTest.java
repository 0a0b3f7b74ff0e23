package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The management API on two real instances sharing one database: each change seen by both at once. */
class TaskApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-0123456789abcdef";
    private static AppInstance a;
    private static AppInstance b;

    @BeforeAll
    static void start() {
        String database = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "from-config", "sleep", "1h", "1m", "100ms"));
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        // A task due every 2 s (a missed slot below comes in 2 s, not 10): the floor itself is
        // TaskLimitsTest's.
        props.put("starpets.api.min-interval", "1s");
        a = AppInstance.start(database, "api-a", props);
        b = AppInstance.start(database, "api-b", props);
    }

    @AfterAll
    static void stop() {
        b.close();
        a.close();
    }

    private static HttpResponse<String> call(
            AppInstance app, String method, String path, String body, String... headers) {
        return app.call(TOKEN, method, path, body, headers);
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(json(response).get("code").asString()).isEqualTo(code);
    }

    private static String etag(HttpResponse<String> response) {
        return response.headers().firstValue("ETag").orElseThrow();
    }

    @Test
    void aTaskIsCreatedEditedWithItsVersionPausedResumedAndDeletedWithEveryStepInItsTrail() {
        HttpResponse<String> created = call(a, "POST", "/tasks", """
                {"name": "nightly-report", "handler": "sleep", "schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
                 "timeout": "5m", "params": {"duration": "100ms"},
                 "retry": {"maxAttempts": 3, "initialBackoff": "5s"}, "misfire": "SKIP", "jitter": 30}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue("Location")).hasValue("/tasks/nightly-report");
        JsonNode task = json(created);
        assertThat(task.get("source").asString()).isEqualTo("API");
        assertThat(task.get("state").asString()).isEqualTo("WAITING");
        assertThat(task.get("timeoutSeconds").asDouble()).isEqualTo(300);
        assertThat(task.get("retry").get("maxAttempts").asInt()).isEqualTo(3);
        assertThat(task.get("misfire").asString()).isEqualTo("SKIP");
        assertThat(task.get("jitterSeconds").asDouble()).isEqualTo(30);
        String version1 = etag(created);

        // Seen through the other instance at once, with the same version.
        HttpResponse<String> seen = b.get("/tasks/nightly-report");
        assertThat(seen.statusCode()).isEqualTo(200);
        assertThat(etag(seen)).isEqualTo(version1);

        HttpResponse<String> edited = call(b, "PATCH", "/tasks/nightly-report", """
                {"schedule": "30 4 * * *", "retry": null}""", "If-Match", version1);
        assertThat(edited.statusCode()).as(edited.body()).isEqualTo(200);
        assertThat(json(edited).get("schedule").asString()).isEqualTo("30 4 * * *");
        assertThat(json(edited).get("retry").isNull()).isTrue();
        assertThat(json(edited).get("misfire").asString())
                .as("untouched fields stay")
                .isEqualTo("SKIP");
        assertThat(etag(edited)).isNotEqualTo(version1);

        // A write based on the old version is refused, and changes nothing.
        assertProblem(
                call(a, "PATCH", "/tasks/nightly-report", "{\"schedule\": \"@hourly\"}", "If-Match", version1),
                412,
                "version_mismatch");
        assertThat(json(a.get("/tasks/nightly-report")).get("schedule").asString())
                .isEqualTo("30 4 * * *");

        HttpResponse<String> paused = call(a, "POST", "/tasks/nightly-report/pause", """
                {"until": "2099-01-01T00:00:00Z", "reason": "partner migration"}""");
        assertThat(paused.statusCode()).isEqualTo(200);
        assertThat(json(b.get("/tasks/nightly-report")).get("state").asString()).isEqualTo("PAUSED");
        assertThat(json(b.get("/tasks/nightly-report"))
                        .get("paused")
                        .get("reason")
                        .asString())
                .isEqualTo("partner migration");
        assertThat(call(b, "POST", "/tasks/nightly-report/resume", null).statusCode())
                .isEqualTo(200);
        assertThat(json(a.get("/tasks/nightly-report")).get("state").asString()).isEqualTo("WAITING");

        assertThat(call(a, "DELETE", "/tasks/nightly-report", null).statusCode())
                .isEqualTo(204);
        assertProblem(b.get("/tasks/nightly-report"), 404, "task_not_found");

        JsonNode events = json(a.get("/tasks/nightly-report/events")).get("events");
        assertThat(events.findValuesAsString("action"))
                .containsExactly("DELETED", "RESUMED", "PAUSED", "UPDATED", "CREATED");
        assertThat(events.findValuesAsString("actor"))
                .allSatisfy(actor -> assertThat(actor).contains("ann"));
        JsonNode update = events.get(3);
        assertThat(update.get("before").get("schedule").asString()).isEqualTo("0 3 * * *");
        assertThat(update.get("after").get("schedule").asString()).isEqualTo("30 4 * * *");
        assertProblem(a.get("/tasks/never-was/events"), 404, "task_not_found");
    }

    @Test
    void aTaskAnswersWithTheFieldsOfDocsApiInTheirOrder() {
        HttpResponse<String> created = call(a, "POST", "/tasks", """
                {"name": "ordered", "handler": "sleep", "schedule": "0 3 * * *", "timeout": "5m",
                 "retry": {"maxAttempts": 2, "initialBackoff": "5s"}}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        for (JsonNode task : List.of(json(created), json(b.get("/tasks/ordered")))) {
            assertThat(task.propertyNames())
                    .containsExactly(
                            "name",
                            "handler",
                            "schedule",
                            "timeZone",
                            "enabled",
                            "state",
                            "instanceId",
                            "startedAt",
                            "elapsedSeconds",
                            "progress",
                            "nextRunAt",
                            "timeoutSeconds",
                            "lastRun",
                            "source",
                            "version",
                            "paused",
                            "quarantinedAt",
                            "retired",
                            "triggerQueued",
                            "params",
                            "retry",
                            "misfire",
                            "misfireThresholdSeconds",
                            "catchUpLimit",
                            "catchUpWindowSeconds",
                            "jitterSeconds",
                            "overlap",
                            "maxConcurrent",
                            "runsInProgress",
                            "at",
                            "cost",
                            "runAfter",
                            "priority",
                            "concurrencyGroup",
                            "waitingForGroup");
            assertThat(task.get("retry").propertyNames())
                    .containsExactly("maxAttempts", "initialBackoffSeconds", "multiplier", "maxBackoffSeconds");
            assertThat(task.get("retry").get("initialBackoffSeconds").asDouble())
                    .isEqualTo(5.0);
        }
        assertThat(call(a, "DELETE", "/tasks/ordered", null).statusCode()).isEqualTo(204);
    }

    /** Whichever check refuses it (the body's shape, the handler, the handler's params): one code, one title. */
    @Test
    void aNewIntervalTaskIsDueAtOnceAndAStartAtPlacesTheFirstRunOfAnyTask() {
        HttpResponse<String> interval = call(a, "POST", "/tasks", """
                {"name": "first-interval", "handler": "sleep", "schedule": "1h", "timeout": 60,
                 "params": {"duration": "100ms"}}
                """);
        assertThat(interval.statusCode()).as(interval.body()).isEqualTo(201);
        await().atMost(Timing.SOON)
                .until(() -> json(a.get("/tasks/first-interval")).get("lastRun").isObject());

        Instant startAt = Instant.now().plus(Duration.ofHours(2)).truncatedTo(ChronoUnit.SECONDS);
        for (String schedule : List.of("0 3 * * *", "1m")) {
            String name = schedule.equals("1m") ? "later-interval" : "later-cron";
            HttpResponse<String> later =
                    call(a, "POST", "/tasks", """
                    {"name": "%s", "handler": "sleep", "schedule": "%s", "timeout": 60, "startAt": "%s"}
                    """.formatted(name, schedule, startAt.atOffset(ZoneOffset.ofHours(3))));
            assertThat(later.statusCode()).as(later.body()).isEqualTo(201);
            assertThat(Instant.parse(json(later).get("nextRunAt").asString()))
                    .as(name)
                    .isEqualTo(startAt);
        }

        // An edit with a start-at to come moves the next run there; one that has passed changes nothing.
        Instant moved = startAt.plus(Duration.ofHours(1));
        HttpResponse<String> edited = call(a, "PATCH", "/tasks/later-interval", """
                {"startAt": "%s"}""".formatted(moved));
        assertThat(edited.statusCode()).as(edited.body()).isEqualTo(200);
        assertThat(Instant.parse(json(edited).get("nextRunAt").asString())).isEqualTo(moved);
        HttpResponse<String> passed = call(a, "PATCH", "/tasks/later-interval", """
                {"startAt": "2026-01-01T00:00:00Z"}""");
        assertThat(passed.statusCode()).as(passed.body()).isEqualTo(200);
        assertThat(Instant.parse(json(passed).get("nextRunAt").asString())).isEqualTo(moved);

        HttpResponse<String> refused = call(a, "POST", "/tasks", """
                {"name": "bad-start", "handler": "sleep", "schedule": "1h", "timeout": 60, "startAt": "tomorrow"}
                """);
        assertProblem(refused, 400, "invalid_task");
        assertThat(json(refused).get("detail").asString()).contains("startAt").contains("'tomorrow'");
        assertProblem(a.get("/tasks/bad-start"), 404, "task_not_found");
    }

    @Test
    void aFieldNobodyReadsIsRefusedNamingTheTaskAndTheFieldAndWritesNothing() {
        HttpResponse<String> misspelt = call(a, "POST", "/tasks", """
                {"name": "typo-task", "handler": "sleep", "schedule": "1h", "timeout": 60, "misfre": "SKIP"}
                """);
        assertProblem(misspelt, 400, "invalid_task");
        assertThat(json(misspelt).get("detail").asString())
                .startsWith("Task 'typo-task': unknown field 'misfre' (known: at, catchUpLimit, ");
        HttpResponse<String> nested = call(a, "POST", "/tasks", """
                {"name": "typo-task", "handler": "sleep", "schedule": "1h", "timeout": 60,
                 "retry": {"max-atempts": 3}}
                """);
        assertProblem(nested, 400, "invalid_task");
        assertThat(json(nested).get("detail").asString())
                .startsWith("Task 'typo-task': unknown field 'retry.max-atempts' (known: ");
        assertProblem(a.get("/tasks/typo-task"), 404, "task_not_found");
    }

    @Test
    void overlapIsSetShownAndEditedOverTheApiAndAllowNeedsMaxConcurrent() {
        HttpResponse<String> created = call(a, "POST", "/tasks", """
                {"name": "replaced", "handler": "sleep", "schedule": "0 3 * * *", "timeout": 60, "overlap": "REPLACE"}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(json(created).get("overlap").asString()).isEqualTo("REPLACE");
        HttpResponse<String> edited = call(a, "PATCH", "/tasks/replaced", "{\"overlap\": \"buffer_one\"}");
        assertThat(edited.statusCode()).as(edited.body()).isEqualTo(200);
        assertThat(json(b.get("/tasks/replaced")).get("overlap").asString()).isEqualTo("BUFFER_ONE");
        HttpResponse<String> kept = call(a, "PATCH", "/tasks/replaced", "{\"timeout\": 30}");
        assertThat(json(kept).get("overlap").asString())
                .as("an edit of another field keeps it")
                .isEqualTo("BUFFER_ONE");

        for (var mistake : java.util.Map.of(
                        "\"overlap\": \"ALLOW\"",
                        "Task 'allowed': overlap ALLOW needs max-concurrent, the most runs of the task at once (1 to"
                                + " 1000)",
                        "\"overlap\": \"ALLOW\", \"maxConcurrent\": 0",
                        "Task 'allowed': max-concurrent must be between 1 and 1000, not 0",
                        "\"maxConcurrent\": 2",
                        "Task 'allowed': max-concurrent is for overlap ALLOW only (this task's overlap is SKIP)",
                        "\"overlap\": \"ALLOW\", \"maxConcurrent\": 2, \"concurrencyGroup\": \"partner\"",
                        "Task 'allowed': overlap ALLOW does not go with a concurrency group: a group's limits count one"
                                + " run per task")
                .entrySet()) {
            HttpResponse<String> refused = call(a, "POST", "/tasks", """
                    {"name": "allowed", "handler": "sleep", "schedule": "1h", "timeout": 60, %s}
                    """.formatted(mistake.getKey()));
            assertProblem(refused, 400, "invalid_task");
            assertThat(json(refused).get("detail").asString())
                    .as(mistake.getKey())
                    .isEqualTo(mistake.getValue());
            assertProblem(a.get("/tasks/allowed"), 404, "task_not_found");
        }
        HttpResponse<String> allowed = call(a, "POST", "/tasks", """
                {"name": "allowed", "handler": "sleep", "schedule": "0 3 * * *", "timeout": 60, "overlap": "ALLOW",
                 "maxConcurrent": 4}
                """);
        assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(201);
        assertThat(json(allowed).get("maxConcurrent").asInt()).isEqualTo(4);
        HttpResponse<String> back = call(a, "PATCH", "/tasks/allowed", "{\"overlap\": \"SKIP\"}");
        assertThat(back.statusCode())
                .as("another policy leaves maxConcurrent behind: " + back.body())
                .isEqualTo(200);
        assertThat(json(back).get("maxConcurrent").isNull()).isTrue();
        assertThat(call(a, "DELETE", "/tasks/allowed", null).statusCode()).isEqualTo(204);
        assertProblem(call(a, "PATCH", "/tasks/replaced", "{\"overlap\": \"sometimes\"}"), 400, "invalid_task");
        assertThat(call(a, "DELETE", "/tasks/replaced", null).statusCode()).isEqualTo(204);
    }

    @Test
    void aSlotSkippedWhileTheTaskIsPausedIsAMissedRunListedByItsStatus() {
        HttpResponse<String> created = call(a, "POST", "/tasks", """
                {"name": "paused-skip", "handler": "sleep", "schedule": "*/2 * * * * *", "timeout": 60, "params": {"duration": "100ms"},
                 "misfire": "SKIP", "misfireThreshold": "100ms"}
                """);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(call(a, "POST", "/tasks/paused-skip/pause", "{}").statusCode())
                .isEqualTo(200);

        await().atMost(Timing.SOON)
                .until(() -> json(b.get("/runs?status=missed&task=paused-skip"))
                                .get("runs")
                                .size()
                        >= 1);
        JsonNode missed =
                json(b.get("/runs?status=MISSED&task=paused-skip")).get("runs").get(0);
        assertThat(missed.get("status").asString()).isEqualTo("MISSED");
        assertThat(missed.get("error").asString()).isEqualTo("misfire: the task was paused");
        // One of the schedule's slots: a whole even second.
        Instant slot = Instant.parse(missed.get("scheduledFor").asString());
        assertThat(slot.getNano()).isZero();
        assertThat(slot.getEpochSecond() % 2).isZero();
        assertThat(json(b.get("/runs?status=SUCCEEDED&task=paused-skip"))
                        .get("runs")
                        .size())
                .isZero();
        assertThat(call(a, "DELETE", "/tasks/paused-skip", null).statusCode()).isEqualTo(204);
    }

    @Test
    void everyInvalidTaskIsRefusedWithOneCodeAndOneTitle() {
        for (String body : List.of(
                "[1, 2]",
                "{\"name\": \"y1\", \"handler\": \"teleport\", \"schedule\": \"1m\", \"timeout\": 60}",
                "{\"name\": \"y2\", \"handler\": \"http\", \"schedule\": \"1m\", \"timeout\": 60,"
                        + " \"params\": {\"url\": \"http://169.254.169.254/\"}}")) {
            HttpResponse<String> refused = call(a, "POST", "/tasks", body);
            assertProblem(refused, 400, "invalid_task");
            assertThat(json(refused).get("title").asString()).as(body).isEqualTo("Invalid task");
        }
    }

    @Test
    void badDefinitionsAreRefusedWithAReasonAndWriteNothing() {
        assertProblem(
                call(
                        a,
                        "POST",
                        "/tasks",
                        "{\"name\": \"x1\", \"handler\": \"sleep\", \"schedule\": \"0 0 30 2 *\","
                                + " \"timeout\": 60}"),
                400,
                "invalid_task");
        assertProblem(
                call(
                        a,
                        "POST",
                        "/tasks",
                        "{\"name\": \"x2\", \"handler\": \"sleep\", \"schedule\": \"1m\","
                                + " \"timeout\": 60, \"colour\": \"red\"}"),
                400,
                "invalid_task");
        assertProblem(
                call(a, "POST", "/tasks", "{\"name\": \"x3\", \"handler\": \"sleep\", \"schedule\": \"1m\"}"),
                400,
                "invalid_task");
        assertProblem(call(a, "POST", "/tasks", "[1, 2]"), 400, "invalid_task");
        assertProblem(
                call(
                        a,
                        "POST",
                        "/tasks",
                        "{\"name\": \"x4\", \"handler\": \"exec\", \"schedule\": \"1m\","
                                + " \"timeout\": 60, \"params\": {\"command\": [\"/bin/true\"]}}"),
                403,
                "handler_not_allowed");
        // Cloud metadata, written as an address: refused now (a name is checked as the task runs).
        assertProblem(
                call(
                        a,
                        "POST",
                        "/tasks",
                        "{\"name\": \"x5\", \"handler\": \"http\", \"schedule\": \"1m\", \"timeout\": 60,"
                                + " \"params\": {\"url\": \"http://169.254.169.254/latest/meta-data/\"}}"),
                400,
                "invalid_task");
        assertProblem(
                call(
                        a,
                        "POST",
                        "/tasks",
                        "{\"name\": \"from-config\", \"handler\": \"sleep\", \"schedule\": \"1m\","
                                + " \"timeout\": 60}"),
                409,
                "task_exists");
        for (String name : List.of("x1", "x2", "x3", "x4")) {
            assertProblem(a.get("/tasks/" + name), 404, "task_not_found");
        }
    }

    @Test
    void durationsOutOfRangeOrFinerThanTheyAreKeptAreRefusedWith400AndWriteNothing() {
        for (String fields : List.of(
                "\"timeout\": \"99999999999999999d\"",
                "\"timeout\": 1e300",
                "\"timeout\": 60, \"jitter\": \"99999999999999999d\"",
                "\"timeout\": 60, \"jitterSeconds\": 1e300",
                "\"timeout\": 60, \"catchUpWindow\": \"PT0.0005S\"",
                "\"timeout\": 60, \"misfireThresholdSeconds\": 0.0001",
                "\"timeout\": 60, \"retry\": {\"initialBackoff\": \"99999999999999999d\"}",
                "\"timeout\": 60, \"catchUpLimit\": 99999999999",
                "\"timeout\": 60, \"params\": {\"duration\": \"99999999999999999d\"}")) {
            assertProblem(
                    call(
                            a,
                            "POST",
                            "/tasks",
                            "{\"name\": \"in-range\", \"handler\": \"sleep\", \"schedule\": \"@daily\", " + fields
                                    + "}"),
                    400,
                    "invalid_task");
        }
        assertProblem(
                call(
                        a,
                        "POST",
                        "/tasks",
                        "{\"name\": \"in-range\", \"handler\": \"sleep\", \"schedule\": \"99999999999999999d\","
                                + " \"timeout\": 60}"),
                400,
                "invalid_task");
        assertThat(json(call(
                                a,
                                "POST",
                                "/tasks",
                                "{\"name\": \"in-range\", \"handler\": \"sleep\", \"schedule\": \"@daily\","
                                        + " \"timeout\": 60, \"catchUpWindow\": \"PT0.0005S\"}"))
                        .get("detail")
                        .asString())
                .isEqualTo("catch-up-window must be whole milliseconds (it is kept in milliseconds), not 0.0005s");
        assertProblem(a.get("/tasks/in-range"), 404, "task_not_found");

        // 4.35 s is 4,350 ms, not the 4,349 that 4.35 x 1e9 in binary floating point would give.
        assertThat(call(a, "POST", "/tasks", """
                {"name": "in-range", "handler": "sleep", "schedule": "@daily", "timeout": 60,
                 "misfireThresholdSeconds": 4.35}""").statusCode()).isEqualTo(201);
        HttpResponse<String> patched = call(a, "PATCH", "/tasks/in-range", "{\"jitterSeconds\": 0.007}");
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
        assertThat(json(patched).get("misfireThresholdSeconds").asDouble()).isEqualTo(4.35);
        assertThat(json(patched).get("jitterSeconds").asDouble()).isEqualTo(0.007);
        assertThat(call(a, "DELETE", "/tasks/in-range", null).statusCode()).isEqualTo(204);
    }

    @Test
    void configurationTasksArePausedAndTriggeredButNotEditedOverTheApi() {
        assertProblem(call(a, "PATCH", "/tasks/from-config", "{\"schedule\": \"1m\"}"), 409, "task_from_configuration");
        assertProblem(call(a, "DELETE", "/tasks/from-config", null), 409, "task_from_configuration");
        assertProblem(call(a, "POST", "/tasks/none/pause", null), 404, "task_not_found");
        assertProblem(call(a, "POST", "/runs/987654/cancel", null), 404, "run_not_found");
    }

    @Test
    void aTriggerRunsATaskNowARunningOneIsRefusedUnlessQueuedAndACancelStopsIt() {
        assertThat(call(a, "POST", "/tasks", """
                {"name": "long-one", "handler": "sleep", "schedule": "@daily", "timeout": "10m",
                 "params": {"duration": "5m"}}""").statusCode()).isEqualTo(201);

        assertThat(call(b, "POST", "/tasks/long-one/trigger", null).statusCode())
                .isEqualTo(202);
        await().atMost(Timing.SOON)
                .until(() ->
                        json(a.get("/tasks/long-one")).get("state").asString().equals("RUNNING"));
        assertProblem(call(a, "POST", "/tasks/long-one/trigger", null), 409, "already_running");
        HttpResponse<String> queued = call(a, "POST", "/tasks/long-one/trigger?queue=true", null);
        assertThat(queued.statusCode()).isEqualTo(202);
        assertThat(json(queued).get("triggerQueued").asBoolean()).isTrue();

        long run = json(a.get("/tasks/long-one/runs?limit=1"))
                .get("runs")
                .get(0)
                .get("id")
                .asLong();
        HttpResponse<String> cancel = call(b, "POST", "/runs/" + run + "/cancel", null);
        assertThat(cancel.statusCode()).isEqualTo(202);
        assertThat(json(cancel).get("task").asString()).isEqualTo("long-one");

        await().atMost(Timing.SOON)
                .until(() -> json(a.get("/runs?status=CANCELLED")).get("runs").size() == 1);
        JsonNode cancelled = json(a.get("/runs?status=CANCELLED")).get("runs").get(0);
        assertThat(cancelled.get("id").asLong()).isEqualTo(run);
        assertThat(cancelled.get("cause").asString()).isEqualTo("TRIGGER");
        // The queued trigger runs it again at once.
        await().atMost(Timing.SOON)
                .until(() -> json(a.get("/tasks/long-one/runs")).get("runs").size() == 2);
        assertProblem(call(a, "POST", "/runs/" + run + "/cancel", null), 409, "run_not_running");
    }
}
