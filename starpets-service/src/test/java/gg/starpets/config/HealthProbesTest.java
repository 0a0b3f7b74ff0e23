package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;

/**
 * The Kubernetes probes (deploy/helm): Actuator's liveness and readiness groups, and nothing else of
 * Actuator, over HTTP; an instance that is shutting down is not ready.
 */
class HealthProbesTest {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void theProbeGroupsAnswerAndNoOtherActuatorEndpointIsExposed() throws Exception {
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "probe-open", Map.of())) {
            assertThat(get(app, "/actuator/health/liveness")).isEqualTo("200 {\"status\":\"UP\"}");
            assertThat(get(app, "/actuator/health/readiness")).isEqualTo("200 {\"status\":\"UP\"}");
            // No details (no database name, no disk paths) to whoever reaches the port.
            assertThat(get(app, "/actuator/health")).startsWith("200 ").doesNotContain("components", "details");
            assertThat(get(app, "/actuator")).startsWith("404 ");
            assertThat(get(app, "/actuator/env")).startsWith("404 ");
            assertThat(get(app, "/actuator/beans")).startsWith("404 ");
            // The service's own health keeps its answer.
            assertThat(get(app, "/health")).startsWith("200 ").contains("\"database\":\"reachable\"");

            // Readiness follows the application's state; liveness does not.
            AvailabilityChangeEvent.publish(app.context(), ReadinessState.REFUSING_TRAFFIC);
            assertThat(get(app, "/actuator/health/readiness")).isEqualTo("503 {\"status\":\"OUT_OF_SERVICE\"}");
            assertThat(get(app, "/actuator/health/liveness")).isEqualTo("200 {\"status\":\"UP\"}");
        }
    }

    /**
     * SIGTERM runs this same close: Spring marks the instance REFUSING_TRAFFIC first, then Tomcat stops
     * accepting connections and drains the requests in flight. Here one request is held in flight
     * by a row lock, so the drain lasts until the test lets it go.
     */
    @Test
    void anInstanceThatIsDrainingIsNotReadyAndStillFinishesItsRequests() throws Exception {
        String db = TestPostgres.createDatabase();
        AppInstance app = AppInstance.start(db, "probe-drain", Map.of());
        try (var pool = TestPostgres.pool(db, 1);
                Connection lock = pool.getConnection()) {
            assertThat(get(app, "/actuator/health/readiness")).startsWith("200 ");
            lock.setAutoCommit(false);
            lock.createStatement().execute("select 1 from users where id = 1 for update");
            var inFlight = HTTP.sendAsync(
                    TestTokens.bearer(
                                    HttpRequest.newBuilder(URI.create(app.url("/balance/update"))), TestTokens.BALANCE)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":1,\"amount\":1}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Timing.SOON).until(() -> waitingOnTheLock(lock));

            CompletableFuture<Void> closing = CompletableFuture.runAsync(app::close);
            ApplicationAvailability availability = app.context().getBean(ApplicationAvailability.class);
            await().atMost(Timing.SOON)
                    .until(() -> availability.getReadinessState() == ReadinessState.REFUSING_TRAFFIC);
            // What the kubelet sees: the probe's connection is refused, a failure.
            await().atMost(Timing.SOON)
                    .untilAsserted(() -> assertThatThrownBy(() -> get(app, "/actuator/health/readiness"))
                            .isInstanceOf(ConnectException.class));
            assertThat(closing).isNotDone();
            assertThat(inFlight).isNotDone();

            lock.rollback();
            assertThat(inFlight.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            closing.get(60, TimeUnit.SECONDS);
        } finally {
            app.close();
        }
    }

    private static boolean waitingOnTheLock(Connection c) throws Exception {
        try (var st = c.createStatement()) {
            // Inside a transaction the statistics views keep their first snapshot unless cleared.
            st.execute("select pg_stat_clear_snapshot()");
        }
        try (var rs = c.createStatement()
                .executeQuery("select count(*) from pg_stat_activity"
                        + " where application_name = 'starpets-probe-drain' and wait_event_type = 'Lock'")) {
            rs.next();
            return rs.getInt(1) == 1;
        }
    }

    /** With a viewer's token: the probes do not read it, and the other routes are then not refused for lack of one. */
    private static String get(AppInstance app, String path) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(
                TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url(path))), TestTokens.VIEWER)
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }
}
