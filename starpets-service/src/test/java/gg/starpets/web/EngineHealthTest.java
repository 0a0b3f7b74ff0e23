package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An instance whose scheduler has stopped working is not healthy, though it reaches PostgreSQL:
 * {@code /health} says DOWN and why, and liveness is DOWN so that an orchestrator restarts it.
 */
class EngineHealthTest {

    @Test
    void whenTheSchedulerStopsWorkingHealthAndLivenessSayDown() throws Exception {
        String database = TestPostgres.createDatabase();
        try (AppInstance app = AppInstance.start(database, "engine-health", Map.of());
                var db = TestPostgres.pool(database, 1)) {
            assertThat(app.get("/health").statusCode()).isEqualTo(200);
            assertThat(app.get("/health").body()).doesNotContain("scheduler");
            assertThat(app.get("/actuator/health/liveness").statusCode()).isEqualTo(200);

            // Another process takes this instance's id: its scheduler stands down.
            try (var c = db.getConnection();
                    var st = c.createStatement()) {
                st.execute("update instances set session_key = session_key + 1 where id = 'engine-health'");
            }

            await().atMost(Duration.ofSeconds(10))
                    .until(() -> app.get("/health").statusCode() == 503);
            assertThat(app.get("/health").body())
                    .contains(
                            "\"status\":\"DOWN\"",
                            "\"database\":\"reachable\"",
                            "\"scheduler\":\"stopped: another process has taken instance id engine-health\"");
            assertThat(app.get("/actuator/health/liveness").statusCode()).isEqualTo(503);
        }
    }
}
