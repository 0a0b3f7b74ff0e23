package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** How a run ends: succeeded, failed with its error, timed out; and what the scheduler refuses. */
class RunOutcomeTest {

    private SchedulerCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private static TaskDefinition task(String name, String handler, Duration timeout) {
        return TaskDefinition.of(name, handler, "1h", "UTC", timeout, true, Map.of());
    }

    @Test
    void aHandlerThatThrowsIsRecordedFailedWithTheErrorAndTheTaskWaitsForItsNextTime() {
        Scheduler s = cluster.create("instance-1", Map.of("boom", ctx -> {
            throw new IllegalStateException("pet catalog unavailable");
        }));
        s.syncTasks(List.of(task("failing", "boom", Duration.ofMinutes(1))));
        s.start();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'FAILED'") == 1);
        assertThat(cluster.query("select error from task_runs", rs -> rs.getString(1)))
                .singleElement()
                .asString()
                .contains("pet catalog unavailable");
        assertThat(
                        cluster.count(
                                "select count(*) from tasks where owner_session is null and next_run_at > now() + interval '50 minutes'"))
                .isEqualTo(1);
    }

    @Test
    void aRunPastItsTimeoutIsInterruptedAndRecordedTimedOut() {
        Scheduler s = cluster.create("instance-1", Map.of("slow", ctx -> ctx.sleep(Duration.ofMinutes(5))));
        s.syncTasks(List.of(task("slow-task", "slow", Duration.ofMillis(300))));
        s.start();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'TIMED_OUT'") == 1);
        assertThat(cluster.query("select error from task_runs", rs -> rs.getString(1)))
                .containsExactly("the run exceeded its timeout");
        assertThat(s.activeRuns()).isZero();
    }

    @Test
    void progressReportedByAHandlerIsVisibleWhileItRunsAndKeptInTheHistory() {
        CountDownLatch release = new CountDownLatch(1);
        Scheduler s = cluster.create("instance-1", Map.of("half", ctx -> {
            ctx.reportProgress(0.5);
            release.await();
            ctx.reportProgress(1);
        }));
        s.syncTasks(List.of(task("halfway", "half", Duration.ofMinutes(1))));
        s.start();

        await().atMost(Timing.SOON).until(() -> cluster.count("select count(*) from tasks where progress = 0.5") == 1);
        release.countDown();
        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED' and progress = 1")
                        == 1);
        assertThat(cluster.count("select count(*) from tasks where progress is null and last_run_id is not null"))
                .isEqualTo(1);
    }

    @Test
    void unknownHandlersAndDuplicateNamesAreRefusedBeforeAnythingIsWritten() {
        Scheduler s = cluster.create("instance-1", Map.of("sleep", ctx -> {}));
        assertThatThrownBy(() -> s.syncTasks(
                        List.of(task("a", "sleep", Duration.ofMinutes(1)), task("b", "nope", Duration.ofMinutes(1)))))
                .hasMessageContaining("Task 'b': unknown handler 'nope'");
        assertThatThrownBy(() -> s.syncTasks(
                        List.of(task("a", "sleep", Duration.ofMinutes(1)), task("a", "sleep", Duration.ofMinutes(2)))))
                .hasMessageContaining("Task 'a': the name is defined more than once");
        assertThat(cluster.count("select count(*) from tasks")).isZero();
    }

    @Test
    void aRunMissedWhileNobodyCouldRunItRunsOnceAndThenFollowsTheScheduleFromNow() {
        Scheduler s = cluster.create("instance-1", Map.of("noop", ctx -> {}));
        // Hourly, half an hour from now: no regular time falls inside the test (an every-minute cron
        // fired a second, regular run whenever the test crossed a minute).
        int minute = (java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).getMinute() + 30) % 60;
        s.syncTasks(List.of(TaskDefinition.of(
                "hourly", "noop", minute + " * * * *", "UTC", Duration.ofMinutes(1), true, Map.of())));
        // Due five hours ago: five regular runs were missed while no instance was alive.
        cluster.execute("update tasks set next_run_at = now() - interval '5 hours'");
        s.start();

        await().atMost(Timing.SOON)
                .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") == 1);
        Timing.holdsFor(Duration.ofMillis(1500)).until(() -> cluster.count("select count(*) from task_runs") == 1);
        assertThat(cluster.count("select count(*) from tasks where next_run_at > now()"
                        + " and next_run_at <= now() + interval '1 hour'"))
                .isEqualTo(1);
    }

    @Test
    void aRowThatCannotBeReadEndsItsRunFailedWithTheReasonAndItsBatchMatesRun() {
        Scheduler s = cluster.create("instance-1", Map.of("noop", ctx -> {}));
        s.syncTasks(List.of(
                task("mate-1", "noop", Duration.ofMinutes(1)),
                task("unreadable", "noop", Duration.ofMinutes(1)),
                task("mate-2", "noop", Duration.ofMinutes(1))));
        // As an older version stored `catch-up-window: 500us`: 0 ms, which no definition may hold.
        cluster.execute("update tasks set catch_up_window_ms = 0 where name = 'unreadable'");
        s.start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.count("select count(*) from task_runs where status <> 'RUNNING'") == 3);
        assertThat(cluster.query(
                        "select task_name || ' ' || status || ' ' || coalesce(error, '') from task_runs order by task_name",
                        rs -> rs.getString(1)))
                .containsExactly(
                        "mate-1 SUCCEEDED ",
                        "mate-2 SUCCEEDED ",
                        "unreadable FAILED the task's definition as stored cannot be read:"
                                + " catch-up-window must be positive");
        // Not lost, not quarantined, not owned: it waits for its next time.
        assertThat(
                        cluster.count(
                                "select count(*) from tasks where name = 'unreadable' and owner_session is null"
                                        + " and lost_streak = 0 and quarantined_at is null and next_run_at > now() + interval '50 minutes'"))
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from tasks where quarantined_at is not null"))
                .isZero();
    }
}
