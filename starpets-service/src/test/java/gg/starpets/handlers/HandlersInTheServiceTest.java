package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariDataSource;
import gg.starpets.StarPetsApplication;
import gg.starpets.scheduler.TaskHandler;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.Timing;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * The handlers in the real service: registered as beans, tasks from configuration checked at start,
 * run by the scheduler with the run's real id and fence, params stored as written.
 */
class HandlersInTheServiceTest {

    /** A team's own handler: a bean, not annotated, so that only this test's service has it. */
    static class TeamHandlers {

        static final Map<String, String> GREETED = new ConcurrentHashMap<>();

        @Bean("greet")
        TaskHandler greet() {
            return context -> GREETED.put(context.taskName(), String.valueOf(context.runId()));
        }
    }

    private static final Map<String, String> HOOK_HEADERS = new ConcurrentHashMap<>();
    private static HttpServer partner;
    private static ConfigurableApplicationContext service;
    private static HikariDataSource db;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws IOException {
        partner = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        partner.createContext("/hook", ex -> {
            ex.getRequestHeaders().forEach((k, v) -> HOOK_HEADERS.put(k.toLowerCase(), v.getFirst()));
            ex.sendResponseHeaders(204, -1);
            try (OutputStream out = ex.getResponseBody()) {
                out.flush();
            }
        });
        partner.start();
        String database = TestPostgres.createDatabase();
        Map<String, Object> props = new HashMap<>();
        task(props, 0, "ping-partner", "http");
        props.put(
                "starpets.tasks[0].params.url",
                "http://127.0.0.1:" + partner.getAddress().getPort() + "/hook");
        props.put("starpets.tasks[0].params.method", "POST");
        props.put("starpets.tasks[0].params.headers[X-Home]", "${HOME}");
        props.put("starpets.handlers.task-secrets", "HOME");
        task(props, 1, "nightly-export", "exec");
        props.put("starpets.tasks[1].params.command[0]", "sh");
        props.put("starpets.tasks[1].params.command[1]", "-c");
        props.put(
                "starpets.tasks[1].params.command[2]",
                "echo \"$STARPETS_RUN_ID $STARPETS_FENCE $MODE\" > " + dir.resolve("export"));
        props.put("starpets.tasks[1].params.env.MODE", "full");
        task(props, 2, "refresh-stats", "sql");
        // As the sql tasks' own role, which may not read StarPets' tables (docs/security.md).
        props.put("starpets.tasks[2].params.statement", "select current_user");
        task(props, 3, "prune-run-history", "prune-history");
        task(props, 4, "say-hello", "greet");
        service = start(database, props);
        db = TestPostgres.pool(database, 2);
    }

    private static void task(Map<String, Object> props, int i, String name, String handler) {
        props.put("starpets.tasks[" + i + "].name", name);
        props.put("starpets.tasks[" + i + "].handler", handler);
        props.put("starpets.tasks[" + i + "].schedule", "1h");
        props.put("starpets.tasks[" + i + "].timeout", "1m");
    }

    private static ConfigurableApplicationContext start(String database, Map<String, Object> extra) {
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", 0);
        props.put("starpets.instance-id", "instance-handlers");
        props.put("starpets.db.host", "127.0.0.1");
        props.put("starpets.db.port", TestPostgres.port());
        props.put("starpets.db.name", database);
        props.put("starpets.db.pool-size", 5);
        props.put("starpets.scheduler.settle", "200ms");
        props.put("starpets.scheduler.heartbeat", "250ms");
        // Not shorter: the engine counts the time to its first renewal from its construction, not its start.
        props.put("starpets.scheduler.lease", "10s");
        props.put("starpets.scheduler.shutdown-grace", "1s");
        props.putAll(extra);
        String[] args = props.entrySet().stream()
                .map(e -> "--" + e.getKey() + "=" + e.getValue())
                .toArray(String[]::new);
        return new SpringApplicationBuilder(StarPetsApplication.class, TeamHandlers.class).run(args);
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
        if (db != null) {
            db.close();
        }
        partner.stop(0);
    }

    private static List<List<String>> rows(String sql) {
        try (Connection c = db.getConnection();
                var st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            List<List<String>> rows = new ArrayList<>();
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                rows.add(row);
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first run of a task, once it has ended: id, fence, status, error. */
    private static List<String> endedRun(String task) {
        await().atMost(Timing.SOON)
                .until(() -> !rows("select 1 from task_runs where status <> 'RUNNING' and task_name = '" + task + "'")
                        .isEmpty());
        return rows("select id, fence, status, error from task_runs where task_name = '" + task
                        + "' order by id limit 1")
                .getFirst();
    }

    @Test
    void everyTaskHandlerBeanIsRegisteredUnderItsName() {
        assertThat(service.getBean(HandlerRegistry.class).handlers())
                .containsOnlyKeys("sleep", "cpu", "http", "exec", "sql", "prune-history", "greet");
        List<String> run = endedRun("say-hello");
        assertThat(run.get(2)).isEqualTo("SUCCEEDED");
        assertThat(TeamHandlers.GREETED).containsEntry("say-hello", run.get(0));
    }

    @Test
    void anHttpTaskSendsItsRunsRealIdAndFenceAndReadsSecretsOnlyWhenItRuns() {
        List<String> run = endedRun("ping-partner");

        assertThat(run.get(2)).as(run.toString()).isEqualTo("SUCCEEDED");
        assertThat(HOOK_HEADERS)
                .containsEntry("x-starpets-run-id", run.get(0))
                .containsEntry("x-starpets-fence", run.get(1))
                .containsEntry("x-starpets-attempt", "1")
                .containsEntry("x-starpets-task", "ping-partner")
                .containsEntry("x-home", System.getenv("HOME"));
        assertThat(rows("select params->'headers'->>'X-Home' from tasks where name = 'ping-partner'"))
                .containsExactly(List.of("${HOME}"));
    }

    @Test
    void anExecTaskGetsItsRunsIdFenceAndVariablesAndItsCommandIsStoredAsAList() throws IOException {
        List<String> run = endedRun("nightly-export");

        assertThat(run.get(2)).as(run.toString()).isEqualTo("SUCCEEDED");
        assertThat(Files.readString(dir.resolve("export"))).isEqualTo(run.get(0) + " " + run.get(1) + " full\n");
        assertThat(rows("select jsonb_typeof(params->'command') from tasks where name = 'nightly-export'"))
                .containsExactly(List.of("array"));
    }

    @Test
    void sqlAndRetentionTasksRun() {
        assertThat(endedRun("refresh-stats").get(2)).isEqualTo("SUCCEEDED");
        assertThat(endedRun("prune-run-history").get(2)).isEqualTo("SUCCEEDED");
    }

    @Test
    void aTaskWithAnInvalidParamStopsTheStartNamingTheTask() {
        Map<String, Object> props = new HashMap<>();
        task(props, 0, "bad-hook", "http");
        props.put("starpets.tasks[0].params.url", "http://127.0.0.1:1/hook");
        props.put("starpets.tasks[0].params.methd", "POST");

        assertThatThrownBy(() -> start(TestPostgres.createDatabase(), props))
                .rootCause()
                .hasMessageStartingWith("Task 'bad-hook': unknown param 'methd'");
    }
}
