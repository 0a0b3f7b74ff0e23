package gg.starpets.web.ui;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Sends a browser asking for {@code /} to the console (JSON clients keep the API index), and puts
 * the console's security headers on every {@code /ui} response: scripts and styles only from this
 * service, no inline script, no framing.
 */
@Component
class ConsoleFilter extends OncePerRequestFilter {

    static final String CONTENT_SECURITY_POLICY = String.join(
            "; ",
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'");

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String path = request.getRequestURI();
        if (path.equals("/") && request.getMethod().equals("GET") && wantsHtml(request)) {
            response.setStatus(HttpServletResponse.SC_FOUND);
            // Relative: behind nginx the Host header carries no port.
            response.setHeader(HttpHeaders.LOCATION, "/ui/");
            return;
        }
        if (path.equals("/ui") || path.startsWith("/ui/")) {
            response.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
            response.setHeader("X-Content-Type-Options", "nosniff");
            response.setHeader("Referrer-Policy", "no-referrer");
            // Revalidated on every load (Last-Modified), so a new version of the console is seen at once.
            response.setHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
        }
        chain.doFilter(request, response);
    }

    /** A browser navigating: it lists text/html explicitly ({@code *}{@code /*} alone is an API client). */
    private static boolean wantsHtml(HttpServletRequest request) {
        String accept = request.getHeader(HttpHeaders.ACCEPT);
        return accept != null && accept.contains("text/html");
    }
}
