package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-instance capacity ({@code SCHEDULER_MAX_CONCURRENT_RUNS}, a task's {@code cost}), judged by the
 * test handlers' own counters of live handlers (entered and not yet returned), not by the engine's
 * bookkeeping.
 */
@RunsAlongside
class CapacityTest {

    /** How long a count that must not grow is watched: many claim turns and heartbeats (250 ms). */
    private static final Duration STAYS = Duration.ofSeconds(2);

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    /** A handler that counts its live runs (in units of {@code cost}) and returns when the test lets one go. */
    private static final class Gated implements TaskHandler {
        final Semaphore gate = new Semaphore(0);
        final AtomicInteger started = new AtomicInteger();
        final AtomicInteger liveUnits;
        final AtomicInteger maxUnits;
        private final int cost;

        Gated(int cost, AtomicInteger liveUnits, AtomicInteger maxUnits) {
            this.cost = cost;
            this.liveUnits = liveUnits;
            this.maxUnits = maxUnits;
        }

        Gated() {
            this(1, new AtomicInteger(), new AtomicInteger());
        }

        @Override
        public void run(RunContext context) throws InterruptedException {
            maxUnits.accumulateAndGet(liveUnits.addAndGet(cost), Math::max);
            started.incrementAndGet();
            try {
                gate.acquire();
            } finally {
                liveUnits.addAndGet(-cost);
            }
        }
    }

    private static SchedulerSettings withCapacity(String instanceId, int capacity) {
        return SchedulerCluster.settings(instanceId).toBuilder()
                .maxConcurrentRuns(capacity)
                .build();
    }

    private static TaskDefinition task(String name, String handler, int cost) {
        return TaskDefinition.of(name, handler, "1h", "UTC", Duration.ofMinutes(5), true, Map.of())
                .withCost(cost);
    }

    @Test
    void anInstanceOfCapacityTwoNeverHasMoreThanTwoLiveHandlersAndStartsTheRestAsRunsEnd() {
        Gated hold = new Gated();
        Scheduler s = cluster.create(withCapacity("instance-1", 2), Map.of("hold", hold), cluster::connection);
        s.syncTasks(SchedulerCluster.tasks(5, "task", "1h", i -> "hold"));
        s.start();

        await().atMost(Timing.SOON).until(() -> hold.started.get() >= 2);
        Timing.holdsFor(STAYS).until(() -> hold.started.get() == 2);
        for (int ended = 1; ended <= 3; ended++) {
            hold.gate.release();
            int expected = 2 + ended;
            await().atMost(Timing.SOON).until(() -> hold.started.get() == expected);
        }
        hold.gate.release(2);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 5);

        assertThat(hold.maxUnits.get())
                .as("live handlers at once, as they counted themselves")
                .isEqualTo(2);
        assertThat(cluster.count("select count(*) from task_runs")).isEqualTo(5);
    }

    @Test
    void dueTasksAreRunByAnotherInstanceWhenOneIsFull() {
        Gated blockerA = new Gated();
        Gated holdA = new Gated();
        Gated holdB = new Gated();
        Scheduler a = cluster.create(
                withCapacity("instance-a", 1), Map.of("blocker", blockerA, "hold", holdA), cluster::connection);
        a.syncTasks(List.of(task("blocker", "blocker", 1)));
        a.start();
        await().atMost(Timing.SOON).until(() -> blockerA.started.get() == 1);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select runs_used from instances where id = 'instance-a'") == 1);

        Scheduler b = cluster.create(
                withCapacity("instance-b", 10), Map.of("blocker", new Gated(), "hold", holdB), cluster::connection);
        b.start();
        // Due now, while instance-a (first by id, so first for the remainder of a split) is full.
        b.syncTasks(List.of(
                task("blocker", "blocker", 1),
                task("t-1", "hold", 1),
                task("t-2", "hold", 1),
                task("t-3", "hold", 1),
                task("t-4", "hold", 1)));

        await().atMost(Timing.SOON).until(() -> holdB.started.get() == 4);
        assertThat(holdA.started.get())
                .as("the full instance started nothing more")
                .isZero();
        assertThat(blockerA.liveUnits.get()).as("instance-a was full all along").isEqualTo(1);
        assertThat(a.capacityUsed()).isEqualTo(1);
        assertThat(a.capacity()).isEqualTo(1);
    }

    @Test
    void anInstanceTellsTheOthersAtOnceWhenItBecomesFullAndWhenItIsNoLonger() {
        // A heartbeat far longer than the waits below: only the beats asked for at once can pass.
        Duration heartbeat = Timing.SOON.multipliedBy(2);
        SchedulerSettings settings = withCapacity("instance-a", 1).toBuilder()
                .heartbeat(heartbeat)
                .lease(heartbeat.multipliedBy(3))
                .build();
        Gated blocker = new Gated();
        Scheduler a = cluster.create(settings, Map.of("blocker", blocker), cluster::connection);
        a.syncTasks(List.of(task("blocker", "blocker", 1)));
        a.start();

        await().atMost(Timing.SOON).until(() -> blocker.started.get() == 1);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select runs_used from instances where id = 'instance-a'") == 1);
        blocker.gate.release();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select runs_used from instances where id = 'instance-a'") == 0);
    }

    @Test
    void costsCountSoTasksOfCostThreeAndTwoNeverRunAtOnceOnACapacityOfFour() {
        AtomicInteger liveUnits = new AtomicInteger();
        AtomicInteger maxUnits = new AtomicInteger();
        Gated heavy = new Gated(3, liveUnits, maxUnits);
        Gated medium = new Gated(2, liveUnits, maxUnits);
        Scheduler s = cluster.create(
                withCapacity("instance-1", 4), Map.of("heavy", heavy, "medium", medium), cluster::connection);
        s.syncTasks(List.of(task("heavy", "heavy", 3), task("medium", "medium", 2)));
        s.start();

        await().atMost(Timing.SOON).until(() -> heavy.started.get() + medium.started.get() >= 1);
        Timing.holdsFor(STAYS).until(() -> heavy.started.get() + medium.started.get() == 1);
        assertThat(s.capacityUsed()).isIn(2, 3);
        Gated first = heavy.started.get() == 1 ? heavy : medium;
        Gated second = first == heavy ? medium : heavy;
        first.gate.release();
        await().atMost(Timing.SOON).until(() -> second.started.get() == 1);
        second.gate.release();

        assertThat(maxUnits.get())
                .as("units live at once, as the handlers counted them")
                .isLessThanOrEqualTo(3);
    }

    @Test
    void aConfiguredTaskCostingMoreThanTheWholeCapacityIsRefusedNamingIt() {
        Scheduler s = cluster.create(withCapacity("instance-1", 2), Map.of("hold", new Gated()), cluster::connection);

        assertThatThrownBy(() -> s.syncTasks(List.of(task("too-heavy", "hold", 3))))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageContaining("too-heavy")
                .hasMessageContaining("SCHEDULER_MAX_CONCURRENT_RUNS=2");
        assertThat(cluster.count("select count(*) from tasks")).isZero();
    }

    @Test
    void withoutACapacityAnInstanceRunsEveryDueTaskAtOnce() {
        Gated hold = new Gated();
        Scheduler s = cluster.create("instance-1", Map.of("hold", hold));
        s.syncTasks(SchedulerCluster.tasks(12, "task", "1h", i -> "hold"));
        s.start();

        await().atMost(Timing.SOON).until(() -> hold.started.get() == 12);
        assertThat(s.capacity()).isZero();
        hold.gate.release(12);
    }
}
