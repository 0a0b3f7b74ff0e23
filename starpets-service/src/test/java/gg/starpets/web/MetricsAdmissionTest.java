package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code /metrics} under admission (web.AdmissionFilter): its own few permits, so that a flood of it is
 * refused like any other, and a scrape still answers while the API's permits are all taken.
 */
class MetricsAdmissionTest {

    @Test
    void scrapesBeyondTheirOwnPermitsAreRefusedAndTakeNoneOfTheApis() throws Exception {
        AdmissionFilter admission = new AdmissionFilter(
                1, new SimpleMeterRegistry(), JsonMapper.builder().build());
        CountDownLatch release = new CountDownLatch(1);
        List<Thread> held = new ArrayList<>();
        CountDownLatch inside = new CountDownLatch(AdmissionFilter.METRICS_LIMIT + 1);
        // The API's one permit, and every scrape permit, held by requests in progress.
        held.add(hold(admission, "/tasks", inside, release));
        for (int i = 0; i < AdmissionFilter.METRICS_LIMIT; i++) {
            held.add(hold(admission, "/metrics", inside, release));
        }
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();

        assertThat(status(admission, "/metrics")).isEqualTo(503);
        assertThat(status(admission, "/tasks")).isEqualTo(503);
        assertThat(status(admission, "/health")).isEqualTo(200);

        release.countDown();
        for (Thread t : held) {
            t.join(10_000);
        }
        assertThat(status(admission, "/metrics")).isEqualTo(200);
        assertThat(admission.inFlight()).isZero();
    }

    @Test
    void aScrapeAnswersWhileTheApiIsAtItsLimit() throws Exception {
        AdmissionFilter admission = new AdmissionFilter(
                1, new SimpleMeterRegistry(), JsonMapper.builder().build());
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inside = new CountDownLatch(1);
        Thread api = hold(admission, "/tasks", inside, release);
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(status(admission, "/metrics")).isEqualTo(200);
        release.countDown();
        api.join(10_000);
    }

    @Test
    void aRefusalIsAProblemWithTheFieldsOfEveryOtherAndItsPath() throws Exception {
        AdmissionFilter admission = new AdmissionFilter(
                1, new SimpleMeterRegistry(), JsonMapper.builder().build());
        MockHttpServletResponse refused = new MockHttpServletResponse();
        // The one permit held by a request in progress while another arrives.
        admission.doFilter(
                new MockHttpServletRequest("GET", "/tasks"),
                new MockHttpServletResponse(),
                (q, r) -> admission.doFilter(new MockHttpServletRequest("GET", "/runs"), refused, (q2, r2) -> {}));
        assertThat(refused.getStatus()).isEqualTo(503);
        assertThat(refused.getHeader("Retry-After")).isEqualTo("1");
        assertThat(refused.getContentType()).isEqualTo("application/problem+json");
        JsonNode problem = JsonMapper.builder().build().readTree(refused.getContentAsString());
        assertThat(problem.propertyNames()).containsExactly("type", "title", "status", "detail", "instance", "code");
        assertThat(problem.get("instance").asString()).isEqualTo("/runs");
        assertThat(problem.get("code").asString()).isEqualTo("overloaded");
    }

    private static Thread hold(AdmissionFilter admission, String path, CountDownLatch inside, CountDownLatch release) {
        return Thread.ofVirtual().start(() -> {
            try {
                admission.doFilter(new MockHttpServletRequest("GET", path), new MockHttpServletResponse(), (q, r) -> {
                    inside.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static int status(AdmissionFilter admission, String path) throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();
        admission.doFilter(new MockHttpServletRequest("GET", path), response, (q, r) -> {});
        return response.getStatus();
    }
}
