package gg.starpets.web;

import gg.starpets.scheduler.Backfills;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/**
 * Backfills: {@code POST /tasks/{name}/backfill {"from": …, "to": …}} runs the task once for each slot
 * of its schedule in [from, to] ({@link Backfills}), answered 201 with the backfill's id, its slot count
 * and a {@code Location}; {@code GET /backfills/{id}} says how far it got, {@code DELETE /backfills/{id}}
 * cancels what has not started, {@code GET /tasks/{name}/backfills} lists a task's.
 */
@RestController
class BackfillController {

    record BackfillRequested(long backfillId, String task, int slots, Instant firstSlot, Instant lastSlot) {}

    record BackfillList(List<Backfills.Progress> backfills) {}

    private static final Set<String> FIELDS = Set.of("from", "to", "maxParallel", "max-parallel");

    private final Backfills backfills;

    BackfillController(Backfills backfills) {
        this.backfills = backfills;
    }

    /** Body: {@code {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}}. */
    @PostMapping("/tasks/{name}/backfill")
    ResponseEntity<BackfillRequested> request(
            @PathVariable String name, @RequestBody(required = false) JsonNode body, HttpServletRequest request) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest(
                    "invalid_request", "the body must be a JSON object: {\"from\": \"…\", \"to\": \"…\"}");
        }
        Requests.onlyFields(body, FIELDS, "from, to, maxParallel");
        int maxParallel = maxParallel(body.has("maxParallel") ? body.get("maxParallel") : body.get("max-parallel"));
        Instant from = time(name, body, "from");
        Instant to = time(name, body, "to");
        Backfills.Requested requested = backfills.request(name, from, to, Requests.actor(request), maxParallel);
        return ResponseEntity.created(URI.create("/backfills/" + requested.id()))
                .body(new BackfillRequested(
                        requested.id(),
                        requested.task(),
                        requested.slots(),
                        requested.firstSlot(),
                        requested.lastSlot()));
    }

    @GetMapping("/backfills/{id}")
    Backfills.Progress progress(@PathVariable long id) {
        return backfills.progress(id);
    }

    @GetMapping("/tasks/{name}/backfills")
    BackfillList ofTask(@PathVariable String name, @RequestParam(required = false) String limit) {
        return new BackfillList(backfills.ofTask(name, Params.limit(limit)));
    }

    /** Cancels the backfill: its pending runs end CANCELLED; a run of it in progress ends as it would. */
    @DeleteMapping("/backfills/{id}")
    Backfills.Progress cancel(@PathVariable long id, HttpServletRequest request) {
        return backfills.cancel(id, Requests.actor(request));
    }

    /**
     * How many slots may run at once (default 1). Above 1 only for a task with overlap ALLOW, which the
     * engine checks ({@code max_parallel_unsupported} for any other: its runs never overlap).
     */
    private static int maxParallel(JsonNode value) {
        if (value == null || value.isNull()) {
            return 1;
        }
        if (!value.isIntegralNumber() || value.asLong() < 1 || value.asLong() > Backfills.MAX_SLOTS) {
            throw ApiException.badRequest(
                    "invalid_request", "'maxParallel' must be a whole number from 1 to " + Backfills.MAX_SLOTS);
        }
        return value.asInt();
    }

    private static Instant time(String task, JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull() || !value.isString()) {
            throw ApiException.badRequest(
                    "invalid_request",
                    "'" + field + "' is required: an ISO-8601 time with its offset, such as 2026-12-07T09:00:00Z");
        }
        return Requests.timeWithOffset(task, field, value.asString());
    }
}
