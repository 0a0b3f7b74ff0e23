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
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /tasks/{name}/backfill}, {@code GET} and {@code DELETE /backfills/{id}} over HTTP on a real
 * instance: the backfill's id, slot count and Location, its runs carrying their slots, its progress and
 * cancel, the refusals as problems with nothing written, and the operator role.
 */
class BackfillApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-backfill-0123456789";
    private static AppInstance app;

    /** Two hours back on a whole hour: every slot of the range is past. */
    private static final Instant FROM =
            Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(2));

    private static final Instant TO = FROM.plus(Duration.ofHours(1));

    /**
     * Every ten minutes, but only in the range's two hours (UTC): the tasks' own next slots are a day away. With
     * {@code *}{@code /10 * * * *} a ten-minute boundary while the class ran could start a scheduled run of
     * {@code slow} (50 s) that kept the backfill's first slot waiting past the test's deadline.
     */
    private static final String EVERY_TEN_MINUTES_IN_RANGE = "*/10 %d,%d * * *"
            .formatted(
                    FROM.atZone(ZoneOffset.UTC).getHour(),
                    (FROM.atZone(ZoneOffset.UTC).getHour() + 1) % 24);

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "tenmin", "sleep", EVERY_TEN_MINUTES_IN_RANGE, "1m", "10ms"));
        // Each run outlasts the test's cancel: the cancel finds one slot running.
        props.putAll(AppInstance.task(1, "slow", "sleep", EVERY_TEN_MINUTES_IN_RANGE, "1m", "50s"));
        props.put("starpets.tasks[0].time-zone", "UTC");
        props.put("starpets.tasks[1].time-zone", "UTC");
        props.putAll(AppInstance.task(2, "minutely", "sleep", "* * * * *", "1m", "10ms"));
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "backfill-a", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static HttpResponse<String> call(String method, String path, String body) {
        return app.call(TOKEN, method, path, body);
    }

    private static String range(Instant from, Instant to) {
        return "{\"from\": \"%s\", \"to\": \"%s\"}".formatted(from, to);
    }

    private static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(json(response).get("code").asString()).isEqualTo(code);
    }

    @Test
    void aBackfillIsAnsweredWithItsIdSlotsAndLocationAndRunsEachSlotWithItsScheduledTime() {
        HttpResponse<String> asked = call("POST", "/tasks/tenmin/backfill", range(FROM, TO));

        assertThat(asked.statusCode()).as(asked.body()).isEqualTo(201);
        long id = json(asked).get("backfillId").asLong();
        assertThat(json(asked).get("slots").asInt()).isEqualTo(7);
        assertThat(asked.headers().firstValue("Location")).hasValue("/backfills/" + id);
        await().atMost(Timing.SOON)
                .until(() -> json(app.get("/backfills/" + id))
                        .get("state")
                        .asString()
                        .equals("DONE"));

        JsonNode progress = json(app.get("/backfills/" + id));
        assertThat(progress.get("slots").asInt()).isEqualTo(7);
        assertThat(progress.get("done").asLong()).isEqualTo(7);
        assertThat(progress.get("failed").asLong()).isZero();
        assertThat(Instant.parse(progress.get("firstSlot").asString())).isEqualTo(FROM);
        assertThat(Instant.parse(progress.get("lastSlot").asString())).isEqualTo(TO);
        assertThat(progress.get("requestedBy").asString()).contains("ann");
        List<Instant> slots = new ArrayList<>();
        json(app.get("/runs?task=tenmin&status=SUCCEEDED&limit=50"))
                .get("runs")
                .forEach(run -> slots.add(Instant.parse(run.get("scheduledFor").asString())));
        assertThat(slots.stream().filter(s -> !s.isAfter(TO)).sorted())
                .containsExactly(
                        FROM,
                        FROM.plus(Duration.ofMinutes(10)),
                        FROM.plus(Duration.ofMinutes(20)),
                        FROM.plus(Duration.ofMinutes(30)),
                        FROM.plus(Duration.ofMinutes(40)),
                        FROM.plus(Duration.ofMinutes(50)),
                        TO);
        assertThat(json(app.get("/tasks/tenmin/backfills"))
                        .get("backfills")
                        .get(0)
                        .get("id")
                        .asLong())
                .isEqualTo(id);
        assertThat(json(app.get("/tasks/tenmin/events"))
                        .get("events")
                        .get(0)
                        .get("action")
                        .asString())
                .isEqualTo("BACKFILL_REQUESTED");
    }

    @Test
    void aCancelledBackfillEndsItsPendingSlotsAndSaysSo() {
        long id = json(call("POST", "/tasks/slow/backfill", range(FROM, TO)))
                .get("backfillId")
                .asLong();
        await().atMost(Timing.SOON)
                .until(() -> json(app.get("/backfills/" + id)).get("running").asLong() == 1);

        HttpResponse<String> cancelled = call("DELETE", "/backfills/" + id, null);

        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        JsonNode progress = json(app.get("/backfills/" + id));
        assertThat(progress.get("state").asString()).isEqualTo("CANCELLED");
        assertThat(progress.get("cancelled").asLong()).isEqualTo(6);
        assertThat(progress.get("pending").asLong()).isZero();
        assertThat(progress.get("running").asLong()).isEqualTo(1);
        assertThat(json(app.get("/runs?task=slow&status=CANCELLED")).get("runs").size())
                .isEqualTo(6);
        assertThat(json(app.get("/tasks/slow/events"))
                        .get("events")
                        .get(0)
                        .get("action")
                        .asString())
                .isEqualTo("BACKFILL_CANCELLED");
    }

    @Test
    void refusalsAreProblemsAndWriteNothing() {
        int before = json(app.get("/tasks/minutely/backfills")).get("backfills").size();

        HttpResponse<String> tooMany =
                call("POST", "/tasks/minutely/backfill", range(FROM.minus(Duration.ofDays(8)), FROM));
        assertProblem(tooMany, 400, "too_many_slots");
        assertThat(json(tooMany).get("detail").asString()).contains("11,521 slots");
        assertProblem(call("POST", "/tasks/minutely/backfill", range(TO, FROM)), 400, "invalid_range");
        assertProblem(
                call(
                        "POST",
                        "/tasks/minutely/backfill",
                        range(FROM, Instant.now().plus(Duration.ofHours(1)))),
                400,
                "invalid_range");
        assertProblem(
                call("POST", "/tasks/minutely/backfill", """
                        {"from": "%s", "to": "%s", "maxParallel": 4}""".formatted(FROM, TO)), 400, "max_parallel_unsupported");
        assertProblem(call("POST", "/tasks/minutely/backfill", "{\"from\": \"" + FROM + "\"}"), 400, "invalid_request");
        assertProblem(
                call("POST", "/tasks/minutely/backfill", "{\"from\": \"yesterday\", \"to\": \"today\"}"),
                400,
                "invalid_request");
        assertProblem(call("POST", "/tasks/nothing/backfill", range(FROM, TO)), 404, "task_not_found");
        assertProblem(call("DELETE", "/backfills/999999999", null), 404, "backfill_not_found");
        assertProblem(app.get("/backfills/999999999"), 404, "backfill_not_found");

        assertThat(json(app.get("/tasks/minutely/backfills")).get("backfills").size())
                .isEqualTo(before);
        assertThat(json(app.get("/runs?task=minutely&status=PENDING"))
                        .get("runs")
                        .size())
                .isZero();
        // A viewer may read, not ask for a backfill.
        HttpResponse<String> viewer = app.send(TestTokens.bearer(
                        HttpRequest.newBuilder(URI.create(app.url("/tasks/minutely/backfill"))), TestTokens.VIEWER)
                .POST(HttpRequest.BodyPublishers.ofString(range(FROM, TO))));
        assertThat(viewer.statusCode()).isEqualTo(403);
    }
}
