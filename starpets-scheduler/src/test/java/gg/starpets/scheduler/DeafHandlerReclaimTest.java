package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A run whose task was taken over (its instance was frozen, say) and whose handler ignores
 * interruption keeps executing in its process. When the task falls due again, that process must not
 * start it a second time while the first handler is still alive there.
 */
class DeafHandlerReclaimTest {

    /** Long enough for the claim loop to have looked many times (it looks every heartbeat or sooner). */
    private static final Duration NOT_STARTED_FOR = Duration.ofSeconds(2);

    private SchedulerCluster cluster;
    private final AtomicBoolean letGo = new AtomicBoolean();
    private final AtomicInteger halts = new AtomicInteger();
    /** Each handler's start and return, in order, as the handlers saw them: "start <run>", "end <run>". */
    private final ConcurrentLinkedQueue<String> witness = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        letGo.set(true);
        cluster.close();
    }

    /** Ignores interruption: runs until the test lets it go, then returns. */
    private final TaskHandler deaf = context -> {
        witness.add("start " + context.runId());
        while (!letGo.get()) {
            LockSupport.parkNanos(1_000_000);
        }
        witness.add("end " + context.runId());
    };

    @Test
    void aTaskWhoseEarlierHandlerStillExecutesHereIsNotStartedHereAgainUntilItReturns() {
        Scheduler s =
                cluster.createNamed(SchedulerCluster.settings("inst-a"), Map.of("deaf", deaf), halts::incrementAndGet);
        s.syncTasks(List.of(TaskDefinition.of("once", "deaf", "1h", "UTC", Duration.ofMinutes(10), true, Map.of())));
        s.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> witness.size() == 1);
        long first = cluster.count("select current_run_id from tasks");

        // Taken over, as another instance's recovery does: the run LOST, the task due at once, a new fence.
        cluster.execute("""
                update task_runs set status = 'LOST', finished_at = now() where status = 'RUNNING';
                update tasks set owner_instance = null, owner_session = null, lease_until = null, current_run_id = null,
                       started_at = null, owner_lock_seen_at = null, next_run_at = now(), next_cause = 'RECOVERY',
                       fence = fence + 1;
                select pg_notify('starpets_tasks', '');
                """);

        await().during(NOT_STARTED_FOR)
                .atMost(NOT_STARTED_FOR.plusSeconds(5))
                .until(() -> witness.size() == 1
                        && cluster.count("select count(*) from tasks where owner_session is null") == 1);

        letGo.set(true);

        await().atMost(Duration.ofSeconds(10)).until(() -> witness.size() >= 3);
        long second = cluster.count("select max(id) from task_runs");
        assertThat(witness)
                .as("the second run starts only once the first handler has returned")
                .startsWith("start " + first, "end " + first, "start " + second);
    }
}
