package gg.starpets.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.Isolated;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Notifications in the service: a configuration task's {@code notify}, the service-wide default
 * ({@code starpets.notify.webhook-url}, which NOTIFY_WEBHOOK_URL sets) for a task created over the
 * API that says nothing, what the API shows (webhooks masked) and what it refuses.
 */
@Isolated("reads what the whole JVM prints, which a class running alongside would add to")
@ExtendWith(OutputCaptureExtension.class)
class NotificationsApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String TOKEN = "ops-token-0123456789abcdef";
    /** A path of words, not one that looks like a token: a configuration task may write it in clear. */
    private static final String TASK_SECRET = "task-secret-path";

    private static final String DEFAULT_SECRET = "default-secret-path-T1B1YYYY";

    private static HttpServer receiver;
    private static final List<String> received = new CopyOnWriteArrayList<>();
    /** The default webhook answers 500 to its first request: the failed attempt is logged. */
    private static final AtomicInteger defaultFailures = new AtomicInteger(1);

    private static AppInstance app;

    @BeforeAll
    static void start() throws IOException {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            received.add(path + " " + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            boolean fail = path.contains(DEFAULT_SECRET) && defaultFailures.getAndDecrement() > 0;
            exchange.sendResponseHeaders(fail ? 500 : 204, -1);
            exchange.close();
        });
        receiver.start();
        String base = "http://127.0.0.1:" + receiver.getAddress().getPort();
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "slow-config", "sleep", "1h", "200ms", "10s"));
        props.put("starpets.tasks[0].notify.on", "TIMED_OUT");
        props.put("starpets.tasks[0].notify.webhook", base + "/hooks/" + TASK_SECRET);
        props.put("starpets.security.operator-tokens", "ann:" + TOKEN);
        props.put("starpets.notify.webhook-url", base + "/hooks/" + DEFAULT_SECRET);
        props.put("starpets.notify.interval", "200ms");
        props.put("starpets.notify.initial-backoff", "200ms");
        app = AppInstance.start(TestPostgres.createDatabase(), "notify-api", props);
    }

    @AfterAll
    static void stop() {
        app.close();
        receiver.stop(0);
    }

    private static HttpResponse<String> call(String method, String path, String body) {
        return app.call(TOKEN, method, path, body);
    }

    private static JsonNode notifications(String task) {
        HttpResponse<String> answer = call("GET", "/tasks/" + task + "/notifications", null);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.body()).doesNotContain(TASK_SECRET, DEFAULT_SECRET);
        return JSON.readTree(answer.body());
    }

    /** A task never seen has nothing to show: 404, as the task's other reads answer (a task that exists: 200, notifications()). */
    @Test
    void aTaskNeverSeenHasNoNotificationsToShow() {
        HttpResponse<String> answer = call("GET", "/tasks/never-was/notifications", null);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(404);
        assertThat(JSON.readTree(answer.body()).get("code").asString()).isEqualTo("task_not_found");
    }

    @Test
    void aConfigurationTaskIsNotifiedAtItsWebhookAndTheApiShowsItMasked() {
        await().atMost(Timing.SOON)
                .until(() -> received.stream()
                        .anyMatch(r -> r.contains(TASK_SECRET) && r.contains("\"task\":\"slow-config\"")));
        assertThat(received.stream().filter(r -> r.contains("slow-config")))
                .allMatch(r -> r.contains(TASK_SECRET) && r.contains("\"event\":\"TIMED_OUT\""));
        JsonNode shown = notifications("slow-config");
        assertThat(shown.get("settings").get("source").asString()).isEqualTo("task");
        assertThat(shown.get("settings").get("on").get(0).asString()).isEqualTo("TIMED_OUT");
        assertThat(shown.get("settings").get("webhook").asString())
                .isEqualTo("http://127.0.0.1:" + receiver.getAddress().getPort() + "/…");
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(notifications("slow-config")
                                .get("notifications")
                                .path(0)
                                .path("state")
                                .asString())
                        .isEqualTo("SENT"));
    }

    @Test
    void anApiTaskThatSaysNothingIsNotifiedAtTheDefaultWebhookWhichIsNeverShownOrLogged(CapturedOutput output) {
        HttpResponse<String> created = call("POST", "/tasks", """
                {"name": "slow-api", "handler": "sleep", "schedule": "1h", "timeout": "200ms",
                 "params": {"duration": "10s"}}""");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);

        // The first attempt answered 500 (logged), the second delivered.
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(notifications("slow-api")
                                .get("notifications")
                                .path(0)
                                .path("state")
                                .asString())
                        .isEqualTo("SENT"));
        JsonNode shown = notifications("slow-api");
        assertThat(shown.get("settings").get("source").asString()).isEqualTo("default");
        assertThat(shown.get("notifications").get(0).get("attempts").asInt()).isEqualTo(2);
        assertThat(received.stream().filter(r -> r.contains("\"task\":\"slow-api\"")))
                .allMatch(r -> r.contains(DEFAULT_SECRET));
        assertThat(output.getAll()).contains("Notification").doesNotContain(DEFAULT_SECRET, TASK_SECRET);
    }

    @Test
    void aNotifyAnApiTaskMayNotHaveIsRefusedAndNothingIsWritten() {
        String internal = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hooks/x";
        HttpResponse<String> fenced = call("POST", "/tasks", """
                {"name": "fenced", "handler": "sleep", "schedule": "1h", "timeout": "1m",
                 "notify": {"on": ["FAILED"], "webhook": "%s"}}""".formatted(internal));
        assertThat(fenced.statusCode()).as(fenced.body()).isEqualTo(400);
        assertThat(JSON.readTree(fenced.body()).get("code").asString()).isEqualTo("invalid_task");
        assertThat(fenced.body()).contains("STARPETS_HTTP_ALLOWED_DESTINATIONS");

        HttpResponse<String> unknown = call("POST", "/tasks", """
                {"name": "unknown-event", "handler": "sleep", "schedule": "1h", "timeout": "1m",
                 "notify": {"on": ["EXPLODED"]}}""");
        assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(400);
        assertThat(unknown.body()).contains("unknown event 'EXPLODED'");

        assertThat(call("GET", "/tasks/fenced", null).statusCode()).isEqualTo(404);
        assertThat(call("GET", "/tasks/unknown-event", null).statusCode()).isEqualTo(404);
    }

    /** A Slack webhook as Slack gives it: its path is the secret. */
    private static final String SLACK_WEBHOOK =
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

    @Test
    void aWebhookWithACredentialInClearIsRefusedOverTheApiNamingTheTaskAndTheKeyAndNothingIsWritten() {
        for (String webhook : List.of(
                SLACK_WEBHOOK,
                "https://ops:hunter2@hooks.example.com/notify",
                "https://hooks.example.com/n?token=abc")) {
            HttpResponse<String> refused = call("POST", "/tasks", """
                    {"name": "in-clear", "handler": "sleep", "schedule": "1h", "timeout": "1m",
                     "notify": {"on": ["FAILED"], "webhook": "%s"}}""".formatted(webhook));
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            JsonNode problem = JSON.readTree(refused.body());
            assertThat(problem.get("code").asString()).isEqualTo("secret_in_clear");
            assertThat(problem.get("detail").asString())
                    .startsWith("Task 'in-clear': notify.webhook carries a credential in clear")
                    .contains("${NAME}")
                    .doesNotContain("XXXXXXXX", "hunter2", "abc");
            assertThat(call("GET", "/tasks/in-clear", null).statusCode()).isEqualTo(404);
        }

        HttpResponse<String> created = call("POST", "/tasks", """
                {"name": "patched-in-clear", "handler": "sleep", "schedule": "1h", "timeout": "1m"}""");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String etag = created.headers().firstValue("ETag").orElseThrow();
        HttpResponse<String> patched =
                app.call(TOKEN, "PATCH", "/tasks/patched-in-clear", """
                {"timeout": "2m", "notify": {"on": ["FAILED"], "webhook": "%s"}}""".formatted(SLACK_WEBHOOK), "If-Match", etag);
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(400);
        assertThat(JSON.readTree(patched.body()).get("code").asString()).isEqualTo("secret_in_clear");
        HttpResponse<String> task = call("GET", "/tasks/patched-in-clear", null);
        assertThat(task.headers().firstValue("ETag")).hasValue(etag);
        assertThat(notifications("patched-in-clear")
                        .get("settings")
                        .get("source")
                        .asString())
                .isEqualTo("default");
    }

    @Test
    void aConfigurationTasksWebhookWithACredentialInClearStopsTheStartNamingTheTaskAndTheKey() {
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "in-clear-config", "sleep", "1h", "1m", null));
        props.put("starpets.tasks[0].notify.webhook", SLACK_WEBHOOK);
        Throwable refused = org.assertj.core.api.Assertions.catchThrowable(
                () -> AppInstance.start(TestPostgres.createDatabase(), "notify-in-clear", props)
                        .close());
        List<String> messages = new java.util.ArrayList<>();
        for (Throwable t = refused; t != null; t = t.getCause()) {
            messages.add(String.valueOf(t.getMessage()));
        }
        assertThat(messages)
                .anySatisfy(m -> assertThat(m)
                        .startsWith("Task 'in-clear-config': notify.webhook carries a credential in clear"))
                .allSatisfy(m -> assertThat(m).doesNotContain("XXXXXXXX"));
    }
}
