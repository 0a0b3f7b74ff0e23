package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.handlers.WitnessHandler;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrency groups and rate limits across instances: judged from the runs' recorded start and end
 * times and from the chaos suite's witness (files the handlers write, outside the engine's tables).
 */
@RunsAlongside
class ConcurrencyGroupTest {

    /** How long a count that must not grow is watched: many claim turns and heartbeats (250 ms). */
    private static final Duration STAYS = Duration.ofSeconds(2);

    private SchedulerCluster cluster;
    private GroupRepository groups;

    @TempDir
    Path witnessDir;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
        groups = new GroupRepository(cluster.pool);
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(
            String name, String handler, String schedule, String group, Map<String, Object> params) {
        return TaskDefinition.of(name, handler, schedule, "UTC", Duration.ofMinutes(1), true, params)
                .withConcurrencyGroup(group);
    }

    @Test
    void dueTasksOfAFullGroupDoNotKeepLaterDueTasksOfOthersWaiting() {
        groups.set("narrow", new GroupRepository.Limits(1, null), "test");
        Semaphore release = new Semaphore(0);
        // One unit free at a time on this instance (capacity 2, one held by the group's run): its quota is
        // one task per claim, and the group's waiting tasks are always the oldest due.
        Scheduler s = cluster.create(
                SchedulerCluster.startedTogether("instance-a", 1).toBuilder()
                        .maxConcurrentRuns(2)
                        .build(),
                Map.of(
                        "held",
                        context -> {
                            release.acquire();
                        },
                        "quick",
                        context -> {}),
                cluster::connection);
        List<TaskDefinition> tasks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            tasks.add(task("narrow-" + i, "held", "100ms", "narrow", Map.of()));
        }
        tasks.add(task("other", "quick", "1s", null, Map.of()));
        s.syncTasks(tasks);
        s.start();
        try {
            await().atMost(Timing.SOON)
                    .until(() -> cluster.count("select count(*) from task_runs where task_name like 'narrow-%'") == 1);
            long otherBefore = cluster.count("select count(*) from task_runs where task_name = 'other'");
            // The group stays full (its run holds); the task in no group must still start, again and again.
            await().atMost(Timing.SOON)
                    .until(() -> cluster.count("select count(*) from task_runs where task_name = 'other'")
                            >= otherBefore + 3);
            assertThat(cluster.count("select count(*) from task_runs where task_name like 'narrow-%'"))
                    .as("the group's limit held meanwhile")
                    .isEqualTo(1);
        } finally {
            release.release(100);
        }
    }

    @Test
    void aGroupOfLimitThreeNeverRunsMoreThanThreeAtOnceAcrossThreeInstances() throws IOException {
        groups.set("partner-api", new GroupRepository.Limits(3, null), "test");
        List<TaskDefinition> tasks = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            // Each run 300 ms, due again 100 ms after: all fifteen are due again and again.
            tasks.add(task(
                    "grouped-" + i, "witness", "100ms", "partner-api", Map.of("duration", "300ms", "step", "50ms")));
        }
        for (int i = 0; i < 3; i++) {
            tasks.add(task("free-" + i, "quick", "100ms", null, Map.of()));
        }
        List<Scheduler> instances = new ArrayList<>();
        for (String id : List.of("instance-a", "instance-b", "instance-c")) {
            Map<String, TaskHandler> handlers =
                    Map.of("witness", new WitnessHandler(witnessDir, id), "quick", context -> {});
            // Two runs at most on each instance: the group's 3 at once need two instances, while the
            // instances together could run 6 (the limit binds). One instance alone re-claims its own
            // freed slots first (its own runs' ends wake it), so without a capacity it could keep them all.
            instances.add(cluster.create(
                    SchedulerCluster.startedTogether(id, 3).toBuilder()
                            .maxConcurrentRuns(2)
                            .build(),
                    handlers,
                    cluster::connection));
        }
        instances.getFirst().syncTasks(tasks);
        instances.forEach(Scheduler::start);

        await().atMost(Timing.WORK)
                .until(() -> cluster.count("select count(*) from task_runs where task_name like 'grouped-%'"
                                + " and status = 'SUCCEEDED'")
                        >= 60);
        instances.forEach(Scheduler::close);

        assertThat(AtOnce.recorded(cluster, "grouped-%"))
                .as("most runs at once, recorded")
                .isEqualTo(3);
        assertThat(AtOnce.witnessed(witnessDir))
                .as("most runs at once, witnessed")
                .isEqualTo(3);
        assertThat(cluster.count("select count(distinct instance_id) from task_runs where task_name like 'grouped-%'"))
                .as("the group's runs were spread over the instances")
                .isGreaterThan(1);
        assertThat(cluster.count(
                        "select count(*) from task_runs where task_name like 'free-%' and status = 'SUCCEEDED'"))
                .as("tasks with no group ran as before")
                .isPositive();
        assertThat(cluster.count("select count(*) from group_slots where task_id is not null"))
                .as("every slot free once every run has ended")
                .isZero();
    }

    /** Records the tasks it was entered for and returns when the test lets one go. */
    private static final class Gated implements TaskHandler {
        final Semaphore gate = new Semaphore(0);
        final List<String> started = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void run(RunContext context) throws InterruptedException {
            started.add(context.taskName());
            gate.acquire();
        }
    }

    @Test
    void theSlotOfAnInstanceWhoseSessionIsLostIsFreedByItsRecoveryNotBefore() {
        groups.set("one-at-a-time", new GroupRepository.Limits(1, null), "test");
        Gated hold = new Gated();
        Killable a = new Killable(cluster, SchedulerCluster.settings("instance-a"), Map.of("hold", hold));
        a.scheduler.syncTasks(List.of(
                task("first", "hold", "1h", "one-at-a-time", Map.of()),
                task("second", "hold", "1h", "one-at-a-time", Map.of())));
        a.scheduler.start();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 1);
        Scheduler b = cluster.create("instance-b", Map.of("hold", hold));
        b.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from instances where id = 'instance-b'") == 1);
        Timing.holdsFor(STAYS).until(() -> hold.started.size() == 1);
        assertThat(cluster.count("select count(*) from task_runs where instance_id = 'instance-b'"))
                .as("while a lives and holds the slot, b starts nothing of the group")
                .isZero();

        a.kill();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where instance_id = 'instance-b'") == 1);

        long startedBeforeRecovery = cluster.count("""
                select count(*) from task_runs b, task_runs lost
                 where b.instance_id = 'instance-b' and lost.status = 'LOST' and b.started_at < lost.finished_at
                """);
        assertThat(cluster.count("select count(*) from task_runs where status = 'LOST'"))
                .as("a's run was recovered")
                .isEqualTo(1);
        assertThat(startedBeforeRecovery)
                .as("b's run started after the recovery")
                .isZero();
        Timing.holdsFor(STAYS)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'instance-b'") == 1);
        hold.gate.release(10);
    }

    /** Tasks "one" and "two" of the group "serial" of limit 1 on one instance, one of them started. */
    private Scheduler serialPairOneRunning(Gated hold) {
        groups.set("serial", new GroupRepository.Limits(1, null), "test");
        Scheduler s = cluster.create("instance-a", Map.of("hold", hold));
        s.syncTasks(
                List.of(task("one", "hold", "1h", "serial", Map.of()), task("two", "hold", "1h", "serial", Map.of())));
        s.start();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 1);
        return s;
    }

    @Test
    void aRunThatEndsFreesItsSlotAtOnceForTheNextDueTask() {
        Gated hold = new Gated();
        serialPairOneRunning(hold);
        Timing.holdsFor(STAYS).until(() -> hold.started.size() == 1);
        String first = hold.started.getFirst();

        hold.gate.release();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 2);
        assertThat(cluster.count("select count(*) from group_slots s join tasks t on t.id = s.task_id"
                        + " where t.name = '" + first + "'"))
                .as("the ended run's task holds no slot")
                .isZero();
        assertThat(cluster.count("""
                select count(*) from task_runs a, task_runs b
                 where a.task_name = '%s' and b.task_name <> a.task_name and b.started_at < a.finished_at
                """.formatted(first)))
                .as("the second started after the first ended")
                .isZero();
        hold.gate.release();
    }

    @Test
    void aRateLimitHoldsAcrossInstances() {
        groups.set("metered", new GroupRepository.Limits(null, GroupRepository.RateLimit.parse("3/2s")), "test");
        List<TaskDefinition> tasks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            tasks.add(task("metered-" + i, "slow", "100ms", "metered", Map.of()));
        }
        List<Scheduler> instances = new ArrayList<>();
        for (String id : List.of("instance-a", "instance-b", "instance-c")) {
            // One run of 1.5 s at a time on each instance: one instance starts at most 2 in any 2 s, so
            // the window's 3 starts need two instances.
            instances.add(cluster.create(
                    SchedulerCluster.startedTogether(id, 3).toBuilder()
                            .maxConcurrentRuns(1)
                            .build(),
                    Map.of("slow", context -> context.sleep(Duration.ofMillis(1500))),
                    cluster::connection));
        }
        instances.getFirst().syncTasks(tasks);
        instances.forEach(Scheduler::start);

        await().atMost(Timing.WORK)
                .until(() -> cluster.count("select count(*) from task_runs where task_name like 'metered-%'") >= 9);
        instances.forEach(Scheduler::close);

        long mostInAWindow = cluster.count("""
                select max((select count(*) from task_runs o
                             where o.task_name like 'metered-%' and o.started_at >= r.started_at
                               and o.started_at < r.started_at + interval '2 s'))
                  from task_runs r where r.task_name like 'metered-%'
                """);
        assertThat(mostInAWindow).as("most starts within any 2 s").isEqualTo(3);
        assertThat(cluster.count("select count(distinct instance_id) from task_runs where task_name like 'metered-%'"))
                .as("started by several instances")
                .isGreaterThan(1);
    }

    @Test
    void aDueTaskWithNoFreeSlotShowsWaitingForGroupAndWhy() {
        groups.set("narrow", new GroupRepository.Limits(1, null), "test");
        Gated hold = new Gated();
        Scheduler s = cluster.create("instance-a", Map.of("hold", hold));
        s.syncTasks(
                List.of(task("one", "hold", "1h", "narrow", Map.of()), task("two", "hold", "1h", "narrow", Map.of())));
        s.start();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 1);
        String waiting = hold.started.getFirst().equals("one") ? "two" : "one";

        TaskViews.TaskView view =
                new TaskViews(cluster.pool).find(waiting).tasks().getFirst();
        assertThat(view.state()).isEqualTo("WAITING_FOR_GROUP");
        assertThat(view.groupWait()).contains("narrow").contains("1 of 1");

        hold.gate.release();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 2);
        TaskViews.TaskView ended = new TaskViews(cluster.pool)
                .find(hold.started.getFirst())
                .tasks()
                .getFirst();
        assertThat(ended.state()).as("not due: waiting for its schedule").isEqualTo("WAITING");
        hold.gate.release();
    }

    @Test
    void aLimitLoweredBelowWhatRunsLetsThemFinishAndAdmitsNobodyUntilUnderIt() {
        groups.set("shrinking", new GroupRepository.Limits(3, null), "test");
        Gated hold = new Gated();
        Scheduler s = cluster.create("instance-a", Map.of("hold", hold));
        List<TaskDefinition> tasks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            tasks.add(task("s-" + i, "hold", "1h", "shrinking", Map.of()));
        }
        s.syncTasks(tasks);
        s.start();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 3);

        groups.set("shrinking", new GroupRepository.Limits(1, null), "test");
        hold.gate.release();
        Timing.holdsFor(STAYS).until(() -> hold.started.size() == 3);
        hold.gate.release();
        Timing.holdsFor(STAYS).until(() -> hold.started.size() == 3);
        hold.gate.release();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 4);
        Timing.holdsFor(STAYS).until(() -> hold.started.size() == 4);
        assertThat(cluster.count("select count(*) from group_slots where group_name = 'shrinking'"))
                .isEqualTo(1);
        hold.gate.release(10);
    }

    @Test
    void aTaskInAGroupWithNoLimitDefinedRunsWithNoLimit() {
        Gated hold = new Gated();
        Scheduler s = cluster.create("instance-a", Map.of("hold", hold));
        s.syncTasks(List.of(
                task("u-1", "hold", "1h", "undefined", Map.of()), task("u-2", "hold", "1h", "undefined", Map.of())));
        s.start();
        await().atMost(Timing.SOON).until(() -> hold.started.size() == 2);
        assertThat(groups.find("undefined").orElseThrow().maxConcurrent()).isNull();
        hold.gate.release(2);
    }

    /** A connection holding a session lock of key {@code key}, as an instance's claims need. */
    private Connection locked(long key) throws SQLException {
        Connection c = cluster.pool.getConnection();
        try (var st = c.createStatement()) {
            st.execute("select pg_advisory_lock_shared(" + key + ")");
        }
        return c;
    }

    private static List<ClaimedRun> claim(Connection c, long key, boolean groupLimits) throws SQLException {
        return new TaskRepository()
                .claim(
                        c,
                        "inst-x",
                        key,
                        Duration.ofMinutes(1),
                        10,
                        new long[0],
                        Capacity.Room.UNLIMITED,
                        null,
                        groupLimits,
                        Duration.ZERO);
    }

    @Test
    void aClaimWithoutTheGroupStepsLeavesTheTasksOfAGroupWithALimitToTheClaimWithThem() throws SQLException {
        Scheduler setup = cluster.create("instance-setup", Map.of("hold", new Gated()));
        setup.syncTasks(List.of(
                task("limited-1", "hold", "1h", "one-at-a-time", Map.of()),
                task("limited-2", "hold", "1h", "one-at-a-time", Map.of()),
                task("free", "hold", "1h", null, Map.of()),
                task("unlimited", "hold", "1h", "undefined", Map.of())));
        // Given a limit after the share query saw none: the claim without the group steps must not start its tasks.
        groups.set("one-at-a-time", new GroupRepository.Limits(1, null), "test");
        try (Connection c = locked(781L)) {
            assertThat(claim(c, 781L, false))
                    .as("without the group steps: the tasks of no group with a limit")
                    .extracting(ClaimedRun::task)
                    .containsExactlyInAnyOrder("free", "unlimited");
            assertThat(claim(c, 781L, true))
                    .as("with them: one task of the group, as its limit allows")
                    .extracting(ClaimedRun::task)
                    .containsExactly("limited-1");
            assertThat(claim(c, 781L, false))
                    .as("nothing more without the steps")
                    .isEmpty();
        }
        assertThat(cluster.count("select count(*) from group_slots where task_id is not null"))
                .isEqualTo(1);
    }

    @Test
    void theReleaseOfATaskThatNeverHeldASlotCallsNoGroupTrigger() throws SQLException {
        Scheduler setup = cluster.create("instance-setup", Map.of("hold", new Gated()));
        setup.syncTasks(List.of(
                task("limited", "hold", "1h", "one-at-a-time", Map.of()), task("free", "hold", "1h", null, Map.of())));
        groups.set("one-at-a-time", new GroupRepository.Limits(1, null), "test");
        try (Connection c = locked(782L)) {
            assertThat(claim(c, 782L, true)).hasSize(2);
            c.setAutoCommit(false);
            try (var st = c.createStatement()) {
                st.execute("set local track_functions = 'pl'");
                st.executeUpdate("update tasks set owner_session = null, lease_until = null where name = 'free'");
                assertThat(freeSlotCalls(st))
                        .as("the release of a task that held no slot")
                        .isZero();
                st.executeUpdate("update tasks set owner_session = null, lease_until = null where name = 'limited'");
                assertThat(freeSlotCalls(st))
                        .as("the release of the task holding the slot")
                        .isEqualTo(1);
            }
            c.commit();
        }
        assertThat(cluster.count("select count(*) from group_slots where task_id is not null"))
                .as("the slot freed")
                .isZero();
    }

    /** How often this transaction called the trigger function that frees a slot (track_functions on). */
    private static long freeSlotCalls(java.sql.Statement st) throws SQLException {
        try (var rs = st.executeQuery(
                "select coalesce(pg_stat_get_xact_function_calls('starpets_free_group_slot'::regproc), 0)")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aTaskThatLeavesItsGroupWhileItRunsStillFreesItsSlotWhenItEnds() {
        Gated hold = new Gated();
        Scheduler s = serialPairOneRunning(hold);
        String first = hold.started.getFirst();
        String second = first.equals("one") ? "two" : "one";
        // Redefined in no group while its run holds the slot: the release must still free it.
        s.syncTasks(List.of(task(first, "hold", "1h", null, Map.of()), task(second, "hold", "1h", "serial", Map.of())));
        assertThat(cluster.count("select count(*) from tasks where concurrency_group is null"))
                .isEqualTo(1);

        hold.gate.release();
        await().atMost(Timing.SOON).until(() -> hold.started.contains(second));
        assertThat(cluster.count("select count(*) from group_slots s join tasks t on t.id = s.task_id"
                        + " where t.name = '" + first + "'"))
                .as("the task that left the group holds no slot")
                .isZero();
        hold.gate.release(10);
    }
}
