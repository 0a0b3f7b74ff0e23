package gg.starpets.security;

import jakarta.servlet.http.HttpServletRequest;
import java.util.Locale;
import java.util.Set;

/**
 * Which role a request needs: the one place the rules live. The filter chain enforces it and the
 * OpenAPI description shows it. Closed by default: every request needs a credential but the health
 * probes and the console's static files (which hold no data and read it only with a token). Writes
 * need the operator role wherever they go, so that a route added later is protected the moment it
 * exists; the exceptions below only ever open a path up, never close it, so a path spelled oddly
 * falls to the stricter default.
 */
final class AccessPolicy {

    /** What a request needs: nothing, any role, the viewer role, the operator role, or the balance role. */
    enum Access {
        OPEN,
        ANY_ROLE,
        VIEWER,
        OPERATOR,
        BALANCE;

        /** As an answer says what was missing: "the operator role", "a role (viewer, operator or balance)". */
        String needed() {
            return this == ANY_ROLE
                    ? "a role (viewer, operator or balance)"
                    : "the " + name().toLowerCase(Locale.ROOT) + " role";
        }
    }

    private static final Set<String> READ_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    private final boolean publicReads;

    AccessPolicy(boolean publicReads) {
        this.publicReads = publicReads;
    }

    static AccessPolicy of(SecuritySettings settings) {
        return new AccessPolicy(settings.publicReads());
    }

    Access required(HttpServletRequest request) {
        String path = path(request);
        // A browser navigating to the root is sent to the console (web.ui.ConsoleFilter), which holds no
        // data; an API client asking for the index of routes still needs a token.
        if (path.equals("/") && request.getMethod().equals("GET") && wantsHtml(request)) {
            return Access.OPEN;
        }
        return required(request.getMethod(), path);
    }

    private static boolean wantsHtml(HttpServletRequest request) {
        String accept = request.getHeader("Accept");
        return accept != null && accept.contains("text/html");
    }

    /** {@code path} is decoded and within the application, as the servlet container resolved it. */
    Access required(String method, String path) {
        if (alwaysOpen(path)) {
            return Access.OPEN;
        }
        // Balance clients are a role of their own: neither the task roles nor public reads reach the API.
        if (path.equals("/balance") || path.startsWith("/balance/")) {
            return Access.BALANCE;
        }
        if (!READ_METHODS.contains(method)) {
            return Access.OPERATOR;
        }
        // The console's page and its scripts hold no data: open, so that a browser can load the page
        // and then ask for a token.
        if (consolePage(path)) {
            return Access.OPEN;
        }
        if (publicReads) {
            return Access.OPEN;
        }
        // What the caller's own token is worth, for whichever role it has.
        if (path.equals("/whoami")) {
            return Access.ANY_ROLE;
        }
        return Access.VIEWER;
    }

    /** The console's static files ({@code /ui}, its HTML, scripts, styles), not its data ({@code /ui/api/**}). */
    static boolean consolePage(String path) {
        return path.equals("/ui") || path.startsWith("/ui/") && !path.startsWith("/ui/api/");
    }

    /** Health probes: open to every method and never look at a token, so a stale one cannot fail them. */
    static boolean alwaysOpen(String path) {
        return path.equals("/health") || path.equals("/actuator/health") || path.startsWith("/actuator/health/");
    }

    /** The decoded, normalized path within the application (the dispatcher servlet is mapped to "/"). */
    static String path(HttpServletRequest request) {
        String servletPath = request.getServletPath();
        String pathInfo = request.getPathInfo();
        String path = (servletPath == null ? "" : servletPath) + (pathInfo == null ? "" : pathInfo);
        return path.isEmpty() ? "/" : path;
    }
}
