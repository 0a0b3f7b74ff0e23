package gg.starpets.web;

import gg.starpets.notify.SecretInClear;
import gg.starpets.notify.TaskNotifications;
import gg.starpets.notify.TaskNotify;
import gg.starpets.scheduler.TaskCommands;
import gg.starpets.scheduler.TaskDefinition;
import gg.starpets.scheduler.TaskEvents;
import gg.starpets.scheduler.TaskEvents.TaskEvent;
import gg.starpets.scheduler.TaskViews;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
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
import tools.jackson.databind.json.JsonMapper;

/**
 * Operating tasks at runtime: create, edit, delete, pause, resume, trigger, cancel, and the audit
 * trail. Edits are conditional on the task's version ({@code ETag}/{@code If-Match}; 412 when stale).
 * Configuration tasks are the declared baseline: they can be paused, resumed, triggered and
 * cancelled here, not edited or deleted (409 {@code task_from_configuration}). Who may call what is
 * the security layer's (writes need the operator role). Each change is one command (one transaction);
 * the task it answers with is read once after it. A command's refusal is answered by
 * {@link ProblemHandler}.
 */
@RestController
class TaskManagementController {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    record EventList(List<TaskEvent> events) {}

    private final TaskCommands commands;
    private final TaskEvents events;
    private final ApiTaskRules rules;
    private final TaskViews views;
    private final TaskNotifications notifications;

    TaskManagementController(
            TaskCommands commands,
            TaskEvents events,
            ApiTaskRules rules,
            TaskViews views,
            TaskNotifications notifications) {
        this.notifications = notifications;
        this.commands = commands;
        this.events = events;
        this.rules = rules;
        this.views = views;
    }

    @PostMapping("/tasks")
    ResponseEntity<TaskResponse> create(@RequestBody JsonNode body, HttpServletRequest request) {
        TaskDefinition definition = checked(TaskRequests.create(body));
        // Counted before the insert: concurrent creates may pass the bound by as many as they are.
        TaskNotify notify = notify(definition.name(), body);
        rules.checkRoomForOneMore(views.countApiTasks());
        TaskViews.TaskSnapshot created = commands.create(definition, Requests.actor(request), c -> {
            if (notify != null) {
                notifications.configure(c, definition.name(), notify);
            }
        });
        return TaskResponse.entity(
                ResponseEntity.created(URI.create("/tasks/" + definition.name())), created, definition.name());
    }

    @PatchMapping("/tasks/{name}")
    ResponseEntity<TaskResponse> update(
            @PathVariable String name,
            @RequestBody JsonNode body,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        TaskNotify notify = notify(name, body);
        // Merged and checked (CPU only, no lookups) inside the update's transaction: no other change comes between.
        TaskViews.TaskSnapshot updated = commands.update(
                name, version, stored -> checked(TaskRequests.patch(stored, body)), Requests.actor(request), c -> {
                    if (body.has("notify")) {
                        notifications.configure(c, name, notify);
                    }
                });
        return answer(updated, name);
    }

    @DeleteMapping("/tasks/{name}")
    ResponseEntity<Void> delete(
            @PathVariable String name,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        commands.delete(name, version, Requests.actor(request));
        return ResponseEntity.noContent().build();
    }

    /** Body optional: {@code {"until": "2026-12-01T00:00:00Z", "reason": "…"}}. */
    @PostMapping("/tasks/{name}/pause")
    ResponseEntity<TaskResponse> pause(
            @PathVariable String name,
            @RequestBody(required = false) JsonNode body,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        Instant until = until(body);
        String reason = reason(body);
        return answer(commands.pause(name, version, until, reason, Requests.actor(request)), name);
    }

    @PostMapping("/tasks/{name}/resume")
    ResponseEntity<TaskResponse> resume(
            @PathVariable String name,
            @RequestHeader(value = "If-Match", required = false) String ifMatch,
            HttpServletRequest request) {
        Long version = Etags.version(ifMatch);
        return answer(commands.resume(name, version, Requests.actor(request)), name);
    }

    /** 409 {@code already_running} while a run is in progress, unless {@code ?queue=true}. */
    @PostMapping("/tasks/{name}/trigger")
    ResponseEntity<TaskResponse> trigger(
            @PathVariable String name,
            @RequestParam(required = false, defaultValue = "false") boolean queue,
            HttpServletRequest request) {
        return TaskResponse.entity(
                ResponseEntity.accepted(), commands.trigger(name, queue, Requests.actor(request)), name);
    }

    /** The run is stopped by its instance and recorded CANCELLED. */
    @PostMapping("/runs/{id}/cancel")
    ResponseEntity<CancelResponse> cancel(@PathVariable long id, HttpServletRequest request) {
        String task = commands.cancel(id, Requests.actor(request));
        return ResponseEntity.accepted().body(new CancelResponse(id, task, "CANCELLING"));
    }

    @GetMapping("/tasks/{name}/events")
    EventList events(
            @PathVariable String name,
            @RequestParam(required = false) String limit,
            @RequestParam(required = false) String before) {
        List<TaskEvent> found = events.find(name, Params.positiveLong("before", before), Params.limit(limit));
        // A deleted task's trail stays readable; a name never seen is a 404.
        if (found.isEmpty() && !views.exists(name)) {
            throw TaskResponse.notFound(name);
        }
        return new EventList(found);
    }

    /**
     * The body's {@code notify}, checked before anything is written; null when absent or null (a PATCH
     * with {@code "notify": null} goes back to the service-wide default). A webhook with a credential in
     * clear is 400 {@code secret_in_clear}, naming the task and the key.
     */
    private TaskNotify notify(String task, JsonNode body) {
        JsonNode n = body == null ? null : body.get("notify");
        if (n == null || n.isNull()) {
            return null;
        }
        try {
            return notifications.checked(JSON.treeToValue(n, Object.class));
        } catch (SecretInClear e) {
            throw new ApiException(
                    HttpStatus.BAD_REQUEST,
                    SecretInClear.CODE,
                    "Secret in clear",
                    "Task '" + task + "': " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw TaskRequests.invalid(e.getMessage());
        }
    }

    /** 200 with the task as the command's transaction left it: the one read of the request. */
    private static ResponseEntity<TaskResponse> answer(TaskViews.TaskSnapshot task, String name) {
        return TaskResponse.entity(ResponseEntity.ok(), task, name);
    }

    /** The service's rules for such tasks ({@link ApiTaskRules}); an invalid one is 400 {@code invalid_task}. */
    private TaskDefinition checked(TaskDefinition definition) {
        try {
            rules.checkTask(definition);
        } catch (TaskDefinition.InvalidTaskException e) {
            throw TaskRequests.invalid(e.getMessage());
        }
        return definition;
    }

    private static Instant until(JsonNode body) {
        String until = field(body, "until");
        if (until == null) {
            return null;
        }
        try {
            return Instant.parse(until);
        } catch (DateTimeParseException e) {
            throw ApiException.badRequest(
                    "invalid_request", "'until' must be an ISO-8601 instant, e.g. 2026-12-01T00:00:00Z");
        }
    }

    private static String reason(JsonNode body) {
        // At most TaskCommands.MAX_REASON_LENGTH: the command refuses a longer one (400 invalid_request).
        return field(body, "reason");
    }

    /** A field of an optional body as text; null when the body or the field is absent or null. */
    private static String field(JsonNode body, String name) {
        JsonNode value = body == null ? null : body.get(name);
        return value == null || value.isNull() ? null : value.asString();
    }
}
