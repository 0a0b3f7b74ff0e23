package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Retries, misfires, jitter, quarantine, and operators' pause, resume, trigger, cancel, on the database clock. */
@RunsAlongside
class TaskOperationsTest {

    private SchedulerCluster cluster;
    private final CountDownLatch release = new CountDownLatch(1);
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    private int call(String task) {
        return calls.computeIfAbsent(task, t -> new AtomicInteger()).incrementAndGet();
    }

    private Scheduler instance(Map<String, TaskHandler> handlers) {
        return cluster.create("inst-1", handlers);
    }

    private static TaskDefinition task(String name, String handler, String schedule) {
        return TaskDefinition.of(name, handler, schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    private List<String> runs(String task) {
        return cluster.query(
                "select attempt || ' ' || cause || ' ' || status from task_runs where task_name = '" + task
                        + "' order by id",
                rs -> rs.getString(1));
    }

    /** Runs of the task that have ended: a run's row is there, RUNNING, from its claim on. */
    private long ended(String task) {
        return cluster.count("select count(*) from task_runs where task_name = '" + task + "' and status <> 'RUNNING'");
    }

    @Test
    void aFailedRunIsRetriedWithBackOffEachAttemptItsOwnRun() {
        Scheduler s = instance(Map.of("flaky", ctx -> {
            if (call(ctx.taskName()) < 3) {
                throw new IllegalStateException("partner down");
            }
        }));
        s.syncTasks(List.of(task("flaky-task", "flaky", "1h")
                .withRetry(new RetryPolicy(4, Duration.ofMillis(300), 2.0, Duration.ofSeconds(5)))));
        s.start();

        await().atMost(Timing.SOON).until(() -> ended("flaky-task") == 3);
        assertThat(runs("flaky-task")).containsExactly("1 SCHEDULE FAILED", "2 RETRY FAILED", "3 RETRY SUCCEEDED");
        // 300 ms, then 600 ms (each ±10 %) after the handler of one run returned, the next run starts:
        // at least that long after the previous run started. Not after its finished_at: that is when its
        // end was written, which on a loaded machine comes 100 ms and more after the handler returned
        // (a clean-clone CI run measured 0.494 s for the 600 ms back-off that way).
        assertThat(cluster.query("""
                        select extract(epoch from r.started_at - p.started_at) from task_runs r
                          join task_runs p on p.task_id = r.task_id and p.attempt = r.attempt - 1
                         order by r.id
                        """, rs -> rs.getDouble(1)))
                .satisfiesExactly(
                        gap -> assertThat(gap).isBetween(0.26, 3.0),
                        gap -> assertThat(gap).isBetween(0.53, 3.0));
        // Succeeded: back to the schedule, an hour away.
        assertThat(cluster.count("select count(*) from tasks where next_attempt = 1 and next_cause = 'SCHEDULE'"
                        + " and next_run_at > now() + interval '50 minutes'"))
                .isEqualTo(1);
    }

    @Test
    void aRetryIsNeverLaterThanTheNextRegularTime() {
        Scheduler s = instance(Map.of("broken", ctx -> {
            call(ctx.taskName());
            throw new IllegalStateException("always");
        }));
        // Every 2 s; a retry would be 30 s later: the next regular run comes first, as attempt 1.
        s.syncTasks(List.of(task("broken-task", "broken", "*/2 * * * * *")
                .withRetry(new RetryPolicy(5, Duration.ofSeconds(30), 1.0, Duration.ofSeconds(30)))));
        s.start();

        // Three runs ended; the next may be running already (its row is there from its claim).
        await().atMost(Timing.SOON)
                .until(() -> runs("broken-task").stream()
                                .filter(r -> !r.endsWith(" RUNNING"))
                                .count()
                        >= 3);
        assertThat(runs("broken-task"))
                .allSatisfy(r -> assertThat(r).isIn("1 SCHEDULE FAILED", "1 SCHEDULE RUNNING"))
                .filteredOn(r -> !r.endsWith(" RUNNING"))
                .hasSizeGreaterThanOrEqualTo(3);
    }

    @Test
    void missedTimesRunOnceByDefaultEachWithCatchUpAndNotAtAllWithSkipWhichRecordsThemMissed() {
        // Daily, at an hour 12 hours from now: no slot of the schedule can come due while the test runs
        // (with every minute, one that fell inside a slow run of the test added a run and failed it).
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        int hour = (now.getHour() + 12) % 24;
        String daily = "0 " + hour + " * * *";
        ZonedDateTime lastSlot = now.truncatedTo(ChronoUnit.DAYS).withHour(hour);
        if (lastSlot.isAfter(now)) {
            lastSlot = lastSlot.minusDays(1);
        }
        Scheduler s = instance(Map.of("noop", ctx -> call(ctx.taskName())));
        s.syncTasks(List.of(
                task("run-once", "noop", daily),
                task("catch-up", "noop", daily)
                        .withMisfire(new MisfirePolicy(
                                MisfirePolicy.Kind.CATCH_UP, Duration.ofMinutes(1), 3, Duration.ofDays(6))),
                task("skip", "noop", daily)
                        .withMisfire(new MisfirePolicy(
                                MisfirePolicy.Kind.SKIP, Duration.ofSeconds(5), 10, Duration.ofDays(6)))));
        // Every instance was down for five days: five slots missed.
        String down = lastSlot.minusDays(4).toInstant().toString();
        cluster.execute("update tasks set next_run_at = '" + down + "', next_fire_at = '" + down + "'");
        s.start();

        await().atMost(Timing.SOON).until(() -> ended("run-once") == 1 && ended("catch-up") == 4);
        assertThat(runs("catch-up"))
                .containsExactly(
                        "1 SCHEDULE SUCCEEDED", "1 CATCH_UP SUCCEEDED", "1 CATCH_UP SUCCEEDED", "1 CATCH_UP SUCCEEDED");
        // Each catch-up run served the slot after the one before.
        assertThat(cluster.query(
                        "select extract(epoch from scheduled_for)::bigint from task_runs where task_name = 'catch-up'"
                                + " order by id",
                        rs -> rs.getLong(1)))
                .satisfies(times -> {
                    for (int i = 1; i < times.size(); i++) {
                        assertThat(times.get(i) - times.get(i - 1))
                                .isEqualTo(Duration.ofDays(1).toSeconds());
                    }
                });
        await().atMost(Timing.SOON)
                .until(() ->
                        cluster.count("select count(*) from tasks where name = 'skip' and next_run_at > now()") == 1);
        assertThat(runs("skip"))
                .as("a time missed by more than its threshold is skipped: each of the five is a MISSED row")
                .containsExactly(
                        "1 SCHEDULE MISSED",
                        "1 SCHEDULE MISSED",
                        "1 SCHEDULE MISSED",
                        "1 SCHEDULE MISSED",
                        "1 SCHEDULE MISSED");
        // All three wait for their next future time now (the limit of 3 catch-ups was reached).
        Timing.holdsFor(Duration.ofSeconds(1))
                .until(() -> runs("run-once").size() == 1 && runs("catch-up").size() == 4);
    }

    @Test
    void jitterSpreadsTheDueTimesOfTasksDueAtTheSameMoment() {
        Scheduler s = instance(Map.of("noop", ctx -> {}));
        s.syncTasks(SchedulerCluster.tasks(20, "spread", "0 0 * * *", i -> "noop").stream()
                .map(d -> d.withJitter(Duration.ofMinutes(10)))
                .toList());
        // Due now (a new cron task waits for its next time: midnight), all at the same moment.
        cluster.execute("update tasks set next_run_at = now(), next_fire_at = now()");
        s.start();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 20);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where owner_session is null") == 20);
        // Every one due at midnight (its fire time), each at its own moment of the following ten minutes.
        assertThat(cluster.count("select count(distinct next_fire_at) from tasks"))
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from tasks where next_run_at >= next_fire_at"
                        + " and next_run_at < next_fire_at + interval '10 minutes'"))
                .isEqualTo(20);
        assertThat(cluster.count("select count(distinct next_run_at) from tasks"))
                .isGreaterThan(15);
    }

    @Test
    void aTaskWhoseRunsAreLostAgainAndAgainIsQuarantinedUntilResumed() {
        Scheduler s = instance(Map.of("noop", ctx -> {}));
        s.syncTasks(List.of(task("cursed", "noop", "1h")));
        OrphanRecovery recovery = new OrphanRecovery(
                SchedulerCluster.settings("inst-1"),
                cluster.pool,
                new InstanceRepository(cluster.pool),
                new TaskRepository(),
                SchedulerEvents.NONE,
                Map.of());
        // Three runs in a row whose instance died at once (its lock, seen at the claim, gone; the lease
        // expired): as a handler that kills its process does.
        for (int i = 0; i < 3; i++) {
            cluster.execute("""
                    update tasks set owner_instance = 'ghost', owner_session = 99, lease_until = now() - interval '1 s',
                           current_run_id = nextval(pg_get_serial_sequence('task_runs', 'id')), started_at = now(),
                           owner_lock_seen_at = now(), fence = fence + 1, next_run_at = now();
                    insert into task_runs (id, task_id, task_name, instance_id, fence, scheduled_for)
                    select current_run_id, id, name, 'ghost', fence, now() from tasks;
                    """);
            assertThat(recovery.runOnce()).isEqualTo(1);
        }

        assertThat(cluster.count("select count(*) from tasks where quarantined_at is not null"))
                .isEqualTo(1);
        TaskCommands commands = new TaskCommands(cluster.pool);
        assertThatThrownBy(() -> commands.trigger("cursed", false, "operator:test"))
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(TaskCommands.Refusal.QUARANTINED));
        s.start();
        // No run of it at all (a quick one would be gone from RUNNING before a look): only the three lost.
        Timing.holdsFor(Duration.ofSeconds(1))
                .until(() -> cluster.count("select count(*) from task_runs where status <> 'LOST'") == 0);
        assertThat(new TaskViews(cluster.pool).find("cursed").tasks().getFirst().state())
                .isEqualTo("QUARANTINED");

        commands.resume("cursed", null, "operator:test");

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);
        assertThat(new TaskEvents(cluster.pool).find("cursed", null, 10))
                .extracting(TaskEvents.TaskEvent::action)
                .containsExactly("RESUMED", "QUARANTINED", "CREATED");
    }

    @Test
    void aPausedTaskDoesNotRunUntilResumedButATriggerRunsItOnce() {
        Scheduler s = instance(Map.of("noop", ctx -> call(ctx.taskName())));
        s.syncTasks(List.of(task("report", "noop", "* * * * * *")));
        TaskCommands commands = new TaskCommands(cluster.pool);
        TaskViews.TaskView paused = commands.pause("report", null, null, "partner maintenance", "operator:ann")
                .tasks()
                .getFirst();
        assertThat(paused.pausedAt()).isNotNull();
        s.start();

        Timing.holdsFor(Duration.ofSeconds(2)).until(() -> runs("report").isEmpty());
        commands.trigger("report", false, "operator:ann");
        await().atMost(Timing.SOON).until(() -> ended("report") == 1);
        assertThat(runs("report")).containsExactly("1 TRIGGER SUCCEEDED");
        Timing.holdsFor(Duration.ofSeconds(1)).until(() -> runs("report").size() == 1);

        commands.resume("report", null, "operator:bob");
        await().atMost(Timing.SOON).until(() -> runs("report").size() >= 3);
        assertThat(new TaskEvents(cluster.pool).find("report", null, 10))
                .extracting(e -> e.action() + " " + e.actor())
                .containsExactly(
                        "RESUMED operator:bob",
                        "TRIGGERED operator:ann",
                        "PAUSED operator:ann",
                        "CREATED config:inst-1");
    }

    @Test
    void aPauseEndsAtItsTime() {
        Scheduler s = instance(Map.of("noop", ctx -> call(ctx.taskName())));
        s.syncTasks(List.of(task("nightly", "noop", "* * * * * *")));
        new TaskCommands(cluster.pool)
                .pause("nightly", null, java.time.Instant.now().plusSeconds(2), "for two seconds", "operator:ann");
        s.start();

        await().atMost(Timing.SOON).until(() -> !runs("nightly").isEmpty());
        assertThat(new TaskEvents(cluster.pool).find("nightly", null, 10))
                .extracting(e -> e.action() + " " + e.actor())
                .startsWith("RESUMED scheduler:inst-1", "PAUSED operator:ann");
    }

    @Test
    void aCancelledRunStopsAndIsRecordedCancelledAndATriggerWhileRunningIsRefusedOrQueued() {
        Scheduler s = instance(Map.of("long", ctx -> {
            if (call(ctx.taskName()) == 1) {
                ctx.sleep(Duration.ofMinutes(5));
            }
        }));
        s.syncTasks(List.of(task("long-task", "long", "1h")));
        s.start();
        await().atMost(Timing.SOON).until(() -> s.activeRuns() == 1);
        TaskCommands commands = new TaskCommands(cluster.pool);

        assertThatThrownBy(() -> commands.trigger("long-task", false, "operator:ann"))
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(TaskCommands.Refusal.RUNNING));
        commands.trigger("long-task", true, "operator:ann");
        long run = cluster.count("select current_run_id from tasks");
        assertThat(commands.cancel(run, "operator:ann")).isEqualTo("long-task");

        await().atMost(Timing.SOON).until(() -> ended("long-task") == 2);
        assertThat(runs("long-task")).containsExactly("1 SCHEDULE CANCELLED", "1 TRIGGER SUCCEEDED");
        assertThatThrownBy(() -> commands.cancel(run, "operator:ann"))
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(TaskCommands.Refusal.NOT_RUNNING));
        assertThatThrownBy(() -> commands.cancel(424242, "operator:ann"))
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(TaskCommands.Refusal.RUN_NOT_FOUND));
    }

    @Test
    void aConfigurationTaskNoLiveInstanceDefinesIsRetiredAndComesBackWhenDefinedAgain() {
        Scheduler s = instance(Map.of("noop", ctx -> {}));
        s.syncTasks(List.of(task("kept", "noop", "1h"), task("dropped", "noop", "1h")));
        // A new version of the configuration, without "dropped", on every live instance.
        s.syncTasks(List.of(task("kept", "noop", "1h")));
        s.start();

        await().atMost(Timing.SOON)
                .until(() ->
                        cluster.count("select count(*) from tasks where name = 'dropped' and retired_at is not null")
                                == 1);
        assertThat(new TaskViews(cluster.pool)
                        .find("dropped")
                        .tasks()
                        .getFirst()
                        .state())
                .isEqualTo("DISABLED");

        s.syncTasks(List.of(task("kept", "noop", "1h"), task("dropped", "noop", "1h")));
        assertThat(cluster.count("select count(*) from tasks where retired_at is not null"))
                .isZero();
        assertThat(new TaskEvents(cluster.pool).find("dropped", null, 10))
                .extracting(TaskEvents.TaskEvent::action)
                .containsExactly("UPDATED", "RETIRED", "CREATED");
    }

    @Test
    void aNewConfigurationTaskIsNotRetiredBetweenItsSyncAndItsInstancesRegistration() {
        Scheduler old = cluster.create("inst-old", Map.of("noop", ctx -> {}));
        old.syncTasks(List.of(task("kept", "noop", "1h")));
        old.start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);

        // A rolling update: the new version writes its definitions, then (a moment later) registers.
        Scheduler fresh = cluster.create("inst-new", Map.of("noop", ctx -> {}));
        fresh.syncTasks(List.of(task("kept", "noop", "1h"), task("added", "noop", "1h")));
        await().during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(3))
                .until(() -> cluster.count("select count(*) from tasks where retired_at is not null") == 0);
        fresh.start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where task_name = 'added'") == 1);
        // Past the sync's grace (a lease), the registered instance keeps it defined.
        await().pollDelay(SchedulerCluster.LEASE)
                .atMost(SchedulerCluster.LEASE.multipliedBy(2))
                .until(() -> cluster.count("select count(*) from tasks where retired_at is not null") == 0);
        assertThat(new TaskEvents(cluster.pool).find("added", null, 10))
                .extracting(TaskEvents.TaskEvent::action)
                .containsExactly("CREATED");
    }

    @Test
    void aScheduleEditKeepsAPendingTriggerRetryOrRecoveryAndMovesAWaitingTask() {
        Scheduler s = instance(Map.of("noop", ctx -> {}));
        s.syncTasks(List.of(
                task("triggered", "noop", "0 0 1 1 *"),
                task("retrying", "noop", "0 0 1 1 *"),
                task("recovered", "noop", "0 0 1 1 *"),
                task("waiting", "noop", "0 0 1 1 *")));
        TaskCommands commands = new TaskCommands(cluster.pool);
        commands.trigger("triggered", false, "operator:ann");
        cluster.execute("update tasks set next_cause = 'RETRY', next_attempt = 2, next_run_at = now() + interval '5 s'"
                + " where name = 'retrying'");
        cluster.execute("update tasks set next_cause = 'RECOVERY', next_attempt = 2, next_run_at = now()"
                + " where name = 'recovered'");
        // Every pending cause and attempt kept, and only the task waiting for its schedule moved.
        List<String> kept = List.of(
                "recovered RECOVERY 2 true",
                "retrying RETRY 2 true",
                "triggered TRIGGER 1 true",
                "waiting SCHEDULE 1 false");
        String pending = "select name || ' ' || next_cause || ' ' || next_attempt || ' '"
                + " || (next_run_at < now() + interval '1 minute') from tasks order by name";

        // Changed in the configuration (each instance's sync), and, for API tasks, over the API.
        s.syncTasks(List.of(
                task("triggered", "noop", "0 0 2 1 *"),
                task("retrying", "noop", "0 0 2 1 *"),
                task("recovered", "noop", "0 0 2 1 *"),
                task("waiting", "noop", "0 0 2 1 *")));
        assertThat(cluster.query(pending, rs -> rs.getString(1))).containsExactlyElementsOf(kept);

        cluster.execute("update tasks set source = 'API'");
        for (String name : List.of("triggered", "retrying", "recovered", "waiting")) {
            commands.update(name, null, task(name, "noop", "0 0 3 1 *"), "operator:ann");
        }
        assertThat(cluster.query(pending, rs -> rs.getString(1))).containsExactlyElementsOf(kept);
        assertThat(cluster.count("select count(*) from tasks where name = 'waiting'"
                        + " and extract(month from next_run_at at time zone 'UTC') = 1"
                        + " and extract(day from next_run_at at time zone 'UTC') = 3"))
                .isEqualTo(1);
    }
}
