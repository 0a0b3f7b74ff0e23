package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Quarantine counts only the LOST runs a task may have caused: its instance proven dead (its lock
 * gone, not a lease run out under a held lock) soon after the run started, or halted for that very
 * run. A healthy long task whose owner is killed from outside again and again is not quarantined; a
 * task that kills every instance it starts on is.
 */
@RunsAlongside
class QuarantineRuleTest {

    private static final Duration STEP = Duration.ofMillis(50);

    private SchedulerCluster cluster;
    private final Steps steps = new Steps();
    private final AtomicBoolean letGo = new AtomicBoolean();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        letGo.set(true);
        cluster.close();
    }

    private static SchedulerSettings settings(String id, Duration window, int quarantineAfter) {
        return SchedulerCluster.settings(id).toBuilder()
                .quarantineWindow(window)
                .quarantineAfter(quarantineAfter)
                .build();
    }

    private String owner() {
        List<String> owners = cluster.query(
                "select owner_instance from tasks where owner_instance is not null", rs -> rs.getString(1));
        return owners.isEmpty() ? null : owners.getFirst();
    }

    @Test
    void aLongTaskWhoseOwnerIsKilledFromOutsideThreeTimesIsNotQuarantined() {
        Duration window = Duration.ofSeconds(2);
        Map<String, Killable> instances = new HashMap<>();
        for (int i = 1; i <= 4; i++) {
            String id = "inst-" + i;
            instances.put(
                    id,
                    new Killable(cluster, settings(id, window, 3), Map.of("long", steps.stepper(id, 1_000_000, STEP))));
        }
        instances
                .get("inst-1")
                .scheduler
                .syncTasks(List.of(
                        TaskDefinition.of("hour-long", "long", "1h", "UTC", Duration.ofHours(1), true, Map.of())));
        instances.values().forEach(k -> k.scheduler.start());

        for (int kill = 1; kill <= 3; kill++) {
            // Its owner has renewed its lease after the window: the run is well under way, then the owner dies.
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> owner() != null
                            && !instances.get(owner()).dead()
                            && cluster.count("select count(*) from tasks where owner_lock_seen_at"
                                            + " > started_at + interval '" + window.toMillis() + " milliseconds'")
                                    == 1);
            instances.get(owner()).kill();
            int lost = kill;
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.count("select count(*) from task_runs where status = 'LOST'") == lost
                            && owner() != null
                            && !instances.get(owner()).dead());
        }

        assertThat(cluster.query(
                        "select lost_streak || ' ' || (quarantined_at is null) from tasks", rs -> rs.getString(1)))
                .as("lost streak, not quarantined")
                .containsExactly("0 true");
        assertThat(cluster.count("select count(*) from task_runs where status = 'RUNNING'"))
                .as("it runs on the last instance")
                .isEqualTo(1);
    }

    @Test
    void aTaskThatKillsEveryInstanceItStartsOnIsQuarantinedAfterThreeAndTheLastInstanceLives() {
        Map<String, Killable> instances = new HashMap<>();
        AtomicInteger deaths = new AtomicInteger();
        for (int i = 1; i <= 4; i++) {
            String id = "inst-" + i;
            TaskHandler deadly = context -> {
                deaths.incrementAndGet();
                instances.get(id).kill();
                while (context.mayContinue()) {
                    steps.record(id, context);
                    context.sleep(STEP);
                }
            };
            instances.put(id, new Killable(cluster, settings(id, Duration.ofSeconds(10), 3), Map.of("deadly", deadly)));
        }
        instances
                .get("inst-1")
                .scheduler
                .syncTasks(List.of(
                        TaskDefinition.of("deadly", "deadly", "1h", "UTC", Duration.ofHours(1), true, Map.of())));
        instances.values().forEach(k -> k.scheduler.start());

        // The audit row is written just after the quarantine commits (OrphanRecovery.report): both are waited for.
        await().atMost(Duration.ofSeconds(60))
                .until(() -> cluster.count("select count(*) from tasks where quarantined_at is not null") == 1
                        && cluster.count("select count(*) from task_events where action = 'QUARANTINED'") == 1);

        assertThat(cluster.count("select count(*) from task_runs where status = 'LOST'"))
                .isEqualTo(3);
        // Quarantined: the last instance does not run it.
        Timing.holdsFor(Duration.ofSeconds(2))
                .until(() -> deaths.get() == 3 && cluster.count("select count(*) from task_runs") == 3);
        assertThat(instances.values().stream().filter(k -> !k.dead()).count()).isEqualTo(1);
    }

    /**
     * Lost runs of five kinds, each the fourth in a row that could be (three lost before): only the
     * ones the task may have caused quarantine it.
     */
    @Test
    void onlyLossesTheTaskMayHaveCausedCount() throws Exception {
        Scheduler setup = cluster.create("inst-setup", Map.of("noop", ctx -> {}));
        setup.syncTasks(SchedulerCluster.tasks(5, "t", "1h", i -> "noop"));
        // The locks held now were all taken an hour ago (the server has run since).
        cluster.execute("update scheduler_epoch set started_at = now() - interval '1 hour'");
        try (Connection frozen = cluster.connection()) {
            try (var st = frozen.createStatement()) {
                st.execute("select pg_advisory_lock_shared(1001)");
            }
            // Died one second into its run (its lock gone): counted.
            lost("t-0", 1000, "1 second", "1 second", null);
            // Frozen or cut off, its lock still held when its lease ran out: not counted.
            lost("t-1", 1001, "1 second", "1 second", null);
            // Died a minute into its run, after the window: not counted.
            lost("t-2", 1000, "61 seconds", "1 second", null);
            // Its process halted for another run: not counted.
            lost("t-3", 1000, "1 second", "1 second", false);
            // Its process halted for this run, late in it: counted.
            lost("t-4", 1000, "61 seconds", "1 second", true);

            recovery(Duration.ofSeconds(10)).runOnce();
        }

        assertThat(cluster.query(
                        "select name || ' ' || lost_streak || ' ' || (quarantined_at is not null)"
                                + " from tasks order by name",
                        rs -> rs.getString(1)))
                .containsExactly("t-0 3 true", "t-1 2 false", "t-2 2 false", "t-3 2 false", "t-4 3 true");
        assertThat(cluster.count("select count(*) from task_runs where status = 'LOST'"))
                .isEqualTo(5);
    }

    @Test
    void aLockLostToACrashRestartOrAPromotionProvesNothingAndDoesNotCount() throws Exception {
        Scheduler setup = cluster.create("inst-setup", Map.of("noop", ctx -> {}));
        setup.syncTasks(SchedulerCluster.tasks(1, "t", "1h", i -> "noop"));
        // Seen one second into its run, then the server crash-restarted (the epoch moved) and the lease ran out.
        lost("t-0", 1000, "5 seconds", "4 seconds", null);
        cluster.execute("update scheduler_epoch set started_at = now() - interval '1 second'");

        recovery(Duration.ofSeconds(10)).runOnce();

        assertThat(cluster.query(
                        "select lost_streak || ' ' || (quarantined_at is not null) from tasks", rs -> rs.getString(1)))
                .containsExactly("2 false");
    }

    private OrphanRecovery recovery(Duration window) {
        return new OrphanRecovery(
                settings("inst-recovering", window, 3),
                cluster.pool,
                new InstanceRepository(cluster.pool),
                new TaskRepository(),
                SchedulerEvents.NONE,
                Map.of());
    }

    /**
     * Makes {@code task} owned by session {@code key} since {@code startedAgo}, its lock last seen
     * {@code seenAgo}, its lease run out, two runs lost in a row before; {@code haltCulprit} as the
     * halting process recorded it (null: no halt).
     */
    private void lost(String task, long key, String startedAgo, String seenAgo, Boolean haltCulprit) {
        cluster.execute("""
                update tasks set owner_instance = 'ghost', owner_session = %d, lease_until = now() - interval '1 ms',
                       current_run_id = nextval(pg_get_serial_sequence('task_runs', 'id')),
                       started_at = now() - interval '%s', owner_lock_seen_at = now() - interval '%s',
                       fence = fence + 1, lost_streak = 2
                 where name = '%s';
                insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for, halt_culprit)
                select current_run_id, id, name, 'ghost', fence, now(), %s from tasks where name = '%s';
                """.formatted(key, startedAgo, seenAgo, task, haltCulprit, task));
    }

    @Test
    void aProcessThatHaltsForADeafHandlerCountsOnlyThatRunNotTheRunsHaltedWithIt() {
        AtomicInteger halts = new AtomicInteger();
        TaskHandler deaf = context -> {
            while (!letGo.get()) {
                LockSupport.parkNanos(1_000_000);
            }
        };
        Map<String, TaskHandler> handlers = Map.of("deaf", deaf, "coop", steps.stepper("inst-x", 1_000_000, STEP));
        // Cut off from the database, but for the record of its halt (which a reachable database gets).
        Killable x = new Killable(
                cluster,
                settings("inst-x", Duration.ofSeconds(10), 1),
                handlers,
                halts::incrementAndGet,
                thread -> thread.getName().equals("starpets-halt-record"));
        x.scheduler.syncTasks(List.of(
                TaskDefinition.of("stubborn", "deaf", "1h", "UTC", Duration.ofHours(1), true, Map.of()),
                TaskDefinition.of("polite", "coop", "1h", "UTC", Duration.ofHours(1), true, Map.of())));
        x.scheduler.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> x.scheduler.activeRuns() == 2);

        x.kill();

        await().atMost(Duration.ofSeconds(10)).until(() -> halts.get() == 1);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where halt_culprit is not null") == 2);
        cluster.create(settings("inst-y", Duration.ofSeconds(10), 1), handlers, cluster::connection)
                .start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where status = 'LOST'") == 2);
        assertThat(cluster.query(
                        "select name || ' ' || (quarantined_at is not null) from tasks order by name",
                        rs -> rs.getString(1)))
                .containsExactly("polite false", "stubborn true");
    }
}
