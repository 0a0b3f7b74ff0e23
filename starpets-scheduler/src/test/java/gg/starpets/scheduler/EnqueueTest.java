package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import gg.starpets.scheduler.TaskCommands.Refusal;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.support.Timing;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link StarPets#enqueue}: a one-off run asked for in the caller's transaction, on a real PostgreSQL with a
 * running scheduler. The caller's own work is a row in a table of its own ({@code orders}); the run must
 * stand or fall with it. The witness is the handler, in this JVM: which runs started, with what params.
 */
class EnqueueTest {

    /** Once a year: the task's schedule never fires during a test, only its one-off runs do. */
    private static final String YEARLY = "0 0 1 1 *";

    private static final String ACTOR = "app:orders";

    private SchedulerCluster cluster;
    private StarPets starPets;
    private final ConcurrentLinkedQueue<Map<String, Object>> seen = new ConcurrentLinkedQueue<>();

    /** Records the params of each run; refuses params whose {@code order} is not a number, as a handler checks its params. */
    private final TaskHandler receipt = new TaskHandler() {
        @Override
        public void run(RunContext ctx) {
            seen.add(ctx.params());
        }

        @Override
        public void validate(Map<String, Object> params) {
            if (params.containsKey("order") && !(params.get("order") instanceof Number)) {
                throw new IllegalArgumentException("'order' must be a number");
            }
        }
    };

    /** The handler's check of a run's params, as the service's rules call it (web.ApiTaskRules). */
    private final TaskRules handlerChecks = new TaskRules() {
        @Override
        public void checkRun(TaskDefinition definition, boolean paramsGiven) {
            try {
                receipt.validate(definition.params());
            } catch (IllegalArgumentException e) {
                throw new TaskDefinition.InvalidTaskException(definition.name(), e.getMessage());
            }
        }
    };

    @BeforeEach
    void setUp() {
        cluster = new SchedulerCluster();
        cluster.execute("create table orders (id bigint primary key, note text)");
        starPets = new StarPets(cluster.pool, handlerChecks, ACTOR);
        Scheduler scheduler = cluster.create("instance-1", Map.of("receipt", receipt));
        scheduler.syncTasks(List.of(
                TaskDefinition.of("send-receipt", "receipt", YEARLY, "UTC", Duration.ofMinutes(1), true, Map.of())));
        scheduler.start();
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private long runs() {
        return cluster.count("select count(*) from task_runs");
    }

    private long requestedEvents() {
        return cluster.count("select count(*) from task_events where action = 'RUN_REQUESTED'");
    }

    private static void insertOrder(Connection c, long id) throws SQLException {
        try (var st = c.prepareStatement("insert into orders (id, note) values (?, 'paid')")) {
            st.setLong(1, id);
            st.executeUpdate();
        }
    }

    private static Connection inTransaction(Connection c) throws SQLException {
        c.setAutoCommit(false);
        return c;
    }

    @Test
    void aRunEnqueuedInATransactionThatRollsBackLeavesNoRunAndNoAuditEvent() throws Exception {
        try (Connection c = inTransaction(cluster.pool.getConnection())) {
            insertOrder(c, 1);
            long runId = starPets.enqueue(c, "send-receipt", Map.of("order", 1));
            assertThat(runId).isPositive();

            c.rollback();
        }

        assertThat(cluster.count("select count(*) from orders")).isZero();
        assertThat(runs()).isZero();
        assertThat(requestedEvents()).isZero();
        assertThat(cluster.count("select count(*) from tasks where next_request_at is not null"))
                .as("the task's earliest pending time, moved in the same transaction")
                .isZero();
        assertThat(seen).isEmpty();
    }

    @Test
    void aRunEnqueuedInATransactionThatCommitsRunsWithItsParamsOnlyAfterTheCommit() throws Exception {
        long runId;
        try (Connection c = inTransaction(cluster.pool.getConnection())) {
            insertOrder(c, 42);
            runId = starPets.enqueue(c, "send-receipt", Map.of("order", 42));
            assertThat(runs())
                    .as("the run, seen from outside before the commit")
                    .isZero();
            assertThat(requestedEvents()).isZero();

            c.commit();

            // The caller's connection is its own again: open, still in its transaction mode, usable.
            assertThat(c.isClosed()).isFalse();
            assertThat(c.getAutoCommit()).isFalse();
            insertOrder(c, 43);
            c.commit();
        }

        await().atMost(Timing.SOON)
                .until(() ->
                        cluster.count("select count(*) from task_runs where status = 'SUCCEEDED' and id = " + runId)
                                == 1);
        assertThat(seen).containsExactly(Map.of("order", 42));
        assertThat(cluster.query(
                        "select cause || ' ' || requested_by from task_runs where id = " + runId,
                        rs -> rs.getString(1)))
                .containsExactly("MANUAL " + ACTOR);
        assertThat(cluster.query(
                        "select actor || ' ' || detail from task_events where action = 'RUN_REQUESTED'",
                        rs -> rs.getString(1)))
                .singleElement()
                .asString()
                .startsWith(ACTOR + " run " + runId + " at ");
        assertThat(cluster.count("select count(*) from orders")).isEqualTo(2);
    }

    @Test
    void aConnectionInAutoCommitModeIsRefusedBeforeAnythingIsWritten() throws Exception {
        try (Connection c = cluster.pool.getConnection()) {
            c.setAutoCommit(true);

            assertThatThrownBy(() -> starPets.enqueue(c, "send-receipt", Map.of("order", 7)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("auto-commit")
                    .hasMessageContaining("setAutoCommit(false)");

            assertThat(c.isClosed()).isFalse();
            insertOrder(c, 7);
        }
        assertThat(runs()).isZero();
        assertThat(requestedEvents()).isZero();
        assertThat(cluster.count("select count(*) from orders")).isEqualTo(1);
    }

    @Test
    void anUnknownTaskIsRefusedAndTheCallersTransactionStaysUsable() throws Exception {
        try (Connection c = inTransaction(cluster.pool.getConnection())) {
            insertOrder(c, 1);

            assertThatThrownBy(() -> starPets.enqueue(c, "no-such-task", Map.of("order", 1)))
                    .isInstanceOfSatisfying(
                            RefusedException.class, e -> assertThat(e.refusal()).isEqualTo(Refusal.TASK_NOT_FOUND));

            insertOrder(c, 2);
            c.commit();
        }
        assertThat(cluster.count("select count(*) from orders")).isEqualTo(2);
        assertThat(runs()).isZero();
        assertThat(requestedEvents()).isZero();
    }

    @Test
    void paramsTheHandlerRefusesAreRefusedAndNothingOfTheRunIsCommitted() throws Exception {
        try (Connection c = inTransaction(cluster.pool.getConnection())) {
            insertOrder(c, 1);

            assertThatThrownBy(() -> starPets.enqueue(c, "send-receipt", Map.of("order", "one")))
                    .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                    .hasMessageContaining("'order' must be a number");

            c.commit();
        }
        assertThat(cluster.count("select count(*) from orders")).isEqualTo(1);
        assertThat(runs()).isZero();
        assertThat(requestedEvents()).isZero();
    }

    @Test
    void aStatementThatFailsInsideTheEnqueueIsRolledBackToItsSavepointAndTheCallersWorkCommits() throws Exception {
        try (Connection c = inTransaction(cluster.pool.getConnection())) {
            insertOrder(c, 1);

            // PostgreSQL's jsonb refuses \u0000: the run's insert fails after the task's row was locked.
            assertThatThrownBy(() -> starPets.enqueue(c, "send-receipt", Map.of("note", "nul\u0000")))
                    .isInstanceOf(SchedulerException.class);

            insertOrder(c, 2);
            c.commit();
        }
        assertThat(cluster.count("select count(*) from orders")).isEqualTo(2);
        assertThat(runs()).isZero();
        assertThat(requestedEvents()).isZero();
    }
}
