package gg.starpets.web;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Bounds the requests this instance serves at once, so that a burst larger than the heap can hold
 * gets a fast 503 problem {@code overloaded} with {@code Retry-After} instead of ending the process
 * out of memory. The refusal is written here, without touching the rest of the stack, so a refused
 * request frees its memory at once. {@code /health} is never refused: probes must answer under load.
 * {@code /metrics} has a few permits of its own ({@value #METRICS_LIMIT}): a scrape still answers while
 * the API is at its limit, and a flood of {@code /metrics} (whoever holds a viewer token) neither takes
 * the API's permits nor the heap. Runs after the instance-id header and the HTTP metrics, so refusals
 * carry the one and are counted by the other.
 *
 * <p>There is no waiting for a turn: a request waiting here already holds nearly all it costs
 * (Tomcat's buffers and request objects; measured 123 KB waiting against 130 KB served), so waiting
 * would protect no memory; admitted balance changes already wait without a database connection.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 2)
class AdmissionFilter implements Filter {

    /**
     * Heap one request in progress takes, measured with balance changes parked in a batch behind a
     * locked row at -Xmx512m: 127–134 KB each at 1,000, 3,000 and 3,500 in flight (Tomcat's socket,
     * header and request/response buffers, about 100 KB; the virtual thread's stack, about 19 KB).
     * How it was measured: docs/balance.md, "Admission".
     */
    static final long BYTES_PER_REQUEST = 136 * 1024;

    /** Heap kept for the service itself: about 21 MB live after start-up, the rest headroom for the collector. */
    static final long RESERVED_BYTES = 48L << 20;

    static final int MIN_LIMIT = 16;

    static final Set<String> EXEMPT = Set.of("/health");

    static final String METRICS = "/metrics";

    /** Scrapes served at once: a few Prometheus replicas and a person looking, never thousands. */
    static final int METRICS_LIMIT = 4;

    private static final Logger log = LoggerFactory.getLogger(AdmissionFilter.class);

    private final int limit;
    private final Semaphore permits;
    private final Semaphore metricsPermits = new Semaphore(METRICS_LIMIT);
    private final Counter refused;
    private final JsonMapper json;

    AdmissionFilter(@Value("${starpets.http.max-in-flight}") int maxInFlight, MeterRegistry registry, JsonMapper json) {
        this.json = json;
        if (maxInFlight < 0) {
            throw new IllegalArgumentException("starpets.http.max-in-flight must not be negative: " + maxInFlight);
        }
        long maxHeap = Runtime.getRuntime().maxMemory();
        this.limit = maxInFlight > 0 ? maxInFlight : limitForHeap(maxHeap);
        this.permits = new Semaphore(limit);
        this.refused = Counter.builder(MetricNames.HTTP_OVERLOADED)
                .description("Requests refused with 503 overloaded")
                .register(registry);
        Gauge.builder(MetricNames.HTTP_IN_FLIGHT, this, AdmissionFilter::inFlight)
                .description("Requests being served now (health and metrics excluded)")
                .register(registry);
        Gauge.builder(MetricNames.HTTP_IN_FLIGHT_LIMIT, () -> limit)
                .description("The most requests served at once")
                .register(registry);
        log.info(
                "Admission: at most {} requests in flight{}",
                limit,
                maxInFlight > 0 ? " (HTTP_MAX_IN_FLIGHT)" : " (from a max heap of " + (maxHeap >> 20) + " MB)");
    }

    /** The default limit: what is left of the heap after {@link #RESERVED_BYTES}, at {@link #BYTES_PER_REQUEST} each. */
    static int limitForHeap(long maxHeapBytes) {
        long limit = (maxHeapBytes - RESERVED_BYTES) / BYTES_PER_REQUEST;
        return (int) Math.max(MIN_LIMIT, Math.min(Integer.MAX_VALUE, limit));
    }

    int limit() {
        return limit;
    }

    int inFlight() {
        return limit - permits.availablePermits();
    }

    // A plain filter (not OncePerRequestFilter): registered for the request dispatch only, and no
    // request attributes to set and clear on the hottest path.
    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
            throws ServletException, IOException {
        HttpServletRequest request = (HttpServletRequest) req;
        HttpServletResponse response = (HttpServletResponse) res;
        String path = request.getRequestURI();
        if (EXEMPT.contains(path)) {
            chain.doFilter(request, response);
            return;
        }
        Semaphore pool = path.equals(METRICS) ? metricsPermits : permits;
        if (!pool.tryAcquire()) {
            refuse(request, response);
            return;
        }
        try {
            chain.doFilter(request, response);
        } finally {
            pool.release();
        }
    }

    private void refuse(HttpServletRequest request, HttpServletResponse response) throws IOException {
        refused.increment();
        response.setHeader(HttpHeaders.RETRY_AFTER, "1");
        Problems.write(
                json,
                request,
                response,
                HttpStatus.SERVICE_UNAVAILABLE,
                "overloaded",
                "Overloaded",
                "This instance is serving as many requests as it can hold; retry shortly");
    }
}
