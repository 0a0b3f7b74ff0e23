package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.RunsAlongside;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Runs' ends written together ({@link RunEndRepository}, {@link RunEndBatcher}) on a real PostgreSQL: each end
 * is written only while its fence holds, none is lost, and a batch meeting a locked row writes nothing
 * and leaves the ends to be written one by one.
 */
@RunsAlongside
class RunEndRepositoryTest {

    private static final long KEY = 5150L;

    private SchedulerCluster cluster;
    private Connection holder;
    private final TaskRepository tasks = new TaskRepository();

    @BeforeEach
    void setUp() throws SQLException {
        cluster = new SchedulerCluster();
        holder = cluster.connection();
        try (var st = holder.createStatement()) {
            st.execute("select pg_advisory_lock_shared(" + KEY + ")");
        }
    }

    @AfterEach
    void tearDown() throws SQLException {
        holder.close();
        cluster.close();
    }

    private List<ClaimedRun> claim(List<TaskDefinition> definitions) throws SQLException {
        cluster.create("inst-setup", Map.of("step", ctx -> {})).syncTasks(definitions);
        try (Connection c = cluster.pool.getConnection()) {
            List<ClaimedRun> claimed = tasks.claim(c, "inst-x", KEY, Duration.ofMinutes(1), definitions.size());
            assertThat(claimed).hasSize(definitions.size());
            return claimed;
        }
    }

    private static RunEndRepository.Pending succeeded(ClaimedRun run, Instant next) {
        return new RunEndRepository.Pending(
                run, NextRun.scheduled(next), new RunEnd(RunStatus.SUCCEEDED, null, 1.0, "done", null));
    }

    private static Instant inAnHour() {
        return Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.MILLIS);
    }

    @Test
    void eachEndIsWrittenOnlyWhileItsFenceHoldsAndATakenOverRunIsLeftAsItsNewOwnerHasIt() throws SQLException {
        List<ClaimedRun> runs = claim(SchedulerCluster.tasks(4, "batch", "1h", i -> "step"));
        ClaimedRun taken = runs.get(1);
        // Another instance took the second task over (recovery): new fence, new owner.
        cluster.execute("update tasks set fence = fence + 1, owner_session = 99, owner_instance = 'inst-y'"
                + " where id = " + taken.taskId());
        // The fourth was taken over and claimed again by this same session since: a new run at a new fence.
        ClaimedRun again = runs.get(3);
        cluster.execute("update tasks set fence = fence + 2, current_run_id = current_run_id + 1000 where id = "
                + again.taskId());
        Instant next = inAnHour();

        Boolean[] released;
        try (Connection c = cluster.pool.getConnection()) {
            released = RunEndRepository.write(
                    c, KEY, runs.stream().map(r -> succeeded(r, next)).toList());
        }

        assertThat(released).containsExactly(true, false, true, false);
        assertThat(cluster.query(
                        "select status from task_runs where id in ("
                                + runs.get(0).runId() + ", " + runs.get(2).runId() + ")",
                        rs -> rs.getString(1)))
                .containsExactly("SUCCEEDED", "SUCCEEDED");
        assertThat(cluster.count("select count(*) from tasks where owner_session is null and next_run_at = '"
                        + next + "' and last_run_id in (" + runs.get(0).runId() + ", "
                        + runs.get(2).runId()
                        + ")"))
                .as("both released, due as their ends said")
                .isEqualTo(2);
        assertThat(cluster.query("select status from task_runs where id = " + taken.runId(), rs -> rs.getString(1)))
                .as("the run taken over is not ended by the stale owner")
                .containsExactly("RUNNING");
        assertThat(cluster.count("select count(*) from tasks where id = " + taken.taskId()
                        + " and owner_session = 99 and owner_instance = 'inst-y' and next_run_at <> '" + next + "'"))
                .as("the task taken over stays its new owner's, its next time untouched")
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from tasks where id = " + again.taskId() + " and owner_session = "
                        + KEY + " and current_run_id = " + (again.runId() + 1000) + " and next_run_at <> '" + next
                        + "'"))
                .as("the task claimed again by this session keeps its new run: a stale fence commits nothing")
                .isEqualTo(1);
        assertThat(cluster.query("select status from task_runs where id = " + again.runId(), rs -> rs.getString(1)))
                .containsExactly("RUNNING");
    }

    @Test
    void aBatchWritesTheEndsItCanLockAndSaysWhichRowWasLockedElsewhereWithoutWaitingForIt() throws SQLException {
        List<ClaimedRun> runs = claim(SchedulerCluster.tasks(2, "locked", "1h", i -> "step"));
        try (Connection other = cluster.connection()) {
            other.setAutoCommit(false);
            try (var st = other.createStatement()) {
                st.execute("select 1 from tasks where id = " + runs.get(1).taskId() + " for update");
            }
            try (Connection c = cluster.pool.getConnection()) {
                assertThat(RunEndRepository.write(
                                c,
                                KEY,
                                runs.stream().map(r -> succeeded(r, inAnHour())).toList()))
                        .containsExactly(true, null);
            }
            other.rollback();
        }
        assertThat(cluster.query("select status from task_runs order by id", rs -> rs.getString(1)))
                .containsExactly("SUCCEEDED", "RUNNING");
        assertThat(cluster.count("select count(*) from tasks where owner_session = " + KEY + " and id = "
                        + runs.get(1).taskId()))
                .as("the locked one is left as it was, for a later batch")
                .isEqualTo(1);
    }

    @Test
    void aTaskEndedInTheBatchThatAnotherEndOfTheBatchStartsGetsItsPendingRunDue() throws SQLException {
        TaskDefinition upstream = TaskDefinition.of("up", "step", "1h", "UTC", Duration.ofMinutes(1), true, Map.of());
        TaskDefinition downstream = TaskDefinition.of(
                        "down", "step", "1h", "UTC", Duration.ofMinutes(1), true, Map.of())
                .withRunAfter(new TaskDefinition.RunAfter("up", TaskDefinition.RunAfter.When.ANY));
        List<ClaimedRun> runs = claim(List.of(upstream, downstream));

        try (Connection c = cluster.pool.getConnection()) {
            assertThat(RunEndRepository.write(
                            c,
                            KEY,
                            runs.stream().map(r -> succeeded(r, inAnHour())).toList()))
                    .containsExactly(true, true);
        }

        assertThat(
                        cluster.count(
                                "select count(*) from task_runs where task_name = 'down' and status = 'PENDING' and cause = 'UPSTREAM'"))
                .isEqualTo(1);
        assertThat(cluster.count("""
                        select count(*) from tasks d
                         where d.name = 'down' and d.owner_session is null
                           and d.next_request_at = (select scheduled_for from task_runs
                                                     where task_name = 'down' and status = 'PENDING')
                        """))
                .as("the run after 'up' is due on 'down', which the same statement released")
                .isEqualTo(1);
    }

    @Test
    void endsArrivingTogetherAreAllWrittenAndARowLockedMeanwhileDelaysOnlyItsOwnEnd() throws Exception {
        int n = 60;
        List<ClaimedRun> runs = claim(SchedulerCluster.tasks(n, "many", "1h", i -> "step"));
        RunEndBatcher batcher = new RunEndBatcher(cluster.pool, tasks, KEY);
        Instant next = inAnHour();
        List<CompletableFuture<Boolean>> results = new ArrayList<>();
        try (Connection other = cluster.connection();
                var ends = Executors.newVirtualThreadPerTaskExecutor()) {
            // One row held by another transaction while the ends arrive: its batch is written one by one.
            other.setAutoCommit(false);
            try (var st = other.createStatement()) {
                st.execute("select 1 from tasks where id = " + runs.get(n / 2).taskId() + " for update");
            }
            for (ClaimedRun run : runs) {
                results.add(CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                RunEndRepository.Pending p = succeeded(run, next);
                                return batcher.finish(p.run(), p.next(), p.end());
                            } catch (SQLException e) {
                                throw new IllegalStateException(e);
                            }
                        },
                        ends));
            }
            await().atMost(Timing.SOON)
                    .until(() -> cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'") >= n - 1);
            assertThat(results.get(n / 2)).as("waits for its row").isNotDone();
            other.rollback();
            assertThat(results.stream().map(CompletableFuture::join)).containsOnly(true);
        }
        assertThat(cluster.count("select count(*) from task_runs where status = 'SUCCEEDED'"))
                .isEqualTo(n);
        assertThat(cluster.count(
                        "select count(*) from tasks where owner_session is null and next_run_at = '" + next + "'"))
                .isEqualTo(n);
        assertThat(cluster.count("select count(*) from task_runs where finished_at is null"))
                .isZero();
    }

    @Test
    void oneOffEndsWrittenTogetherKeepTheirFenceTheirFollowUpsAndTheNextPendingTime() throws SQLException {
        List<TaskDefinition> definitions = SchedulerCluster.tasks(3, "asked", "0 0 1 1 *", i -> "step");
        cluster.create("inst-setup", Map.of("step", ctx -> {})).syncTasks(definitions);
        OneOffRuns oneOff = new OneOffRuns(cluster.pool);
        Instant later = Instant.now().plus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.MILLIS);
        for (TaskDefinition d : definitions) {
            oneOff.request(d.name(), Map.of(), null, null, "{}", x -> {}, "operator:ann");
            oneOff.request(d.name(), Map.of(), later, null, "{}", x -> {}, "operator:ann");
        }
        List<ClaimedRun> runs;
        try (Connection c = cluster.pool.getConnection()) {
            runs = tasks.claim(c, "inst-x", KEY, Duration.ofMinutes(1), 3);
        }
        assertThat(runs).hasSize(3).allSatisfy(r -> assertThat(r.oneOff()).isTrue());
        ClaimedRun taken = runs.get(1);
        cluster.execute("update tasks set fence = fence + 1, owner_session = 99, owner_instance = 'inst-y'"
                + " where id = " + taken.taskId());
        ClaimedRun retried = runs.get(2);
        List<RunEndRepository.Pending> ends = List.of(
                new RunEndRepository.Pending(
                        runs.get(0), null, new RunEnd(RunStatus.SUCCEEDED, null, null, null, null)),
                new RunEndRepository.Pending(taken, null, new RunEnd(RunStatus.SUCCEEDED, null, null, null, null)),
                new RunEndRepository.Pending(
                        retried,
                        NextRun.now(RunCause.MANUAL, 2),
                        new RunEnd(RunStatus.FAILED, "attempt 1 fails", null, null, null)));

        try (Connection c = cluster.pool.getConnection()) {
            assertThat(RunEndRepository.writeOneOffs(c, KEY, ends)).containsExactly(true, false, true);
        }

        assertThat(cluster.query(
                        "select status from task_runs where id in ("
                                + runs.get(0).runId() + ", " + taken.runId() + ", " + retried.runId() + ") order by id",
                        rs -> rs.getString(1)))
                .containsExactly("SUCCEEDED", "RUNNING", "FAILED");
        assertThat(cluster.count("select count(*) from tasks where id = "
                        + runs.get(0).taskId() + " and owner_session is null and next_request_at = '" + later + "'"))
                .as("given back, due at its other pending run's time")
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from task_runs where task_id = " + retried.taskId()
                        + " and status = 'PENDING' and attempt = 2 and scheduled_for <= now()"))
                .as("the failed run's next attempt, asked for at once")
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from tasks where id = " + retried.taskId()
                        + " and owner_session is null and next_request_at <= now()"))
                .isEqualTo(1);
        assertThat(cluster.count("select count(*) from tasks where id = " + taken.taskId()
                        + " and owner_session = 99 and next_request_at <= now()"))
                .as("the task taken over stays its new owner's, as it was")
                .isEqualTo(1);
    }
}
