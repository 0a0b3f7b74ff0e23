package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The admission limit on real instances: requests are held in flight on a locked user row, so that
 * exactly the limit is busy when the excess arrives.
 */
class AdmissionFilterTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    private static HikariDataSource db;
    private static String database;

    @BeforeAll
    static void database() throws SQLException {
        database = TestPostgres.createDatabase();
        db = TestPostgres.pool(database, 2);
        TestPostgres.migrateAsOwner(database);
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute("insert into users (id, balance) values (2, 100.00)");
        }
    }

    @AfterAll
    static void close() {
        HTTP.close();
        db.close();
    }

    @Test
    void theDefaultLimitHoldsTheAcceptanceBurstsAtTheirHeapsAndNeverDropsBelowTheMinimum() {
        // A5 over three instances with 512 MB each (about 3,400 requests per instance), and through nginx
        // over five instances of the twin, with 384 MB each (about 2,000 per instance).
        assertThat(AdmissionFilter.limitForHeap(512L << 20)).isGreaterThanOrEqualTo(3_400);
        assertThat(AdmissionFilter.limitForHeap(384L << 20)).isGreaterThanOrEqualTo(2_000);
        assertThat(AdmissionFilter.limitForHeap(1L << 20)).isEqualTo(AdmissionFilter.MIN_LIMIT);
    }

    @Test
    @Timeout(120)
    void overTheLimitARequestIsRefusedAtOnceWithOverloadedWhileHealthAndMetricsStillAnswer() throws Exception {
        try (AppInstance app = AppInstance.start(
                database,
                "instance-tight",
                Map.of("starpets.scheduler.enabled", "false", "starpets.http.max-in-flight", 3))) {
            AdmissionFilter admission = app.context().getBean(AdmissionFilter.class);
            assertThat(admission.limit()).isEqualTo(3);
            List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
            List<HttpResponse<String>> refused = new ArrayList<>();
            try (Connection lock = lockUser(2)) {
                for (int i = 0; i < 3; i++) {
                    held.add(postAsync(app, 2, "-10"));
                }
                await().atMost(Timing.SOON).until(() -> admission.inFlight() == 3);

                List<CompletableFuture<HttpResponse<String>>> excess = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    excess.add(postAsync(app, 2, "-1"));
                }
                for (CompletableFuture<HttpResponse<String>> answer : excess) {
                    refused.add(answer.get(10, TimeUnit.SECONDS));
                }
                assertThat(app.get("/health").statusCode()).isEqualTo(200);
                HttpResponse<String> metrics = app.get("/metrics");
                assertThat(metrics.statusCode()).isEqualTo(200);
                assertThat(metrics.body())
                        .contains("starpets_http_overloaded_total{instance_id=\"instance-tight\"} 10.0")
                        .contains("starpets_http_in_flight{instance_id=\"instance-tight\"} 3.0")
                        .contains("starpets_http_in_flight_limit{instance_id=\"instance-tight\"} 3.0");
                assertThat(held).noneMatch(CompletableFuture::isDone);
                lock.commit();
            }
            for (HttpResponse<String> response : refused) {
                assertOverloaded(response, "instance-tight");
            }
            for (CompletableFuture<HttpResponse<String>> answer : held) {
                assertThat(answer.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
            await().atMost(Timing.SOON).until(() -> admission.inFlight() == 0);
        }
        // Nothing half-written: exactly the three admitted withdrawals, each with its ledger row.
        assertThat(balance(2)).isEqualByComparingTo("70.00");
        assertThat(ledgerSum(2)).isEqualByComparingTo("-30.00");
        assertThat(ledgerRows(2)).isEqualTo(3);
    }

    private static void assertOverloaded(HttpResponse<String> response, String instanceId) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(response.headers().firstValue("X-Instance-Id")).hasValue(instanceId);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        JsonNode problem = JSON.readTree(response.body());
        assertThat(problem.get("code").asString()).isEqualTo("overloaded");
        assertThat(problem.get("status").asInt()).isEqualTo(503);
        assertThat(problem.get("type").asString()).isEqualTo("https://starpets.gg/problems/overloaded");
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(AppInstance app, long user, String amount) {
        return HTTP.sendAsync(
                TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/balance/update"))), TestTokens.BALANCE)
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"userId\":" + user + ",\"amount\":" + amount + "}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static Connection lockUser(long user) throws SQLException {
        Connection c = db.getConnection();
        c.setAutoCommit(false);
        try (var st = c.prepareStatement("select 1 from users where id = ? for update")) {
            st.setLong(1, user);
            st.executeQuery().close();
        }
        return c;
    }

    private static BigDecimal balance(long user) {
        return decimal("select balance from users where id = " + user);
    }

    private static BigDecimal ledgerSum(long user) {
        return decimal("select coalesce(sum(amount), 0) from balance_changes where user_id = " + user);
    }

    private static long ledgerRows(long user) {
        return decimal("select count(*) from balance_changes where user_id = " + user)
                .longValueExact();
    }

    private static BigDecimal decimal(String sql) {
        try (var c = db.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBigDecimal(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
