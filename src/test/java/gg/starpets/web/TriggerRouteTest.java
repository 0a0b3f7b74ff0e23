package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.TaskCommands;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.scheduler.TaskViews;
import gg.starpets.support.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.datasource.DelegatingDataSource;
import org.springframework.mock.web.MockHttpServletRequest;

/**
 * {@code POST /tasks/{name}/trigger} on a real PostgreSQL: the controller makes one call, and answers
 * the task the command read in its own transaction, on one connection (it was two connections, six
 * statements and three reads of the task).
 */
class TriggerRouteTest {

    private HikariDataSource db;
    private final AtomicInteger connections = new AtomicInteger();
    private TaskManagementController controller;

    @BeforeEach
    void setUp() {
        db = TestPostgres.migratedDatabase(2);
        DataSource counted = new DelegatingDataSource(db) {
            @Override
            public Connection getConnection() throws SQLException {
                connections.incrementAndGet();
                return super.getConnection();
            }
        };
        TaskCommands commands = new TaskCommands(counted);
        // The trigger route needs neither the handlers nor the API's limits.
        controller =
                new TaskManagementController(commands, new TaskEvents(counted), null, new TaskViews(counted), null);
        commands.create(
                TaskDefinition.of("report", "noop", "0 0 1 1 *", "UTC", Duration.ofMinutes(1), true, Map.of()),
                "operator:ann");
        connections.set(0);
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void aTriggerTakesOneConnectionAndAnswersTheTaskAsItsTransactionLeftIt() {
        var answer = controller.trigger("report", false, new MockHttpServletRequest("POST", "/tasks/report/trigger"));

        assertThat(connections).as("connections taken").hasValue(1);
        assertThat(answer.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
        TaskResponse task = answer.getBody();
        assertThat(task.name()).isEqualTo("report");
        assertThat(task.state()).isEqualTo("WAITING");
        assertThat(answer.getHeaders().getETag()).isEqualTo(Etags.of(task.version()));
    }
}
