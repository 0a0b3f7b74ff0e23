package gg.starpets.web;

import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;

/** Builds problem details; {@code type} is a stable URI per {@code code}. */
public final class Problems {

    private Problems() {}

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
