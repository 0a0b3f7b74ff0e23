package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gg.starpets.handlers.CpuHandler;
import gg.starpets.handlers.ExecHandler;
import gg.starpets.handlers.HandlerRegistry;
import gg.starpets.handlers.HttpDestinations;
import gg.starpets.handlers.HttpHandler;
import gg.starpets.handlers.PruneHistoryHandler;
import gg.starpets.handlers.SleepHandler;
import gg.starpets.handlers.TaskSecrets;
import gg.starpets.scheduler.Schedule;
import gg.starpets.scheduler.TaskDefinition;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.PropertySourceLoader;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.support.SpringFactoriesLoader;

/** Tasks from configuration: params as written (no secret resolved into them), lists as lists, checked at start. */
class ConfiguredTasksTest {

    private static final Map<String, String> ENV = Map.of("PARTNER_TOKEN", "s3cret");
    private static final TaskSecrets SECRETS = TaskSecrets.parse(List.of("PARTNER_TOKEN", "OTHER_TOKEN"), () -> ENV);
    private final HandlerRegistry handlers = new HandlerRegistry(
            Map.of(
                    "http", new HttpHandler(SECRETS, HttpDestinations.NONE),
                    "exec", new ExecHandler(SECRETS),
                    "sleep", new SleepHandler(Duration.ofMinutes(2))),
            List.of());

    /** An environment as the service has: application YAML, and environment variables above it. */
    private static StandardEnvironment environment(String yaml, Map<String, Object> variables) throws IOException {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        env.getPropertySources()
                .replace(
                        StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                        new SystemEnvironmentPropertySource(
                                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
        // The service's YAML loader (META-INF/spring.factories): Spring's, naming a key that is not text.
        new YamlKeyNames()
                .load("application.yml", new ByteArrayResource(yaml.getBytes()))
                .forEach(env.getPropertySources()::addLast);
        return env;
    }

    private static StarPetsProperties properties(StandardEnvironment env) {
        return Binder.get(env).bind("starpets", StarPetsProperties.class).get();
    }

    private static final String TASKS = """
            starpets:
              tasks:
                - name: ping-partner
                  handler: http
                  schedule: "*/5 * * * *"
                  timeout: 30s
                  params: { url: "https://example.org/hook", method: POST,
                            headers: { Authorization: "Bearer ${PARTNER_TOKEN}" }, body: '{"x":1}' }
                - { name: nightly-export, handler: exec, schedule: "0 3 * * *", timeout: 1h,
                    params: { command: ["/opt/export.sh", "--full"], env: { MODE: full }, dir: /srv/export } }
                - { name: report-daily-sales, handler: sleep, schedule: "*/2 * * * *", timeout: 5m }
            """;

    @Test
    void placeholdersInParamsAreKeptAsWrittenEvenWhenTheVariableIsSet() throws IOException {
        StandardEnvironment env = environment(TASKS, Map.of("PARTNER_TOKEN", "s3cret"));
        // Spring itself would have replaced it:
        assertThat(properties(env).tasks().getFirst().params().get("headers").toString())
                .contains("s3cret");

        List<TaskDefinition> tasks = ConfiguredTasks.read(properties(env), env, handlers);

        assertThat(tasks.getFirst().params())
                .containsEntry("headers", Map.of("Authorization", "Bearer ${PARTNER_TOKEN}"))
                .containsEntry("body", "{\"x\":1}");
    }

    @Test
    void listsInParamsAreLists() throws IOException {
        StandardEnvironment env = environment(TASKS, Map.of());

        List<TaskDefinition> tasks = ConfiguredTasks.read(properties(env), env, handlers);

        assertThat(tasks.get(1).params())
                .containsEntry("command", List.of("/opt/export.sh", "--full"))
                .containsEntry("env", Map.of("MODE", "full"))
                .containsEntry("dir", "/srv/export");
        assertThat(tasks.get(2).params()).isEmpty();
    }

    @Test
    void invalidParamsStopTheStartNamingTheTask() throws IOException {
        StandardEnvironment env = environment("""
                starpets:
                  tasks:
                    - { name: nightly-export, handler: exec, schedule: "0 3 * * *", timeout: 1h,
                        params: { command: ["/opt/export.sh"], cwd: /srv } }
                """, Map.of());

        assertThatThrownBy(() -> ConfiguredTasks.read(properties(env), env, handlers))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessage(
                        "Task 'nightly-export': unknown param 'cwd' (known: command, dir, env, inherit-env, kill-after, shell)");
    }

    @Test
    void aVariableAParamNeedsMustBeSetWhereTheTaskIsDefined() throws IOException {
        StandardEnvironment env = environment(TASKS.replace("PARTNER_TOKEN", "OTHER_TOKEN"), Map.of());

        assertThatThrownBy(() -> ConfiguredTasks.read(properties(env), env, handlers))
                .hasMessage(
                        "Task 'ping-partner': param 'headers.Authorization' uses ${OTHER_TOKEN}, but the environment"
                                + " variable OTHER_TOKEN is not set");
        StandardEnvironment unnamed = environment(TASKS.replace("PARTNER_TOKEN", "HOME"), Map.of());
        assertThatThrownBy(() -> ConfiguredTasks.read(properties(unnamed), unnamed, handlers))
                .hasMessage("Task 'ping-partner': param 'headers.Authorization' uses ${HOME}, which"
                        + " STARPETS_TASK_SECRETS does not name: tasks may read only the variables it names");
    }

    @Test
    void handlerSettingsComeFromTheirEnvironmentVariables() throws IOException {
        String yaml = """
                starpets:
                  handlers:
                    api-allowed: ${API_ALLOWED_OPERATOR_HANDLERS:}
                    task-secrets: ${STARPETS_TASK_SECRETS:}
                    http-allowed-destinations: ${STARPETS_HTTP_ALLOWED_DESTINATIONS:}
                """;
        StarPetsProperties.Handlers defaults =
                properties(environment(yaml, Map.of())).handlers();
        assertThat(defaults.apiAllowed()).isEmpty();
        assertThat(defaults.taskSecrets()).isEmpty();
        assertThat(defaults.httpAllowedDestinations()).isEmpty();

        StarPetsProperties.Handlers handlers = properties(environment(
                        yaml,
                        Map.of(
                                "API_ALLOWED_OPERATOR_HANDLERS", "exec, sql",
                                "STARPETS_TASK_SECRETS",
                                        "PARTNER_TOKEN@api.partner.example|*.partner.example, EXPORT_KEY",
                                "STARPETS_HTTP_ALLOWED_DESTINATIONS", "10.0.0.0/8, reports.internal:8443",
                                "STARPETS_HANDLERS_SQLDATASOURCES_REPORTING_URL", "jdbc:postgresql://reports/reports",
                                "STARPETS_HANDLERS_SQLDATASOURCES_REPORTING_USER", "etl",
                                "STARPETS_HANDLERS_SQLDATASOURCES_REPORTING_PASSWORD", "pw")))
                .handlers();

        assertThat(handlers.apiAllowed()).containsExactly("exec", "sql");
        assertThat(handlers.taskSecrets())
                .containsExactly("PARTNER_TOKEN@api.partner.example|*.partner.example", "EXPORT_KEY");
        assertThat(handlers.httpAllowedDestinations()).containsExactly("10.0.0.0/8", "reports.internal:8443");
        assertThat(handlers.sqlDataSources())
                .containsOnlyKeys("reporting")
                .containsEntry(
                        "reporting",
                        new StarPetsProperties.Handlers.SqlDataSource(
                                "jdbc:postgresql://reports/reports", "etl", "pw", 4));
    }

    @Test
    void aKeyNobodyReadsStopsTheStartNamingTheTaskAndTheKey() {
        for (var mistake : Map.of(
                        "misfre: SKIP",
                        "unknown key 'misfre' (known: at, catch-up-limit, ",
                        "retyr: { max-attempts: 3 }",
                        "unknown key 'retyr'",
                        "retry: { max-atempts: 3 }",
                        "unknown key 'retry.max-atempts' (known: initial-backoff, max-attempts, max-backoff,"
                                + " multiplier)",
                        // YAML reads on as true: Spring's own loader stops with a bare ClassCastException.
                        "on: SKIP",
                        "the key true in Byte array resource [resource loaded from byte array] under"
                                + " starpets.tasks[1] is read by YAML as a boolean, not as a name (on, off,"
                                + " yes and no are booleans): quote it or remove it")
                .entrySet()) {
            String yaml = """
                    starpets:
                      tasks:
                        - { name: report-daily-sales, handler: sleep, schedule: "*/2 * * * *", timeout: 5m }
                        - name: nightly-export
                          handler: sleep
                          schedule: "0 3 * * *"
                          timeout: 1h
                          %s
                    """.formatted(mistake.getKey());

            assertThatThrownBy(() -> {
                        StandardEnvironment env = environment(yaml, Map.of());
                        ConfiguredTasks.read(properties(env), env, handlers);
                    })
                    .as(mistake.getKey())
                    .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                    .hasMessageStartingWith("Task 'nightly-export': " + mistake.getValue());
        }
    }

    @Test
    void theServiceReadsItsYamlFilesWithTheLoaderThatNamesAKeyThatIsNotText() {
        assertThat(SpringFactoriesLoader.loadFactories(PropertySourceLoader.class, null))
                .first()
                .isInstanceOf(YamlKeyNames.class);
    }

    @Test
    void everyKeyATaskMayHaveIsReadInEachOfItsSpellings() throws IOException {
        StandardEnvironment env = environment("""
                starpets:
                  tasks:
                    - name: nightly-export
                      handler: sleep
                      schedule: "0 3 * * *"
                      timeZone: Europe/Berlin
                      timeout: 1h
                      enabled: true
                      params: { duration: 1s }
                      retry: { max-attempts: 2, initialBackoff: 5s, multiplier: 2, max_backoff: 1m }
                      misfire: CATCH_UP
                      misfire-threshold: 1m
                      catch-up-limit: 3
                      catch-up-window: 1h
                      jitter: 1s
                      start-at: "2026-12-14T12:00:00Z"
                      overlap: buffer_one
                """, Map.of());

        TaskDefinition task =
                ConfiguredTasks.read(properties(env), env, handlers).getFirst();

        assertThat(task.timeZone().getId()).isEqualTo("Europe/Berlin");
        assertThat(task.retry().initialBackoff()).isEqualTo(Duration.ofSeconds(5));
        assertThat(task.retry().maxBackoff()).isEqualTo(Duration.ofMinutes(1));
        assertThat(task.misfire().catchUpLimit()).isEqualTo(3);
        assertThat(task.startAt()).isEqualTo("2026-12-14T12:00:00Z");
        assertThat(task.overlap()).isEqualTo(TaskDefinition.Overlap.BUFFER_ONE);
    }

    @Test
    void aTaskThatRunsAfterAnotherNeedsNoScheduleAndFanInOrABadWhenStopsTheStart() throws IOException {
        StandardEnvironment env = environment("""
                starpets:
                  tasks:
                    - { name: import-orders, handler: sleep, schedule: "0 3 * * *", timeout: 1h }
                    - name: report
                      handler: sleep
                      timeout: 5m
                      run-after: { task: import-orders, when: failed }
                    - { name: audit, handler: sleep, timeout: 5m, runAfter: { task: report } }
                """, Map.of());

        List<TaskDefinition> tasks = ConfiguredTasks.read(properties(env), env, handlers);

        assertThat(tasks.get(1).runAfter())
                .isEqualTo(new TaskDefinition.RunAfter("import-orders", TaskDefinition.RunAfter.When.FAILED));
        assertThat(tasks.get(1).schedule()).isEqualTo(Schedule.ONCE);
        assertThat(tasks.get(1).startAt()).isNull();
        assertThat(tasks.get(2).runAfter().when()).isEqualTo(TaskDefinition.RunAfter.When.SUCCEEDED);
        for (var mistake : Map.of(
                        "run-after: [import-orders, export]",
                        "run-after names one task; fan-in",
                        "run-after: { task: import-orders, when: SOMETIMES }",
                        "run-after 'when' must be SUCCEEDED, FAILED or ANY, not 'SOMETIMES'",
                        "run-after: { task: import-orders, after: SUCCEEDED }",
                        "unknown key 'run-after.after'",
                        "run-after: { when: ANY }",
                        "run-after needs 'task'")
                .entrySet()) {
            String yaml = """
                    starpets:
                      tasks:
                        - name: report
                          handler: sleep
                          timeout: 5m
                          %s
                    """.formatted(mistake.getKey());
            assertThatThrownBy(() -> {
                        StandardEnvironment bad = environment(yaml, Map.of());
                        ConfiguredTasks.read(properties(bad), bad, handlers);
                    })
                    .as(mistake.getKey())
                    .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                    .hasMessageStartingWith("Task 'report': " + mistake.getValue());
        }
    }

    @Test
    void anOverlapThatMakesNoSenseStopsTheStartNamingTheTaskAndTheKey() throws IOException {
        for (var mistake : Map.of(
                        "ALLOW",
                        "overlap ALLOW needs max-concurrent, the most runs of the task at once (1 to 1000)",
                        "ALLOW, max-concurrent: 0",
                        "max-concurrent must be between 1 and 1000, not 0",
                        "SKIP, max-concurrent: 3",
                        "max-concurrent is for overlap ALLOW only (this task's overlap is SKIP)",
                        "QUEUE",
                        "overlap must be SKIP, BUFFER_ONE, REPLACE or ALLOW, not 'QUEUE'")
                .entrySet()) {
            String yaml = """
                    starpets:
                      tasks:
                        - { name: nightly-export, handler: sleep, schedule: "0 3 * * *", timeout: 1h, overlap: %s }
                    """.formatted(mistake.getKey());
            assertThatThrownBy(() -> {
                        StandardEnvironment env = environment(yaml, Map.of());
                        ConfiguredTasks.read(properties(env), env, handlers);
                    })
                    .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                    .hasMessage("Task 'nightly-export': " + mistake.getValue());
        }
        StandardEnvironment env = environment("""
                starpets:
                  tasks:
                    - { name: fan-out, handler: sleep, schedule: 1m, timeout: 1h, overlap: allow, max-concurrent: 3 }
                """, Map.of());
        TaskDefinition read =
                ConfiguredTasks.read(properties(env), env, handlers).getFirst();
        assertThat(read.overlap()).isEqualTo(TaskDefinition.Overlap.ALLOW);
        assertThat(read.maxConcurrent()).isEqualTo(3);
    }

    @Test
    void theShippedTasksAreValidAndItsCronDemoTasksRunAtOnceWhenFirstDeployed() throws IOException {
        StandardEnvironment env = new StandardEnvironment();
        new YamlKeyNames()
                .load("application.yml", new FileSystemResource("starpets-service/src/main/resources/application.yml"))
                .forEach(env.getPropertySources()::addLast);
        HandlerRegistry shipped = new HandlerRegistry(
                Map.of(
                        "sleep", new SleepHandler(Duration.ofMinutes(2)),
                        "cpu", new CpuHandler(Duration.ofMinutes(2)),
                        "prune-history", new PruneHistoryHandler(null, null, null)),
                List.of());

        List<TaskDefinition> tasks = ConfiguredTasks.read(properties(env), env, shipped);

        Instant deployed = Instant.parse("2026-12-06T21:00:00Z");
        assertThat(tasks)
                .filteredOn(t -> !t.handler().equals("prune-history"))
                .hasSize(10)
                .allSatisfy(t -> assertThat(
                                t.startAt() == null
                                        ? t.parsedSchedule() instanceof Schedule.Interval
                                        : t.startAt().isBefore(deployed))
                        .as(t.name())
                        .isTrue());
    }
}
