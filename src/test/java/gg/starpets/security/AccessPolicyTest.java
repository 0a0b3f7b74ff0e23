package gg.starpets.security;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.security.AccessPolicy.Access;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;

class AccessPolicyTest {

    private static final AccessPolicy SHIPPED = new AccessPolicy(false, false, false);

    @Test
    void everyWriteOutsideTheBalanceApiAndHealthNeedsAnOperatorWhateverTheSettings() {
        for (AccessPolicy policy : new AccessPolicy[] {SHIPPED, new AccessPolicy(true, true, true)}) {
            for (String method : new String[] {"POST", "PUT", "PATCH", "DELETE", "TRACE", "FOO"}) {
                for (String path : new String[] {"/tasks", "/tasks/a/pause", "/runs/1/cancel", "/", "/metrics", "/x"}) {
                    assertThat(policy.required(method, path))
                            .as(method + " " + path)
                            .isEqualTo(Access.OPERATOR);
                }
            }
        }
    }

    @Test
    void eachSettingClosesOnlyItsOwnReads() {
        AccessPolicy reads = new AccessPolicy(true, false, false);
        assertThat(reads.required("GET", "/tasks")).isEqualTo(Access.VIEWER);
        assertThat(reads.required("GET", "/metrics")).isEqualTo(Access.OPEN);
        assertThat(reads.required("GET", "/balance/1")).isEqualTo(Access.OPEN);

        AccessPolicy metrics = new AccessPolicy(false, true, false);
        assertThat(metrics.required("GET", "/metrics")).isEqualTo(Access.VIEWER);
        assertThat(metrics.required("GET", "/tasks")).isEqualTo(Access.OPEN);
        assertThat(metrics.required("GET", "/metrics/x")).isEqualTo(Access.OPEN);

        AccessPolicy balance = new AccessPolicy(false, false, true);
        assertThat(balance.required("GET", "/balance/1")).isEqualTo(Access.VIEWER);
        assertThat(balance.required("POST", "/balance/update")).isEqualTo(Access.OPERATOR);
        assertThat(balance.required("GET", "/tasks")).isEqualTo(Access.OPEN);
    }

    @Test
    void theBalanceApiIsOpenByDefaultToEveryMethod() {
        assertThat(SHIPPED.required("POST", "/balance/update")).isEqualTo(Access.OPEN);
        assertThat(SHIPPED.required("GET", "/balance/7")).isEqualTo(Access.OPEN);
        assertThat(SHIPPED.required("POST", "/balancesheet")).isEqualTo(Access.OPERATOR);
    }

    @Test
    void healthIsOpenToEveryMethodWhateverTheSettings() {
        AccessPolicy locked = new AccessPolicy(true, true, true);
        for (String path : new String[] {"/health", "/actuator/health", "/actuator/health/liveness"}) {
            assertThat(locked.required("GET", path)).isEqualTo(Access.OPEN);
            assertThat(locked.required("POST", path)).isEqualTo(Access.OPEN);
        }
        assertThat(locked.required("GET", "/healthz")).isEqualTo(Access.VIEWER);
        assertThat(locked.required("GET", "/actuator/healthy")).isEqualTo(Access.VIEWER);
    }

    @Test
    void thePathIsTheDecodedOneTheContainerResolvedNotTheRawUri() {
        // Tomcat decodes "/b%61lance/1" to the servlet path "/balance/1"; the policy must see that.
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/b%61lance/1");
        request.setServletPath("/balance/1");
        assertThat(new AccessPolicy(false, false, true).required(request)).isEqualTo(Access.VIEWER);

        MockHttpServletRequest root = new MockHttpServletRequest("GET", "/");
        root.setServletPath("");
        assertThat(AccessPolicy.path(root)).isEqualTo("/");
    }
}
