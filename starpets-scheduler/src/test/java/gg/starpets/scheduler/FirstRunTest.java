package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * When a new configuration task runs first, on the database: a cron at its next matching time (not at
 * deploy time), a fixed delay at once, a start-at instead of either.
 */
class FirstRunTest {

    private final SchedulerCluster cluster = new SchedulerCluster();
    private final Set<String> ran = ConcurrentHashMap.newKeySet();

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(String name, String schedule) {
        return TaskDefinition.of(name, "noop", schedule, "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    @Test
    void aNewCronTaskWaitsForItsNextMatchingTimeAnIntervalTaskRunsAtOnceAndAStartAtOverridesBoth() {
        Scheduler s = cluster.create("inst-1", Map.of("noop", ctx -> ran.add(ctx.taskName())));
        Instant startAt = Instant.now().plus(Duration.ofHours(2)).truncatedTo(ChronoUnit.SECONDS);
        s.syncTasks(List.of(
                task("daily-digest", "0 3 * * *"),
                task("every-hour", "1h"),
                task("later-cron", "* * * * * *").withStartAt(startAt),
                task("later-interval", "1s").withStartAt(startAt)));

        assertThat(cluster.count("""
                        select count(*) from tasks where name = 'daily-digest' and next_run_at > now()
                           and next_run_at <= now() + interval '1 day' and next_fire_at = next_run_at
                           and extract(hour from next_run_at at time zone 'UTC') = 3
                           and extract(minute from next_run_at at time zone 'UTC') = 0
                        """))
                .as("the daily 03:00 task is due at the next 03:00")
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from tasks where name = 'every-hour' and next_run_at <= now()"))
                .as("the interval task is due at once")
                .isEqualTo(1);
        assertThat(cluster.query(
                        "select name, next_run_at from tasks where name like 'later-%' order by name",
                        rs -> rs.getString(1) + " " + rs.getTimestamp(2).toInstant()))
                .containsExactly("later-cron " + startAt, "later-interval " + startAt);

        s.start();
        await().atMost(Timing.SOON).until(() -> ran.contains("every-hour"));
        assertThat(ran).containsExactly("every-hour");
    }
}
