package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats asked for at once (the watch asks on every loss and reconnection) coalesce: while one
 * hangs on the network, the other housekeeping duties (recovery, timeouts) keep their threads.
 */
class HeartbeatRequestsTest {

    private final ManualClock clock = new ManualClock();
    private final ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(3);
    private final CountDownLatch network = new CountDownLatch(1);
    private final AtomicInteger connects = new AtomicInteger();

    @AfterEach
    void tearDown() {
        network.countDown();
        pool.shutdownNow();
    }

    @Test
    void requestsWhileAHeartbeatHangsHoldAtMostOneHousekeepingThread() {
        // Opening the primary session hangs until the test lets it fail.
        ConnectionFactory hanging = () -> {
            connects.incrementAndGet();
            try {
                network.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new SQLException("connection refused");
        };
        InstanceSession session = new InstanceSession(hanging, hanging, 1, ManualClock.LEASE, clock.guard);
        TaskRepository tasks = new TaskRepository();
        RunExecutor executor = new RunExecutor(
                null, tasks, Map.of(), SchedulerEvents.NONE, pool, 1, clock.settings, clock.guard, () -> {});
        Heartbeat heartbeat = new Heartbeat(
                clock.settings,
                session,
                new InstanceRepository(null),
                tasks,
                executor,
                new Capacity(0, executor::notReturned),
                clock.guard,
                () -> {},
                () -> null);
        heartbeat.start(pool);

        for (int i = 0; i < 50; i++) {
            heartbeat.requestNow();
        }
        await().atMost(Duration.ofSeconds(5))
                .until(() -> connects.get() == 1 && pool.getQueue().size() <= 1);

        AtomicInteger otherDuty = new AtomicInteger();
        pool.schedule(otherDuty::incrementAndGet, 0, TimeUnit.MILLISECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> otherDuty.get() == 1);
        assertThat(pool.getActiveCount()).as("threads held by heartbeats").isEqualTo(1);
        for (int i = 0; i < 50; i++) {
            heartbeat.requestNow();
        }
        pool.schedule(otherDuty::incrementAndGet, 0, TimeUnit.MILLISECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> otherDuty.get() == 2);

        // Once the session fails, the beat in progress serves the requests made meanwhile (one more beat).
        network.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.getActiveCount() == 0);
        assertThat(connects.get())
                .as("connection attempts: the hung beat's two, then at least one more")
                .isGreaterThanOrEqualTo(3);
    }
}
