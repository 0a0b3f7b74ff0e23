package gg.starpets.web;

import gg.starpets.scheduler.OneOffRuns;
import gg.starpets.scheduler.RunStatus;
import gg.starpets.scheduler.TaskDefinition;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One-off runs: {@code POST /tasks/{name}/runs} asks for a run of a task now or at a time, with params
 * merged over the task's (checked by its handler as a task's are: 400 {@code invalid_params}; a body
 * that is not {@code {"params": {…}, "at": "…"}} is 400 {@code invalid_request}), answered 201 with the run's id and
 * its {@code Location}; {@code DELETE /runs/{id}} withdraws one still pending (409 {@code run_started}
 * once it has started: {@code POST /runs/{id}/cancel} stops a run in progress). Pending runs are listed
 * by {@code GET /tasks/{name}/runs} and {@code GET /runs?status=PENDING}.
 */
@RestController
class OneOffRunController {

    record RunRequested(long runId, String task, String status) {}

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final String REPLAYED = "Idempotent-Replayed";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Set<String> FIELDS = Set.of("params", "at");

    private final OneOffRuns runs;
    private final ApiTaskRules rules;

    OneOffRunController(OneOffRuns runs, ApiTaskRules rules) {
        this.runs = runs;
        this.rules = rules;
    }

    /** Body optional: {@code {"params": {…}, "at": "2026-12-07T09:00:00Z"}}. */
    @PostMapping("/tasks/{name}/runs")
    ResponseEntity<RunRequested> request(
            @PathVariable String name,
            @RequestBody(required = false) JsonNode body,
            @RequestHeader(value = IDEMPOTENCY_KEY, required = false) String key,
            HttpServletRequest request) {
        // Before the body is read, as ever (the request checks it again, for the facade's callers).
        OneOffRuns.checkIdempotencyKey(key);
        Map<String, Object> params = params(body);
        Instant at = at(name, body);
        OneOffRuns.Requested requested = runs.request(
                name,
                params,
                at,
                key,
                OneOffRuns.requestJson(params, at),
                d -> check(d, params != null && !params.isEmpty()),
                Requests.actor(request));
        var answer = ResponseEntity.created(URI.create("/runs/" + requested.runId()));
        if (requested.replayed()) {
            answer.header(REPLAYED, "true");
        }
        return answer.body(new RunRequested(requested.runId(), requested.task(), RunStatus.PENDING.name()));
    }

    /** Withdraws a pending one-off run: recorded CANCELLED, never started. */
    @DeleteMapping("/runs/{id}")
    ResponseEntity<CancelResponse> withdraw(@PathVariable long id, HttpServletRequest request) {
        String task = runs.withdraw(id, Requests.actor(request));
        return ResponseEntity.ok(new CancelResponse(id, task, RunStatus.CANCELLED.name()));
    }

    /**
     * The service's rules for a run's params ({@link ApiTaskRules#checkRun}); params its handler refuses
     * are 400 {@code invalid_params}.
     */
    private void check(TaskDefinition definition, boolean paramsGiven) {
        try {
            rules.checkRun(definition, paramsGiven);
        } catch (TaskDefinition.InvalidTaskException e) {
            throw ApiException.badRequest("invalid_params", e.getMessage());
        }
    }

    private static Map<String, Object> params(JsonNode body) {
        if (body != null && !body.isObject() && !body.isNull()) {
            throw ApiException.badRequest(
                    "invalid_request", "the body must be a JSON object: {\"params\": {…}, \"at\": \"…\"}");
        }
        if (body != null) {
            Requests.onlyFields(body, FIELDS, "at, params");
        }
        JsonNode params = body == null ? null : body.get("params");
        if (params == null || params.isNull()) {
            return null;
        }
        if (!params.isObject()) {
            throw ApiException.badRequest("invalid_request", "'params' must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = JSON.treeToValue(params, Map.class);
        return map;
    }

    private static Instant at(String task, JsonNode body) {
        JsonNode at = body == null ? null : body.get("at");
        if (at == null || at.isNull()) {
            return null;
        }
        if (!at.isString()) {
            throw ApiException.badRequest(
                    "invalid_request", "'at' must be an ISO-8601 time with its offset, such as 2026-12-07T09:00:00Z");
        }
        return Requests.timeWithOffset(task, "at", at.asString());
    }
}
