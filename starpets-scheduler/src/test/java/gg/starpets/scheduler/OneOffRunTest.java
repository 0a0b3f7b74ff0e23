package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One-off runs ({@link OneOffRuns}) on scheduler instances sharing a real PostgreSQL: each runs exactly
 * once, never beside another run of its task, not before its time, with its own params, retried by the
 * task's policy; the task's own schedule is left as it was. The witness is the handler itself, in this
 * JVM: what it saw started, with what, and how many were in flight at once.
 */
@RunsAlongside
class OneOffRunTest {

    /** Once a year: the task's schedule never fires during a test, only its one-off runs do. */
    private static final String YEARLY = "0 0 1 1 *";

    private SchedulerCluster cluster;
    private OneOffRuns oneOff;
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger mostInFlight = new AtomicInteger();
    private final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();

    /** What the witness saw of one run as it started. */
    record Seen(long runId, Object n, int attempt, Instant scheduledFor, Instant startedAt) {}

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
        oneOff = new OneOffRuns(cluster.pool);
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    private TaskHandler witness(Duration work, int failAttemptsBelow) {
        return ctx -> {
            int now = inFlight.incrementAndGet();
            mostInFlight.accumulateAndGet(now, Math::max);
            seen.add(new Seen(ctx.runId(), ctx.params().get("n"), ctx.attempt(), ctx.scheduledFor(), Instant.now()));
            try {
                ctx.sleep(work);
                if (ctx.attempt() < failAttemptsBelow) {
                    throw new IllegalStateException("attempt " + ctx.attempt() + " fails");
                }
            } finally {
                inFlight.decrementAndGet();
            }
        };
    }

    private static TaskDefinition task(String name, String handler) {
        return TaskDefinition.of(name, handler, YEARLY, "UTC", Duration.ofMinutes(1), true, Map.of("n", "task"));
    }

    private long request(String task, Map<String, Object> params, Instant at) {
        return oneOff.request(task, params, at, null, "{}", d -> {}, "operator:ann")
                .runId();
    }

    @Test
    void fiftyOneOffRunsOfOneTaskAskedForAtOnceOnThreeInstancesEachRunOnceNeverTwoAtOnce() throws Exception {
        Map<String, TaskHandler> handlers = Map.of("work", witness(Duration.ofMillis(20), 0));
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 3)
                .mapToObj(i -> cluster.create("instance-" + i, handlers))
                .toList();
        schedulers.getFirst().syncTasks(List.of(task("mailer", "work")));
        schedulers.forEach(Scheduler::start);
        Instant regular = nextRunAt("mailer");

        Map<Integer, Long> asked = new ConcurrentHashMap<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = IntStream.range(0, 50)
                .mapToObj(n -> Thread.ofVirtual().start(() -> {
                    try {
                        go.await();
                        asked.put(n, request("mailer", Map.of("n", n), null));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }))
                .toList();
        go.countDown();
        for (Thread t : threads) {
            t.join(Timing.SOON);
        }
        List<Long> ids = new ArrayList<>(asked.values());
        assertThat(ids).hasSize(50).doesNotHaveDuplicates();

        await().atMost(Timing.WORK)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 50);
        schedulers.forEach(Scheduler::close);

        assertThat(seen).extracting(Seen::runId).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(seen)
                .extracting(Seen::n)
                .containsExactlyInAnyOrderElementsOf(
                        IntStream.range(0, 50).boxed().map(Object.class::cast).toList());
        assertThat(mostInFlight.get()).as("runs of the task in flight at once").isEqualTo(1);
        assertThat(cluster.count("select count(*) from task_runs")).isEqualTo(50);
        assertThat(cluster.count(
                        "select count(*) from task_runs where cause = 'MANUAL' and requested_by = 'operator:ann'"
                                + " and params ? 'n'"))
                .isEqualTo(50);
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .isZero();
        assertThat(nextRunAt("mailer")).as("the task's own schedule").isEqualTo(regular);
    }

    @Test
    void aOneOffRunForATimeStartsNotBeforeItAndCarriesItAsItsScheduledTime() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(Duration.ZERO, 0)));
        scheduler.syncTasks(List.of(task("digest", "work")));
        scheduler.start();
        Instant at = Instant.now().plusSeconds(2).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);

        long runId = request("digest", Map.of("n", "late"), at);
        assertThat(cluster.count("select count(*) from task_runs where status = 'PENDING' and id = " + runId))
                .isEqualTo(1);

        await().atMost(Timing.SOON).until(() -> seen.size() == 1);
        Seen run = seen.peek();
        assertThat(run.runId()).isEqualTo(runId);
        assertThat(run.scheduledFor()).isEqualTo(at);
        assertThat(run.startedAt()).isAfterOrEqualTo(at);
        assertThat(run.n()).isEqualTo("late");
    }

    @Test
    void aFailedOneOffRunIsRetriedByTheTaskPolicyWithItsParamsAndLeavesTheScheduleAlone() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(Duration.ZERO, 3)));
        scheduler.syncTasks(List.of(task("flaky", "work")
                .withRetry(new RetryPolicy(3, Duration.ofMillis(100), 1.0, Duration.ofMillis(100)))));
        scheduler.start();
        Instant regular = nextRunAt("flaky");

        request("flaky", Map.of("n", 7), null);

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);
        assertThat(seen).extracting(Seen::attempt).containsExactly(1, 2, 3);
        assertThat(seen).extracting(Seen::n).containsExactly(7, 7, 7);
        assertThat(cluster.query(
                        "select status || ' ' || cause || ' ' || attempt from task_runs order by id",
                        rs -> rs.getString(1)))
                .containsExactly("FAILED MANUAL 1", "FAILED MANUAL 2", "SUCCEEDED MANUAL 3");
        assertThat(nextRunAt("flaky")).isEqualTo(regular);
    }

    @Test
    void aOneOffRunWaitsForTheRunOfItsTaskInProgressAndRunsRightAfter() {
        AtomicInteger holding = new AtomicInteger();
        TaskHandler hold = ctx -> {
            int now = inFlight.incrementAndGet();
            mostInFlight.accumulateAndGet(now, Math::max);
            try {
                if (ctx.params().get("n").equals("task")) {
                    holding.incrementAndGet();
                    release.await();
                }
                seen.add(
                        new Seen(ctx.runId(), ctx.params().get("n"), ctx.attempt(), ctx.scheduledFor(), Instant.now()));
            } finally {
                inFlight.decrementAndGet();
            }
        };
        Scheduler scheduler = cluster.create("instance-1", Map.of("hold", hold));
        scheduler.syncTasks(List.of(
                TaskDefinition.of("report", "hold", "1h", "UTC", Duration.ofMinutes(1), true, Map.of("n", "task"))));
        scheduler.start();
        await().atMost(Timing.SOON).until(() -> holding.get() == 1);

        long runId = request("report", Map.of("n", "one-off"), null);
        // Held for several claim rounds (poll 1 s, and the request's NOTIFY): it must not start beside the held run.
        await().during(Duration.ofSeconds(2)).atMost(Timing.SOON).until(() -> seen.isEmpty());
        assertThat(cluster.count("select count(*) from task_runs where status = 'PENDING' and id = " + runId))
                .isEqualTo(1);

        release.countDown();
        await().atMost(Timing.SOON).until(() -> seen.stream().anyMatch(s -> s.runId() == runId));
        assertThat(seen).extracting(Seen::n).containsExactly("task", "one-off");
        assertThat(mostInFlight.get()).isEqualTo(1);
    }

    @Test
    void aLostOneOffRunIsAskedForAgainAsItsNextAttemptAndTheScheduleIsLeftAlone() {
        TaskCommands commands = new TaskCommands(cluster.pool);
        commands.create(task("lost", "work"), "operator:ann");
        Instant regular = nextRunAt("lost");
        long runId = request("lost", Map.of("n", "again"), null);
        // Its instance took it and vanished: owned by a session that holds no lock, its lease run out.
        cluster.execute("update task_runs set status = 'RUNNING', instance_id = 'ghost', fence = 1, started_at = now()"
                + " where id = " + runId);
        cluster.execute("update tasks set owner_instance = 'ghost', owner_session = 424242, fence = 1,"
                + " lease_until = now() - interval '1 second', current_run_id = " + runId + ", started_at = now()"
                + " where name = 'lost'");

        cluster.create("instance-1", Map.of("work", witness(Duration.ZERO, 0))).start();

        await().atMost(Timing.SOON).until(() -> seen.size() == 1);
        assertThat(seen.peek().n()).isEqualTo("again");
        assertThat(seen.peek().attempt()).isEqualTo(2);
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);
        assertThat(cluster.query(
                        "select status || ' ' || cause || ' ' || attempt from task_runs order by id",
                        rs -> rs.getString(1)))
                .containsExactly("LOST MANUAL 1", "SUCCEEDED MANUAL 2");
        assertThat(nextRunAt("lost")).as("the task's own schedule").isEqualTo(regular);
        assertThat(nextRequestAt("lost")).isNull();
    }

    @Test
    void aPendingRunIsWithdrawnBeforeItStartsAndNotOnceStarted() {
        TaskCommands commands = new TaskCommands(cluster.pool);
        commands.create(task("later", "work"), "operator:ann");
        long first = request("later", Map.of(), Instant.now().plusSeconds(3600));
        long second = request("later", Map.of(), Instant.now().plusSeconds(7200));
        assertThat(nextRequestAt("later")).isNotNull();

        assertThat(oneOff.withdraw(first, "operator:bob")).isEqualTo("later");

        assertThat(cluster.query(
                        "select status || ' ' || error from task_runs where id = " + first, rs -> rs.getString(1)))
                .containsExactly("CANCELLED cancelled before it started by operator:bob");
        assertThat(nextRequestAt("later"))
                .as("the earliest pending time is the other run's")
                .isEqualTo(cluster.query(
                                "select scheduled_for from task_runs where id = " + second,
                                rs -> rs.getTimestamp(1).toInstant())
                        .getFirst());
        assertThat(events("later")).contains("RUN_WITHDRAWN operator:bob run " + first);
        assertRefused(() -> oneOff.withdraw(first, "operator:bob"), TaskCommands.Refusal.RUN_STARTED);
        // The board's strip of outcomes shows the withdrawn run, not the pending one.
        assertThat(new OutcomeViews(cluster.pool)
                        .lastOutcomes(List.of("later"), 20)
                        .getFirst()
                        .outcomes())
                .extracting(OutcomeViews.Outcome::status)
                .containsExactly("CANCELLED");

        cluster.execute("update task_runs set status = 'RUNNING', started_at = now(), instance_id = 'i', fence = 1"
                + " where id = " + second);
        assertRefused(() -> oneOff.withdraw(second, "operator:bob"), TaskCommands.Refusal.RUN_STARTED);
        assertRefused(() -> oneOff.withdraw(999_999, "operator:bob"), TaskCommands.Refusal.RUN_NOT_FOUND);
    }

    @Test
    void theSameIdempotencyKeyAnswersTheSameRunAndAnotherRequestUnderItIsRefused() {
        TaskCommands commands = new TaskCommands(cluster.pool);
        commands.create(task("keyed", "work"), "operator:ann");
        String body = "{\"params\": {\"n\": 1}, \"at\": null}";

        OneOffRuns.Requested first =
                oneOff.request("keyed", Map.of("n", 1), null, "k-1", body, d -> {}, "operator:ann");
        OneOffRuns.Requested again =
                oneOff.request("keyed", Map.of("n", 1), null, "k-1", body, d -> {}, "operator:ann");

        assertThat(first.replayed()).isFalse();
        assertThat(again.replayed()).isTrue();
        assertThat(again.runId()).isEqualTo(first.runId());
        assertThat(cluster.count("select count(*) from task_runs")).isEqualTo(1);
        assertRefused(
                () -> oneOff.request(
                        "keyed", Map.of("n", 2), null, "k-1", "{\"params\": {\"n\": 2}, \"at\": null}", d -> {}, "a"),
                TaskCommands.Refusal.IDEMPOTENCY_KEY_REUSED);
        assertThat(cluster.count("select count(*) from task_runs")).isEqualTo(1);
        assertThat(events("keyed"))
                .filteredOn(e -> e.startsWith("RUN_REQUESTED"))
                .hasSize(1);
    }

    @Test
    void paramsTheHandlerRefusesWriteNothing() {
        TaskCommands commands = new TaskCommands(cluster.pool);
        commands.create(task("checked", "work"), "operator:ann");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> oneOff.request(
                        "checked",
                        Map.of("n", "bad"),
                        null,
                        null,
                        "{}",
                        d -> {
                            assertThat(d.params()).containsEntry("n", "bad");
                            throw new IllegalArgumentException("n must be a number");
                        },
                        "operator:ann"))
                .hasMessage("n must be a number");

        assertThat(cluster.count("select count(*) from task_runs")).isZero();
        assertThat(nextRequestAt("checked")).isNull();
        assertThat(events("checked")).containsExactly("CREATED operator:ann null");
    }

    private static void assertRefused(Runnable command, TaskCommands.Refusal refusal) {
        org.assertj.core.api.Assertions.assertThatThrownBy(command::run)
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(refusal));
    }

    private List<String> events(String task) {
        return new TaskEvents(cluster.pool)
                .find(task, null, 20).stream()
                        .map(e -> e.action() + " " + e.actor() + " " + e.detail())
                        .toList();
    }

    private Instant nextRunAt(String task) {
        return cluster.query(
                        "select next_run_at from tasks where name = '" + task + "'",
                        rs -> rs.getTimestamp(1).toInstant())
                .getFirst();
    }

    private Instant nextRequestAt(String task) {
        return cluster
                .query("select next_request_at from tasks where name = '" + task + "'", rs -> {
                    var t = rs.getTimestamp(1);
                    return t == null ? Instant.EPOCH : t.toInstant();
                })
                .stream()
                .filter(i -> !i.equals(Instant.EPOCH))
                .findFirst()
                .orElse(null);
    }
}
