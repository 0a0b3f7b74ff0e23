package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.AppProcess;
import gg.starpets.support.JarCluster;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An {@code sql} task on two instances of the real jar whose owner is frozen (SIGSTOP) longer than
 * the lease, or killed (SIGKILL), in the middle of a statement longer than the fault. Witnessed from
 * outside the instances: {@code pg_stat_activity}, sampled by this test (two executions of the task's
 * statement are never active at once), and a table written only by committed work (only runs that
 * held their task to the end wrote to it).
 */
class SqlFencingIT {

    private static final Duration LEASE = Duration.ofSeconds(4);
    /** Longer than the lease: another instance may take the task over meanwhile. */
    private static final Duration FREEZE = LEASE.plusSeconds(3);
    /**
     * The first run's statement (A's, run 1 of the test's own database): longer than B's start and the
     * fault together, however long a loaded machine takes (B started beside another test's instances
     * once took 16 s, and a 12 s statement had ended with its run before the fault: nothing to take
     * over). Only the fencing ends it.
     */
    private static final int FIRST_STATEMENT_SECONDS = 600;
    /** Every later run's statement (B's): long enough to be sampled beside anything left of A's. */
    private static final int STATEMENT_SECONDS = 12;

    private static final String STATEMENT = "insert into witness.steps (app) select current_setting('application_name')"
            + " from pg_sleep(case when current_setting('application_name') = 'starpets-run-1' then "
            + FIRST_STATEMENT_SECONDS + " else " + STATEMENT_SECONDS + " end)";

    private final JarCluster cluster = new JarCluster();
    private final Sampler sampler = new Sampler();

    @BeforeEach
    void witness() throws SQLException {
        // Its own schema: the instances' migrations find theirs empty. sql tasks run as their own role
        // (db/roles.sql), which may write here and nowhere else.
        cluster.execute("create schema witness;"
                + " create table witness.steps (app text not null, at timestamptz not null default clock_timestamp());"
                + " grant usage on schema witness to starpets_sql; grant insert on witness.steps to starpets_sql");
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        sampler.stop();
        cluster.close();
    }

    private AppProcess start(String instanceId) throws Exception {
        Map<String, Object> settings = cluster.settings();
        settings.put("starpets.scheduler.settle", "200ms");
        settings.put("starpets.scheduler.heartbeat", "500ms");
        settings.put("starpets.scheduler.lease", LEASE.toSeconds() + "s");
        settings.put("starpets.tasks[0].name", "witnessed-sql");
        settings.put("starpets.tasks[0].handler", "sql");
        settings.put("starpets.tasks[0].schedule", "1h");
        settings.put("starpets.tasks[0].timeout", "2m");
        settings.put("starpets.tasks[0].params.statement", STATEMENT);
        return cluster.start(instanceId, settings);
    }

    private long currentRun() {
        return cluster.count("select coalesce(current_run_id, 0) from tasks where name = 'witnessed-sql'");
    }

    /** Instance A runs the task's statement; instance B is up, with nothing to do. */
    private AppProcess[] aRunsTheStatementAndBWaits() throws Exception {
        AppProcess a = start("sql-a");
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'sql-a'") == 1);
        assertThat(currentRun())
                .as("A's run, whose statement only the fencing ends")
                .isEqualTo(1);
        sampler.start(cluster.connection());
        await().atMost(Timing.SOON).until(() -> sampler.seen("starpets-run-" + currentRun()));
        AppProcess b = start("sql-b");
        await().ignoreExceptions()
                .atMost(Timing.START)
                .until(() ->
                        cluster.count("select count(*) from instances where id = 'sql-b' and state = 'RUNNING'") == 1);
        return new AppProcess[] {a, b};
    }

    /** B's run of the task, once it has taken it over from run {@code lost}, to its end. */
    private long takenOverAndFinishedByB(long lost) {
        ownedByB();
        long taken = currentRun();
        assertThat(taken).isNotEqualTo(lost);
        await().ignoreExceptions()
                .atMost(Duration.ofSeconds(STATEMENT_SECONDS + 30))
                .until(() -> cluster.count(
                                "select count(*) from task_runs where id = " + taken + " and status = 'SUCCEEDED'")
                        == 1);
        return taken;
    }

    /** Waits until B owns the task; if it never does, says what the database shows. */
    private void ownedByB() {
        try {
            await().ignoreExceptions()
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.count("select count(*) from tasks where owner_instance = 'sql-b'") == 1);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("B never took the task over; the database shows:\n" + cluster.describe(), e);
        }
    }

    private void assertOneExecutionAtATimeAndOnlyHeldWorkCommitted(long lost, long taken) throws InterruptedException {
        sampler.stop();
        assertThat(sampler.samples())
                .as("samples of pg_stat_activity")
                .hasSizeGreaterThan(100)
                .noneMatch(s -> s.stream().anyMatch(a -> a.startsWith("sampler failed")));
        assertThat(sampler.mostAtOnce())
                .as("executions of the statement active at once, at any sample: %s", sampler.overlaps())
                .isEqualTo(1);
        assertThat(cluster.strings("select status from task_runs where id = " + lost))
                .containsExactly("LOST");
        assertThat(cluster.strings("select app from witness.steps"))
                .as("rows written by committed work")
                .containsExactly("starpets-run-" + taken);
    }

    @Test
    void anOwnerFrozenLongerThanTheLeaseHasItsStatementEndedBeforeTheTaskRunsElsewhere() throws Exception {
        AppProcess[] instances = aRunsTheStatementAndBWaits();
        AppProcess a = instances[0];
        long lost = currentRun();

        a.signal("STOP");
        long frozen = System.nanoTime();
        try {
            ownedByB();
            await().atMost(FREEZE.plusSeconds(5)).until(() -> System.nanoTime() - frozen > FREEZE.toNanos());
        } finally {
            a.signal("CONT");
        }
        long taken = takenOverAndFinishedByB(lost);
        // The woken instance finds its run taken over and leaves it.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> a.log().contains("taken over") || a.log().contains("Fencing this instance"));

        assertOneExecutionAtATimeAndOnlyHeldWorkCommitted(lost, taken);
        assertThat(a.alive()).isTrue();
    }

    @Test
    void aKilledOwnersStatementIsEndedBeforeTheTaskRunsElsewhere() throws Exception {
        AppProcess[] instances = aRunsTheStatementAndBWaits();
        long lost = currentRun();

        instances[0].kill();
        long taken = takenOverAndFinishedByB(lost);

        assertOneExecutionAtATimeAndOnlyHeldWorkCommitted(lost, taken);
    }

    /** Samples, every few milliseconds, the sessions executing the task's statement, by name. */
    private static final class Sampler {

        private final ConcurrentLinkedQueue<List<String>> samples = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean();
        private Thread thread;

        void start(Connection connection) {
            running.set(true);
            thread = Thread.ofPlatform().name("test-pg-stat-activity-sampler").start(() -> {
                try (Connection c = connection;
                        var st = c.prepareStatement("select application_name from pg_stat_activity"
                                + " where state = 'active' and query = ?")) {
                    st.setString(1, STATEMENT);
                    // Bounded by the test's own end (stop), and by a ceiling far past any test's length.
                    long ceiling = System.nanoTime() + Duration.ofMinutes(10).toNanos();
                    while (running.get() && System.nanoTime() < ceiling) {
                        List<String> active = new ArrayList<>();
                        try (ResultSet rs = st.executeQuery()) {
                            while (rs.next()) {
                                active.add(rs.getString(1));
                            }
                        }
                        samples.add(active);
                        // Pacing, not waiting for anything: a sample every few milliseconds is enough.
                        Thread.sleep(SAMPLE_EVERY);
                    }
                } catch (SQLException | InterruptedException e) {
                    samples.add(List.of("sampler failed: " + e));
                }
            });
        }

        void stop() throws InterruptedException {
            running.set(false);
            if (thread != null) {
                thread.join(Duration.ofSeconds(10));
            }
        }

        boolean seen(String application) {
            return samples.stream().anyMatch(s -> s.contains(application));
        }

        List<List<String>> samples() {
            return List.copyOf(samples);
        }

        int mostAtOnce() {
            return samples.stream().mapToInt(List::size).max().orElse(0);
        }

        List<List<String>> overlaps() {
            return samples.stream().filter(s -> s.size() > 1).distinct().toList();
        }
    }

    /** Far shorter than any overlap the faults could cause (seconds). */
    private static final Duration SAMPLE_EVERY = Duration.ofMillis(20);
}
