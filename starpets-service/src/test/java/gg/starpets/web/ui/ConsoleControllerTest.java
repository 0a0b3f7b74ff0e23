package gg.starpets.web.ui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The console's server side through a real instance of the service: pages, headers, the batched read. */
class ConsoleControllerTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Path STATIC = Path.of("starpets-service/src/main/resources/static/ui");
    private static final String OPERATOR_TOKEN = "console-test-token-0123456789";
    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "often", "sleep", "100ms", "1m", "10ms"));
        props.putAll(AppInstance.task(1, "daily", "sleep", "0 3 * * *", "1m", "10ms"));
        props.putAll(AppInstance.task(2, "never-run", "sleep", "0 3 * * *", "1m", null));
        props.put("starpets.tasks[2].enabled", "false");
        props.put("starpets.security.operator-tokens", "ann:" + OPERATOR_TOKEN);
        app = AppInstance.start(TestPostgres.createDatabase(), "instance-console", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static HttpResponse<String> get(String path, String accept) {
        return app.send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url(path))), TestTokens.VIEWER)
                .header("Accept", accept));
    }

    @Test
    void theConsoleIsServedAtUiWithAPolicyThatAllowsNoInlineScriptAndNothingFromElsewhere() {
        HttpResponse<String> page = get("/ui/", "text/html");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("text/html"));
        String csp = page.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertThat(csp).contains("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'");
        assertThat(csp).doesNotContain("unsafe-inline", "unsafe-eval", "http:", "https:", "*");
        assertThat(page.body()).contains("<script type=\"module\" src=\"app.js\"></script>");

        HttpResponse<String> script = get("/ui/app.js", "*/*");
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).contains("javascript"));
        assertThat(script.headers().firstValue("Content-Security-Policy")).hasValue(csp);
        assertThat(script.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    }

    @Test
    void theStaticFilesHaveNoInlineScriptNoInlineStyleAndLoadNothingFromAnotherOrigin() throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> all = Files.walk(STATIC)) {
            all.filter(Files::isRegularFile).forEach(files::add);
        }
        assertThat(files).extracting(p -> p.getFileName().toString()).contains("index.html", "app.js", "console.css");
        Pattern inlineScript = Pattern.compile("<script(?![^>]*\\bsrc=)[^>]*>");
        Pattern handlerAttribute = Pattern.compile("\\son[a-z]+\\s*=", Pattern.CASE_INSENSITIVE);
        Pattern styleAttribute = Pattern.compile("\\sstyle\\s*=", Pattern.CASE_INSENSITIVE);
        Pattern otherOrigin =
                Pattern.compile("(src|href|import|from|url)\\W{0,3}(https?:)?//", Pattern.CASE_INSENSITIVE);
        for (Path file : files) {
            String text = Files.readString(file);
            String name = file.getFileName().toString();
            if (name.endsWith(".html")) {
                assertThat(inlineScript.matcher(text).find()).as(name).isFalse();
                assertThat(handlerAttribute.matcher(text).find()).as(name).isFalse();
                assertThat(styleAttribute.matcher(text).find()).as(name).isFalse();
            }
            assertThat(otherOrigin.matcher(text).find()).as(name).isFalse();
            // Every file is served from the jar.
            assertThat(get("/ui/" + STATIC.relativize(file), "*/*").statusCode())
                    .as(name)
                    .isEqualTo(200);
        }
    }

    @Test
    void answersOverTwoKilobytesAreGzippedForClientsThatAcceptIt() {
        HttpResponse<String> gzipped = app.send(
                HttpRequest.newBuilder(URI.create(app.url("/ui/board.js"))).header("Accept-Encoding", "gzip"));
        assertThat(gzipped.statusCode()).isEqualTo(200);
        assertThat(gzipped.headers().firstValue("Content-Encoding")).hasValue("gzip");
        HttpResponse<String> plain = app.get("/ui/board.js");
        assertThat(plain.headers().firstValue("Content-Encoding")).isEmpty();
        assertThat(plain.body()).contains("export function initBoard");
    }

    @Test
    void aBrowserAtTheRootIsSentToTheConsoleWhileJsonClientsKeepTheIndex() {
        HttpResponse<String> browser = get("/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        assertThat(browser.statusCode()).isEqualTo(302);
        assertThat(browser.headers().firstValue("Location")).hasValue("/ui/");

        for (String accept : new String[] {"*/*", "application/json"}) {
            HttpResponse<String> api = get("/", accept);
            assertThat(api.statusCode()).as(accept).isEqualTo(200);
            assertThat(JSON.readTree(api.body()).get("links").get("tasks").asString())
                    .isEqualTo("/tasks");
        }
        HttpResponse<String> noAccept = app.get("/");
        assertThat(noAccept.statusCode()).isEqualTo(200);

        HttpResponse<String> bare = get("/ui", "text/html");
        assertThat(bare.statusCode()).isEqualTo(302);
        assertThat(bare.headers().firstValue("Location")).hasValue("/ui/");
    }

    @Test
    void summariesGiveEveryTaskItsScheduleInWordsAndItsLastOutcomesOldestFirstInOneAnswer() {
        await().atMost(Timing.SOON).until(() -> outcomes(summaries(""), "often").size() == ConsoleController.STRIP);
        JsonNode all = summaries("");
        assertThat(all.get("tasks").valueStream().map(t -> t.get("name").asString()))
                .containsExactly("daily", "never-run", "often");
        JsonNode often = task(all, "often");
        assertThat(often.get("words").asString()).isEqualTo("100 ms after each run");
        assertThat(task(all, "daily").get("words").asString()).isEqualTo("at 03:00 every day");
        assertThat(task(all, "never-run").get("outcomes")).isEmpty();

        List<JsonNode> strip = outcomes(all, "often");
        assertThat(strip).hasSize(20);
        for (int i = 1; i < strip.size(); i++) {
            assertThat(strip.get(i).get("id").asLong())
                    .isGreaterThan(strip.get(i - 1).get("id").asLong());
        }
        // Each cell is a finished run of the task, as its history has it (a run's end is final).
        Map<Long, JsonNode> history = new HashMap<>();
        JSON.readTree(app.get("/tasks/often/runs?limit=200").body())
                .get("runs")
                .valueStream()
                .forEach(r -> history.put(r.get("id").asLong(), r));
        for (JsonNode o : strip) {
            JsonNode run = history.get(o.get("id").asLong());
            assertThat(run).as("run %s in the history", o.get("id")).isNotNull();
            assertThat(o.get("status").asString())
                    .isEqualTo(run.get("status").asString())
                    .isNotEqualTo("RUNNING");
            assertThat(Instant.parse(o.get("finishedAt").asString())).isBefore(Instant.now());
            assertThat(o.get("durationSeconds").asDouble()).isGreaterThanOrEqualTo(0);
        }
        // The newest are the ones shown: the history's newest finished run before the strip was read ends it.
        long newestFinished = history.values().stream()
                .filter(r -> !r.get("status").asString().equals("RUNNING"))
                .mapToLong(r -> r.get("id").asLong())
                .max()
                .orElseThrow();
        assertThat(outcomes(summaries("?task=often"), "often")
                        .getLast()
                        .get("id")
                        .asLong())
                .isGreaterThanOrEqualTo(newestFinished);

        JsonNode some = summaries("?task=often,never-run,no-such-task&limit=3");
        assertThat(some.get("tasks").valueStream().map(t -> t.get("name").asString()))
                .containsExactly("never-run", "often");
        assertThat(outcomes(some, "often")).hasSize(3);
    }

    @Test
    void summariesRefuseABadLimitAsProblemDetails() {
        for (String query : new String[] {"?limit=0", "?limit=51", "?limit=x"}) {
            HttpResponse<String> r = app.get("/ui/api/summaries" + query);
            assertThat(r.statusCode()).as(query).isEqualTo(400);
            assertThat(r.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
            assertThat(JSON.readTree(r.body()).get("code").asString()).isEqualTo("invalid_parameter");
        }
    }

    @Test
    void whoamiNeedsATokenAndNamesAViewerAsAViewer() {
        assertThat(app.getAnonymously("/whoami").statusCode()).isEqualTo(401);
        HttpResponse<String> r = app.get("/whoami");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("role").asString()).isEqualTo("viewer");
        assertThat(JSON.readTree(r.body()).get("name").asString()).isEqualTo(TestTokens.VIEWER_NAME);
    }

    @Test
    void whoamiNamesTheSignedInCallerAndTheirRoleAsTheAuditTrailWillRecordThem() {
        HttpResponse<String> r = app.send(HttpRequest.newBuilder(URI.create(app.url("/whoami")))
                .header("Authorization", "Bearer " + OPERATOR_TOKEN));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode me = JSON.readTree(r.body());
        assertThat(me.get("role").asString()).isEqualTo("operator");
        assertThat(me.get("name").asString()).isEqualTo("ann");
    }

    private static JsonNode summaries(String query) {
        HttpResponse<String> r = app.get("/ui/api/summaries" + query);
        assertThat(r.statusCode()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static JsonNode task(JsonNode summaries, String name) {
        return summaries
                .get("tasks")
                .valueStream()
                .filter(t -> t.get("name").asString().equals(name))
                .findFirst()
                .orElseThrow();
    }

    private static List<JsonNode> outcomes(JsonNode summaries, String name) {
        return task(summaries, name).get("outcomes").valueStream().toList();
    }
}
