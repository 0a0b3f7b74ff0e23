package gg.starpets.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerMapping;

/**
 * Counts and times every request, problem answers and 404s included. The {@code path} label is
 * the route template ({@code /tasks/{name}}), never the raw URL, so the label set stays small.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
class HttpMetricsFilter extends OncePerRequestFilter {

    /** Requests that matched no route (404s and the like) share one label value. */
    static final String UNMATCHED = "UNMATCHED";

    /** Requests with a method outside {@link #STANDARD_METHODS} share one label value. */
    static final String OTHER_METHOD = "OTHER";

    private static final Set<String> STANDARD_METHODS =
            Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE");

    private static final Duration[] BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)
    };

    private final MeterRegistry registry;

    HttpMetricsFilter(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long start = System.nanoTime();
        int status = 500;
        try {
            chain.doFilter(request, response);
            status = response.getStatus();
        } finally {
            String path = route(request);
            String method = methodLabel(request.getMethod());
            String code = String.valueOf(status);
            Counter.builder(MetricNames.HTTP_REQUESTS)
                    .description("HTTP requests served")
                    .tags("method", method, "path", path, "status", code)
                    .register(registry)
                    .increment();
            Timer.builder(MetricNames.HTTP_REQUEST_DURATION)
                    .description("HTTP response time")
                    .tags("method", method, "path", path, "status", code)
                    .serviceLevelObjectives(BUCKETS)
                    .register(registry)
                    .record(Duration.ofNanos(System.nanoTime() - start));
        }
    }

    /** The method label: a standard method as sent, anything else one value, so made-up methods add no series. */
    static String methodLabel(String method) {
        return STANDARD_METHODS.contains(method) ? method : OTHER_METHOD;
    }

    private static String route(HttpServletRequest request) {
        Object pattern = request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
        // "/**" is the static-resource fallback: it answered 404, the route is unknown.
        return pattern == null || "/**".equals(pattern) ? UNMATCHED : pattern.toString();
    }
}
