package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import gg.starpets.support.AppInstance;
import gg.starpets.support.OtlpReceiver;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set): the spans arrive at a real OTLP/HTTP endpoint on
 * 127.0.0.1 (protobuf, decoded with the OTLP messages), a run's span tree is checked against its row in
 * /runs and the {@code traceparent} its http task's receiver got, and /metrics carries the run's trace id
 * as an exemplar in OpenMetrics.
 */
class RunTracingTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final String TASK = "traced-hook";

    private static final List<String> TRACEPARENTS = new CopyOnWriteArrayList<>();
    private static OtlpReceiver collector;
    private static HttpServer receiver;
    private static AppInstance app;

    @BeforeAll
    static void start() throws IOException {
        collector = OtlpReceiver.start();
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", ex -> {
            String traceparent = ex.getRequestHeaders().getFirst("traceparent");
            TRACEPARENTS.add(traceparent == null ? "" : traceparent);
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        receiver.start();
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, TASK, "http", "1h", "1m", null));
        props.put(
                "starpets.tasks[0].params.url",
                "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook");
        props.put("starpets.tracing.otlp-endpoint", collector.endpoint());
        // Spans are sent in batches; a short delay keeps the wait short.
        props.put("management.opentelemetry.tracing.export.schedule-delay", "100ms");
        app = AppInstance.start(TestPostgres.createDatabase(), "instance-traced", props);
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
        collector.close();
        receiver.stop(0);
    }

    /** The task's first succeeded run as /runs lists it. */
    private static JsonNode succeededRun() {
        return app.firstRun(TASK, "SUCCEEDED");
    }

    private static Optional<Span> span(String name, String attribute, String value) {
        return collector.spans().stream()
                .filter(s ->
                        s.getName().equals(name) && value.equals(attributes(s).get(attribute)))
                .findFirst();
    }

    private static Map<String, String> attributes(Span span) {
        return span.getAttributesList().stream()
                .collect(Collectors.toMap(KeyValue::getKey, kv -> text(kv.getValue()), (a, b) -> a));
    }

    private static String text(AnyValue value) {
        return switch (value.getValueCase()) {
            case INT_VALUE -> String.valueOf(value.getIntValue());
            case BOOL_VALUE -> String.valueOf(value.getBoolValue());
            case DOUBLE_VALUE -> String.valueOf(value.getDoubleValue());
            default -> value.getStringValue();
        };
    }

    @Test
    void aRunIsASpanWithItsClaimAndEndWriteUnderTheTraceIdOfItsRowAndOfTheTraceparentSent() {
        JsonNode run = succeededRun();
        String runId = run.get("id").asString();
        String traceId = run.get("traceId").asString();
        assertThat(traceId).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));

        Span runSpan = await().atMost(Timing.SOON)
                .until(() -> span(RunTraces.RUN_SPAN, "starpets.run.id", runId), Optional::isPresent)
                .orElseThrow();
        assertThat(HEX.formatHex(runSpan.getTraceId().toByteArray())).isEqualTo(traceId);
        assertThat(runSpan.getParentSpanId().isEmpty())
                .as("a run is the root of its trace")
                .isTrue();
        assertThat(attributes(runSpan))
                .containsEntry("starpets.task", TASK)
                .containsEntry("starpets.run.attempt", "1")
                .hasEntrySatisfying(
                        "starpets.run.fence",
                        fence -> assertThat(Long.parseLong(fence)).isPositive())
                .containsEntry("starpets.instance.id", "instance-traced")
                .containsEntry("starpets.run.cause", run.get("cause").asString())
                .containsEntry("starpets.run.status", "SUCCEEDED")
                .containsEntry("starpets.run.written", "true");

        String runSpanId = HEX.formatHex(runSpan.getSpanId().toByteArray());
        List<Span> children = await().atMost(Timing.SOON)
                .until(
                        () -> collector.spans().stream()
                                .filter(s -> s.getParentSpanId().equals(runSpan.getSpanId()))
                                .toList(),
                        c -> c.size() >= 2);
        assertThat(children)
                .extracting(Span::getName)
                .containsExactlyInAnyOrder(RunTraces.CLAIM_SPAN, RunTraces.END_SPAN);
        assertThat(children).allSatisfy(child -> {
            assertThat(child.getTraceId()).isEqualTo(runSpan.getTraceId());
            assertThat(child.getStartTimeUnixNano()).isGreaterThanOrEqualTo(runSpan.getStartTimeUnixNano());
            assertThat(child.getEndTimeUnixNano()).isLessThanOrEqualTo(runSpan.getEndTimeUnixNano());
        });

        assertThat(TRACEPARENTS).contains("00-" + traceId + "-" + runSpanId + "-01");
    }

    @Test
    void requestsToTheApiAreTraced() {
        app.get("/tasks/" + TASK);
        await().atMost(Timing.SOON)
                .until(() -> collector.spans().stream()
                        .anyMatch(s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER
                                && attributes(s).containsValue("/tasks/{name}")));
    }

    @Test
    void theRunDurationHistogramCarriesTheTraceIdOfARunAsAnExemplarInOpenMetrics() {
        String traceId = succeededRun().get("traceId").asString();
        HttpResponse<String> response =
                app.send(TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/metrics"))), TestTokens.VIEWER)
                        .header("Accept", "application/openmetrics-text; version=1.0.0"));
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/openmetrics-text"));
        assertThat(response.body())
                .containsPattern(Pattern.compile("(?m)^starpets_run_duration_seconds_bucket\\{[^}]*task=\"" + TASK
                        + "\"[^}]*} \\d+ # \\{[^}]*trace_id=\"" + traceId + "\""))
                .contains("# TYPE app_active_tasks_total gauge\n")
                .doesNotContain("http_server_requests") // traced, but counted by http_requests_total only
                .endsWith("# EOF\n");
        // OpenMetrics 1.0 allows exemplars on buckets and counters only; Prometheus refuses a scrape with
        // one elsewhere (a histogram's _count, as Micrometer writes by default).
        assertThat(response.body().lines().filter(line -> line.contains(" # {")))
                .isNotEmpty()
                .allSatisfy(line -> assertThat(line).containsPattern("^[a-z_]+(_bucket|_total)\\{"));
    }
}
