package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.scheduler.ConnectionFactory;
import gg.starpets.scheduler.RunContext;
import gg.starpets.scheduler.Scheduler;
import gg.starpets.scheduler.SchedulerEvents;
import gg.starpets.scheduler.SchedulerSettings;
import gg.starpets.scheduler.TaskCommands;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.scheduler.TaskViews;
import gg.starpets.support.TestPostgres;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Operator-only handlers are checked again as each run starts, in the real engine against a real
 * PostgreSQL: an API task whose handler is no longer allowed (the setting changed, or its row was
 * edited in the database) does not run, its run says why, and the task is paused saying so.
 */
class ApiTaskAdmissionTest {

    private static final String REFUSAL = "handler 'op' runs what an operator writes: only tasks from configuration"
            + " files may use it, unless starpets.handlers.api-allowed (API_ALLOWED_OPERATOR_HANDLERS) names it";

    private final HikariDataSource pool = TestPostgres.migratedDatabase(5);
    private final TaskCommands commands = new TaskCommands(pool);
    private final Set<String> ran = ConcurrentHashMap.newKeySet();
    private final List<Scheduler> schedulers = new ArrayList<>();

    /** An operator-only handler that notes which tasks it ran. */
    private final TaskHandler operatorOnly = new TaskHandler() {
        @Override
        public void run(RunContext context) {
            ran.add(context.taskName());
        }

        @Override
        public boolean operatorOnly() {
            return true;
        }
    };

    private final Map<String, TaskHandler> handlers =
            Map.of("op", operatorOnly, "noop", context -> ran.add(context.taskName()));

    @AfterEach
    void tearDown() {
        schedulers.forEach(Scheduler::close);
        pool.close();
    }

    /** An instance whose configuration allows API tasks these operator-only handlers. */
    private Scheduler instance(String id, List<String> apiAllowed) {
        SchedulerSettings settings = SchedulerSettings.builder(id)
                .lease(Duration.ofSeconds(4))
                .heartbeat(Duration.ofMillis(250))
                .poll(Duration.ofMillis(500))
                .settle(Duration.ofMillis(100))
                .shutdownGrace(Duration.ofMillis(500))
                .build();
        ConnectionFactory own = () -> DriverManager.getConnection(pool.getJdbcUrl(), "postgres", "postgres");
        Scheduler scheduler = new Scheduler(settings, pool, own, own, handlers, SchedulerEvents.NONE, () -> {});
        scheduler.admitRuns(
                new ApiTaskAdmission(new HandlerRegistry(handlers, apiAllowed), commands, "scheduler:" + id));
        schedulers.add(scheduler);
        return scheduler;
    }

    private static TaskDefinition task(String name, String handler) {
        return TaskDefinition.of(name, handler, "1h", "UTC", Duration.ofMinutes(1), true, Map.of());
    }

    private TaskViews.TaskView view(String name) {
        return new TaskViews(pool).find(name).tasks().getFirst();
    }

    @Test
    void anApiTaskWhoseHandlerIsNoLongerAllowedDoesNotRunAndItsRunAndStateSayWhy() {
        // Written while the setting allowed it.
        commands.create(task("api-export", "op"), "operator:ci");
        commands.trigger("api-export", false, "operator:ci");
        // The setting no longer names it.
        Scheduler s = instance("inst-1", List.of());
        s.syncTasks(List.of(task("config-export", "op")));
        s.start();

        await().atMost(Duration.ofSeconds(20)).until(() -> view("api-export").lastRun() != null);
        var run = view("api-export").lastRun();
        assertThat(run.status().name()).isEqualTo("FAILED");
        assertThat(run.error()).isEqualTo("not run: " + REFUSAL);
        assertThat(view("api-export").state()).isEqualTo("PAUSED");
        assertThat(view("api-export").pauseReason()).isEqualTo(REFUSAL);
        // A configuration task may use any handler.
        await().atMost(Duration.ofSeconds(20)).until(() -> ran.contains("config-export"));
        assertThat(ran).doesNotContain("api-export");
    }

    @Test
    void aTaskRowEditedInTheDatabaseToAnOperatorOnlyHandlerDoesNotRun() throws Exception {
        commands.create(task("api-ping", "noop"), "operator:ci");
        try (var c = pool.getConnection();
                var st = c.createStatement()) {
            st.executeUpdate("update tasks set handler = 'op', next_run_at = now() where name = 'api-ping'");
        }
        instance("inst-1", List.of()).start();

        await().atMost(Duration.ofSeconds(20))
                .until(() -> "PAUSED".equals(view("api-ping").state()));
        assertThat(view("api-ping").lastRun().error()).isEqualTo("not run: " + REFUSAL);
        assertThat(ran).isEmpty();
    }

    @Test
    void anApiTaskWhoseHandlerIsAllowedRuns() {
        commands.create(task("api-export", "op"), "operator:ci");
        commands.trigger("api-export", false, "operator:ci");
        instance("inst-1", List.of("op")).start();

        await().atMost(Duration.ofSeconds(20)).until(() -> ran.contains("api-export"));
        assertThat(view("api-export").state()).isNotEqualTo("PAUSED");
    }
}
