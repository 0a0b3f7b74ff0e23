package gg.starpets.web;

import gg.starpets.scheduler.SchedulerException;
import gg.starpets.scheduler.TaskCommands.RefusedException;
import java.net.URI;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.core.AuthenticationException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/** Every error as RFC 9457 problem details with a stable {@code code}. */
@RestControllerAdvice
class ProblemHandler extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);

    @ExceptionHandler(ApiException.class)
    ResponseEntity<ProblemDetail> apiException(ApiException e) {
        return ResponseEntity.status(e.status()).body(Problems.of(e.status(), e.code(), e.title(), e.getMessage()));
    }

    /** A task command refused: each reason has its status and stable code (docs/api.md, management routes). */
    @ExceptionHandler(RefusedException.class)
    ResponseEntity<ProblemDetail> refused(RefusedException e) {
        return apiException(
                switch (e.refusal()) {
                    case TASK_NOT_FOUND -> ApiException.notFound("task_not_found", e.getMessage());
                    case RUN_NOT_FOUND -> ApiException.notFound("run_not_found", e.getMessage());
                    case TASK_EXISTS -> conflict("task_exists", "Task exists", e);
                    case FROM_CONFIGURATION -> conflict("task_from_configuration", "Task from configuration", e);
                    case VERSION_MISMATCH ->
                        new ApiException(
                                HttpStatus.PRECONDITION_FAILED, "version_mismatch", "Stale version", e.getMessage());
                    case RUNNING -> conflict("already_running", "Already running", e);
                    case BUSY -> conflict("task_running", "Task running", e);
                    case NOT_RUNNING -> conflict("run_not_running", "Run not in progress", e);
                    case DISABLED -> conflict("task_disabled", "Task disabled", e);
                    case QUARANTINED -> conflict("task_quarantined", "Task quarantined", e);
                    case IDEMPOTENCY_KEY_REUSED ->
                        new ApiException(
                                HttpStatus.UNPROCESSABLE_CONTENT,
                                "idempotency_key_reused",
                                "Idempotency key reused",
                                e.getMessage());
                    case RUN_STARTED -> conflict("run_started", "Run started", e);
                    case BACKFILL_NOT_FOUND -> ApiException.notFound("backfill_not_found", e.getMessage());
                    case NOT_BACKFILLABLE -> conflict("not_backfillable", "Not backfillable", e);
                    case TOO_MANY_SLOTS -> ApiException.badRequest("too_many_slots", e.getMessage());
                    case INVALID_RANGE -> ApiException.badRequest("invalid_range", e.getMessage());
                    case MAX_PARALLEL_UNSUPPORTED ->
                        ApiException.badRequest("max_parallel_unsupported", e.getMessage());
                    case RUN_AFTER_LOOP -> ApiException.badRequest("run_after_loop", e.getMessage());
                    case UNKNOWN_UPSTREAM -> ApiException.badRequest("unknown_upstream", e.getMessage());
                    case HAS_DOWNSTREAM -> conflict("has_downstream", "Task has downstream tasks", e);
                    case HANDLER_NOT_ALLOWED ->
                        new ApiException(
                                HttpStatus.FORBIDDEN, "handler_not_allowed", "Handler not allowed", e.getMessage());
                    case PARAMS_TOO_LARGE -> ApiException.badRequest("params_too_large", e.getMessage());
                    case SCHEDULE_TOO_FREQUENT -> ApiException.badRequest("schedule_too_frequent", e.getMessage());
                    case TASK_LIMIT_REACHED -> conflict("task_limit_reached", "Task limit reached", e);
                    case INVALID_IDEMPOTENCY_KEY -> ApiException.badRequest("invalid_idempotency_key", e.getMessage());
                    case REASON_TOO_LONG -> ApiException.badRequest("invalid_request", e.getMessage());
                });
    }

    private static ApiException conflict(String code, String title, RefusedException e) {
        return new ApiException(HttpStatus.CONFLICT, code, title, e.getMessage());
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ResponseEntity<ProblemDetail> typeMismatch(MethodArgumentTypeMismatchException e) {
        String detail = "Parameter '" + e.getName() + "' has an invalid value";
        return ResponseEntity.badRequest()
                .body(Problems.of(HttpStatus.BAD_REQUEST, "invalid_parameter", "Bad request", detail));
    }

    /** The database is down or every connection is busy: a retryable 503, not a bug. */
    @ExceptionHandler({DataAccessResourceFailureException.class, SchedulerException.class})
    ResponseEntity<ProblemDetail> databaseUnavailable(RuntimeException e) {
        log.warn("Database unavailable: {}", e.getMessage());
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header("Retry-After", "1")
                .body(Problems.of(
                        HttpStatus.SERVICE_UNAVAILABLE,
                        "database_unavailable",
                        "Database unavailable",
                        "The database cannot be reached or is too busy; retry shortly"));
    }

    /**
     * Spring Security's refusals, when thrown inside a controller (method security), go back to the
     * security filters, which answer 401 or 403 as problem details, rather than becoming a 500 below.
     */
    @ExceptionHandler({AccessDeniedException.class, AuthenticationException.class})
    void securityRefusal(RuntimeException e) {
        throw e;
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        log.error("Unexpected error", e);
        return ResponseEntity.internalServerError()
                .body(Problems.of(
                        HttpStatus.INTERNAL_SERVER_ERROR, "internal_error", "Internal error", "Unexpected error"));
    }

    /** Spring's own exceptions (404, 405, 415, unreadable body …) get a code derived from the status. */
    @Override
    protected ResponseEntity<Object> createResponseEntity(
            @Nullable Object body, HttpHeaders headers, HttpStatusCode statusCode, WebRequest request) {
        if (body instanceof ProblemDetail problem
                && (problem.getProperties() == null || !problem.getProperties().containsKey("code"))) {
            problem.setProperty("code", Problems.codeFor(statusCode));
            if (problem.getType() == null || URI.create("about:blank").equals(problem.getType())) {
                problem.setType(Problems.typeFor(Problems.codeFor(statusCode)));
            }
        }
        return super.createResponseEntity(body, headers, statusCode, request);
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleHttpMessageNotReadable(
            HttpMessageNotReadableException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        return ResponseEntity.badRequest()
                .body(Problems.of(
                        HttpStatus.BAD_REQUEST,
                        "invalid_request",
                        "Bad request",
                        "The request body is not valid JSON"));
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleMethodArgumentNotValid(
            MethodArgumentNotValidException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        return ResponseEntity.badRequest()
                .body(Problems.of(HttpStatus.BAD_REQUEST, "invalid_request", "Bad request", "The request is invalid"));
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleHandlerMethodValidationException(
            HandlerMethodValidationException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        return ResponseEntity.badRequest()
                .body(Problems.of(
                        HttpStatus.BAD_REQUEST, "invalid_parameter", "Bad request", "A parameter is invalid"));
    }
}
