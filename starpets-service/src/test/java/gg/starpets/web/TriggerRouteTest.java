package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.TaskCommands;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.scheduler.TaskViews;
import gg.starpets.support.CountingDataSource;
import gg.starpets.support.TestPostgres;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.mock.web.MockHttpServletRequest;

/**
 * {@code POST /tasks/{name}/trigger} on a real PostgreSQL: the controller makes one call, and answers
 * the task the command read in its own transaction, on one connection (it was two connections, six
 * statements and three reads of the task). Pause and resume answer the same way.
 */
class TriggerRouteTest {

    @Test
    void aTriggerTakesOneConnectionAndAnswersTheTaskAsItsTransactionLeftIt() {
        try (HikariDataSource db = TestPostgres.migratedDatabase(2)) {
            CountingDataSource counted = new CountingDataSource(db);
            TaskCommands commands = new TaskCommands(counted);
            commands.create(
                    TaskDefinition.of("weekly", "noop", "0 6 * * 1", "UTC", Duration.ofMinutes(5), true, Map.of()),
                    "operator:ann");
            // The trigger route needs neither the handlers nor the API's limits (the rules).
            TaskManagementController controller =
                    new TaskManagementController(commands, new TaskEvents(counted), null, new TaskViews(counted), null);
            counted.reset();

            var answer =
                    controller.trigger("weekly", false, new MockHttpServletRequest("POST", "/tasks/weekly/trigger"));

            assertThat(counted.taken()).as("connections taken").isEqualTo(1);
            assertThat(answer.getStatusCode()).isEqualTo(HttpStatus.ACCEPTED);
            TaskResponse task = answer.getBody();
            assertThat(task.name()).isEqualTo("weekly");
            assertThat(task.state()).isEqualTo("WAITING");
            assertThat(answer.getHeaders().getETag()).isEqualTo(Etags.of(task.version()));
        }
    }

    @Test
    void aPauseAndAResumeEachTakeOneConnectionAndAnswerTheTaskAsTheirTransactionLeftIt() {
        try (HikariDataSource db = TestPostgres.migratedDatabase(2)) {
            CountingDataSource counted = new CountingDataSource(db);
            TaskCommands commands = new TaskCommands(counted);
            commands.create(
                    TaskDefinition.of("nightly", "noop", "0 3 * * *", "UTC", Duration.ofMinutes(5), true, Map.of()),
                    "operator:ann");
            TaskManagementController controller =
                    new TaskManagementController(commands, new TaskEvents(counted), null, new TaskViews(counted), null);
            counted.reset();

            var paused =
                    controller.pause("nightly", null, null, new MockHttpServletRequest("POST", "/tasks/nightly/pause"));

            assertThat(counted.taken()).as("connections taken by the pause").isEqualTo(1);
            assertThat(paused.getStatusCode()).isEqualTo(HttpStatus.OK);
            assertThat(paused.getBody().state()).isEqualTo("PAUSED");
            assertThat(paused.getHeaders().getETag())
                    .isEqualTo(Etags.of(paused.getBody().version()));
            counted.reset();

            var resumed =
                    controller.resume("nightly", null, new MockHttpServletRequest("POST", "/tasks/nightly/resume"));

            assertThat(counted.taken()).as("connections taken by the resume").isEqualTo(1);
            assertThat(resumed.getBody().state()).isEqualTo("WAITING");
            assertThat(resumed.getBody().version())
                    .isGreaterThan(paused.getBody().version());
        }
    }
}
