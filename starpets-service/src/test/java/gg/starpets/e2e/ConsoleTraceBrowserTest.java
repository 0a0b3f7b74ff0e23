package gg.starpets.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.Browser;
import gg.starpets.support.OtlpReceiver;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.StaleElementReferenceException;
import tools.jackson.databind.JsonNode;

/**
 * A run's trace id in the console, in a real browser (issue 24 item 3): an instance with tracing on
 * ({@code OTEL_EXPORTER_OTLP_ENDPOINT} at a real OTLP receiver on 127.0.0.1) runs a task; the trace id
 * that /runs gives for the run, and under which its span arrived at the receiver, is the one shown in
 * the run's row on the runs page and on the task's page.
 */
@Tag("e2e")
class ConsoleTraceBrowserTest {

    private static final String TASK = "console-traced";

    private static OtlpReceiver collector;
    private static AppInstance app;
    private static Browser browser;

    @BeforeAll
    static void start() {
        collector = OtlpReceiver.start();
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, TASK, "sleep", "1h", "1m", "100ms"));
        // The environment variable an operator sets (application.yml reads it into starpets.tracing.otlp-endpoint).
        props.put("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint());
        props.put("management.opentelemetry.tracing.export.schedule-delay", "100ms");
        app = AppInstance.start(TestPostgres.createDatabase(), "instance-console-traced", props);
        browser = Browser.start(1400, 900);
        // The pages redraw their rows every few seconds: an element found just before may be gone.
        Awaitility.ignoreExceptionByDefault(StaleElementReferenceException.class);
    }

    @AfterAll
    static void stop() {
        Awaitility.reset();
        try {
            if (browser != null) {
                browser.close();
            }
        } finally {
            if (app != null) {
                app.close();
            }
            if (collector != null) {
                collector.close();
            }
        }
    }

    /**
     * No error from the page. The one error allowed: the browser asks this instance for /favicon.ico by
     * itself when signing in shows /ui/favicon.svg, and the API refuses it without a token (401).
     */
    @AfterEach
    void noScriptErrors() {
        assertThat(browser.consoleErrors())
                .allSatisfy(e -> assertThat(e).contains("/favicon.ico ").contains("status of 401"));
    }

    /** The task's first succeeded run as /runs lists it. */
    private static JsonNode succeededRun() {
        return app.firstRun(TASK, "SUCCEEDED");
    }

    /** The trace id shown in the row of run {@code runId} in the table body {@code tbody}, once it is drawn. */
    private static String shownTraceId(String tbody, String runId) {
        By trace = By.cssSelector("#" + tbody + " tr[data-run='" + runId + "'] .trace code");
        return await("the trace id in the row of run " + runId + " in #" + tbody)
                .atMost(Timing.SOON)
                .ignoreExceptionsInstanceOf(NoSuchElementException.class)
                .until(() -> browser.driver().findElement(trace).getText().strip(), t -> !t.isEmpty());
    }

    @Test
    void aRunsTraceIdFromRunsIsShownInItsRowOnTheRunsPageAndOnItsTasksPage() {
        JsonNode run = succeededRun();
        String runId = run.get("id").asString();
        String traceId = run.get("traceId").asString();
        assertThat(traceId).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));
        // The id is the run's trace as exported, not a number made up for the page.
        await().atMost(Timing.SOON)
                .until(() -> collector.spans().stream()
                        .anyMatch(s -> HexFormat.of()
                                .formatHex(s.getTraceId().toByteArray())
                                .equals(traceId)));

        browser.signIn(app.url(""), TestTokens.VIEWER);
        browser.driver().get(app.url("/ui/#/runs?task=" + TASK));
        assertThat(shownTraceId("runs-body", runId)).isEqualTo(traceId);

        browser.js("location.hash = arguments[0]", "#/task/" + TASK);
        assertThat(shownTraceId("task-runs-body", runId)).isEqualTo(traceId);
    }
}
