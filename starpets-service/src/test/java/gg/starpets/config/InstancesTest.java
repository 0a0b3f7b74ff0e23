package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.StoppablePostgres;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Timestamp;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Instances register and heartbeat; health follows the database; bad task configuration stops the start. */
class InstancesTest {

    @Test
    void twoInstancesWithDifferentIdsRegisterTwoRowsAndBothHeartbeat() throws Exception {
        String db = TestPostgres.createDatabase();
        try (AppInstance one = AppInstance.start(db, "instance-one", Map.of());
                AppInstance two = AppInstance.start(db, "instance-two", Map.of())) {
            var dataSource = TestPostgres.pool(db, 1);
            Map<String, Timestamp> first = heartbeats(dataSource);
            assertThat(first).containsOnlyKeys("instance-one", "instance-two");

            await().atMost(Timing.SOON).until(() -> {
                Map<String, Timestamp> later = heartbeats(dataSource);
                return later.get("instance-one").after(first.get("instance-one"))
                        && later.get("instance-two").after(first.get("instance-two"));
            });
            assertThat(one.get("/instances").body()).contains("\"instance-one\"", "\"instance-two\"", "\"RUNNING\"");
            assertThat(two.get("/health").headers().firstValue("X-Instance-Id")).hasValue("instance-two");
            dataSource.close();
        }
    }

    private static Map<String, Timestamp> heartbeats(javax.sql.DataSource dataSource) throws Exception {
        Map<String, Timestamp> result = new HashMap<>();
        try (var c = dataSource.getConnection();
                var rs = c.createStatement().executeQuery("select id, heartbeat_at from instances")) {
            while (rs.next()) {
                result.put(rs.getString(1), rs.getTimestamp(2));
            }
        }
        return result;
    }

    @Test
    void healthGoesDownWhenPostgresStopsAndUpWhenItReturnsWithoutARestart() throws Exception {
        try (StoppablePostgres pg = StoppablePostgres.start();
                AppInstance app = AppInstance.start(
                        pg.port(),
                        StoppablePostgres.DATABASE,
                        "instance-health",
                        Map.of("starpets.db.connection-timeout", "1s"))) {
            assertThat(app.get("/health").statusCode()).isEqualTo(200);

            pg.stop();
            await().atMost(Timing.SOON).until(() -> app.get("/health").statusCode() == 503);
            assertThat(app.get("/health").body()).contains("\"status\":\"DOWN\"", "\"instanceId\":\"instance-health\"");
            // Requests that need the database say so, with a retryable 503 rather than a 500.
            for (String path : new String[] {"/tasks", "/balance/1", "/instances"}) {
                var answer = app.get(path);
                assertThat(answer.statusCode()).as(path).isEqualTo(503);
                assertThat(answer.body()).as(path).contains("\"code\":\"database_unavailable\"");
            }

            pg.restart();
            await().atMost(Timing.SOON).until(() -> app.get("/health").statusCode() == 200);
            assertThat(app.get("/health").body()).contains("\"status\":\"UP\"");
            assertThat(app.context().isActive()).isTrue();
        }
    }

    @Test
    void aBadTaskDefinitionStopsTheServiceFromStartingWithAMessageNamingTheTask() {
        String db = TestPostgres.createDatabase();
        assertThatThrownBy(() -> AppInstance.start(
                        db,
                        "instance-bad",
                        Map.of(
                                "starpets.tasks[0].name", "broken-task",
                                "starpets.tasks[0].handler", "sleep",
                                "starpets.tasks[0].schedule", "every tuesday",
                                "starpets.tasks[0].timeout", "1m")))
                .rootCause()
                .hasMessageContaining("Task 'broken-task': invalid schedule");
        assertThatThrownBy(() -> AppInstance.start(
                        db,
                        "instance-bad",
                        Map.of(
                                "starpets.tasks[0].name", "unknown-handler",
                                "starpets.tasks[0].handler", "teleport",
                                "starpets.tasks[0].schedule", "30s",
                                "starpets.tasks[0].timeout", "1m")))
                .rootCause()
                .hasMessageContaining("Task 'unknown-handler': unknown handler 'teleport'");
        assertThatThrownBy(() -> AppInstance.start(
                        db,
                        "instance-bad",
                        Map.of(
                                "starpets.tasks[0].name", "negative",
                                "starpets.tasks[0].handler", "sleep",
                                "starpets.tasks[0].schedule", "30s",
                                "starpets.tasks[0].timeout", "-5s")))
                .rootCause()
                .hasMessageContaining("Task 'negative': the timeout must be positive");
    }
}
