package gg.starpets.security;

import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/**
 * Who sent a request, as one text that two callers never share: {@code token:<name>} for a configured
 * (or generated) token, by the name it was given, {@code oidc:<subject>} for an issuer's JWT by its
 * name claim. What a feature scopes a caller's own data by (the balance API's idempotency keys).
 */
public final class Caller {

    private Caller() {}

    /** The caller of an authenticated request; {@code anonymous} for one that needed no credential. */
    public static String of(HttpServletRequest request) {
        Principal principal = request.getUserPrincipal();
        if (principal == null) {
            return "anonymous";
        }
        return (principal instanceof JwtAuthenticationToken ? "oidc:" : "token:") + principal.getName();
    }
}
