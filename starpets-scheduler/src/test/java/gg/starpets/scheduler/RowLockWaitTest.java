package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Timing;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A task row locked by another transaction (an operator's, a stuck client's) holds neither the
 * heartbeat nor housekeeping for as long as it is locked, and housekeeping never keeps the rows it
 * changed locked while it waits for another.
 */
class RowLockWaitTest {

    /**
     * Heartbeat 250 ms, plus a renewal's longest wait for a locked row (400 ms), plus room for a loaded
     * 2-core machine; below the 2 s a renewal held by the lock would take.
     */
    private static final long LONGEST_HEARTBEAT_GAP_MS = 1200;

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(String name, String schedule) {
        return TaskDefinition.of(name, "noop", schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    /** A transaction of the test's that holds a task's row locked until closed. */
    private Connection lockRow(String task) throws Exception {
        Connection holder = cluster.pool.getConnection();
        holder.setAutoCommit(false);
        try (var st = holder.createStatement()) {
            st.execute("select 1 from tasks where name = '" + task + "' for update");
        }
        return holder;
    }

    @Test
    void housekeepingSkipsALockedRowAndCommitsEachDutyOnItsOwn() throws Exception {
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> {}));
        MisfirePolicy skip = new MisfirePolicy(MisfirePolicy.Kind.SKIP, Duration.ofSeconds(5), 10, Duration.ofHours(1));
        s.syncTasks(List.of(
                task("paused", "1h"),
                task("skip-free", "* * * * *").withMisfire(skip),
                task("skip-locked", "* * * * *").withMisfire(skip)));
        cluster.execute("update tasks set paused_at = now(), paused_until = now() - interval '1 second'"
                + " where name = 'paused'");
        cluster.execute("update tasks set next_run_at = now() - interval '10 minutes' where name like 'skip-%'");
        TaskHousekeeping housekeeping = new TaskHousekeeping(SchedulerCluster.settings("inst-1"), cluster.pool);
        String moved = "select count(*) from tasks where name = '%s' and next_run_at > now()";

        try (Connection holder = lockRow("skip-locked")) {
            CompletableFuture.runAsync(housekeeping::runOnce).get(10, TimeUnit.SECONDS);

            assertThat(cluster.count("select count(*) from tasks where name = 'paused' and paused_at is null"))
                    .as("the pause ended, committed")
                    .isEqualTo(1);
            assertThat(cluster.count(moved.formatted("skip-free"))).isEqualTo(1);
            assertThat(cluster.count(moved.formatted("skip-locked"))).isZero();
            holder.rollback();
        }
        housekeeping.runOnce();
        assertThat(cluster.count(moved.formatted("skip-locked"))).isEqualTo(1);
    }

    @Test
    void theHeartbeatGoesOnWhileARunningTasksRowIsLockedAndTheRunKeepsItsTask() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> {
            while (!release.await(20, TimeUnit.MILLISECONDS)) {
                if (!ctx.mayContinue()) {
                    return;
                }
            }
        }));
        s.syncTasks(List.of(task("long", "1h")));
        s.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> s.activeRuns() == 1);
        long run = cluster.count("select current_run_id from tasks");
        String beats = "select extract(epoch from clock_timestamp() - heartbeat_at) * 1000 from instances";

        try (Connection holder = lockRow("long")) {
            // Heartbeats go on every 250 ms, a renewal waiting at most 400 ms (a tenth of the lease) for
            // the row; held by the lock, the heartbeat would stop until the session's socket timeout
            // (2 s here) dropped it.
            // Never too old over the window, looked at on every poll (a window that a late heartbeat
            // merely restarted would let a stopped heartbeat pass once it recovered).
            Timing.holdsFor(Duration.ofSeconds(2))
                    .failFast(
                            "a heartbeat older than " + LONGEST_HEARTBEAT_GAP_MS + " ms",
                            () -> cluster.count(beats) >= LONGEST_HEARTBEAT_GAP_MS)
                    .until(() -> true);
            holder.rollback();
        }

        release.countDown();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where status <> 'RUNNING'") == 1);
        assertThat(cluster.query("select id || ' ' || status from task_runs", rs -> rs.getString(1)))
                .containsExactly(run + " SUCCEEDED");
    }
}
