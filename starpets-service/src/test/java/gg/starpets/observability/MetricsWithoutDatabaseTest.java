package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.StoppablePostgres;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A scrape never waits for the database: with PostgreSQL stopped, /metrics answers at once, with the
 * runtime metrics and the last database-wide values, and says how old those are.
 */
class MetricsWithoutDatabaseTest {

    /**
     * Half Prometheus' default scrape timeout (10 s): a scrape that waited for a pooled connection
     * would take the pool's 30 s; one that answers at once may still take a second or two on a
     * loaded machine.
     */
    private static final Duration FAST = Duration.ofSeconds(5);

    private static final Pattern AGE = Pattern.compile(
            "(?m)^starpets_database_gauges_age_seconds\\{instance_id=\"instance-no-db\"} ([0-9.E+-]+)$");

    @Test
    void metricsAnswerAtOnceWithTheLastValuesWhilePostgresIsDownAndCatchUpWhenItReturns() throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.putAll(AppInstance.task(0, "no-db-task", "sleep", "1h", "1m", "100ms"));
        // The production default: a scrape that waited for a pooled connection would wait this long.
        props.put("starpets.db.connection-timeout", "30s");
        try (StoppablePostgres pg = StoppablePostgres.start();
                AppInstance app = AppInstance.start(pg.port(), StoppablePostgres.DATABASE, "instance-no-db", props)) {
            double fresh = DatabaseGaugeRefresh.INTERVAL.toSeconds() + 1.0;
            await().atMost(Timing.SOON).untilAsserted(() -> {
                String metrics = metrics(app);
                assertThat(metrics)
                        .contains("starpets_live_instances{instance_id=\"instance-no-db\"} 1.0")
                        .contains(
                                "starpets_task_seconds_since_last_start{instance_id=\"instance-no-db\",task=\"no-db-task\"}");
                assertThat(age(metrics)).isLessThan(fresh);
            });

            pg.stop();
            await().atMost(Timing.SOON).until(() -> app.get("/health").statusCode() == 503);
            // Past the next refresh, which could not read the database.
            double stale = DatabaseGaugeRefresh.INTERVAL.toSeconds() + 2.0;
            // Every answer must carry the age (a scrape never fails): a missing one ends the wait.
            await().atMost(Timing.SOON).until(() -> age(metrics(app)) > stale);
            for (int i = 0; i < 3; i++) {
                long start = System.nanoTime();
                var response = app.get("/metrics");
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(took).isLessThan(FAST);
                assertThat(response.body())
                        .contains("jvm_memory_used_bytes{area=\"heap\"")
                        .contains("http_requests_total{")
                        .contains("app_active_tasks_total{instance_id=\"instance-no-db\"}")
                        .contains("starpets_live_instances{instance_id=\"instance-no-db\"} 1.0")
                        .contains(
                                "starpets_task_seconds_since_last_start{instance_id=\"instance-no-db\",task=\"no-db-task\"}");
                assertThat(age(response.body())).isGreaterThan(stale);
            }

            pg.restart();
            await().atMost(Duration.ofSeconds(45)).until(() -> age(metrics(app)) < fresh);
        }
    }

    /** A /metrics answer, which must be a 200 whether the database is up or not. */
    private static String metrics(AppInstance app) {
        var response = app.get("/metrics");
        assertThat(response.statusCode())
                .as("/metrics answered %s", response.body())
                .isEqualTo(200);
        return response.body();
    }

    private static double age(String metrics) {
        Matcher m = AGE.matcher(metrics);
        assertThat(m.find())
                .as("starpets_database_gauges_age_seconds in /metrics:%n%s", metrics)
                .isTrue();
        return Double.parseDouble(m.group(1));
    }
}
