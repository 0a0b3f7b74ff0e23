package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Several scheduler instances on one database: no overlap, an even split, one history row per run. */
@RunsAlongside
class ClusterSchedulingTest {

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
    void tenTasksOnFiveInstancesStartedTogetherRunExactlyTwoEach() {
        Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 5)
                .mapToObj(i -> cluster.create(
                        SchedulerCluster.startedTogether("instance-" + i, 5), handlers, cluster::connection))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(10, "task", "1m", i -> "hold"));
        schedulers.forEach(Scheduler::start);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null") == 10);

        assertThat(cluster.runningByInstance())
                .containsOnlyKeys("instance-1", "instance-2", "instance-3", "instance-4", "instance-5")
                .allSatisfy((instance, running) -> assertThat(running).isEqualTo(2));
        assertThat(cluster.query("select instance_id, count(*) from task_runs group by 1", rs -> rs.getLong(2)))
                .containsExactly(2L, 2L, 2L, 2L, 2L);
        assertThat(schedulers).allSatisfy(s -> assertThat(s.activeRuns()).isEqualTo(2));
    }

    @Test
    void aRemainderGoesOneEachToTheFirstInstancesSoNoInstanceTakesMore() {
        Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 5)
                .mapToObj(i -> cluster.create(
                        SchedulerCluster.startedTogether("instance-" + i, 5), handlers, cluster::connection))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(12, "task", "1m", i -> "hold"));
        schedulers.forEach(Scheduler::start);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null") == 12);

        assertThat(cluster.runningByInstance().values()).containsExactlyInAnyOrder(3L, 3L, 2L, 2L, 2L);
    }

    @Test
    void anInstanceThatJoinsLaterGetsItsShareAsTasksComeDueAgain() {
        Map<String, TaskHandler> handlers = Map.of("work", ctx -> ctx.sleep(Duration.ofMillis(300)));
        Scheduler first = cluster.create("instance-1", handlers);
        Scheduler second = cluster.create("instance-2", handlers);
        first.syncTasks(SchedulerCluster.tasks(10, "task", "100ms", i -> "work"));
        first.start();
        second.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") >= 30);
        assertThat(cluster.runningByInstance()).doesNotContainKey("instance-3");

        cluster.create("instance-3", handlers).start();

        // Over the runs that start once it has joined, the newcomer takes its share: 10 tasks over 3
        // instances hold 4, 3 and 3 at a time, so 30 % (28 % measured, with the hand-over included).
        String sinceJoined =
                "from task_runs where started_at >= (select started_at from instances where id = 'instance-3')";
        await().atMost(Timing.WORK).until(() -> cluster.count("select count(*) " + sinceJoined) >= 300);
        Map<String, Long> started = new java.util.HashMap<>();
        cluster.query("select instance_id, count(*) " + sinceJoined + " group by 1", rs -> {
            started.put(rs.getString(1), rs.getLong(2));
            return null;
        });
        long total = started.values().stream().mapToLong(Long::longValue).sum();
        assertThat(started).containsOnlyKeys("instance-1", "instance-2", "instance-3");
        assertThat(started.get("instance-3") / (double) total)
                .as("instance-3's share of %s", started)
                .isBetween(0.20, 0.40);
    }

    @Test
    void anInstanceJoiningARunningClusterTakesItsShareWithoutWaitingOutItsSettleWindow() {
        Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());
        Scheduler first = cluster.create("instance-1", handlers);
        Scheduler second = cluster.create("instance-2", handlers);
        first.syncTasks(SchedulerCluster.tasks(4, "task", "1m", i -> "hold"));
        first.start();
        second.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.runningByInstance().equals(Map.of("instance-1", 2L, "instance-2", 2L)));

        SchedulerSettings base = SchedulerCluster.settings("instance-3");
        SchedulerSettings slowToSettle =
                base.toBuilder().settle(Duration.ofMinutes(1)).build();
        cluster.create(slowToSettle, handlers, cluster::connection).start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from instances where id = 'instance-3'") == 1);
        // A fifth task: 5 over 3 instances is 2, 2 and 1, so it is the newcomer's to run. Waiting out
        // a settle window here would leave it unclaimed for a minute: the others are at their share.
        first.syncTasks(SchedulerCluster.tasks(5, "task", "1m", i -> "hold"));

        await().atMost(Timing.SOON)
                .until(() -> cluster.runningByInstance()
                        .equals(Map.of("instance-1", 2L, "instance-2", 2L, "instance-3", 1L)));
    }

    @Test
    void runsOfOneTaskNeverOverlapAndEveryRunEndsInATerminalStatus() {
        Map<String, TaskHandler> handlers = Map.of(
                "short",
                ctx -> ctx.sleep(Duration.ofMillis(ThreadLocalRandom.current().nextInt(10, 60))));
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 5)
                .mapToObj(i -> cluster.create("instance-" + i, handlers))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(6, "quick", "100ms", i -> "short"));
        schedulers.forEach(Scheduler::start);

        await().atMost(Timing.WORK)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") >= 200);
        schedulers.forEach(Scheduler::close);

        List<String> overlapping = cluster.query("""
                select format('%s and %s', row(a.id, a.instance_id, a.status, a.started_at, a.finished_at, a.fence),
                              row(b.id, b.instance_id, b.status, b.started_at, b.finished_at, b.fence))
                  from task_runs a join task_runs b on a.task_id = b.task_id and a.id < b.id
                 where tstzrange(a.started_at, coalesce(a.finished_at, 'infinity'))
                    && tstzrange(b.started_at, coalesce(b.finished_at, 'infinity'))
                """, rs -> rs.getString(1));
        assertThat(overlapping)
                .as("runs of one task whose recorded times overlap")
                .isEmpty();
        assertThat(cluster.count("select count(*) from task_runs where status = 'RUNNING'"))
                .isZero();
        assertThat(cluster.count("select count(*) from tasks where owner_session is not null"))
                .isZero();
        assertThat(cluster.count("select count(distinct instance_id) from task_runs"))
                .as("the work was shared")
                .isGreaterThan(1);
        // One history row per claim: no two runs of a task carry the same fence.
        assertThat(cluster.count(
                        "select count(*) from (select 1 from task_runs group by task_id, fence having count(*) > 1) d"))
                .isZero();
    }

    @Test
    void concurrentStartsCreateEachConfiguredTaskOnceAndOnlyChangesAreWritten() throws Exception {
        List<TaskDefinition> definitions = SchedulerCluster.tasks(20, "synced", "30s", i -> "noop");
        Map<String, TaskHandler> handlers = Map.of("noop", ctx -> {});
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 5)
                .mapToObj(i -> cluster.create("instance-" + i, handlers))
                .toList();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = schedulers.stream()
                .map(s -> Thread.ofVirtual().start(() -> {
                    try {
                        go.await();
                        s.syncTasks(definitions);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }))
                .toList();
        go.countDown();
        for (Thread t : threads) {
            t.join(Duration.ofSeconds(20));
        }

        assertThat(cluster.count("select count(*) from tasks")).isEqualTo(20);
        assertThat(schedulers.getFirst().syncTasks(definitions)).isZero();

        TaskDefinition changed =
                TaskDefinition.of("synced-3", "noop", "*/5 * * * *", "UTC", Duration.ofMinutes(2), true, Map.of());
        List<TaskDefinition> updated = definitions.stream()
                .map(d -> d.name().equals("synced-3") ? changed : d)
                .toList();
        assertThat(schedulers.get(1).syncTasks(updated)).isEqualTo(1);
        assertThat(cluster.query("select schedule from tasks where name = 'synced-3'", rs -> rs.getString(1)))
                .containsExactly("*/5 * * * *");
    }

    @Test
    void withTotalInstancesSetTheFirstClaimWaitsUntilThatManyInstancesAreAlive() {
        Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 3)
                .mapToObj(i -> cluster.create(
                        SchedulerCluster.settings("instance-" + i).toBuilder()
                                .settle(Duration.ofSeconds(2))
                                .totalInstances(3)
                                .build(),
                        handlers,
                        cluster::connection))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(3, "task", "1m", i -> "hold"));
        schedulers.getFirst().start();

        Timing.holdsFor(Duration.ofSeconds(1)).until(() -> cluster.count("select count(*) from task_runs") == 0);
        schedulers.get(1).start();
        schedulers.get(2).start();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null") == 3);
        assertThat(cluster.runningByInstance()).containsOnlyKeys("instance-1", "instance-2", "instance-3");
    }

    /**
     * With a total set, one of the instances started together settled, claimed and died before the
     * others saw the total alive (QuarantineIT: its task's handler kills its process at once). Its
     * shares counted them, so they stop settling rather than wait ten settles while their part (a task
     * recovered from it included) stays due. A mark left before they registered (an earlier life of the
     * cluster) does not end their settling.
     */
    @Test
    void instancesWaitingForTheTotalClaimOnceAPeerStartedWithThemHasSettledThoughItDiedSince() throws Exception {
        Map<String, TaskHandler> handlers = Map.of("hold", ctx -> release.await());
        // Ten settles (50 s) outlast the wait below: only the peer's mark can end their settling in time.
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 2)
                .mapToObj(i -> cluster.create(
                        SchedulerCluster.settings("instance-" + i).toBuilder()
                                .settle(Duration.ofSeconds(5))
                                .totalInstances(3)
                                .build(),
                        handlers,
                        cluster::connection))
                .toList();
        schedulers.getFirst().syncTasks(SchedulerCluster.tasks(2, "task", "1m", i -> "hold"));
        cluster.execute("""
                insert into instances (id, host, version, session_key, started_at, heartbeat_at, state, settled_at)
                values ('earlier', 'h', 'v', 1001, now() - interval '1 hour', now() - interval '1 hour', 'GONE',
                        now() - interval '1 hour')
                """);
        schedulers.forEach(Scheduler::start);

        Timing.holdsFor(Duration.ofSeconds(2)).until(() -> cluster.count("select count(*) from task_runs") == 0);
        // Registered after them, settled, and its process (no lock held) gone at once.
        cluster.execute("""
                insert into instances (id, host, version, session_key, started_at, heartbeat_at, state, settled_at)
                values ('died-at-once', 'h', 'v', 1002, now(), now(), 'RUNNING', now())
                """);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance is not null") == 2);
        assertThat(cluster.runningByInstance()).containsOnlyKeys("instance-1", "instance-2");
    }
}
