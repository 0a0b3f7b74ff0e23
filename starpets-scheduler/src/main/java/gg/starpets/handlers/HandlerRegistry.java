package gg.starpets.handlers;

import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskHandler;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The handlers this service knows, by name (every Spring bean implementing {@link TaskHandler},
 * under its bean name), and who may define tasks with which of them: tasks from configuration
 * files may use any handler; tasks created over the API may not use an operator-only handler
 * ({@code exec}, {@code sql}) unless {@code starpets.handlers.api-allowed} names it, checked when the
 * task is written and again at each run ({@link ApiTaskAdmission}).
 */
public final class HandlerRegistry {

    private final Map<String, TaskHandler> handlers;
    private final Set<String> apiAllowed;

    public HandlerRegistry(Map<String, TaskHandler> handlers, Collection<String> apiAllowed) {
        this.handlers = Map.copyOf(handlers);
        this.apiAllowed = Set.copyOf(apiAllowed);
        for (String name : this.apiAllowed) {
            if (!this.handlers.containsKey(name)) {
                throw new IllegalArgumentException("starpets.handlers.api-allowed names '" + name
                        + "', which is no handler (known: " + known() + ")");
            }
        }
    }

    public Map<String, TaskHandler> handlers() {
        return handlers;
    }

    /**
     * Checks a task from a configuration file: its handler exists and accepts its params. Throws
     * {@link TaskDefinition.InvalidTaskException}, whose message names the task.
     */
    public void checkConfigured(TaskDefinition task) {
        TaskHandler handler = handlers.get(task.handler());
        if (handler == null) {
            throw new TaskDefinition.InvalidTaskException(
                    task.name(), "unknown handler '" + task.handler() + "' (known: " + known() + ")");
        }
        try {
            handler.validate(task.params());
        } catch (IllegalArgumentException e) {
            throw new TaskDefinition.InvalidTaskException(task.name(), e.getMessage());
        }
    }

    /**
     * Why a task created or changed over the API may not use this handler, or empty when it may.
     * The API answers a refusal with 403 (the caller's role may be right, the handler is not for it).
     */
    public Optional<String> refusalForApiTask(String handler) {
        TaskHandler h = handlers.get(handler);
        if (h == null || !h.operatorOnly() || apiAllowed.contains(handler)) {
            return Optional.empty();
        }
        return Optional.of("handler '" + handler + "' runs what an operator writes: only tasks from configuration"
                + " files may use it, unless starpets.handlers.api-allowed (API_ALLOWED_OPERATOR_HANDLERS) names it");
    }

    /**
     * Checks a task created or changed over the API: as {@link #checkConfigured}, the handler may be
     * used, and an {@code http} task's URL is not an internal address such tasks may not reach
     * ({@link HttpHandler#validateApiTask}). Each run is checked again ({@link ApiTaskAdmission}).
     */
    public void checkApiTask(TaskDefinition task) {
        checkConfigured(task);
        refusalForApiTask(task.handler()).ifPresent(reason -> {
            throw new TaskDefinition.InvalidTaskException(task.name(), reason);
        });
        if (handlers.get(task.handler()) instanceof HttpHandler http) {
            try {
                http.validateApiTask(task.params());
            } catch (IllegalArgumentException e) {
                throw new TaskDefinition.InvalidTaskException(task.name(), e.getMessage());
            }
        }
    }

    private String known() {
        return String.join(", ", new TreeSet<>(handlers.keySet()));
    }
}
