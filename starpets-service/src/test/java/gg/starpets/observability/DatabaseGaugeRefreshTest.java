package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.scheduler.TaskViews.TaskTiming;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The database-wide gauges are refreshed in the background while Prometheus scrapes. */
class DatabaseGaugeRefreshTest {

    /** With the series re-registered on each refresh, a scrape failed after 154 to 2,978 of them here. */
    private static final int REFRESHES = 10_000;

    private static final Pattern SINCE_LAST_START = Pattern.compile(
            "(?m)^starpets_task_seconds_since_last_start\\{instance_id=\"instance-refresh\",task=\"refresh-0\"} (\\S+)$");

    @Test
    void aScrapeDuringARefreshAnswersEverySeriesOnceWithTheLatestValue() throws Exception {
        // One task: each task gauge has one series, so removing it emptied (unregistered) its collector.
        Map<String, Object> props = AppInstance.task(0, "refresh-0", "sleep", "1h", "1m", "10ms");
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-refresh", props)) {
            DatabaseGaugeRefresh refresh = app.context().getBean(DatabaseGaugeRefresh.class);
            PrometheusMeterRegistry registry = app.context().getBean(PrometheusMeterRegistry.class);

            // Refreshes back to back, scraping all the while. A refresh that removed and re-added a
            // task's series replaced its collector in the Prometheus registry's concurrent set; a
            // scrape walking that set could meet both and fail (DuplicateLabelsException, a 500).
            CompletableFuture<Void> refreshes = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < REFRESHES; i++) {
                    refresh.publish(List.of(new TaskTiming("refresh-0", "1h", "UTC", 60, i)));
                }
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!refreshes.isDone() && System.nanoTime() < deadline) {
                registry.scrape(MetricsController.TEXT_FORMAT);
            }
            refreshes.get(0, TimeUnit.SECONDS);

            refresh.publish(List.of(new TaskTiming("refresh-0", "1h", "UTC", 60, 12345)));
            assertThat(sinceLastStart(registry.scrape(MetricsController.TEXT_FORMAT)))
                    .isEqualTo(12345.0);
        }
    }

    /** The quarantine alert names its task from this gauge: every instance reads it from the database. */
    @Test
    void aQuarantinedTaskHasItsSeriesUntilItIsResumed() throws Exception {
        String database = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>(AppInstance.task(0, "calm", "sleep", "1h", "1m", "10ms"));
        props.putAll(AppInstance.task(1, "hopping", "sleep", "1h", "1m", "10ms"));
        try (AppInstance app = AppInstance.start(database, "instance-quarantine", props);
                var pool = TestPostgres.pool(database, 1);
                var c = pool.getConnection();
                var st = c.createStatement()) {
            DatabaseGaugeRefresh refresh = app.context().getBean(DatabaseGaugeRefresh.class);
            PrometheusMeterRegistry registry = app.context().getBean(PrometheusMeterRegistry.class);
            String series = "starpets_task_quarantined{instance_id=\"instance-quarantine\",task=\"%s\"} 1.0";

            st.execute("update tasks set quarantined_at = now() where name = 'hopping'");
            refresh.runOnce();
            assertThat(registry.scrape(MetricsController.TEXT_FORMAT))
                    .contains(series.formatted("hopping"))
                    .doesNotContain(series.formatted("calm"));

            st.execute("update tasks set quarantined_at = null where name = 'hopping'");
            refresh.runOnce();
            assertThat(registry.scrape(MetricsController.TEXT_FORMAT)).doesNotContain("starpets_task_quarantined{");
        }
    }

    private static double sinceLastStart(String metrics) {
        Matcher m = SINCE_LAST_START.matcher(metrics);
        assertThat(m.find())
                .as("refresh-0's seconds since last start in /metrics")
                .isTrue();
        return Double.parseDouble(m.group(1));
    }
}
