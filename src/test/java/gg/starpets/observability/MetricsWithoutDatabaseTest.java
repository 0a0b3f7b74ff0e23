package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.StoppablePostgres;
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

    /** Well under Prometheus' scrape timeout; the pool would make a scrape wait its 30 s. */
    private static final Duration FAST = Duration.ofSeconds(2);

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
            await().atMost(Duration.ofSeconds(20))
                    .untilAsserted(
                            () -> assertThat(app.get("/metrics").body())
                                    .contains("starpets_live_instances{instance_id=\"instance-no-db\"} 1.0")
                                    .contains(
                                            "starpets_task_seconds_since_last_start{instance_id=\"instance-no-db\",task=\"no-db-task\"}"));
            assertThat(age(app.get("/metrics").body())).isLessThan(DatabaseGaugeRefresh.INTERVAL.toSeconds() + 1.0);

            pg.stop();
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> app.get("/health").statusCode() == 503);
            // Past the next refresh, which could not read the database.
            double stale = DatabaseGaugeRefresh.INTERVAL.toSeconds() + 2.0;
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> age(app.get("/metrics").body()) > stale);
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
            await().atMost(Duration.ofSeconds(45))
                    .until(() -> age(app.get("/metrics").body()) < DatabaseGaugeRefresh.INTERVAL.toSeconds() + 1.0);
        }
    }

    private static double age(String metrics) {
        Matcher m = AGE.matcher(metrics);
        assertThat(m.find())
                .as("starpets_database_gauges_age_seconds in /metrics")
                .isTrue();
        return Double.parseDouble(m.group(1));
    }
}
