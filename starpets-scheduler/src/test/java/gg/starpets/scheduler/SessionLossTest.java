package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An instance's database session ending while its process lives is not its death: nobody else starts
 * its tasks, its runs go on, and nothing is recorded LOST. Judged from the handlers' real steps.
 */
@RunsAlongside
class SessionLossTest {

    private static final Duration STEP = Duration.ofMillis(50);

    private SchedulerCluster cluster;
    private final Steps steps = new Steps();
    private final AtomicInteger halts = new AtomicInteger();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    /** The service's own timing (heartbeat 1 s, lease 10 s): a lost lock is taken as death after 0.5 s. */
    private Scheduler instance(String id) {
        SchedulerSettings settings = SchedulerCluster.settings(id).toBuilder()
                .heartbeat(Duration.ofSeconds(1))
                .lease(Duration.ofSeconds(10))
                .settle(Duration.ofMillis(200))
                .build();
        // 100 steps of 50 ms: each run takes about 5 s.
        return cluster.createNamed(settings, Map.of("step", steps.stepper(id, 100, STEP)), halts::incrementAndGet);
    }

    /** Instance a runs three tasks; instance b is up with nothing to do. */
    private Scheduler[] aRunsThreeTasksAndBWaits() {
        Scheduler a = instance("inst-a");
        a.syncTasks(SchedulerCluster.tasks(3, "work", "1h", i -> "step"));
        a.start();
        await().atMost(Timing.SOON).until(() -> a.activeRuns() == 3);
        Scheduler b = instance("inst-b");
        b.start();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from instances where id = 'inst-b'") == 1);
        return new Scheduler[] {a, b};
    }

    /**
     * Waits for a's next heartbeat, so that the sessions end as far from the following one as they can:
     * a's lock, if it vanished, would stay missing for longer than the grace before a heartbeat noticed.
     */
    private void justAfterAHeartbeatOfA() {
        String beat = "select extract(epoch from heartbeat_at)::text from instances where id = 'inst-a'";
        String last = cluster.query(beat, rs -> rs.getString(1)).getFirst();
        await().pollInterval(Duration.ofMillis(5))
                .atMost(Timing.SOON)
                .until(() ->
                        !cluster.query(beat, rs -> rs.getString(1)).getFirst().equals(last));
    }

    private void assertTheRunsWentOnUntouched() {
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status <> 'RUNNING'") == 3);
        assertThat(cluster.query("select instance_id || ' ' || status from task_runs", rs -> rs.getString(1)))
                .as("the runs in progress ended as if nothing had happened")
                .containsOnly("inst-a SUCCEEDED")
                .hasSize(3);
        assertThat(steps.count("inst-b"))
                .as("steps taken by the other instance")
                .isZero();
        assertThat(steps.overlaps(STEP)).isEmpty();
        assertThat(halts).hasValue(0);
    }

    @Test
    void whenItsPrimarySessionIsKilledTheLockStaysHeldByTheOtherAndTheSessionIsReopened() {
        aRunsThreeTasksAndBWaits();
        justAfterAHeartbeatOfA();

        assertThat(cluster.terminate("starpets-session-inst-a")).isEqualTo(1);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count(
                                "select count(*) from pg_stat_activity where application_name = 'starpets-session-inst-a'")
                        == 1);
        assertTheRunsWentOnUntouched();
    }

    @Test
    void whenBothItsSessionsAreKilledItPausesItsRunsUntilItHoldsItsLockAgainAndLosesNoWork() {
        aRunsThreeTasksAndBWaits();
        justAfterAHeartbeatOfA();

        assertThat(cluster.terminate("starpets-session-inst-a", "starpets-watch-inst-a"))
                .isEqualTo(2);

        assertTheRunsWentOnUntouched();
    }

    @Test
    void whenItsWatchSessionIsKilledItIsReopenedAndNothingElseHappens() {
        aRunsThreeTasksAndBWaits();
        justAfterAHeartbeatOfA();

        assertThat(cluster.terminate("starpets-watch-inst-a")).isEqualTo(1);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count(
                                "select count(*) from pg_stat_activity where application_name = 'starpets-watch-inst-a'")
                        == 1);
        assertTheRunsWentOnUntouched();
    }

    @Test
    void aClaimTakesNothingWithoutTheClaimersOwnSessionLockHeld() throws Exception {
        Scheduler setup = instance("inst-setup");
        setup.syncTasks(SchedulerCluster.tasks(2, "due", "1h", i -> "step"));
        TaskRepository tasks = new TaskRepository();
        try (Connection c = cluster.pool.getConnection()) {
            long nobodysKey = 4242L;
            assertThat(tasks.claim(c, "ghost", nobodysKey, Duration.ofSeconds(10), 5))
                    .isEmpty();
            try (var lock = c.createStatement()) {
                lock.execute("select pg_advisory_lock_shared(" + nobodysKey + ")");
            }
            assertThat(tasks.claim(c, "ghost", nobodysKey, Duration.ofSeconds(10), 5))
                    .hasSize(2);
        }
    }

    @Test
    void aSecondProcessWithTheIdOfALiveOneRefusesToStartAndARestartedOneTakesOver() {
        Scheduler first = instance("inst-same");
        first.start();

        Scheduler second = instance("inst-same");
        assertThatThrownBy(second::start)
                .isInstanceOf(InstanceRepository.DuplicateInstanceException.class)
                .hasMessageContaining("instance id 'inst-same' is in use by a live process");

        first.close();
        Scheduler restarted = instance("inst-same");
        restarted.start();
        assertThat(cluster.count("select count(*) from instances where id = 'inst-same' and state = 'RUNNING'"))
                .isEqualTo(1);
    }

    @Test
    void leasesAreRenewedOnlyForRunsAliveInThisProcess() throws Exception {
        Scheduler setup = instance("inst-setup");
        setup.syncTasks(SchedulerCluster.tasks(2, "owned", "1h", i -> "step"));
        TaskRepository tasks = new TaskRepository();
        try (Connection c = cluster.pool.getConnection()) {
            long key = 777L;
            try (var lock = c.createStatement()) {
                lock.execute("select pg_advisory_lock_shared(" + key + ")");
            }
            List<ClaimedRun> claimed = tasks.claim(c, "inst-x", key, Duration.ofSeconds(2), 2);
            assertThat(claimed).hasSize(2);
            long alive = claimed.getFirst().runId();

            List<Renewed> owned = tasks.renewLeases(c, key, Duration.ofMinutes(10), new long[] {alive});

            assertThat(owned).containsExactly(new Renewed(alive, false));
            assertThat(cluster.count("select count(*) from tasks where lease_until > now() + interval '5 minutes'"))
                    .as("only the alive run's lease was extended")
                    .isEqualTo(1);
        }
    }
}
