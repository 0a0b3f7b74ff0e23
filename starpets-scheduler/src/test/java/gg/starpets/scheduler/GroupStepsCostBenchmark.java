package gg.starpets.scheduler;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The two costs concurrency groups add to tasks in no group, timed apart on one PostgreSQL with no group
 * defined: a claim of 10 due tasks with and without the claim's group steps ({@link ClaimSql#CLAIM},
 * {@link ClaimSql#CLAIM_UNGROUPED}), and the release of 10 tasks with V22's trigger (fires at every
 * release) and V23's (only for a task that has held a slot). Variants alternate, round after round, so
 * that drift of the shared machine falls on both. Prints markdown table rows. Not a test: run under the
 * heavy lock, {@code java -cp <bench classpath> gg.starpets.scheduler.GroupStepsCostBenchmark [rounds]}.
 */
public final class GroupStepsCostBenchmark {

    private static final int TASKS = 1_000;
    private static final int QUOTA = 10;
    private static final long KEY = 4242L;

    private static final String V22_RELEASE_TRIGGER = """
            create trigger tasks_free_group_slot after update of owner_session on tasks
               for each row when (old.owner_session is not null and new.owner_session is null)
               execute function starpets_free_group_slot()""";

    private static final String V23_RELEASE_TRIGGER = """
            create trigger tasks_free_group_slot after update of owner_session on tasks
               for each row when (old.owner_session is not null and new.owner_session is null and old.group_slot_taken)
               execute function starpets_free_group_slot()""";

    private GroupStepsCostBenchmark() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
        try (SchedulerCluster cluster = new SchedulerCluster()) {
            Scheduler setup = cluster.create("bench-setup", Map.of("noop", ctx -> {}));
            setup.syncTasks(SchedulerCluster.tasks(TASKS, "t", "1h", i -> "noop"));
            TaskRepository tasks = new TaskRepository();
            try (Connection c = cluster.pool.getConnection();
                    Statement st = c.createStatement()) {
                st.execute("select pg_advisory_lock_shared(" + KEY + ")");
                long[] claim = new long[2]; // with the group steps, without
                long[] release = new long[2]; // V22's trigger, V23's
                int warmUp = rounds / 10;
                for (int r = -warmUp; r < rounds; r++) {
                    for (int v = 0; v < 2; v++) {
                        long t0 = System.nanoTime();
                        List<ClaimedRun> runs = tasks.claim(
                                c,
                                "bench",
                                KEY,
                                Duration.ofMinutes(5),
                                QUOTA,
                                new long[0],
                                Capacity.Room.UNLIMITED,
                                null,
                                v == 0,
                                Duration.ZERO);
                        long t1 = System.nanoTime();
                        if (runs.size() != QUOTA) {
                            throw new IllegalStateException("claimed " + runs.size() + " of " + QUOTA);
                        }
                        st.execute("drop trigger tasks_free_group_slot on tasks");
                        st.execute(v == 0 ? V22_RELEASE_TRIGGER : V23_RELEASE_TRIGGER);
                        long t2 = System.nanoTime();
                        // A release as the run's end writes it, without the rest of that statement: due again at once.
                        int released = st.executeUpdate(
                                "update tasks set owner_session = null, lease_until = null where owner_session = "
                                        + KEY);
                        long t3 = System.nanoTime();
                        if (released != QUOTA) {
                            throw new IllegalStateException("released " + released);
                        }
                        if (r >= 0) {
                            claim[v] += t1 - t0;
                            release[v] += t3 - t2;
                        }
                    }
                }
                row("claim of 10 due tasks, no group defined: with the group steps (CLAIM)", claim[0], rounds);
                row("the same without them (CLAIM_UNGROUPED)", claim[1], rounds);
                row("release of 10 tasks in no group: V22's trigger (every release)", release[0], rounds);
                row("the same with V23's (only a task that has held a slot)", release[1], rounds);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        System.exit(0);
    }

    private static void row(String what, long nanos, int rounds) {
        System.out.printf("| %s | %.1f µs | %d statements |%n", what, nanos / 1e3 / rounds, rounds);
    }
}
