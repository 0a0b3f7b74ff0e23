package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Slots that do not run are history (MISSED rows, with why), and RUN_ONCE runs the slots it missed once,
 * late: after every instance was down, and after a run that overran its schedule (issue 21 item 7).
 */
@RunsAlongside
class MissedRunsTest {

    /**
     * How long the overrunning run takes: more than two periods of its every-2-seconds schedule.
     * It ends half a second past S + 4 s (more than the SKIP threshold), 1.5 s before S + 6 s: room
     * for a slow start on a loaded machine.
     */
    private static final Duration OVERRUN = Duration.ofMillis(4_500);

    /** How long every instance is down: several slots of an every-second schedule. */
    private static final Duration DOWN = Duration.ofMillis(3_500);

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(String name, String handler, String schedule) {
        return TaskDefinition.of(name, handler, schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    private List<RunRows> rows(String task) {
        return RunRows.of(cluster, task, "scheduled_for, id");
    }

    private List<RunRows> ran(String task) {
        return rows(task).stream().filter(r -> !r.status().equals("MISSED")).toList();
    }

    private Instant dbNow() {
        return cluster.query("select now()", rs -> rs.getTimestamp(1).toInstant())
                .getFirst();
    }

    @Test
    void afterEveryInstanceWasDownRunOnceRunsTheMissedSlotsOnceLateAndSkipRecordsEachMissed() {
        Map<String, TaskHandler> handlers = Map.of("noop", ctx -> {});
        Scheduler first = cluster.create("inst-1", handlers);
        first.syncTasks(List.of(
                task("run-once", "noop", "* * * * * *"),
                task("skip", "noop", "* * * * * *").withMisfire(RunRows.SKIP_200MS)));
        first.start();
        await().atMost(Timing.SOON)
                .until(() -> ran("run-once").size() >= 2 && ran("skip").size() >= 2);
        first.close();
        Instant down = dbNow();
        await().atMost(Timing.SOON).until(() -> dbNow().isAfter(down.plus(DOWN)));

        Scheduler second = cluster.create("inst-2", handlers);
        second.start();
        Instant up = dbNow();
        await().atMost(Timing.SOON)
                .until(() -> ran("run-once").stream().anyMatch(r -> r.slot().isAfter(up.plusSeconds(1)))
                        && ran("skip").stream().anyMatch(r -> r.slot().isAfter(up.plusSeconds(1))));

        // RUN_ONCE: the first slot after the last run before the stop ran once, late, and no other slot
        // of the downtime ran; after it, the schedule from then on.
        List<RunRows> runOnce = ran("run-once");
        RunRows late = runOnce.stream()
                .filter(r -> r.started().isAfter(up.minusMillis(1)))
                .findFirst()
                .orElseThrow();
        RunRows lastBefore = runOnce.get(runOnce.indexOf(late) - 1);
        assertThat(late.slot()).isEqualTo(lastBefore.slot().plusSeconds(1));
        assertThat(Duration.between(late.slot(), late.started())).isGreaterThan(DOWN.minusSeconds(1));
        RunRows afterLate = runOnce.get(runOnce.indexOf(late) + 1);
        assertThat(afterLate.slot())
                .as("the next slot after the late run's end")
                .isAfter(up.minusSeconds(1));
        assertThat(rows("run-once")).noneMatch(r -> r.status().equals("MISSED"));

        // SKIP (threshold 200 ms): no slot of the downtime ran; each is a MISSED row saying why, one a second
        // from the first slot after the last run before the stop on.
        List<RunRows> skip = rows("skip");
        RunRows lastRun = ran("skip").stream()
                .filter(r -> r.started().isBefore(down))
                .reduce((a, b) -> b)
                .orElseThrow();
        // Those of the downtime (a slot before the first run may be MISSED too: the instance settles 500 ms).
        List<RunRows> missed = skip.stream()
                .filter(r -> r.status().equals("MISSED") && r.slot().isAfter(lastRun.slot()))
                .toList();
        assertThat(missed).hasSizeGreaterThanOrEqualTo(3);
        for (int i = 0; i < missed.size(); i++) {
            assertThat(missed.get(i).slot()).isEqualTo(lastRun.slot().plusSeconds(i + 1L));
            assertThat(missed.get(i).error())
                    .isEqualTo("misfire: no instance started it within its threshold (200 ms)");
            assertThat(missed.get(i).finished()).isNotNull();
        }
        assertThat(ran("skip"))
                .as("no run for a slot recorded MISSED")
                .noneMatch(r -> missed.stream().anyMatch(m -> m.slot().equals(r.slot())));
        Instant firstAfter = ran("skip").stream()
                .filter(r -> r.slot().isAfter(lastRun.slot()))
                .findFirst()
                .orElseThrow()
                .slot();
        assertThat(firstAfter)
                .as("every slot in between is there")
                .isEqualTo(missed.getLast().slot().plusSeconds(1));
    }

    @Test
    void slotsDueWhileARunOverranRunOnceRightAfterWithRunOnceAndAreRecordedMissedWithSkip() {
        Map<String, Boolean> slowDone = new java.util.concurrent.ConcurrentHashMap<>();
        TaskHandler slowFirst = ctx -> {
            if (slowDone.putIfAbsent(ctx.taskName(), true) == null) {
                ctx.sleep(OVERRUN);
            }
        };
        Scheduler s = cluster.create("inst-1", Map.of("slow-first", slowFirst));
        s.syncTasks(List.of(
                task("run-once", "slow-first", "*/2 * * * * *"),
                task("skip", "slow-first", "*/2 * * * * *").withMisfire(RunRows.SKIP_200MS)));
        s.start();
        await().atMost(Timing.SOON)
                .until(() -> ran("run-once").stream()
                                        .filter(r -> r.finished() != null)
                                        .count()
                                >= 3
                        && ran("skip").stream()
                                        .filter(r -> r.finished() != null)
                                        .count()
                                >= 2);

        // RUN_ONCE: the run for S took 4.5 s; S + 2 s and S + 4 s came due meanwhile: one run, for S + 2 s,
        // right after it (not beside it), then S + 6 s on schedule.
        List<RunRows> runOnce = ran("run-once");
        RunRows slow = runOnce.getFirst();
        RunRows late = runOnce.get(1);
        assertThat(late.slot()).isEqualTo(slow.slot().plusSeconds(2));
        assertThat(late.started()).isAfterOrEqualTo(slow.finished());
        assertThat(runOnce.get(2).slot()).isEqualTo(slow.slot().plusSeconds(6));
        assertThat(rows("run-once")).noneMatch(r -> r.status().equals("MISSED"));

        // SKIP: S + 2 s and S + 4 s are MISSED rows naming the run that was still running; S + 6 s runs.
        // The first run is the slow one (a slot before it may be MISSED: the instance settles 500 ms first).
        RunRows slowSkip = ran("skip").getFirst();
        List<RunRows> skip = rows("skip").stream()
                .filter(r -> !r.slot().isBefore(slowSkip.slot()))
                .toList();
        assertThat(skip.subList(1, 3))
                .extracting(RunRows::status, RunRows::slot, RunRows::error)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                "MISSED",
                                slowSkip.slot().plusSeconds(2),
                                "overlap: run " + slowSkip.id() + " was still running"),
                        org.assertj.core.groups.Tuple.tuple(
                                "MISSED",
                                slowSkip.slot().plusSeconds(4),
                                "overlap: run " + slowSkip.id() + " was still running"));
        assertThat(skip.get(3).status()).isEqualTo("SUCCEEDED");
        assertThat(skip.get(3).slot()).isEqualTo(slowSkip.slot().plusSeconds(6));
    }

    @Test
    void aPerSecondTaskDownForADayIsRecordedInAHundredAndOneRowsAndCountedInTheMetric() {
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> {}));
        s.syncTasks(List.of(task("every-second", "noop", "* * * * * *").withMisfire(RunRows.SKIP_200MS)));
        cluster.execute("update tasks set next_run_at = date_trunc('second', now()) - interval '1 day',"
                + " next_fire_at = date_trunc('second', now()) - interval '1 day'");
        Map<String, Long> counted = new java.util.concurrent.ConcurrentHashMap<>();
        SchedulerEvents events = new SchedulerEvents() {
            @Override
            public void runsMissed(String task, String reason, long count) {
                counted.merge(task + " " + reason, count, Long::sum);
            }
        };

        String before =
                cluster.query("select now()::text", rs -> rs.getString(1)).getFirst();
        new TaskHousekeeping(SchedulerCluster.settings("inst-1"), cluster.pool, events).runOnce();

        List<RunRows> missed = rows("every-second");
        assertThat(missed)
                .hasSize(MissedSlots.ROWS + 1)
                .allMatch(r -> r.status().equals("MISSED"));
        for (int i = 1; i < MissedSlots.ROWS; i++) {
            assertThat(missed.get(i).slot()).isEqualTo(missed.getFirst().slot().plusSeconds(i));
        }
        assertThat(missed.getLast().error())
                .startsWith("misfire: no instance started it within its threshold (200 ms); this row stands for at"
                        + " least 900 slots from " + missed.getFirst().slot().plusSeconds(MissedSlots.ROWS));
        assertThat(counted).containsExactly(Map.entry("every-second misfire", (long) MissedSlots.COUNTED));
        // Past the day it missed: after the moment housekeeping began (not after now, which a loaded
        // machine may have carried past the next one-second slot by this line).
        assertThat(cluster.count("select count(*) from tasks where next_run_at > '" + before + "'::timestamptz"))
                .isEqualTo(1);
    }
}
