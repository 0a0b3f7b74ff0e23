package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.ReservedPort;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real Prometheus (the Debian binary) with the repository's alert rules scrapes two running
 * instances; every expression of the dashboards and the seed's three example queries must run and,
 * where there is something to show, return numbers; the dashboards' instance variable must list
 * both instances.
 */
@Tag("e2e")
class PrometheusQueriesTest {

    private static final List<String> SEED_QUERIES = List.of(
            "sum(app_active_tasks_total)",
            "rate(http_requests_total[1m])",
            "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])");
    /**
     * Series that may genuinely not exist during the test: Micrometer creates the GC pause timer at
     * the first collection, and a young heap may not need one in the test's minute. (5xx panels
     * fall back to 0, and the run and fence counters exist at 0 from start-up.)
     */
    private static final List<String> MAY_BE_EMPTY = List.of("jvm_gc_pause_seconds");

    /** Grafana's {@code label_values(metric, label)}, which it answers from Prometheus' label values API. */
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([^,]+?)\\s*,\\s*(\\w+)\\s*\\)");

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final List<AppInstance> instances = new ArrayList<>();
    private static Process prometheus;
    private static String prometheusUrl;
    private static ReservedPort prometheusPort;

    @BeforeAll
    static void start() throws Exception {
        String db = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "metric-long", "sleep", "1h", "1h", "10m"));
        props.putAll(AppInstance.task(1, "metric-short", "sleep", "1s", "1m", "300ms"));
        props.putAll(AppInstance.task(2, "metric-cpu", "cpu", "1s", "1m", "200ms"));
        instances.add(AppInstance.start(db, "prom-a", props));
        instances.add(AppInstance.start(db, "prom-b", props));

        Path dir = Files.createTempDirectory("starpets-prometheus");
        // Prometheus cannot listen on port 0 and say what it got: keep a port for it until it is stopped.
        prometheusPort = ReservedPort.take();
        int port = prometheusPort.number();
        String targets = String.join(
                ", ",
                instances.stream()
                        .map(c -> "'" + URI.create(c.url("/")).getAuthority() + "'")
                        .toList());
        // /metrics needs a viewer token: Prometheus reads it from a file, as in the compose stack.
        Files.writeString(dir.resolve("token"), TestTokens.VIEWER);
        Files.writeString(dir.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: ['%s/*.yml']
                scrape_configs:
                  - job_name: starpets-app
                    metrics_path: /metrics
                    authorization:
                      credentials_file: %s
                    static_configs:
                      - targets: [%s]
                """.formatted(
                        Path.of("deploy/prometheus/rules").toAbsolutePath(), dir.resolve("token"), targets));
        prometheusUrl = "http://127.0.0.1:" + port;
        prometheus = new ProcessBuilder(
                        "prometheus",
                        "--config.file=" + dir.resolve("prometheus.yml"),
                        "--storage.tsdb.path=" + dir.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus.log").toFile())
                .start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (prometheus != null) {
            prometheus.destroy();
            if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly();
                prometheus.waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (prometheusPort != null) {
            prometheusPort.close();
        }
        instances.forEach(AppInstance::close);
    }

    private static JsonNode api(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create(prometheusUrl + path))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private static JsonNode query(String promql) throws IOException, InterruptedException {
        return api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    }

    @Test
    void everyDashboardExpressionAndSeedQueryRunsAndReturnsData() throws Exception {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            JsonNode targets = api("/api/v1/targets").get("data").get("activeTargets");
            return targets.size() == 2
                    && targets.get(0).get("health").asString().equals("up")
                    && targets.get(1).get("health").asString().equals("up");
        });
        List<String> expressions = new ArrayList<>(DashboardFilesTest.expressions());
        expressions.addAll(SEED_QUERIES);

        // Traffic and finished runs to look at; then every query must see them.
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
            for (AppInstance c : instances) {
                c.get("/tasks");
                c.get("/no-such-route");
            }
            assertThat(expressions.stream().filter(e -> !mayBeEmpty(e) && !hasData(e)))
                    .as("expressions without data")
                    .isEmpty();
        });
        for (String e : expressions) {
            JsonNode answer = query(e);
            assertThat(answer.get("status").asString()).as(e).isEqualTo("success");
            if (!mayBeEmpty(e)) {
                assertThat(numbers(answer)).as(e).isPositive();
            }
        }
        // The long task runs on one instance the whole time; short ones come and go.
        assertThat(query("sum(app_active_tasks_total)")
                        .get("data")
                        .get("result")
                        .get(0)
                        .get("value")
                        .get(1)
                        .asDouble())
                .isGreaterThanOrEqualTo(1);
    }

    @Test
    void theAlertRulesLoadAndEvaluateWithoutErrors() throws Exception {
        long declared;
        try (var files = java.nio.file.Files.list(Path.of("deploy/prometheus/rules"))) {
            declared = files.filter(f -> f.toString().endsWith(".yml"))
                    .flatMap(f -> {
                        try {
                            return java.nio.file.Files.readAllLines(f).stream();
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    })
                    .filter(line -> line.strip().startsWith("- alert:"))
                    .count();
        }
        assertThat(declared).isGreaterThanOrEqualTo(10);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            JsonNode groups = api("/api/v1/rules").get("data").get("groups");
            int rules = 0;
            for (JsonNode g : groups) {
                for (JsonNode r : g.get("rules")) {
                    if (!r.get("health").asString().equals("ok")) {
                        return false;
                    }
                    rules++;
                }
            }
            return rules == declared;
        });
    }

    private static boolean mayBeEmpty(String expression) {
        return MAY_BE_EMPTY.stream().anyMatch(expression::contains);
    }

    private static boolean hasData(String expression) {
        try {
            JsonNode answer = query(expression);
            return answer.get("status").asString().equals("success") && numbers(answer) > 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** The samples of an instant query that are numbers: NaN (0/0, a quantile of nothing) shows nothing. */
    static int numbers(JsonNode answer) {
        int count = 0;
        for (JsonNode series : answer.get("data").get("result")) {
            if (!series.get("value").get(1).asString().equals("NaN")) {
                count++;
            }
        }
        return count;
    }

    @Test
    void theDashboardVariablesListEveryInstance() throws Exception {
        List<String> queries = DashboardFilesTest.variableQueries();
        assertThat(queries).isNotEmpty();
        for (String q : queries) {
            Matcher m = LABEL_VALUES.matcher(q);
            assertThat(m.matches())
                    .as("a label_values(metric, label) query: %s", q)
                    .isTrue();
            String path = "/api/v1/label/" + m.group(2) + "/values?match%5B%5D="
                    + URLEncoder.encode(m.group(1), StandardCharsets.UTF_8);
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
                JsonNode answer = api(path);
                assertThat(answer.get("status").asString()).as(q).isEqualTo("success");
                List<String> values = new ArrayList<>();
                answer.get("data").forEach(v -> values.add(v.asString()));
                assertThat(values).as(q).contains("prom-a", "prom-b");
            });
        }
    }
}
