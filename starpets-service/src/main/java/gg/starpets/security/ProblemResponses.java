package gg.starpets.security;

import gg.starpets.security.AccessPolicy.Access;
import gg.starpets.web.Problems;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authentication.AuthenticationServiceException;
import org.springframework.security.authentication.InsufficientAuthenticationException;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.authentication.AuthenticationFailureHandler;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import tools.jackson.databind.json.JsonMapper;

/**
 * The answers of the security filters, as problem details like every other error: 401
 * {@code unauthorized} with {@code WWW-Authenticate: Bearer} (RFC 6750), 403 {@code forbidden},
 * 503 {@code authentication_unavailable} when the OpenID Connect issuer cannot be asked, and 400
 * {@code invalid_request} for a URL the firewall refuses.
 */
final class ProblemResponses
        implements AuthenticationEntryPoint, AccessDeniedHandler, AuthenticationFailureHandler, RequestRejectedHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemResponses.class);

    private final JsonMapper json;
    private final AccessPolicy policy;

    ProblemResponses(JsonMapper json, AccessPolicy policy) {
        this.json = json;
        this.policy = policy;
    }

    /** No token where one is needed, or a token that is not valid. */
    @Override
    public void commence(HttpServletRequest request, HttpServletResponse response, AuthenticationException e)
            throws IOException {
        boolean noToken = e instanceof InsufficientAuthenticationException;
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, noToken ? "Bearer" : "Bearer error=\"invalid_token\"");
        Problems.write(
                json,
                request,
                response,
                HttpStatus.UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                noToken
                        ? "This request needs a bearer token (Authorization: Bearer <token>)"
                        : "The bearer token is not valid");
    }

    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, AccessDeniedException e)
            throws IOException {
        Access needed = policy.required(request);
        Problems.write(
                json,
                request,
                response,
                HttpStatus.FORBIDDEN,
                "forbidden",
                "Forbidden",
                "This request needs " + needed.needed());
    }

    /** A URL Spring Security's firewall refuses (";", "//", an encoded "/" or "..", …): it never reaches a route. */
    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, RequestRejectedException e)
            throws IOException {
        Problems.write(
                json,
                request,
                response,
                HttpStatus.BAD_REQUEST,
                "invalid_request",
                "Bad request",
                "The request URL is refused: no ';', '//', '..' or encoded '/', '\\' or '%' in a path");
    }

    /** A token was sent and could not be checked ({@link AuthenticationServiceException}) or was refused. */
    @Override
    public void onAuthenticationFailure(
            HttpServletRequest request, HttpServletResponse response, AuthenticationException e) throws IOException {
        if (e instanceof AuthenticationServiceException) {
            // The issuer's keys could not be fetched: retryable, and not the caller's fault.
            log.warn("Could not check a bearer token: {}", e.getMessage());
            response.setHeader(HttpHeaders.RETRY_AFTER, "5");
            Problems.write(
                    json,
                    request,
                    response,
                    HttpStatus.SERVICE_UNAVAILABLE,
                    "authentication_unavailable",
                    "Authentication unavailable",
                    "The token issuer cannot be reached; retry shortly");
            return;
        }
        commence(request, response, e);
    }
}
