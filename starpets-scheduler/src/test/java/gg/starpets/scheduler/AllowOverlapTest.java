package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.handlers.WitnessHandler;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code overlap: ALLOW} with {@code max-concurrent}: several runs of one task at once across instances,
 * never more than the limit, each run fenced on its own (judged from the handlers' own records, outside
 * the engine's tables), while every other task keeps one live handler at a time.
 */
@RunsAlongside
class AllowOverlapTest {

    private static final Duration STEP = Duration.ofMillis(20);

    private SchedulerCluster cluster;
    private final Steps steps = new Steps();

    @TempDir
    Path witnessDir;

    @TempDir
    Path singleWitnessDir;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition allow(String name, String handler, String schedule, int max, Map<String, Object> p) {
        return TaskDefinition.of(name, handler, schedule, "UTC", Duration.ofMinutes(1), true, p)
                .withOverlap(TaskDefinition.Overlap.ALLOW, max);
    }

    @Test
    void upToMaxConcurrentRunsOfOneTaskRunAtOnceOnTwoInstancesNeverMore() throws Exception {
        // Due every 100 ms from each start, each run 600 ms: the limit binds all the time. Two instances, so
        // that one of them must run two runs of the task at once to reach three.
        Map<String, Object> long600 = Map.of("duration", "600ms", "step", "50ms");
        List<TaskDefinition> tasks = List.of(
                allow("fan-out", "witness", "100ms", 3, long600),
                TaskDefinition.of("single", "single-witness", "100ms", "UTC", Duration.ofMinutes(1), true, long600));
        List<Scheduler> instances = new ArrayList<>();
        for (String id : List.of("instance-a", "instance-b")) {
            instances.add(cluster.create(
                    SchedulerCluster.startedTogether(id, 2),
                    Map.of(
                            "witness",
                            new WitnessHandler(witnessDir, id),
                            "single-witness",
                            new WitnessHandler(singleWitnessDir, id)),
                    cluster::connection));
        }
        instances.getFirst().syncTasks(tasks);
        instances.forEach(Scheduler::start);

        await().atMost(Timing.WORK)
                .until(() -> cluster.count(
                                "select count(*) from task_runs where task_name = 'fan-out' and status = 'SUCCEEDED'")
                        >= 15);
        instances.forEach(Scheduler::close);

        assertThat(AtOnce.recorded(cluster, "fan-out"))
                .as("most runs at once, recorded")
                .isEqualTo(3);
        assertThat(AtOnce.witnessed(witnessDir))
                .as("most runs at once, witnessed")
                .isEqualTo(3);
        assertThat(AtOnce.witnessed(singleWitnessDir))
                .as("a task that does not opt in: one run at a time")
                .isEqualTo(1);
        assertThat(cluster.count("select count(distinct instance_id) from task_runs where task_name = 'fan-out'"))
                .isEqualTo(2);
        assertThat(cluster.count("select runs_owned from tasks where name = 'fan-out'"))
                .as("no place held once every run has ended")
                .isZero();
        assertThat(cluster.count("select count(*) from task_runs where owner_session is not null"))
                .isZero();
    }

    @Test
    void aTaskNoLongerAllowedToOverlapStartsItsNextRunOnlyOnceTheRunsItHadAtOnceHaveEnded() throws Exception {
        // Two runs of 1.5 s at once, then the task is changed to overlap SKIP: its next run (due every 100 ms)
        // waits for both to end; started beside them it would make three live handlers.
        Map<String, Object> long1500 = Map.of("duration", "1500ms", "step", "50ms");
        Scheduler s = cluster.create("instance-a", Map.of("witness", new WitnessHandler(witnessDir, "instance-a")));
        s.syncTasks(List.of(allow("switch", "witness", "100ms", 2, long1500)));
        s.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select runs_owned from tasks where name = 'switch'") == 2);
        s.syncTasks(
                List.of(TaskDefinition.of("switch", "witness", "100ms", "UTC", Duration.ofMinutes(1), true, long1500)));
        String switched =
                cluster.query("select now()::text", rs -> rs.getString(1)).getFirst();
        await().atMost(Timing.WORK)
                .until(() -> cluster.count("select count(*) from task_runs where task_name = 'switch'"
                                + " and status = 'SUCCEEDED' and started_at > '" + switched + "'::timestamptz")
                        >= 2);
        s.close();

        assertThat(AtOnce.witnessed(witnessDir))
                .as("most runs at once, witnessed: the two it allowed, never one more")
                .isEqualTo(2);
        assertThat(cluster.count("select count(*) from task_runs where task_name = 'switch'"
                        + " and started_at > '" + switched + "'::timestamptz and owner_session is null"
                        + " and status <> 'MISSED'"))
                .as("runs after the change are the task's own, one at a time")
                .isGreaterThanOrEqualTo(2);
    }

    /** Steps with {@link RunContext#sleep} between them: longer than the partition and the takeover together. */
    private TaskHandler longStepper(String instance) {
        return context -> {
            for (int i = 0; i < 2_000; i++) {
                if (!context.mayContinue()) {
                    return;
                }
                steps.record(instance, context);
                context.sleep(STEP);
            }
        };
    }

    /** An instance whose database connections go through {@code proxy}, but for its watch session (it keeps its lock). */
    private Scheduler throughProxy(String id, HikariDataSource pool, Map<String, TaskHandler> handlers) {
        String url = pool.getJdbcUrl();
        return cluster.add(new Scheduler(
                SchedulerCluster.settings(id),
                pool,
                () -> SchedulerCluster.connect(url, 1),
                cluster::connection,
                handlers,
                SchedulerEvents.NONE,
                Scheduler.HALT));
    }

    @Test
    void eachRunOfAnInstanceCutOffPastItsLeaseIsTakenOverAndTakesNoStepAfter() throws Exception {
        // The runs in progress on a when it is cut off.
        java.util.Set<Long> cutOff = ConcurrentHashMap.newKeySet();
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port());
                HikariDataSource poolA = cluster.poolThrough(proxy)) {
            Scheduler a = throughProxy("inst-a", poolA, Map.of("step", longStepper("inst-a")));
            a.syncTasks(List.of(allow("fan-out", "step", "100ms", 2, Map.of())));
            a.start();
            // Both handlers stepping: a run claimed ahead of its due time is active before its handler starts.
            await().atMost(Timing.SOON)
                    .until(() -> a.activeRuns() == 2
                            && steps.all().stream()
                                            .map(Steps.Step::runId)
                                            .distinct()
                                            .count()
                                    == 2);
            Scheduler b = cluster.create("inst-b", Map.of("step", longStepper("inst-b")));
            b.start();

            // Both places are a's; b takes them only when a's runs' leases (4 s) run out.
            proxy.partition();
            cutOff.addAll(steps.all().stream().map(Steps.Step::runId).toList());
            await().atMost(Timing.SOON)
                    .until(() -> cluster.count("select count(*) from task_runs where status = 'LOST'"
                                            + " and instance_id = 'inst-a'")
                                    == 2
                            && cluster.count("select count(*) from task_runs where status = 'RUNNING'"
                                            + " and instance_id = 'inst-b'")
                                    == 2
                            && steps.count("inst-b") >= 2);
            assertThat(cluster.count("select runs_owned from tasks where name = 'fan-out'"))
                    .as("recovery freed a's places, b holds them")
                    .isEqualTo(2);
            proxy.resume();

            // a renews again and stops the runs it no longer owns.
            await().atMost(Timing.SOON)
                    .until(() -> a.activeRuns() == 0
                            && cluster.count("select count(*) from instances where id = 'inst-a'"
                                            + " and heartbeat_at > now() - interval '1 second'")
                                    == 1);
            a.close();
            b.close();
        }
        assertThat(cutOff).hasSize(2);
        long firstOfB = steps.all().stream()
                .filter(s -> s.instance().equals("inst-b"))
                .mapToLong(Steps.Step::nanos)
                .min()
                .orElseThrow();
        assertThat(steps.all().stream()
                        .filter(s -> cutOff.contains(s.runId()) && s.nanos() > firstOfB)
                        .map(s -> "run " + s.runId() + " of inst-a stepped "
                                + Duration.ofNanos(s.nanos() - firstOfB).toMillis() + " ms after b's first step"))
                .as("no run of the cut-off instance steps once its place is taken")
                .isEmpty();
        assertThat(cluster.count("select runs_owned from tasks where name = 'fan-out'"))
                .isZero();
    }

    /** Whether run {@code runId} holds its fence, asked of the database as a fenced commit asks it (V24). */
    private boolean fenceHolds(String task, long runId, long fence) throws Exception {
        try (Connection c = cluster.connection()) {
            c.setAutoCommit(false);
            try {
                return TaskRepository.lockFence(c, null, task, runId, fence, Duration.ofSeconds(1));
            } finally {
                c.rollback();
            }
        }
    }

    @Test
    void aRunTakenOverCannotCommitUnderItsFenceWhileTheRunThatTookItsPlaceCan() throws Exception {
        cluster.execute("create table public.allow_effects (run_id bigint primary key)");
        Map<Long, Boolean> fenceHeld = new ConcurrentHashMap<>();
        Map<Long, RunContext> runs = new ConcurrentHashMap<>();
        CountDownLatch never = new CountDownLatch(1);
        // Writes its effect in a transaction of its own and commits it only under its fence, as the sql
        // handler does. The first run (a's) waits until it is stopped, then gives up.
        TaskHandler committing = context -> {
            runs.put(context.runId(), context);
            try (Connection c = cluster.connection()) {
                c.setAutoCommit(false);
                try (var st = c.prepareStatement("insert into public.allow_effects values (?)")) {
                    st.setLong(1, context.runId());
                    st.executeUpdate();
                }
                if (context.attempt() == 1) {
                    never.await();
                }
                boolean held = context.lockFence(c);
                fenceHeld.put(context.runId(), held);
                if (held) {
                    c.commit();
                } else {
                    c.rollback();
                }
            }
        };
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port());
                HikariDataSource poolA = cluster.poolThrough(proxy)) {
            Scheduler a = throughProxy("inst-a", poolA, Map.of("commit", committing));
            a.syncTasks(List.of(allow("fan-out", "commit", "1h", 2, Map.of())));
            a.start();
            await().atMost(Timing.SOON).until(() -> runs.size() == 1);
            long lostRun = runs.keySet().iterator().next();
            long lostFence = runs.get(lostRun).fence();
            assertThat(fenceHolds("fan-out", lostRun, lostFence))
                    .as("a run in progress holds its own fence")
                    .isTrue();
            Scheduler b = cluster.create("inst-b", Map.of("commit", committing));
            b.start();

            proxy.partition();
            // Recovery ends a's run LOST and runs it again (attempt 2) on b, which commits under its own fence.
            await().atMost(Timing.SOON).until(() -> fenceHeld.size() == 1);
            long retakenRun = fenceHeld.keySet().iterator().next();
            assertThat(retakenRun).isNotEqualTo(lostRun);
            assertThat(fenceHeld.get(retakenRun))
                    .as("the run that took the place commits")
                    .isTrue();
            assertThat(fenceHolds("fan-out", lostRun, lostFence))
                    .as("the lost run's fence, asked as its commit would ask")
                    .isFalse();
            proxy.resume();
            b.close();
            a.close();
        }
        assertThat(cluster.count("select count(*) from public.allow_effects")).isEqualTo(1);
        assertThat(cluster.count("select count(*) from task_runs where status = 'LOST' and instance_id = 'inst-a'"))
                .isEqualTo(1);
        assertThat(cluster.count("select runs_owned from tasks where name = 'fan-out'"))
                .isZero();
    }

    @Test
    void aCancelStopsOneRunRetriesTakeAPlaceLikeAnyRunAndTheTaskShowsItsRunsInProgress() {
        java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        // Every first attempt fails after 150 ms and is retried 50 ms later; second attempts report half way
        // and run until stopped or 800 ms. Due every 100 ms: first attempts, retries and due slots compete.
        TaskHandler handler = context -> {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                context.reportProgress(0.5);
                context.sleep(Duration.ofMillis(context.attempt() == 1 ? 150 : 800));
                if (context.attempt() == 1) {
                    throw new IllegalStateException("a first attempt fails");
                }
            } finally {
                inFlight.decrementAndGet();
            }
        };
        List<Scheduler> instances = new ArrayList<>();
        for (String id : List.of("instance-a", "instance-b")) {
            instances.add(
                    cluster.create(SchedulerCluster.startedTogether(id, 2), Map.of("h", handler), cluster::connection));
        }
        instances
                .getFirst()
                .syncTasks(List.of(allow("fan-out", "h", "100ms", 3, Map.of())
                        .withRetry(new RetryPolicy(2, Duration.ofMillis(50), 1.0, Duration.ofMillis(50)))));
        instances.forEach(Scheduler::start);
        TaskViews views = new TaskViews(cluster.pool);
        await().atMost(Timing.SOON)
                .until(() -> views.find("fan-out").tasks().getFirst().runsInProgress().stream()
                        .anyMatch(r -> r.attempt() == 2 && Double.valueOf(0.5).equals(r.progress())));
        TaskViews.TaskView view = views.find("fan-out").tasks().getFirst();
        assertThat(view.state()).isEqualTo("RUNNING");
        assertThat(view.runsInProgress()).hasSizeBetween(1, 3);
        long cancelled = view.runsInProgress().getFirst().runId();
        new TaskCommands(cluster.pool).cancel(cancelled, "operator:ann");
        await().atMost(Timing.SOON)
                .until(() -> cluster.count(
                                "select count(*) from task_runs where id = " + cancelled + " and status = 'CANCELLED'")
                        == 1);
        long before = cluster.count("select max(id) from task_runs");
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where cause = 'RETRY'"
                                + " and status = 'SUCCEEDED' and id > " + before)
                        >= 3);
        instances.forEach(Scheduler::close);

        assertThat(most.get())
                .as("runs at once, first attempts and retries alike")
                .isEqualTo(3);
        assertThat(AtOnce.recorded(cluster, "fan-out")).isLessThanOrEqualTo(3);
        assertThat(cluster.count("select count(*) from task_runs where status = 'FAILED' and attempt = 2"))
                .as("a retry is the last attempt (max-attempts 2)")
                .isZero();
        assertThat(cluster.count("select runs_owned from tasks where name = 'fan-out'"))
                .isZero();
    }

    @Test
    void theRunsOfAKilledInstanceAreRecoveredOnceItsLockIsSeenGoneAndTheirPlacesTakenAgain() {
        Killable a = new Killable(cluster, SchedulerCluster.settings("inst-a"), Map.of("step", longStepper("inst-a")));
        a.scheduler.syncTasks(List.of(allow("fan-out", "step", "100ms", 2, Map.of())));
        a.scheduler.start();
        await().atMost(Timing.SOON).until(() -> a.scheduler.activeRuns() == 2);
        Scheduler b = cluster.create("inst-b", Map.of("step", longStepper("inst-b")));
        b.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from instances where id = 'inst-b'") == 1);

        a.kill();
        // Its lock gone, its runs are recovered after the grace, not after their 4 s leases.
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where instance_id = 'inst-a'"
                                        + " and status = 'LOST' and error like '%database session ended%'")
                                == 2
                        && cluster.count("select count(*) from task_runs where instance_id = 'inst-b'"
                                        + " and status = 'RUNNING'")
                                == 2);
        assertThat(cluster.count("select runs_owned from tasks where name = 'fan-out'"))
                .as("b holds both places, a none")
                .isEqualTo(2);
        assertThat(cluster.count("select count(*) from task_runs where instance_id = 'inst-a'"
                        + " and owner_session is not null"))
                .isZero();
    }

    @Test
    void slotsAClaimMadeLateSkipsAreMissedRowsForMisfireSkip() {
        // One place, runs of 2.5 s, a slot every second: the slots due while the place is taken wait; the first
        // runs late (within the 10 s threshold) and those between it and its claim are MISSED.
        TaskHandler slow = context -> context.sleep(Duration.ofMillis(2_500));
        Map<String, Long> counted = new ConcurrentHashMap<>();
        SchedulerEvents events = new SchedulerEvents() {
            @Override
            public void runsMissed(String task, String reason, long count) {
                counted.merge(task + " " + reason, count, Long::sum);
            }
        };
        Scheduler s = cluster.add(new Scheduler(
                SchedulerCluster.settings("instance-a"),
                cluster.pool,
                cluster::connection,
                Map.of("slow", slow),
                events));
        s.syncTasks(List.of(allow("every-second", "slow", "* * * * * *", 1, Map.of())
                .withMisfire(
                        new MisfirePolicy(MisfirePolicy.Kind.SKIP, Duration.ofSeconds(10), 10, Duration.ofHours(1)))));
        s.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where task_name = 'every-second'"
                                + " and status = 'MISSED' and error like 'misfire: not started within%'")
                        >= 2);
        s.close();
        assertThat(cluster.count("select count(*) from task_runs where task_name = 'every-second'"
                        + " and status = 'MISSED' and scheduled_for in (select scheduled_for from task_runs"
                        + " where task_name = 'every-second' and status <> 'MISSED')"))
                .as("no slot both run and missed")
                .isZero();
        // The metric (starpets_runs_missed_total) counts every slot the late claims skipped.
        assertThat(counted)
                .containsExactly(Map.entry(
                        "every-second misfire",
                        cluster.count("select count(*) from task_runs where task_name = 'every-second'"
                                + " and status = 'MISSED'")));
    }

    @Test
    void retentionNeverDeletesARunThatStillOwnsItsPlace() {
        cluster.create("instance-a", Map.of("noop", context -> {}))
                .syncTasks(List.of(allow("fan-out", "noop", "0 3 * * *", 2, Map.of())));
        long task = cluster.count("select id from tasks where name = 'fan-out'");
        // A run recorded TIMED_OUT whose handler still executes: ended, and still owned (renewed) until it returns.
        cluster.execute("update tasks set runs_owned = 1 where id = " + task);
        cluster.execute("""
                insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, started_at, finished_at,
                                       status, owner_session, lease_until)
                values (%d, 'fan-out', 'instance-a', 1, now() - interval '1 hour', now() - interval '1 hour',
                        now() - interval '50 minutes', 'TIMED_OUT', 42, now() + interval '1 minute')
                """.formatted(task));
        cluster.execute("""
                insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, started_at, finished_at,
                                       status)
                select %d, 'fan-out', 'instance-a', 1 + k, now(), now(), now(), 'SUCCEEDED' from generate_series(1, 3) k
                """.formatted(task));
        RunRepository runs = new RunRepository(cluster.pool);
        assertThat(runs.deleteBeyondNewest(task, 1, 100)).isEqualTo(2);
        assertThat(runs.deleteEndedBefore(task, Duration.ofMinutes(1), 100)).isZero();
        assertThat(cluster.count("select count(*) from task_runs where owner_session is not null"))
                .isEqualTo(1);
        assertThat(cluster.count("select runs_owned from tasks where id = " + task))
                .isEqualTo(1);
    }

    @Test
    void aScheduleAClaimSetAsideAndNobodyMovedOnIsDueAgainALeaseLater() {
        Scheduler s = cluster.create("instance-a", Map.of("noop", context -> {}));
        s.syncTasks(List.of(allow("fan-out", "noop", "0 3 * * *", 2, Map.of())));
        // A claim set the schedule aside and its instance, alive, never wrote the next time.
        cluster.execute("update tasks set next_run_at = 'infinity', last_claimed_at = now() - interval '1 hour'"
                + " where name = 'fan-out'");
        s.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where task_name = 'fan-out'"
                                + " and cause = 'RECOVERY' and status = 'SUCCEEDED'")
                        == 1);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where name = 'fan-out'"
                                + " and next_run_at > now() and next_run_at < 'infinity'")
                        == 1);
    }
}
