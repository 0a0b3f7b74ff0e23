package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link RunContext#scheduledFor()} in the engine: the slot a run serves, on the database clock. */
class ScheduledForTest {

    private final SchedulerCluster cluster = new SchedulerCluster();
    private final List<Instant> seen = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(String schedule) {
        return TaskDefinition.of("slots", "record", schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    @Test
    void eachCatchUpRunCarriesTheMissedTimeItServes() {
        Scheduler s = cluster.create("inst-1", Map.of("record", ctx -> seen.add(ctx.scheduledFor())));
        s.syncTasks(List.of(task("* * * * *")
                .withMisfire(new MisfirePolicy(
                        MisfirePolicy.Kind.CATCH_UP, Duration.ofMinutes(1), 3, Duration.ofHours(1)))));
        // Every instance was down for three minutes. The minute is read back from the row: computed apart, a
        // minute's boundary between the two statements would set one minute and expect another.
        cluster.execute("update tasks set next_run_at = date_trunc('minute', now()) - interval '3 minutes',"
                + " next_fire_at = date_trunc('minute', now()) - interval '3 minutes'");
        Instant minute = cluster.query(
                        "select next_run_at from tasks",
                        rs -> rs.getTimestamp(1).toInstant())
                .getFirst();
        s.start();

        await().atMost(Timing.SOON).until(() -> seen.size() >= 4);
        assertThat(seen.subList(0, 4))
                .containsExactly(minute, minute.plusSeconds(60), minute.plusSeconds(120), minute.plusSeconds(180));
    }

    @Test
    void aJitteredRunIsForItsScheduleTimeNotForWhenTheJitterMadeItDue() {
        Scheduler s = cluster.create("inst-1", Map.of("record", ctx -> seen.add(ctx.scheduledFor())));
        s.syncTasks(List.of(task("* * * * * *").withJitter(Duration.ofMillis(500))));
        s.start();

        await().atMost(Timing.SOON).until(() -> seen.size() >= 3);
        assertThat(seen)
                .allSatisfy(at -> assertThat(at.getNano()).as(at.toString()).isZero());
        // The run's row keeps when it was due (with its jitter): the jitter was drawn.
        assertThat(cluster.count("select count(*) from task_runs where task_name = 'slots'"
                        + " and scheduled_for <> date_trunc('second', scheduled_for)"))
                .isPositive();
    }
}
