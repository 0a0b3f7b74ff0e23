package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Timing;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One-time tasks ({@code schedule: once} with {@code at}) on a real PostgreSQL: run once, not before
 * {@code at}, then COMPLETED; retried by their policy first; not run again when the configuration is
 * synced again (a restart) unless {@code at} changed.
 */
class OneTimeTaskTest {

    private SchedulerCluster cluster;
    private final ConcurrentLinkedQueue<Instant[]> runs = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    /** Records each run's scheduled time and start; fails attempts below {@code failBelow}. */
    private TaskHandler witness(int failBelow) {
        return ctx -> {
            runs.add(new Instant[] {ctx.scheduledFor(), Instant.now()});
            if (ctx.attempt() < failBelow) {
                throw new IllegalStateException("attempt " + ctx.attempt() + " fails");
            }
        };
    }

    private static TaskDefinition once(String name, Instant at) {
        return TaskDefinition.of(name, "work", "once", "UTC", Duration.ofMinutes(1), true, Map.of())
                .withAt(at);
    }

    @Test
    void aOneTimeTaskRunsOnceAtItsTimeThenShowsCompletedAndASyncAgainDoesNotRunItAgainUnlessItsTimeChanged() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(0)));
        Instant at = Instant.now().plusSeconds(2).truncatedTo(ChronoUnit.MILLIS);
        scheduler.syncTasks(List.of(once("launch", at)));
        scheduler.start();

        await().atMost(Timing.SOON).until(() -> "COMPLETED".equals(state("launch")));
        assertThat(runs).hasSize(1);
        assertThat(runs.peek()[0]).as("scheduled for").isEqualTo(at);
        assertThat(runs.peek()[1]).as("started").isAfterOrEqualTo(at);
        assertThat(cluster.query("select status from task_runs", rs -> rs.getString(1)))
                .containsExactly("SUCCEEDED");

        // A restart syncs the same configuration again: nothing changes, nothing runs.
        assertThat(scheduler.syncTasks(List.of(once("launch", at)))).isZero();
        await().during(Duration.ofSeconds(2)).atMost(Timing.SOON).until(() -> runs.size() == 1);
        assertThat(state("launch")).isEqualTo("COMPLETED");

        // Another time: it runs again, at that time.
        Instant later = Instant.now().plusMillis(500).truncatedTo(ChronoUnit.MILLIS);
        assertThat(scheduler.syncTasks(List.of(once("launch", later)))).isEqualTo(1);
        await().atMost(Timing.SOON).until(() -> runs.size() == 2 && "COMPLETED".equals(state("launch")));
        assertThat(runs.stream().toList().get(1)[0]).isEqualTo(later);
    }

    @Test
    void aOneTimeTaskThatFailsIsRetriedByItsPolicyAndThenShowsCompletedWithItsLastRunFailed() {
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(10)));
        scheduler.syncTasks(List.of(once("doomed", Instant.now())
                .withRetry(new RetryPolicy(3, Duration.ofMillis(100), 1.0, Duration.ofMillis(100)))));
        scheduler.start();

        await().atMost(Timing.SOON).until(() -> "COMPLETED".equals(state("doomed")));
        assertThat(cluster.query("select status || ' ' || attempt from task_runs order by id", rs -> rs.getString(1)))
                .containsExactly("FAILED 1", "FAILED 2", "FAILED 3");
        assertThat(new TaskViews(cluster.pool)
                        .find("doomed")
                        .tasks()
                        .getFirst()
                        .lastRun()
                        .status())
                .isEqualTo(RunStatus.FAILED);
    }

    @Test
    void anApiOneTimeTaskGivenAnotherAtRunsAtItOrAtOnceWhenItHasPassed() {
        TaskCommands commands = new TaskCommands(cluster.pool);
        commands.create(once("moved", Instant.now().plus(Duration.ofDays(30))), "operator:ann");
        Scheduler scheduler = cluster.create("instance-1", Map.of("work", witness(0)));
        scheduler.start();
        // A time that has passed: it runs at once.
        Instant passed = Instant.now().minusSeconds(60).truncatedTo(ChronoUnit.MILLIS);

        commands.update("moved", null, stored -> stored.withAt(passed), "operator:ann");

        await().atMost(Timing.SOON).until(() -> "COMPLETED".equals(state("moved")));
        assertThat(runs).hasSize(1);
        assertThat(runs.peek()[0]).isAfter(passed);
    }

    @Test
    void onceNeedsAnAtAndAnAtNeedsOnce() {
        TaskDefinition noAt = TaskDefinition.of("x", "work", "once", "UTC", Duration.ofMinutes(1), true, Map.of());
        assertThatThrownBy(() -> noAt.withAt(null))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageContaining("needs 'at'");
        TaskDefinition hourly = TaskDefinition.of("x", "work", "1h", "UTC", Duration.ofMinutes(1), true, Map.of());
        assertThatThrownBy(() -> hourly.withAt(Instant.now()))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageContaining("'at' is for a one-time task");
    }

    private String state(String task) {
        return new TaskViews(cluster.pool).find(task).tasks().getFirst().state();
    }
}
