package gg.starpets.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;

/**
 * Builds problem details; {@code type} is a stable URI per {@code code}. Inside Spring MVC they are
 * answered by {@link ProblemHandler}; the servlet filters in front of it (security, admission) write
 * theirs with {@link #write}, in the same fields and order.
 */
public final class Problems {

    /** A problem as Spring MVC writes {@link ProblemDetail}: its fields, flattened, in this order. */
    record Body(String type, String title, int status, String detail, String instance, String code) {}

    private Problems() {}

    /** Answers {@code request} with a problem, from a servlet filter (where no message converter runs). */
    public static void write(
            JsonMapper json,
            HttpServletRequest request,
            HttpServletResponse response,
            HttpStatus status,
            String code,
            String title,
            String detail)
            throws IOException {
        byte[] body = json.writeValueAsBytes(
                new Body(typeFor(code).toString(), title, status.value(), detail, request.getRequestURI(), code));
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    public static ProblemDetail of(HttpStatusCode status, String code, String title, String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(typeFor(code));
        problem.setTitle(title);
        problem.setProperty("code", code);
        return problem;
    }

    static URI typeFor(String code) {
        return URI.create("https://starpets.gg/problems/" + code.replace('_', '-'));
    }

    static String codeFor(HttpStatusCode status) {
        HttpStatus known = HttpStatus.resolve(status.value());
        return switch (known == null ? HttpStatus.INTERNAL_SERVER_ERROR : known) {
            case UNAUTHORIZED -> "unauthorized";
            case FORBIDDEN -> "forbidden";
            case NOT_FOUND -> "not_found";
            case METHOD_NOT_ALLOWED -> "method_not_allowed";
            case UNSUPPORTED_MEDIA_TYPE -> "unsupported_media_type";
            case NOT_ACCEPTABLE -> "not_acceptable";
            case CONTENT_TOO_LARGE -> "request_too_large";
            case BAD_REQUEST -> "invalid_request";
            default -> status.is4xxClientError() ? "bad_request" : "internal_error";
        };
    }
}
