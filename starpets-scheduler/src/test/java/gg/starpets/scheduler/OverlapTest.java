package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a slot that comes due while a run of its task is in progress does ({@code overlap}), with runs
 * longer than the period (issue 21 item 6). {@code SKIP}, the default, is {@link MissedRunsTest}'s.
 */
@RunsAlongside
class OverlapTest {

    /**
     * A run longer than two periods of the every-2-seconds schedule.
     * It ends half a second past S + 4 s (more than the SKIP threshold), 1.5 s before S + 6 s: room
     * for a slow start on a loaded machine.
     */
    private static final Duration OVERRUN = Duration.ofMillis(4_500);

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(String name, String handler) {
        return TaskDefinition.of(name, handler, "*/2 * * * * *", "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    private List<RunRows> rows(String task) {
        return RunRows.of(cluster, task, "id");
    }

    private long ended(String task) {
        return rows(task).stream().filter(r -> !r.status().equals("RUNNING")).count();
    }

    @Test
    void bufferOneRunsOnceRightAfterARunThatOverranEvenWhenItsMisfirePolicyIsSkip() {
        Map<String, Boolean> slowDone = new ConcurrentHashMap<>();
        Scheduler s = cluster.create("inst-1", Map.of("slow-first", ctx -> {
            if (slowDone.putIfAbsent(ctx.taskName(), true) == null) {
                ctx.sleep(OVERRUN);
            }
        }));
        s.syncTasks(List.of(task("buffer-one", "slow-first")
                .withMisfire(RunRows.SKIP_200MS)
                .withOverlap(TaskDefinition.Overlap.BUFFER_ONE)));
        s.start();
        await().atMost(Timing.SOON)
                .until(() -> rows("buffer-one").stream()
                                .filter(r -> !r.status().matches("MISSED|RUNNING"))
                                .count()
                        >= 3);

        // The run for S took 4.5 s; S + 2 s and S + 4 s came due meanwhile: one run, for S + 2 s, right
        // after it; then S + 6 s. No MISSED row: the one run stands for both.
        // From the first run, the slow one (a slot before it may be MISSED: the instance settles 500 ms first).
        List<RunRows> all = rows("buffer-one");
        List<RunRows> rows = all.subList(
                all.indexOf(all.stream()
                        .filter(r -> !r.status().equals("MISSED"))
                        .findFirst()
                        .orElseThrow()),
                all.size());
        RunRows slow = rows.getFirst();
        assertThat(rows).extracting(RunRows::status).doesNotContain("MISSED");
        assertThat(rows.get(1).slot()).isEqualTo(slow.slot().plusSeconds(2));
        assertThat(rows.get(1).started()).isAfterOrEqualTo(slow.finished());
        assertThat(rows.get(2).slot()).isEqualTo(slow.slot().plusSeconds(6));
    }

    /** A handler's start and end, on this JVM's monotonic clock, written by the handler itself. */
    record Span(long run, long start, long end) {}

    @Test
    void replaceCancelsTheRunInProgressWhenASlotComesDueAndStartsTheNewOneOnlyAfterTheOldHandlerReturned() {
        List<Span> spans = new CopyOnWriteArrayList<>();
        Scheduler s = cluster.create("inst-1", Map.of("long", ctx -> {
            long start = System.nanoTime();
            try {
                ctx.sleep(Duration.ofMinutes(1)); // far past the period: only a cancel ends it
            } finally {
                spans.add(new Span(ctx.runId(), start, System.nanoTime()));
            }
        }));
        s.syncTasks(List.of(task("replace", "long").withOverlap(TaskDefinition.Overlap.REPLACE)));
        s.start();
        // Two replaced runs and the row of the run that replaced the second: its claim comes after
        // the second's end is written, so counting ended runs alone is not enough (a loaded machine
        // showed the gap).
        await().atMost(Timing.SOON)
                .until(() -> ended("replace") >= 2
                        && spans.size() >= 2
                        && rows("replace").size() >= 3);

        List<RunRows> rows = rows("replace");
        for (int i = 0; i < 2; i++) {
            RunRows replaced = rows.get(i);
            RunRows next = rows.get(i + 1);
            assertThat(replaced.status()).isEqualTo("CANCELLED");
            assertThat(next.slot())
                    .as("the slot that came due")
                    .isEqualTo(replaced.slot().plusSeconds(2));
            assertThat(replaced.error()).isEqualTo("replaced by the run for " + next.slot() + " (overlap REPLACE)");
            assertThat(next.started()).isAfterOrEqualTo(replaced.finished());
        }
        // From the handlers' own records: each handler returned before the next one started.
        assertThat(spans).hasSizeGreaterThanOrEqualTo(2);
        List<Span> byStart = spans.stream()
                .sorted(java.util.Comparator.comparingLong(Span::start))
                .toList();
        for (int i = 1; i < byStart.size(); i++) {
            assertThat(byStart.get(i).start())
                    .as(
                            "run %d started after run %d's handler returned",
                            byStart.get(i).run(), byStart.get(i - 1).run())
                    .isGreaterThanOrEqualTo(byStart.get(i - 1).end());
        }
        assertThat(cluster.query(
                        "select actor || ' ' || action || ' ' || detail from task_events where task_name = 'replace'"
                                + " and action = 'CANCELLED' order by id limit 1",
                        rs -> rs.getString(1)))
                .singleElement()
                .asString()
                .isEqualTo("scheduler:inst-1 CANCELLED run " + rows.getFirst().id() + ": the slot "
                        + rows.get(1).slot() + " came due while it ran (overlap REPLACE)");
    }
}
