package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.TaskDefinition.RunAfter;
import gg.starpets.scheduler.TaskDefinition.RunAfter.When;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Run after ({@code run-after: {task, when}}) on scheduler instances sharing a real PostgreSQL: a task
 * starts once for each run of its upstream that ended as it asks, carrying that run's id and time;
 * loops and unknown upstreams are refused when defined; the end and the downstream run commit together.
 * The witnesses are the handlers (what each run was told) and the history rows.
 */
@RunsAlongside
class RunAfterTest {

    /** Once a year: the schedule never fires during a test. */
    private static final String YEARLY = "0 0 1 1 *";

    private SchedulerCluster cluster;
    private TaskCommands commands;
    private final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();

    /** What a downstream handler was told as its run started. */
    record Seen(String task, long runId, Long upstreamRunId, Instant scheduledFor) {}

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
        commands = new TaskCommands(cluster.pool);
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private TaskHandler downstream() {
        return ctx -> seen.add(new Seen(ctx.taskName(), ctx.runId(), ctx.upstreamRunId(), ctx.scheduledFor()));
    }

    private static TaskDefinition after(String name, String upstream, When when) {
        return TaskDefinition.of(name, "down", "once", "UTC", Duration.ofMinutes(1), true, Map.of())
                .withRunAfter(new RunAfter(upstream, when))
                .withAt(null);
    }

    private static TaskDefinition task(String name, String handler, String schedule) {
        return TaskDefinition.of(name, handler, schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    @Test
    void eachDownstreamRunsOncePerUpstreamRunThatEndedAsItAsksOnThreeInstances() {
        // Every third run of the upstream fails: both kinds of end, from its schedule (every 100 ms).
        AtomicInteger upstreamRuns = new AtomicInteger();
        TaskHandler upstream = ctx -> {
            if (upstreamRuns.incrementAndGet() % 3 == 0) {
                throw new IllegalStateException("every third run fails");
            }
        };
        Map<String, TaskHandler> handlers = Map.of("up", upstream, "down", downstream());
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 3)
                .mapToObj(i -> cluster.create("instance-" + i, handlers))
                .toList();
        schedulers
                .getFirst()
                .syncTasks(List.of(
                        task("import-orders", "up", "100ms"),
                        after("on-success", "import-orders", When.SUCCEEDED),
                        after("on-failure", "import-orders", When.FAILED),
                        after("on-any", "import-orders", When.ANY)));
        schedulers.forEach(Scheduler::start);

        await().atMost(Timing.WORK)
                .until(() -> cluster.count("select count(*) from task_runs where task_name = 'import-orders'"
                                + " and status = 'FAILED'")
                        >= 10);
        commands.pause("import-orders", null, null, "enough", "test");
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from tasks where name = 'import-orders'"
                                + " and owner_session is null")
                        == 1);
        long ends = cluster.count("select count(*) from task_runs where task_name = 'import-orders'");
        long succeeded = cluster.count(
                "select count(*) from task_runs where task_name = 'import-orders' and status = 'SUCCEEDED'");
        await().atMost(Timing.WORK).until(() -> seen.size() == ends + ends);
        await().atMost(Timing.SOON)
                .until(() ->
                        cluster.count("select count(*) from task_runs where status in ('PENDING', 'RUNNING')") == 0);
        schedulers.forEach(Scheduler::close);

        assertThat(succeeded).isPositive().isLessThan(ends);
        assertMatches("on-success", "status = 'SUCCEEDED'");
        assertMatches("on-failure", "status = 'FAILED'");
        assertMatches("on-any", "true");
        assertThat(cluster.count("select count(*) from task_runs where task_name like 'on-%'"))
                .as("no other downstream runs")
                .isEqualTo(ends + ends);
        assertThat(cluster.count("select count(*) from task_runs where task_name like 'on-%' and cause = 'UPSTREAM'"
                        + " and status = 'SUCCEEDED'"))
                .isEqualTo(ends + ends);
        assertThat(
                        cluster.count(
                                "select count(*) from task_runs where task_name like 'on-%'"
                                        + " and (select count(distinct instance_id) from task_runs d where d.task_name like 'on-%') > 1"))
                .as("downstream runs on several instances")
                .isPositive();
    }

    /** The downstream task's runs: one per upstream run matching {@code condition}, each told its id and time. */
    private void assertMatches(String downstream, String condition) {
        List<Long> upstreamIds = cluster.query(
                "select id from task_runs where task_name = 'import-orders' and " + condition, rs -> rs.getLong(1));
        List<Long> recorded = cluster.query(
                "select upstream_run_id from task_runs where task_name = '" + downstream + "'", rs -> rs.getLong(1));
        assertThat(recorded).as(downstream).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(upstreamIds);
        List<Seen> told = seen.stream().filter(s -> s.task().equals(downstream)).toList();
        assertThat(told).extracting(Seen::upstreamRunId).containsExactlyInAnyOrderElementsOf(upstreamIds);
        for (Seen s : told) {
            assertThat(s.scheduledFor())
                    .as("the upstream run's time")
                    .isEqualTo(cluster.query(
                                    "select scheduled_for from task_runs where id = " + s.upstreamRunId(),
                                    rs -> rs.getTimestamp(1).toInstant())
                            .getFirst());
        }
    }

    @Test
    void anUpstreamEndAndItsDownstreamRunCommitTogetherOrNotAtAll() {
        // The downstream run cannot be written while this trigger is there: then neither is the end.
        cluster.execute("""
                create function refuse_upstream() returns trigger language plpgsql as $$
                begin
                    raise exception 'downstream refused';
                end $$;
                create trigger refuse_upstream before insert on task_runs
                    for each row when (new.cause = 'UPSTREAM') execute function refuse_upstream();
                """);
        Scheduler scheduler = cluster.create("instance-1", Map.of("up", ctx -> {}, "down", downstream()));
        scheduler.syncTasks(List.of(task("import-orders", "up", YEARLY), after("report", "import-orders", When.ANY)));
        scheduler.start();
        commands.trigger("import-orders", false, "test");

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where task_name = 'import-orders'") == 1);
        // The end is retried (for up to a lease) and fails each time: the run stays RUNNING, no downstream.
        await().during(Duration.ofSeconds(1))
                .atMost(Timing.SOON)
                .until(() -> cluster.count(
                                        "select count(*) from task_runs where task_name = 'import-orders' and status = 'RUNNING'")
                                == 1
                        && cluster.count("select count(*) from task_runs where task_name = 'report'") == 0);

        cluster.execute("drop trigger refuse_upstream on task_runs");
        await().atMost(Timing.SOON).until(() -> seen.size() == 1);
        long upstreamRun = cluster.count("select id from task_runs where task_name = 'import-orders'");
        assertThat(seen.peek().upstreamRunId()).isEqualTo(upstreamRun);
        assertThat(cluster.count("select count(*) from task_runs where task_name = 'report'"))
                .isEqualTo(1);
    }

    @Test
    void aLostUpstreamRunCountsAsFailedAndStartsItsDownstreamOnce() {
        commands.create(task("import-orders", "up", YEARLY), "test");
        commands.create(after("on-failure", "import-orders", When.FAILED), "test");
        commands.create(after("on-success", "import-orders", When.SUCCEEDED), "test");
        // Its instance took it and vanished: owned by a session that holds no lock, its lease run out.
        cluster.execute("insert into task_runs (task_id, task_name, instance_id, fence, scheduled_for, started_at,"
                + " status, attempt, cause) select id, name, 'ghost', 1, now() - interval '1 minute', now(),"
                + " 'RUNNING', 1, 'SCHEDULE' from tasks where name = 'import-orders'");
        long lostRun = cluster.count("select id from task_runs where task_name = 'import-orders'");
        cluster.execute("update tasks set owner_instance = 'ghost', owner_session = 424242, fence = 1,"
                + " lease_until = now() - interval '1 second', current_run_id = " + lostRun + ", started_at = now()"
                + " where name = 'import-orders'");

        cluster.create("instance-1", Map.of("up", ctx -> {}, "down", downstream()))
                .start();

        await().atMost(Timing.SOON)
                .until(() -> seen.stream().anyMatch(s -> s.task().equals("on-failure")));
        assertThat(cluster.query("select status from task_runs where id = " + lostRun, rs -> rs.getString(1)))
                .containsExactly("LOST");
        Seen run = seen.stream()
                .filter(s -> s.task().equals("on-failure"))
                .findFirst()
                .orElseThrow();
        assertThat(run.upstreamRunId()).isEqualTo(lostRun);
        assertThat(cluster.count("select count(*) from task_runs where task_name = 'on-failure'"))
                .isEqualTo(1);
        // The recovered run of import-orders (attempt 2, SUCCEEDED) then starts on-success once.
        await().atMost(Timing.SOON)
                .until(() -> seen.stream().anyMatch(s -> s.task().equals("on-success")));
        assertThat(cluster.query(
                        "select upstream_run_id from task_runs where task_name = 'on-success'", rs -> rs.getLong(1)))
                .containsExactly(cluster.count(
                        "select id from task_runs where task_name = 'import-orders' and status = 'SUCCEEDED'"));
    }

    @Test
    void aRunRecordedTimedOutWhileItsHandlerStillExecutesStartsItsDownstreamOnceNotAgainWhenItReturns() {
        CountDownLatch release = new CountDownLatch(1);
        // Deaf to interruption until released: recorded TIMED_OUT (the task STUCK) while it still executes.
        TaskHandler deaf = ctx -> {
            boolean released = false;
            while (!released) {
                try {
                    released = release.await(1, TimeUnit.MINUTES);
                } catch (InterruptedException ignored) {
                    // Ignored: this handler does not stop when told to.
                }
            }
        };
        try {
            Scheduler scheduler = cluster.create("instance-1", Map.of("deaf", deaf, "down", downstream()));
            scheduler.syncTasks(List.of(
                    TaskDefinition.of("import-orders", "deaf", YEARLY, "UTC", Duration.ofMillis(500), true, null),
                    after("on-failure", "import-orders", When.FAILED)));
            scheduler.start();
            commands.trigger("import-orders", false, "test");

            await().atMost(Timing.SOON).until(() -> seen.size() == 1);
            long timedOut = cluster.count("select id from task_runs where task_name = 'import-orders'");
            assertThat(cluster.query("select status from task_runs where id = " + timedOut, rs -> rs.getString(1)))
                    .containsExactly("TIMED_OUT");
            assertThat(cluster.count(
                            "select count(*) from tasks where name = 'import-orders'" + " and stuck_since is not null"))
                    .as("still executing")
                    .isEqualTo(1);
            assertThat(seen.peek().upstreamRunId()).isEqualTo(timedOut);

            release.countDown();
            await().atMost(Timing.SOON)
                    .until(() -> cluster.count("select count(*) from tasks where name = 'import-orders'"
                                    + " and owner_session is null")
                            == 1);
            await().during(Duration.ofSeconds(1))
                    .atMost(Timing.SOON)
                    .until(() -> cluster.count("select count(*) from task_runs where task_name = 'on-failure'") == 1);
        } finally {
            release.countDown();
        }
    }

    @Test
    void aPausedDownstreamTaskDoesNotStartItsRunsWaitUntilItIsResumed() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("up", ctx -> {}, "down", downstream()));
        scheduler.syncTasks(List.of(task("import-orders", "up", YEARLY), after("report", "import-orders", When.ANY)));
        scheduler.start();
        commands.pause("report", null, null, "maintenance", "test");

        commands.trigger("import-orders", false, "test");
        await().atMost(Timing.SOON)
                .until(() -> cluster.count(
                                "select count(*) from task_runs where task_name = 'report'" + " and status = 'PENDING'")
                        == 1);
        await().during(Duration.ofSeconds(1)).atMost(Timing.SOON).until(seen::isEmpty);

        commands.resume("report", null, "test");
        await().atMost(Timing.SOON).until(() -> seen.size() == 1);
        assertThat(cluster.count("select count(*) from task_runs where task_name = 'report' and status = 'SUCCEEDED'"))
                .isEqualTo(1);
    }

    @Test
    void loopsAndUnknownUpstreamsAreRefusedWhenDefinedAndNothingIsWritten() {
        commands.create(task("a", "up", YEARLY), "test");
        commands.create(after("b", "a", When.SUCCEEDED), "test");
        commands.create(after("c", "b", When.ANY), "test");

        // a after c closes a → b → c → a.
        assertRefused(
                () -> commands.update("a", null, stored -> stored.withRunAfter(new RunAfter("c", When.FAILED)), "test"),
                TaskCommands.Refusal.RUN_AFTER_LOOP,
                "a after c after b after a");
        assertThat(cluster.count("select count(*) from tasks where name = 'a' and run_after_task is null"))
                .isEqualTo(1);
        assertRefused(
                () -> commands.create(after("d", "nobody", When.ANY), "test"),
                TaskCommands.Refusal.UNKNOWN_UPSTREAM,
                "'nobody'");
        assertThat(cluster.count("select count(*) from tasks where name = 'd'")).isZero();
        assertThatThrownBy(() -> after("e", "e", When.ANY))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageContaining("loop");

        // From the configuration: the start stops, naming the task; a task may name one defined beside it.
        Scheduler scheduler = cluster.create("instance-1", Map.of("up", ctx -> {}, "down", downstream()));
        assertThatThrownBy(() -> scheduler.syncTasks(List.of(after("x", "y", When.ANY), after("y", "x", When.ANY))))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageContaining("Task 'x'")
                .hasMessageContaining("loop");
        assertThat(cluster.count("select count(*) from tasks where name in ('x', 'y')"))
                .isZero();
        scheduler.syncTasks(List.of(task("y", "up", YEARLY), after("x", "y", When.ANY)));
        assertThat(cluster.count("select count(*) from tasks where name = 'x' and run_after_task = 'y'"))
                .isEqualTo(1);

        // A task others run after is not deleted; once they are gone, it is.
        assertRefused(() -> commands.delete("a", null, "test"), TaskCommands.Refusal.HAS_DOWNSTREAM, "b");
        commands.delete("c", null, "test");
        commands.delete("b", null, "test");
        commands.delete("a", null, "test");
        assertThat(cluster.count("select count(*) from tasks where name in ('a', 'b', 'c')"))
                .isZero();
    }

    @Test
    void theChainIsInTheAuditTrailAndTheDefinition() {
        commands.create(task("a", "up", YEARLY), "test");
        commands.create(after("b", "a", When.FAILED), "operator:ann");

        assertThat(new TaskEvents(cluster.pool).find("b", null, 5).getFirst().after())
                .containsEntry("runAfter", Map.of("task", "a", "when", "FAILED"));
        TaskDefinition stored = commands.find("b").definition();
        assertThat(stored.runAfter()).isEqualTo(new RunAfter("a", When.FAILED));
        assertThat(stored.schedule()).isEqualTo("once");
    }

    private static void assertRefused(Runnable command, TaskCommands.Refusal refusal, String message) {
        assertThatThrownBy(command::run)
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(refusal))
                .hasMessageContaining(message);
    }
}
