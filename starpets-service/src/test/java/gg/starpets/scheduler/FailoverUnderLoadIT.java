package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.Burst;
import gg.starpets.support.JarCluster;
import gg.starpets.support.TestTokens;
import gg.starpets.support.Timing;
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
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Issue 10, item 9: HTTP load cannot starve the scheduler. Three instances of the real jar share a
 * 10,000-request burst; on each, every connection of the service's pool is held by a withdrawal
 * waiting on a user row this test keeps locked (a slow database, as HTTP sees it), so the rest of the
 * burst queues for a connection. Then the instance running a long task is SIGKILLed.
 *
 * <p>What breaks this test: the scheduler taking its connections from the service's pool (claims and
 * recovery then wait behind the requests: no failover and no claim until the rows are released, so
 * the failover wait times out); a survivor ending out of memory (its requests then fail with
 * connection errors); any answer other than 200 or a 503 {@code overloaded}.
 *
 * <p>Alone ({@code @Isolated}): its burst is the load it judges the scheduler under, and another jar
 * test's processes beside it (CI run 56) slowed the pools' reconnects past its checks of that load.
 */
@Isolated
class FailoverUnderLoadIT {

    private static final int REQUESTS = 10_000;
    private static final int TICKS = 4;
    private static final int SERVICE_POOL = 2;
    /** The crash failover target, as in {@link ProcessFailoverIT}. */
    private static final Duration FAILOVER_TARGET = Duration.ofSeconds(5);
    /**
     * How long the rows stay locked after every service connection waits on them: a scheduler that
     * needed a service connection would claim nothing for all that time. Well under the service
     * pool's 30 s socket timeout, which would end the first withdrawals' wait.
     */
    private static final Duration HOLD = Duration.ofSeconds(15);
    /**
     * The longest stretch of the burst allowed without a claim: short of the hold, so a starved
     * scheduler cannot pass, yet a loaded machine can (6.1 s was seen at load 23, other builds running).
     */
    private static final Duration LONGEST_GAP = Duration.ofSeconds(10);

    private static final Set<String> SERVED = Set.of("200", "409 insufficient_funds", "503 overloaded, Retry-After 1");

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final JarCluster cluster = new JarCluster();

    @AfterEach
    void tearDown() throws InterruptedException {
        cluster.close();
        http.close();
    }

    private AppProcess start(String instanceId) throws Exception {
        Map<String, Object> settings = cluster.settings();
        // Requests wait for a service connection (a 503 database_unavailable only after this timeout).
        settings.put("starpets.db.pool-size", SERVICE_POOL);
        settings.put("starpets.db.connection-timeout", "90s");
        settings.put("starpets.scheduler.settle", "200ms");
        settings.put("starpets.scheduler.heartbeat", "500ms");
        settings.put("starpets.scheduler.lease", "6s");
        settings.put("starpets.tasks[0].name", "long");
        settings.put("starpets.tasks[0].handler", "sleep");
        settings.put("starpets.tasks[0].schedule", "1h");
        settings.put("starpets.tasks[0].timeout", "30m");
        settings.put("starpets.tasks[0].params.duration", "20m");
        // Short runs, due twice a second each: every instance claims some all the time.
        for (int i = 1; i <= TICKS; i++) {
            settings.put("starpets.tasks[" + i + "].name", "tick-" + i);
            settings.put("starpets.tasks[" + i + "].handler", "sleep");
            settings.put("starpets.tasks[" + i + "].schedule", "500ms");
            settings.put("starpets.tasks[" + i + "].timeout", "1m");
            settings.put("starpets.tasks[" + i + "].params.duration", "10ms");
        }
        return cluster.start(instanceId, settings);
    }

    @Test
    // A bound against a hang only: three starts (START each) and the burst's drain (WORK) fit.
    @Timeout(900)
    void whenTheOwnerIsKilledDuringABurstHoldingEveryServiceConnectionItsTaskRunsElsewhereWithinTargetAndClaimsGoOn()
            throws Exception {
        AppProcess a = start("proc-a");
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() -> cluster.strings("select owner_instance from tasks where name = 'long'")
                        .equals(List.of("proc-a")));
        AppProcess b = start("proc-b");
        AppProcess c = start("proc-c");
        for (AppProcess p : cluster.processes()) {
            await().ignoreExceptions().atMost(Timing.START).until(() -> get(p.url("/health")) == 200);
        }
        await().atMost(Timing.SOON)
                .until(() ->
                        cluster.count("select count(distinct instance_id) from task_runs where task_name like 'tick-%'"
                                        + " and instance_id in ('proc-b', 'proc-c')")
                                == 2);
        cluster.execute("insert into users (id, balance) values (2, 1000.00), (3, 1000.00)");
        String runOfA = cluster.strings("select current_run_id::text from tasks where name = 'long'")
                .getFirst();

        List<Burst.Shot> shots = shots();
        long toSurvivors =
                shots.stream().filter(s -> !s.target().equals("proc-a")).count();
        String burstStart = now();
        try (Connection rows = lockUsers();
                Burst burst = Burst.fire(shots)) {
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> waitingOnRows("proc-b") == SERVICE_POOL && waitingOnRows("proc-c") == SERVICE_POOL);
            String pinned = now();
            int answeredAtKill = burst.answered();
            long killed = System.nanoTime();
            a.kill();
            await().atMost(Timing.SOON)
                    .pollInterval(Duration.ofMillis(50))
                    .until(() ->
                            cluster.count("select count(*) from tasks t join task_runs r on r.id = t.current_run_id"
                                            + " where t.name = 'long' and r.status = 'RUNNING'"
                                            + " and t.owner_instance in ('proc-b', 'proc-c')")
                                    == 1);
            Duration failover = Duration.ofNanos(System.nanoTime() - killed);
            // Claims go on, and both survivors' schedulers keep beating, while every service connection is
            // still held. (Which survivor claims a short run is a race the faster one wins: a survivor
            // the burst keeps off the CPU may lose every one for a while, so claims are counted together.)
            String claimedSincePinned = "select count(*) from task_runs where task_name like 'tick-%'"
                    + " and instance_id in ('proc-b', 'proc-c') and started_at > '" + pinned + "'";
            String beatingSincePinned = "select count(*) from instances where id in ('proc-b', 'proc-c')"
                    + " and heartbeat_at > '" + pinned + "'";
            await().atMost(Timing.SOON)
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> cluster.count(claimedSincePinned) > 0 && cluster.count(beatingSincePinned) == 2);
            Duration bothAlive = Duration.ofNanos(System.nanoTime() - killed);
            System.out.printf("Survivors claiming and both beating %d ms after SIGKILL%n", bothAlive.toMillis());
            // The rows stay locked for HOLD (database clock) after the pools filled up.
            await().atMost(HOLD.plus(Timing.SOON))
                    .until(() -> cluster.count("select (extract(epoch from clock_timestamp() - '" + pinned
                                    + "'::timestamptz) * 1000)::bigint")
                            >= HOLD.toMillis());
            // Still every service connection waiting on the rows. A withdrawal that has waited past the
            // service pool's socket timeout (30 s, on a slow machine) loses its connection, and the next
            // queued one takes the new connection at once: hence a wait, not a single look.
            await().atMost(Timing.SOON)
                    .until(() -> waitingOnRows("proc-b") == SERVICE_POOL && waitingOnRows("proc-c") == SERVICE_POOL);
            int answeredAtRelease = burst.answered();
            String released = now();
            rows.commit();

            assertThat(burst.awaitAll(Timing.WORK)).as("every request answered").isTrue();
            String burstEnd = now();
            System.out.printf(
                    "Failover under load: pools full %s after the burst began; %d ms after SIGKILL; %d of %d answers"
                            + " in at the kill, %d when the rows were released; answers: a %s, b %s, c %s%n",
                    cluster.strings("select '" + pinned + "'::timestamptz - '" + burstStart + "'::timestamptz")
                            .getFirst(),
                    failover.toMillis(),
                    answeredAtKill,
                    REQUESTS,
                    answeredAtRelease,
                    burst.answers("proc-a"),
                    burst.answers("proc-b"),
                    burst.answers("proc-c"));

            assertThat(failover).as("failover after SIGKILL, under the burst").isLessThan(FAILOVER_TARGET);
            assertThat(answeredAtRelease)
                    .as("the burst was still on after the failover")
                    .isLessThan(REQUESTS);
            assertThat(burst.answers("proc-b").keySet()).isSubsetOf(SERVED);
            assertThat(burst.answers("proc-c").keySet()).isSubsetOf(SERVED);
            assertThat(burst.answers("proc-a").keySet()).isSubsetOf(union(SERVED, Set.of("connection error")));
            assertThat(total(burst.answers("proc-b")) + total(burst.answers("proc-c")))
                    .as("answers from the survivors")
                    .isEqualTo(toSurvivors);
            assertSurvivorsKeptClaiming(burstStart, burstEnd, pinned, released);
        }
        assertThat(b.alive()).isTrue();
        assertThat(c.alive()).isTrue();
        assertThat(cluster.strings("select status from task_runs where id = " + runOfA))
                .containsExactly("LOST");
    }

    /**
     * Both survivors claimed tick runs during the burst, and while every service connection waited on
     * the locked rows ({@code pinned} to {@code released}) no stretch longer than {@link #LONGEST_GAP}
     * went without a claim (by anyone: the first instance until its kill, the survivors after). The
     * longest gap of the whole burst is printed, not judged: once the rows are released, the flood of
     * answers takes every core of a small machine, the scheduler's threads included (7.6 s was seen
     * at load 20).
     */
    private void assertSurvivorsKeptClaiming(String from, String to, String pinned, String released) {
        String during = " from task_runs where task_name like 'tick-%' and started_at between '" + from
                + "'::timestamptz and '" + to + "'::timestamptz";
        for (String survivor : List.of("proc-b", "proc-c")) {
            assertThat(cluster.count("select count(*)" + during + " and instance_id = '" + survivor + "'"))
                    .as(survivor + " claims during the burst")
                    .isPositive();
        }
        System.out.printf(
                "Survivors' claims during the burst (%s to %s): %d, longest gap %s; while the rows were held"
                        + " (%s to %s): longest gap %s%n",
                from,
                to,
                cluster.count("select count(*)" + during + " and instance_id in ('proc-b', 'proc-c')"),
                longestGap(from, to),
                pinned,
                released,
                longestGap(pinned, released));
        assertThat(Duration.ofMillis(longestGap(pinned, released).millis()))
                .as("longest time without a claim while every service connection waited on the rows")
                .isLessThan(LONGEST_GAP);
    }

    record Gap(long millis, String endedAt) {
        @Override
        public String toString() {
            return millis + " ms, ended " + endedAt;
        }
    }

    /** The longest stretch between two claims of a tick, or a bound and a claim, from {@code from} to {@code to}. */
    private Gap longestGap(String from, String to) {
        String row = cluster.strings("select g || ' ' || t from (select t,"
                        + " (extract(epoch from t - lag(t) over (order by t)) * 1000)::bigint as g"
                        + " from (select started_at as t from task_runs where task_name like 'tick-%'"
                        + " and started_at between '" + from + "'::timestamptz and '" + to + "'::timestamptz"
                        + " union all select '" + from + "'::timestamptz union all select '" + to
                        + "'::timestamptz) ts) gaps where g is not null order by g desc limit 1")
                .getFirst();
        return new Gap(Long.parseLong(row.substring(0, row.indexOf(' '))), row.substring(row.indexOf(' ') + 1));
    }

    /**
     * Round-robin over the three instances: task listings (each needing a service connection) and
     * withdrawals from user 1, and on each instance a few from users 2 and 3, whose rows are locked.
     */
    private List<Burst.Shot> shots() {
        List<Burst.Shot> shots = new ArrayList<>(REQUESTS);
        for (int i = 0; i < REQUESTS; i++) {
            AppProcess target = cluster.processes().get(i % cluster.processes().size());
            int k = i / cluster.processes().size();
            long user = k % 100 == 1 ? 2 : k % 100 == 2 ? 3 : 1;
            boolean withdrawal = user != 1 || k % 3 == 0;
            HttpRequest.Builder request = HttpRequest.newBuilder(
                            URI.create(target.url(withdrawal ? "/balance/update" : "/tasks")))
                    .header("Authorization", "Bearer " + (withdrawal ? TestTokens.BALANCE : TestTokens.VIEWER))
                    .timeout(Duration.ofSeconds(90));
            if (withdrawal) {
                request.header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":" + user + ",\"amount\":-1}"));
            }
            shots.add(new Burst.Shot(target.instanceId(), request.build()));
        }
        return shots;
    }

    /** Users 2 and 3 locked, as by a slow transaction: their withdrawals each hold a service connection. */
    private Connection lockUsers() throws SQLException {
        Connection c = cluster.connection();
        c.setAutoCommit(false);
        c.createStatement()
                .executeQuery("select 1 from users where id in (2, 3) for update")
                .close();
        return c;
    }

    /** How many of this instance's service connections wait on a row lock. */
    private long waitingOnRows(String instanceId) {
        return cluster.count("select count(*) from pg_stat_activity where application_name = 'starpets-" + instanceId
                + "' and wait_event_type = 'Lock'");
    }

    private String now() {
        return cluster.strings("select clock_timestamp()::text").getFirst();
    }

    private static long total(Map<String, Integer> answers) {
        return answers.values().stream().mapToLong(Integer::longValue).sum();
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return all;
    }

    private int get(String url) throws Exception {
        return http.send(
                        TestTokens.bearer(
                                        HttpRequest.newBuilder(URI.create(url)),
                                        TestTokens.readerOf(URI.create(url).getPath()))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }
}
