package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppProcess;
import gg.starpets.support.Burst;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A low {@code HTTP_MAX_IN_FLIGHT} on a process of the real jar (its heap capped, exiting when out of
 * memory, as in production) under a burst: while the admitted requests are held on a locked user
 * row, every request of the burst is refused with a 503 {@code overloaded} problem, so none waited
 * for a turn, and the process keeps serving. What breaks this test: a limit that is not enforced
 * (the burst's requests then wait on the lock and are not answered while it is held), a refusal
 * that waits for a permit, another answer for the excess, or the process exiting.
 */
class AdmissionUnderBurstIT {

    private static final int LIMIT = 8;
    private static final int REQUESTS = 2_000;

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private HikariDataSource db;
    private AppProcess process;

    @BeforeEach
    void start() throws Exception {
        String database = TestPostgres.createDatabase();
        db = TestPostgres.pool(database, 2);
        Map<String, Object> settings = AppProcess.databaseSettings(database);
        settings.put("starpets.scheduler.enabled", "false");
        settings.put("starpets.http.max-in-flight", LIMIT);
        process = AppProcess.start("proc-tight", settings);
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() -> get("/health").statusCode() == 200);
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute("insert into users (id, balance) values (2, 100.00)");
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        process.close();
        http.close();
        db.close();
    }

    @Test
    @Timeout(120)
    void aBurstPastTheLimitIsRefusedWithOverloadedWhileTheAdmittedAreHeldAndTheProcessLives() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
        try (Connection lock = db.getConnection()) {
            lock.setAutoCommit(false);
            lock.createStatement()
                    .executeQuery("select 1 from users where id = 2 for update")
                    .close();
            for (int i = 0; i < LIMIT; i++) {
                held.add(http.sendAsync(withdrawal(2), HttpResponse.BodyHandlers.ofString()));
            }
            await().atMost(Timing.SOON).until(() -> metric("starpets_http_in_flight") == LIMIT);

            List<Burst.Shot> shots = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                shots.add(new Burst.Shot(
                        process.instanceId(),
                        i % 2 == 0
                                ? withdrawal(1)
                                : TestTokens.bearer(
                                                HttpRequest.newBuilder(URI.create(process.url("/tasks"))),
                                                TestTokens.VIEWER)
                                        .timeout(Duration.ofSeconds(60))
                                        .build()));
            }
            try (Burst burst = Burst.fire(shots)) {
                assertThat(burst.awaitAll(Duration.ofSeconds(60)))
                        .as("every request of the burst answered while the admitted ones are held")
                        .isTrue();
                assertThat(burst.answers(process.instanceId()))
                        .containsExactlyEntriesOf(Map.of("503 overloaded, Retry-After 1", REQUESTS));
            }
            assertThat(held).noneMatch(CompletableFuture::isDone);
            assertThat(get("/health").statusCode()).isEqualTo(200);
            assertThat(metric("starpets_http_overloaded_total")).isEqualTo(REQUESTS);
            lock.commit();
        }
        for (CompletableFuture<HttpResponse<String>> answer : held) {
            assertThat(answer.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        // Served again once the held requests are done, and the process never exited.
        assertThat(http.send(withdrawal(1), HttpResponse.BodyHandlers.ofString())
                        .statusCode())
                .isEqualTo(200);
        assertThat(process.alive()).isTrue();
        try (var c = db.getConnection();
                var rs = c.createStatement()
                        .executeQuery("select (select balance from users where id = 1)::text,"
                                + " (select balance from users where id = 2)::text")) {
            rs.next();
            assertThat(rs.getString(1))
                    .as("user 1: only the last withdrawal applied")
                    .isEqualTo("9999.00");
            assertThat(rs.getString(2))
                    .as("user 2: the held withdrawals applied")
                    .isEqualTo(100 - LIMIT + ".00");
        }
    }

    private HttpRequest withdrawal(long user) {
        return TestTokens.bearer(HttpRequest.newBuilder(URI.create(process.url("/balance/update"))), TestTokens.BALANCE)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":" + user + ",\"amount\":-1}"))
                .build();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(
                TestTokens.bearer(HttpRequest.newBuilder(URI.create(process.url(path))), TestTokens.readerOf(path))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** One of this instance's metrics, from /metrics (never refused by the admission). */
    private long metric(String name) throws Exception {
        return get("/metrics")
                .body()
                .lines()
                .filter(l -> l.startsWith(name + "{"))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }
}
