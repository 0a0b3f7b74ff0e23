package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Priorities where capacity is short (a task's {@code priority}, {@code SCHEDULER_PRIORITY_AGING}), judged
 * by the order the test handlers were entered in, as they recorded it themselves.
 */
@RunsAlongside
class PriorityTest {

    /** How long a count that must not grow is watched: many claim turns and heartbeats (250 ms). */
    private static final Duration STAYS = Duration.ofSeconds(2);

    /** A starvation bound far longer than these tests: only priorities and due times decide. */
    private static final Duration NO_AGING = Duration.ofHours(1);
    /**
     * High-priority starts that show a low-priority task was passed over while it waited, not merely
     * slow to start: on a quiet machine about ten start in the three seconds it waits, on a loaded
     * 2-core one (a CI run, builds and another test class beside it) as few as four were seen.
     */
    private static final long PASSED_OVER = 2;

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    /** Records the tasks it was entered for, in order, and returns when the test lets one go. */
    private static final class Gated implements TaskHandler {
        final Semaphore gate = new Semaphore(0);
        final List<String> started = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void run(RunContext context) throws InterruptedException {
            started.add(context.taskName());
            gate.acquire();
        }

        int count() {
            return started.size();
        }

        List<String> snapshot() {
            synchronized (started) {
                return List.copyOf(started);
            }
        }
    }

    private static SchedulerSettings withCapacity(String instanceId, int capacity, Duration aging) {
        return SchedulerCluster.settings(instanceId).toBuilder()
                .maxConcurrentRuns(capacity)
                .priorityAging(aging)
                .build();
    }

    private static TaskDefinition task(String name, String handler, int priority) {
        return TaskDefinition.of(name, handler, "1h", "UTC", Duration.ofMinutes(5), true, Map.of())
                .withPriority(priority);
    }

    /** Makes a task due {@code secondsAgo} seconds ago, before any instance claims. */
    private void dueAgo(String task, int secondsAgo) {
        cluster.execute("update tasks set next_run_at = now() - interval '" + secondsAgo + " s',"
                + " next_fire_at = now() - interval '" + secondsAgo + " s' where name = '" + task + "'");
    }

    @Test
    void onAnInstanceOfCapacityTwoDueTasksStartByPriorityThenOldestDueFirst() {
        Gated hold = new Gated();
        Scheduler s =
                cluster.create(withCapacity("instance-1", 2, NO_AGING), Map.of("hold", hold), cluster::connection);
        s.syncTasks(List.of(
                task("low-oldest", "hold", -3),
                task("zero-older", "hold", 0),
                task("zero-newer", "hold", 0),
                task("five-older", "hold", 5),
                task("five-newer", "hold", 5),
                task("nine-newest", "hold", 9)));
        // Due order is the reverse of priority order, so due order alone would start low-oldest first.
        dueAgo("low-oldest", 60);
        dueAgo("zero-older", 50);
        dueAgo("zero-newer", 40);
        dueAgo("five-older", 30);
        dueAgo("five-newer", 20);
        dueAgo("nine-newest", 10);
        s.start();

        await().atMost(Timing.SOON).until(() -> hold.count() >= 2);
        Timing.holdsFor(STAYS).until(() -> hold.count() == 2);
        assertThat(hold.snapshot()).as("the first two started").containsExactlyInAnyOrder("nine-newest", "five-older");
        for (int next = 3; next <= 6; next++) {
            hold.gate.release();
            int expected = next;
            await().atMost(Timing.SOON).until(() -> hold.count() == expected);
        }
        hold.gate.release(2);

        assertThat(hold.snapshot().subList(2, 6))
                .as("each start as a run ended")
                .containsExactly("five-newer", "zero-older", "zero-newer", "low-oldest");
    }

    @Test
    void onThreeInstancesOfCapacityOneTheThreeHighestPrioritiesStartFirst() {
        Gated hold = new Gated();
        List<TaskDefinition> tasks = new ArrayList<>();
        for (int p = 1; p <= 9; p++) {
            tasks.add(task("p" + p, "hold", p));
        }
        List<Scheduler> instances = new ArrayList<>();
        for (String id : List.of("instance-a", "instance-b", "instance-c")) {
            SchedulerSettings settings = SchedulerCluster.startedTogether(id, 3).toBuilder()
                    .maxConcurrentRuns(1)
                    .priorityAging(NO_AGING)
                    .build();
            instances.add(cluster.create(settings, Map.of("hold", hold), cluster::connection));
        }
        instances.get(0).syncTasks(tasks);
        // The lowest priorities are the oldest due: due order alone would start p1, p2, p3.
        for (int p = 1; p <= 9; p++) {
            dueAgo("p" + p, 100 - p);
        }
        instances.forEach(Scheduler::start);

        await().atMost(Timing.SOON).until(() -> hold.count() >= 3);
        Timing.holdsFor(STAYS).until(() -> hold.count() == 3);
        assertThat(hold.snapshot()).containsExactlyInAnyOrder("p9", "p8", "p7");
        assertThat(cluster.runningByInstance()).as("one on each instance").hasSize(3);

        hold.gate.release(3);
        await().atMost(Timing.SOON).until(() -> hold.count() >= 6);
        Timing.holdsFor(STAYS).until(() -> hold.count() == 6);
        assertThat(hold.snapshot().subList(3, 6)).containsExactlyInAnyOrder("p6", "p5", "p4");
        hold.gate.release(6);
    }

    /** A run of a high-priority task: long enough that the other one is always due when it ends. */
    private static final class Busy implements TaskHandler {
        @Override
        public void run(RunContext context) throws InterruptedException {
            Thread.sleep(300);
        }
    }

    @Test
    void aLowPriorityTaskUnderASteadyStreamOfHigherOnesStartsOnceItHasWaitedTheAgingBound() {
        // The bound under test; the wait for it gets the machine's margin.
        Duration aging = Duration.ofSeconds(3);
        Gated low = new Gated();
        Scheduler s = cluster.create(
                withCapacity("instance-1", 1, aging), Map.of("busy", new Busy(), "low", low), cluster::connection);
        // Two high-priority tasks due again 100 ms after each run of 300 ms: whenever the one unit frees,
        // the other one has been due for about 200 ms.
        s.syncTasks(List.of(
                TaskDefinition.of("high-1", "busy", "100ms", "UTC", Duration.ofMinutes(1), true, Map.of())
                        .withPriority(10),
                TaskDefinition.of("high-2", "busy", "100ms", "UTC", Duration.ofMinutes(1), true, Map.of())
                        .withPriority(10),
                task("starved", "low", -10)));
        s.start();

        await().atMost(aging.plus(Timing.SOON)).until(() -> low.count() == 1);
        low.gate.release();

        long waitedMs = cluster.count("select (extract(epoch from started_at - scheduled_for) * 1000)::bigint"
                + " from task_runs where task_name = 'starved'");
        assertThat(waitedMs)
                .as("the low-priority task waited the bound (priorities held until then)")
                .isGreaterThanOrEqualTo(aging.toMillis());
        long highStartsMeanwhile = cluster.count("select count(*) from task_runs h, task_runs l"
                + " where l.task_name = 'starved' and h.task_name like 'high-%'"
                + " and h.started_at between l.scheduled_for and l.started_at");
        assertThat(highStartsMeanwhile)
                .as("high-priority runs started while it waited: the pressure was real")
                .isGreaterThanOrEqualTo(PASSED_OVER);
    }
}
