package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code GET /balance/{userId}/changes}: the ledger over HTTP, newest first, paged as {@code /runs}. */
class BalanceChangesApiTest {

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();
    private static AppInstance app;
    private static HikariDataSource db;

    @BeforeAll
    static void start() throws Exception {
        String database = TestPostgres.createDatabase();
        app = AppInstance.start(database, "instance-ledger", Map.of("starpets.scheduler.enabled", "false"));
        db = TestPostgres.pool(database, 2);
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute("insert into users (id, balance) values (2, 100.00), (3, 0.00)");
        }
        post(2, "-2", null);
        post(2, "10.5", "key-top-up");
        post(2, "-200", null); // refused: no ledger row
        post(2, "-0.50", null);
    }

    @AfterAll
    static void stop() {
        app.close();
        db.close();
    }

    @Test
    void theChangesOfAUserComeNewestFirstWithTheBalanceAfterEach() {
        JsonNode changes = json("/balance/2/changes").get("changes");
        assertThat(changes).hasSize(3);
        List<String> amounts = new ArrayList<>();
        changes.forEach(c -> amounts.add(c.get("amount").decimalValue().toPlainString() + " -> "
                + c.get("balanceAfter").decimalValue().toPlainString()));
        assertThat(amounts).containsExactly("-0.50 -> 108.00", "10.50 -> 108.50", "-2.00 -> 98.00");
        JsonNode topUp = changes.get(1);
        assertThat(topUp.get("idempotencyKey").asString()).isEqualTo("key-top-up");
        assertThat(changes.get(0).get("idempotencyKey").isNull()).isTrue();
        assertThat(topUp.get("instanceId").asString()).isEqualTo("instance-ledger");
        assertThat(Instant.parse(topUp.get("createdAt").asString())).isBefore(Instant.now());
        assertThat(changes.get(0).get("id").asLong())
                .isGreaterThan(topUp.get("id").asLong());
        assertThat(topUp.propertyNames())
                .containsExactly("id", "amount", "balanceAfter", "createdAt", "idempotencyKey", "instanceId");
        // Money as everywhere in this API: a JSON number with exactly two decimals.
        assertThat(app.get("/balance/2/changes").body()).contains("\"amount\":-0.50,\"balanceAfter\":108.00");
        Ledger.assertBalanceIsStartPlusLedger(db, 2, new BigDecimal("100.00"));
    }

    @Test
    void limitAndBeforePageThroughTheLedger() {
        JsonNode first = json("/balance/2/changes?limit=2").get("changes");
        assertThat(first).hasSize(2);
        long last = first.get(1).get("id").asLong();
        JsonNode rest = json("/balance/2/changes?limit=2&before=" + last).get("changes");
        assertThat(rest).hasSize(1);
        assertThat(rest.get(0).get("amount").decimalValue()).isEqualByComparingTo("-2");
        assertThat(json("/balance/2/changes?before=" + rest.get(0).get("id").asLong())
                        .get("changes"))
                .isEmpty();
    }

    @Test
    void aUserWithoutChangesHasAnEmptyLedgerAndAnUnknownUserIsNotFound() {
        assertThat(app.get("/balance/3/changes").body()).isEqualTo("{\"changes\":[]}");
        HttpResponse<String> unknown = app.get("/balance/999/changes");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).get("code").asString()).isEqualTo("user_not_found");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/balance/2/changes?limit=0",
                "/balance/2/changes?limit=501",
                "/balance/2/changes?limit=abc",
                "/balance/2/changes?before=0",
                "/balance/2/changes?before=-5",
                "/balance/01/changes",
                "/balance/abc/changes"
            })
    void badParametersAreInvalidParameter(String path) {
        HttpResponse<String> response = app.get(path);
        assertThat(response.statusCode()).as(path).isEqualTo(400);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        assertThat(JSON.readTree(response.body()).get("code").asString()).isEqualTo("invalid_parameter");
    }

    private static JsonNode json(String path) {
        HttpResponse<String> response = app.get(path);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static void post(long user, String amount, String key) {
        HttpRequest.Builder request = TestTokens.bearer(
                        HttpRequest.newBuilder(URI.create(app.url("/balance/update"))), TestTokens.BALANCE)
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString("{\"userId\":" + user + ",\"amount\":" + amount + "}"));
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        app.send(request);
    }
}
