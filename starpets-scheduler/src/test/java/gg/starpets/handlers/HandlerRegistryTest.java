package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskHandler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which handlers a task may use: every one from configuration files, operator-only ones over the API only when allowed. */
class HandlerRegistryTest {

    private final Map<String, TaskHandler> handlers = Map.of(
            "sleep", new SleepHandler(Duration.ofSeconds(1)),
            "exec", new ExecHandler(TaskSecrets.NONE),
            "sql", new SqlHandler(null, Map.of()),
            "http", new HttpHandler(TaskSecrets.NONE, HttpDestinations.parse(List.of("10.0.0.0/8"))));

    private static TaskDefinition task(String handler, Map<String, Object> params) {
        return TaskDefinition.of("nightly-export", handler, "0 3 * * *", null, Duration.ofHours(1), true, params);
    }

    private static final Map<String, Object> EXPORT = Map.of("command", List.of("/opt/export.sh", "--full"));

    @Test
    void aConfiguredTaskMayUseAnyHandlerWithValidParams() {
        HandlerRegistry registry = new HandlerRegistry(handlers, List.of());

        registry.checkConfigured(task("exec", EXPORT));
        registry.checkConfigured(task("sql", Map.of("statement", "select 1")));
        registry.checkConfigured(task("sleep", Map.of("duration", "2m")));
    }

    @Test
    void anUnknownHandlerOrAnInvalidParamIsRefusedNamingTheTask() {
        HandlerRegistry registry = new HandlerRegistry(handlers, List.of());

        assertThatThrownBy(() -> registry.checkConfigured(task("shell", EXPORT)))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessage("Task 'nightly-export': unknown handler 'shell' (known: exec, http, sleep, sql)");
        assertThatThrownBy(() -> registry.checkConfigured(task("exec", Map.of("command", "/opt/export.sh"))))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageStartingWith("Task 'nightly-export': param 'command' must be a list");
        assertThatThrownBy(() -> registry.checkConfigured(task("sleep", Map.of("duration", "2m", "speed", "fast"))))
                .hasMessage("Task 'nightly-export': unknown param 'speed' (known: duration)");
    }

    @Test
    void anApiTaskMayNotUseAnOperatorOnlyHandlerByDefault() {
        HandlerRegistry registry = new HandlerRegistry(handlers, List.of());

        assertThat(registry.refusalForApiTask("exec"))
                .hasValueSatisfying(reason -> assertThat(reason)
                        .startsWith("handler 'exec' runs what an operator writes: only tasks from configuration files")
                        .contains("API_ALLOWED_OPERATOR_HANDLERS"));
        assertThat(registry.refusalForApiTask("sql")).isPresent();
        assertThat(registry.refusalForApiTask("sleep")).isEmpty();
        assertThatThrownBy(() -> registry.checkApiTask(task("exec", EXPORT)))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageStartingWith("Task 'nightly-export': handler 'exec' runs what an operator writes");
        registry.checkApiTask(task("sleep", Map.of()));
    }

    @Test
    void theAllowListLetsApiTasksUseTheHandlersItNames() {
        HandlerRegistry registry = new HandlerRegistry(handlers, List.of("exec"));

        assertThat(registry.refusalForApiTask("exec")).isEmpty();
        assertThat(registry.refusalForApiTask("sql")).isPresent();
        registry.checkApiTask(task("exec", EXPORT));
        // Allowed or not, the params are still checked.
        assertThatThrownBy(() -> registry.checkApiTask(task("exec", Map.of())))
                .hasMessageStartingWith("Task 'nightly-export': param 'command' must be a list");
    }

    @Test
    void anApiHttpTaskToAnInternalAddressWrittenAsSuchIsRefusedAConfiguredOneIsNot() {
        HandlerRegistry registry = new HandlerRegistry(handlers, List.of());
        TaskDefinition metadata = task("http", Map.of("url", "http://169.254.169.254/latest/meta-data/"));

        registry.checkConfigured(metadata);
        assertThatThrownBy(() -> registry.checkApiTask(metadata))
                .isInstanceOf(TaskDefinition.InvalidTaskException.class)
                .hasMessageStartingWith(
                        "Task 'nightly-export': param 'url': 169.254.169.254 (for 169.254.169.254:80) is a"
                                + " link-local address");
        assertThatThrownBy(() -> registry.checkApiTask(task("http", Map.of("url", "http://localhost:8080/"))))
                .hasMessageContaining("is a loopback address");
        // What the setting opens, and a name (looked up, and checked, as the task runs).
        registry.checkApiTask(task("http", Map.of("url", "http://10.1.2.3/hook")));
        registry.checkApiTask(task("http", Map.of("url", "https://partner.example/hook")));
    }

    @Test
    void anAllowListNamingNoHandlerStopsTheStart() {
        assertThatThrownBy(() -> new HandlerRegistry(handlers, List.of("exce")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "starpets.handlers.api-allowed names 'exce', which is no handler (known: exec, http, sleep, sql)");
    }
}
