package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Backfills ({@link Backfills}) on scheduler instances sharing a real PostgreSQL: one run per slot of
 * the schedule in [from, to], oldest first, never two at once, each carrying its slot; refusals write
 * nothing; a cancel ends the pending slots. The witness is the handler in this JVM: which slot each run
 * saw as it started, and how many were in flight at once.
 */
@RunsAlongside
class BackfillTest {

    private SchedulerCluster cluster;
    private Backfills backfills;
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger mostInFlight = new AtomicInteger();
    private final ConcurrentLinkedQueue<Instant> seen = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Integer> attempts = new ConcurrentLinkedQueue<>();

    /** Two hours back on a whole hour: every slot of the range is past, whatever the time now. */
    private final Instant from = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(2));

    private final Instant to = from.plus(Duration.ofHours(1));

    /**
     * Every ten minutes, but only in the range's two hours (UTC): its next slot of its own is a day away. With
     * {@code *}{@code /10 * * * *} a ten-minute boundary during a test started a scheduled run beside the
     * backfill's (CI run 41: the test began at 09:29:59).
     */
    private final String everyTenMinutes = "*/10 %d,%d * * *"
            .formatted(
                    from.atZone(ZoneOffset.UTC).getHour(),
                    (from.atZone(ZoneOffset.UTC).getHour() + 1) % 24);

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
        backfills = new Backfills(cluster.pool);
    }

    @AfterEach
    void tearDown() {
        release.countDown();
        cluster.close();
    }

    @Test
    void aRunningSlotThatFailsAfterItsBackfillWasCancelledIsNotRetried() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(true, from)));
        scheduler.syncTasks(List.of(task("flaky", everyTenMinutes)
                .withRetry(new RetryPolicy(3, Duration.ofMillis(100), 1.0, Duration.ofMillis(100)))));
        scheduler.start();
        long id = backfills.request("flaky", from, to, "operator:ann").id();
        await().atMost(Timing.SOON).until(() -> seen.size() == 1);

        backfills.cancel(id, "operator:bob");
        release.countDown();

        await().atMost(Timing.SOON).until(() -> backfills.progress(id).failed() == 1);
        await().during(Duration.ofSeconds(2)).atMost(Timing.SOON).until(() -> seen.size() == 1);
        assertThat(cluster.count("select count(*) from task_runs where status = 'PENDING'"))
                .isZero();
        assertThat(cluster.count("select count(*) from task_runs where backfill_id = " + id))
                .isEqualTo(7);
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .isZero();
    }

    @Test
    void aLostSlotIsAskedForAgainWithItsSlotBeforeTheLaterSlots() {
        new TaskCommands(cluster.pool).create(task("lost", everyTenMinutes), "operator:ann");
        long id = backfills
                .request("lost", from, from.plus(Duration.ofMinutes(10)), "operator:ann")
                .id();
        long first = cluster.count("select min(id) from task_runs where backfill_id = " + id);
        // Its instance took the first slot and vanished: owned by a session that holds no lock, its lease run out.
        cluster.execute("update task_runs set status = 'RUNNING', instance_id = 'ghost', fence = 1, started_at = now()"
                + " where id = " + first);
        cluster.execute("update tasks set owner_instance = 'ghost', owner_session = 424242, fence = 1,"
                + " lease_until = now() - interval '1 second', current_run_id = " + first + ", started_at = now()"
                + " where name = 'lost'");

        cluster.create("instance-1", Map.of("work", witness(false, null))).start();

        await().atMost(Timing.SOON).until(() -> backfills.progress(id).state().equals("DONE"));
        assertThat(seen).containsExactly(from, from.plus(Duration.ofMinutes(10)));
        assertThat(attempts).containsExactly(2, 1);
        assertThat(backfills.progress(id).done()).isEqualTo(2);
    }

    /** Records the slot; holds the first run while {@code hold}; fails the first attempt at {@code failing}. */
    private TaskHandler witness(boolean hold, Instant failing) {
        return witness(hold, failing, Duration.ofMillis(20));
    }

    /** As above, each run lasting {@code lasting} (long enough for runs that may overlap to overlap). */
    private TaskHandler witness(boolean hold, Instant failing, Duration lasting) {
        return ctx -> {
            int now = inFlight.incrementAndGet();
            mostInFlight.accumulateAndGet(now, Math::max);
            seen.add(ctx.scheduledFor());
            attempts.add(ctx.attempt());
            try {
                ctx.sleep(lasting);
                if (hold) {
                    release.await();
                }
                if (ctx.scheduledFor().equals(failing) && ctx.attempt() == 1) {
                    throw new IllegalStateException("the first attempt at " + failing + " fails");
                }
            } finally {
                inFlight.decrementAndGet();
            }
        };
    }

    private static TaskDefinition task(String name, String schedule) {
        return TaskDefinition.of(name, "work", schedule, "UTC", Duration.ofMinutes(1), true, Map.of("n", "task"));
    }

    private List<Instant> slotsEveryTenMinutes() {
        return IntStream.rangeClosed(0, 6)
                .mapToObj(k -> from.plus(Duration.ofMinutes(10L * k)))
                .toList();
    }

    @Test
    void aBackfillOfAnHourOfATenMinuteCronRunsItsSevenSlotsOldestFirstOneAtATimeOnThreeInstances() {
        Map<String, TaskHandler> handlers = Map.of("work", witness(false, null));
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 3)
                .mapToObj(i -> cluster.create("instance-" + i, handlers))
                .toList();
        schedulers.getFirst().syncTasks(List.of(task("report", everyTenMinutes)));
        schedulers.forEach(Scheduler::start);

        Backfills.Requested requested = backfills.request("report", from, to, "operator:ann");
        assertThat(requested.slots()).isEqualTo(7);
        assertThat(requested.firstSlot()).isEqualTo(from);
        assertThat(requested.lastSlot()).isEqualTo(to);

        await().atMost(Timing.WORK)
                .until(() -> backfills.progress(requested.id()).state().equals("DONE"));
        schedulers.forEach(Scheduler::close);

        // The task's own schedule may fire meanwhile (a ten-minute mark): only the range's slots count here.
        assertThat(seen.stream().filter(s -> !s.isBefore(from) && !s.isAfter(to)))
                .containsExactlyElementsOf(slotsEveryTenMinutes());
        assertThat(mostInFlight.get()).as("runs of the task in flight at once").isEqualTo(1);
        Backfills.Progress progress = backfills.progress(requested.id());
        assertThat(progress.done()).isEqualTo(7);
        assertThat(progress.failed() + progress.pending() + progress.running() + progress.cancelled())
                .isZero();
        assertThat(progress.firstSlot()).isEqualTo(from);
        assertThat(progress.lastSlot()).isEqualTo(to);
        assertThat(cluster.query(
                        "select scheduled_for from task_runs where backfill_id = " + requested.id()
                                + " and status = 'SUCCEEDED' and cause = 'MANUAL' and requested_by = 'operator:ann'"
                                + " order by started_at",
                        rs -> rs.getTimestamp(1).toInstant()))
                .as("started in slot order")
                .containsExactlyElementsOf(slotsEveryTenMinutes());
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .isZero();
        assertThat(cluster.count("select count(*) from task_events where action = 'BACKFILL_REQUESTED'"))
                .isEqualTo(1);
    }

    @Test
    void aBackfillOfAnAllowTaskRunsUpToMaxParallelSlotsAtOnceAndNeverMoreThanMaxConcurrentOldestFirst() {
        Map<String, TaskHandler> handlers = Map.of("work", witness(false, null, Duration.ofMillis(400)));
        List<Scheduler> schedulers = IntStream.rangeClosed(1, 2)
                .mapToObj(i -> cluster.create("instance-" + i, handlers))
                .toList();
        schedulers
                .getFirst()
                .syncTasks(List.of(
                        task("fan", everyTenMinutes).withOverlap(TaskDefinition.Overlap.ALLOW, 3),
                        task("single", everyTenMinutes)));
        schedulers.forEach(Scheduler::start);
        assertThatThrownBy(() -> backfills.request("single", from, to, "operator:ann", 2))
                .as("a task whose runs never overlap")
                .isInstanceOfSatisfying(
                        RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(Refusal.MAX_PARALLEL_UNSUPPORTED))
                .hasMessageContaining("task 'single' has overlap SKIP");
        assertThat(cluster.count("select count(*) from backfills")).isZero();

        Backfills.Requested two = backfills.request("fan", from, to, "operator:ann", 2);
        await().atMost(Timing.WORK)
                .until(() -> backfills.progress(two.id()).state().equals("DONE"));
        assertThat(mostInFlight.get()).as("slots at once, maxParallel 2").isEqualTo(2);
        assertThat(cluster.query(
                        "select scheduled_for from task_runs where backfill_id = " + two.id()
                                + " order by started_at, id",
                        rs -> rs.getTimestamp(1).toInstant()))
                .as("started in slot order")
                .containsExactlyElementsOf(slotsEveryTenMinutes());

        mostInFlight.set(0);
        Backfills.Requested five = backfills.request("fan", from, to, "operator:ann", 5);
        await().atMost(Timing.WORK)
                .until(() -> backfills.progress(five.id()).state().equals("DONE"));
        schedulers.forEach(Scheduler::close);
        assertThat(mostInFlight.get())
                .as("slots at once, maxParallel 5 of a task of max-concurrent 3")
                .isEqualTo(3);
        assertThat(cluster.query(
                        "select scheduled_for from task_runs where backfill_id = " + five.id()
                                + " order by started_at, id",
                        rs -> rs.getTimestamp(1).toInstant()))
                .containsExactlyElementsOf(slotsEveryTenMinutes());
        assertThat(backfills.progress(five.id()).done()).isEqualTo(7);
        assertThat(backfills.progress(five.id()).maxParallel()).isEqualTo(5);
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .isZero();
    }

    @Test
    void aFailedSlotIsRetriedWithItsSlotBeforeTheLaterSlots() {
        Instant second = from.plus(Duration.ofMinutes(10));
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(false, second)));
        scheduler.syncTasks(List.of(task("flaky", everyTenMinutes)
                .withRetry(new RetryPolicy(2, Duration.ofMillis(100), 1.0, Duration.ofMillis(100)))));
        scheduler.start();

        long id = backfills
                .request("flaky", from, from.plus(Duration.ofMinutes(30)), "operator:ann")
                .id();

        await().atMost(Timing.SOON).until(() -> backfills.progress(id).state().equals("DONE"));
        assertThat(seen.stream().filter(s -> !s.isBefore(from) && !s.isAfter(to)))
                .containsExactly(
                        from, second, second, from.plus(Duration.ofMinutes(20)), from.plus(Duration.ofMinutes(30)));
        Backfills.Progress progress = backfills.progress(id);
        assertThat(progress.done())
                .as("each slot counted once, by its latest run")
                .isEqualTo(4);
        assertThat(progress.failed()).isZero();
    }

    @Test
    void theSlotsOfAnIntervalScheduleAreFromAndEveryIntervalAfterUpToTo() {
        cluster.create("instance-1", Map.of("work", witness(false, null))).syncTasks(List.of(task("poll", "25m")));

        Backfills.Requested requested = backfills.request("poll", from, to, "operator:ann");

        assertThat(requested.slots()).isEqualTo(3);
        assertThat(cluster.query(
                        "select scheduled_for from task_runs where status = 'PENDING' and backfill_id = "
                                + requested.id() + " order by scheduled_for",
                        rs -> rs.getTimestamp(1).toInstant()))
                .containsExactly(from, from.plus(Duration.ofMinutes(25)), from.plus(Duration.ofMinutes(50)));
    }

    @Test
    void refusedBackfillsWriteNothing() {
        cluster.create("instance-1", Map.of("work", witness(false, null)))
                .syncTasks(List.of(
                        task("minutely", "* * * * *"),
                        TaskDefinition.of("launch", "work", "once", "UTC", Duration.ofMinutes(1), true, Map.of())
                                .withAt(Instant.now().plus(Duration.ofDays(1)))));
        Instant now = Instant.now();

        // Eight days of minutes: 11,521 slots, over the limit of 10,000.
        assertThatThrownBy(() -> backfills.request("minutely", from.minus(Duration.ofDays(8)), from, "operator:ann"))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.TOO_MANY_SLOTS))
                .hasMessageContaining("11,521 slots");
        assertThatThrownBy(() -> backfills.request("minutely", to, from, "operator:ann"))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.INVALID_RANGE));
        assertThatThrownBy(() -> backfills.request("minutely", from, now.plus(Duration.ofHours(1)), "operator:ann"))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.INVALID_RANGE))
                .hasMessageContaining("later than now");
        assertThatThrownBy(() -> backfills.request("launch", from, to, "operator:ann"))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.NOT_BACKFILLABLE));
        assertThatThrownBy(() -> backfills.request("nobody", from, to, "operator:ann"))
                .isInstanceOfSatisfying(
                        RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.TASK_NOT_FOUND));

        assertThat(cluster.count("select count(*) from backfills")).isZero();
        assertThat(cluster.count("select count(*) from task_runs")).isZero();
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .isZero();
        assertThat(cluster.count("select count(*) from task_events where action like 'BACKFILL%'"))
                .isZero();

        // Exactly the limit is accepted: 10,000 minutes end to end.
        assertThat(backfills
                        .request("minutely", from.minus(Duration.ofMinutes(9_999)), from, "operator:ann")
                        .slots())
                .isEqualTo(Backfills.MAX_SLOTS);
    }

    @Test
    void aCancelMidwayEndsThePendingSlotsCancelledAndLetsTheRunningOneFinish() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(true, null)));
        scheduler.syncTasks(List.of(task("report", everyTenMinutes)));
        scheduler.start();
        long id = backfills.request("report", from, to, "operator:ann").id();
        await().atMost(Timing.SOON).until(() -> seen.size() == 1);

        Backfills.Progress cancelled = backfills.cancel(id, "operator:bob");

        assertThat(cancelled.state()).isEqualTo("CANCELLED");
        assertThat(cancelled.running()).isEqualTo(1);
        assertThat(cancelled.cancelled()).isEqualTo(6);
        assertThat(cancelled.pending()).isZero();
        assertThat(cancelled.cancelledBy()).isEqualTo("operator:bob");
        assertThat(backfills.cancel(id, "operator:bob").cancelled())
                .as("again: nothing changes")
                .isEqualTo(6);
        assertThat(cluster.count("select count(*) from task_events where action = 'BACKFILL_CANCELLED'"))
                .isEqualTo(1);

        release.countDown();
        await().atMost(Timing.SOON).until(() -> backfills.progress(id).done() == 1);
        // Several claim rounds (poll 1 s): no cancelled slot starts.
        await().during(Duration.ofSeconds(2)).atMost(Timing.SOON).until(() -> seen.size() == 1);
        assertThat(seen).containsExactly(from);
        Backfills.Progress after = backfills.progress(id);
        assertThat(after.done()).isEqualTo(1);
        assertThat(after.cancelled()).isEqualTo(6);
        assertThat(after.running() + after.pending() + after.failed()).isZero();
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .isZero();
    }
}
