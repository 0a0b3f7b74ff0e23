package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.RunTracing;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import io.micrometer.tracing.Tracer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The raw text of /metrics, as Prometheus reads it. */
class MetricsExpositionTest {

    private static AppInstance app;

    @BeforeAll
    static void start() {
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "long-metric", "sleep", "1h", "1h", "10m"));
        props.putAll(AppInstance.task(1, "quick-metric", "sleep", "1h", "1m", "100ms"));
        app = AppInstance.start(TestPostgres.createDatabase(), "instance-metrics", props);
        await().atMost(Timing.SOON)
                .until(() -> app.get("/runs?status=SUCCEEDED").body().contains("quick-metric"));
        app.get("/tasks");
        app.get("/tasks/quick-metric");
        app.get("/no-such-route");
        app.get("/runs?limit=zero");
        app.send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/tasks"))), TestTokens.VIEWER)
                .method("FOO1", BodyPublishers.noBody()));
        app.send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/tasks"))), TestTokens.VIEWER)
                .method("BAR2", BodyPublishers.noBody()));
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static String metrics() {
        HttpResponse<String> response = app.get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(
                        ct -> assertThat(ct).startsWith("text/plain").contains("version=0.0.4"));
        return response.body();
    }

    /** No OTEL_EXPORTER_OTLP_ENDPOINT: no tracer, no run traced, no exemplar, whatever format is asked for. */
    @Test
    void withoutAnOtlpEndpointNothingIsTracedAndNoExemplarIsShown() {
        assertThat(app.context().getBean(Tracer.class)).isSameAs(Tracer.NOOP);
        assertThat(app.context().getBean(RunTracing.class)).isSameAs(RunTracing.NONE);
        assertThat(app.get("/runs?task=quick-metric&status=SUCCEEDED").body())
                .contains("\"traceId\":null")
                .doesNotContainPattern("\"traceId\":\"");
        HttpResponse<String> response =
                app.send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/metrics"))), TestTokens.VIEWER)
                        .header("Accept", "application/openmetrics-text; version=1.0.0"));
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(
                        ct -> assertThat(ct).startsWith("text/plain").contains("version=0.0.4"));
        assertThat(response.body())
                .contains("starpets_run_duration_seconds_bucket")
                .doesNotContain("trace_id");
    }

    @Test
    void activeTasksIsAGaugeUnderItsExactNameWithTheInstanceLabel() {
        String text = metrics();
        assertThat(text).contains("# TYPE app_active_tasks_total gauge\n");
        assertThat(text).containsPattern("(?m)^app_active_tasks_total\\{instance_id=\"instance-metrics\"} 1$");
    }

    @Test
    void httpRequestsAreCountedByRouteTemplateAndStatusIncludingErrors() {
        String text = metrics();
        assertThat(text).contains("# TYPE http_requests_total counter");
        assertThat(text)
                .contains(
                        "http_requests_total{instance_id=\"instance-metrics\",method=\"GET\",path=\"/tasks\",status=\"200\"}")
                .contains("path=\"/tasks/{name}\",status=\"200\"")
                .contains("path=\"UNMATCHED\",status=\"404\"")
                .contains("path=\"/runs\",status=\"400\"")
                .doesNotContain("path=\"/tasks/quick-metric\"")
                .doesNotContain("http_server_requests");
    }

    @Test
    void madeUpMethodsAreCountedUnderOneMethodLabel() {
        String text = metrics();
        assertThat(text)
                .containsPattern(
                        "http_requests_total\\{instance_id=\"instance-metrics\",method=\"OTHER\",path=\"[^\"]+\","
                                + "status=\"\\d{3}\"} 2.0")
                .contains("http_request_duration_seconds_count{instance_id=\"instance-metrics\",method=\"OTHER\"")
                .doesNotContain("method=\"FOO1\"")
                .doesNotContain("method=\"BAR2\"");
    }

    @Test
    void responseTimeIsAHistogramWithBuckets() {
        String text = metrics();
        assertThat(text).contains("# TYPE http_request_duration_seconds histogram");
        assertThat(text)
                .contains(
                        "http_request_duration_seconds_bucket{instance_id=\"instance-metrics\",method=\"GET\",path=\"/tasks\",status=\"200\",le=\"0.005\"}")
                .contains("le=\"+Inf\"")
                .contains("http_request_duration_seconds_sum{")
                .contains("http_request_duration_seconds_count{");
    }

    @Test
    void schedulerMetricsAppearOnceTasksHaveRun() {
        // The database-wide gauges are read in the background, every 5 s.
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(metrics()).contains("starpets_task_seconds_since_last_start{"));
        String text = metrics();
        assertThat(text)
                .contains(
                        "starpets_runs_finished_total{instance_id=\"instance-metrics\",status=\"SUCCEEDED\",task=\"quick-metric\"} 1.0")
                .contains("starpets_run_duration_seconds_bucket{instance_id=\"instance-metrics\",task=\"quick-metric\"")
                .contains("starpets_run_start_lag_seconds_bucket{")
                .contains("starpets_tasks_recovered_total{instance_id=\"instance-metrics\"} 0.0")
                .contains("starpets_live_instances{instance_id=\"instance-metrics\"} 1.0")
                .contains(
                        "starpets_task_expected_interval_seconds{instance_id=\"instance-metrics\",task=\"quick-metric\"} 3660.0")
                .containsPattern(
                        "starpets_task_seconds_since_last_start\\{instance_id=\"instance-metrics\",task=\"long-metric\"} \\d")
                .containsPattern("starpets_database_gauges_age_seconds\\{instance_id=\"instance-metrics\"} \\d");
    }

    @Test
    void runtimeAndPoolMetricsAreExported() {
        assertThat(metrics())
                .contains("jvm_memory_used_bytes{area=\"heap\"")
                .contains("jvm_threads_live_threads{")
                .contains("jvm_gc_memory_allocated_bytes_total{")
                .contains("process_cpu_usage{")
                .contains("hikaricp_connections_active{instance_id=\"instance-metrics\",pool=\"starpets-db\"}");
    }
}
