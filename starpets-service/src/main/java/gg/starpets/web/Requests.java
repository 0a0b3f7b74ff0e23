package gg.starpets.web;

import gg.starpets.scheduler.TaskDefinition;
import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import java.time.Instant;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * What the write routes read of a request besides its path and query ({@link Params}): who asks, and the
 * fields of a JSON body. A bad field is a 400 {@code invalid_request}.
 */
final class Requests {

    private Requests() {}

    /** Who made the change, for the audit trail: the authenticated caller's name, as the security layer set it. */
    static String actor(HttpServletRequest request) {
        Principal principal = request.getUserPrincipal();
        return principal == null ? "anonymous" : principal.getName();
    }

    /** Refuses a field of the (object) body that is not one of {@code known}; {@code listed} names them. */
    static void onlyFields(JsonNode body, Set<String> known, String listed) {
        for (var field : body.propertyNames()) {
            if (!known.contains(field)) {
                throw ApiException.badRequest(
                        "invalid_request", "unknown field '" + field + "' (known: " + listed + ")");
            }
        }
    }

    /** A time with its offset under {@code field}, as {@link TaskDefinition#startAt} reads one. */
    static Instant timeWithOffset(String task, String field, String text) {
        try {
            return TaskDefinition.startAt(task, field, text);
        } catch (TaskDefinition.InvalidTaskException e) {
            throw ApiException.badRequest("invalid_request", e.getMessage());
        }
    }
}
