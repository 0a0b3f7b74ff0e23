package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.CountingDataSource;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An operator's trigger ({@link TaskCommands#trigger}) on a real PostgreSQL without a scheduler:
 * one transaction on one connection, answering the task as that transaction left it; refused,
 * writing nothing, for a task it may not run.
 */
class TriggerCommandTest {

    private HikariDataSource db;
    private CountingDataSource connections;
    private TaskCommands commands;

    @BeforeEach
    void setUp() {
        db = TestPostgres.migratedDatabase(2);
        connections = new CountingDataSource(db);
        commands = new TaskCommands(connections);
        // Once a year: only a trigger makes it due now.
        commands.create(
                TaskDefinition.of("report", "noop", "0 0 1 1 *", "UTC", Duration.ofMinutes(1), true, Map.of()),
                "operator:ann");
        connections.reset();
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void aTriggerMakesTheTaskDueInOneTransactionAndAnswersItAsThatTransactionLeftIt() {
        TaskViews.TaskSnapshot answer = commands.trigger("report", false, "operator:ann");

        assertThat(connections.taken()).as("connections taken").isEqualTo(1);
        assertThat(answer.tasks()).hasSize(1);
        TaskViews.TaskView task = answer.tasks().getFirst();
        assertThat(task.name()).isEqualTo("report");
        // now() is the transaction's start: due at exactly the time it was read at, so read in the same one.
        assertThat(task.nextRunAt()).isEqualTo(answer.now());
        assertThat(task.triggerQueued()).isFalse();
        assertThat(task.state()).isEqualTo("WAITING");
        assertThat(events()).containsExactly("TRIGGERED operator:ann null", "CREATED operator:ann null");
    }

    @Test
    void whileARunIsInProgressATriggerIsRefusedUnlessQueued() throws SQLException {
        execute("update tasks set owner_session = 7, owner_instance = 'i-1', started_at = now(),"
                + " lease_until = now() + interval '1 minute' where name = 'report'");
        var before = commands.find("report");

        assertThatThrownBy(() -> commands.trigger("report", false, "operator:ann"))
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(TaskCommands.Refusal.RUNNING));
        assertThat(events()).containsExactly("CREATED operator:ann null");

        TaskViews.TaskView task =
                commands.trigger("report", true, "operator:bob").tasks().getFirst();
        assertThat(task.triggerQueued()).isTrue();
        assertThat(task.state()).isEqualTo("RUNNING");
        assertThat(task.version()).isEqualTo(before.version());
        assertThat(task.nextRunAt()).as("left to the run's end").isAfter(java.time.Instant.now());
        assertThat(events())
                .containsExactly("TRIGGERED operator:bob queued after the run", "CREATED operator:ann null");
    }

    @Test
    void aTaskThatMayNotRunIsRefusedWithItsReasonAndNothingIsWritten() throws SQLException {
        assertRefused("nothing", TaskCommands.Refusal.TASK_NOT_FOUND);
        execute("update tasks set enabled = false where name = 'report'");
        assertRefused("report", TaskCommands.Refusal.DISABLED);
        execute("update tasks set enabled = true, retired_at = now() where name = 'report'");
        assertRefused("report", TaskCommands.Refusal.DISABLED);
        execute("update tasks set retired_at = null, quarantined_at = now() where name = 'report'");
        assertRefused("report", TaskCommands.Refusal.QUARANTINED);

        assertThat(events()).containsExactly("CREATED operator:ann null");
        assertThat(commands.find("report").definition().schedule()).isEqualTo("0 0 1 1 *");
        assertThat(new TaskViews(db).find("report").tasks().getFirst().nextRunAt())
                .isAfter(java.time.Instant.now());
    }

    private void assertRefused(String task, TaskCommands.Refusal refusal) {
        assertThatThrownBy(() -> commands.trigger(task, true, "operator:ann"))
                .isInstanceOfSatisfying(
                        TaskCommands.RefusedException.class,
                        e -> assertThat(e.refusal()).isEqualTo(refusal));
    }

    private java.util.List<String> events() {
        return new TaskEvents(db)
                .find("report", null, 10).stream()
                        .map(e -> e.action() + " " + e.actor() + " " + e.detail())
                        .toList();
    }

    private void execute(String sql) throws SQLException {
        try (Connection c = db.getConnection();
                var st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
