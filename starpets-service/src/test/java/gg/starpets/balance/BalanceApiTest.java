package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The balance routes of api.md through a real instance of the service on a real PostgreSQL. */
class BalanceApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static AppInstance app;
    private static HikariDataSource db;

    @BeforeAll
    static void start() throws Exception {
        String database = TestPostgres.createDatabase();
        app = AppInstance.start(database, "instance-balance", Map.of("starpets.scheduler.enabled", "false"));
        db = TestPostgres.pool(database, 2);
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute("insert into users (id, balance) values (2, 100.00), (3, 5.00), (4, 0.00)");
        }
    }

    @AfterAll
    static void stop() {
        app.close();
        db.close();
    }

    @Test
    void theMigrationGaveUserOneTenThousand() {
        HttpResponse<String> response = app.get("/balance/1");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"userId\":1,\"balance\":10000.00}");
    }

    @Test
    void aWithdrawalAndATopUpChangeTheBalanceAndAnswerItWithTwoDecimals() {
        HttpResponse<String> withdrawal = post("{\"userId\": 2, \"amount\": -2}");
        assertThat(withdrawal.statusCode()).isEqualTo(200);
        assertThat(withdrawal.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        assertThat(withdrawal.body()).isEqualTo("{\"userId\":2,\"balance\":98.00}");

        assertThat(post("{\"userId\": 2, \"amount\": 10.5}").body()).isEqualTo("{\"userId\":2,\"balance\":108.50}");
        assertThat(post("{\"userId\": 2, \"amount\": -108.50}").body()).isEqualTo("{\"userId\":2,\"balance\":0.00}");
        assertThat(app.get("/balance/2").body()).isEqualTo("{\"userId\":2,\"balance\":0.00}");
        assertThat(post("{\"userId\": 2, \"amount\": 100}").statusCode()).isEqualTo(200);
        assertThat(balance(2)).isEqualByComparingTo("100.00");
    }

    @Test
    void aWithdrawalLargerThanTheBalanceIsInsufficientFundsAndChangesNothing() {
        HttpResponse<String> response = post("{\"userId\": 3, \"amount\": -5.01}");
        JsonNode problem = assertProblem(response, 409, "insufficient_funds");
        assertThat(problem.get("title").asString()).isEqualTo("Insufficient funds");
        assertThat(balance(3)).isEqualByComparingTo("5.00");

        assertProblem(post("{\"userId\": 4, \"amount\": -0.01}"), 409, "insufficient_funds");
        assertThat(balance(4)).isEqualByComparingTo("0.00");

        assertThat(post("{\"userId\": 3, \"amount\": -5.00}").body()).isEqualTo("{\"userId\":3,\"balance\":0.00}");
        assertThat(post("{\"userId\": 3, \"amount\": 5}").statusCode()).isEqualTo(200);
    }

    @Test
    void aTopUpPastTheLargestBalanceIsRefusedAndChangesNothing() throws Exception {
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute("insert into users (id, balance) values (5, 999999999999999999.00)");
        }
        assertProblem(post("{\"userId\": 5, \"amount\": 1}"), 409, "balance_limit_exceeded");
        assertThat(balance(5)).isEqualByComparingTo("999999999999999999.00");
        assertThat(post("{\"userId\": 5, \"amount\": 0.99}").body())
                .isEqualTo("{\"userId\":5,\"balance\":999999999999999999.99}");
    }

    @Test
    void anUnknownUserIsUserNotFound() {
        assertProblem(post("{\"userId\": 999, \"amount\": -2}"), 404, "user_not_found");
        assertProblem(post("{\"userId\": 999, \"amount\": 2}"), 404, "user_not_found");
        assertProblem(app.get("/balance/999"), 404, "user_not_found");
        assertThat(balance(999)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "1.5", "abc", "99999999999999999999", "update", "+1", "01", "1e0", "%201"})
    void aBadUserIdInThePathIsInvalidParameter(String userId) {
        assertProblem(app.get("/balance/" + userId), 400, "invalid_parameter");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"userId\":1,\"amount\":0}",
                "{\"userId\":1,\"amount\":\"-2\"}",
                "{\"userId\":1,\"amount\":\"abc\"}",
                "{\"userId\":1,\"amount\":false}",
                "{\"userId\":1,\"amount\":-2.001}",
                "{\"userId\":1,\"amount\":NaN}",
                "{\"userId\":1,\"amount\":-Infinity}",
                "{\"userId\":1,\"amount\":-1000000000.01}",
                "{\"userId\":1,\"amount\":-1e100}"
            })
    void aBadAmountIsInvalidAmountAndChangesNothing(String body) {
        assertRefusedWithoutChange(body, 400, "invalid_amount");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "{",
                "{\"userId\":1,\"amount\":-2",
                "not json",
                "[{\"userId\":1,\"amount\":-2}]",
                "null",
                "{}",
                "{\"userId\":1}",
                "{\"amount\":-2}",
                "{\"userId\":1,\"amount\":null}",
                "{\"userId\":1,\"amount\":{\"value\":-2}}",
                "{\"userId\":{\"id\":1},\"amount\":-2}",
                "{\"userId\":0,\"amount\":-2}",
                "{\"userId\":-1,\"amount\":-2}",
                "{\"userId\":1.5,\"amount\":-2}",
                "{\"userId\":\"1\",\"amount\":-2}",
                "{\"userId\":9223372036854775808,\"amount\":-2}",
                "{\"userId\":1,\"amount\":-2,\"extra\":true}",
                "{\"userId\":1,\"amount\":-2,\"amount\":-2}",
                "{\"userId\":1,\"amount\":-2}{\"userId\":1,\"amount\":-2}",
                "{\"userId\":1,\"amount\":1e2147483648}",
                "{\"userId\":1,\"amount\":-1e2147483648}",
                "{\"userId\":1,\"amount\":1.5e-2147483648}",
                "{\"userId\":1e2147483648,\"amount\":-2}"
            })
    void aMalformedBodyIsInvalidRequestAndChangesNothing(String body) {
        assertRefusedWithoutChange(body, 400, "invalid_request");
    }

    @Test
    void aBodyOverFourKilobytesIsRequestTooLargeWhetherDeclaredOrStreamed() {
        String padded = "{\"userId\":1,\"amount\":-2" + " ".repeat(5000) + "}";
        BigDecimal before = balance(1);

        assertProblem(post(BodyPublishers.ofString(padded), "application/json"), 413, "request_too_large");
        // Chunked: no Content-Length, so only the bounded read can catch it.
        var chunked =
                BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(padded.getBytes(StandardCharsets.UTF_8)));
        assertProblem(post(chunked, "application/json"), 413, "request_too_large");
        assertThat(balance(1)).isEqualByComparingTo(before);

        String justUnder = "{\"userId\":2,\"amount\":1" + " ".repeat(4000) + "}";
        assertThat(post(justUnder).statusCode()).isEqualTo(200);
        assertThat(post("{\"userId\":2,\"amount\":-1}").statusCode()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"text/plain", "application/x-www-form-urlencoded", "application/xml", ""})
    void aBodyThatIsNotJsonByContentTypeIsUnsupportedMediaType(String contentType) {
        BigDecimal before = balance(1);
        var request = TestTokens.bearer(
                        HttpRequest.newBuilder(URI.create(app.url("/balance/update"))), TestTokens.BALANCE)
                .POST(BodyPublishers.ofString("{\"userId\":1,\"amount\":-2}"));
        if (!contentType.isEmpty()) {
            request.header("Content-Type", contentType);
        }
        assertProblem(app.send(request), 415, "unsupported_media_type");
        assertThat(balance(1)).isEqualByComparingTo(before);
    }

    @ParameterizedTest
    @ValueSource(strings = {"text/html", "application/xml"})
    void anAcceptTheRouteCannotAnswerIsNotAcceptableAndChangesNothing(String accept) {
        BigDecimal before = balance(1);
        var response = app.send(
                TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/balance/update"))), TestTokens.BALANCE)
                        .header("Content-Type", "application/json")
                        .header("Accept", accept)
                        .POST(BodyPublishers.ofString("{\"userId\":1,\"amount\":-7}")));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(406);
        assertThat(balance(1)).isEqualByComparingTo(before);
    }

    @Test
    void jsonWithACharsetIsAccepted() {
        HttpResponse<String> response =
                post(BodyPublishers.ofString("{\"userId\":2,\"amount\":1}"), "application/json; charset=UTF-8");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(post("{\"userId\":2,\"amount\":-1}").statusCode()).isEqualTo(200);
    }

    @Test
    void aBurstOfBadRequestsLeavesTheBalanceExactlyAsItWas() throws Exception {
        BigDecimal before = balance(1);
        String[] bad = {
            "{\"userId\":1,\"amount\":0}",
            "{\"userId\":1,\"amount\":\"-2\"}",
            "{\"userId\":1,\"amount\":-2.001}",
            "{\"userId\":1,\"amount\":-2,\"x\":1}",
            "{\"userId\":1,\"amount\":-2",
            "{\"userId\":1,\"amount\":-20000}",
            "{\"userId\":-1,\"amount\":-2}"
        };
        java.util.Map<String, String> expected = java.util.Map.of(
                bad[0], "400 invalid_amount",
                bad[1], "400 invalid_amount",
                bad[2], "400 invalid_amount",
                bad[3], "400 invalid_request",
                bad[4], "400 invalid_request",
                bad[5], "409 insufficient_funds",
                bad[6], "400 invalid_request");
        try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            var answers = new java.util.ArrayList<java.util.concurrent.Future<String>>();
            for (int i = 0; i < 700; i++) {
                String body = bad[i % bad.length];
                answers.add(executor.submit(() -> {
                    var response = post(body);
                    return response.statusCode() + " "
                            + JSON.readTree(response.body()).get("code").asString();
                }));
            }
            for (int i = 0; i < answers.size(); i++) {
                String body = bad[i % bad.length];
                assertThat(answers.get(i).get()).as(body).isEqualTo(expected.get(body));
            }
        }
        assertThat(balance(1)).isEqualByComparingTo(before);
    }

    private static void assertRefusedWithoutChange(String body, int status, String code) {
        BigDecimal before = balance(1);
        assertProblem(post(body), status, code);
        assertThat(balance(1)).as(body).isEqualByComparingTo(before);
    }

    private static JsonNode assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        JsonNode problem = JSON.readTree(response.body());
        assertThat(problem.get("code").asString()).as(response.body()).isEqualTo(code);
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.hasNonNull("type") && problem.hasNonNull("title") && problem.hasNonNull("detail"))
                .isTrue();
        assertThat(response.headers().firstValue("X-Instance-Id")).hasValue("instance-balance");
        return problem;
    }

    private static HttpResponse<String> post(String body) {
        return post(BodyPublishers.ofString(body), "application/json");
    }

    private static HttpResponse<String> post(HttpRequest.BodyPublisher body, String contentType) {
        return app.send(
                TestTokens.bearer(HttpRequest.newBuilder(URI.create(app.url("/balance/update"))), TestTokens.BALANCE)
                        .header("Content-Type", contentType)
                        .POST(body));
    }

    /** Read straight from the table, not through the API under test. */
    private static BigDecimal balance(long userId) {
        try (var c = db.getConnection();
                var st = c.prepareStatement("select balance from users where id = ?")) {
            st.setLong(1, userId);
            try (var rs = st.executeQuery()) {
                return rs.next() ? rs.getBigDecimal(1) : null;
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
