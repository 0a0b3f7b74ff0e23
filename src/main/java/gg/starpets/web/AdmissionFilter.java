package gg.starpets.web;

import gg.starpets.observability.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Bounds the requests this instance serves at once, so that a burst larger than the heap can hold
 * is refused instead of ending the process out of memory. A request over the limit waits up to
 * {@code admission-wait} for one to finish (in a waiting room as large as the limit), then gets a
 * fast 503 problem {@code overloaded} with {@code Retry-After}, written here without touching the
 * rest of the stack. {@code /health} and {@code /metrics} are never refused: probes and scrapes must
 * answer under load. Runs after the instance-id header and the HTTP metrics, so refusals carry the
 * one and are counted by the other.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 2)
public class AdmissionFilter extends OncePerRequestFilter {

    /**
     * Heap one admitted request may take, measured with requests parked in the balance batch (the
     * deepest wait there is): connection buffers, request and response objects, the virtual thread's
     * stack. See docs/balance.md, "Admission".
     */
    static final long BYTES_PER_REQUEST = 48 * 1024;

    /** Of the heap, the share that admitted and waiting requests may fill; the rest is the service itself. */
    static final double HEAP_SHARE = 0.5;

    static final int MIN_LIMIT = 16;

    static final Set<String> EXEMPT = Set.of("/health", "/metrics");

    private static final Logger log = LoggerFactory.getLogger(AdmissionFilter.class);

    private static final byte[] OVERLOADED = ("{\"type\":\"https://starpets.gg/problems/overloaded\","
                    + "\"title\":\"Overloaded\",\"status\":503,"
                    + "\"detail\":\"This instance is serving as many requests as it can hold; retry shortly\","
                    + "\"code\":\"overloaded\"}")
            .getBytes(StandardCharsets.UTF_8);

    private final int limit;
    private final long waitNanos;
    private final Semaphore permits;
    private final AtomicInteger waiting = new AtomicInteger();
    private final Counter refused;

    AdmissionFilter(
            @Value("${starpets.http.max-in-flight:0}") int maxInFlight,
            @Value("${starpets.http.admission-wait:2s}") Duration admissionWait,
            MeterRegistry registry) {
        if (maxInFlight < 0 || admissionWait.isNegative()) {
            throw new IllegalArgumentException(
                    "starpets.http.max-in-flight and starpets.http.admission-wait must not be negative");
        }
        this.limit = maxInFlight > 0
                ? maxInFlight
                : limitForHeap(Runtime.getRuntime().maxMemory());
        this.waitNanos = admissionWait.toNanos();
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
                "Admission: at most {} requests in flight{}, then up to {} waiting {} ms",
                limit,
                maxInFlight > 0
                        ? ""
                        : " (from a max heap of " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MB)",
                limit,
                admissionWait.toMillis());
    }

    /**
     * The default limit: admitted and waiting requests (at most twice the limit) fit in
     * {@link #HEAP_SHARE} of the heap at {@link #BYTES_PER_REQUEST} each.
     */
    static int limitForHeap(long maxHeapBytes) {
        long limit = (long) (maxHeapBytes * HEAP_SHARE) / (2 * BYTES_PER_REQUEST);
        return (int) Math.max(MIN_LIMIT, Math.min(Integer.MAX_VALUE, limit));
    }

    int limit() {
        return limit;
    }

    int inFlight() {
        return limit - permits.availablePermits();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (EXEMPT.contains(request.getRequestURI())) {
            chain.doFilter(request, response);
            return;
        }
        if (!admit()) {
            refuse(response);
            return;
        }
        try {
            chain.doFilter(request, response);
        } finally {
            permits.release();
        }
    }

    private boolean admit() {
        if (permits.tryAcquire()) {
            return true;
        }
        if (waitNanos == 0) {
            return false;
        }
        try {
            if (waiting.incrementAndGet() > limit) {
                return false;
            }
            return permits.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            waiting.decrementAndGet();
        }
    }

    private void refuse(HttpServletResponse response) throws IOException {
        refused.increment();
        response.setStatus(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
        response.setHeader(HttpHeaders.RETRY_AFTER, "1");
        response.setContentType("application/problem+json");
        response.setContentLength(OVERLOADED.length);
        response.getOutputStream().write(OVERLOADED);
    }
}
