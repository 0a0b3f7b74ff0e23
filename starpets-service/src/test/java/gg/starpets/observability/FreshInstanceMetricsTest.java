package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An instance that has run nothing yet already exports its run and fence counters at 0, so that
 * Prometheus sees their first increment (increase() cannot, on a series that starts at 1).
 */
class FreshInstanceMetricsTest {

    private static final List<String> TERMINAL = List.of("SUCCEEDED", "FAILED", "TIMED_OUT", "INTERRUPTED", "LOST");

    private static String db;
    private static AppInstance app;

    @BeforeAll
    static void start() {
        db = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "fresh-cron", "sleep", "0 3 * * *", "5m", null));
        props.putAll(AppInstance.task(1, "fresh-delay", "cpu", "30s", "1m", null));
        // No runs at all: the counters can only come from registration at start.
        props.put("starpets.scheduler.enabled", "false");
        app = AppInstance.start(db, "instance-fresh", props);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static String metrics(AppInstance instance) {
        var response = instance.get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    @Test
    void everyConfiguredTaskHasEveryTerminalRunStatusAndItsLostFencesAtZeroBeforeAnyRun() {
        String text = metrics(app);
        for (String task : List.of("fresh-cron", "fresh-delay")) {
            for (String status : TERMINAL) {
                assertThat(text)
                        .contains("starpets_runs_finished_total{instance_id=\"instance-fresh\",status=\"" + status
                                + "\",task=\"" + task + "\"} 0.0\n");
            }
            assertThat(text)
                    .contains("starpets_fence_lost_total{instance_id=\"instance-fresh\",task=\"" + task + "\"} 0.0\n");
        }
        assertThat(text).doesNotContain("status=\"RUNNING\"");
        assertThat(text).contains("starpets_tasks_recovered_total{instance_id=\"instance-fresh\"} 0.0\n");
    }

    @Test
    void aTaskDefinedOnlyByAnotherInstanceGetsItsCountersAtZeroOnceTheDatabaseHasIt() {
        try (AppInstance other = AppInstance.start(
                db,
                "instance-fresh-other",
                Map.of(
                        "starpets.tasks[0].name", "fresh-elsewhere",
                        "starpets.tasks[0].handler", "sleep",
                        "starpets.tasks[0].schedule", "1h",
                        "starpets.tasks[0].timeout", "1m",
                        "starpets.scheduler.enabled", "false"))) {
            assertThat(metrics(other)).contains("task=\"fresh-elsewhere\"");
            await().atMost(Timing.SOON)
                    .untilAsserted(() -> assertThat(metrics(app))
                            .contains(
                                    "starpets_runs_finished_total{instance_id=\"instance-fresh\",status=\"TIMED_OUT\","
                                            + "task=\"fresh-elsewhere\"} 0.0\n")
                            .contains(
                                    "starpets_fence_lost_total{instance_id=\"instance-fresh\",task=\"fresh-elsewhere\"}"
                                            + " 0.0\n"));
        }
    }
}
