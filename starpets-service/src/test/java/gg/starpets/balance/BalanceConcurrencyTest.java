package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.observability.MetricNames;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two real instances of the service in this JVM, on one fresh database, taking simultaneous requests
 * over real HTTP (A3, A4). A1 and the 10,000-request A5 run against separate processes in
 * {@link BalanceAcceptanceIT}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BalanceConcurrencyTest {

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(tools.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private static final List<AppInstance> instances = new ArrayList<>();
    private static final List<HttpClient> clients = new ArrayList<>();
    private static HikariDataSource db;
    private static ExecutorService virtualThreads;

    @BeforeAll
    static void startTwoInstances() throws Exception {
        String database = TestPostgres.createDatabase();
        CountDownLatch gate = new CountDownLatch(1);
        try (ExecutorService starters = Executors.newFixedThreadPool(2)) {
            List<Future<AppInstance>> started = new ArrayList<>();
            for (String id : List.of("instance-a", "instance-b")) {
                started.add(starters.submit(() -> {
                    gate.await();
                    return AppInstance.start(
                            database, id, Map.of("starpets.scheduler.enabled", "false", "starpets.db.pool-size", 20));
                }));
            }
            gate.countDown();
            for (Future<AppInstance> instance : started) {
                instances.add(instance.get(120, TimeUnit.SECONDS));
            }
        }
        db = TestPostgres.pool(database, 4);
        virtualThreads = Executors.newVirtualThreadPerTaskExecutor();
        for (int i = 0; i < instances.size(); i++) {
            clients.add(HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(30))
                    .executor(virtualThreads)
                    .build());
        }
    }

    @AfterAll
    static void stop() {
        clients.forEach(HttpClient::close);
        instances.forEach(AppInstance::close);
        virtualThreads.close();
        db.close();
    }

    @Test
    @Order(1)
    void theTableItselfRefusesANegativeBalance() {
        assertThatThrownBy(() -> query("update users set balance = -0.01 where id = 1 returning balance"))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("users_balance_not_negative");
    }

    @Test
    @Order(2)
    @Timeout(120)
    void mixedSimultaneousTopUpsAndWithdrawalsEndAtTheInitialBalancePlusTheAcceptedAmountsAndNeverGoNegative()
            throws Exception {
        query("insert into users (id, balance) values (10, 300.00) returning id");
        Random random = new Random(42);
        int count = 4000;
        BigDecimal[] amounts = new BigDecimal[count];
        for (int i = 0; i < count; i++) {
            boolean topUp = random.nextInt(3) == 0;
            int cents = topUp ? 1 + random.nextInt(2000) : 1 + random.nextInt(5000);
            amounts[i] = BigDecimal.valueOf(topUp ? cents : -cents, 2);
        }
        AtomicReference<BigDecimal> lowest = new AtomicReference<>(new BigDecimal("300.00"));
        var poller = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "balance-poller"));
        AtomicReference<Throwable> pollerFailure = new AtomicReference<>();
        poller.scheduleWithFixedDelay(
                () -> {
                    try {
                        BigDecimal now = new BigDecimal(query("select balance from users where id = 10"));
                        lowest.accumulateAndGet(now, BigDecimal::min);
                    } catch (SQLException | RuntimeException e) {
                        pollerFailure.compareAndSet(null, e);
                    }
                },
                0,
                2,
                TimeUnit.MILLISECONDS);
        List<Answer> answers;
        try {
            answers = sendAtOnce(count, i -> "{\"userId\":10,\"amount\":" + amounts[i].toPlainString() + "}");
        } finally {
            poller.shutdown();
            assertThat(poller.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }

        BigDecimal expected = new BigDecimal("300.00");
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < count; i++) {
            Answer a = answers.get(i);
            if (a.status() == 200) {
                expected = expected.add(amounts[i]);
                assertThat(a.balance().signum()).isNotNegative();
                accepted++;
            } else {
                assertThat(a.status() + " " + a.code()).isEqualTo("409 insufficient_funds");
                assertThat(amounts[i].signum())
                        .as("only a withdrawal can be refused")
                        .isNegative();
                refused++;
            }
        }
        assertThat(new BigDecimal(query("select balance from users where id = 10")))
                .isEqualByComparingTo(expected);
        List<Ledger.Row> ledger = Ledger.assertBalanceIsStartPlusLedger(db, 10, new BigDecimal("300.00"));
        assertThat(ledger).hasSize(accepted);
        Ledger.assertAnswersMatchLedger(
                answers.stream()
                        .filter(a -> a.status() == 200)
                        .map(Answer::balance)
                        .toList(),
                ledger);
        assertThat(ledger).extracting(Ledger.Row::instanceId).containsOnly("instance-a", "instance-b");
        assertThat(pollerFailure.get()).isNull();
        assertThat(lowest.get().signum()).isNotNegative();
        assertThat(accepted).isPositive();
        assertThat(refused)
                .as("the amounts are chosen so that some withdrawals find too little")
                .isPositive();
    }

    /**
     * The changes of one user that arrive while a statement for that user runs are applied by the next
     * statement together: 200 withdrawals, the first statement held on the user's row (locked here) while
     * the others arrive, take two statements, and each still gets its own balance.
     */
    @Test
    @Order(3)
    @Timeout(120)
    void changesOfOneUserArrivingWhileAStatementRunsAreAppliedByTheNextOneTogether() throws Exception {
        query("insert into users (id, balance) values (11, 1000.00) returning id");
        AppInstance instance = instances.getFirst();
        ChangeBatcher batcher = instance.context().getBean(ChangeBatcher.class);
        DistributionSummary batches = instance.context()
                .getBean(MeterRegistry.class)
                .get(MetricNames.BALANCE_BATCH_SIZE)
                .summary();
        long batchesBefore = batches.count();
        double changesBefore = batches.totalAmount();
        int count = 200;
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        try (var lock = db.getConnection()) {
            lock.setAutoCommit(false);
            lock.createStatement()
                    .executeQuery("select 1 from users where id = 11 for update")
                    .close();
            for (int i = 0; i < count; i++) {
                answers.add(clients.getFirst()
                        .sendAsync(
                                TestTokens.bearer(
                                                HttpRequest.newBuilder(URI.create(instance.url("/balance/update"))),
                                                TestTokens.BALANCE)
                                        .header("Content-Type", "application/json")
                                        .timeout(Duration.ofSeconds(60))
                                        .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":11,\"amount\":-3}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString()));
            }
            // Every change has arrived: those of the first statement (held on the row; recorded as a
            // batch before it runs, and more than one may have arrived before it started) and the rest.
            await().atMost(Timing.WORK)
                    .until(() -> batches.count() - batchesBefore == 1
                            && batcher.waiting(11) + (batches.totalAmount() - changesBefore) == count);
            lock.commit();
        }
        List<BigDecimal> balances = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> answer : answers) {
            HttpResponse<String> response = answer.get(60, TimeUnit.SECONDS);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            balances.add(answer(response).balance());
        }
        assertThat(batches.count() - batchesBefore).isEqualTo(2);
        assertThat(batches.totalAmount() - changesBefore).isEqualTo(count);
        List<Ledger.Row> ledger = Ledger.assertBalanceIsStartPlusLedger(db, 11, new BigDecimal("1000.00"));
        assertThat(ledger).hasSize(count);
        assertThat(Ledger.balance(db, 11)).isEqualByComparingTo("400.00");
        Ledger.assertAnswersMatchLedger(balances, ledger);
    }

    private record Answer(int status, String code, BigDecimal balance, String instance, String body) {}

    /**
     * Sends {@code count} POSTs released by one latch, alternating between the instances, all in flight
     * at once. Answers are in request order.
     */
    private static List<Answer> sendAtOnce(int count, java.util.function.IntFunction<String> body) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch ready = new CountDownLatch(count);
        Map<Integer, Answer> answers = new ConcurrentHashMap<>();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int index = i;
            int instance = i % instances.size();
            HttpRequest request = HttpRequest.newBuilder(
                            URI.create(instances.get(instance).url("/balance/update")))
                    .header("Authorization", "Bearer " + TestTokens.BALANCE)
                    .header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(body.apply(i)))
                    .build();
            done.add(CompletableFuture.runAsync(
                    () -> {
                        ready.countDown();
                        try {
                            start.await();
                            HttpResponse<String> response =
                                    clients.get(instance).send(request, HttpResponse.BodyHandlers.ofString());
                            answers.put(index, answer(response));
                        } catch (Exception e) {
                            answers.put(index, new Answer(-1, e.toString(), null, null, null));
                        }
                    },
                    virtualThreads));
        }
        ready.await();
        start.countDown();
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(110, TimeUnit.SECONDS);
        List<Answer> ordered = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ordered.add(answers.get(i));
        }
        return ordered;
    }

    private static Answer answer(HttpResponse<String> response) {
        JsonNode json = JSON.readTree(response.body());
        String instance = response.headers().firstValue("X-Instance-Id").orElse(null);
        if (response.statusCode() == 200) {
            return new Answer(200, "ok", json.get("balance").decimalValue(), instance, response.body());
        }
        return new Answer(
                response.statusCode(), json.path("code").asString(response.body()), null, instance, response.body());
    }

    /** One value from the database, as text (so that numerics keep their two places). */
    private static String query(String sql) throws SQLException {
        try (var c = db.getConnection();
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
