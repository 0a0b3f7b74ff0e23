package gg.starpets.web;

import gg.starpets.handlers.HandlerRegistry;
import gg.starpets.scheduler.TaskCommands;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.scheduler.TaskEvents.TaskEvent;
import gg.starpets.scheduler.TaskViews;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.security.Principal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/**
 * Operating tasks at runtime: create, edit, delete, pause, resume, trigger, cancel, and the audit
 * trail. Edits are conditional on the task's version ({@code ETag}/{@code If-Match}; 412 when stale).
 * Configuration tasks are the declared baseline: they can be paused, resumed, triggered and
 * cancelled here, not edited or deleted (409 {@code task_from_configuration}). Who may call what is
 * the security layer's (writes need the operator role).
 */
@RestController
class TaskManagementController {

    record CancelResponse(long runId, String task, String status) {}

    record EventList(List<TaskEvent> events) {}

    private final TaskCommands commands;
    private final TaskEvents events;
    private final HandlerRegistry handlers;
    private final TasksController reads;
    private final TaskViews views;
    private final TaskLimits limits;

    TaskManagementController(
            TaskCommands commands,
            TaskEvents events,
            HandlerRegistry handlers,
            TasksController reads,
            TaskViews views,
            TaskLimits limits) {
        this.commands = commands;
        this.events = events;
        this.handlers = handlers;
        this.reads = reads;
        this.views = views;
        this.limits = limits;
    }

    @PostMapping("/tasks")
    ResponseEntity<TasksController.TaskResponse> create(@RequestBody JsonNode body, HttpServletRequest request) {
        TaskDefinition definition = checked(TaskRequests.create(body));
        // Counted before the insert: concurrent creates may pass the bound by as many as they are.
        limits.roomForOneMore(views.countApiTasks());
        run(() -> commands.create(definition, actor(request)));
        return reads.withEtag(ResponseEntity.created(URI.create("/tasks/" + definition.name())), definition.name());
    }

    @PatchMapping("/tasks/{name}")
    ResponseEntity<TasksController.TaskResponse> update(
            @PathVariable String name,
            @RequestBody JsonNode body,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        TaskCommands.StoredTask stored = run(() -> commands.find(name));
        if (stored == null) {
            throw TasksController.taskNotFound(name);
        }
        TaskDefinition definition = checked(TaskRequests.patch(stored.definition(), body));
        run(() -> commands.update(name, version, definition, actor(request)));
        return reads.withEtag(ResponseEntity.ok(), name);
    }

    @DeleteMapping("/tasks/{name}")
    ResponseEntity<Void> delete(
            @PathVariable String name,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        run(() -> {
            commands.delete(name, version, actor(request));
            return null;
        });
        return ResponseEntity.noContent().build();
    }

    /** Body optional: {@code {"until": "2026-12-01T00:00:00Z", "reason": "…"}}. */
    @PostMapping("/tasks/{name}/pause")
    ResponseEntity<TasksController.TaskResponse> pause(
            @PathVariable String name,
            @RequestBody(required = false) JsonNode body,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        Instant until = until(body);
        String reason = reason(body);
        run(() -> commands.pause(name, version, until, reason, actor(request)));
        return reads.withEtag(ResponseEntity.ok(), name);
    }

    @PostMapping("/tasks/{name}/resume")
    ResponseEntity<TasksController.TaskResponse> resume(
            @PathVariable String name,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        run(() -> commands.resume(name, version, actor(request)));
        return reads.withEtag(ResponseEntity.ok(), name);
    }

    /** 409 {@code already_running} while a run is in progress, unless {@code ?queue=true}. */
    @PostMapping("/tasks/{name}/trigger")
    ResponseEntity<TasksController.TaskResponse> trigger(
            @PathVariable String name,
            @RequestParam(required = false, defaultValue = "false") boolean queue,
            HttpServletRequest request) {
        run(() -> commands.trigger(name, queue, actor(request)));
        return reads.withEtag(ResponseEntity.accepted(), name);
    }

    /** The run is stopped by its instance and recorded CANCELLED. */
    @PostMapping("/runs/{id}/cancel")
    ResponseEntity<CancelResponse> cancel(@PathVariable long id, HttpServletRequest request) {
        String task = run(() -> commands.cancel(id, actor(request)));
        return ResponseEntity.accepted().body(new CancelResponse(id, task, "CANCELLING"));
    }

    @GetMapping("/tasks/{name}/events")
    EventList events(
            @PathVariable String name,
            @RequestParam(required = false) String limit,
            @RequestParam(required = false) String before) {
        List<TaskEvent> found =
                events.find(name, TasksController.positiveLong("before", before), TasksController.limit(limit));
        // A deleted task's trail stays readable; a name never seen is a 404.
        if (found.isEmpty() && run(() -> commands.find(name)) == null) {
            throw TasksController.taskNotFound(name);
        }
        return new EventList(found);
    }

    /** An operator's task may not use a handler reserved for configuration files. */
    private TaskDefinition checked(TaskDefinition definition) {
        if (!handlers.handlers().containsKey(definition.handler())) {
            throw ApiException.badRequest(
                    "invalid_task", "Task '" + definition.name() + "': unknown handler '" + definition.handler() + "'");
        }
        handlers.refusalForApiTask(definition.handler()).ifPresent(reason -> {
            throw new ApiException(HttpStatus.FORBIDDEN, "handler_not_allowed", "Handler not allowed", reason);
        });
        try {
            handlers.checkApiTask(definition);
        } catch (TaskDefinition.InvalidTaskException e) {
            throw ApiException.badRequest("invalid_task", e.getMessage());
        }
        limits.check(definition);
        return definition;
    }

    /** Who made the change, for the audit trail: the authenticated caller's name, as the security layer set it. */
    static String actor(HttpServletRequest request) {
        Principal principal = request.getUserPrincipal();
        return principal == null ? "anonymous" : principal.getName();
    }

    private static Instant until(JsonNode body) {
        if (body == null
                || body.isNull()
                || body.get("until") == null
                || body.get("until").isNull()) {
            return null;
        }
        try {
            return Instant.parse(body.get("until").asString());
        } catch (DateTimeParseException e) {
            throw ApiException.badRequest(
                    "invalid_request", "'until' must be an ISO-8601 instant, e.g. 2026-12-01T00:00:00Z");
        }
    }

    private static String reason(JsonNode body) {
        if (body == null
                || body.isNull()
                || body.get("reason") == null
                || body.get("reason").isNull()) {
            return null;
        }
        String reason = body.get("reason").asString();
        if (reason.length() > 500) {
            throw ApiException.badRequest("invalid_request", "'reason' is at most 500 characters");
        }
        return reason;
    }

    private static <T> T run(java.util.function.Supplier<T> command) {
        try {
            return command.get();
        } catch (RefusedException e) {
            throw refusal(e);
        }
    }

    private static ApiException refusal(RefusedException e) {
        return switch (e.refusal()) {
            case TASK_NOT_FOUND -> ApiException.notFound("task_not_found", e.getMessage());
            case RUN_NOT_FOUND -> ApiException.notFound("run_not_found", e.getMessage());
            case TASK_EXISTS -> new ApiException(HttpStatus.CONFLICT, "task_exists", "Task exists", e.getMessage());
            case FROM_CONFIGURATION ->
                new ApiException(
                        HttpStatus.CONFLICT, "task_from_configuration", "Task from configuration", e.getMessage());
            case VERSION_MISMATCH ->
                new ApiException(HttpStatus.PRECONDITION_FAILED, "version_mismatch", "Stale version", e.getMessage());
            case RUNNING -> new ApiException(HttpStatus.CONFLICT, "already_running", "Already running", e.getMessage());
            case BUSY -> new ApiException(HttpStatus.CONFLICT, "task_running", "Task running", e.getMessage());
            case NOT_RUNNING ->
                new ApiException(HttpStatus.CONFLICT, "run_not_running", "Run not in progress", e.getMessage());
            case DISABLED -> new ApiException(HttpStatus.CONFLICT, "task_disabled", "Task disabled", e.getMessage());
            case QUARANTINED ->
                new ApiException(HttpStatus.CONFLICT, "task_quarantined", "Task quarantined", e.getMessage());
        };
    }
}
