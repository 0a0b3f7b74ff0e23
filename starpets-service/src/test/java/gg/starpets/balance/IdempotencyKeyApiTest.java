package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code Idempotency-Key} on {@code POST /balance/update}, over real HTTP, two instances on one database. */
class IdempotencyKeyApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final AtomicLong USERS = new AtomicLong(1000);
    /** A second balance client beside TestTokens.BALANCE ("test-balance"). */
    private static final String OTHER_CLIENT = "other-shop-balance-token-01";

    private static AppInstance instanceA;
    private static AppInstance instanceB;
    private static HikariDataSource db;

    @BeforeAll
    static void start() {
        String database = TestPostgres.createDatabase();
        Map<String, Object> props = Map.of(
                "starpets.scheduler.enabled",
                "false",
                "starpets.security.balance-tokens",
                TestTokens.BALANCE_NAME + ":" + TestTokens.BALANCE + ",other-shop:" + OTHER_CLIENT);
        instanceA = AppInstance.start(database, "instance-a", props);
        instanceB = AppInstance.start(database, "instance-b", props);
        db = TestPostgres.pool(database, 4);
    }

    @AfterAll
    static void stop() {
        instanceA.close();
        instanceB.close();
        db.close();
    }

    @Test
    void theSameKeyAndBodyGiveTheFirstAnswerAgainAndChangeNothing() {
        long user = newUser("50.00");
        String key = UUID.randomUUID().toString();
        HttpResponse<String> first = post(instanceA, key, user, "-20");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).isEqualTo("{\"userId\":" + user + ",\"balance\":30.00}");
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();

        for (AppInstance instance : List.of(instanceA, instanceB, instanceA)) {
            HttpResponse<String> again = post(instance, key, user, "-20.00");
            assertThat(again.statusCode()).isEqualTo(200);
            assertThat(again.body()).isEqualTo(first.body());
            assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        }
        List<Ledger.Row> rows = Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00"));
        assertThat(rows).singleElement().satisfies(r -> {
            assertThat(r.idempotencyKey()).isEqualTo(key);
            assertThat(r.instanceId()).isEqualTo("instance-a");
        });
    }

    @Test
    void aRefusalIsTheFirstAnswerTooAndIsGivenAgainAfterTheBalanceWouldSuffice() {
        long user = newUser("5.00");
        String key = UUID.randomUUID().toString();
        HttpResponse<String> first = post(instanceA, key, user, "-8");
        assertProblem(first, 409, "insufficient_funds");
        assertThat(post(instanceB, null, user, "10").statusCode()).isEqualTo(200);

        HttpResponse<String> again = post(instanceB, key, user, "-8");
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(again.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("5.00")))
                .extracting(Ledger.Row::idempotencyKey)
                .containsExactly((String) null);

        String unknownUserKey = UUID.randomUUID().toString();
        HttpResponse<String> notFound = post(instanceA, unknownUserKey, 987_654, "-1");
        assertProblem(notFound, 404, "user_not_found");
        assertThat(post(instanceB, unknownUserKey, 987_654, "-1").body()).isEqualTo(notFound.body());
    }

    @Test
    void theSameKeyWithAnotherBodyIsUnprocessableAndChangesNothing() {
        long user = newUser("50.00");
        long other = newUser("50.00");
        String key = UUID.randomUUID().toString();
        assertThat(post(instanceA, key, user, "-20").statusCode()).isEqualTo(200);

        assertProblem(post(instanceA, key, user, "-21"), 422, "idempotency_key_reused");
        assertProblem(post(instanceB, key, user, "20"), 422, "idempotency_key_reused");
        assertProblem(post(instanceB, key, other, "-20"), 422, "idempotency_key_reused");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00")))
                .hasSize(1);
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, other, new BigDecimal("50.00")))
                .isEmpty();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 256, 1000})
    void aKeyEmptyOrOver255CharactersIsABadRequestAndChangesNothing(int length) {
        long user = newUser("50.00");
        assertProblem(post(instanceA, "k".repeat(length), user, "-1"), 400, "invalid_idempotency_key");
        assertThat(Ledger.balance(db, user)).isEqualByComparingTo("50.00");
    }

    @Test
    void aKeyOf255CharactersIsFineAndAKeySentTwiceOrNotAsciiIsNot() throws IOException {
        long user = newUser("50.00");
        assertThat(post(instanceA, "k".repeat(255), user, "-1").statusCode()).isEqualTo(200);
        // Written as bytes: an HTTP client library would turn these into '?' or refuse to send them.
        assertThat(rawPost(instanceA, "Idempotency-Key: cl\u00e9\r\n", body(user, "-1")))
                .startsWith("HTTP/1.1 400 ")
                .contains("\"code\":\"invalid_idempotency_key\"");
        assertProblem(post(instanceA, "one, two", user, "-1"), 400, "invalid_idempotency_key");
        String twice = rawPost(instanceA, "Idempotency-Key: one\r\nIdempotency-Key: two\r\n", body(user, "-1"));
        assertThat(twice).startsWith("HTTP/1.1 400 ").contains("\"code\":\"invalid_idempotency_key\"");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00")))
                .hasSize(1);
    }

    @Test
    @Timeout(60)
    void aRequestStillInProgressUnderTheKeyIsAConflictOnEitherInstance() throws Exception {
        long user = newUser("50.00");
        String key = UUID.randomUUID().toString();
        Future<HttpResponse<String>> first;
        // The lock is closed (rolled back) first, so a failed assertion never leaves the request waiting.
        try (var executor = Executors.newVirtualThreadPerTaskExecutor();
                Connection lock = lockUser(user)) {
            first = executor.submit(() -> post(instanceA, key, user, "-20"));
            awaitWaitingOnTheUserRow("instance-a");

            for (AppInstance instance : List.of(instanceB, instanceA)) {
                HttpResponse<String> busy = post(instance, key, user, "-20");
                assertProblem(busy, 409, "idempotency_key_in_progress");
                assertThat(busy.headers().firstValue("Retry-After")).hasValue("1");
            }
            lock.commit();
            assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> again = post(instanceB, key, user, "-20");
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(again.body()).isEqualTo(first.get().body());
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00")))
                .hasSize(1);
    }

    @Test
    @Timeout(60)
    void concurrentRetriesOfOneKeyOnTwoInstancesChargeOnceAndAgreeOnTheAnswer() throws Exception {
        long user = newUser("1000.00");
        String key = UUID.randomUUID().toString();
        int count = 40;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<HttpResponse<String>>> answers = new ArrayList<>();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                AppInstance instance = i % 2 == 0 ? instanceA : instanceB;
                answers.add(executor.submit(() -> {
                    start.await();
                    return post(instance, key, user, "-7");
                }));
            }
            start.countDown();
            int ok = 0;
            for (Future<HttpResponse<String>> answer : answers) {
                HttpResponse<String> response = answer.get(30, TimeUnit.SECONDS);
                if (response.statusCode() == 200) {
                    assertThat(response.body()).isEqualTo("{\"userId\":" + user + ",\"balance\":993.00}");
                    ok++;
                } else {
                    assertProblem(response, 409, "idempotency_key_in_progress");
                }
            }
            assertThat(ok).isPositive();
        }
        assertThat(post(instanceA, key, user, "-7").body()).isEqualTo("{\"userId\":" + user + ",\"balance\":993.00}");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("1000.00")))
                .singleElement()
                .extracting(Ledger.Row::idempotencyKey)
                .isEqualTo(key);
    }

    /**
     * The answer is lost after the commit: the client closes its socket right after sending, while the
     * change waits for the user's row; the change is then committed with nobody to answer. A retry with
     * the key gets the original answer, and the user is charged once.
     */
    @Test
    @Timeout(60)
    void aRetryAfterTheAnswerWasLostGetsTheOriginalAnswerAndChargesOnce() throws Exception {
        long user = newUser("50.00");
        String key = UUID.randomUUID().toString();
        try (Connection lock = lockUser(user)) {
            URI uri = URI.create(instanceA.url("/balance/update"));
            byte[] body = body(user, "-20").getBytes(StandardCharsets.UTF_8);
            try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /balance/update HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                + "Authorization: Bearer " + TestTokens.BALANCE + "\r\n"
                                + "Content-Type: application/json\r\nIdempotency-Key: " + key + "\r\n"
                                + "Content-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            }
            awaitWaitingOnTheUserRow("instance-a");
            lock.commit();
        }
        await().atMost(Timing.SOON).until(() -> !Ledger.rows(db, user).isEmpty());

        HttpResponse<String> retry = post(instanceB, key, user, "-20");
        assertThat(retry.statusCode()).isEqualTo(200);
        assertThat(retry.body()).isEqualTo("{\"userId\":" + user + ",\"balance\":30.00}");
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00")))
                .singleElement()
                .satisfies(r -> {
                    assertThat(r.idempotencyKey()).isEqualTo(key);
                    assertThat(r.balanceAfter()).isEqualByComparingTo("30.00");
                });
    }

    @Test
    void aKeyIsTheClientsOwnAnotherClientCanNeitherTakeItNorReadItsAnswer() {
        long user = newUser("50.00");
        assertThat(post(instanceA, "order-7", user, "-20").body())
                .isEqualTo("{\"userId\":" + user + ",\"balance\":30.00}");
        // The other client, the same key on either instance, another body: a change of its own.
        HttpResponse<String> other = post(instanceB, OTHER_CLIENT, "order-7", user, "-5");
        assertThat(other.statusCode()).isEqualTo(200);
        assertThat(other.body()).isEqualTo("{\"userId\":" + user + ",\"balance\":25.00}");
        assertThat(other.headers().firstValue("Idempotent-Replayed")).isEmpty();
        // Each client's retry gets its own first answer.
        assertThat(post(instanceB, "order-7", user, "-20").body())
                .isEqualTo("{\"userId\":" + user + ",\"balance\":30.00}");
        assertThat(post(instanceA, OTHER_CLIENT, "order-7", user, "-5").body())
                .isEqualTo("{\"userId\":" + user + ",\"balance\":25.00}");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00")))
                .hasSize(2);
    }

    @Test
    void aKeyedRequestForAUserThatDoesNotExistIsRefusedEachTimeAndLeavesNoKey() {
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> response = post(instanceA, "nobody-1", 999_999_999, "-1");
            assertProblem(response, 404, "user_not_found");
            assertThat(response.headers().firstValue("Idempotent-Replayed")).isEmpty();
        }
        try (var c = db.getConnection();
                var rs = c.createStatement()
                        .executeQuery("select count(*) from balance_idempotency_keys where key like '%nobody-1'")) {
            rs.next();
            assertThat(rs.getLong(1)).isZero();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void withoutAKeyEveryRequestIsAChangeOfItsOwn() {
        long user = newUser("50.00");
        assertThat(post(instanceA, null, user, "-20").body()).isEqualTo("{\"userId\":" + user + ",\"balance\":30.00}");
        assertThat(post(instanceA, null, user, "-20").body()).isEqualTo("{\"userId\":" + user + ",\"balance\":10.00}");
        assertProblem(post(instanceB, null, user, "-20"), 409, "insufficient_funds");
        assertThat(Ledger.assertBalanceIsStartPlusLedger(db, user, new BigDecimal("50.00")))
                .extracting(Ledger.Row::idempotencyKey)
                .containsExactly(null, null);
    }

    /** An open transaction holding the user's row, so that changes of that user wait. */
    private static Connection lockUser(long user) throws SQLException {
        Connection c = db.getConnection();
        c.setAutoCommit(false);
        try (var st = c.prepareStatement("select 1 from users where id = ? for update")) {
            st.setLong(1, user);
            st.executeQuery().close();
        }
        return c;
    }

    private static void awaitWaitingOnTheUserRow(String instanceId) {
        await().atMost(Timing.SOON)
                .until(() -> count("select count(*) from pg_stat_activity where application_name = 'starpets-"
                                + instanceId + "' and wait_event_type = 'Lock'")
                        == 1);
    }

    /** The whole answer to a request written byte by byte, for what an HTTP client library would not send. */
    private static String rawPost(AppInstance instance, String extraHeaders, String body) throws IOException {
        URI uri = URI.create(instance.url("/"));
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream()
                    .write(("POST /balance/update HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                    + "Authorization: Bearer " + TestTokens.BALANCE + "\r\n"
                                    + "Content-Type: application/json\r\n" + extraHeaders
                                    + "Content-Length: " + bytes.length + "\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().write(bytes);
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static HttpResponse<String> post(AppInstance instance, String key, long user, String amount) {
        return post(instance, TestTokens.BALANCE, key, user, amount);
    }

    private static HttpResponse<String> post(AppInstance instance, String token, String key, long user, String amount) {
        HttpRequest.Builder request = TestTokens.bearer(
                        HttpRequest.newBuilder(URI.create(instance.url("/balance/update"))), token)
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString(body(user, amount)));
        if (key != null) {
            request.header("Idempotency-Key", key);
        }
        return instance.send(request);
    }

    private static String body(long user, String amount) {
        return "{\"userId\":" + user + ",\"amount\":" + amount + "}";
    }

    private static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        JsonNode problem = JSON.readTree(response.body());
        assertThat(problem.get("code").asString()).isEqualTo(code);
        assertThat(problem.get("status").asInt()).isEqualTo(status);
    }

    private static long newUser(String balance) {
        long id = USERS.incrementAndGet();
        try (var c = db.getConnection();
                var st = c.createStatement()) {
            st.execute("insert into users (id, balance) values (" + id + ", " + balance + ")");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return id;
    }

    private static long count(String sql) {
        try (var c = db.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
