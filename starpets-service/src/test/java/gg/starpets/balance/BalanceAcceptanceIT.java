package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.SecondJarLane;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A1 and A5 against three instances of the real jar, each its own process, started at the same moment
 * on one fresh database: all 10,000 withdrawals are in flight at once (the instances hold the server
 * side of the connections, this JVM only the client side).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@SecondJarLane
class BalanceAcceptanceIT {

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();
    private static final List<AppProcess> instances = new ArrayList<>();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static String database;

    @BeforeAll
    static void startThreeInstancesAtOnce() throws Exception {
        database = TestPostgres.createDatabase();
        for (String id : List.of("instance-a", "instance-b", "instance-c")) {
            Map<String, Object> settings = AppProcess.databaseSettings(database);
            settings.put("starpets.scheduler.enabled", "false");
            settings.put("starpets.db.pool-size", 20);
            instances.add(AppProcess.start(id, settings));
        }
        for (AppProcess instance : instances) {
            await().ignoreExceptions()
                    .atMost(Timing.START)
                    .until(() -> get(instance.url("/health")).statusCode() == 200);
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        for (AppProcess instance : instances) {
            instance.close();
        }
    }

    @Test
    @Order(1)
    void threeInstancesMigratingAtOnceCreateUserOneWithTenThousandExactlyOnce() throws Exception {
        try (var db = TestPostgres.pool(database, 1);
                var c = db.getConnection();
                var rs = c.createStatement().executeQuery("select count(*), min(balance)::text, max(id) from users")) {
            rs.next();
            assertThat(rs.getLong(1)).isOne();
            assertThat(rs.getString(2)).isEqualTo("10000.00");
            assertThat(rs.getLong(3)).isOne();
        }
        for (AppProcess instance : instances) {
            assertThat(get(instance.url("/balance/1")).body()).isEqualTo("{\"userId\":1,\"balance\":10000.00}");
        }
    }

    /** A5: 10,000 withdrawals of 2 from 10,000, released together by one latch, spread over three instances. */
    @Test
    @Order(2)
    @Timeout(240)
    void tenThousandWithdrawalsOfTwoInFlightAtOnceGiveExactlyFiveThousandSuccessesAndFiveThousandInsufficientFunds()
            throws Exception {
        int requests = 10_000;
        CountDownLatch ready = new CountDownLatch(requests);
        CountDownLatch start = new CountDownLatch(1);
        Map<String, Integer> outcomes = new ConcurrentHashMap<>();
        Map<String, Integer> byInstance = new ConcurrentHashMap<>();
        List<BigDecimal> balancesAnswered = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> senders = new ArrayList<>(requests);
        // 10,000 connections opened in one instant queue in the kernel (its listen backlog is capped,
        // at 4096 here); a client waits for its connection up to a minute, as a browser would.
        try (ExecutorService clientThreads = Executors.newVirtualThreadPerTaskExecutor();
                HttpClient burst = HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(60))
                        .executor(clientThreads)
                        .build()) {
            for (int i = 0; i < requests; i++) {
                AppProcess instance = instances.get(i % instances.size());
                HttpRequest request = TestTokens.bearer(
                                HttpRequest.newBuilder(URI.create(instance.url("/balance/update"))), TestTokens.BALANCE)
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(120))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":1,\"amount\":-2}"))
                        .build();
                senders.add(Thread.ofVirtual().start(() -> {
                    ready.countDown();
                    try {
                        start.await();
                        HttpResponse<String> r = burst.send(request, HttpResponse.BodyHandlers.ofString());
                        JsonNode body = JSON.readTree(r.body());
                        String outcome = r.statusCode() == 200
                                ? "200"
                                : r.statusCode() + " " + body.path("code").asString();
                        outcomes.merge(outcome, 1, Integer::sum);
                        r.headers().firstValue("X-Instance-Id").ifPresent(id -> byInstance.merge(id, 1, Integer::sum));
                        if (r.statusCode() == 200) {
                            balancesAnswered.add(body.get("balance").decimalValue());
                        }
                    } catch (Exception e) {
                        outcomes.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1, Integer::sum);
                    }
                }));
            }
            assertThat(ready.await(60, TimeUnit.SECONDS)).isTrue();
            start.countDown();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            for (Thread sender : senders) {
                sender.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            }
        }

        // Nothing else: no 5xx, no refused connection, no timeout.
        assertThat(new TreeMap<>(outcomes))
                .containsExactlyInAnyOrderEntriesOf(Map.of("200", 5_000, "409 insufficient_funds", 5_000));
        assertThat(get(instances.getFirst().url("/balance/1")).body()).isEqualTo("{\"userId\":1,\"balance\":0.00}");
        // No lost update: the successes saw every balance from 9998 down to 0, each exactly once.
        assertThat(balancesAnswered.stream().map(BigDecimal::intValueExact).distinct())
                .hasSize(5_000)
                .allMatch(b -> b >= 0 && b <= 9_998 && b % 2 == 0);
        assertThat(byInstance).containsOnlyKeys("instance-a", "instance-b", "instance-c");
        assertThat(byInstance.values()).allMatch(n -> n > 3_000);

        // Every answer matches the ledger: one row per success, its balance after the one answered.
        try (var db = TestPostgres.pool(database, 1)) {
            List<Ledger.Row> ledger = Ledger.assertBalanceIsStartPlusLedger(db, 1, new BigDecimal("10000.00"));
            assertThat(ledger).hasSize(5_000).allMatch(r -> r.amount().compareTo(new BigDecimal("-2")) == 0);
            Ledger.assertAnswersMatchLedger(balancesAnswered, ledger);
            assertThat(ledger)
                    .extracting(Ledger.Row::instanceId)
                    .containsOnly("instance-a", "instance-b", "instance-c");
        }
        // Through the batching path on every instance: far fewer statements than requests.
        long statements = 0;
        for (AppProcess instance : instances) {
            String metrics = get(instance.url("/metrics")).body();
            long count = metrics.lines()
                    .filter(l -> l.startsWith("starpets_balance_batch_size_count"))
                    .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                    .sum();
            assertThat(count).as(instance.instanceId() + " applied changes").isPositive();
            statements += count;
        }
        System.out.printf("A5: 10,000 changes applied by %d batch statements over 3 instances%n", statements);
        assertThat(statements).isLessThan(requests / 2);
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(
                TestTokens.bearer(
                                HttpRequest.newBuilder(URI.create(url)),
                                TestTokens.readerOf(URI.create(url).getPath()))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
