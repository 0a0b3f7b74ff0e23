package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.TcpProxy;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Starts after a crash, short runs, locked rows, changed definitions, a half-open watch: the cluster copes. */
@RunsAlongside
class ClusterFaultsTest {

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    @Test
    void afterAnUncleanFullStopInstancesStartingTogetherStillSplitEvenly() {
        Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 5)
                .mapToObj(i ->
                        cluster.create(SchedulerCluster.startedTogether("inst-" + i, 5), handlers, cluster::connection))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(10, "task", "1m", i -> "hold"));
        // As a crash of every instance leaves it: tasks owned, with a run in progress and a fresh lease,
        // by sessions that are gone, and the dead instances' rows still looking alive.
        cluster.execute("""
                insert into instances (id, host, version, session_key, heartbeat_at, state)
                select 'dead-' || g, 'h', 'v', 1000 + g, now(), 'RUNNING' from generate_series(1, 5) g;
                update tasks t set owner_instance = 'dead-' || (1 + t.id % 5), owner_session = 1000 + 1 + t.id % 5,
                       lease_until = now() + interval '1 hour', fence = fence + 1, started_at = now(),
                       current_run_id = nextval(pg_get_serial_sequence('task_runs', 'id')),
                       owner_lock_seen_at = now(), next_run_at = now();
                insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for, status)
                select current_run_id, id, name, owner_instance, fence, now(), 'RUNNING' from tasks;
                """);

        schedulers.forEach(Scheduler::start);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance like 'inst-%'") == 10);
        assertThat(cluster.runningByInstance())
                .containsOnlyKeys("inst-1", "inst-2", "inst-3", "inst-4", "inst-5")
                .allSatisfy((instance, running) -> assertThat(running).isEqualTo(2));
        assertThat(cluster.count("select count(*) from task_runs where instance_id like 'dead-%' and status = 'LOST'"))
                .isEqualTo(10);
    }

    /**
     * The race behind a failure of the test above on a loaded machine: read before recovery had marked
     * them gone, the dead instances' rows (fresh heartbeats, tasks owned) ended an instance's settling
     * at once ("a running cluster"), so it claimed before the instances started with it had
     * registered, and took 3 of 10 tasks where 2 were its share. Settling counts only instances whose
     * session lock is held.
     */
    @Test
    void settlingCountsOnlyInstancesHoldingTheirLock() throws Exception {
        cluster.create("inst-1", Map.of("hold", ctx -> release.await()))
                .syncTasks(SchedulerCluster.tasks(4, "task", "1m", i -> "hold"));
        cluster.execute("""
                insert into instances (id, host, version, session_key, heartbeat_at, state)
                values ('dead', 'h', 'v', 1001, now(), 'RUNNING'), ('alive', 'h', 'v', 1002, now(), 'RUNNING');
                update tasks set owner_instance = case when id % 2 = 0 then 'dead' else 'alive' end,
                       owner_session = case when id % 2 = 0 then 1001 else 1002 end,
                       lease_until = now() + interval '1 hour';
                """);
        try (Connection alive = cluster.connection();
                Connection me = cluster.connection()) {
            try (var st = alive.createStatement()) {
                st.execute("select pg_advisory_lock(1002)");
            }

            assertThat(ShareRepository.peers(me, "me", 4711, SchedulerCluster.LEASE))
                    .as("the alive instance and this one; the dead instance and its two tasks are not counted")
                    .isEqualTo(new ShareRepository.Peers(2, 2, 0));
        }
    }

    /**
     * 900 no-op tasks, each due 1 s after its last run ended, on 3 instances: before, the instance that
     * had just claimed looked again at once and took most of them (96 % / 2 % / 1 % in the benchmark),
     * the others looking again only a heartbeat later.
     */
    @Test
    void shortRunsAreSharedByAllInstancesNotTakenByTheFirstToWake() {
        Map<String, TaskHandler> handlers = Map.of("noop", ctx -> {});
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 3)
                .mapToObj(i -> cluster.create("inst-" + i, handlers))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(900, "tick", "1s", i -> "noop"));
        schedulers.forEach(Scheduler::start);

        await().atMost(Timing.WORK).until(() -> cluster.count("select count(*) from task_runs") >= 7_000);

        Map<String, Long> runs = new HashMap<>();
        cluster.query("select instance_id, count(*) from task_runs group by 1", rs -> {
            runs.put(rs.getString(1), rs.getLong(2));
            return null;
        });
        long total = runs.values().stream().mapToLong(Long::longValue).sum();
        assertThat(runs).containsOnlyKeys("inst-1", "inst-2", "inst-3");
        assertThat(runs.values())
                .as("runs per instance of %s (a third each is ideal)", runs)
                .allSatisfy(n -> assertThat(n / (double) total).isBetween(0.15, 0.5));
    }

    @Test
    void aDueRowLockedByAnOpenTransactionDoesNotMakeTheClaimLoopSpin() throws Exception {
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> {}));
        s.syncTasks(SchedulerCluster.tasks(1, "locked", "1h", i -> "noop"));
        try (Connection locker = cluster.pool.getConnection()) {
            locker.setAutoCommit(false);
            locker.createStatement().execute("select * from tasks for update");
            s.start();
            await().atMost(Timing.SOON).until(() -> s.claimStatements() > 0);
            long first = s.claimStatements();

            // Two seconds (8 heartbeats) of a due task nobody can lock: backing off to one claim a
            // heartbeat, not thousands.
            Timing.holdsFor(Duration.ofSeconds(2)).until(() -> s.claimStatements() - first < 30);

            locker.rollback();
        }
        await().atMost(Timing.SOON).until(() -> cluster.count("select count(*) from task_runs") == 1);
    }

    @Test
    void aRunWhoseEndCannotBeWrittenIsGivenUpAfterItsLeaseNotRenewedForEver() {
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> {}));
        s.syncTasks(SchedulerCluster.tasks(1, "unwritable", "1h", i -> "noop"));
        // The end of this task's runs cannot be written (a constraint the engine cannot satisfy).
        cluster.execute("""
                create function refuse_end() returns trigger language plpgsql as $$
                begin raise exception 'the end cannot be written'; end $$;
                create trigger refuse_end before update on task_runs
                   for each row when (new.status <> 'RUNNING' and new.status <> 'LOST') execute function refuse_end();
                """);
        s.start();

        await().atMost(Timing.SOON).until(() -> s.activeRuns() == 1);
        // Retried for a lease (4 s), then given up: no longer renewed, its lease runs out, and the run
        // is ended LOST and the task made due again, instead of staying RUNNING for ever.
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'LOST'") >= 1);
        assertThat(cluster.query("select error from task_runs where status = 'LOST'", rs -> rs.getString(1)))
                .first()
                .asString()
                .contains("lease expired");
    }

    @Test
    void aChangedScheduleTakesEffectAtOnce() {
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> {}));
        s.syncTasks(SchedulerCluster.tasks(1, "report", "1h", i -> "noop"));
        s.start();
        await().atMost(Timing.SOON).until(() -> cluster.count("select count(*) from task_runs") == 1);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_session is null"
                                + " and next_run_at > now() + interval '50 minutes'")
                        == 1);

        s.syncTasks(SchedulerCluster.tasks(1, "report", "*/10 * * * * *", i -> "noop"));

        assertThat(cluster.count("select count(*) from tasks where next_run_at <= now() + interval '10 seconds'"))
                .as("due again within 10 s, not in an hour")
                .isEqualTo(1);
    }

    @Test
    void aScheduleThatCannotBeComputedAtRunTimeEndsTheRunAndLeavesTheTaskWithNoNextRun() {
        Scheduler s = cluster.create("inst-1", Map.of("hold", ctx -> release.await()));
        s.syncTasks(SchedulerCluster.tasks(1, "odd", "1h", i -> "hold"));
        s.start();
        await().atMost(Timing.SOON).until(() -> s.activeRuns() == 1);
        // Written by some other version of the service while the run was in progress.
        cluster.execute("update tasks set schedule = 'every full moon'");

        release.countDown();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);
        await().atMost(Timing.SOON)
                .until(() ->
                        cluster.count("select count(*) from tasks where owner_session is null and next_run_at is null")
                                == 1);
        assertThat(new TaskViews(cluster.pool).find(null).tasks())
                .singleElement()
                .satisfies(t -> assertThat(t.nextRunAt()).isNull());
    }

    @Test
    void aRunClaimedLongAfterItsInstanceWasBuiltIsNotStoppedRightAfterItsClaim() {
        AtomicLong offset = new AtomicLong();
        SchedulerSettings settings = SchedulerCluster.settings("inst-1").toBuilder()
                .ticker(() -> System.nanoTime() + offset.get())
                .build();
        Scheduler s = cluster.create(settings, Map.of("hold", ctx -> release.await()), cluster::connection);
        s.syncTasks(SchedulerCluster.tasks(2, "early", "1h", i -> "hold"));
        // A slow start-up: much longer than a lease passes between building the scheduler and starting it.
        offset.addAndGet(Duration.ofMinutes(1).toNanos());
        s.start();
        await().atMost(Timing.SOON).until(() -> s.activeRuns() == 2);

        // The same two runs throughout: a run stopped and claimed again would add a row.
        Timing.holdsFor(Duration.ofSeconds(2))
                .until(() -> s.activeRuns() == 2
                        && cluster.count("select count(*) from task_runs where status = 'RUNNING'") == 2
                        && cluster.count("select count(*) from task_runs") == 2);
    }

    @Test
    void aHalfOpenWatchSessionIsNoticedWithinSeconds() throws Exception {
        try (TcpProxy proxy = new TcpProxy(TestPostgres.port())) {
            String direct = cluster.pool.getJdbcUrl();
            String viaProxy = direct.replace(":" + TestPostgres.port() + "/", ":" + proxy.port() + "/");
            Scheduler s = new Scheduler(
                    SchedulerCluster.settings("inst-1"),
                    cluster.pool,
                    cluster::connection,
                    () -> SchedulerCluster.connect(viaProxy, 1),
                    Map.of("noop", ctx -> {}),
                    SchedulerEvents.NONE,
                    Scheduler.HALT);
            s.start();
            await().atMost(Timing.SOON)
                    .until(() ->
                            cluster.count("select count(*) from pg_stat_activity where query like 'listen starpets_%'")
                                    >= 1);

            // Bytes stop, sockets stay open: nothing tells the client its LISTEN connection is dead.
            proxy.freeze();
            long frozen = System.nanoTime();

            await().atMost(Timing.SOON).until(() -> s.watchLosses() > 0);
            assertThat(Duration.ofNanos(System.nanoTime() - frozen)).isLessThan(Duration.ofSeconds(5));
            proxy.resume();
            s.close();
        }
    }
}
