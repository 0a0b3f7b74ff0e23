package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.support.CountingDataSource;
import gg.starpets.support.TestPostgres;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Another part's writes that belong to a task's create or update (its notify settings) are done in the
 * command's transaction: on its one connection, and undone with the task's change when either fails.
 */
class CommandAlsoWriteTest {

    private static TaskDefinition task(String name) {
        return TaskDefinition.of(name, "noop", "1h", "UTC", Duration.ofMinutes(5), true, Map.of());
    }

    @Test
    void aCreateAndItsOtherWritesShareOneTransaction() throws Exception {
        try (HikariDataSource db = TestPostgres.migratedDatabase(2)) {
            CountingDataSource counted = new CountingDataSource(db);
            TaskCommands commands = new TaskCommands(counted);
            db.getConnection().createStatement().execute("create table side (task text)");

            commands.create(task("kept"), "operator:ann", c -> {
                try (var st = c.prepareStatement("insert into side values ('kept')")) {
                    st.executeUpdate();
                }
            });
            assertThat(counted.taken()).as("connections taken").isEqualTo(1);

            assertThatThrownBy(() -> commands.create(task("undone"), "operator:ann", c -> {
                        throw new SQLException("the other write failed");
                    }))
                    .isInstanceOf(SchedulerException.class);
            assertThat(strings(db, "select name from tasks order by name")).containsExactly("kept");
            assertThat(strings(db, "select task_name from task_events order by id"))
                    .containsExactly("kept");
        }
    }

    @Test
    void anUpdateAndItsOtherWritesShareOneTransaction() throws Exception {
        try (HikariDataSource db = TestPostgres.migratedDatabase(2)) {
            TaskCommands commands = new TaskCommands(db);
            commands.create(task("edited"), "operator:ann");

            assertThatThrownBy(() -> commands.update(
                            "edited",
                            null,
                            stored -> TaskDefinition.of(
                                    "edited", "noop", "2h", "UTC", Duration.ofMinutes(5), true, Map.of()),
                            "operator:ann",
                            c -> {
                                throw new SQLException("the other write failed");
                            }))
                    .isInstanceOf(SchedulerException.class);
            assertThat(strings(db, "select schedule from tasks")).containsExactly("1h");
            assertThat(strings(db, "select action from task_events order by id"))
                    .containsExactly("CREATED");
        }
    }

    private static List<String> strings(HikariDataSource db, String sql) throws SQLException {
        try (var c = db.getConnection();
                var rs = c.createStatement().executeQuery(sql)) {
            List<String> out = new java.util.ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }
}
