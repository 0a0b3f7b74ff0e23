package gg.starpets.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The compose topology run natively (scripts/twin-up.sh): five instances of the real jar started
 * together behind nginx, scraped by Prometheus, on one PostgreSQL 17. Needs nginx and Prometheus
 * binaries, so it runs in CI's end-to-end step, not in the default test run.
 */
@Tag("e2e")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwinEndToEndTest {

    private static final int INSTANCES = 5;
    private static final String NGINX = "http://127.0.0.1:28080";
    private static final String PROMETHEUS = "http://127.0.0.1:29090";
    private static final int POSTGRES_PORT = 25432;
    private static final String DATABASE =
            TestPostgres.withTestSearchPath("jdbc:postgresql://127.0.0.1:" + POSTGRES_PORT + "/starpets");
    private static final Set<String> DEMO_TASKS = Set.of(
            "report-daily-sales",
            "sync-pet-catalog",
            "recalc-leaderboard",
            "expire-trade-offers",
            "send-digest-emails",
            "rebuild-search-index",
            "cleanup-sessions",
            "refresh-price-cache",
            "audit-balances",
            "reconcile-payouts");
    /** The maintenance task beside the demo tasks; switched off here (below). */
    private static final String RETENTION_TASK = "prune-run-history";

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();
    private static Path twinDir;

    @BeforeAll
    static void startTwin() throws Exception {
        // Next to the jar, in the build directory: fresh for every run, kept afterwards (logs/).
        twinDir = Path.of(System.getProperty("starpets.jar")).toAbsolutePath().resolveSibling("e2e-twin");
        run("scripts/twin-down.sh", Duration.ofMinutes(2));
        deleteRecursively(twinDir);
        try {
            run("scripts/twin-up.sh", Timing.START.plus(Duration.ofMinutes(1)));
        } catch (AssertionError | RuntimeException e) {
            // Processes a failed start left on the twin's ports would fail the next twin too.
            try {
                Twin.printLogTails(twinDir);
            } finally {
                run("scripts/twin-down.sh", Duration.ofMinutes(2));
            }
            throw e;
        }
    }

    @AfterAll
    static void stopTwin() throws Exception {
        run("scripts/twin-down.sh", Duration.ofMinutes(2));
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static void run(String script, Duration limit) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", script).inheritIO();
        Map<String, String> env = pb.environment();
        env.put("TWIN_DIR", twinDir.toString());
        env.put("TWIN_INSTANCES", String.valueOf(INSTANCES));
        env.put("TWIN_NGINX_PORT", "28080");
        env.put("TWIN_PG_PORT", String.valueOf(POSTGRES_PORT));
        env.put("TWIN_PROMETHEUS_PORT", "29090");
        env.put("STARPETS_JAR", System.getProperty("starpets.jar"));
        env.put("TASK_DURATION", "25s");
        // A run of milliseconds among the 25 s demo runs would make the first split uneven (B7 below).
        env.put("HISTORY_RETENTION_ENABLED", "false");
        // With TOTAL_INSTANCES (twin-up.sh sets it) the first claim waits for all five instances, at
        // most ten settle windows: as long as five JVMs may take to start on a loaded machine, so that
        // the first split is even however their starts spread. It ends as soon as all five are alive.
        env.put("SCHEDULER_SETTLE", Timing.START.dividedBy(10).toSeconds() + "s");
        env.put("SHUTDOWN_GRACE", "2s");
        // The A5 burst queues ~2,000 requests on each instance's 20 pooled connections; on a 2-core
        // machine shared with builds it can take a minute or more to drain (see docs/operations.md).
        env.put("DB_CONNECTION_TIMEOUT", "100s");
        env.put("TWIN_STOP_SECONDS", "20");
        env.put("TWIN_START_SECONDS", String.valueOf(Timing.START.toSeconds()));
        // The client compiler only, as the console's twins (Twin) and the jar ITs (AppProcess) run,
        // the A5 burst (BalanceAcceptanceIT) and the failover target (ProcessFailoverIT) included:
        // five JVMs start on two cores in less time when no C2 compiles compete with them.
        env.put("TWIN_JAVA_OPTS", "-XX:TieredStopAtLevel=1");
        env.putAll(Twin.tokens());
        Process p = pb.start();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(script + " did not finish within " + limit);
        }
        assertThat(p.exitValue()).as(script).isZero();
    }

    /** A GET; to the service (not Prometheus), with the token of a reader of that path. */
    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (!url.startsWith(PROMETHEUS)) {
            request.header(
                    "Authorization", "Bearer " + Twin.readerOf(URI.create(url).getPath()));
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(String url) throws IOException, InterruptedException {
        return JSON.readTree(get(url).body());
    }

    /** The demo tasks as /tasks lists them. */
    private static List<JsonNode> tasks() throws IOException, InterruptedException {
        return allTasks().stream()
                .filter(t -> DEMO_TASKS.contains(t.get("name").asString()))
                .toList();
    }

    private static List<JsonNode> allTasks() throws IOException, InterruptedException {
        return StreamSupport.stream(json(NGINX + "/tasks").get("tasks").spliterator(), false)
                .toList();
    }

    @Test
    @Order(1)
    void requestsThroughNginxReachEveryInstance() throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50 && seen.size() < INSTANCES; i++) {
            HttpResponse<String> health = get(NGINX + "/health");
            assertThat(health.statusCode()).isEqualTo(200);
            health.headers().firstValue("X-Instance-Id").ifPresent(seen::add);
        }
        assertThat(seen).containsExactlyInAnyOrder("app-1", "app-2", "app-3", "app-4", "app-5");
        // Closed as shipped: through nginx, nothing but health answers without a token.
        for (String path : List.of("/tasks", "/metrics", "/instances", "/balance/1", "/v3/api-docs")) {
            HttpResponse<String> anonymous = HTTP.send(
                    HttpRequest.newBuilder(URI.create(NGINX + path))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).as(path).isEqualTo(401);
        }
    }

    @Test
    @Order(2)
    void tasksListsEveryDemoTaskAndInstancesStartedTogetherSplitThemEvenly() throws Exception {
        await().atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .until(() -> tasks().stream()
                        .allMatch(t -> t.get("state").asString().equals("RUNNING") || t.hasNonNull("lastRun")));
        List<JsonNode> tasks = tasks();
        assertThat(allTasks().stream().map(t -> t.get("name").asString()))
                .containsExactlyInAnyOrderElementsOf(
                        java.util.stream.Stream.concat(DEMO_TASKS.stream(), java.util.stream.Stream.of(RETENTION_TASK))
                                .toList());
        for (JsonNode t : tasks) {
            if (t.get("state").asString().equals("RUNNING")) {
                assertThat(t.get("instanceId").asString()).startsWith("app-");
                assertThat(t.get("elapsedSeconds").asDouble()).isGreaterThanOrEqualTo(0);
            }
        }
        // B7: the first run of every task, by instance — exactly two each.
        JsonNode runs = json(NGINX + "/runs?limit=500").get("runs");
        Map<String, Long> firstRunsByInstance = StreamSupport.stream(runs.spliterator(), false)
                .collect(Collectors.groupingBy(
                        r -> r.get("task").asString(),
                        Collectors.minBy((a, b) ->
                                Long.compare(a.get("id").asLong(), b.get("id").asLong()))))
                .values()
                .stream()
                .map(r -> r.orElseThrow().get("instanceId").asString())
                .collect(Collectors.groupingBy(i -> i, Collectors.counting()));
        assertThat(firstRunsByInstance)
                .hasSize(INSTANCES)
                .allSatisfy((instance, n) -> assertThat(n).isEqualTo(2));

        // B9: once a run ends, its task is still listed, waiting, with the time of its next run.
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
            List<JsonNode> now = tasks();
            List<JsonNode> waiting = now.stream()
                    .filter(t -> t.get("state").asString().equals("WAITING"))
                    .toList();
            return now.size() == DEMO_TASKS.size()
                    && !waiting.isEmpty()
                    && waiting.stream()
                            .allMatch(t -> t.hasNonNull("nextRunAt")
                                    && t.get("instanceId").isNull())
                    && now.stream()
                            .filter(t -> t.get("state").asString().equals("RUNNING"))
                            .allMatch(t -> t.get("instanceId").asString().startsWith("app-")
                                    && t.get("elapsedSeconds").asDouble() >= 0);
        });
    }

    @Test
    @Order(3)
    void prometheusScrapesEveryInstanceAndCountsTheRunningTasks() throws Exception {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            JsonNode targets = json(PROMETHEUS + "/api/v1/targets").get("data").get("activeTargets");
            return targets.size() == INSTANCES
                    && StreamSupport.stream(targets.spliterator(), false)
                            .allMatch(t -> t.get("health").asString().equals("up"));
        });
        // Scrapes lag the API: wait until one scrape agrees with /tasks.
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            long running = tasks().stream()
                    .filter(t -> t.get("state").asString().equals("RUNNING"))
                    .count();
            JsonNode result = json(PROMETHEUS + "/api/v1/query?query=sum(app_active_tasks_total)")
                    .get("data")
                    .get("result");
            return result.size() == 1
                    && result.get(0).get("value").get(1).asString().equals(String.valueOf(running));
        });
    }

    @Test
    @Order(4)
    void tenThousandSimultaneousWithdrawalsThroughNginxGiveExactlyFiveThousandOfEach() throws Exception {
        int requests = 10_000;
        // All 10,000 in flight at once: nginx takes every connection and spreads them over the instances.
        CountDownLatch ready = new CountDownLatch(requests);
        CountDownLatch start = new CountDownLatch(1);
        Map<String, Integer> outcomes = new ConcurrentHashMap<>();
        // One client for the burst. 10,000 connections opened in the same instant queue in the
        // kernel (somaxconn caps any listen backlog, 4096 here): like a browser's, the client waits
        // for its connection up to a minute rather than the 5 s used elsewhere.
        HttpClient burst = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(60))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        List<Thread> threads = new ArrayList<>(requests);
        long[] latencyMs = new long[requests];
        for (int i = 0; i < requests; i++) {
            int index = i;
            threads.add(Thread.ofVirtual().start(() -> {
                ready.countDown();
                try {
                    start.await();
                    long sent = System.nanoTime();
                    HttpResponse<String> r = burst.send(
                            HttpRequest.newBuilder(URI.create(NGINX + "/balance/update"))
                                    .header("Authorization", "Bearer " + Twin.BALANCE_TOKEN)
                                    .timeout(Duration.ofSeconds(180))
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":1,\"amount\":-2}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
                    String key = r.statusCode() == 409
                            ? "409 " + JSON.readTree(r.body()).get("code").asString()
                            : String.valueOf(r.statusCode());
                    outcomes.merge(key, 1, Integer::sum);
                    latencyMs[index] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
                } catch (Exception e) {
                    outcomes.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1, Integer::sum);
                }
            }));
        }
        assertThat(ready.await(60, TimeUnit.SECONDS)).isTrue();
        long began = System.nanoTime();
        start.countDown();
        long deadline = began + TimeUnit.MINUTES.toNanos(4);
        for (Thread t : threads) {
            t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        }
        burst.shutdownNow();
        long[] sorted = latencyMs.clone();
        Arrays.sort(sorted);
        System.out.printf(
                "A5 through nginx: %d requests in %d ms (latency p50 %d ms, p99 %d ms, max %d ms): %s%n",
                requests,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began),
                sorted[requests / 2],
                sorted[requests * 99 / 100],
                sorted[requests - 1],
                outcomes);

        assertThat(outcomes).containsExactlyInAnyOrderEntriesOf(Map.of("200", 5_000, "409 insufficient_funds", 5_000));
        assertThat(json(NGINX + "/balance/1").get("balance").asDouble()).isZero();
    }

    @Test
    @Order(5)
    void whenAnInstanceIsKilledItsTasksRunElsewhereWithinTheFailoverTargetAndNginxKeepsAnswering() throws Exception {
        String victim = "app-3";
        // A moment when the victim runs tasks none of which is about to end by itself (runs last
        // TASK_DURATION = 25 s), so that each of them must be recovered by another instance.
        AtomicReference<Set<String>> running = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(120)).ignoreExceptions().until(() -> {
            List<JsonNode> mine = tasks().stream()
                    .filter(t -> victim.equals(t.get("instanceId").asString(null)))
                    .toList();
            running.set(mine.stream().map(t -> t.get("name").asString()).collect(Collectors.toSet()));
            return !mine.isEmpty()
                    && mine.stream().allMatch(t -> t.get("elapsedSeconds").asDouble() < 15);
        });
        Set<String> victimTasks = running.get();

        AtomicBoolean watching = new AtomicBoolean(true);
        Map<Integer, Integer> healthCodes = new ConcurrentHashMap<>();
        Thread watcher = Thread.ofVirtual().start(() -> {
            for (int i = 0; i < 2_000 && watching.get(); i++) {
                try {
                    healthCodes.merge(get(NGINX + "/health").statusCode(), 1, Integer::sum);
                } catch (Exception e) {
                    healthCodes.merge(-1, 1, Integer::sum);
                }
            }
        });

        Path pidFile = twinDir.resolve("pids/" + victim + ".pid");
        ProcessHandle process = ProcessHandle.of(
                        Long.parseLong(Files.readString(pidFile).strip()))
                .orElseThrow();
        // Still the instance twin-up.sh started (its command line names the twin), not a reused pid.
        assertThat(process.info().arguments().map(List::of).orElseThrow())
                .contains("-Dstarpets.twin=" + twinDir.toRealPath());
        List<Failover> failovers;
        try (Connection db = DriverManager.getConnection(DATABASE, "postgres", "postgres")) {
            // Kill to next start, both on the database clock (like bench/FailoverBenchmark); the
            // clock is read just before the kill, so the measure can only err on the long side.
            double killedAt = databaseClock(db);
            process.destroyForcibly();
            process.onExit().get(10, TimeUnit.SECONDS);
            // Gone for good: scripts/twin-down.sh must not signal this pid, which may be reused.
            Files.delete(pidFile);
            // Whatever the victim ran at the kill (read now, so a task it claimed after the
            // snapshot above counts too): each run ended LOST, and its task started elsewhere.
            await().atMost(Timing.SOON)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> failovers(db, victim, killedAt) != null);
            failovers = failovers(db, victim, killedAt);
        }
        // The API agrees: none of those tasks is listed as the victim's any more.
        await().atMost(Timing.SOON)
                .ignoreExceptions()
                .until(() -> tasks().stream()
                        .filter(t -> victim.equals(t.get("instanceId").asString(null)))
                        .findAny()
                        .isEmpty());
        watching.set(false);
        watcher.join(Duration.ofSeconds(30));

        System.out.printf("failover after SIGKILL of %s: %s%n", victim, failovers);
        assertThat(failovers.stream().map(Failover::task)).containsAll(victimTasks);
        for (Failover f : failovers) {
            assertThat(f.error()).as(f.task()).contains("instance " + victim + " is gone");
            assertThat(f.nextInstance()).as(f.task()).isNotEqualTo(victim);
            // The failover target (README: p99 <= 2 s after a SIGKILL).
            assertThat(f.seconds()).as(f.task()).isLessThanOrEqualTo(2.0);
        }
        // The watcher sends one request at a time, so at most one can be in flight on the victim at the
        // kill: if the victim had begun its answer, nginx has passed the headers on and cannot retry
        // (the client sees the connection cut). Every other request is answered 200 by a survivor.
        assertThat(healthCodes.keySet()).as("answers").isSubsetOf(200, -1);
        assertThat(healthCodes.getOrDefault(-1, 0))
                .as("requests cut by the kill")
                .isLessThanOrEqualTo(1);
        assertThat(healthCodes.getOrDefault(200, 0)).as("200 answers").isPositive();
    }

    /** A run of the killed instance that ended LOST, and the next run of its task. */
    record Failover(String task, String error, String nextInstance, double seconds) {}

    /**
     * The victim's runs lost at the kill and the next start of each of their tasks, once every run
     * it had in progress has ended and been started again; null until then.
     */
    private static List<Failover> failovers(Connection db, String victim, double killedAt) throws SQLException {
        try (PreparedStatement pending =
                db.prepareStatement("select count(*) from task_runs r where r.instance_id = ? and (r.status = 'RUNNING'"
                        + " or (r.status = 'LOST' and not exists"
                        + " (select 1 from task_runs n where n.task_id = r.task_id and n.id > r.id)))")) {
            pending.setString(1, victim);
            try (ResultSet rs = pending.executeQuery()) {
                rs.next();
                if (rs.getLong(1) > 0) {
                    return null;
                }
            }
        }
        List<Failover> result = new ArrayList<>();
        try (PreparedStatement lost =
                db.prepareStatement("select r.task_name, r.error, n.instance_id, extract(epoch from n.started_at) - ?"
                        + " from task_runs r cross join lateral (select * from task_runs n"
                        + " where n.task_id = r.task_id and n.id > r.id order by n.id limit 1) n"
                        + " where r.instance_id = ? and r.status = 'LOST'"
                        + " and extract(epoch from r.finished_at) >= ? order by r.id")) {
            lost.setDouble(1, killedAt);
            lost.setString(2, victim);
            lost.setDouble(3, killedAt);
            try (ResultSet rs = lost.executeQuery()) {
                while (rs.next()) {
                    result.add(new Failover(rs.getString(1), rs.getString(2), rs.getString(3), rs.getDouble(4)));
                }
            }
        }
        return result.isEmpty() ? null : result;
    }

    private static double databaseClock(Connection db) throws SQLException {
        try (PreparedStatement clock = db.prepareStatement("select extract(epoch from clock_timestamp())");
                ResultSet rs = clock.executeQuery()) {
            rs.next();
            return rs.getDouble(1);
        }
    }
}
